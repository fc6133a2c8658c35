/* test_control.c - the control socket and the metrics file, with the test
 * unikernel: pause really stops the guest and resume lets it go on; status,
 * metrics and stop answer as README.md "Control socket" says; clients that
 * misbehave (malformed, oversized, too many, gone mid-request) get an error
 * or are dropped while the VM runs on; the socket is private, refused when
 * live, replaced when stale and removed at exit; the metrics file holds one
 * JSON object per line, the last one at exit with the devices' counts. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_client.h"
#include "harness.h"

/* The guest prints a tick every 20 ms. While paused, none may come; after
 * resume they go on. Pause is answered only once the vCPUs are parked, so
 * the tick count read right after the answer is final. */
Test(control, pause_stops_the_guest_and_resume_lets_it_run, .timeout = 60)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {.cmdline = "test=ticks ms=20", .sets = e.sets, .vcpus = 2};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_assert(guest_wait_output(&r, "minnow-test: tick 3\n", 20000), "no ticks: %s",
		  guest_ctx(&r));

	json_t *v = ctl_ask(&e, "{\"id\":41,\"request\":\"pause\"}");
	cr_assert(is_ok(v) && !strcmp(str_of(v, "state"), "paused") &&
		      json_integer_value(json_object_get(v, "id")) == 41,
		  "pause: %s", json_dumps(v, 0));
	json_decref(v);
	usleep(50000); /* a tick line already on its way out of the UART */
	unsigned at_pause = last_count(&r, "minnow-test: tick ");
	usleep(400000); /* 20 ticks' worth */
	unsigned later = last_count(&r, "minnow-test: tick ");
	v = ctl_ask(&e, "{\"request\":\"status\"}");
	cr_expect(!strcmp(str_of(v, "state"), "paused"), "status while paused: %s",
		  json_dumps(v, 0));
	json_decref(v);
	cr_expect_eq(later, at_pause, "the guest ticked while paused: tick %u at pause, %u after",
		     at_pause, later);

	v = ctl_ask(&e, "{\"request\":\"resume\"}");
	cr_expect(is_ok(v) && !strcmp(str_of(v, "state"), "running"), "resume: %s",
		  json_dumps(v, 0));
	json_decref(v);
	char want[64];
	snprintf(want, sizeof(want), "minnow-test: tick %u\n", later + 5);
	cr_expect(guest_wait_output(&r, want, 10000), "no ticks after resume (last %u): %s", later,
		  guest_ctx(&r));
	ctl_stop(&e, &r);
	guest_assert_ran(&r);
	cr_expect_eq(r.status, 0, "stop: %s", guest_ctx(&r));
	guest_result_free(&r);
	ctl_env_free(&e);
}

/* status and metrics answer while the VM runs; stop ends it with status 0
 * and exit_reason "stopped"; the socket is mode 0600 and gone afterwards. */
Test(control, status_metrics_and_stop)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {.cmdline = "test=idle", .sets = e.sets, .timings = TIMINGS_JSON};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_assert(guest_wait_output(&r, "minnow-test: idle", 20000), "%s", guest_ctx(&r));
	struct stat st;
	cr_assert_eq(stat(e.sock, &st), 0, "%s: %s", e.sock, strerror(errno));
	cr_expect(S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600, "%s: mode %o, want 0600",
		  e.sock, st.st_mode & 0777);

	json_t *v = ctl_ask(&e, "{\"request\":\"status\",\"id\":\"s1\"}");
	cr_expect(is_ok(v) && !strcmp(str_of(v, "state"), "running") &&
		      !strcmp(str_of(v, "id"), "s1") &&
		      json_integer_value(json_object_get(v, "memory_mib")) == 64 &&
		      json_integer_value(json_object_get(v, "boot_complete_us")) > 0,
		  "status: %s", json_dumps(v, 0));
	json_decref(v);

	v = ctl_ask(&e, "{\"request\":\"metrics\"}");
	json_t *m = json_object_get(v, "metrics");
	json_t *uart = NULL;
	json_t *ranges = json_object_get(m, "mmio_ranges");
	for (size_t i = 0; i < json_array_size(ranges); i++)
		if (!strcmp(str_of(json_array_get(ranges, i), "name"), "uart"))
			uart = json_array_get(ranges, i);
	cr_expect(is_ok(v) && json_is_object(m) && !strcmp(str_of(m, "state"), "running") &&
		      json_integer_value(json_object_get(m, "exits")) > 0 &&
		      json_array_size(json_object_get(m, "vcpus")) == 1 && uart &&
		      json_integer_value(json_object_get(uart, "writes")) +
			      json_integer_value(json_object_get(uart, "coalesced")) >
			  0,
		  "metrics: %s", json_dumps(v, 0));
	json_decref(v);

	ctl_stop(&e, &r);
	guest_assert_ran(&r);
	char reason[64];
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	cr_expect_str_eq(guest_json(r.err, "exit_reason", reason, sizeof(reason)), "stopped", "%s",
			 guest_ctx(&r));
	cr_expect(stat(e.sock, &st) != 0 && errno == ENOENT, "%s still there after exit", e.sock);
	guest_result_free(&r);
	ctl_env_free(&e);
}

