/* ends.c - the scenarios that end the VM in each way the platform knows
 * (or never end it themselves): idle, ticks, uart-flood, boot-hang, acpi-reset,
 * acpi-poweroff, exec-mmio and mmio-crc32. The ACPI ones find their registers as an OS would: RSDP
 * in the BIOS area, XSDT, FADT (reset register, sleep control register)
 * and \_S5 in the DSDT. */
#include "fw.h"
#include "io.h"

/* Unassigned MMIO inside the gap, no memory behind it (test=mmio-wild
 * reads all ones there). */
#define EXEC_MMIO_ADDR 0xE0000000ull

/* test=idle [ms=N]: says so, then halts for good (the host ends the VM),
 * or for N ms and exits 0. */
int test_idle(const struct fw_boot_info *bi)
{
	char arg[24];
	uint64_t ms;
	fw_printf("minnow-test: idle\n");
	if (!cmdline_value(bi->cmdline, "ms", arg, sizeof(arg)))
		cpu_halt_forever();
	if (!parse_u64(arg, &ms) || ms > 3600000) {
		fw_printf("minnow-test: idle: bad ms=%s\n", arg);
		return FW_EXIT_USAGE;
	}
	fw_sleep_us((uint32_t)ms * 1000);
	fw_printf("minnow-test: idle done after %lu ms\n", ms);
	return FW_EXIT_OK;
}

/* test=ticks [ms=N]: "tick K" every N ms (default 20), K = 1, 2, ...,
 * forever (the host ends the VM): while minnow has the VM paused, no tick
 * may appear. */
int test_ticks(const struct fw_boot_info *bi)
{
	char arg[24];
	uint64_t ms = 20;
	if (cmdline_value(bi->cmdline, "ms", arg, sizeof(arg)) &&
	    (!parse_u64(arg, &ms) || ms == 0 || ms > 60000)) {
		fw_printf("minnow-test: ticks: bad ms=%s\n", arg);
		return FW_EXIT_USAGE;
	}
	for (uint64_t k = 1;; k++) {
		fw_sleep_us((uint32_t)ms * 1000);
		fw_printf("minnow-test: tick %lu\n", k);
	}
}

/* test=uart-flood [kib=N]: N KiB (default 256) of 64-byte lines on the
 * console, then "flood done" and halts for good (the host ends the VM). */
int test_uart_flood(const struct fw_boot_info *bi)
{
	char arg[24];
	uint64_t kib = 256;
	if (cmdline_value(bi->cmdline, "kib", arg, sizeof(arg)) &&
	    (!parse_u64(arg, &kib) || kib > 65536)) {
		fw_printf("minnow-test: uart-flood: bad kib=%s\n", arg);
		return FW_EXIT_USAGE;
	}
	for (uint64_t i = 0; i < kib * 16; i++)
		fw_printf("minnow-test: flood %010lu .................................\n", i);
	fw_printf("minnow-test: flood done\n");
	cpu_halt_forever();
}

/* test=boot-hang: fw_main() has not written BOOT_DONE for this one. */
int test_boot_hang(const struct fw_boot_info *bi)
{
	fw_printf("minnow-test: boot-hang: no boot-complete signal, halting\n");
	cpu_halt_forever();
}

/* test=exec-mmio: calls code at an MMIO address with nothing behind it:
 * KVM can neither run nor emulate the fetch. */
int test_exec_mmio(const struct fw_boot_info *bi)
{
	fw_printf("minnow-test: exec-mmio calling 0x%lx\n", (uint64_t)EXEC_MMIO_ADDR);
	void (*fn)(void) = (void (*)(void))(uintptr_t)EXEC_MMIO_ADDR;
	fn();
	fw_printf("minnow-test: exec-mmio returned\n");
	return FW_EXIT_FAIL;
}

/* test=mmio-crc32: crc32 (SSE4.2, general registers only) with its
 * operand in MMIO: the access exits to KVM, whose instruction emulator
 * has no crc32, so it gives up with the instruction's bytes in hand. */
int test_mmio_crc32(const struct fw_boot_info *bi)
{
	uint32_t acc = 0;
	fw_printf("minnow-test: mmio-crc32 reading 0x%lx\n", (uint64_t)EXEC_MMIO_ADDR);
	__asm__ volatile("crc32b (%1), %0" : "+r"(acc) : "r"((uintptr_t)EXEC_MMIO_ADDR) : "memory");
	fw_printf("minnow-test: mmio-crc32 returned 0x%x\n", acc);
	return FW_EXIT_FAIL;
}

/* ---- ACPI ---- */

#define FADT_FLAGS	   112
#define FADT_RESET_REG	   116
#define FADT_RESET_VALUE   128
#define FADT_X_DSDT	   140
#define FADT_SLEEP_CONTROL 244
#define FADT_MIN_LEN	   268 /* up to the sleep status register */
#define FADT_RESET_REG_SUP (1u << 10)
#define SLP_EN		   0x20
#define GAS_SYSTEM_MEMORY  0

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static bool checksum_ok(const uint8_t *p, uint32_t n)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

/* The RSDP by the legacy scan of the BIOS area. */
static const uint8_t *find_rsdp(void)
{
	for (uint64_t a = 0xE0000; a < 0x100000; a += 16) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;
		if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20))
			return p;
	}
	return 0;
}

