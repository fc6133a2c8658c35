/* seccomp_rules.c - the allow list of each kind of thread (seccomp_rules.h). */
#include "seccomp_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every thread: memory (never executable), locks, signals, time, exit, its
 * messages (write to stderr, sized up once with fstat). */
static const int common_calls[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(writev),
    SCMP_SYS(munmap),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    SCMP_SYS(mremap),
    SCMP_SYS(futex),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(sched_yield),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(fstat),
};

/* The main thread: the event loop and the device models it runs (disks,
 * TAP, vsock's and vhost-user's Unix sockets, eventfds, timers), the
 * end-of-run report and the teardown (joins, closes, virtiofsd's end). */
static const int main_calls[] = {
    SCMP_SYS(epoll_wait),      SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_ctl),       SCMP_SYS(readv),
    SCMP_SYS(pread64),	       SCMP_SYS(pwrite64),
    SCMP_SYS(preadv),	       SCMP_SYS(pwritev),
    SCMP_SYS(preadv2),	       SCMP_SYS(pwritev2),
    SCMP_SYS(fdatasync),       SCMP_SYS(fsync),
    SCMP_SYS(fallocate),       SCMP_SYS(lseek),
    SCMP_SYS(close),	       SCMP_SYS(fcntl),
    SCMP_SYS(eventfd2),	       SCMP_SYS(timerfd_settime),
    SCMP_SYS(timerfd_gettime), SCMP_SYS(getrandom),
    SCMP_SYS(connect),	       SCMP_SYS(accept4),
    SCMP_SYS(sendmsg),	       SCMP_SYS(recvmsg),
    SCMP_SYS(sendto),	       SCMP_SYS(recvfrom),
    SCMP_SYS(shutdown),	       SCMP_SYS(getsockopt),
    SCMP_SYS(unlink),	       SCMP_SYS(rmdir),
    SCMP_SYS(wait4),	       SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep), SCMP_SYS(mincore),
    SCMP_SYS(getrusage),       SCMP_SYS(newfstatat), /* vsock's teardown: still our socket? */
    SCMP_SYS(splice),				     /* exec's output threads inherit this filter */
};

/* The requests the main thread's ioctls make: interrupts and doorbells as
 * devices start and reset, the IOAPIC's routes, TAP offloads, the
 * terminal's size and mode. */
static const unsigned long main_ioctls[] = {
    KVM_IRQFD, KVM_IOEVENTFD, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, TUNSETOFFLOAD, TIOCGWINSZ,
};

/* A vCPU: KVM_RUN and what its exits need (the IOAPIC's EOI and routes,
 * registers for a failure report or vcpu_report(), the UART's coalesced
 * zone once the guest prints enough); console output through its sink, and
 * the coalesced ring's flush timer (coalesced_mmio.h). */
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN,	   KVM_GET_REGS,   KVM_GET_SREGS,	KVM_GET_MP_STATE,
    KVM_TRANSLATE, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, KVM_REGISTER_COALESCED_MMIO};
static const int vcpu_calls[] = {SCMP_SYS(timerfd_settime)};

/* Snapshots (SECCOMP_MAIN_SNAPSHOTS): the state of parked vCPUs and of
 * the KVM clock, read from the main thread. */
static const unsigned long snapshot_ioctls[] = {
    KVM_GET_MP_STATE,  KVM_GET_REGS,  KVM_GET_SREGS,	   KVM_GET_XSAVE, KVM_GET_XCRS,
    KVM_GET_DEBUGREGS, KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS, KVM_GET_MSRS,  KVM_GET_CLOCK,
};

/* An exec output thread: reads its socket (or splices it into a stdout
 * pipe), writes stdout or stderr, shuts the socket down. */
static const int io_calls[] = {SCMP_SYS(shutdown), SCMP_SYS(splice)};
/* A drive's thread: its ring (io_uring_enter: the ring was set up,
 * restricted and enabled before; io_uring_register only to unregister the
 * image as it ends, below), the synchronous path (reads and writes that the ring does not take,
 * FLUSH, DISCARD and WRITE_ZEROES, and the whole drive when there is no
 * ring), the rate limiter's timerfd; eventfds and the irqfd are read and
 * written with the common read/write, and it waits in poll. */
static const int blk_calls[] = {
    SCMP_SYS(io_uring_enter), SCMP_SYS(preadv),		 SCMP_SYS(pwritev),   SCMP_SYS(preadv2),
    SCMP_SYS(pwritev2),	      SCMP_SYS(pread64),	 SCMP_SYS(pwrite64),  SCMP_SYS(fdatasync),
    SCMP_SYS(fallocate),      SCMP_SYS(timerfd_settime), SCMP_SYS(getrusage),
};

