/* syscall_names.h - this architecture's system call names by number, for
 * messages written where nothing may be allocated (the SIGSYS handler);
 * generated at build time from libseccomp (syscall_names_gen.c). */
#ifndef MINNOW_SYSCALL_NAMES_H
#define MINNOW_SYSCALL_NAMES_H

/* syscall_names[nr] for nr < syscall_names_count; "" where a number has no
 * call. */
extern const unsigned syscall_names_count;
extern const char *const syscall_names[];

#endif
