/* mptable.h - the Intel MultiProcessor Specification 1.4 table minnow writes
 * for guests booted with [vm] acpi = off: CPUs, the IOAPIC and the
 * interrupt lines of the UART and the virtio-mmio slots. */
#ifndef MINNOW_MPTABLE_H
#define MINNOW_MPTABLE_H

#include <stdint.h>

#include "acpi.h"
#include "guest_mem.h"

/* Writes the MP floating pointer at MPTABLE_ADDR (where Linux scans: the
 * last KiB of base memory) and the configuration table right after it,
 * all inside [MPTABLE_ADDR, MPTABLE_ADDR + MPTABLE_SIZE):
 *   one processor entry per vCPU (APIC ID = index, BSP = 0), one ISA bus,
 *   the IOAPIC (ID 0), one I/O interrupt entry per used GSI (UART level,
 *   virtio edge, both active-high, ISA IRQ n -> pin n), ExtINT on LINT0
 *   and NMI on LINT1 of every local APIC.
 * Returns 0; -EINVAL for a config it cannot describe (no vCPU, a vCPU ID
 * above 254, too many virtio devices, a GSI outside the IOAPIC); -ENOSPC
 * when the table does not fit MPTABLE_SIZE (with every GSI in use that is
 * above MPTABLE_MAX_VCPUS_ALL_SLOTS vCPUs); -EFAULT when the range is not
 * guest RAM. */
int mptable_build(const struct guest_mem *mem, const struct acpi_config *cfg);

/* Bytes the floating pointer and configuration table need for `cfg`. */
uint64_t mptable_size(const struct acpi_config *cfg);

/* vCPUs that fit with the UART and all VIRTIO_MMIO_SLOTS devices. */
#define MPTABLE_MAX_VCPUS_ALL_SLOTS 38

/* ---- Layouts (MP spec 1.4 chapter 4) ------------------------------------- */

#define MP_SPEC_REV 4 /* 1.4 */

enum {
	MP_ENTRY_PROCESSOR = 0,
	MP_ENTRY_BUS = 1,
	MP_ENTRY_IOAPIC = 2,
	MP_ENTRY_IO_INT = 3,
	MP_ENTRY_LOCAL_INT = 4,
};

enum { MP_INT = 0, MP_NMI = 1, MP_SMI = 2, MP_EXTINT = 3 };

#define MP_CPU_ENABLED	  0x01
#define MP_CPU_BSP	  0x02
#define MP_IOAPIC_ENABLED 0x01
/* I/O interrupt flags: polarity bits 0-1, trigger mode bits 2-3. */
#define MP_IRQ_ACTIVE_HIGH 0x1
#define MP_IRQ_EDGE	   (0x1 << 2)
#define MP_IRQ_LEVEL	   (0x3 << 2)

struct mp_floating {
	char signature[4];  /* "_MP_" */
	uint32_t config;    /* physical address of the configuration table */
	uint8_t length;	    /* in 16-byte units: 1 */
	uint8_t spec_rev;   /* MP_SPEC_REV */
	uint8_t checksum;   /* all 16 bytes */
	uint8_t feature[5]; /* 0: a configuration table is present; virtual wire mode */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* header plus entries */
	uint8_t spec_rev;
	uint8_t checksum; /* the `length` bytes */
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_address;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_config) == 44, "MP configuration table header");

struct mp_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry");

struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6]; /* "ISA   " */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry");

struct mp_ioapic {
	uint8_t type;
	uint8_t apic_id;
	uint8_t version;
	uint8_t flags;
	uint32_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry");

/* I/O (type 3) and local (type 4) interrupt assignments share a layout:
 * dest_apic is the IOAPIC ID or the local APIC ID (0xFF: all), dest_pin
 * the IOAPIC INTIN# or the LINTIN#. */
struct mp_interrupt {
	uint8_t type;
	uint8_t int_type;
	uint16_t flags;
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dest_apic;
	uint8_t dest_pin;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_interrupt) == 8, "MP interrupt entry");

#endif