/* Clients that misbehave get an error line or are dropped; the VM ticks
 * on and answers a well-behaved client afterwards. */
Test(control, bad_clients_never_stall_the_vm, .timeout = 60)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {.cmdline = "test=ticks ms=20", .sets = e.sets};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_assert(guest_wait_output(&r, "minnow-test: tick 1\n", 20000), "%s", guest_ctx(&r));

	static const struct {
		const char *line, *error; /* the request, a word of the error */
	} bad[] = {
	    {"garbage", "not JSON"},
	    {"[1,2]", "JSON object"},
	    {"{\"request\":\"fly\"}", "unknown request"},
	    {"{\"request\":\"pause\",\"extra\":1}", "unknown member"},
	    {"{\"request\":7}", "must be a string"},
	    {"{\"request\":\"snapshot\"}", "needs a \"path\""},
	    {"{\"request\":\"status\",\"path\":\"/x\"}", "snapshot only"},
	    {"{\"request\":\"status\",\"id\":[1]}", "\"id\""},
	    {"{\"request\":\"status\",\"request\":\"stop\"}", "duplicate"},
	};
	int fd = ctl_connect(&e);
	for (size_t i = 0; i < HARNESS_N(bad); i++) {
		json_t *v = ctl_ask_on(fd, bad[i].line); /* one connection: it stays usable */
		cr_expect(!is_ok(v) && strstr(str_of(v, "error"), bad[i].error),
			  "%s: want an error with '%s', got %s", bad[i].line, bad[i].error,
			  json_dumps(v, 0));
		json_decref(v);
	}
	close(fd);

	/* A line longer than 4096 bytes: an error, then the connection closes. */
	fd = ctl_connect(&e);
	static char big[6000];
	memset(big, 'x', sizeof(big));
	(void)!write(fd, big, sizeof(big));
	char buf[512];
	cr_expect(harness_read_line(fd, buf, sizeof(buf), 10000) && strstr(buf, "longer than"),
		  "oversized line: got '%s'", buf);
	cr_expect(!harness_read_line(fd, buf, sizeof(buf), 2000), "still open: '%s'", buf);
	close(fd);

	/* Half a request, then gone. */
	fd = ctl_connect(&e);
	(void)!write(fd, "{\"request\":\"sta", 15);
	close(fd);

	/* More clients than allowed: the one too many is told so. */
	int fds[17];
	for (int i = 0; i < 16; i++)
		fds[i] = ctl_connect(&e);
	fds[16] = ctl_connect(&e);
	cr_expect(harness_read_line(fds[16], buf, sizeof(buf), 10000) &&
		      strstr(buf, "too many control clients"),
		  "17th client: got '%s'", buf);
	json_t *v = ctl_ask_on(fds[0], "{\"request\":\"status\"}");
	cr_expect(is_ok(v), "the first of 16 clients: %s", json_dumps(v, 0));
	json_decref(v);
	for (int i = 0; i < 17; i++)
		close(fds[i]);

	unsigned now = last_count(&r, "minnow-test: tick ");
	char want[64];
	snprintf(want, sizeof(want), "minnow-test: tick %u\n", now + 3);
	cr_expect(guest_wait_output(&r, want, 10000), "the guest stopped ticking at %u: %s", now,
		  guest_ctx(&r));
	v = ctl_ask(&e, "{\"request\":\"status\"}");
	cr_expect(is_ok(v) && !strcmp(str_of(v, "state"), "running"), "status: %s",
		  json_dumps(v, 0));
	json_decref(v);
	ctl_stop(&e, &r);
	guest_assert_ran(&r);
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	guest_result_free(&r);
	ctl_env_free(&e);
}

/* A second minnow on a socket that a live one serves is refused in one
 * line with status 2; a stale socket file (nobody listening) is replaced;
 * a path that is not a socket is refused. */
