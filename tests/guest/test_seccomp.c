/* test_seccomp.c - the per-thread seccomp filters ([security] seccomp): on
 * by default in every minnow thread, a forbidden call (minnow-testhooks'
 * trigger, MINNOW_TEST_FORBIDDEN_SYSCALL) ending minnow with one line naming
 * the thread and the call and status 159, log letting it through (and the
 * kernel logging it), off installing nothing, a bad value refused, and the
 * trigger absent from the release binary. Every other guest test runs under
 * the default filters too. minnow exec's I/O thread is tested in the Linux
 * tier (tests/linux), where exec runs. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

#define EXIT_SECCOMP 159 /* 128 + SIGSYS (README.md, exit statuses) */
#define TRIGGER_ENV  "MINNOW_TEST_FORBIDDEN_SYSCALL"
#define TRIGGER_NAME "sysinfo" /* what the trigger calls (vmm/core/seccomp_filter.c) */
#define WAIT_MS	     20000

/* Skips without /dev/kvm; fails when minnow-testhooks was not built. */
static const char *testhooks(void)
{
	harness_require_kvm();
	const char *t = harness_minnow_testhooks();
	cr_assert(access(t, X_OK) == 0, "%s: %s (make build/minnow-testhooks)", t, strerror(errno));
	return t;
}

/* ---- kill: one line, status 159 ---- */

struct kill_case {
	const char *kind;  /* MINNOW_TEST_FORBIDDEN_SYSCALL */
	const char *label; /* the thread as the message names it */
	unsigned vcpus;
	const char *sets[2]; /* --set; NULL-terminated */
	bool drive;	     /* with a [drive.d0] (its thread) */
};

static const struct kill_case kill_cases[] = {
    {"vcpu", "vcpu 0", 1, {NULL}, false},
    {"main", "main", 1, {NULL}, false},
    {"main", "main", 2, {"security.seccomp=kill", NULL}, false},
    {"blk", "blk", 1, {NULL}, true},
};

/* A [drive.d0] section over a new temporary image (removed by the caller). */
static void drive_ini(char *ini, size_t len, char *img, size_t img_len)
{
	harness_temp_file(NULL, "seccomp", 1u << 20, img, img_len, NULL);
	snprintf(ini, len, "[drive.d0]\npath = %s\n", img);
}

ParameterizedTestParameters(seccomp, kill)
{
	HARNESS_ROWS(kill_cases);
}