/* Extra calls the sanitizer runtimes make (their allocator, the leak check
 * at exit that stops the world from a helper it clones, their reports). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZERS 1
static const int sanitizer_calls[] = {
    SCMP_SYS(sigaltstack),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(open),
    SCMP_SYS(openat),
    SCMP_SYS(close),
    SCMP_SYS(getdents),
    SCMP_SYS(getdents64),
    SCMP_SYS(ptrace),
    SCMP_SYS(prctl),
    SCMP_SYS(wait4),
    SCMP_SYS(clone),
    SCMP_SYS(readlink),
    SCMP_SYS(readlinkat),
    SCMP_SYS(getppid),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
    SCMP_SYS(pread64),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64),
    SCMP_SYS(setrlimit),
    SCMP_SYS(uname),
};
#else
#define SANITIZERS 0
#endif

static int allow_all(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* The kernel takes the request as an unsigned int. */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)reqs[i]));
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

/* Every thread may read and set the terminal's mode: minnow restores it
 * on the way out, also from the SIGSYS handler of whichever thread. */
static const unsigned long terminal_ioctls[] = {TCGETS, TCSETS, TCSETSW, TCSETSF};

/* mmap and mprotect, never with PROT_EXEC; tgkill to this process only
 * (vCPU kicks, raise()); clone3 answers ENOSYS so that glibc falls back to
 * clone, whose flags a filter can see. */
static int add_common(scmp_filter_ctx ctx, pid_t pid)
{
	int r = allow_all(ctx, common_calls, N(common_calls));
	if (r == 0)
		r = allow_ioctls(ctx, terminal_ioctls, N(terminal_ioctls));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)pid));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* fstat(fd) as glibc makes it (the first log line sizes up stderr);
	 * never a lookup by path. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
				     SCMP_A3_32(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	return r;
}

/* The main thread's own: its calls and ioctls, Unix sockets only (vsock's
 * connections to host programs), SIGKILL only (a virtiofsd that does not
 * stop), thread creation only when it starts I/O threads. */
/* Snapshot files: created new, never opened if they exist (O_EXCL), so a
 * subverted minnow could add files but not change or truncate one; sized
 * with ftruncate. */
static int add_snapshots(scmp_filter_ctx ctx)
{
	int r = allow_ioctls(ctx, snapshot_ioctls, N(snapshot_ioctls));
	if (r == 0)
		r = seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		    SCMP_A2_32(SCMP_CMP_EQ, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ftruncate), 0);
	return r;
}

static int add_main(scmp_filter_ctx ctx, unsigned extra)
{
	int r = allow_all(ctx, main_calls, N(main_calls));
	if (r == 0)
		r = allow_ioctls(ctx, main_ioctls, N(main_ioctls));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				     SCMP_A1_32(SCMP_CMP_EQ, SIGKILL));
	if (r == 0 && (extra & SECCOMP_MAIN_SNAPSHOTS))
		r = add_snapshots(ctx);
	if (r == 0 && (extra & SECCOMP_MAIN_IO_THREADS)) {
		/* A new thread runs under this filter until it installs its
		 * own: glibc's start_thread registers its robust list and rseq. */
		static const int thread_start[] = {SCMP_SYS(set_robust_list), SCMP_SYS(rseq)};
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		if (r == 0)
			r = allow_all(ctx, thread_start, N(thread_start));
		/* ...and then installs its own filter, which can only narrow. */
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1,
					     SCMP_A0_32(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
					     SCMP_A0_32(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS));
	}
	return r;
}

int seccomp_rules_add(scmp_filter_ctx ctx, enum seccomp_thread kind, unsigned main_extra, pid_t pid)
{
	int r = add_common(ctx, pid);
	if (r < 0)
		return r;
	switch (kind) {
	case SECCOMP_THREAD_MAIN:
		r = add_main(ctx, main_extra);
		break;
	case SECCOMP_THREAD_VCPU:
		r = allow_ioctls(ctx, vcpu_ioctls, N(vcpu_ioctls));
		if (r == 0)
			r = allow_all(ctx, vcpu_calls, N(vcpu_calls));
		break;
	case SECCOMP_THREAD_IO:
		r = allow_all(ctx, io_calls, N(io_calls));
		break;
	case SECCOMP_THREAD_BLK:
		r = allow_all(ctx, blk_calls, N(blk_calls));
		/* As it ends, the ring lets go of the image (disk_uring.h). */
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(io_uring_register), 1,
					     SCMP_A1_32(SCMP_CMP_EQ, IORING_UNREGISTER_FILES));
		break;
	}
#if SANITIZERS
	if (r == 0)
		r = allow_all(ctx, sanitizer_calls, N(sanitizer_calls));
#endif
	return r;
}
