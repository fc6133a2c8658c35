/* test_acpi.c - the generated ACPI tables read back from a fake guest RAM
 * (checksums, layout, contents), iasl's verdict on each, and the AML encoder. */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi.h"
#include "aml.h"
#include "guest_mem.h"
#include "platform.h"
#include "test_util.h"
#include "virtio_driver.h"

static void setup(void)
{
	ram_map(64ULL << 20);
}

TestSuite(acpi, .init = setup, .fini = ram_unmap);

static const unsigned vcpu_counts[] = {1, 2, 64};
static const unsigned virtio_counts[] = {0, 1, 19};
#define N_VCPU_COUNTS	(sizeof(vcpu_counts) / sizeof(vcpu_counts[0]))
#define N_VIRTIO_COUNTS (sizeof(virtio_counts) / sizeof(virtio_counts[0]))

static size_t count_bytes(const void *hay, size_t len, const void *needle, size_t n)
{
	size_t count = 0;
	const uint8_t *h = hay;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(h + i, needle, n) == 0)
			count++;
	return count;
}

static size_t count_str(const char *hay, const char *needle)
{
	return count_bytes(hay, strlen(hay), needle, strlen(needle));
}

/* A table inside the ACPI area, checked: aligned, whole, checksummed. */
static const struct acpi_sdt_header *table_at(gpa_t gpa, const char *sig)
{
	cr_assert(gpa >= ACPI_TABLES_ADDR && gpa < ACPI_TABLES_ADDR + ACPI_TABLES_SIZE,
		  "%s at 0x%lx outside the ACPI area", sig, (unsigned long)gpa);
	cr_assert_eq(gpa % 16, 0, "%s not 16-byte aligned", sig);
	const struct acpi_sdt_header *h = guest_ptr(&guest_ram, gpa, sizeof(*h));
	cr_assert_not_null(h);
	cr_assert_eq(memcmp(h->signature, sig, 4), 0, "expected %s, found %.4s", sig, h->signature);
	cr_assert_geq(h->length, sizeof(*h));
	cr_assert_leq(gpa + h->length, ACPI_TABLES_ADDR + ACPI_TABLES_SIZE, "%s runs past the area",
		      sig);
	cr_assert_not_null(guest_ptr(&guest_ram, gpa, h->length));
	cr_assert_eq(byte_sum(h, h->length), 0, "%s checksum", sig);
	cr_assert_eq(memcmp(h->oem_id, "MINNOW", 6), 0, "%s OEM id", sig);
	return h;
}

struct tables {
	const struct acpi_rsdp *rsdp;
	const struct acpi_sdt_header *xsdt, *fadt, *madt, *dsdt, *spcr;
};

/* Builds the tables for `c` and checks everything common to all configs. */
static struct tables build(const struct acpi_config *c)
{
	struct tables t;
	memset(&t, 0, sizeof(t));
	gpa_t rsdp = 0;
	cr_assert_eq(acpi_build(&guest_ram, c, &rsdp), 0);
	cr_assert_eq(rsdp, ACPI_TABLES_ADDR);
	t.rsdp = guest_ptr(&guest_ram, rsdp, sizeof(*t.rsdp));
	cr_assert_not_null(t.rsdp);
	cr_assert_eq(memcmp(t.rsdp->signature, "RSD PTR ", 8), 0);
	cr_assert_eq(t.rsdp->revision, 2);
	cr_assert_eq(t.rsdp->length, 36);
	cr_assert_eq(byte_sum(t.rsdp, 20), 0, "RSDP checksum (first 20 bytes)");
	cr_assert_eq(byte_sum(t.rsdp, 36), 0, "RSDP extended checksum");
	cr_assert_eq(memcmp(t.rsdp->oem_id, "MINNOW", 6), 0);

	t.xsdt = table_at(t.rsdp->xsdt_address, "XSDT");
	cr_assert_eq(t.xsdt->revision, ACPI_XSDT_REVISION);
	unsigned n = (t.xsdt->length - 36) / 8;
	cr_assert_eq(t.xsdt->length, 36 + 8 * n);
	cr_assert_eq(n, c->uart ? 3u : 2u);
	const uint8_t *entries = (const uint8_t *)t.xsdt + 36;
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa;
		memcpy(&gpa, entries + 8 * i, 8);
		const struct acpi_sdt_header *h = guest_ptr(&guest_ram, gpa, 4);
		cr_assert_not_null(h);
		if (memcmp(h->signature, "FACP", 4) == 0)
			t.fadt = table_at(gpa, "FACP");
		else if (memcmp(h->signature, "APIC", 4) == 0)
			t.madt = table_at(gpa, "APIC");
		else if (memcmp(h->signature, "SPCR", 4) == 0)
			t.spcr = table_at(gpa, "SPCR");
		else
			cr_assert_fail("unexpected table %.4s in the XSDT", h->signature);
	}
	cr_assert_not_null(t.fadt);
	cr_assert_not_null(t.madt);
	cr_assert_eq(t.spcr != NULL, c->uart);
	const struct acpi_fadt *f = (const void *)t.fadt;
	t.dsdt = table_at(f->x_dsdt, "DSDT");
	return t;
}

