/* seccomp_filter.c - installing each thread's filter and reporting a forbidden
 * call (seccomp_filter.h; the allow lists are in seccomp_rules.c). */
#include "seccomp_filter.h"

#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "seccomp_rules.h"
#include "syscall_names.h"
#include "term.h"

static enum seccomp_mode mode = SECCOMP_OFF;
static bool prepared;
static unsigned main_extra;
static pid_t self_pid;

/* The calling thread's name in the SIGSYS message ("main", "vcpu 3", "io"). */
static __thread char thread_label[16];

static const char *const kind_names[] = {
    [SECCOMP_THREAD_MAIN] = "main",
    [SECCOMP_THREAD_VCPU] = "vcpu",
    [SECCOMP_THREAD_IO] = "io",
    [SECCOMP_THREAD_BLK] = "blk",
};

/* Appends `s` at *p without passing end (async-signal-safe). */
static void put(char **p, char *end, const char *s)
{
	while (*s && *p < end)
		*(*p)++ = *s++;
}

/* Appends n in decimal (async-signal-safe). */
static void put_uint(char **p, char *end, unsigned long n)
{
	char digits[24];
	int i = 0;
	do
		digits[i++] = (char)('0' + n % 10);
	while ((n /= 10) && i < (int)sizeof(digits));
	while (i > 0 && *p < end)
		*(*p)++ = digits[--i];
}

/* SIGSYS from a filter's SCMP_ACT_TRAP: one line naming the thread and the
 * call, the terminal restored, and the whole process ends. Only
 * async-signal-safe work: the names come from a static table. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char line[160], *p = line, *end = line + sizeof(line) - 1;
	unsigned nr = (unsigned)si->si_syscall;
	const char *name =
	    nr < syscall_names_count && syscall_names[nr][0] ? syscall_names[nr] : "unknown";
	put(&p, end, "minnow: seccomp: thread ");
	put(&p, end, thread_label[0] ? thread_label : "unfiltered");
	put(&p, end, " made forbidden syscall ");
	put(&p, end, name);
	put(&p, end, " (");
	put_uint(&p, end, nr);
	put(&p, end, ")\n");
	term_restore();
	(void)!write(STDERR_FILENO, line, (size_t)(p - line));
	_exit(EXIT_SECCOMP);
}

int seccomp_prepare(enum seccomp_mode m, unsigned extra)
{
	mode = m;
	main_extra = extra;
	self_pid = getpid();
	prepared = true;
	if (m == SECCOMP_OFF)
		return 0;
	/* libseccomp probes the kernel once: here, not racing in each thread. */
	if (seccomp_api_get() < 1) {
		log_error("[security] seccomp: the kernel has no seccomp filters (set "
			  "seccomp = off to run without)");
		return -ENOSYS;
	}
	if (m == SECCOMP_KILL) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigfillset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) < 0) {
			int err = errno;
			log_error("seccomp: SIGSYS handler: %s", strerror(err));
			return -err;
		}
	}
	return 0;
}

enum seccomp_mode seccomp_mode(void)
{
	return mode;
}

#ifdef MINNOW_TEST_HOOKS
/* The test-only trigger (seccomp_filter.h): this thread's kind is named, so it
 * makes a call no filter allows. */
static void test_forbidden_call(enum seccomp_thread kind)
{
	const char *want = getenv("MINNOW_TEST_FORBIDDEN_SYSCALL");
	if (want && strcmp(want, kind_names[kind]) == 0) {
		char info[256]; /* struct sysinfo and then some */
		(void)syscall(SYS_sysinfo, info);
	}
}
#endif

int seccomp_enter(enum seccomp_thread kind, unsigned index)
{
	if (!prepared || mode == SECCOMP_OFF)
		return 0;
	if (kind == SECCOMP_THREAD_VCPU)
		snprintf(thread_label, sizeof(thread_label), "vcpu %u", index);
	else
		snprintf(thread_label, sizeof(thread_label), "%s", kind_names[kind]);
	/* A thread started with every signal blocked (exec's) would die of a
	 * blocked SIGSYS without a word. */
	sigset_t sys;
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	scmp_filter_ctx ctx = seccomp_init(mode == SECCOMP_KILL ? SCMP_ACT_TRAP : SCMP_ACT_LOG);
	if (!ctx) {
		log_error("seccomp: thread %s: cannot create its filter", thread_label);
		return -ENOMEM;
	}
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = seccomp_rules_add(ctx, kind, main_extra, self_pid);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		log_error("seccomp: thread %s: installing its filter: %s", thread_label,
			  strerror(-r));
		return r;
	}
#ifdef MINNOW_TEST_HOOKS
	test_forbidden_call(kind);
#endif
	return 0;
}
