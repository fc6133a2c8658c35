/* test_mptable.c - the MP spec 1.4 table for acpi = off, read back from a fake guest RAM. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "acpi.h"
#include "guest_mem.h"
#include "mptable.h"
#include "platform.h"
#include "test_util.h"
#include "virtio_driver.h"

static void setup(void)
{
	ram_map(64ULL << 20);
}

TestSuite(mptable, .init = setup, .fini = ram_unmap);

/* Builds and walks the table, checking every entry against `c`. */
static void check(const struct acpi_config *c)
{
	cr_assert_eq(mptable_build(&guest_ram, c), 0);
	const struct mp_floating *f = guest_ptr(&guest_ram, MPTABLE_ADDR, sizeof(*f));
	cr_assert_not_null(f);
	cr_assert_eq(memcmp(f->signature, "_MP_", 4), 0);
	cr_assert_eq(f->length, 1);
	cr_assert_eq(f->spec_rev, 4);
	cr_assert_eq(byte_sum(f, 16), 0, "floating pointer checksum");
	cr_assert_eq(f->feature[0], 0, "a configuration table is present");
	cr_assert_eq(f->config, MPTABLE_ADDR + 16);

	const struct mp_config *h = guest_ptr(&guest_ram, f->config, sizeof(*h));
	cr_assert_not_null(h);
	cr_assert_eq(memcmp(h->signature, "PCMP", 4), 0);
	cr_assert_eq(h->spec_rev, 4);
	cr_assert_leq(f->config + h->length, MPTABLE_ADDR + MPTABLE_SIZE);
	cr_assert_eq(16 + h->length, mptable_size(c));
	cr_assert_eq(byte_sum(h, h->length), 0, "configuration table checksum");
	cr_assert_eq(h->lapic_address, LAPIC_MMIO_BASE);
	cr_assert_eq(h->ext_length, 0);
	unsigned irqs = c->n_virtio + (c->uart ? 1 : 0);
	cr_assert_eq(h->entry_count, c->n_vcpus + 1 + 1 + irqs + 2);

	const uint8_t *p = (const uint8_t *)h + sizeof(*h);
	const uint8_t *end = (const uint8_t *)h + h->length;
	unsigned cpus = 0, buses = 0, ioapics = 0, io_ints = 0, lints = 0, bsps = 0;
	for (unsigned i = 0; i < h->entry_count; i++) {
		cr_assert_lt(p, end);
		if (p[0] == MP_ENTRY_PROCESSOR) {
			struct mp_processor e;
			memcpy(&e, p, sizeof(e));
			cr_assert_eq(e.apic_id, cpus);
			cr_assert(e.flags & MP_CPU_ENABLED);
			cr_assert_neq(e.apic_version, 0);
			if (e.flags & MP_CPU_BSP) {
				cr_assert_eq(e.apic_id, 0, "BSP flag only on CPU 0");
				bsps++;
			}
			cpus++;
			p += sizeof(e);
		} else if (p[0] == MP_ENTRY_BUS) {
			struct mp_bus e;
			memcpy(&e, p, sizeof(e));
			cr_assert_eq(memcmp(e.bus_type, "ISA   ", 6), 0);
			cr_assert_eq(e.bus_id, 0);
			buses++;
			p += sizeof(e);
		} else if (p[0] == MP_ENTRY_IOAPIC) {
			struct mp_ioapic e;
			memcpy(&e, p, sizeof(e));
			cr_assert_eq(e.address, IOAPIC_MMIO_BASE);
			cr_assert(e.flags & MP_IOAPIC_ENABLED);
			cr_assert_eq(e.apic_id, 0);
			ioapics++;
			p += sizeof(e);
		} else if (p[0] == MP_ENTRY_IO_INT) {
			struct mp_interrupt e;
			memcpy(&e, p, sizeof(e));
			cr_assert_eq(e.int_type, MP_INT);
			cr_assert_eq(e.src_irq, e.dest_pin, "ISA IRQ n is pin n");
			cr_assert_eq(e.dest_apic, 0);
			if (c->uart && io_ints == 0) {
				cr_assert_eq(e.dest_pin, UART_GSI);
				cr_assert_eq(e.flags, MP_IRQ_LEVEL | MP_IRQ_ACTIVE_HIGH);
			} else {
				unsigned v = io_ints - (c->uart ? 1 : 0);
				cr_assert_eq(e.dest_pin, c->virtio[v].gsi);
				cr_assert_eq(e.flags, MP_IRQ_EDGE | MP_IRQ_ACTIVE_HIGH);
			}
			io_ints++;
			p += sizeof(e);
		} else if (p[0] == MP_ENTRY_LOCAL_INT) {
			struct mp_interrupt e;
			memcpy(&e, p, sizeof(e));
			cr_assert_eq(e.dest_apic, 0xFF);
			cr_assert_eq(e.dest_pin, lints);
			cr_assert_eq(e.int_type, lints == 0 ? MP_EXTINT : MP_NMI);
			lints++;
			p += sizeof(e);
		} else {
			cr_assert_fail("unknown entry type %u", p[0]);
		}
	}
	cr_assert_eq(p, end, "entries fill the table exactly");
	cr_assert_eq(cpus, c->n_vcpus);
	cr_assert_eq(bsps, 1);
	cr_assert_eq(buses, 1);
	cr_assert_eq(ioapics, 1);
	cr_assert_eq(io_ints, irqs);
	cr_assert_eq(lints, 2);
}

