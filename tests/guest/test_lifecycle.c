/* test_lifecycle.c - minnow as a process on the host: stopped by SIGTERM,
 * SIGINT, SIGHUP, a hung-up terminal or Ctrl-A x while it runs on a
 * pseudo-terminal (exit status, exit_reason, the terminal's settings back,
 * the drive's lock released, the vsock socket file gone, nothing left
 * holding the terminal or the image); a host failure while it runs
 * (exit status 1); a stdout nobody reads or that nobody reads any more;
 * --timings as text; peak RSS; [vm] prefault. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"
#include "peak_rss.h"

#define WAIT_MS 15000 /* for the guest to say it is idle */

/* ---- stopping a running VM ---- */

enum stop_how { STOP_SIGNAL, STOP_HANGUP, STOP_ESCAPE };

struct stop_case {
	const char *name;
	enum stop_how how;
	int sig; /* STOP_SIGNAL */
	int status;
	bool vconsole; /* the terminal feeds virtio-console, not the UART */
};

/* README.md: 128+N on signal N; Ctrl-A x quits as SIGINT would (vmm/core/vm.c
 * read_input); closing the terminal sends its session leader SIGHUP. */
static const struct stop_case stop_cases[] = {
    {"SIGTERM", STOP_SIGNAL, SIGTERM, 128 + SIGTERM, false},
    {"SIGINT", STOP_SIGNAL, SIGINT, 128 + SIGINT, false},
    {"SIGHUP", STOP_SIGNAL, SIGHUP, 128 + SIGHUP, false},
    {"terminal hang-up", STOP_HANGUP, 0, 128 + SIGHUP, false},
    {"Ctrl-A x", STOP_ESCAPE, 0, 128 + SIGINT, false},
    {"Ctrl-A x on virtio-console", STOP_ESCAPE, 0, 128 + SIGINT, true},
};

static bool same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && !memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) &&
	       cfgetispeed(a) == cfgetispeed(b) && cfgetospeed(a) == cfgetospeed(b);
}

ParameterizedTestParameters(lifecycle, stop)
{
	HARNESS_ROWS(stop_cases);
}

/* minnow on a pty (console input on: raw mode), with a drive and a vsock
 * listener, stopped while the guest idles. */
