/* test_batch.c - minnow batch with the test unikernel: one JSON line per VM
 * and a summary, {i} per VM, --fail-fast, SIGTERM, and soaks of 1000 VMs in turn
 * (MINNOW_SOAK_VMS) and 50 at once (MINNOW_SOAK_PARALLEL), each with its figures,
 * that leave nothing behind (fds, processes, files) with a flat per-VM peak RSS. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* The JSON line of VM `index` in the batch's stdout, or NULL. */
static const char *vm_line(const char *out, long index, char *buf, size_t len)
{
	char key[40];
	snprintf(key, sizeof(key), "{\"index\":%ld,", index);
	const char *p = strstr(out, key);
	if (!p)
		return NULL;
	const char *e = strchr(p, '\n');
	size_t n = e ? (size_t)(e - p) : strlen(p);
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* The value of "key" in a JSON text (number, or string without quotes). */
static long json_long(const char *json, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(json, k);
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static const char *summary(const struct guest_result *r)
{
	const char *s = strstr(r->out, "{\"summary\":");
	cr_assert_not_null(s, "no summary line: %s", guest_ctx((struct guest_result *)r));
	return s;
}

/* Lines of the batch's stdout that are a VM's report. */
static unsigned vm_lines(const char *out)
{
	unsigned n = 0;
	for (const char *p = out; (p = strstr(p, "{\"index\":")); p++)
		n += p == out || p[-1] == '\n';
	return n;
}

/* The batch finished by itself, in time. */
static void assert_ended(struct guest_result *r)
{
	cr_assert(r->ran && !r->timed_out && !r->signal, "%s", guest_ctx(r));
}

/* VM processes (`minnow run`) whose command line mentions `needle` (a
 * batch's ini file). */
static unsigned processes_with(const char *needle)
{
	DIR *d = opendir("/proc");
	unsigned n = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[300], buf[4096];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < len; i++)
			buf[i] = buf[i] ? buf[i] : ' ';
		buf[len] = '\0';
		n += strstr(buf, needle) && strstr(buf, " run ");
	}
	if (d)
		closedir(d);
	return n;
}

/* Checks every VM's line (0..n-1, each once, exit 0) and the summary. */
static void assert_all_ok(struct guest_result *r, long n)
{
	char line[4096];
	for (long i = 0; i < n; i++) {
		cr_assert_not_null(vm_line(r->out, i, line, sizeof(line)), "no line for VM %ld: %s",
				   i, guest_ctx(r));
		cr_assert_eq(json_long(line, "exit_status"), 0, "VM %ld: %s", i, line);
		cr_assert(strstr(line, "\"exit_reason\":\"guest_exit\""), "VM %ld: %s", i, line);
		cr_assert_geq(json_long(line, "boot_complete_us"), 1, "VM %ld: %s", i, line);
	}
	cr_assert_eq(vm_lines(r->out), (unsigned)n, "%s", guest_ctx(r));
	const char *s = summary(r);
	cr_assert_eq(json_long(s, "vms"), n, "%s", s);
	cr_assert_eq(json_long(s, "ok"), n, "%s", s);
	cr_assert_eq(json_long(s, "started"), n, "%s", s);
	cr_assert(strstr(s, "\"exit_reasons\":{\"guest_exit\":"), "%s", s);
	cr_assert(strstr(s, "\"boot_complete_us\":{\"n\":"), "%s", s);
	cr_assert_eq(json_long(s, "fds_at_end"), json_long(s, "fds_at_start"), "fds leaked: %s", s);
	cr_assert(strstr(r->err, "minnow batch:"), "no table on stderr: %s", guest_ctx(r));
}

Test(batch, one_line_per_vm_and_a_summary)
{
	harness_require_kvm();
	const char *args[] = {"-n", "20", "-j", "2", NULL};
	struct guest_opts o = {.cmdline = "test=hello", .command = "batch", .args = args};
	struct guest_result r;
	guest_run(&o, &r);
	assert_ended(&r);
	cr_assert_eq(r.status, 0, "%s", guest_ctx(&r));
	assert_all_ok(&r, 20);
	guest_result_free(&r);
}