static void check_gas(const struct acpi_gas *g, uint64_t address)
{
	cr_assert_eq(g->space_id, ACPI_GAS_SYSTEM_MEMORY);
	cr_assert_eq(g->bit_width, 8);
	cr_assert_eq(g->bit_offset, 0);
	cr_assert_eq(g->access_size, ACPI_GAS_ACCESS_BYTE);
	cr_assert_eq(g->address, address);
}

static void check_fadt(const struct tables *t)
{
	const struct acpi_fadt *f = (const void *)t->fadt;
	cr_assert_eq(f->hdr.length, sizeof(*f));
	cr_assert_eq(f->hdr.revision, 6);
	cr_assert_eq(f->minor_revision, ACPI_FADT_MINOR_REVISION);
	cr_assert(f->flags & ACPI_FADT_HW_REDUCED_ACPI);
	cr_assert(f->flags & ACPI_FADT_RESET_REG_SUP);
	cr_assert_eq(
	    f->iapc_boot_arch & (ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042 | ACPI_IAPC_NO_MSI), 0);
	cr_assert(f->iapc_boot_arch & ACPI_IAPC_NO_VGA);
	cr_assert(f->iapc_boot_arch & ACPI_IAPC_NO_CMOS_RTC);
	cr_assert_eq(f->dsdt, (uint32_t)f->x_dsdt);
	cr_assert_eq(f->firmware_ctrl, 0);
	cr_assert_eq(f->x_firmware_ctrl, 0);
	cr_assert_eq(f->sci_int, 0);
	check_gas(&f->sleep_control_reg, ACPI_MMIO_BASE + ACPI_REG_SLEEP_CTL);
	check_gas(&f->sleep_status_reg, ACPI_MMIO_BASE + ACPI_REG_SLEEP_STS);
	check_gas(&f->reset_reg, ACPI_MMIO_BASE + ACPI_REG_RESET);
	cr_assert_eq(f->reset_value, ACPI_RESET_VALUE);
	cr_assert_eq(memcmp(f->hypervisor_vendor_id, "MINNOW", 6), 0);
}