ParameterizedTest(int *row, lifecycle, stop)
{
	const struct stop_case *c = &stop_cases[*row];
	harness_require_kvm();
	struct harness_pty pty;
	cr_assert_eq(harness_pty_open(&pty), 0, "cannot open a pseudo-terminal: %s",
		     strerror(errno));
	char dir[4096], img[4200], uds[4200], log[4200], base[9000], ini[9100];
	cr_assert_eq(harness_mkdtemp("stop", dir, sizeof(dir)), 0, "mkdtemp: %s", strerror(errno));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(uds, sizeof(uds), "%s/vsock", dir);
	snprintf(log, sizeof(log), "%s/uart.log", dir);
	cr_assert(strlen(uds) < 100, "%s: $TMPDIR too long for a socket path: %s", c->name, uds);
	FILE *f = fopen(img, "we");
	cr_assert(f && ftruncate(fileno(f), 1 << 20) == 0, "%s", img);
	fclose(f);
	snprintf(base, sizeof(base), "[drive.d0]\npath = %s\n\n[vsock]\ncid = 3\nuds_path = %s\n",
		 img, uds);
	snprintf(ini, sizeof(ini), "%s%s", base,
		 c->vconsole ? "\n[vconsole]\noutput = stdio\n" : "");
	struct termios before, during, after;
	cr_assert_eq(tcgetattr(pty.slave, &before), 0);

	/* With virtio-console on the terminal, the UART (where the firmware
	 * writes) goes to a file. */
	struct guest_opts o = {.cmdline = "test=idle",
			       .console_input = !c->vconsole,
			       .console_file = c->vconsole ? log : NULL,
			       .extra_ini = ini,
			       .pty = &pty,
			       .timings = TIMINGS_JSON};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s: %s", c->name, r.desc);
	bool idle = false;
	if (c->vconsole) {
		/* Polls the file while pumping minnow's output (20 ms at a time). */
		for (double end = harness_now_ms() + WAIT_MS;
		     !idle && !r.exited && harness_now_ms() < end;) {
			char *text = (char *)harness_read_file(log, NULL);
			idle = text && strstr(text, "minnow-test: idle");
			free(text);
			if (!idle)
				guest_wait_output(&r, NULL, 20);
		}
	} else {
		idle = guest_wait_output(&r, "minnow-test: idle", WAIT_MS);
	}
	if (!idle) {
		guest_wait(&r);
		cr_assert_fail("%s: the guest never said it was idle: %s", c->name, guest_ctx(&r));
	}
	/* While it runs: raw mode, the socket is there, the image is locked. */
	cr_expect_eq(tcgetattr(pty.slave, &during), 0);
	cr_expect(!(during.c_lflag & (ICANON | ECHO | ISIG)),
		  "%s: console input on a terminal must be in raw mode (c_lflag 0x%x)", c->name,
		  (unsigned)during.c_lflag);
	struct stat st;
	cr_expect(stat(uds, &st) == 0 && S_ISSOCK(st.st_mode), "%s: no vsock socket %s: %s",
		  c->name, uds, strerror(errno));
	struct guest_opts o2 = {.cmdline = "test=hello", .extra_ini = base};
	struct guest_result r2;
	guest_run(&o2, &r2);
	cr_expect(r2.status == 2 && strstr(r2.err, "in use by another process (flock)"),
		  "%s: a second minnow must find the image locked: %s", c->name, guest_ctx(&r2));
	guest_result_free(&r2);

	switch (c->how) {
	case STOP_SIGNAL:
		kill(r.pid, c->sig);
		break;
	case STOP_ESCAPE:
		cr_expect_eq(write(pty.master, "\x01x", 2), 2);
		break;
	case STOP_HANGUP:
		/* The harness reads the master: forget it before it closes. */
		close(pty.master);
		pty.master = -1;
		r.fd_out = -1;
		break;
	}
	guest_wait(&r);
	cr_assert(r.ran && !r.timed_out && r.signal == 0, "%s: minnow did not exit by itself: %s",
		  c->name, guest_ctx(&r));
	char reason[32] = "";
	cr_expect_eq(r.status, c->status, "%s: want exit status %d: %s", c->name, c->status,
		     guest_ctx(&r));
	cr_expect(
	    guest_json(r.err, "exit_reason", reason, sizeof(reason)) && !strcmp(reason, "signal"),
	    "%s: want exit_reason \"signal\", got \"%s\": %s", c->name, reason, guest_ctx(&r));
	if (c->how == STOP_ESCAPE)
		cr_expect(strstr(r.err, "quit requested (Ctrl-A x)"),
			  "%s: stderr should say why: %s", c->name, guest_ctx(&r));
	/* A hung-up terminal keeps no settings to compare. */
	if (c->how != STOP_HANGUP) {
		cr_expect_eq(tcgetattr(pty.slave, &after), 0);
		cr_expect(same_termios(&before, &after),
			  "%s: terminal settings not restored (c_lflag 0x%x before, 0x%x after)",
			  c->name, (unsigned)before.c_lflag, (unsigned)after.c_lflag);
	}
	/* minnow removes the vsock socket file it made; nothing else holds
	 * the terminal or the image. */
	errno = 0;
	cr_expect(lstat(uds, &st) < 0 && errno == ENOENT,
		  "%s: the vsock socket %s is still there after minnow exited", c->name, uds);
	char who[128];
	cr_expect(!harness_fd_holder(pty.name, who, sizeof(who)),
		  "%s: %s still holds the terminal %s after minnow exited", c->name, who, pty.name);
	cr_expect(!harness_fd_holder(img, who, sizeof(who)),
		  "%s: %s still holds the image %s after minnow exited", c->name, who, img);
	/* The lock went with it: the next VM gets the image. */
	guest_run(&o2, &r2);
	cr_expect(r2.status == 0 && guest_has_line(&r2, "hello from"),
		  "%s: the image must be free right after minnow exited: %s", c->name,
		  guest_ctx(&r2));
	guest_result_free(&r2);
	guest_result_free(&r);
	harness_pty_close(&pty);
	unlink(img);
	unlink(uds);
	unlink(log);
	rmdir(dir);
}

/* ---- the console's reader: stalled, or gone ---- */

/* stdout a pipe nobody reads and a guest that writes four times what the
 * pipe holds: minnow gives up waiting (out_sink.h), and SIGTERM still ends
 * it at once with 143. */
