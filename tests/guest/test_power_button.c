/* test_power_button.c - the Generic Event Device's power button seen from a
 * guest: minnow-testhooks presses it (MINNOW_TEST_POWER_BUTTON_MS, N ms
 * after boot complete) and test=power-button takes the edge on GED_GSI,
 * finds the power-button bit and acknowledges it (the register reads 0
 * afterwards); without a press nothing arrives; without ACPI there is no
 * device. (The register semantics: tests/unit/test_ged.c; Linux powering
 * off on the button: tests/linux/l1-part.sh, power-button.) */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define BUTTON_ENV "MINNOW_TEST_POWER_BUTTON_MS"

/* Skips without /dev/kvm; fails when minnow-testhooks was not built. */
static const char *testhooks(void)
{
	harness_require_kvm();
	const char *t = harness_minnow_testhooks();
	cr_assert(access(t, X_OK) == 0, "%s: %s (make build/minnow-testhooks)", t, strerror(errno));
	return t;
}

static bool exit_reason_is(const struct guest_result *r, const char *want)
{
	char buf[64];
	return guest_json(r->err, "exit_reason", buf, sizeof(buf)) && !strcmp(buf, want);
}

/* Runs test=power-button (cmdline `cmdline`) under `minnow` with the press
 * `ms` after boot complete (NULL: no press) and `sets`. */
static void run(const char *minnow, const char *ms, const char *cmdline, const char *const *sets,
		struct guest_result *r)
{
	if (ms)
		setenv(BUTTON_ENV, ms, 1);
	else
		unsetenv(BUTTON_ENV);
	struct guest_opts o = {.image = FW_PVH,
			       .cmdline = cmdline,
			       .minnow = minnow,
			       .sets = sets,
			       .timings = TIMINGS_JSON};
	guest_run_ok(&o, r);
	unsetenv(BUTTON_ENV);
}

static void expect_pressed(struct guest_result *r)
{
	char line[256];
	cr_expect(guest_has_line(r, "power-button ready"), "no ready line: %s", guest_ctx(r));
	cr_expect(guest_line(r->out, "power-button pressed ", line, sizeof(line)) &&
		      !strcmp(line, "events=0x1 irqs=1 after-ack=0x0"),
		  "want 'power-button pressed events=0x1 irqs=1 after-ack=0x0': %s", guest_ctx(r));
	cr_expect_eq(r->status, 0, "the guest's own status 0 (FW_EXIT_OK): %s", guest_ctx(r));
	cr_expect(exit_reason_is(r, "guest_exit"), "want exit_reason guest_exit: %s", guest_ctx(r));
	cr_expect(strstr(r->err, "test hook: pressing the power button") != NULL,
		  "minnow-testhooks should say it pressed: %s", guest_ctx(r));
}

Test(power_button, a_press_after_boot_reaches_the_guest)
{
	struct guest_result r;
	run(testhooks(), "300", "test=power-button wait_ms=20000", NULL, &r);
	expect_pressed(&r);
	guest_result_free(&r);
}

/* The guest keeps its IOAPIC pin masked for 500 ms after boot complete and
 * the press comes at once (within the hook's 10 ms poll): the edge waits in
 * the pin and arrives at the unmask, once. (The press may even come before
 * the guest's first read of the register; that read then shows it.) */
Test(power_button, an_early_press_waits_for_the_unmask)
{
	struct guest_result r;
	run(testhooks(), "0", "test=power-button wait_ms=20000 route_after_ms=500", NULL, &r);
	expect_pressed(&r);
	guest_result_free(&r);
}

Test(power_button, without_a_press_nothing_arrives)
{
	harness_require_kvm();
	struct guest_result r;
	run(harness_minnow(), NULL, "test=power-button wait_ms=300", NULL, &r);
	cr_expect(guest_has_line(&r, "power-button ready"), "no ready line: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "power-button: no interrupt within 300 ms (events=0x0)"),
		  "want the scenario's timeout line: %s", guest_ctx(&r));
	cr_expect_eq(r.status, 1, "the scenario's failure status: %s", guest_ctx(&r));
	cr_expect(strstr(r.err, "power button") == NULL, "no press without the hook: %s",
		  guest_ctx(&r));
	guest_result_free(&r);
}

/* The GED exists only with ACPI (only the DSDT describes it): its page is
 * unclaimed, so the register reads all-ones; and the hook refuses. */
Test(power_button, no_device_without_acpi)
{
	static const char *const sets[] = {"vm.acpi=off", NULL};
	harness_require_kvm();
	struct guest_result r;
	run(harness_minnow(), NULL, "test=power-button wait_ms=300", sets, &r);
	cr_expect(guest_has_line(&r, "power-button: events=0xffffffff before any press"),
		  "want the unclaimed register: %s", guest_ctx(&r));
	cr_expect_eq(r.status, 1, "the scenario's failure status: %s", guest_ctx(&r));
	guest_result_free(&r);

	setenv(BUTTON_ENV, "100", 1);
	struct guest_opts o = {.image = FW_PVH,
			       .cmdline = "test=power-button wait_ms=300",
			       .minnow = testhooks(),
			       .sets = sets,
			       .timings = TIMINGS_JSON};
	struct guest_result h;
	cr_assert_eq(guest_run(&o, &h), 0, "%s", h.desc);
	unsetenv(BUTTON_ENV);
	cr_expect_eq(h.status, 1, "a hook that cannot work is a host failure: %s", guest_ctx(&h));
	cr_expect(strstr(h.err, "no power button without ACPI") != NULL, "and says why: %s",
		  guest_ctx(&h));
	guest_result_free(&h);
}

Test(power_button, bad_hook_value_is_refused)
{
	setenv(BUTTON_ENV, "soon", 1);
	struct guest_opts o = {.image = FW_PVH,
			       .cmdline = "test=power-button wait_ms=300",
			       .minnow = testhooks(),
			       .timings = TIMINGS_JSON};
	struct guest_result r;
	cr_assert_eq(guest_run(&o, &r), 0, "%s", r.desc);
	unsetenv(BUTTON_ENV);
	cr_expect_eq(r.status, 1, "%s", guest_ctx(&r));
	cr_expect(strstr(r.err, BUTTON_ENV "=soon: want milliseconds") != NULL, "%s",
		  guest_ctx(&r));
	guest_result_free(&r);
}
