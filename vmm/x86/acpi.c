/* acpi.c - generating the hardware-reduced ACPI tables into guest RAM. */
#include "acpi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aml.h"

#define RSDP_SLOT	 64   /* bytes kept for the RSDP at ACPI_TABLES_ADDR */
#define TABLE_ALIGN	 16   /* every table starts on a paragraph */
#define UART_REG_SPAN	 8    /* the 16550 decodes 8 one-byte registers */
#define PVPANIC_REG_SPAN 1    /* pvpanic: one 8-bit register */
#define GED_REG_BITS	 32   /* GED: one 32-bit register */
#define NOTIFY_BUTTON	 0x80 /* Notify value of a control-method button: pressed */
#define NOTIFY_VMGENID	 0x80 /* Notify value of the VM generation ID: it changed */
#define MAX_XSDT_ENTRIES 4

/* _STA: present, enabled, shown in the UI, functioning. */
#define ACPI_STA_PRESENT 0x0F

_Static_assert(RSDP_SLOT >= sizeof(struct acpi_rsdp) && RSDP_SLOT % TABLE_ALIGN == 0, "rsdp slot");
_Static_assert(ACPI_TABLES_ADDR % TABLE_ALIGN == 0, "acpi tables aligned");
_Static_assert(UART_MMIO_BASE + UART_MMIO_SIZE <= 0x100000000ULL, "uart below 4 GiB");
_Static_assert(PVPANIC_MMIO_BASE + PVPANIC_MMIO_SIZE <= 0x100000000ULL, "pvpanic below 4 GiB");
_Static_assert(GED_EVENT_POWER_BUTTON == 1, "GED0._EVT tests bit 0");
_Static_assert(GED_EVENT_VMGENID == 2, "GED0._EVT tests bit 1");
_Static_assert(VMGENID_ADDR + VMGENID_SIZE <= 0x100000000ULL, "ADDR's high dword is 0 today");

/* The part of guest RAM the tables go into, filled from `next` upwards. */
struct area {
	const struct guest_mem *mem;
	gpa_t next;
	gpa_t end;
};

uint8_t acpi_checksum(const void *p, uint64_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (uint64_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0u - sum);
}

/* Copies a finished table to the next aligned address of the area. */
static int place(struct area *ar, const void *table, uint64_t len, gpa_t *at)
{
	gpa_t gpa = (ar->next + TABLE_ALIGN - 1) & ~(gpa_t)(TABLE_ALIGN - 1);
	if (gpa > ar->end || len > ar->end - gpa)
		return -ENOSPC;
	void *dst = guest_ptr(ar->mem, gpa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, table, len);
	ar->next = gpa + len;
	*at = gpa;
	return 0;
}