/* {i} gives each VM its own console file, and the guest's cmdline. */
Test(batch, each_vm_gets_its_number)
{
	harness_require_kvm();
	char dir[256], set_path[320];
	cr_assert_eq(harness_mkdtemp("batch", dir, sizeof(dir)), 0);
	snprintf(set_path, sizeof(set_path), "console.path=%s/vm{i}.log", dir);
	const char *sets[] = {"console.output=file", set_path,
			      "kernel.cmdline=test=bootinfo vm={i+100}", NULL};
	const char *args[] = {"-n", "5", "-j", "2", NULL};
	struct guest_opts o = {.command = "batch", .args = args, .sets = sets};
	struct guest_result r;
	guest_run(&o, &r);
	assert_ended(&r);
	cr_assert_eq(r.status, 0, "%s", guest_ctx(&r));
	assert_all_ok(&r, 5);
	for (int i = 0; i < 5; i++) {
		char path[320], want[32], text[8192];
		snprintf(path, sizeof(path), "%s/vm%d.log", dir, i);
		snprintf(want, sizeof(want), "vm=%d", 100 + i);
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f, "%s: %s", path, strerror(errno));
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
		cr_assert(strstr(text, "minnow-test: entry="), "%s: %s", path, text);
		cr_assert(strstr(text, want), "%s does not show its cmdline (%s): %s", path, want,
			  text);
		unlink(path);
	}
	rmdir(dir);
	guest_result_free(&r);
}

Test(batch, fail_fast_stops_at_the_first_failure)
{
	harness_require_kvm();
	const char *args[] = {"-n", "10", "-j", "1", "--fail-fast", NULL};
	struct guest_opts o = {.cmdline = "test=exit:7", .command = "batch", .args = args};
	struct guest_result r;
	guest_run(&o, &r);
	assert_ended(&r);
	cr_assert_eq(r.status, 1, "%s", guest_ctx(&r));
	char line[4096];
	cr_assert_not_null(vm_line(r.out, 0, line, sizeof(line)), "%s", guest_ctx(&r));
	cr_assert_eq(json_long(line, "exit_status"), 7, "%s", line);
	cr_assert_null(vm_line(r.out, 1, line, sizeof(line)), "a VM after the failure ran");
	const char *s = summary(&r);
	cr_assert_eq(json_long(s, "started"), 1, "%s", s);
	cr_assert_eq(json_long(s, "failed"), 1, "%s", s);
	guest_result_free(&r);
}

/* SIGTERM stops every running VM, prints the summary, exits 143, and
 * leaves no VM behind. */
Test(batch, sigterm_stops_every_vm)
{
	harness_require_kvm();
	const char *args[] = {"-n", "50", "-j", "3", NULL};
	struct guest_opts o = {.cmdline = "test=idle", .command = "batch", .args = args};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	/* The ini's name is unique to this run: its VMs carry it in argv. */
	char ini[sizeof(r.ini)];
	snprintf(ini, sizeof(ini), "%s", r.ini);
	double t0 = harness_now_ms();
	while (processes_with(ini) < 3 && harness_now_ms() - t0 < 15000)
		usleep(20 * 1000);
	usleep(100 * 1000); /* no fourth VM may start meanwhile */
	unsigned seen = processes_with(ini);
	kill(r.pid, SIGTERM);
	double t1 = harness_now_ms();
	guest_wait(&r);
	double took = harness_now_ms() - t1;
	cr_assert_eq(seen, 3, "-j 3: %u VMs ran at once", seen);
	cr_assert_eq(r.status, 128 + SIGTERM, "%s", guest_ctx(&r));
	cr_assert_lt(took, 5000, "took %.0f ms to stop", took);
	const char *s = summary(&r);
	cr_assert_eq(json_long(s, "started"), 3, "%s", s);
	cr_assert_eq(json_long(s, "vms"), 3, "%s", s);
	cr_assert(strstr(s, "\"stopped_by\":\"Terminated\""), "%s", s);
	cr_assert_eq(vm_lines(r.out), 3, "%s", guest_ctx(&r));
	cr_assert_eq(processes_with(ini), 0, "VMs left running after the batch");
	guest_result_free(&r);
}