/* The table with signature `sig` listed in the XSDT (or RSDT), or NULL
 * with a line saying why. */
static const uint8_t *find_table(const char *sig)
{
	const uint8_t *rsdp = find_rsdp();
	if (!rsdp) {
		fw_printf("minnow-test: acpi: no RSDP in 0xE0000-0xFFFFF\n");
		return 0;
	}
	bool x = rsdp[15] >= 2;
	const uint8_t *root = (const uint8_t *)(uintptr_t)(x ? get64(rsdp + 24) : get32(rsdp + 16));
	uint32_t len = get32(root + 4), entry = x ? 8 : 4;
	if (len < 36 || !checksum_ok(root, len)) {
		fw_printf("minnow-test: acpi: bad %s\n", x ? "XSDT" : "RSDT");
		return 0;
	}
	for (uint32_t off = 36; off + entry <= len; off += entry) {
		uint64_t a = x ? get64(root + off) : get32(root + off);
		const uint8_t *t = (const uint8_t *)(uintptr_t)a;
		if (!memcmp(t, sig, 4) && checksum_ok(t, get32(t + 4)))
			return t;
	}
	fw_printf("minnow-test: acpi: no %s table\n", sig);
	return 0;
}

/* Writes `value` to the register a Generic Address Structure names
 * (system memory, byte wide: what minnow describes). */
static bool gas_write8(const char *what, const uint8_t *gas, uint8_t value)
{
	uint64_t addr = get64(gas + 4);
	if (gas[0] != GAS_SYSTEM_MEMORY || !addr) {
		fw_printf("minnow-test: acpi: %s: space %u address 0x%lx not supported\n", what,
			  gas[0], addr);
		return false;
	}
	fw_printf("minnow-test: acpi: %s at 0x%lx <- 0x%x\n", what, addr, value);
	mmio_write8(addr, value);
	return true;
}

static const uint8_t *find_fadt(void)
{
	const uint8_t *f = find_table("FACP");
	if (f && get32(f + 4) < FADT_MIN_LEN) {
		fw_printf("minnow-test: acpi: FADT of %u bytes (want %u)\n", get32(f + 4),
			  FADT_MIN_LEN);
		return 0;
	}
	return f;
}

/* test=acpi-reset: the FADT's reset register, as Linux's reboot=acpi. */
int test_acpi_reset(const struct fw_boot_info *bi)
{
	const uint8_t *f = find_fadt();
	if (!f)
		return FW_EXIT_FAIL;
	if (!(get32(f + FADT_FLAGS) & FADT_RESET_REG_SUP)) {
		fw_printf("minnow-test: acpi: FADT without RESET_REG_SUP\n");
		return FW_EXIT_FAIL;
	}
	if (!gas_write8("reset register", f + FADT_RESET_REG, f[FADT_RESET_VALUE]))
		return FW_EXIT_FAIL;
	fw_sleep_us(1000000);
	fw_printf("minnow-test: acpi-reset: still running 1 s after the reset write\n");
	return FW_EXIT_FAIL;
}

/* SLP_TYPa of \_S5 in the DSDT: the name, PackageOp, PkgLength,
 * NumElements, then an integer (BytePrefix n, Zero or One). -1 if absent. */
static int s5_type(const uint8_t *dsdt)
{
	uint32_t len = get32(dsdt + 4);
	for (uint32_t i = 36; i + 10 <= len; i++) {
		const uint8_t *p = dsdt + i;
		if (memcmp(p, "_S5_", 4) || p[4] != 0x12)
			continue;
		p += 5;
		p += 1 + (*p >> 6); /* PkgLength: lead byte + (bits 7-6) more */
		p++;		    /* NumElements */
		if (p[0] == 0x0A)
			return p[1];
		if (p[0] == 0x00 || p[0] == 0x01)
			return p[0];
	}
	return -1;
}

/* test=acpi-poweroff: S5 through the FADT's sleep control register. */
int test_acpi_poweroff(const struct fw_boot_info *bi)
{
	const uint8_t *f = find_fadt();
	if (!f)
		return FW_EXIT_FAIL;
	const uint8_t *dsdt = (const uint8_t *)(uintptr_t)get64(f + FADT_X_DSDT);
	if (!dsdt || memcmp(dsdt, "DSDT", 4) || !checksum_ok(dsdt, get32(dsdt + 4))) {
		fw_printf("minnow-test: acpi: bad DSDT at %p\n", dsdt);
		return FW_EXIT_FAIL;
	}
	int typ = s5_type(dsdt);
	if (typ < 0) {
		fw_printf("minnow-test: acpi: no \\_S5 package in the DSDT\n");
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: acpi: \\_S5 SLP_TYP=%d\n", typ);
	if (!gas_write8("sleep control register", f + FADT_SLEEP_CONTROL,
			(uint8_t)(((unsigned)typ << 2 & 0x1C) | SLP_EN)))
		return FW_EXIT_FAIL;
	fw_sleep_us(1000000);
	fw_printf("minnow-test: acpi-poweroff: still running 1 s after entering S5\n");
	return FW_EXIT_FAIL;
}
