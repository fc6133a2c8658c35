/* platform.h - the guest platform minnow presents: every fixed address, size
 * and interrupt line in one place. Pure #defines so that the firmware and the
 * unit tests can include it too. Overlaps are rejected at compile time below. */
#ifndef MINNOW_PLATFORM_H
#define MINNOW_PLATFORM_H

/* ---- Guest RAM ----------------------------------------------------------
 * RAM starts at guest physical 0. The part that does not fit below
 * MMIO_GAP_START continues at 4 GiB. */
#define MMIO_GAP_START 0xC0000000ULL  /* 3 GiB: start of the MMIO hole */
#define MMIO_GAP_END   0x100000000ULL /* 4 GiB: RAM resumes here */
#define HIGH_RAM_START MMIO_GAP_END

/* Low-memory e820 layout: [0, EBDA_START) usable, [EBDA_START, 1 MiB)
 * reserved (holds the ACPI tables, the MP table and the VM generation ID),
 * usable again from 1 MiB. */
#define EBDA_START	  0x9F000ULL
#define HIGH_MEMORY_START 0x100000ULL /* 1 MiB */

/* Smallest and largest guest RAM accepted by the config. */
#define GUEST_MEM_MIN (16ULL << 20)
#define GUEST_MEM_MAX (1ULL << 40)

/* ---- Boot structures written by the VMM (all below EBDA_START) ---------- */
#define BOOT_GDT_ADDR	    0x1000ULL /* GDT: null, code32, code64, data */
#define BOOT_GDT_SIZE	    0x20ULL
#define BOOT_PVH_INFO_ADDR  0x2000ULL /* hvm_start_info + modlist + memmap */
#define BOOT_PVH_INFO_SIZE  0x1000ULL
#define BOOT_ZERO_PAGE_ADDR 0x3000ULL /* struct boot_params (Linux zero page) */
#define BOOT_ZERO_PAGE_SIZE 0x1000ULL
#define BOOT_PML4_ADDR	    0x4000ULL /* identity map of the low 4 GiB */
#define BOOT_PDPT_ADDR	    0x5000ULL
#define BOOT_PD_ADDR	    0x6000ULL /* four page directories, 2 MiB pages */
#define BOOT_PD_SIZE	    0x4000ULL
#define BOOT_CMDLINE_ADDR   0x20000ULL /* kernel command line, NUL-terminated */
#define BOOT_CMDLINE_MAX    0x10000ULL /* 64 KiB including the NUL */

/* GDT selectors as laid out at BOOT_GDT_ADDR (Linux's __BOOT_CS/__BOOT_DS
 * are 0x10/0x18 for the 64-bit boot protocol). */
#define BOOT_SEL_CODE32 0x08
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_DATA	0x18

/* ACPI tables (RSDP must lie in 0xE0000-0xFFFFF for a legacy scan). */
#define ACPI_TABLES_ADDR 0xE0000ULL
#define ACPI_TABLES_SIZE 0x20000ULL /* up to 1 MiB */
#define MPTABLE_ADDR	 0x9FC00ULL /* MP floating pointer + table */
#define MPTABLE_SIZE	 0x400ULL

/* VM Generation ID (Microsoft's "Virtual Machine Generation ID" spec;
 * Linux's vmgenid driver): a 16-byte random ID in reserved low memory,
 * 8-byte aligned, inside one page. The DSDT's \_SB.VGEN.ADDR gives its
 * address; minnow writes an ID when it builds the VM and a new one at every
 * restore, then raises GED_EVENT_VMGENID. With [vm] acpi = on only. */
#define VMGENID_ADDR 0x9F000ULL
#define VMGENID_SIZE 16ULL

/* Where a kernel that is not relocatable is loaded (bzImage protocol). */
#define KERNEL_DEFAULT_ADDR HIGH_MEMORY_START

/* ---- MMIO devices (inside the gap) --------------------------------------- */
#define UART_MMIO_BASE	  0xD0000000ULL /* 16550, one byte per register */
#define UART_MMIO_SIZE	  0x1000ULL
#define CONTROL_MMIO_BASE 0xD0001000ULL /* minnow control device */
#define CONTROL_MMIO_SIZE 0x1000ULL
#define ACPI_MMIO_BASE	  0xD0002000ULL /* ACPI sleep/reset registers */
#define ACPI_MMIO_SIZE	  0x1000ULL
/* ACPI power-management registers (offsets from ACPI_MMIO_BASE), 8 bits
 * each, 1-byte accesses; the FADT points at them:
 *   SLEEP_CTL (w)  ACPI 6 sleep control: SLP_TYP bits 2-4, SLP_EN bit 5;
 *                  SLP_EN with SLP_TYP == ACPI_SLP_TYP_S5 powers off
 *   SLEEP_STS (rw) sleep status: WAK_STS bit 7, write 1 to clear
 *   RESET     (w)  writing ACPI_RESET_VALUE resets the VM (minnow ends) */