static void sdt_header(struct acpi_sdt_header *h, const char sig[4], uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Sets the length of the table at `table` and its checksum. */
static void sdt_finish(void *table, uint32_t len)
{
	struct acpi_sdt_header *h = table;
	h->length = len;
	h->checksum = 0;
	h->checksum = acpi_checksum(table, len);
}

/* A finished table held in an aml buffer: header patched, then placed. */
static int place_aml(struct area *ar, struct aml *t, gpa_t *at)
{
	if (t->failed)
		return -ENOMEM;
	if (t->len > ar->end - ar->next)
		return -ENOSPC;
	sdt_finish(t->data, (uint32_t)t->len);
	return place(ar, t->data, t->len, at);
}

static void resource_name(struct aml *a, struct aml *res)
{
	aml_name_decl(a, "_CRS");
	aml_resource_template(a, res);
}

static void dsdt_uart(struct aml *a)
{
	size_t dev = aml_device_begin(a, "COM0");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name_decl(a, "_UID");
	aml_integer(a, 0);
	struct aml res;
	aml_init(&res);
	aml_res_memory32_fixed(&res, true, (uint32_t)UART_MMIO_BASE, UART_REG_SPAN);
	/* Level, active-high: the UART holds its line up while any enabled
	 * cause is pending (as a 16550's INTR pin does) and the userspace
	 * IOAPIC implements level pins with Remote IRR and the EOI exit, so
	 * no interrupt is lost when a new cause arrives during the handler.
	 * ActiveHigh because the IOAPIC model does not invert pins. */
	aml_res_interrupt(&res, AML_LEVEL, AML_ACTIVE_HIGH, UART_GSI);
	resource_name(a, &res);
	aml_free(&res);
	aml_pkg_end(a, dev);
}

/* The pvpanic device as QEMU describes it (_HID QEMU0001), which Linux's
 * pvpanic-mmio driver binds to: the register alone as a 1-byte
 * Memory32Fixed, no interrupt. No RDPT/WRPT methods: Linux uses the
 * register directly. */
static void dsdt_pvpanic(struct aml *a)
{
	size_t dev = aml_device_begin(a, "PEVT");
	aml_name_decl(a, "_HID");
	aml_string(a, "QEMU0001");
	aml_name_decl(a, "_STA");
	aml_integer(a, ACPI_STA_PRESENT);
	struct aml res;
	aml_init(&res);
	aml_res_memory32_fixed(&res, true, (uint32_t)(PVPANIC_MMIO_BASE + PVPANIC_REG_EVENTS),
			       PVPANIC_REG_SPAN);
	resource_name(a, &res);
	aml_free(&res);
	aml_pkg_end(a, dev);
}

/* The Generic Event Device (ACPI 6.5 section 5.6.9) and the power button
 * it reports (close to what Cloud Hypervisor generates):
 *
 *   Device (GED0) {
 *     Name (_HID, "ACPI0013")
 *     Name (_UID, 0)
 *     Name (_CRS, ResourceTemplate () {
 *       Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { GED_GSI } })
 *     OperationRegion (GDST, SystemMemory, GED_MMIO_BASE + GED_REG_EVENTS, 4)
 *     Field (GDST, DWordAcc, NoLock, Preserve) { GDAT, 32 }
 *     Method (_EVT, 1, Serialized) {
 *       Local0 = GDAT                      // the pending events
 *       GDAT = Local0                      // acknowledge them (write 1 to clear)
 *       If (Local0 & 1) { Notify (\_SB.PWRB, 0x80) }
 *       If (Local0 & 2) { Notify (\_SB.VGEN, 0x80) }    // with the VM generation ID
 *     }
 *   }
 *   Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, 0) }
 *
 * Linux's evged driver requests the interrupt and runs _EVT(GSI) from its
 * handler thread; its button driver turns the Notify into KEY_POWER. Edge,
 * active-high: minnow pulses the line once per press (ged.c); an edge that
 * arrives while the guest still has the pin masked waits in the IOAPIC. */
static void ged_notify_if(struct aml *a, uint32_t bit, const char *path, uint8_t value)
{
	size_t cond = aml_if_begin(a);
	aml_and(a);
	aml_local(a, 0);
	aml_integer(a, bit);
	aml_no_target(a);
	aml_notify(a, path, value);
	aml_pkg_end(a, cond);
}

static void dsdt_ged(struct aml *a, bool vmgenid)
{
	size_t dev = aml_device_begin(a, "GED0");
	aml_name_decl(a, "_HID");
	aml_string(a, "ACPI0013");
	aml_name_decl(a, "_UID");
	aml_integer(a, 0);
	struct aml res;
	aml_init(&res);
	aml_res_interrupt(&res, AML_EDGE, AML_ACTIVE_HIGH, GED_GSI);
	resource_name(a, &res);
	aml_free(&res);
	aml_region_memory(a, "GDST", GED_MMIO_BASE + GED_REG_EVENTS, GED_REG_BITS / 8);
	size_t field = aml_field_begin(a, "GDST", AML_ACCESS_DWORD);
	aml_field_unit(a, "GDAT", GED_REG_BITS);
	aml_pkg_end(a, field);

	size_t method = aml_method_begin(a, "_EVT", 1, true);
	aml_store(a);
	aml_name_string(a, "GDAT");
	aml_local(a, 0);
	aml_store(a);
	aml_local(a, 0);
	aml_name_string(a, "GDAT");
	ged_notify_if(a, GED_EVENT_POWER_BUTTON, "\\_SB.PWRB", NOTIFY_BUTTON);
	if (vmgenid)
		ged_notify_if(a, GED_EVENT_VMGENID, "\\_SB.VGEN", NOTIFY_VMGENID);
	aml_pkg_end(a, method);
	aml_pkg_end(a, dev);

	dev = aml_device_begin(a, "PWRB");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0C0C");
	aml_name_decl(a, "_UID");
	aml_integer(a, 0);
	aml_pkg_end(a, dev);
}

/* The VM Generation ID device, described as QEMU does (Microsoft's
 * "Virtual Machine Generation ID" spec: a device whose _CID is
 * "VM_Gen_Counter" and whose ADDR method returns the ID's guest-physical
 * address as a Package of two DWords, low then high) but for its _HID:
 * QEMU's "QEMUVGID" is no valid ACPI ID (iasl refuses to compile it), and
 * drivers match the _CID anyway, so minnow's own "MNOW0001":
 *
 *   Device (VGEN) {
 *     Name (_HID, "MNOW0001")
 *     Name (_CID, "VM_Gen_Counter")
 *     Name (_DDN, "VM_Gen_Counter")
 *     Name (_STA, 0x0F)
 *     Method (ADDR, 0, NotSerialized) { Return (Package (2) { low, high }) }
 *   }
 *
 * Linux's vmgenid driver matches "VM_GEN_COUNTER": ACPICA upper-cases a
 * _CID string when it evaluates it. Windows matches the _CID too. A change
 * is notified with Notify (VGEN, 0x80) from GED0._EVT. */
static void dsdt_vmgenid(struct aml *a)
{
	size_t dev = aml_device_begin(a, "VGEN");
	aml_name_decl(a, "_HID");
	aml_string(a, ACPI_VMGENID_HID);
	aml_name_decl(a, "_CID");
	aml_string(a, "VM_Gen_Counter");
	aml_name_decl(a, "_DDN");
	aml_string(a, "VM_Gen_Counter");
	aml_name_decl(a, "_STA");
	aml_integer(a, ACPI_STA_PRESENT);
	size_t method = aml_method_begin(a, "ADDR", 0, false);
	aml_return(a);
	size_t pkg = aml_package_begin(a, 2);
	aml_integer(a, VMGENID_ADDR & 0xFFFFFFFFu);
	aml_integer(a, VMGENID_ADDR >> 32);
	aml_pkg_end(a, pkg);
	aml_pkg_end(a, method);
	aml_pkg_end(a, dev);
}

static void dsdt_virtio(struct aml *a, unsigned uid, uint64_t base, unsigned gsi)
{
	char name[8];
	snprintf(name, sizeof(name), "VR%02u", uid % 100);
	size_t dev = aml_device_begin(a, name);
	aml_name_decl(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name_decl(a, "_UID");
	aml_integer(a, uid);
	struct aml res;
	aml_init(&res);
	aml_res_memory32_fixed(&res, true, (uint32_t)base, (uint32_t)VIRTIO_MMIO_STRIDE);
	/* Edge, active-high: minnow's virtio-mmio transport signals through
	 * a KVM irqfd without a resample fd, i.e. one message per event and
	 * no line that stays asserted until the driver acknowledges it.
	 * Edge makes Linux program the IOAPIC pin (hence the MSI route) edge
	 * too, so no EOI exit per interrupt. Linux's vm_interrupt() reads
	 * and acknowledges InterruptStatus in one pass; an event raised
	 * during the handler is a new message that the LAPIC latches in IRR,
	 * so nothing is lost. (Firecracker makes the same choice.) */
	aml_res_interrupt(&res, AML_EDGE, AML_ACTIVE_HIGH, gsi);
	resource_name(a, &res);
	aml_free(&res);
	aml_pkg_end(a, dev);
}

static int build_dsdt(struct area *ar, const struct acpi_config *cfg, gpa_t *at)
{
	struct aml a;
	aml_init(&a);
	struct acpi_sdt_header h;
	memset(&h, 0, sizeof(h));
	sdt_header(&h, "DSDT", ACPI_DSDT_REVISION);
	aml_bytes(&a, &h, sizeof(h));

	size_t sb = aml_scope_begin(&a, "\\_SB");
	if (cfg->uart)
		dsdt_uart(&a);
	if (cfg->pvpanic)
		dsdt_pvpanic(&a);
	if (cfg->ged)
		dsdt_ged(&a, cfg->vmgenid);
	if (cfg->vmgenid)
		dsdt_vmgenid(&a);
	for (unsigned i = 0; i < cfg->n_virtio; i++)
		dsdt_virtio(&a, i, cfg->virtio[i].base, cfg->virtio[i].gsi);
	aml_pkg_end(&a, sb);

	/* \_S5: SLP_TYPa = ACPI_SLP_TYP_S5 (what the PM device's sleep
	 * control register recognises), SLP_TYPb unused. */
	aml_name_decl(&a, "\\_S5");
	size_t pkg = aml_package_begin(&a, 2);
	aml_integer(&a, ACPI_SLP_TYP_S5);
	aml_integer(&a, 0);
	aml_pkg_end(&a, pkg);

	int r = place_aml(ar, &a, at);
	aml_free(&a);
	return r;
}

static struct acpi_gas pm_register(unsigned offset)
{
	return (struct acpi_gas){
	    .space_id = ACPI_GAS_SYSTEM_MEMORY,
	    .bit_width = 8,
	    .bit_offset = 0,
	    .access_size = ACPI_GAS_ACCESS_BYTE,
	    .address = ACPI_MMIO_BASE + offset,
	};
}

static int build_fadt(struct area *ar, gpa_t dsdt, gpa_t *at)
{
	struct acpi_fadt f;
	memset(&f, 0, sizeof(f));
	sdt_header(&f.hdr, "FACP", ACPI_FADT_REVISION);
	f.minor_revision = ACPI_FADT_MINOR_REVISION;
	/* No FACS: allowed in hardware-reduced mode (no global lock, no
	 * waking vector). No SCI, PM1, GPE or PM timer blocks either. */
	f.dsdt = (uint32_t)dsdt;
	f.x_dsdt = dsdt;
	f.flags = ACPI_FADT_HW_REDUCED_ACPI | ACPI_FADT_RESET_REG_SUP;
	/* No ISA legacy devices, no 8042, no VGA, no CMOS RTC; MSI allowed. */
	f.iapc_boot_arch = ACPI_IAPC_NO_VGA | ACPI_IAPC_NO_CMOS_RTC;
	f.reset_reg = pm_register(ACPI_REG_RESET);
	f.reset_value = ACPI_RESET_VALUE;
	f.sleep_control_reg = pm_register(ACPI_REG_SLEEP_CTL);
	f.sleep_status_reg = pm_register(ACPI_REG_SLEEP_STS);
	memcpy(f.hypervisor_vendor_id, "MINNOW\0\0", 8);
	sdt_finish(&f, sizeof(f));
	return place(ar, &f, sizeof(f), at);
}

static int build_madt(struct area *ar, const struct acpi_config *cfg, gpa_t *at)
{
	struct aml t;
	aml_init(&t);
	struct acpi_madt m;
	memset(&m, 0, sizeof(m));
	sdt_header(&m.hdr, "APIC", ACPI_MADT_REVISION);
	m.lapic_address = (uint32_t)LAPIC_MMIO_BASE;
	m.flags = 0; /* no PCAT_COMPAT: there is no 8259 */
	aml_bytes(&t, &m, sizeof(m));
	for (unsigned i = 0; i < cfg->n_vcpus; i++) {
		/* The local APIC ID of vCPU i is i (KVM's default). */
		if (i <= ACPI_MADT_MAX_XAPIC_ID) {
			struct acpi_madt_lapic e = {
			    .type = ACPI_MADT_TYPE_LAPIC,
			    .length = sizeof(e),
			    .processor_uid = (uint8_t)i,
			    .apic_id = (uint8_t)i,
			    .flags = ACPI_MADT_ENABLED,
			};
			aml_bytes(&t, &e, sizeof(e));
		} else {
			struct acpi_madt_x2apic e = {
			    .type = ACPI_MADT_TYPE_X2APIC,
			    .length = sizeof(e),
			    .x2apic_id = i,
			    .flags = ACPI_MADT_ENABLED,
			    .processor_uid = i,
			};
			aml_bytes(&t, &e, sizeof(e));
		}
	}
	struct acpi_madt_ioapic io = {
	    .type = ACPI_MADT_TYPE_IOAPIC,
	    .length = sizeof(io),
	    .ioapic_id = 0,
	    .address = (uint32_t)IOAPIC_MMIO_BASE,
	    .gsi_base = 0,
	};
	aml_bytes(&t, &io, sizeof(io));
	/* No interrupt source overrides: devices name GSIs directly and
	 * describe their own trigger mode in _CRS. */
	int r = place_aml(ar, &t, at);
	aml_free(&t);
	return r;
}

static int build_spcr(struct area *ar, gpa_t *at)
{
	struct acpi_spcr s;
	memset(&s, 0, sizeof(s));
	sdt_header(&s.hdr, "SPCR", ACPI_SPCR_REVISION);
	s.interface_type = ACPI_SPCR_INTERFACE_16550;
	s.base_address = (struct acpi_gas){
	    .space_id = ACPI_GAS_SYSTEM_MEMORY,
	    .bit_width = 8,
	    .access_size = ACPI_GAS_ACCESS_BYTE,
	    .address = UART_MMIO_BASE,
	};
	s.interrupt_type = ACPI_SPCR_IRQ_IOAPIC;
	s.gsi = UART_GSI;
	/* 115200 rather than 0 ("as is"), which older SPCR parsers reject;
	 * the emulated UART ignores the divisor anyway. */
	s.baud_rate = ACPI_SPCR_BAUD_115200;
	s.stop_bits = 1;
	s.pci_device_id = 0xFFFF; /* not a PCI device */
	s.pci_vendor_id = 0xFFFF;
	sdt_finish(&s, sizeof(s));
	return place(ar, &s, sizeof(s), at);
}

static int build_xsdt(struct area *ar, const uint64_t *entries, unsigned n, gpa_t *at)
{
	uint8_t buf[sizeof(struct acpi_sdt_header) + MAX_XSDT_ENTRIES * 8];
	struct acpi_sdt_header h;
	memset(&h, 0, sizeof(h));
	sdt_header(&h, "XSDT", ACPI_XSDT_REVISION);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), entries, n * sizeof(uint64_t));
	uint32_t len = (uint32_t)(sizeof(h) + n * sizeof(uint64_t));
	sdt_finish(buf, len);
	return place(ar, buf, len, at);
}

