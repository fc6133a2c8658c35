/* seccomp_rules.h - what each kind of minnow thread may call once its
 * filter is in (seccomp_filter.h): the allow lists, with their argument checks. */
#ifndef MINNOW_SECCOMP_RULES_H
#define MINNOW_SECCOMP_RULES_H

#include <seccomp.h>
#include <stdbool.h>
#include <sys/types.h>

#include "seccomp_filter.h"

/* Adds to `ctx` the rules that let a thread of `kind` work: the calls every
 * thread makes (memory without PROT_EXEC, futex, signal return, exit, its
 * own process's signals), then its kind's own, ioctl limited to the
 * requests that kind uses. `main_extra`: what more the main thread does
 * (enum seccomp_main_extra). `pid`: this process, the only target of
 * tgkill. Returns 0 or a negative errno from libseccomp. */
int seccomp_rules_add(scmp_filter_ctx ctx, enum seccomp_thread kind, unsigned main_extra,
		      pid_t pid);

#endif