#define ACPI_REG_SLEEP_CTL 0x00
#define ACPI_REG_SLEEP_STS 0x01
#define ACPI_REG_RESET	   0x02
#define ACPI_RESET_VALUE   0x06
#define ACPI_SLP_TYP_S5	   5

/* pvpanic (ACPI _HID QEMU0001, Linux's pvpanic-mmio driver): one 8-bit
 * register at offset PVPANIC_REG_EVENTS, 1-byte accesses. Reading it gives
 * the events minnow supports; writing reports one. PANICKED ends the VM
 * (exit status 126, guest_crash); CRASH_LOADED (the guest panicked and
 * runs its kdump kernel) is logged and the VM goes on. Bit meanings as in
 * QEMU's docs/specs/pvpanic.rst and Linux's uapi/misc/pvpanic.h (bit 2,
 * QEMU's SHUTDOWN, is not offered). Present unless [vm] pvpanic = off;
 * only the DSDT describes it, so with acpi = off a guest cannot find it. */
#define PVPANIC_MMIO_BASE    0xD0003000ULL
#define PVPANIC_MMIO_SIZE    0x1000ULL
#define PVPANIC_REG_EVENTS   0x00
#define PVPANIC_PANICKED     (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)
#define PVPANIC_EVENTS	     (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

/* Generic Event Device (ACPI 6.5 section 5.6.9, _HID ACPI0013): how minnow
 * signals events to a hardware-reduced guest, today the power button. One
 * 32-bit register at offset GED_REG_EVENTS, 4-byte accesses: reading gives
 * the pending events, writing 1s acknowledges (clears) those bits. A new
 * event raises an edge on GED_GSI. The DSDT's GED0._EVT reads and
 * acknowledges the register and notifies the power button device (PWRB,
 * PNP0C0C) for GED_EVENT_POWER_BUTTON, and the VM Generation ID device
 * (VGEN) for GED_EVENT_VMGENID (its ID changed: a restore). Present
 * whenever ACPI is on. */
#define GED_MMIO_BASE	       0xD0004000ULL
#define GED_MMIO_SIZE	       0x1000ULL
#define GED_REG_EVENTS	       0x00
#define GED_EVENT_POWER_BUTTON (1u << 0)
#define GED_EVENT_VMGENID      (1u << 1)
#define GED_EVENTS	       (GED_EVENT_POWER_BUTTON | GED_EVENT_VMGENID)

#define VIRTIO_MMIO_BASE   0xD0010000ULL /* first virtio-mmio slot */
#define VIRTIO_MMIO_STRIDE 0x1000ULL	 /* one 4 KiB page per slot */
#define VIRTIO_MMIO_SLOTS  19		 /* GSIs VIRTIO_GSI_BASE..23 */
/* KVM memslot of slot 0's register page (read-only: reads without exits);
 * slot N's is this + N. Guest RAM uses memslots 0 and 1. */
#define VIRTIO_MMIO_MEMSLOT_BASE 16

#define IOAPIC_MMIO_BASE 0xFEC00000ULL
#define IOAPIC_MMIO_SIZE 0x1000ULL
#define LAPIC_MMIO_BASE	 0xFEE00000ULL
#define LAPIC_MMIO_SIZE	 0x1000ULL

/* ---- Interrupts (IOAPIC pins == GSIs) ------------------------------------ */
#define IOAPIC_PINS	24
#define GED_GSI		3 /* not 0 or 2: Linux's ACPI ignores those GSIs */
#define UART_GSI	4
#define VIRTIO_GSI_BASE 5

/* ---- Control device registers (offsets from CONTROL_MMIO_BASE) ----------
 * All registers are 32 bits wide and take 4-byte accesses.
 *   MAGIC       (r)  reads CONTROL_MAGIC
 *   VERSION     (r)  reads CONTROL_VERSION
 *   BOOT_DONE   (w)  any value: the guest has booted; minnow timestamps the
 *                    first write (later writes are ignored)
 *   EXIT        (w)  end the VM; minnow exits with (value & 0xff)
 *   TIME_US     (r)  microseconds since minnow started, low 32 bits
 *   MARK        (w)  the guest reached mark N (1 .. CONTROL_MARKS - 1);
 *                    minnow timestamps the first write of each N. Named
 *                    marks: CONTROL_MARK_INIT (the guest's own code starts:
 *                    Linux's init, a unikernel's main) and
 *                    CONTROL_MARK_COMMAND (its workload starts). Version 2.
 */
