/* test_pvpanic.c - the pvpanic register: reads give the supported events,
 * only a 1-byte PANICKED write at the register ends the VM, once. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "bus.h"
#include "platform.h"
#include "pvpanic.h"
#include "test_util.h"

static unsigned panics;
static struct pvpanic dev;

static void on_panicked(void *opaque)
{
	cr_assert_eq(opaque, &dev);
	panics++;
}

static void setup(void)
{
	panics = 0;
	struct pvpanic_hooks hooks = {on_panicked, &dev};
	pvpanic_init(&dev, &hooks);
}

TestSuite(pvpanic, .init = setup);

static void wr(uint64_t offset, uint64_t value, unsigned len)
{
	mmio_wr(&pvpanic_mmio_ops, &dev, offset, value, len);
}

static uint64_t rd(uint64_t offset, unsigned len)
{
	return mmio_rd(&pvpanic_mmio_ops, &dev, offset, len);
}

Test(pvpanic, read_gives_the_supported_events)
{
	cr_assert_eq(rd(PVPANIC_REG_EVENTS, 1), PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	cr_assert_eq(PVPANIC_EVENTS, 0x03, "bits 0 and 1, as Linux's uapi/misc/pvpanic.h");
	/* Reading has no side effect. */
	cr_assert_eq(rd(PVPANIC_REG_EVENTS, 1), PVPANIC_EVENTS);
	cr_assert_eq(panics, 0);
}

Test(pvpanic, other_reads_are_all_ones)
{
	cr_assert_eq(rd(1, 1), 0xff);
	cr_assert_eq(rd(PVPANIC_MMIO_SIZE - 1, 1), 0xff);
	cr_assert_eq(rd(PVPANIC_REG_EVENTS, 2), 0xffff);
	cr_assert_eq(rd(PVPANIC_REG_EVENTS, 4), 0xffffffffu);
	cr_assert_eq(rd(PVPANIC_REG_EVENTS, 8), UINT64_MAX);
	cr_assert_eq(rd(0x100, 4), 0xffffffffu);
}

Test(pvpanic, panicked_ends_the_vm)
{
	wr(PVPANIC_REG_EVENTS, PVPANIC_PANICKED, 1);
	cr_assert_eq(panics, 1);
}

Test(pvpanic, panicked_wins_over_crash_loaded_and_unknown_bits)
{
	wr(PVPANIC_REG_EVENTS, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED, 1);
	cr_assert_eq(panics, 1);
	setup();
	wr(PVPANIC_REG_EVENTS, 0xff, 1);
	cr_assert_eq(panics, 1);
}

Test(pvpanic, the_hook_runs_once)
{
	/* Every vCPU may panic at once; the VM ends one way. */
	for (int i = 0; i < 5; i++)
		wr(PVPANIC_REG_EVENTS, PVPANIC_PANICKED, 1);
	cr_assert_eq(panics, 1);
}

Test(pvpanic, crash_loaded_lets_the_vm_go_on)
{
	for (int i = 0; i < 20; i++)
		wr(PVPANIC_REG_EVENTS, PVPANIC_CRASH_LOADED, 1);
	cr_assert_eq(panics, 0);
	/* ... and a real panic afterwards still counts. */
	wr(PVPANIC_REG_EVENTS, PVPANIC_PANICKED, 1);
	cr_assert_eq(panics, 1);
}

Test(pvpanic, other_values_are_ignored)
{
	wr(PVPANIC_REG_EVENTS, 0, 1);
	for (unsigned v = 0; v < 256; v++)
		if (!(v & PVPANIC_PANICKED))
			wr(PVPANIC_REG_EVENTS, v, 1);
	cr_assert_eq(panics, 0);
}

Test(pvpanic, panicked_at_the_wrong_size_or_offset_is_ignored)
{
	wr(PVPANIC_REG_EVENTS, PVPANIC_PANICKED, 2);
	wr(PVPANIC_REG_EVENTS, PVPANIC_PANICKED, 4);
	wr(PVPANIC_REG_EVENTS, PVPANIC_PANICKED, 8);
	wr(1, PVPANIC_PANICKED, 1);
	wr(4, PVPANIC_PANICKED, 4);
	wr(PVPANIC_MMIO_SIZE - 1, PVPANIC_PANICKED, 1);
	cr_assert_eq(panics, 0);
	cr_assert_eq(rd(PVPANIC_REG_EVENTS, 1), PVPANIC_EVENTS, "still answers");
}

Test(pvpanic, missing_hook_is_harmless)
{
	struct pvpanic_hooks none = {NULL, NULL};
	pvpanic_init(&dev, &none);
	wr(PVPANIC_REG_EVENTS, PVPANIC_PANICKED, 1);
	cr_assert_eq(panics, 0);
}

Test(pvpanic, on_the_bus_at_its_platform_address)
{
	struct bus bus;
	bus_init(&bus);
	cr_assert_eq(bus_register(&bus, PVPANIC_MMIO_BASE, PVPANIC_MMIO_SIZE, &pvpanic_mmio_ops,
				  &dev, "pvpanic"),
		     0);
	uint8_t b = 0;
	cr_assert_eq(bus_read(&bus, PVPANIC_MMIO_BASE + PVPANIC_REG_EVENTS, &b, 1), 0);
	cr_assert_eq(b, PVPANIC_EVENTS);
	b = PVPANIC_PANICKED;
	cr_assert_eq(bus_write(&bus, PVPANIC_MMIO_BASE + PVPANIC_REG_EVENTS, &b, 1), 0);
	cr_assert_eq(panics, 1);
	cr_assert_eq(PVPANIC_MMIO_BASE % 0x1000, 0, "page-aligned, as ACPI _CRS and ioremap like");
}
