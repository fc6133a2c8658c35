/* test_ioapic.c - the userspace IOAPIC: register file, MSI translation,
 * level-triggered remote IRR and EOI, edge latching while masked. */
#include <criterion/criterion.h>
#include <string.h>

#include "ioapic.h"

static void wr32(struct ioapic *io, uint64_t off, uint32_t v)
{
	ioapic_mmio_ops.write(io, off, &v, 4);
}

static uint32_t rd32(struct ioapic *io, uint64_t off)
{
	uint32_t v;
	ioapic_mmio_ops.read(io, off, &v, 4);
	return v;
}

static void set_rte(struct ioapic *io, unsigned pin, uint64_t rte)
{
	wr32(io, IOAPIC_MMIO_SELECT, IOAPIC_REG_REDIR + 2 * pin + 1);
	wr32(io, IOAPIC_MMIO_WINDOW, (uint32_t)(rte >> 32));
	wr32(io, IOAPIC_MMIO_SELECT, IOAPIC_REG_REDIR + 2 * pin);
	wr32(io, IOAPIC_MMIO_WINDOW, (uint32_t)rte);
}

static uint64_t get_rte(struct ioapic *io, unsigned pin)
{
	wr32(io, IOAPIC_MMIO_SELECT, IOAPIC_REG_REDIR + 2 * pin);
	uint64_t lo = rd32(io, IOAPIC_MMIO_WINDOW);
	wr32(io, IOAPIC_MMIO_SELECT, IOAPIC_REG_REDIR + 2 * pin + 1);
	return lo | ((uint64_t)rd32(io, IOAPIC_MMIO_WINDOW) << 32);
}

Test(ioapic, version_and_reset_state)
{
	struct ioapic io;
	ioapic_init(&io, -1);
	wr32(&io, IOAPIC_MMIO_SELECT, IOAPIC_REG_VERSION);
	uint32_t v = rd32(&io, IOAPIC_MMIO_WINDOW);
	cr_assert_eq(v & 0xff, 0x11);
	cr_assert_eq((v >> 16) & 0xff, IOAPIC_PINS - 1);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		cr_assert(get_rte(&io, pin) & IOAPIC_RTE_MASKED);
}

Test(ioapic, msi_translation)
{
	uint32_t addr, data;
	ioapic_rte_to_msi((3ULL << 56) | 0x41, &addr, &data);
	cr_assert_eq(addr, 0xfee03000u);
	cr_assert_eq(data & 0xff, 0x41);
	cr_assert_eq(data & (1u << 15), 0, "edge");
	ioapic_rte_to_msi(IOAPIC_RTE_LEVEL | (1ULL << 11) | 0x30, &addr, &data);
	cr_assert_eq(addr & (1u << 2), 1u << 2, "logical destination");
	cr_assert_eq(data & (1u << 15), 1u << 15, "level");
}

Test(ioapic, level_line_remote_irr_and_eoi)
{
	struct ioapic io;
	ioapic_init(&io, -1);
	set_rte(&io, 4, IOAPIC_RTE_LEVEL | 0x24);
	ioapic_set_level(&io, 4, true);
	cr_assert_eq(io.delivered, 1);
	cr_assert(get_rte(&io, 4) & IOAPIC_RTE_REMOTE_IRR);
	/* Still asserted: no second delivery until EOI. */
	ioapic_set_level(&io, 4, true);
	cr_assert_eq(io.delivered, 1);
	ioapic_eoi(&io, 0x24);
	cr_assert_eq(io.delivered, 2, "line still high: delivered again after EOI");
	ioapic_set_level(&io, 4, false);
	ioapic_eoi(&io, 0x24);
	cr_assert_eq(io.delivered, 2);
	cr_assert_eq(get_rte(&io, 4) & IOAPIC_RTE_REMOTE_IRR, 0);
}