ParameterizedTest(int *row, seccomp, kill)
{
	const struct kill_case *c = &kill_cases[*row];
	const char *bin = testhooks();
	setenv(TRIGGER_ENV, c->kind, 1);
	char ini[4200] = "", img[4096] = "";
	if (c->drive)
		drive_ini(ini, sizeof(ini), img, sizeof(img));
	struct guest_opts o = {.minnow = bin,
			       .cmdline = "test=idle",
			       .vcpus = c->vcpus,
			       .sets = c->sets,
			       .extra_ini = c->drive ? ini : NULL,
			       .timings = TIMINGS_JSON,
			       .timeout_ms = WAIT_MS};
	struct guest_result r;
	int run = guest_run(&o, &r);
	if (img[0])
		unlink(img);
	cr_assert_eq(run, 0, "%s", r.desc);
	cr_assert(r.ran && !r.timed_out && r.signal == 0, "%s: %s", c->kind, guest_ctx(&r));
	cr_expect_eq(r.status, EXIT_SECCOMP, "%s: want status %d: %s", c->kind, EXIT_SECCOMP,
		     guest_ctx(&r));
	char want[160];
	snprintf(want, sizeof(want),
		 "minnow: seccomp: thread %s made forbidden syscall " TRIGGER_NAME " (%d)\n",
		 c->label, (int)SYS_sysinfo);
	cr_expect_str_eq(r.err, want, "%s: stderr should be that one line: %s", c->kind,
			 guest_ctx(&r));
	/* A vCPU's filter and the trigger come before its first KVM_RUN, a
	 * drive thread's before any vCPU starts. */
	if (!strcmp(c->kind, "vcpu") || !strcmp(c->kind, "blk"))
		cr_expect(!strstr(r.out, "minnow-test:"), "the guest ran: %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- log and off: the call goes ahead ---- */

/* Opens /dev/kmsg at its end (records from now on), or -1. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether a kernel record since kmsg_open() is a seccomp audit line for
 * system call `nr` made by pid (as /dev/kmsg names it: this PID namespace
 * is the kernel's when the test can read /dev/kmsg at all) or by a
 * process called comm. */
static bool kmsg_has_seccomp_log(int fd, int nr, const char *comm)
{
	char rec[2048], want_nr[32], want_comm[64];
	snprintf(want_nr, sizeof(want_nr), " syscall=%d ", nr);
	snprintf(want_comm, sizeof(want_comm), "comm=\"%.15s\"", comm);
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue; /* records overwritten: read on */
		if (n <= 0)
			return false;
		rec[n] = '\0';
		if (strstr(rec, "type=1326") && strstr(rec, want_nr) && strstr(rec, want_comm))
			return true;
	}
}

/* Whether the kernel logs SECCOMP_RET_LOG (kernel.seccomp.actions_logged). */
static bool kernel_logs_log_action(void)
{
	uint8_t *p = harness_read_file("/proc/sys/kernel/seccomp/actions_logged", NULL);
	bool yes = p && strstr((char *)p, "log");
	free(p);
	return yes;
}

Test(seccomp, log_lets_the_call_through_and_the_kernel_logs_it)
{
	const char *bin = testhooks();
	setenv(TRIGGER_ENV, "vcpu", 1);
	int kmsg = kmsg_open();
	static const char *const sets[] = {"security.seccomp=log", NULL};
	struct guest_opts o = {.minnow = bin, .cmdline = "test=hello", .sets = sets};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "log must not end minnow: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "hello"), "the guest did not run: %s", guest_ctx(&r));
	cr_expect(!strstr(r.err, "seccomp"), "nothing to say on stderr: %s", guest_ctx(&r));
	const char *base = strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin;
	if (kmsg < 0)
		cr_log_warn("/dev/kmsg unreadable (%s): the kernel's log line not checked",
			    strerror(errno));
	else if (!kernel_logs_log_action())
		cr_log_warn("kernel.seccomp.actions_logged lacks 'log': its line not checked");
	else
		cr_expect(kmsg_has_seccomp_log(kmsg, (int)SYS_sysinfo, base),
			  "no seccomp audit record (type=1326 syscall=%d comm=%s) in /dev/kmsg",
			  (int)SYS_sysinfo, base);
	if (kmsg >= 0)
		close(kmsg);
	guest_result_free(&r);
}

ParameterizedTestParameters(seccomp, off)
{
	static const char *const kinds[] = {"vcpu", "main"};
	HARNESS_ROWS(kinds);
}

ParameterizedTest(int *row, seccomp, off)
{
	static const char *const kinds[] = {"vcpu", "main"};
	const char *bin = testhooks();
	setenv(TRIGGER_ENV, kinds[*row], 1);
	static const char *const sets[] = {"security.seccomp=off", NULL};
	struct guest_opts o = {.minnow = bin, .cmdline = "test=hello", .sets = sets};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "%s: off must let every call through: %s", kinds[*row],
		     guest_ctx(&r));
	cr_expect(!strstr(r.err, "seccomp"), "%s: nothing to say on stderr: %s", kinds[*row],
		  guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- every thread filtered, as /proc shows it ---- */

/* Of process pid's threads called "minnow" or "blk NAME" (a drive's; not
 * the kernel's workers that KVM and io_uring add to the group): how many,
 * how many of them are drives', and how many are in seccomp filter mode
 * (Seccomp: 2) with at least one filter. */
static void filtered_threads(pid_t pid, unsigned *threads, unsigned *drives, unsigned *filtered)
{
	char path[128];
	*threads = *drives = *filtered = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status", (int)pid, e->d_name);
		char *st = (char *)harness_read_file(path, NULL);
		if (!st)
			continue;
		char *mode = strstr(st, "\nSeccomp:\t"),
		     *filters = strstr(st, "\nSeccomp_filters:\t");
		bool drive = !strncmp(st, "Name:\tblk ", 10);
		if (!strncmp(st, "Name:\tminnow\n", 13) || drive) {
			(*threads)++;
			*drives += drive;
			*filtered += mode && mode[10] == '2' && filters && atoi(filters + 18) >= 1;
		}
		free(st);
	}
	closedir(d);
}

struct threads_case {
	const char *mode;
	unsigned vcpus;
	bool filtered;
};

static const struct threads_case threads_cases[] = {
    {"kill", 2, true},
    {"log", 1, true},
    {"off", 2, false},
};

ParameterizedTestParameters(seccomp, every_thread)
{
	HARNESS_ROWS(threads_cases);
}

ParameterizedTest(int *row, seccomp, every_thread)
{
	const struct threads_case *c = &threads_cases[*row];
	harness_require_kvm();
	char set[64];
	snprintf(set, sizeof(set), "security.seccomp=%s", c->mode);
	const char *sets[] = {set, NULL};
	/* The virtio devices the unikernel drives, on the main thread's loop,
	 * and a drive with its own thread. */
	char ini[4200], img[4096];
	drive_ini(ini, sizeof(ini), img, sizeof(img));
	strcat(ini, "\n[rng]\n");
	struct guest_opts o = {.cmdline = "test=idle",
			       .vcpus = c->vcpus,
			       .sets = sets,
			       .extra_ini = ini,
			       .timings = TIMINGS_JSON};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool idle = guest_wait_output(&r, "minnow-test: idle", WAIT_MS);
	unsigned threads = 0, drives = 0, filtered = 0;
	/* The guest may print before the main thread has started the last
	 * vCPU and entered its own filter (it does so after starting them):
	 * look again for a moment until every thread is filtered. */
	for (int tries = 0; idle && tries < 100; tries++) {
		filtered_threads(r.pid, &threads, &drives, &filtered);
		if (!c->filtered || (threads == 2 + c->vcpus && filtered == threads))
			break;
		usleep(20 * 1000);
	}
	kill(r.pid, SIGTERM); /* the end and the teardown, under the filters */
	guest_wait(&r);
	unlink(img);
	cr_assert(idle, "%s: the guest never idled: %s", c->mode, guest_ctx(&r));
	cr_expect_eq(threads, 2 + c->vcpus, "%s: want the main thread, %u vCPUs and a drive's",
		     c->mode, c->vcpus);
	cr_expect_eq(drives, 1, "%s: want one drive thread", c->mode);
	cr_expect_eq(filtered, c->filtered ? threads : 0, "%s: %u of %u threads filtered", c->mode,
		     filtered, threads);
	cr_expect_eq(r.status, 128 + SIGTERM, "%s: SIGTERM ends it as always: %s", c->mode,
		     guest_ctx(&r));
	char reason[32] = "";
	cr_expect(guest_json(r.err, "exit_reason", reason, sizeof(reason)) &&
		      !strcmp(reason, "signal"),
		  "%s: the report, written under the filter: %s", c->mode, guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- the option and the binaries ---- */

Test(seccomp, bad_value_is_a_config_error)
{
	harness_require_kvm();
	struct guest_opts o = {.cmdline = "test=hello",
			       .extra_ini = "[security]\nseccomp = maybe\n"};
	struct guest_result r;
	cr_assert_eq(guest_run(&o, &r), 0, "%s", r.desc);
	cr_expect_eq(r.status, 2, "a bad value is exit status 2: %s", guest_ctx(&r));
	cr_expect(strstr(r.err, ": [security] seccomp: bad value 'maybe'") ||
		      strstr(r.err, ": [security] seccomp: bad value \"maybe\""),
		  "stderr should name the key and value: %s", guest_ctx(&r));
	cr_expect(strstr(r.err, "kill, log, off"), "and say what is allowed: %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* Whether the file holds the bytes of `s`. */
static bool file_contains(const char *path, const char *s)
{
	size_t len;
	uint8_t *p = harness_read_file(path, &len);
	cr_assert(p, "cannot read %s: %s", path, strerror(errno));
	bool found = memmem(p, len, s, strlen(s)) != NULL;
	free(p);
	return found;
}

Test(seccomp, release_binary_has_no_trigger)
{
	const char *release = harness_minnow(), *hooks = harness_minnow_testhooks();
	cr_assert(access(hooks, R_OK) == 0, "%s: %s (make build/minnow-testhooks)", hooks,
		  strerror(errno));
	cr_expect(file_contains(hooks, TRIGGER_ENV), "%s should hold the trigger (%s)", hooks,
		  TRIGGER_ENV);
	cr_expect(!file_contains(release, TRIGGER_ENV), "%s must not hold the trigger (%s)",
		  release, TRIGGER_ENV);
	/* Nor the power-button hook (test_hooks.h). */
	cr_expect(file_contains(hooks, "MINNOW_TEST_POWER_BUTTON_MS"),
		  "%s should hold the power-button hook", hooks);
	cr_expect(!file_contains(release, "MINNOW_TEST_POWER_BUTTON_MS"),
		  "%s must not hold the power-button hook", release);
}
