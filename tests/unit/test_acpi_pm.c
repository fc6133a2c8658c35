/* test_acpi_pm.c - the ACPI sleep/reset registers: hooks fire only on the right writes. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "acpi_pm.h"
#include "platform.h"
#include "test_util.h"

static unsigned poweroffs, resets;
static struct acpi_pm pm;

static void on_poweroff(void *opaque)
{
	cr_assert_eq(opaque, &pm);
	poweroffs++;
}

static void on_reset(void *opaque)
{
	cr_assert_eq(opaque, &pm);
	resets++;
}

static void setup(void)
{
	poweroffs = resets = 0;
	struct acpi_pm_hooks hooks = {on_poweroff, on_reset, &pm};
	acpi_pm_init(&pm, &hooks);
}

TestSuite(acpi_pm, .init = setup);

static void wr(uint64_t offset, uint64_t value, unsigned len)
{
	mmio_wr(&acpi_pm_mmio_ops, &pm, offset, value, len);
}

static uint64_t rd(uint64_t offset, unsigned len)
{
	return mmio_rd(&acpi_pm_mmio_ops, &pm, offset, len);
}

#define SLP(type, en) (((type) << ACPI_SLP_TYP_SHIFT) | ((en) ? ACPI_SLP_EN : 0))

Test(acpi_pm, s5_with_slp_en_powers_off)
{
	wr(ACPI_REG_SLEEP_CTL, SLP(ACPI_SLP_TYP_S5, 1), 1);
	cr_assert_eq(poweroffs, 1);
	cr_assert_eq(resets, 0);
}

Test(acpi_pm, linux_sequence_powers_off)
{
	/* acpi_hw_extended_sleep(): clear WAK_STS, then SLP_TYP | SLP_EN. */
	wr(ACPI_REG_SLEEP_STS, ACPI_WAK_STS, 1);
	cr_assert_eq(poweroffs, 0);
	wr(ACPI_REG_SLEEP_CTL, (ACPI_SLP_TYP_S5 << 2) | 0x20, 1);
	cr_assert_eq(poweroffs, 1);
}

Test(acpi_pm, no_poweroff_without_slp_en_or_for_other_states)
{
	wr(ACPI_REG_SLEEP_CTL, SLP(ACPI_SLP_TYP_S5, 0), 1);
	for (unsigned type = 0; type < 8; type++)
		if (type != ACPI_SLP_TYP_S5)
			wr(ACPI_REG_SLEEP_CTL, SLP(type, 1), 1);
	cr_assert_eq(poweroffs, 0);
	cr_assert_eq(resets, 0);
	/* An unsupported sleep state wakes at once. */
	cr_assert_eq(rd(ACPI_REG_SLEEP_STS, 1) & 0xff, ACPI_WAK_STS);
	wr(ACPI_REG_SLEEP_STS, ACPI_WAK_STS, 1);
	cr_assert_eq(rd(ACPI_REG_SLEEP_STS, 1) & 0xff, 0);
}

Test(acpi_pm, s5_at_the_wrong_size_or_offset_is_ignored)
{
	uint8_t v = SLP(ACPI_SLP_TYP_S5, 1);
	wr(ACPI_REG_SLEEP_CTL, v, 2);
	wr(ACPI_REG_SLEEP_CTL, v, 4);
	wr(ACPI_REG_SLEEP_CTL, v, 8);
	wr(ACPI_REG_SLEEP_STS, v, 1);
	wr(ACPI_REG_RESET, v, 1);
	wr(0x10, v, 1);
	wr(ACPI_MMIO_SIZE - 1, v, 1);
	cr_assert_eq(poweroffs, 0);
	cr_assert_eq(resets, 0);
}

Test(acpi_pm, reset_value_resets)
{
	wr(ACPI_REG_RESET, ACPI_RESET_VALUE, 1);
	cr_assert_eq(resets, 1);
	cr_assert_eq(poweroffs, 0);
}

Test(acpi_pm, other_reset_writes_are_ignored)
{
	for (unsigned v = 0; v < 256; v++)
		if (v != ACPI_RESET_VALUE)
			wr(ACPI_REG_RESET, v, 1);
	wr(ACPI_REG_RESET, ACPI_RESET_VALUE, 2);
	wr(ACPI_REG_RESET, ACPI_RESET_VALUE, 4);
	wr(ACPI_REG_SLEEP_CTL, ACPI_RESET_VALUE, 1);
	wr(ACPI_REG_SLEEP_STS, ACPI_RESET_VALUE, 1);
	cr_assert_eq(resets, 0);
	cr_assert_eq(poweroffs, 0);
}

Test(acpi_pm, reads)
{
	cr_assert_eq(rd(ACPI_REG_SLEEP_CTL, 1), 0);
	cr_assert_eq(rd(ACPI_REG_SLEEP_STS, 1), 0);
	cr_assert_eq(rd(ACPI_REG_RESET, 1), 0);
	cr_assert_eq(rd(0x40, 1), 0xff);
	cr_assert_eq(rd(ACPI_REG_SLEEP_STS, 4), 0xffffffffu);
	cr_assert_eq(rd(ACPI_REG_SLEEP_CTL, 8), UINT64_MAX);
}

Test(acpi_pm, missing_hooks_are_harmless)
{
	struct acpi_pm_hooks none = {NULL, NULL, NULL};
	acpi_pm_init(&pm, &none);
	wr(ACPI_REG_SLEEP_CTL, SLP(ACPI_SLP_TYP_S5, 1), 1);
	wr(ACPI_REG_RESET, ACPI_RESET_VALUE, 1);
	cr_assert_eq(poweroffs + resets, 0);
}
