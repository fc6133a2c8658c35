/* test_pvpanic.c - a guest reporting a panic through the pvpanic register
 * (exit status 126, guest_crash), reading its supported events, and the
 * device gone with [vm] pvpanic = off. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

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

/* Whether --timings=json says exit_reason is `want`. */
static bool exit_reason_is(const struct guest_result *r, const char *want)
{
	char buf[64];
	return guest_json(r->err, "exit_reason", buf, sizeof(buf)) && !strcmp(buf, want);
}

Test(panic, panicked_ends_the_vm_with_126)
{
	struct guest_opts o = {.image = FW_PVH, .cmdline = "test=panic", .timings = TIMINGS_JSON};
	struct guest_result r;
	guest_run_ok(&o, &r);
	char line[256];
	cr_expect(guest_line(r.out, "pvpanic events=", line, sizeof(line)) && !strcmp(line, "0x3"),
		  "the register should read PANICKED | CRASH_LOADED (0x3): %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "panic now"), "the guest did not get to the write: %s",
		  guest_ctx(&r));
	cr_expect(!guest_has_line(&r, "panic ignored"), "the guest ran on after PANICKED: %s",
		  guest_ctx(&r));
	cr_expect_eq(r.status, 126, "a guest panic must end minnow with 126: %s", guest_ctx(&r));
	cr_expect(exit_reason_is(&r, "guest_crash"), "want exit_reason guest_crash: %s",
		  guest_ctx(&r));
	cr_expect_eq(message_lines(r.err, line, sizeof(line)), 1,
		     "want one message line on stderr: %s", guest_ctx(&r));
	cr_expect(strstr(line, "panicked") && strstr(line, "pvpanic"),
		  "the stderr line should say the guest panicked (pvpanic): %s", guest_ctx(&r));
	guest_result_free(&r);
}

Test(panic, register_reads_events_and_ignores_the_rest)
{
	struct guest_opts o = {
	    .image = FW_PVH, .cmdline = "test=pvpanic-probe", .timings = TIMINGS_JSON};
	struct guest_result r;
	guest_run_ok(&o, &r);
	char line[256];
	cr_expect(guest_line(r.out, "pvpanic-probe ok events=", line, sizeof(line)) &&
		      !strcmp(line, "0x3"),
		  "want 'pvpanic-probe ok events=0x3': %s", guest_ctx(&r));
	cr_expect_eq(r.status, 0, "CRASH_LOADED and stray accesses must not end the VM: %s",
		     guest_ctx(&r));
	cr_expect(exit_reason_is(&r, "guest_exit"), "want exit_reason guest_exit: %s",
		  guest_ctx(&r));
	cr_expect(strstr(r.err, "CRASH_LOADED") != NULL, "CRASH_LOADED should be logged: %s",
		  guest_ctx(&r));
	guest_result_free(&r);
}

Test(panic, off_removes_the_device)
{
	static const char *const sets[] = {"vm.pvpanic=off", NULL};
	struct guest_opts o = {
	    .image = FW_PVH, .cmdline = "test=panic", .sets = sets, .timings = TIMINGS_JSON};
	struct guest_result r;
	guest_run_ok(&o, &r);
	char line[256];
	cr_expect(guest_line(r.out, "pvpanic events=", line, sizeof(line)) && !strcmp(line, "0xff"),
		  "without the device the address is unclaimed (all-ones): %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "panic ignored"), "the write should have been dropped: %s",
		  guest_ctx(&r));
	cr_expect_eq(r.status, 1, "the scenario's own failure status: %s", guest_ctx(&r));
	cr_expect(exit_reason_is(&r, "guest_exit"), "want exit_reason guest_exit: %s",
		  guest_ctx(&r));
	guest_result_free(&r);
}