#define CONTROL_REG_MAGIC     0x00
#define CONTROL_REG_VERSION   0x04
#define CONTROL_REG_BOOT_DONE 0x08
#define CONTROL_REG_EXIT      0x0C
#define CONTROL_REG_TIME_US   0x10
#define CONTROL_REG_MARK      0x14
#define CONTROL_MAGIC	      0x574F4E4DU /* "MNOW" in little-endian bytes */
#define CONTROL_VERSION	      2U
#define CONTROL_MARKS	      16U
#define CONTROL_MARK_INIT     1U
#define CONTROL_MARK_COMMAND  2U

/* ---- Compile-time overlap checks ---------------------------------------- */
#define PLATFORM_DISJOINT(a, as, b, bs) ((a) + (as) <= (b) || (b) + (bs) <= (a))
#ifndef __ASSEMBLER__
_Static_assert(PLATFORM_DISJOINT(BOOT_GDT_ADDR, BOOT_GDT_SIZE, BOOT_PVH_INFO_ADDR,
				 BOOT_PVH_INFO_SIZE),
	       "gdt/pvh");
_Static_assert(BOOT_PVH_INFO_ADDR + BOOT_PVH_INFO_SIZE <= BOOT_ZERO_PAGE_ADDR, "pvh/zero page");
_Static_assert(BOOT_ZERO_PAGE_ADDR + BOOT_ZERO_PAGE_SIZE <= BOOT_PML4_ADDR, "zero page/pml4");
_Static_assert(BOOT_PML4_ADDR + 0x1000 <= BOOT_PDPT_ADDR, "pml4/pdpt");
_Static_assert(BOOT_PDPT_ADDR + 0x1000 <= BOOT_PD_ADDR, "pdpt/pd");
_Static_assert(BOOT_PD_ADDR + BOOT_PD_SIZE <= BOOT_CMDLINE_ADDR, "pd/cmdline");
_Static_assert(BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX <= MPTABLE_ADDR, "cmdline/mptable");
_Static_assert(MPTABLE_ADDR >= EBDA_START && MPTABLE_ADDR + MPTABLE_SIZE <= ACPI_TABLES_ADDR,
	       "mptable");
_Static_assert(ACPI_TABLES_ADDR + ACPI_TABLES_SIZE <= HIGH_MEMORY_START, "acpi below 1 MiB");
_Static_assert(VMGENID_ADDR >= EBDA_START && VMGENID_ADDR + VMGENID_SIZE <= MPTABLE_ADDR,
	       "vmgenid in the reserved area, below the mptable");
_Static_assert(VMGENID_ADDR % 8 == 0 &&
		   VMGENID_ADDR / 0x1000 == (VMGENID_ADDR + VMGENID_SIZE - 1) / 0x1000,
	       "vmgenid 8-byte aligned, inside one page");
_Static_assert(UART_MMIO_BASE >= MMIO_GAP_START, "uart in gap");
_Static_assert(UART_MMIO_BASE + UART_MMIO_SIZE <= CONTROL_MMIO_BASE, "uart/control");
_Static_assert(CONTROL_MMIO_BASE + CONTROL_MMIO_SIZE <= ACPI_MMIO_BASE, "control/acpi");
_Static_assert(ACPI_MMIO_BASE + ACPI_MMIO_SIZE <= PVPANIC_MMIO_BASE, "acpi/pvpanic");
_Static_assert(PVPANIC_MMIO_BASE + PVPANIC_MMIO_SIZE <= GED_MMIO_BASE, "pvpanic/ged");
_Static_assert(GED_MMIO_BASE + GED_MMIO_SIZE <= VIRTIO_MMIO_BASE, "ged/virtio");
_Static_assert(VIRTIO_MMIO_BASE + VIRTIO_MMIO_SLOTS * VIRTIO_MMIO_STRIDE <= IOAPIC_MMIO_BASE,
	       "virtio/ioapic");
_Static_assert(IOAPIC_MMIO_BASE + IOAPIC_MMIO_SIZE <= LAPIC_MMIO_BASE, "ioapic/lapic");
_Static_assert(LAPIC_MMIO_BASE + LAPIC_MMIO_SIZE <= MMIO_GAP_END, "lapic in gap");
_Static_assert(VIRTIO_GSI_BASE + VIRTIO_MMIO_SLOTS == IOAPIC_PINS, "gsis");
_Static_assert(UART_GSI < VIRTIO_GSI_BASE, "uart gsi");
_Static_assert(GED_GSI != UART_GSI && GED_GSI < VIRTIO_GSI_BASE, "ged gsi");
#endif

#endif