Test(mptable, entries_for_each_config)
{
	static const unsigned vcpus[] = {1, 2, MPTABLE_MAX_VCPUS_ALL_SLOTS};
	static const unsigned virtio[] = {0, 1, VIRTIO_MMIO_SLOTS};
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++) {
			struct acpi_config c = test_acpi_config(vcpus[i], virtio[j], true);
			check(&c);
		}
	struct acpi_config c = test_acpi_config(4, 2, false);
	check(&c);
}

Test(mptable, stays_inside_its_area)
{
	struct acpi_config c =
	    test_acpi_config(MPTABLE_MAX_VCPUS_ALL_SLOTS, VIRTIO_MMIO_SLOTS, true);
	check(&c);
	cr_assert_leq(mptable_size(&c), MPTABLE_SIZE);
	ram_expect_zero(MPTABLE_ADDR - 0x400, 0x400, "below the MP table area");
	ram_expect_zero(MPTABLE_ADDR + MPTABLE_SIZE, 0x400, "above the MP table area");
}

Test(mptable, too_big_or_bad_configs_are_refused)
{
	struct acpi_config c =
	    test_acpi_config(MPTABLE_MAX_VCPUS_ALL_SLOTS + 1, VIRTIO_MMIO_SLOTS, true);
	cr_assert_gt(mptable_size(&c), MPTABLE_SIZE);
	cr_assert_eq(mptable_build(&guest_ram, &c), -ENOSPC);
	c = test_acpi_config(64, VIRTIO_MMIO_SLOTS, true);
	cr_assert_eq(mptable_build(&guest_ram, &c), -ENOSPC);
	c = test_acpi_config(0, 1, true);
	cr_assert_eq(mptable_build(&guest_ram, &c), -EINVAL);
	c = test_acpi_config(256, 0, false);
	cr_assert_eq(mptable_build(&guest_ram, &c), -EINVAL);
	c = test_acpi_config(1, 1, true);
	c.virtio[0].gsi = IOAPIC_PINS;
	cr_assert_eq(mptable_build(&guest_ram, &c), -EINVAL);
	c = test_acpi_config(1, VIRTIO_MMIO_SLOTS, true);
	c.n_virtio = VIRTIO_MMIO_SLOTS + 1;
	cr_assert_eq(mptable_build(&guest_ram, &c), -EINVAL);
	ram_expect_zero(MPTABLE_ADDR, MPTABLE_SIZE, "nothing written on failure");
}

Test(mptable, fails_when_the_area_is_not_ram)
{
	ram_map(4096); /* one page of RAM, below the table's area */
	struct acpi_config c = test_acpi_config(1, 1, true);
	cr_assert_eq(mptable_build(&guest_ram, &c), -EFAULT);
}