Test(lifecycle, stdout_never_read)
{
	harness_require_kvm();
	struct guest_opts o = {.cmdline = "test=uart-flood kib=256",
			       .stdout_mode = STDOUT_UNREAD,
			       .timings = TIMINGS_JSON,
			       .timeout_ms = 120000};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool stalled = guest_wait_stderr(&r, "output blocked", 100000);
	double sent = harness_now_ms();
	kill(r.pid, SIGTERM);
	guest_wait(&r);
	cr_assert(stalled, "minnow never gave up on the full pipe: %s", guest_ctx(&r));
	cr_assert(r.ran && !r.timed_out && r.signal == 0, "%s", guest_ctx(&r));
	double took = r.t0 + r.wall_ms - sent;
	cr_expect_eq(r.status, 128 + SIGTERM, "want 143: %s", guest_ctx(&r));
	cr_expect_lt(took, 1000, "SIGTERM took %.0f ms to end minnow: %s", took, guest_ctx(&r));
	guest_result_free(&r);
}

struct gone_case {
	const char *name;
	bool pty; /* stdin a terminal in raw mode (console input on) */
};

static const struct gone_case gone_cases[] = {
    {"stdin a pipe", false},
    {"stdin a terminal", true},
};

ParameterizedTestParameters(lifecycle, stdout_reader_gone)
{
	HARNESS_ROWS(gone_cases);
}

/* `minnow run x.ini | head -1`: once the reader is gone the VM ends as a
 * local program would on SIGPIPE (141), cleanly: the terminal restored. */
ParameterizedTest(int *row, lifecycle, stdout_reader_gone)
{
	const struct gone_case *c = &gone_cases[*row];
	harness_require_kvm();
	struct harness_pty pty;
	struct termios before, after;
	if (c->pty) {
		cr_assert_eq(harness_pty_open(&pty), 0, "pty: %s", strerror(errno));
		cr_assert_eq(tcgetattr(pty.slave, &before), 0);
	}
	struct guest_opts o = {.cmdline = "test=idle",
			       .console_input = c->pty,
			       .pty = c->pty ? &pty : NULL,
			       .stdout_mode = STDOUT_CLOSED,
			       .timings = TIMINGS_JSON};
	struct guest_result r;
	cr_assert_eq(guest_run(&o, &r), 0, "%s: %s", c->name, r.desc);
	cr_assert(r.ran && !r.timed_out && r.signal == 0, "%s: %s", c->name, guest_ctx(&r));
	char reason[32] = "";
	guest_json(r.err, "exit_reason", reason, sizeof(reason));
	cr_expect_eq(r.status, 128 + SIGPIPE, "%s: want 141: %s", c->name, guest_ctx(&r));
	cr_expect_str_eq(reason, "signal", "%s: %s", c->name, guest_ctx(&r));
	cr_expect(strstr(r.err, "reader went away"), "%s: stderr should say why: %s", c->name,
		  guest_ctx(&r));
	if (c->pty) {
		cr_expect_eq(tcgetattr(pty.slave, &after), 0);
		cr_expect(same_termios(&before, &after), "%s: terminal left changed: %s", c->name,
			  guest_ctx(&r));
		harness_pty_close(&pty);
	}
	guest_result_free(&r);
}

/* ---- threads: the main thread (which also serves the devices) and one
 * per vCPU ---- */

struct threads_case {
	const char *name;
	const char *extra_ini;
	unsigned vcpus, threads; /* main + vCPUs */
};

static const struct threads_case threads_cases[] = {
    {"no virtio device", NULL, 2, 3},
    {"virtio-rng", "[rng]\n", 2, 3},
};

ParameterizedTestParameters(lifecycle, threads)
{
	HARNESS_ROWS(threads_cases);
}

/* Whether process `pid` runs with ThreadSanitizer (configure --enable-tsan),
 * whose runtime adds a background thread of its own. */
static bool runs_tsan(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "libtsan") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* Whether task `tid` of `pid` is a kernel worker KVM attaches to the VM's
 * process (kvm-nx-lpage-recovery, a thread of the process on some kernels). */
static bool kvm_worker(pid_t pid, const char *tid)
{
	char path[384], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	return !strncmp(comm, "kvm-", 4);
}

/* How many threads process `pid` has (entries of /proc/PID/task), not
 * counting ThreadSanitizer's or KVM's kernel workers. */
static unsigned thread_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	unsigned n = 0;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.' && !kvm_worker(pid, e->d_name);
	closedir(d);
	return n > 0 && runs_tsan(pid) ? n - 1 : n;
}