Test(control, live_socket_refused_stale_one_replaced, .timeout = 60)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {.cmdline = "test=idle", .sets = e.sets};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_assert(guest_wait_output(&r, "minnow-test: idle", 20000), "%s", guest_ctx(&r));
	struct guest_result second;
	guest_run(&o, &second);
	cr_expect_eq(second.status, 2, "a second minnow on a live socket: %s", guest_ctx(&second));
	cr_expect(strstr(second.err, "in use by a running listener") &&
		      guest_count_lines(second.err, "") <= 1,
		  "want one line saying the socket is in use: %s", guest_ctx(&second));
	guest_result_free(&second);
	ctl_stop(&e, &r);
	guest_result_free(&r);

	/* Stale: a socket file nobody listens on. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, e.sock, strlen(e.sock) + 1);
	cr_assert(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s",
		  strerror(errno));
	close(s);
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_expect(guest_wait_output(&r, "minnow-test: idle", 20000), "stale socket: %s",
		  guest_ctx(&r));
	ctl_stop(&e, &r);
	cr_expect_eq(r.status, 0, "stale socket: %s", guest_ctx(&r));
	guest_result_free(&r);

	/* Not a socket. */
	FILE *f = fopen(e.sock, "w");
	cr_assert(f);
	fclose(f);
	guest_run(&o, &second);
	cr_expect_eq(second.status, 2, "a regular file at the path: %s", guest_ctx(&second));
	cr_expect(strstr(second.err, "exists and is not a socket"), "%s", guest_ctx(&second));
	guest_result_free(&second);
	ctl_env_free(&e);
}

/* The metrics file: a JSON object per line, every metrics_interval, and a
 * last one at exit ("ended") with the drive's requests, kicks and
 * interrupts as test=virtio-blk made them. */
Test(control, metrics_file_has_a_line_per_interval_and_one_at_exit, .timeout = 60)
{
	harness_require_kvm();
	char dir[4096], metrics[4200], img[4096], ini[8600];
	cr_assert_eq(harness_mkdtemp("metrics", dir, sizeof(dir)), 0, "%s", strerror(errno));
	snprintf(metrics, sizeof(metrics), "%s/m.jsonl", dir);
	uint8_t *content;
	harness_temp_file(NULL, "metrics", 1u << 20, img, sizeof(img), &content);
	free(content);
	/* First run: idle for 700 ms, a line every 100 ms. */
	char set[4300];
	snprintf(set, sizeof(set), "vm.metrics_file=%s", metrics);
	const char *sets[] = {set, "vm.metrics_interval=100ms", NULL};
	struct guest_opts o = {.cmdline = "test=idle ms=700", .sets = sets};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	guest_result_free(&r);
	size_t len = 0;
	char *text = (char *)harness_read_file(metrics, &len);
	cr_assert(text, "%s: not written", metrics);
	unsigned lines = 0;
	json_t *last = NULL;
	for (char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		json_error_t err;
		json_decref(last);
		last = json_loadb(p, (size_t)(nl - p), 0, &err);
		cr_assert(json_is_object(last), "line %u is not a JSON object: %s", lines + 1,
			  err.text);
		lines++;
	}
	cr_expect(lines >= 5 && lines <= 12, "want about 7 lines (700 ms / 100 ms) + 1, got %u",
		  lines);
	cr_expect_str_eq(str_of(last, "state"), "ended");
	json_decref(last);
	free(text);
	unlink(metrics);

	/* Second run: the drive's counters in the last line. */
	snprintf(ini, sizeof(ini), "[drive.d0]\npath = %s\n", img);
	sets[1] = NULL;
	o = (struct guest_opts){.cmdline = "test=virtio-blk", .extra_ini = ini, .sets = sets};
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	guest_result_free(&r);
	text = (char *)harness_read_file(metrics, &len);
	cr_assert(text && len, "%s: not written", metrics);
	json_t *m = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
	json_t *dev = json_array_get(json_object_get(m, "devices"), 0);
	cr_expect(!strcmp(str_of(dev, "type"), "virtio-blk") &&
		      !strcmp(str_of(dev, "name"), "drive.d0") &&
		      json_integer_value(json_object_get(dev, "reads")) > 0 &&
		      json_integer_value(json_object_get(dev, "writes")) > 0 &&
		      json_integer_value(json_object_get(dev, "write_bytes")) >= 512 &&
		      json_integer_value(json_object_get(dev, "kicks")) > 0 &&
		      json_integer_value(json_object_get(dev, "interrupts")) > 0,
		  "the drive's counters: %s", json_dumps(dev, 0));
	json_decref(m);
	free(text);
	unlink(metrics);
	unlink(img);
	rmdir(dir);
}