static int write_rsdp(const struct guest_mem *mem, gpa_t xsdt, gpa_t *at)
{
	struct acpi_rsdp r;
	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.revision = 2;
	r.rsdt_address = 0; /* XSDT only */
	r.length = sizeof(r);
	r.xsdt_address = xsdt;
	r.checksum = acpi_checksum(&r, 20);
	r.extended_checksum = acpi_checksum(&r, sizeof(r));
	void *dst = guest_ptr(mem, ACPI_TABLES_ADDR, sizeof(r));
	if (!dst)
		return -EFAULT;
	memcpy(dst, &r, sizeof(r));
	*at = ACPI_TABLES_ADDR;
	return 0;
}

static int check_config(const struct acpi_config *cfg)
{
	if (cfg->n_vcpus == 0 || cfg->n_virtio > VIRTIO_MMIO_SLOTS)
		return -EINVAL;
	if (cfg->n_vcpus > ACPI_TABLES_SIZE / sizeof(struct acpi_madt_lapic))
		return -ENOSPC; /* the MADT alone would not fit */
	for (unsigned i = 0; i < cfg->n_virtio; i++) {
		uint64_t base = cfg->virtio[i].base;
		if (base % VIRTIO_MMIO_STRIDE || base > 0x100000000ULL - VIRTIO_MMIO_STRIDE ||
		    cfg->virtio[i].gsi >= IOAPIC_PINS)
			return -EINVAL;
	}
	return 0;
}

int acpi_build(const struct guest_mem *mem, const struct acpi_config *cfg, gpa_t *rsdp_out)
{
	int r = check_config(cfg);
	if (r < 0)
		return r;
	struct area ar = {
	    .mem = mem,
	    .next = ACPI_TABLES_ADDR + RSDP_SLOT,
	    .end = ACPI_TABLES_ADDR + ACPI_TABLES_SIZE,
	};
	uint64_t entries[MAX_XSDT_ENTRIES];
	unsigned n = 0;
	gpa_t dsdt, table, xsdt;
	if ((r = build_dsdt(&ar, cfg, &dsdt)) < 0)
		return r;
	if ((r = build_fadt(&ar, dsdt, &table)) < 0)
		return r;
	entries[n++] = table;
	if ((r = build_madt(&ar, cfg, &table)) < 0)
		return r;
	entries[n++] = table;
	if (cfg->uart) {
		if ((r = build_spcr(&ar, &table)) < 0)
			return r;
		entries[n++] = table;
	}
	if ((r = build_xsdt(&ar, entries, n, &xsdt)) < 0)
		return r;
	return write_rsdp(mem, xsdt, rsdp_out);
}
