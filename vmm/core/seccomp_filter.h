/* seccomp_filter.h - per-thread seccomp-bpf filters ([security] seccomp; README.md,
 * "Security"). Each kind of thread installs its own filter once its set-up is
 * done and before the guest runs: the main thread (event loop, device
 * models, teardown), each vCPU thread (KVM_RUN and MMIO exits), each
 * drive's I/O thread (its io_uring and image), and minnow exec's output
 * threads (socket to stdout/stderr). Filters stack: a thread
 * started after its creator's filter is in (exec's output threads) runs
 * under both. With [security] seccomp = kill a forbidden call ends minnow
 * with one line on stderr,
 *   minnow: seccomp: thread KIND made forbidden syscall NAME (NR)
 * and exit status EXIT_SECCOMP; with log the kernel logs it and the call
 * goes ahead; with off no filter is installed. */
#ifndef MINNOW_SECCOMP_FILTER_H
#define MINNOW_SECCOMP_FILTER_H

#include <stdbool.h>

#include "config.h"

/* 128 + SIGSYS, as a shell reports a process killed by SIGSYS. */
#define EXIT_SECCOMP 159

enum seccomp_thread {
	SECCOMP_THREAD_MAIN,
	SECCOMP_THREAD_VCPU,
	SECCOMP_THREAD_IO,
	SECCOMP_THREAD_BLK, /* a drive's I/O thread (virtio-blk) */
};

/* What the main thread may do beyond serving the VM (seccomp_prepare()). */
enum seccomp_main_extra {
	/* It starts I/O threads at run time (clone with CLONE_THREAD). */
	SECCOMP_MAIN_IO_THREADS = 1u << 0,
	/* It writes snapshots for the control socket: reads vCPU and clock
	 * state, creates new files (O_CREAT | O_EXCL: never one that exists)
	 * and sizes them. */
	SECCOMP_MAIN_SNAPSHOTS = 1u << 1,
};

/* Prepares the filters for `mode`, on the main thread before it starts any
 * thread that will filter itself: resolves the system call names the
 * SIGSYS handler prints, installs that handler (kill) and notes what more
 * the main thread's filter must let it do (`main_extra`, a set of
 * enum seccomp_main_extra). Until it is called seccomp_enter() installs
 * nothing (unit tests). Returns 0, or -errno after logging. */
int seccomp_prepare(enum seccomp_mode mode, unsigned main_extra);

/* Installs the calling thread's filter for its `kind` (`index`: the vCPU
 * number, else 0), after which the thread keeps to its allowed calls for
 * good. Nothing when seccomp_prepare() was not called or the mode is off.
 * Returns 0, or -errno after logging one line naming the thread. In a
 * build with MINNOW_TEST_HOOKS, a thread whose kind is named by the
 * environment variable MINNOW_TEST_FORBIDDEN_SYSCALL (main, vcpu, io or blk)
 * then calls a forbidden system call (sysinfo). */
int seccomp_enter(enum seccomp_thread kind, unsigned index);

/* The mode seccomp_prepare() was given (SECCOMP_OFF before). */
enum seccomp_mode seccomp_mode(void);

#endif