/* Files in $TMPDIR. */
static unsigned tmp_files(void)
{
	DIR *d = opendir(harness_tmpdir());
	unsigned n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Open file descriptors of this process. */
static unsigned own_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* The median peak RSS (KiB) of VMs [from, from + k). */
static long median_rss(const char *out, long from, long k)
{
	long *v = calloc((size_t)k, sizeof(*v));
	char line[4096];
	cr_assert_not_null(v);
	for (long i = 0; i < k; i++) {
		cr_assert_not_null(vm_line(out, from + i, line, sizeof(line)), "VM %ld", from + i);
		v[i] = json_long(line, "peak_rss_kib");
		cr_assert_gt(v[i], 0, "VM %ld has no peak RSS: %s", from + i, line);
	}
	qsort(v, (size_t)k, sizeof(*v), cmp_long);
	long m = v[k / 2];
	free(v);
	return m;
}

/* `n` VMs with a vsock device, `jobs` at a time: every VM exits 0; afterwards no file (nor
 * vsock socket) left in $TMPDIR, no VM process, no fd more in this process nor in minnow
 * batch (its summary); each VM's peak RSS flat across the run (median of the last tenth, at
 * most 100 VMs, within 10% of the first's). Prints the figures. */
static void soak(long n, long jobs)
{
	char n_arg[24], j_arg[24];
	snprintf(n_arg, sizeof(n_arg), "%ld", n);
	snprintf(j_arg, sizeof(j_arg), "%ld", jobs);
	const char *args[] = {"-n", n_arg, "-j", j_arg, NULL};
	/* Each VM listens on a vsock socket of its own in $TMPDIR: it must be gone after. */
	char vsock[300];
	snprintf(vsock, sizeof(vsock), "[vsock]\ncid = 3\nuds_path = %s/soak-%d-{i}.sock\n",
		 harness_tmpdir(), (int)getpid());
	struct guest_opts o = {.cmdline = "test=hello",
			       .extra_ini = vsock,
			       .command = "batch",
			       .args = args,
			       .timeout_ms = 850 * 1000};
	unsigned files_before = tmp_files(), fds_before = own_fds();
	struct guest_result r;
	double t0 = harness_now_ms();
	guest_run(&o, &r);
	double took = harness_now_ms() - t0;
	assert_ended(&r);
	cr_assert_eq(r.status, 0, "%s", guest_ctx(&r));
	assert_all_ok(&r, n);
	/* The harness's own ini file is gone by now too. */
	cr_assert_eq(tmp_files(), files_before, "files left in %s", harness_tmpdir());
	cr_assert_eq(processes_with(r.ini), 0, "VMs left running after the batch");
	cr_assert_eq(own_fds(), fds_before, "fds of the test: %u before, %u after", fds_before,
		     own_fds());
	const char *sum = summary(&r);
	long batch_fds = json_long(sum, "fds_at_start");
	cr_assert(batch_fds > 0 && json_long(sum, "fds_at_end") == batch_fds,
		  "minnow batch's own fds: %s", sum);
	long k = n / 10 < 100 ? n / 10 : 100;
	if (k < 1)
		k = 1;
	long first = median_rss(r.out, 0, k), last = median_rss(r.out, n - k, k);
	cr_assert(last * 10 <= first * 11 && last * 10 >= first * 9,
		  "peak RSS not flat: median %ld KiB over the first %ld VMs, %ld KiB over the last",
		  first, k, last);
	fprintf(stderr,
		"batch soak: %ld VMs, -j %ld: %.1f VMs/s; peak RSS median %ld KiB (first %ld) -> "
		"%ld KiB (last %ld); test fds %u -> %u, batch fds %ld -> %ld; %s\n",
		n, jobs, n * 1000.0 / took, first, k, last, k, fds_before, own_fds(), batch_fds,
		json_long(sum, "fds_at_end"),
		strstr(r.err, "minnow batch:") ? strstr(r.err, "minnow batch:") : "");
	guest_result_free(&r);
}

/* MINNOW_SOAK_VMS VMs one after another (default 1000; the sanitizer tier asks for fewer). */
Test(batch, many_vms_leave_nothing_behind, .timeout = 900)
{
	harness_require_kvm();
	const char *env_n = getenv("MINNOW_SOAK_VMS");
	long n = env_n ? strtol(env_n, NULL, 10) : 1000;
	cr_assert(n > 0 && n <= 100000, "MINNOW_SOAK_VMS=%s", env_n);
	soak(n, 1);
}

/* MINNOW_SOAK_PARALLEL VMs (default 50) all at once. */
Test(batch, many_vms_at_once_leave_nothing_behind, .timeout = 900)
{
	harness_require_kvm();
	const char *env_n = getenv("MINNOW_SOAK_PARALLEL");
	long n = env_n ? strtol(env_n, NULL, 10) : 50;
	cr_assert(n > 0 && n <= 1000, "MINNOW_SOAK_PARALLEL=%s", env_n);
	soak(n, n);
}

/* ---- minnow bench ---- */

/* Five runs of the unikernel next to /bin/true: the table with the guest's
 * marks, one JSON line per run of each, and the median run's timeline with
 * a vCPU track. */
Test(bench, runs_table_json_and_trace)
{
	harness_require_kvm();
	char dir[256], json[320], trace[320];
	cr_assert_eq(harness_mkdtemp("bench", dir, sizeof(dir)), 0);
	snprintf(json, sizeof(json), "%s/b.json", dir);
	snprintf(trace, sizeof(trace), "%s/t.json", dir);
	const char *args[] = {"-n",	"5",  "--warmup", "1",	 "--compare", "/bin/true",
			      "--json", json, "--trace",  trace, NULL};
	struct guest_opts o = {.cmdline = "test=hello", .command = "bench", .args = args};
	struct guest_result r;
	guest_run(&o, &r);
	assert_ended(&r);
	cr_assert_eq(r.status, 0, "%s", guest_ctx(&r));
	cr_assert(strstr(r.out, "minnow bench: "), "%s", guest_ctx(&r));
	static const char *const rows[] = {"  wall_us ",
					   "  boot_complete_us ",
					   "  guest_init_us ",
					   "  guest_command_us ",
					   "  peak_rss_kib ",
					   "compared with: /bin/true",
					   "  exec to exit, p50 (ms)"};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_assert(strstr(r.out, rows[i]), "no '%s' in the table: %s", rows[i], r.out);

	static char text[1 << 16];
	FILE *f = fopen(json, "r");
	cr_assert_not_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	unsigned runs = 0, compares = 0, summaries = 0;
	for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		runs += !strncmp(p, "{\"run\":", 7);
		compares += !strncmp(p, "{\"compare\":0,", 13);
		summaries += !strncmp(p, "{\"summary\":", 11);
	}
	cr_assert_eq(runs, 5, "%s", text);
	cr_assert_eq(compares, 5, "%s", text);
	cr_assert_eq(summaries, 2, "%s", text);
	cr_assert_geq(json_long(text, "guest_command_us"), json_long(text, "guest_init_us"));

	f = fopen(trace, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cr_assert(strstr(text, "\"traceEvents\":["), "%s", text);
	cr_assert(strstr(text, "{\"name\":\"boot\",\"ph\":\"X\""), "%s", text);
	cr_assert(strstr(text, "\"args\":{\"name\":\"vCPU 0\"}"), "%s", text);
	cr_assert(strstr(text, "{\"name\":\"command\",\"ph\":\"X\""), "%s", text);
	unlink(json);
	unlink(trace);
	rmdir(dir);
	guest_result_free(&r);
}
