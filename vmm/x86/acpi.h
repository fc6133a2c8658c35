/* acpi.h - the ACPI tables minnow generates for a hardware-reduced (ACPI 6.5)
 * guest: RSDP, XSDT, FADT, MADT, DSDT and SPCR, built from the VM's devices.
 * The table layouts are here so that tests can read them back. */
#ifndef MINNOW_ACPI_H
#define MINNOW_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "platform.h"

/* What the tables describe (acpi_build) or what the MP table describes
 * (mptable_build). */
struct acpi_config {
	unsigned n_vcpus; /* 1.., local APIC IDs 0..n_vcpus-1 */
	struct {
		uint64_t base; /* MMIO base of the slot (4 KiB, below 4 GiB) */
		unsigned gsi;  /* IOAPIC pin, < IOAPIC_PINS */
	} virtio[VIRTIO_MMIO_SLOTS];
	unsigned n_virtio; /* entries used in virtio[], <= VIRTIO_MMIO_SLOTS */
	bool uart;	   /* the 16550 at UART_MMIO_BASE on UART_GSI */
	bool pvpanic;	   /* the pvpanic device at PVPANIC_MMIO_BASE (DSDT only) */
	bool ged;	   /* the GED at GED_MMIO_BASE on GED_GSI, and its power button */
	bool vmgenid;	   /* the VM generation ID at VMGENID_ADDR (notified via the GED) */
};

/* OEM identity written into every table. */
#define ACPI_OEM_ID	  "MINNOW"   /* 6 bytes */
#define ACPI_OEM_TABLE_ID "MINNOWVM" /* 8 bytes */
#define ACPI_CREATOR_ID	  "MNOW"     /* 4 bytes */

/* The VM generation ID device's _HID; its _CID is "VM_Gen_Counter". */
#define ACPI_VMGENID_HID "MNOW0001"

/* Writes the tables into guest RAM at [ACPI_TABLES_ADDR, ACPI_TABLES_ADDR +
 * ACPI_TABLES_SIZE), the RSDP first (16-byte aligned, so a legacy scan of
 * 0xE0000-0xFFFFF also finds it), and stores its address in *rsdp_out
 * (for boot_params.acpi_rsdp_addr / hvm_start_info.rsdp_paddr).
 * Returns 0; -EINVAL for a config it cannot describe (no vCPU, more than
 * VIRTIO_MMIO_SLOTS devices, a base above 4 GiB or unaligned, a GSI
 * outside the IOAPIC); -ENOSPC when the tables outgrow ACPI_TABLES_SIZE;
 * -EFAULT when that range is not guest RAM; -ENOMEM. Every write goes
 * through guest_ptr(); on failure the area may hold partial tables. */
int acpi_build(const struct guest_mem *mem, const struct acpi_config *cfg, gpa_t *rsdp_out);

/* ---- Table layouts (ACPI 6.5 chapter 5) ---------------------------------- */

#define ACPI_FADT_REVISION	 6
#define ACPI_FADT_MINOR_REVISION 5
#define ACPI_MADT_REVISION	 5
#define ACPI_SPCR_REVISION	 2
#define ACPI_DSDT_REVISION	 2 /* 64-bit AML integers */
#define ACPI_XSDT_REVISION	 1

/* FADT Flags and IA-PC boot architecture flags used by minnow. */
#define ACPI_FADT_RESET_REG_SUP	  (1u << 10)
#define ACPI_FADT_HW_REDUCED_ACPI (1u << 20)
#define ACPI_IAPC_LEGACY_DEVICES  (1u << 0)
#define ACPI_IAPC_8042		  (1u << 1)
#define ACPI_IAPC_NO_VGA	  (1u << 2)
#define ACPI_IAPC_NO_MSI	  (1u << 3)
#define ACPI_IAPC_NO_CMOS_RTC	  (1u << 5)

/* MADT */
#define ACPI_MADT_PCAT_COMPAT  (1u << 0)
#define ACPI_MADT_TYPE_LAPIC   0
#define ACPI_MADT_TYPE_IOAPIC  1
#define ACPI_MADT_TYPE_X2APIC  9
#define ACPI_MADT_ENABLED      (1u << 0)
#define ACPI_MADT_MAX_XAPIC_ID 254 /* larger IDs need x2APIC entries */

/* Generic Address Structure */
#define ACPI_GAS_SYSTEM_MEMORY 0
#define ACPI_GAS_ACCESS_BYTE   1

#define ACPI_SPCR_INTERFACE_16550 0 /* full 16550 (DBG2 subtype 0) */
#define ACPI_SPCR_IRQ_IOAPIC	  (1u << 1)
#define ACPI_SPCR_BAUD_115200	  7

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* first 20 bytes */
	char oem_id[6];
	uint8_t revision; /* 2 */
	uint32_t rsdt_address;
	uint32_t length; /* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

struct acpi_sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header");

struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");

struct acpi_fadt {
	struct acpi_sdt_header hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (ACPI 6.x)");

struct acpi_madt {
	struct acpi_sdt_header hdr;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");

struct acpi_madt_lapic {
	uint8_t type; /* ACPI_MADT_TYPE_LAPIC */
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC");

struct acpi_madt_x2apic {
	uint8_t type; /* ACPI_MADT_TYPE_X2APIC */
	uint8_t length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t processor_uid;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_x2apic) == 16, "MADT x2APIC");

struct acpi_madt_ioapic {
	uint8_t type; /* ACPI_MADT_TYPE_IOAPIC */
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC");

struct acpi_spcr {
	struct acpi_sdt_header hdr;
	uint8_t interface_type;
	uint8_t reserved0[3];
	struct acpi_gas base_address;
	uint8_t interrupt_type;
	uint8_t pc_irq;
	uint32_t gsi;
	uint8_t baud_rate;
	uint8_t parity;
	uint8_t stop_bits;
	uint8_t flow_control;
	uint8_t terminal_type;
	uint8_t language;
	uint16_t pci_device_id;
	uint16_t pci_vendor_id;
	uint8_t pci_bus;
	uint8_t pci_device;
	uint8_t pci_function;
	uint32_t pci_flags;
	uint8_t pci_segment;
	uint32_t reserved1;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_spcr) == 80, "SPCR rev 2");

/* The byte that makes `len` bytes at `p` sum to zero, given that the
 * checksum byte among them is zero. */
uint8_t acpi_checksum(const void *p, uint64_t len);

#endif
