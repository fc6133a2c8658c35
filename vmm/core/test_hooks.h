/* test_hooks.h - test-only behaviour of minnow-testhooks (built with
 * -DMINNOW_TEST_HOOKS, run by the guest tier, never installed): nothing
 * here is in the release binary.
 *
 *   MINNOW_TEST_POWER_BUTTON_MS=N  press the GED's power button N ms after
 *                                  the guest's boot-complete signal (what
 *                                  the control socket's `shutdown` request
 *                                  will do), once.
 *
 * The seccomp trigger MINNOW_TEST_FORBIDDEN_SYSCALL is in seccomp_filter.c. */
#ifndef MINNOW_TEST_HOOKS_H
#define MINNOW_TEST_HOOKS_H

#ifdef MINNOW_TEST_HOOKS
struct vm;

/* Puts the hooks' fds on vm->loop (the main thread's loop; call before the
 * main thread's seccomp filter goes on). Returns 0, or -errno (logged) for
 * a bad value or a failed set-up. */
int test_hooks_start(struct vm *vm);

/* Takes them off the loop and closes them. Safe without a start. */
void test_hooks_stop(struct vm *vm);
#endif

#endif