Test(ioapic, masked_level_line_delivered_on_unmask)
{
	struct ioapic io;
	ioapic_init(&io, -1);
	set_rte(&io, 5, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x30);
	ioapic_set_level(&io, 5, true);
	cr_assert_eq(io.delivered, 0);
	set_rte(&io, 5, IOAPIC_RTE_LEVEL | 0x30);
	cr_assert_eq(io.delivered, 1);
}

Test(ioapic, edge_latched_while_masked)
{
	struct ioapic io;
	ioapic_init(&io, -1);
	set_rte(&io, 6, IOAPIC_RTE_MASKED | 0x31);
	ioapic_set_level(&io, 6, true);
	ioapic_set_level(&io, 6, false);
	cr_assert_eq(io.delivered, 0);
	set_rte(&io, 6, 0x31);
	cr_assert_eq(io.delivered, 1);
	set_rte(&io, 6, IOAPIC_RTE_MASKED | 0x31);
	set_rte(&io, 6, 0x31);
	cr_assert_eq(io.delivered, 1, "an edge is delivered once");
}

static int resampled;
static void resample(void *opaque)
{
	(void)opaque;
	resampled++;
}

Test(ioapic, resample_hook_on_unmask_and_route_updates)
{
	struct ioapic io;
	ioapic_init(&io, -1);
	ioapic_set_resample(&io, 7, resample, NULL);
	uint64_t before = io.route_updates;
	set_rte(&io, 7, 0x40);
	cr_assert_eq(resampled, 1);
	cr_assert_gt(io.route_updates, before);
	set_rte(&io, 7, 0x40);
	cr_assert_eq(resampled, 1, "no unmask transition");
}

/* KVM_SET_GSI_ROUTING is rebuilt only when a route changes: not for writes
 * to a masked entry, not for a rewrite of the same value, not for the
 * half-written entry Linux leaves masked while it programs the other half. */
Test(ioapic, routes_rebuilt_only_when_a_route_changes)
{
	struct ioapic io;
	ioapic_init(&io, -1);
	uint64_t n = io.route_updates;
	set_rte(&io, 3, IOAPIC_RTE_MASKED | 0x30);
	set_rte(&io, 3, IOAPIC_RTE_MASKED | 0x31 | (1ULL << 56));
	cr_expect_eq(io.route_updates, n, "masked entries have no route");
	set_rte(&io, 3, 0x31 | (1ULL << 56));
	cr_expect_eq(io.route_updates, n + 1, "unmasking makes a route");
	set_rte(&io, 3, 0x31 | (1ULL << 56));
	cr_expect_eq(io.route_updates, n + 1, "the same entry again");
	set_rte(&io, 3, 0x32 | (1ULL << 56));
	cr_expect_eq(io.route_updates, n + 2, "a new vector (the unchanged high half: none)");
	set_rte(&io, 3, IOAPIC_RTE_MASKED | 0x32 | (1ULL << 56));
	cr_expect_eq(io.route_updates, n + 3, "masking removes the route");
}

Test(ioapic, read_only_bits_and_bad_accesses)
{
	struct ioapic io;
	ioapic_init(&io, -1);
	set_rte(&io, 2, IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS | 0x20);
	cr_assert_eq(get_rte(&io, 2) & (IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS), 0);
	/* Out-of-range register select and wrong-size accesses are harmless. */
	wr32(&io, IOAPIC_MMIO_SELECT, 0xff);
	cr_assert_eq(rd32(&io, IOAPIC_MMIO_WINDOW), 0xffffffffu);
	wr32(&io, IOAPIC_MMIO_WINDOW, 0x12345678);
	uint8_t b = 0;
	ioapic_mmio_ops.read(&io, 0, &b, 1);
	cr_assert_eq(b, 0xff);
	ioapic_mmio_ops.write(&io, 0x10, &b, 1);
	ioapic_set_level(&io, 200, true);
	ioapic_eoi(&io, 0x99);
}
