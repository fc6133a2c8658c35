/* test_bus.c - MMIO bus: overlap and wrap rejection, lookup, dispatch. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "bus.h"

static uint64_t last_offset;
static unsigned last_len;

static void rd(void *opaque, uint64_t offset, void *data, unsigned len)
{
	last_offset = offset;
	last_len = len;
	memset(data, (int)(uintptr_t)opaque, len);
}

static void wr(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	(void)opaque;
	(void)data;
	last_offset = offset;
	last_len = len;
}

static const struct mmio_ops ops = {rd, wr};

Test(bus, rejects_overlaps)
{
	struct bus b;
	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x1000, 0x1000, &ops, NULL, "a"), 0);
	cr_assert_eq(bus_register(&b, 0x1800, 0x100, &ops, NULL, "inside"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x0800, 0x1000, &ops, NULL, "front"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x1fff, 0x10, &ops, NULL, "tail"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x0, 0x10000, &ops, NULL, "around"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x2000, 0x1000, &ops, NULL, "adjacent"), 0);
	cr_assert_eq(bus_register(&b, 0x0, 0x1000, &ops, NULL, "adjacent below"), 0);
	cr_assert_eq(b.count, 3);
}

Test(bus, rejects_empty_and_wrapping)
{
	struct bus b;
	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x1000, 0, &ops, NULL, "empty"), -EINVAL);
	cr_assert_eq(bus_register(&b, UINT64_MAX - 0xff, 0x1000, &ops, NULL, "wrap"), -EINVAL);
	cr_assert_eq(bus_register(&b, UINT64_MAX - 0xfff, 0x1000, &ops, NULL, "to 2^64"), -EINVAL);
}

Test(bus, table_full)
{
	struct bus b;
	bus_init(&b);
	for (uint64_t i = 0; i < BUS_MAX_RANGES; i++)
		cr_assert_eq(bus_register(&b, i * 0x1000, 0x1000, &ops, NULL, "r"), 0);
	cr_assert_eq(bus_register(&b, 0x100000, 0x1000, &ops, NULL, "one more"), -ENOSPC);
}

Test(bus, lookup_and_dispatch)
{
	struct bus b;
	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x3000, 0x100, &ops, (void *)0x33, "c"), 0);
	cr_assert_eq(bus_register(&b, 0x1000, 0x100, &ops, (void *)0x11, "a"), 0);
	cr_assert_eq(bus_register(&b, 0x2000, 0x100, &ops, (void *)0x22, "b"), 0);
	uint8_t buf[8];
	cr_assert_eq(bus_read(&b, 0x2010, buf, 4), 0);
	cr_assert_eq(buf[0], 0x22);
	cr_assert_eq(last_offset, 0x10);
	cr_assert_eq(last_len, 4);
	cr_assert_eq(bus_write(&b, 0x30fc, buf, 4), 0);
	cr_assert_eq(last_offset, 0xfc);
	/* An access running off the end of a range belongs to nobody. */
	cr_assert_null(bus_find(&b, 0x30fe, 4));
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(bus_read(&b, 0x30fe, buf, 4), -1);
	cr_assert_eq(buf[0], 0xff, "unclaimed reads see all-ones");
	cr_assert_eq(bus_read(&b, 0x5000, buf, 8), -1);
	cr_assert_eq(bus_write(&b, 0x0, buf, 1), -1);
	cr_assert_null(bus_find(&b, UINT64_MAX, 8));
}

/* Each dispatched access counts against its own range, reads apart from writes;
 * an access no range holds counts nowhere. */
Test(bus, counts_accesses_per_range)
{
	struct bus b;
	bus_init(&b);
	cr_assert_eq(bus_register(&b, 0x2000, 0x100, &ops, NULL, "b"), 0);
	cr_assert_eq(bus_register(&b, 0x1000, 0x100, &ops, NULL, "a"), 0);
	uint8_t buf[8] = {0};
	for (int i = 0; i < 3; i++)
		bus_read(&b, 0x2004, buf, 4);
	bus_write(&b, 0x2000, buf, 1);
	bus_write(&b, 0x1000, buf, 8);
	bus_read(&b, 0x3000, buf, 4);
	bus_write(&b, 0x10fe, buf, 4);
	uint64_t r, w;
	bus_counts(&b, 0, &r, &w); /* "a", the lower address */
	cr_assert_eq(r, 0);
	cr_assert_eq(w, 1);
	bus_counts(&b, 1, &r, &w);
	cr_assert_eq(r, 3);
	cr_assert_eq(w, 1);
}