ParameterizedTest(int *row, lifecycle, threads)
{
	const struct threads_case *c = &threads_cases[*row];
	harness_require_kvm();
	struct guest_opts o = {
	    .cmdline = "test=idle", .vcpus = c->vcpus, .extra_ini = c->extra_ini};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s: %s", c->name, r.desc);
	bool idle = guest_wait_output(&r, "minnow-test: idle", WAIT_MS);
	/* vCPU 0 may print before the main thread has started the last
	 * vCPU's thread: look again for a moment while some are missing. */
	unsigned n = idle ? thread_count(r.pid) : 0;
	for (int tries = 0; idle && n < c->threads && tries < 100; tries++) {
		usleep(20 * 1000);
		n = thread_count(r.pid);
	}
	kill(r.pid, SIGTERM);
	guest_wait(&r);
	cr_assert(idle, "%s: the guest never said it was idle: %s", c->name, guest_ctx(&r));
	cr_expect_eq(n, c->threads, "%s, %u vCPUs: %u threads, want %u", c->name, c->vcpus, n,
		     c->threads);
	guest_result_free(&r);
}

/* ---- exit status 1: the host fails minnow while it starts the VM ---- */

/* With too few file descriptors minnow cannot start (exit_reason
 * startup_failed); with just enough to create the VM, setting up the run
 * loop fails: still status 1, now "host_error". Found by raising
 * RLIMIT_NOFILE one at a time from where nothing works. */
Test(lifecycle, host_error)
{
	harness_require_kvm();
	struct guest_opts o = {.cmdline = "test=hello", .timings = TIMINGS_JSON};
	struct guest_result r;
	char reason[32] = "", first[32] = "";
	unsigned limit;
	bool host_error = false;
	for (limit = 4; limit < 64 && !host_error; limit++) {
		o.nofile = limit;
		cr_assert_eq(guest_run(&o, &r), 0, "%s", r.desc);
		cr_assert(r.ran && !r.timed_out && r.signal == 0, "nofile %u: %s", limit,
			  guest_ctx(&r));
		/* Without the config file read there is no report at all. */
		if (!guest_json(r.err, "exit_reason", reason, sizeof(reason)))
			snprintf(reason, sizeof(reason), "(no report)");
		if (!first[0] && r.status == 1)
			snprintf(first, sizeof(first), "%s", reason);
		if (strcmp(reason, "startup_failed") != 0 && strcmp(reason, "(no report)") != 0) {
			cr_expect_eq(r.status, 1,
				     "nofile %u: the first run that got past start-up must fail "
				     "with 1 (host error), not run the guest: %s",
				     limit, guest_ctx(&r));
			cr_expect_str_eq(reason, "host_error", "nofile %u: exit_reason: %s", limit,
					 guest_ctx(&r));
			cr_expect(strstr(r.err, "Too many open files"),
				  "nofile %u: stderr should name the failure: %s", limit,
				  guest_ctx(&r));
			char end[32] = "";
			cr_expect(guest_json(r.err, "vm_end_us", end, sizeof(end)) &&
				      strcmp(end, "null") != 0,
				  "nofile %u: vm_end_us must be set: %s", limit, guest_ctx(&r));
			host_error = true;
		}
		if (!host_error)
			guest_result_free(&r);
	}
	cr_assert(host_error, "no RLIMIT_NOFILE below 64 got minnow past start-up");
	cr_expect_str_eq(first, "startup_failed",
			 "fewer descriptors must fail start-up with status 1 (\"%s\")", first);
	guest_result_free(&r);
}

/* ---- --timings (text) ---- */

static const char *const phases[] = {"config_parsed_us", "vm_created_us", "memory_ready_us",
				     "kernel_loaded_us", "first_run_us",  "boot_complete_us",
				     "vm_end_us",	 "torn_down_us"};