static void check_madt(const struct tables *t, const struct acpi_config *c)
{
	const struct acpi_madt *m = (const void *)t->madt;
	cr_assert_eq(m->hdr.revision, ACPI_MADT_REVISION);
	cr_assert_eq(m->lapic_address, LAPIC_MMIO_BASE);
	cr_assert_eq(m->flags & ACPI_MADT_PCAT_COMPAT, 0);
	const uint8_t *p = (const uint8_t *)m + sizeof(*m);
	const uint8_t *end = (const uint8_t *)m + m->hdr.length;
	unsigned cpus = 0, ioapics = 0, entries = 0;
	while (p < end) {
		cr_assert_geq(end - p, 2);
		cr_assert_geq(p[1], 2);
		cr_assert_leq(p[1], end - p);
		entries++;
		if (p[0] == ACPI_MADT_TYPE_LAPIC) {
			struct acpi_madt_lapic e;
			cr_assert_eq(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			cr_assert_eq(e.apic_id, cpus, "LAPIC entries in APIC-ID order");
			cr_assert_eq(e.processor_uid, cpus);
			cr_assert_eq(e.flags, ACPI_MADT_ENABLED);
			cr_assert_leq(e.apic_id, ACPI_MADT_MAX_XAPIC_ID);
			cpus++;
		} else if (p[0] == ACPI_MADT_TYPE_X2APIC) {
			struct acpi_madt_x2apic e;
			cr_assert_eq(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			cr_assert_eq(e.x2apic_id, cpus);
			cr_assert_gt(e.x2apic_id, ACPI_MADT_MAX_XAPIC_ID);
			cr_assert_eq(e.flags, ACPI_MADT_ENABLED);
			cpus++;
		} else if (p[0] == ACPI_MADT_TYPE_IOAPIC) {
			struct acpi_madt_ioapic e;
			cr_assert_eq(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			cr_assert_eq(e.ioapic_id, 0);
			cr_assert_eq(e.address, IOAPIC_MMIO_BASE);
			cr_assert_eq(e.gsi_base, 0);
			ioapics++;
		} else {
			cr_assert_fail("unexpected MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	cr_assert_eq(cpus, c->n_vcpus);
	cr_assert_eq(ioapics, 1);
	cr_assert_eq(entries, c->n_vcpus + 1);
}

static void check_dsdt(const struct tables *t, const struct acpi_config *c)
{
	const struct acpi_sdt_header *d = t->dsdt;
	cr_assert_eq(d->revision, ACPI_DSDT_REVISION);
	cr_assert_eq(count_bytes(d, d->length, "LNRO0005", 8), c->n_virtio);
	static const uint8_t pnp0501[] = {0x0C, 0x41, 0xD0, 0x05, 0x01}; /* EisaId("PNP0501") */
	cr_assert_eq(count_bytes(d, d->length, pnp0501, sizeof(pnp0501)), c->uart ? 1u : 0u);
	cr_assert_eq(count_bytes(d, d->length, "_S5_", 4), 1);
	/* pvpanic: _HID "QEMU0001", Memory32Fixed(ReadWrite, base, 1) */
	cr_assert_eq(count_bytes(d, d->length, "QEMU0001", 9), c->pvpanic ? 1u : 0u);
	uint8_t pvp[12] = {0x86, 0x09, 0x00, 0x01};
	uint32_t pvp_base = (uint32_t)(PVPANIC_MMIO_BASE + PVPANIC_REG_EVENTS), pvp_len = 1;
	memcpy(pvp + 4, &pvp_base, 4);
	memcpy(pvp + 8, &pvp_len, 4);
	cr_assert_eq(count_bytes(d, d->length, pvp, sizeof(pvp)), c->pvpanic ? 1u : 0u);
	/* GED: _HID "ACPI0013", its edge interrupt on GED_GSI, the region over
	 * its register; the power button: EisaId("PNP0C0C"). */
	unsigned ged = c->ged ? 1u : 0u;
	cr_assert_eq(count_bytes(d, d->length, "ACPI0013", 9), ged);
	static const uint8_t pnp0c0c[] = {0x0C, 0x41, 0xD0, 0x0C, 0x0C};
	cr_assert_eq(count_bytes(d, d->length, pnp0c0c, sizeof(pnp0c0c)), ged);
	uint8_t ged_irq[9] = {0x89, 0x06, 0x00, 0x03, 0x01}; /* consumer, edge, high */
	uint32_t ged_gsi = GED_GSI;
	memcpy(ged_irq + 5, &ged_gsi, 4);
	cr_assert_eq(count_bytes(d, d->length, ged_irq, sizeof(ged_irq)), ged);
	uint8_t region[13] = {0x5B, 0x80, 'G', 'D', 'S', 'T', 0x00, 0x0C}; /* SystemMemory, DWord */
	uint32_t ged_reg = (uint32_t)(GED_MMIO_BASE + GED_REG_EVENTS);
	memcpy(region + 8, &ged_reg, 4);
	region[12] = 0x0A; /* BytePrefix: the length, 4 */
	cr_assert_eq(count_bytes(d, d->length, region, sizeof(region)), ged);
	cr_assert_eq(count_bytes(d, d->length, "_EVT", 4), ged);
	/* The VM generation ID: _HID ACPI_VMGENID_HID, _CID and _DDN "VM_Gen_Counter",
	 * ADDR returning Package (2) { low, high } of VMGENID_ADDR; GED0._EVT
	 * notifies VGEN for bit 1 (with the GED). */
	unsigned vgen = c->vmgenid ? 1u : 0u;
	cr_assert_eq(count_bytes(d, d->length, ACPI_VMGENID_HID, 9), vgen);
	cr_assert_eq(count_bytes(d, d->length, "VM_Gen_Counter", 15), 2 * vgen);
	/* Return (Package (2) { DWord low, Zero }): PkgLength 8, 2 elements. */
	uint8_t addr[] = {0xA4, 0x12, 0x08, 0x02, 0x0C, 0, 0, 0, 0, 0x00};
	uint32_t lo = (uint32_t)VMGENID_ADDR;
	memcpy(addr + 5, &lo, 4);
	cr_assert_eq(count_bytes(d, d->length, addr, sizeof(addr)), vgen, "ADDR's package");
	/* If (And (Local0, 2)) { Notify (\_SB.VGEN, 0x80) } */
	static const uint8_t evt_bit1[] = {0x7B, 0x60, 0x0A, 0x02, 0x00, 0x86, 0x5C, 0x2E, '_',
					   'S',	 'B',  '_',  'V',  'G',	 'E',  'N',  0x0A, 0x80};
	cr_assert_eq(count_bytes(d, d->length, evt_bit1, sizeof(evt_bit1)), vgen && ged ? 1u : 0u);
	for (unsigned i = 0; i < c->n_virtio; i++) {
		uint8_t mem32[12] = {0x86, 0x09, 0x00, 0x01};
		uint32_t base = (uint32_t)c->virtio[i].base, len = VIRTIO_MMIO_STRIDE;
		memcpy(mem32 + 4, &base, 4);
		memcpy(mem32 + 8, &len, 4);
		cr_assert_eq(count_bytes(d, d->length, mem32, sizeof(mem32)), 1);
		uint8_t irq[9] = {0x89, 0x06, 0x00, 0x03, 0x01}; /* consumer, edge, high */
		uint32_t gsi = c->virtio[i].gsi;
		memcpy(irq + 5, &gsi, 4);
		cr_assert_eq(count_bytes(d, d->length, irq, sizeof(irq)), 1);
	}
}

static void check_spcr(const struct tables *t)
{
	const struct acpi_spcr *s = (const void *)t->spcr;
	cr_assert_eq(s->hdr.length, sizeof(*s));
	cr_assert_eq(s->hdr.revision, 2);
	cr_assert_eq(s->interface_type, ACPI_SPCR_INTERFACE_16550);
	check_gas(&s->base_address, UART_MMIO_BASE);
	cr_assert_eq(s->interrupt_type, ACPI_SPCR_IRQ_IOAPIC);
	cr_assert_eq(s->gsi, UART_GSI);
	cr_assert_eq(s->baud_rate, ACPI_SPCR_BAUD_115200);
}

static void check_all(const struct acpi_config *c)
{
	struct tables t = build(c);
	check_fadt(&t);
	check_madt(&t, c);
	check_dsdt(&t, c);
	if (c->uart)
		check_spcr(&t);
}

Test(acpi, tables_for_each_config)
{
	for (size_t i = 0; i < N_VCPU_COUNTS; i++) {
		for (size_t j = 0; j < N_VIRTIO_COUNTS; j++) {
			struct acpi_config c =
			    test_acpi_config(vcpu_counts[i], virtio_counts[j], true);
			check_all(&c);
		}
	}
}

Test(acpi, without_uart_no_spcr_no_com)
{
	struct acpi_config c = test_acpi_config(2, 3, false);
	check_all(&c);
}

Test(acpi, without_pvpanic_no_qemu0001)
{
	struct acpi_config c = test_acpi_config(2, 3, true);
	c.pvpanic = false;
	check_all(&c);
}

Test(acpi, without_ged_no_acpi0013_no_power_button)
{
	struct acpi_config c = test_acpi_config(2, 3, true);
	c.ged = false;
	check_all(&c);
}

Test(acpi, without_vmgenid_no_vgen_and_no_bit_1)
{
	struct acpi_config c = test_acpi_config(2, 3, true);
	c.vmgenid = false;
	check_all(&c);
}

Test(acpi, vmgenid_without_ged_has_no_notify)
{
	struct acpi_config c = test_acpi_config(2, 3, true);
	c.ged = false;
	check_all(&c);
}

Test(acpi, x2apic_entries_above_254)
{
	struct acpi_config c = test_acpi_config(300, 19, true);
	check_all(&c);
}

Test(acpi, stays_inside_its_area)
{
	struct acpi_config c = test_acpi_config(64, 19, true);
	check_all(&c);
	ram_expect_zero(ACPI_TABLES_ADDR - 0x1000, 0x1000, "below the ACPI area");
	ram_expect_zero(ACPI_TABLES_ADDR + ACPI_TABLES_SIZE, 0x1000, "above the ACPI area");
}

Test(acpi, rejects_bad_configs)
{
	gpa_t rsdp = 0;
	struct acpi_config c = test_acpi_config(0, 0, true);
	cr_assert_eq(acpi_build(&guest_ram, &c, &rsdp), -EINVAL);
	c = test_acpi_config(1, 1, true);
	c.n_virtio = VIRTIO_MMIO_SLOTS + 1;
	cr_assert_eq(acpi_build(&guest_ram, &c, &rsdp), -EINVAL);
	c = test_acpi_config(1, 1, true);
	c.virtio[0].gsi = IOAPIC_PINS;
	cr_assert_eq(acpi_build(&guest_ram, &c, &rsdp), -EINVAL);
	c = test_acpi_config(1, 1, true);
	c.virtio[0].base = 0x100000000ULL;
	cr_assert_eq(acpi_build(&guest_ram, &c, &rsdp), -EINVAL);
	c = test_acpi_config(1, 1, true);
	c.virtio[0].base = VIRTIO_MMIO_BASE + 8;
	cr_assert_eq(acpi_build(&guest_ram, &c, &rsdp), -EINVAL);
	c = test_acpi_config(100000, 0, true);
	cr_assert_eq(acpi_build(&guest_ram, &c, &rsdp), -ENOSPC);
	c = test_acpi_config(16000, 0, true); /* passes the early check, MADT still too big */
	cr_assert_eq(acpi_build(&guest_ram, &c, &rsdp), -ENOSPC);
	cr_assert_eq(rsdp, 0, "no RSDP address on failure");
}

Test(acpi, fails_when_the_area_is_not_ram)
{
	ram_map(4096); /* one page of RAM, far below the tables' area */
	struct acpi_config c = test_acpi_config(1, 1, true);
	gpa_t rsdp = 0;
	cr_assert_eq(acpi_build(&guest_ram, &c, &rsdp), -EFAULT);
}

/* ---- iasl ------------------------------------------------------------------ */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(p, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

/* Reads a whole file into a NUL-terminated malloc'd string. */
static char *read_file(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	cr_assert_not_null(s);
	size_t n;
	while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			s = realloc(s, cap);
			cr_assert_not_null(s);
		}
	}
	fclose(f);
	s[len] = '\0';
	return s;
}

/* Runs `iasl args` in `dir`; returns its combined output. */
static char *run_iasl(const char *dir, const char *args)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl %s > iasl.out 2>&1", dir, args);
	int status = system(cmd);
	char *out = read_file(dir, "iasl.out");
	cr_assert_eq(status, 0, "iasl %s failed:\n%s", args, out);
	return out;
}

/* No complaint in iasl's output or in the disassembly it wrote. */
static void assert_clean(const char *what, const char *out, const char *dsl)
{
	const char *bad[] = {"Warning", "Error", "Incorrect", "****", "Remark"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_null(strstr(out, bad[i]), "%s: iasl says '%s':\n%s", what, bad[i], out);
		cr_assert_null(strstr(dsl, bad[i]), "%s: disassembly has '%s':\n%s", what, bad[i],
			       dsl);
	}
}

/* Dumps `h` as <name>.dat, disassembles it and returns the .dsl text. */
static char *disassemble(const char *dir, const char *name, const struct acpi_sdt_header *h)
{
	char dat[32], dsl[32], args[64];
	snprintf(dat, sizeof(dat), "%s.dat", name);
	snprintf(dsl, sizeof(dsl), "%s.dsl", name);
	snprintf(args, sizeof(args), "-d %s", dat);
	write_file(dir, dat, h, h->length);
	char *out = run_iasl(dir, args);
	char *text = read_file(dir, dsl);
	assert_clean(name, out, text);
	free(out);
	return text;
}

static void check_dsdt_text(const char *dsl, const struct acpi_config *c)
{
	char s[160];
	cr_assert_eq(count_str(dsl, "Name (_HID, \"LNRO0005\")"), c->n_virtio, "%s", dsl);
	cr_assert_eq(count_str(dsl, "EisaId (\"PNP0501\")"), c->uart ? 1u : 0u, "%s", dsl);
	cr_assert_eq(count_str(dsl, "Name (\\_S5, Package (0x02)"), 1, "%s", dsl);
	unsigned ged = c->ged ? 1u : 0u;
	cr_assert_eq(
	    count_str(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )"),
	    c->n_virtio + ged);
	if (c->uart) {
		cr_assert_eq(count_str(dsl, "Interrupt (ResourceConsumer, Level, ActiveHigh, "
					    "Exclusive, ,, )"),
			     1);
		snprintf(s, sizeof(s), "0x%08llX,         // Address Base",
			 (unsigned long long)UART_MMIO_BASE);
		cr_assert_not_null(strstr(dsl, s), "UART base missing:\n%s", dsl);
		snprintf(s, sizeof(s), "0x%08X,\n", UART_GSI);
		cr_assert_not_null(strstr(dsl, s), "UART GSI missing:\n%s", dsl);
	}
	/* pvpanic: what Linux's pvpanic-mmio driver matches and maps. */
	cr_assert_eq(count_str(dsl, "Name (_HID, \"QEMU0001\")"), c->pvpanic ? 1u : 0u, "%s", dsl);
	cr_assert_eq(count_str(dsl, "Name (_STA, 0x0F)"),
		     (c->pvpanic ? 1u : 0u) + (c->vmgenid ? 1u : 0u), "%s",
		     dsl); /* pvpanic's and VGEN's */
	snprintf(s, sizeof(s),
		 "Memory32Fixed (ReadWrite,\n"
		 "                    0x%08llX,         // Address Base\n"
		 "                    0x00000001,         // Address Length",
		 (unsigned long long)(PVPANIC_MMIO_BASE + PVPANIC_REG_EVENTS));
	cr_assert_eq(count_str(dsl, s), c->pvpanic ? 1u : 0u, "pvpanic resource:\n%s", dsl);
	/* The GED as Linux's evged driver and the ACPI button driver use it:
	 * _EVT reads the events, writes them back and notifies PWRB. */
	const char *ged_text[] = {
	    "Device (GED0)",
	    "Name (_HID, \"ACPI0013\" /* Generic Event Device */)",
	    "Field (GDST, DWordAcc, NoLock, Preserve)\n            {\n                GDAT,   32\n",
	    "Method (_EVT, 1, Serialized)",
	    "                Local0 = GDAT /* \\_SB_.GED0.GDAT */\n"
	    "                GDAT = Local0\n"
	    "                If ((Local0 & One))\n"
	    "                {\n"
	    "                    Notify (\\_SB.PWRB, 0x80) // Status Change\n",
	    "Device (PWRB)",
	    "Name (_HID, EisaId (\"PNP0C0C\") /* Power Button Device */)",
	};
	for (size_t i = 0; i < sizeof(ged_text) / sizeof(ged_text[0]); i++)
		cr_assert_eq(count_str(dsl, ged_text[i]), ged, "'%s':\n%s", ged_text[i], dsl);
	/* The VM generation ID as Linux's vmgenid driver finds it: the _CID
	 * (ACPICA upper-cases it to VM_GEN_COUNTER), ADDR's two DWords. */
	unsigned vgen = c->vmgenid ? 1u : 0u;
	char addr[256];
	snprintf(addr, sizeof(addr),
		 "Method (ADDR, 0, NotSerialized)\n"
		 "            {\n"
		 "                Return (Package (0x02)\n"
		 "                {\n"
		 "                    0x%08llX, \n"
		 "                    Zero\n"
		 "                })\n",
		 (unsigned long long)VMGENID_ADDR);
	const char *vgen_text[] = {
	    "Device (VGEN)",
	    "Name (_HID, \"" ACPI_VMGENID_HID "\")",
	    "Name (_CID, \"VM_Gen_Counter\")",
	    "Name (_DDN, \"VM_Gen_Counter\")",
	    addr,
	};
	for (size_t i = 0; i < sizeof(vgen_text) / sizeof(vgen_text[0]); i++)
		cr_assert_eq(count_str(dsl, vgen_text[i]), vgen, "'%s':\n%s", vgen_text[i], dsl);
	cr_assert_eq(count_str(dsl,
			       "                If ((Local0 & 0x02))\n"
			       "                {\n"
			       "                    Notify (\\_SB.VGEN, 0x80) // Status Change\n"),
		     vgen && ged ? 1u : 0u, "GED0._EVT's bit 1:\n%s", dsl);
	snprintf(s, sizeof(s), "OperationRegion (GDST, SystemMemory, 0x%08llX, 0x04)",
		 (unsigned long long)(GED_MMIO_BASE + GED_REG_EVENTS));
	cr_assert_eq(count_str(dsl, s), ged, "'%s':\n%s", s, dsl);
	if (c->ged) {
		snprintf(s, sizeof(s), "0x%08X,\n", GED_GSI);
		cr_assert_eq(count_str(dsl, s), 1, "GED interrupt %s missing:\n%s", s, dsl);
	}
	for (unsigned i = 0; i < c->n_virtio; i++) {
		snprintf(s, sizeof(s), "Device (VR%02u)", i);
		cr_assert_eq(count_str(dsl, s), 1, "%s missing:\n%s", s, dsl);
		snprintf(s, sizeof(s), "0x%08llX,         // Address Base",
			 (unsigned long long)c->virtio[i].base);
		cr_assert_eq(count_str(dsl, s), 1, "%s missing:\n%s", s, dsl);
		snprintf(s, sizeof(s), "0x%08X,\n", c->virtio[i].gsi);
		cr_assert_eq(count_str(dsl, s), 1, "interrupt %s missing:\n%s", s, dsl);
	}
	cr_assert_eq(count_str(dsl, "0x00001000,         // Address Length"), c->n_virtio);
}

static void iasl_check(const struct acpi_config *c)
{
	struct tables t = build(c);
	char dir[PATH_MAX];
	make_tmp_dir(dir, sizeof(dir), "acpi");

	/* iasl 2020 cannot disassemble a binary RSDP (its file loader wants
	 * an SDT header); build() checked the RSDP's fields and checksums. */
	char *x = disassemble(dir, "xsdt", t.xsdt);
	cr_assert_eq(count_str(x, "ACPI Table Address"), c->uart ? 3u : 2u);
	char *f = disassemble(dir, "facp", t.fadt);
	cr_assert_not_null(strstr(f, "Hardware Reduced (V5) : 1"), "%s", f);
	cr_assert_not_null(strstr(f, "Reset Register Supported (V2) : 1"), "%s", f);
	cr_assert_not_null(strstr(f, "CMOS RTC Not Present (V5) : 1"), "%s", f);
	cr_assert_not_null(strstr(f, "8042 Present on ports 60/64 (V2) : 0"), "%s", f);
	char *m = disassemble(dir, "apic", t.madt);
	size_t xapic =
	    c->n_vcpus < ACPI_MADT_MAX_XAPIC_ID + 1 ? c->n_vcpus : ACPI_MADT_MAX_XAPIC_ID + 1;
	cr_assert_eq(count_str(m, "[Processor Local APIC]"), xapic);
	cr_assert_eq(count_str(m, "[Processor Local x2APIC]"), c->n_vcpus - xapic);
	cr_assert_eq(count_str(m, "[I/O APIC]"), 1);
	char *d = disassemble(dir, "dsdt", t.dsdt);
	check_dsdt_text(d, c);
	/* The disassembly must compile back without complaint too. */
	char *out = run_iasl(dir, "-p recompiled dsdt.dsl");
	cr_assert_not_null(strstr(out, "0 Errors, 0 Warnings, 0 Remarks"), "%s", out);
	free(out);
	if (t.spcr) {
		char *s = disassemble(dir, "spcr", t.spcr);
		cr_assert_not_null(strstr(s, "Address : 00000000D0000000"), "%s", s);
		free(s);
	}
	free(x);
	free(f);
	free(m);
	free(d);
	remove_tmp_dir(dir);
}

Test(acpi, iasl_accepts_every_table)
{
	if (!have_iasl())
		cr_skip_test("iasl not installed (Debian package acpica-tools)");
	for (size_t i = 0; i < N_VCPU_COUNTS; i++)
		for (size_t j = 0; j < N_VIRTIO_COUNTS; j++) {
			struct acpi_config c =
			    test_acpi_config(vcpu_counts[i], virtio_counts[j], true);
			iasl_check(&c);
		}
}

Test(acpi, iasl_accepts_x2apic_and_no_uart)
{
	if (!have_iasl())
		cr_skip_test("iasl not installed (Debian package acpica-tools)");
	struct acpi_config c = test_acpi_config(300, 2, false);
	iasl_check(&c);
}

Test(acpi, iasl_accepts_no_pvpanic)
{
	if (!have_iasl())
		cr_skip_test("iasl not installed (Debian package acpica-tools)");
	struct acpi_config c = test_acpi_config(1, 1, true);
	c.pvpanic = false;
	iasl_check(&c);
}

Test(acpi, iasl_accepts_no_ged)
{
	if (!have_iasl())
		cr_skip_test("iasl not installed (Debian package acpica-tools)");
	struct acpi_config c = test_acpi_config(2, 2, true);
	c.ged = false;
	iasl_check(&c);
}

Test(acpi, iasl_accepts_no_vmgenid)
{
	if (!have_iasl())
		cr_skip_test("iasl not installed (Debian package acpica-tools)");
	struct acpi_config c = test_acpi_config(2, 2, true);
	c.vmgenid = false;
	iasl_check(&c);
}

/* ---- the AML encoder ---------------------------------------------------------- */

static void expect_bytes(const struct aml *a, const uint8_t *want, size_t n)
{
	cr_assert_not(a->failed);
	cr_assert_eq(a->len, n, "length %zu, expected %zu", a->len, n);
	cr_assert_arr_eq(a->data, want, n);
}

Test(aml, pkg_length_boundaries)
{
	uint8_t b[4];
	cr_assert_eq(aml_pkg_length(0, b), 1);
	cr_assert_eq(b[0], 1);
	cr_assert_eq(aml_pkg_length(62, b), 1);
	cr_assert_eq(b[0], 63);
	/* 63 bytes of content + 1 does not fit 6 bits: two bytes, total 65. */
	cr_assert_eq(aml_pkg_length(63, b), 2);
	cr_assert_eq(b[0], 0x40 | (65 & 0xF));
	cr_assert_eq(b[1], 65 >> 4);
	cr_assert_eq(aml_pkg_length(0xFFF - 2, b), 2);
	cr_assert_eq(aml_pkg_length(0xFFF - 1, b), 3);
	cr_assert_eq(aml_pkg_length(0xFFFFF - 3, b), 3);
	cr_assert_eq(aml_pkg_length(0xFFFFF - 2, b), 4);
	cr_assert_eq(aml_pkg_length(AML_PKG_LENGTH_MAX - 4, b), 4);
	cr_assert_eq(b[0], 0xC0 | 0xF);
	cr_assert_eq(b[1], 0xFF);
	cr_assert_eq(b[2], 0xFF);
	cr_assert_eq(b[3], 0xFF);
	cr_assert_eq(aml_pkg_length(AML_PKG_LENGTH_MAX - 3, b), 0);
}

Test(aml, names)
{
	struct aml a;
	aml_init(&a);
	aml_name_string(&a, "\\_SB");
	aml_name_string(&a, "_S5");
	aml_name_string(&a, "\\_SB.COM0");
	aml_name_string(&a, "A.B.C");
	static const uint8_t want[] = {'\\', '_', 'S', 'B', '_', '_', 'S', '5', '_',  '\\', 0x2E,
				       '_',  'S', 'B', '_', 'C', 'O', 'M', '0', 0x2F, 3,    'A',
				       '_',  '_', '_', 'B', '_', '_', '_', 'C', '_',  '_',  '_'};
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);

	const char *bad[] = {"1ABC", "ABCDE", "A..B", "A.", "a", "A-B"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a);
		aml_name_string(&a, bad[i]);
		cr_assert(a.failed, "'%s' accepted", bad[i]);
		aml_free(&a);
	}
}

Test(aml, integers_strings_eisaid)
{
	struct aml a;
	aml_init(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 0xFF);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ULL);
	aml_string(&a, "AB");
	aml_eisaid(&a, "PNP0501");
	static const uint8_t want[] = {0x00, 0x01, 0x0A, 0xFF, 0x0B, 0x00, 0x01, 0x0C, 0x00, 0x00,
				       0x01, 0x00, 0x0E, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
				       0x00, 0x0D, 'A',	 'B',  0x00, 0x0C, 0x41, 0xD0, 0x05, 0x01};
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);

	aml_init(&a);
	aml_eisaid(&a, "pnp0501");
	cr_assert(a.failed);
	aml_free(&a);
	aml_init(&a);
	aml_string(&a, "tab\there");
	cr_assert(a.failed);
	aml_free(&a);
}

