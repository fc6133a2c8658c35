/* test_pvpanic.c - a guest reporting a panic through the pvpanic register
 * (exit status 126, guest_crash), reading its supported events, and the
 * device gone with [vm] pvpanic = off. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const char *ctx(const struct guest_result *r)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s\n--- stdout ---\n%.3000s\n--- stderr ---\n%.3000s", r->desc,
		 r->out, r->err);
	return buf;
}

static void run(const struct guest_opts *o, struct guest_result *r)
{
	harness_require_kvm();
	int rc = guest_run(o, r);
	cr_assert_eq(rc, 0, "could not run minnow: %s", r->desc);
	cr_assert(!r->timed_out, "minnow did not finish: %s", ctx(r));
	cr_assert_eq(r->signal, 0, "minnow died: %s", ctx(r));
}

/* The exit_reason of --timings=json on stderr, or "" without one. */
static const char *exit_reason(const char *err, char *buf, size_t len)
{
	const char *p = strstr(err, "\"exit_reason\":\"");
	buf[0] = '\0';
	if (p) {
		p += strlen("\"exit_reason\":\"");
		size_t n = strcspn(p, "\"");
		snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
	}
	return buf;
}

/* stderr lines other than the JSON timings; the first goes to first. */
static unsigned message_lines(const char *err, char *first, size_t len)
{
	unsigned n = 0;
	first[0] = '\0';
	for (const char *p = err; *p;) {
		size_t l = strcspn(p, "\n");
		if (l && *p != '{' && n++ == 0)
			snprintf(first, len, "%.*s", (int)l, p);
		p += l + (p[l] == '\n');
	}
	return n;
}

Test(panic, panicked_ends_the_vm_with_126)
{
	struct guest_opts o = {.image = FW_PVH, .cmdline = "test=panic", .timings_json = true};
	struct guest_result r;
	run(&o, &r);
	char line[256], reason[64];
	cr_expect(guest_line(r.out, "pvpanic events=", line, sizeof(line)) && !strcmp(line, "0x3"),
		  "the register should read PANICKED | CRASH_LOADED (0x3): %s", ctx(&r));
	cr_expect(guest_line(r.out, "panic now", line, sizeof(line)),
		  "the guest did not get to the write: %s", ctx(&r));
	cr_expect(!guest_line(r.out, "panic ignored", line, sizeof(line)),
		  "the guest ran on after PANICKED: %s", ctx(&r));
	cr_expect_eq(r.status, 126, "a guest panic must end minnow with 126: %s", ctx(&r));
	cr_expect_str_eq(exit_reason(r.err, reason, sizeof(reason)), "guest_crash", "%s", ctx(&r));
	cr_expect_eq(message_lines(r.err, line, sizeof(line)), 1,
		     "want one message line on stderr: %s", ctx(&r));
	cr_expect(strstr(line, "panicked") && strstr(line, "pvpanic"),
		  "the stderr line should say the guest panicked (pvpanic): %s", ctx(&r));
	guest_result_free(&r);
}

Test(panic, register_reads_events_and_ignores_the_rest)
{
	struct guest_opts o = {
	    .image = FW_PVH, .cmdline = "test=pvpanic-probe", .timings_json = true};
	struct guest_result r;
	run(&o, &r);
	char line[256], reason[64];
	cr_expect(guest_line(r.out, "pvpanic-probe ok events=", line, sizeof(line)) &&
		      !strcmp(line, "0x3"),
		  "want 'pvpanic-probe ok events=0x3': %s", ctx(&r));
	cr_expect_eq(r.status, 0, "CRASH_LOADED and stray accesses must not end the VM: %s",
		     ctx(&r));
	cr_expect_str_eq(exit_reason(r.err, reason, sizeof(reason)), "guest_exit", "%s", ctx(&r));
	cr_expect(strstr(r.err, "CRASH_LOADED") != NULL, "CRASH_LOADED should be logged: %s",
		  ctx(&r));
	guest_result_free(&r);
}

Test(panic, off_removes_the_device)
{
	static const char *const sets[] = {"vm.pvpanic=off", NULL};
	struct guest_opts o = {
	    .image = FW_PVH, .cmdline = "test=panic", .sets = sets, .timings_json = true};
	struct guest_result r;
	run(&o, &r);
	char line[256], reason[64];
	cr_expect(guest_line(r.out, "pvpanic events=", line, sizeof(line)) && !strcmp(line, "0xff"),
		  "without the device the address is unclaimed (all-ones): %s", ctx(&r));
	cr_expect(guest_line(r.out, "panic ignored", line, sizeof(line)),
		  "the write should have been dropped: %s", ctx(&r));
	cr_expect_eq(r.status, 1, "the scenario's own failure status: %s", ctx(&r));
	cr_expect_str_eq(exit_reason(r.err, reason, sizeof(reason)), "guest_exit", "%s", ctx(&r));
	guest_result_free(&r);
}