Test(lifecycle, timings_text)
{
	struct guest_opts o = {.cmdline = "test=hello", .timings = TIMINGS_TEXT};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "hello must exit 0: %s", guest_ctx(&r));
	cr_expect(strstr(r.err, "minnow timings (microseconds since start):\n"),
		  "no timings header: %s", guest_ctx(&r));
	unsigned long long prev = 0;
	for (size_t i = 0; i < HARNESS_N(phases); i++) {
		char key[48];
		snprintf(key, sizeof(key), "\n  %s ", phases[i]);
		const char *p = strstr(r.err, key);
		unsigned long long v = 0;
		cr_expect(p && sscanf(p + strlen(key), "%llu", &v) == 1,
			  "no number on the %s line: %s", phases[i], guest_ctx(&r));
		cr_expect(v >= prev, "%s = %llu comes before the previous phase (%llu): %s",
			  phases[i], v, prev, guest_ctx(&r));
		prev = v;
	}
	/* Microseconds since minnow started, which the harness timed. */
	cr_expect(prev > 0 && prev <= r.wall_ms * 1000 + 1000,
		  "torn_down_us %llu not within the %.0f ms minnow ran: %s", prev, r.wall_ms,
		  guest_ctx(&r));
	unsigned long long rss = 0, touched = 0;
	const char *p = strstr(r.err, "  peak RSS ");
	cr_expect(
	    p && sscanf(p, "  peak RSS %llu KiB, guest RAM touched %llu KiB", &rss, &touched) == 2,
	    "no 'peak RSS N KiB, guest RAM touched N KiB' line: %s", guest_ctx(&r));
	cr_expect(rss > 0 && touched > 0 && touched <= 64 * 1024,
		  "peak RSS %llu KiB, touched %llu KiB of 64 MiB: %s", rss, touched, guest_ctx(&r));
	cr_expect(!strstr(r.err, "state_read_us") && !strstr(r.err, "devices_restored_us"),
		  "a cold boot's report has no restore phases: %s", guest_ctx(&r));
	cr_expect(strstr(r.err, "\n  exits to userspace "), "no exits line: %s", guest_ctx(&r));
	cr_expect(strstr(r.err, "\n  exit: status 0 (guest_exit)\n"),
		  "want '  exit: status 0 (guest_exit)': %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- peak RSS: minnow's own, not that of whoever started it ---- */

/* Linux keeps, across execve, the peak RSS of the memory a process had
 * before (for a forked child, its parent's); a harness holding 256 MiB
 * must not see minnow report that as its own. */
Test(lifecycle, peak_rss_is_minnows_own)
{
	size_t big = 256u << 20;
	char *ballast = malloc(big);
	cr_assert_not_null(ballast);
	memset(ballast, 1, big);
	__asm__ volatile("" : : "r"(ballast) : "memory"); /* the pages stay written */
	cr_assert_geq(peak_rss_kib(peak_rss_open()), big / 1024,
		      "the harness's peak RSS must be 256 MiB or more");
	struct guest_opts o = {.cmdline = "test=hello", .timings = TIMINGS_JSON};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "hello must exit 0: %s", guest_ctx(&r));
	char v[32] = "";
	unsigned long long kib = 0;
	cr_assert(guest_json(r.err, "peak_rss_kib", v, sizeof(v)) && sscanf(v, "%llu", &kib) == 1,
		  "no peak_rss_kib: %s", guest_ctx(&r));
	/* hello with 64 MiB of guest RAM: about 6 MiB, 17 MiB with AddressSanitizer; well
	 * below the harness's 256 MiB under any build. */
	cr_expect(kib > 1024 && kib < 128 * 1024, "peak_rss_kib %llu under a parent of %zu KiB: %s",
		  kib, big / 1024, guest_ctx(&r));
	guest_result_free(&r);
	free(ballast);
}

/* ---- [vm] prefault: all of guest RAM resident before the guest runs ---- */

struct prefault_case {
	const char *set;
	bool all; /* guest_touched_kib == memory, else well below it */
};

static const struct prefault_case prefault_cases[] = {
    {"vm.prefault=on", true},
    {"vm.prefault=off", false},
};

ParameterizedTestParameters(lifecycle, prefault)
{
	HARNESS_ROWS(prefault_cases);
}

ParameterizedTest(int *row, lifecycle, prefault)
{
	const struct prefault_case *c = &prefault_cases[*row];
	const char *sets[] = {c->set, NULL};
	struct guest_opts o = {
	    .cmdline = "test=hello", .memory = "64M", .sets = sets, .timings = TIMINGS_JSON};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "%s: hello must exit 0: %s", c->set, guest_ctx(&r));
	char v[32] = "";
	unsigned long long kib = 0;
	cr_assert(guest_json(r.err, "guest_touched_kib", v, sizeof(v)) &&
		      sscanf(v, "%llu", &kib) == 1,
		  "%s: no guest_touched_kib: %s", c->set, guest_ctx(&r));
	if (c->all)
		cr_expect_eq(kib, 64 * 1024, "%s: %llu KiB of 64 MiB resident: %s", c->set, kib,
			     guest_ctx(&r));
	else
		cr_expect(kib < 32 * 1024, "%s: %llu KiB of 64 MiB resident for hello: %s", c->set,
			  kib, guest_ctx(&r));
	guest_result_free(&r);
}