Test(aml, nested_objects_get_their_lengths)
{
	struct aml a;
	aml_init(&a);
	size_t scope = aml_scope_begin(&a, "\\_SB");
	size_t dev = aml_device_begin(&a, "DEV0");
	aml_name_decl(&a, "_UID");
	aml_integer(&a, 7);
	aml_pkg_end(&a, dev);
	aml_pkg_end(&a, scope);
	static const uint8_t want[] = {
	    0x10, 20,	'\\', '_', 'S', 'B',  '_', /* Scope, PkgLength 1 + 5 + 14 */
	    0x5B, 0x82, 12,   'D', 'E', 'V',  '0', /* Device, PkgLength 1 + 4 + 7 */
	    0x08, '_',	'U',  'I', 'D', 0x0A, 7};  /* Name(_UID, 7) */
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);
}

Test(aml, long_objects_use_multibyte_pkg_length)
{
	struct aml a;
	aml_init(&a);
	uint8_t content[100];
	memset(content, 0x01, sizeof(content));
	aml_buffer(&a, content, sizeof(content));
	/* BufferOp, PkgLength(2 bytes: 2 + 2 (BytePrefix 100) + 100 = 104), size, bytes */
	cr_assert_not(a.failed);
	cr_assert_eq(a.len, 1 + 2 + 2 + 100);
	cr_assert_eq(a.data[0], 0x11);
	cr_assert_eq(a.data[1], 0x40 | (104 & 0xF));
	cr_assert_eq(a.data[2], 104 >> 4);
	cr_assert_eq(a.data[3], 0x0A);
	cr_assert_eq(a.data[4], 100);
	aml_free(&a);
}

