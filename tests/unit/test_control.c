/* test_control.c - the control device's registers: magic, version, marks. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "control.h"
#include "platform.h"
#include "timing.h"

static struct control ctl;

static void setup(void)
{
	struct control_hooks hooks = {0};
	timing_start();
	control_init(&ctl, &hooks);
}

TestSuite(control, .init = setup);

static void wr(uint64_t reg, uint32_t v)
{
	control_mmio_ops.write(&ctl, reg, &v, 4);
}

static uint32_t rd(uint64_t reg)
{
	uint32_t v;
	control_mmio_ops.read(&ctl, reg, &v, 4);
	return v;
}

Test(control, magic_and_version)
{
	cr_assert_eq(rd(CONTROL_REG_MAGIC), CONTROL_MAGIC);
	cr_assert_eq(rd(CONTROL_REG_VERSION), 2);
}

Test(control, marks_keep_their_first_time)
{
	cr_assert_eq(timing_get_guest_mark(CONTROL_MARK_INIT), UINT64_MAX);
	wr(CONTROL_REG_MARK, CONTROL_MARK_INIT);
	uint64_t t = timing_get_guest_mark(CONTROL_MARK_INIT);
	cr_assert_neq(t, UINT64_MAX);
	cr_assert_leq(t, timing_now_us());
	while (timing_now_us() == t)
		;
	wr(CONTROL_REG_MARK, CONTROL_MARK_INIT);
	cr_assert_eq(timing_get_guest_mark(CONTROL_MARK_INIT), t, "a second write moved it");
	wr(CONTROL_REG_MARK, 7);
	cr_assert_neq(timing_get_guest_mark(7), UINT64_MAX);
	cr_assert_eq(timing_get_guest_mark(CONTROL_MARK_COMMAND), UINT64_MAX);
}

Test(control, marks_out_of_range_are_ignored)
{
	wr(CONTROL_REG_MARK, 0);
	wr(CONTROL_REG_MARK, CONTROL_MARKS);
	wr(CONTROL_REG_MARK, 0xffffffffu);
	for (unsigned n = 0; n <= CONTROL_MARKS; n++)
		cr_assert_eq(timing_get_guest_mark(n), UINT64_MAX, "mark %u", n);
}

Test(control, timings_name_the_marks)
{
	wr(CONTROL_REG_MARK, CONTROL_MARK_COMMAND);
	wr(CONTROL_REG_MARK, 9);
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct run_report rep = {.exit_reason = "guest_exit"};
	timing_print(f, 1, &rep);
	fclose(f);
	cr_assert(strstr(buf, "\"guest_init_us\":null,\"guest_command_us\":"), "%s", buf);
	cr_assert(strstr(buf, "\"guest_mark_9_us\":"), "%s", buf);
	cr_assert_null(strstr(buf, "guest_mark_8_us"), "%s", buf);
}
