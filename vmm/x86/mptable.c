/* mptable.c - writing the MP spec 1.4 floating pointer and configuration table. */
#include "mptable.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "platform.h"

#define MP_LAPIC_VERSION  0x14 /* integrated xAPIC */
#define MP_IOAPIC_VERSION 0x11 /* what the userspace IOAPIC reports */
#define MP_IOAPIC_ID	  0
#define MP_ISA_BUS	  0
#define MP_ALL_LAPICS	  0xFF
#define MP_MAX_APIC_ID	  254
#define MP_CPU_SIGNATURE  0x600 /* family 6; informational only */
#define MP_CPU_FEATURES	  0x201 /* FPU, APIC */

/* Entries written besides processors and I/O interrupts: bus, IOAPIC,
 * two local interrupts. */
#define FIXED_BYTES                                                                                \
	(sizeof(struct mp_floating) + sizeof(struct mp_config) + sizeof(struct mp_bus) +           \
	 sizeof(struct mp_ioapic) + 2 * sizeof(struct mp_interrupt))

_Static_assert(FIXED_BYTES + MPTABLE_MAX_VCPUS_ALL_SLOTS * sizeof(struct mp_processor) +
		       (1 + VIRTIO_MMIO_SLOTS) * sizeof(struct mp_interrupt) <=
		   MPTABLE_SIZE,
	       "MPTABLE_MAX_VCPUS_ALL_SLOTS fits");
_Static_assert(FIXED_BYTES + (MPTABLE_MAX_VCPUS_ALL_SLOTS + 1) * sizeof(struct mp_processor) +
		       (1 + VIRTIO_MMIO_SLOTS) * sizeof(struct mp_interrupt) >
		   MPTABLE_SIZE,
	       "MPTABLE_MAX_VCPUS_ALL_SLOTS is the largest that fits");
_Static_assert(MPTABLE_ADDR % 16 == 0 && MPTABLE_ADDR + MPTABLE_SIZE <= 0x100000000ULL,
	       "MP table placement");

uint64_t mptable_size(const struct acpi_config *cfg)
{
	uint64_t irqs = (uint64_t)cfg->n_virtio + (cfg->uart ? 1 : 0);
	return FIXED_BYTES + (uint64_t)cfg->n_vcpus * sizeof(struct mp_processor) +
	       irqs * sizeof(struct mp_interrupt);
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0u - sum);
}

/* The configuration table under construction, in host memory. */
struct builder {
	uint8_t buf[MPTABLE_SIZE];
	size_t len;
	uint16_t count;
};

static void add(struct builder *b, const void *entry, size_t size)
{
	/* mptable_size() was checked against MPTABLE_SIZE before building. */
	memcpy(b->buf + b->len, entry, size);
	b->len += size;
	b->count++;
}

static void add_interrupt(struct builder *b, uint8_t type, uint8_t int_type, uint16_t flags,
			  uint8_t src_irq, uint8_t dest_apic, uint8_t dest_pin)
{
	struct mp_interrupt e = {
	    .type = type,
	    .int_type = int_type,
	    .flags = flags,
	    .src_bus = MP_ISA_BUS,
	    .src_irq = src_irq,
	    .dest_apic = dest_apic,
	    .dest_pin = dest_pin,
	};
	add(b, &e, sizeof(e));
}

static void add_entries(struct builder *b, const struct acpi_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_vcpus; i++) {
		struct mp_processor p = {
		    .type = MP_ENTRY_PROCESSOR,
		    .apic_id = (uint8_t)i,
		    .apic_version = MP_LAPIC_VERSION,
		    .flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
		    .signature = MP_CPU_SIGNATURE,
		    .features = MP_CPU_FEATURES,
		};
		add(b, &p, sizeof(p));
	}
	struct mp_bus bus = {.type = MP_ENTRY_BUS, .bus_id = MP_ISA_BUS};
	memcpy(bus.bus_type, "ISA   ", 6);
	add(b, &bus, sizeof(bus));
	struct mp_ioapic io = {
	    .type = MP_ENTRY_IOAPIC,
	    .apic_id = MP_IOAPIC_ID,
	    .version = MP_IOAPIC_VERSION,
	    .flags = MP_IOAPIC_ENABLED,
	    .address = (uint32_t)IOAPIC_MMIO_BASE,
	};
	add(b, &io, sizeof(io));
	/* Trigger modes as in the DSDT: the UART drives a level line, virtio
	 * signals edges through irqfds. ISA IRQ n is IOAPIC pin n. */
	if (cfg->uart)
		add_interrupt(b, MP_ENTRY_IO_INT, MP_INT, MP_IRQ_LEVEL | MP_IRQ_ACTIVE_HIGH,
			      UART_GSI, MP_IOAPIC_ID, UART_GSI);
	for (unsigned i = 0; i < cfg->n_virtio; i++) {
		uint8_t gsi = (uint8_t)cfg->virtio[i].gsi;
		add_interrupt(b, MP_ENTRY_IO_INT, MP_INT, MP_IRQ_EDGE | MP_IRQ_ACTIVE_HIGH, gsi,
			      MP_IOAPIC_ID, gsi);
	}
	add_interrupt(b, MP_ENTRY_LOCAL_INT, MP_EXTINT, 0, 0, MP_ALL_LAPICS, 0);
	add_interrupt(b, MP_ENTRY_LOCAL_INT, MP_NMI, 0, 0, MP_ALL_LAPICS, 1);
}

int mptable_build(const struct guest_mem *mem, const struct acpi_config *cfg)
{
	if (cfg->n_vcpus == 0 || cfg->n_vcpus > MP_MAX_APIC_ID + 1 ||
	    cfg->n_virtio > VIRTIO_MMIO_SLOTS)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->n_virtio; i++)
		if (cfg->virtio[i].gsi >= IOAPIC_PINS)
			return -EINVAL;
	uint64_t size = mptable_size(cfg);
	if (size > MPTABLE_SIZE)
		return -ENOSPC;
	uint8_t *dst = guest_ptr(mem, MPTABLE_ADDR, size);
	if (!dst)
		return -EFAULT;

	struct builder b;
	memset(&b, 0, sizeof(b));
	struct mp_config hdr;
	memset(&hdr, 0, sizeof(hdr));
	b.len = sizeof(hdr); /* the header is filled in last */
	add_entries(&b, cfg);
	memcpy(hdr.signature, "PCMP", 4);
	hdr.length = (uint16_t)b.len;
	hdr.spec_rev = MP_SPEC_REV;
	memcpy(hdr.oem_id, "MINNOW  ", 8);
	memcpy(hdr.product_id, "MINNOWVM    ", 12);
	hdr.entry_count = b.count;
	hdr.lapic_address = (uint32_t)LAPIC_MMIO_BASE;
	memcpy(b.buf, &hdr, sizeof(hdr));
	b.buf[offsetof(struct mp_config, checksum)] = checksum(b.buf, b.len);

	struct mp_floating f;
	memset(&f, 0, sizeof(f));
	memcpy(f.signature, "_MP_", 4);
	f.config = (uint32_t)(MPTABLE_ADDR + sizeof(f));
	f.length = 1;
	f.spec_rev = MP_SPEC_REV;
	f.checksum = checksum((const uint8_t *)&f, sizeof(f));

	memcpy(dst, &f, sizeof(f));
	memcpy(dst + sizeof(f), b.buf, b.len);
	return 0;
}