Test(aml, resource_template)
{
	struct aml a, r;
	aml_init(&a);
	aml_init(&r);
	aml_res_memory32_fixed(&r, true, 0xD0010000u, 0x1000);
	aml_res_interrupt(&r, AML_LEVEL, AML_ACTIVE_HIGH, 5);
	aml_resource_template(&a, &r);
	static const uint8_t want[] = {0x11, 26,   0x0A, 23, /* Buffer(23) */
				       0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
				       0x01, 0xD0, 0x00, 0x10, 0x00, 0x00, /* Memory32Fixed */
				       0x89, 0x06, 0x00, 0x01, 0x01, 0x05,
				       0x00, 0x00, 0x00, 0x79, 0x00}; /* Interrupt, End */
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);
	aml_free(&r);
}

Test(aml, method_region_field_and_operators)
{
	struct aml a;
	aml_init(&a);
	size_t m = aml_method_begin(&a, "_EVT", 1, true);
	aml_store(&a);
	aml_name_string(&a, "GDAT");
	aml_local(&a, 0);
	size_t c = aml_if_begin(&a);
	aml_and(&a);
	aml_arg(&a, 0);
	aml_integer(&a, 1);
	aml_no_target(&a);
	aml_notify(&a, "PWRB", 0x80);
	aml_pkg_end(&a, c);
	aml_pkg_end(&a, m);
	static const uint8_t want[] = {
	    0x14, 25,  '_',  'E',  'V',	 'T',  0x09,  /* Method(_EVT, 1, Serialized) */
	    0x70, 'G', 'D',  'A',  'T',	 0x60,	      /* Store(GDAT, Local0) */
	    0xA0, 12,  0x7B, 0x68, 0x01, 0x00,	      /* If (And(Arg0, One, )) */
	    0x86, 'P', 'W',  'R',  'B',	 0x0A, 0x80}; /* Notify(PWRB, 0x80) */
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);

	aml_init(&a);
	aml_region_memory(&a, "GDST", 0xD0004000u, 4);
	size_t f = aml_field_begin(&a, "GDST", AML_ACCESS_DWORD);
	aml_field_unit(&a, "GDAT", 32);
	aml_field_unit(&a, "WIDE", 0x123);
	aml_pkg_end(&a, f);
	static const uint8_t want2[] = {
	    0x5B, 0x80, 'G',  'D',  'S',  'T', 0x00, 0x0C, 0x00, 0x40, 0x00, 0xD0,
	    0x0A, 4,	0x5B, 0x81, 17,	  'G', 'D',  'S',  'T',	 0x03, /* Field(GDST, DWordAcc,
									  NoLock, Preserve) */
	    'G',  'D',	'A',  'T',  32,				       /* GDAT, 32 */
	    'W',  'I',	'D',  'E',  0x43, 0x12}; /* WIDE, 0x123: two-byte width */
	expect_bytes(&a, want2, sizeof(want2));
	aml_free(&a);

	/* Bad operands fail the buffer. */
	aml_init(&a);
	aml_local(&a, 8);
	cr_assert(a.failed, "Local8");
	aml_free(&a);
	aml_init(&a);
	aml_arg(&a, 7);
	cr_assert(a.failed, "Arg7");
	aml_free(&a);
	aml_init(&a);
	(void)aml_method_begin(&a, "TOOM", 8, false);
	cr_assert(a.failed, "8 arguments");
	aml_free(&a);
	aml_init(&a);
	aml_field_unit(&a, "A.B", 8);
	cr_assert(a.failed, "a path as a field name");
	aml_free(&a);
	aml_init(&a);
	aml_field_unit(&a, "GDAT", 0);
	cr_assert(a.failed, "a field of no bits");
	aml_free(&a);
}

Test(aml, return_of_a_package)
{
	struct aml a;
	aml_init(&a);
	size_t m = aml_method_begin(&a, "ADDR", 0, false);
	aml_return(&a);
	size_t p = aml_package_begin(&a, 2);
	aml_integer(&a, 0x9F000);
	aml_integer(&a, 0);
	aml_pkg_end(&a, p);
	aml_pkg_end(&a, m);
	static const uint8_t want[] = {
	    0x14, 16,	'A',  'D',  'D',  'R', 0x00, /* Method(ADDR, 0, NotSerialized) */
	    0xA4, 0x12, 0x08, 0x02,		     /* Return(Package(2) { */
	    0x0C, 0x00, 0xF0, 0x09, 0x00, 0x00};     /* DWord 0x9F000, Zero }) */
	expect_bytes(&a, want, sizeof(want));
	aml_free(&a);
}
