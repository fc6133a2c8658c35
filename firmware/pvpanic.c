/* pvpanic.c - the panic and pvpanic-probe scenarios: a guest reporting a
 * panic through minnow's pvpanic register, and a guest checking that the
 * register reports its events and shrugs off everything else. */
#include "fw.h"
#include "io.h"
#include "platform.h"

#define PVPANIC_REG (PVPANIC_MMIO_BASE + PVPANIC_REG_EVENTS)

/* test=panic: what Linux's pvpanic driver does on panic. minnow ends the
 * VM on the write (status 126); getting past it means there is no pvpanic
 * device ([vm] pvpanic = off). */
int test_panic(const struct fw_boot_info *bi)
{
	fw_printf("minnow-test: pvpanic events=0x%x\n", mmio_read8(PVPANIC_REG));
	fw_printf("minnow-test: panic now\n");
	mmio_write8(PVPANIC_REG, PVPANIC_PANICKED);
	fw_printf("minnow-test: panic ignored\n");
	return FW_EXIT_FAIL;
}

static unsigned probe_check(const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return 0;
	fw_printf("minnow-test: pvpanic-probe %s=0x%lx want 0x%lx\n", what, got, want);
	return 1;
}

/* test=pvpanic-probe: the register reads the supported events; other
 * offsets and sizes read all-ones; writes that are not a 1-byte PANICKED
 * at the register, and CRASH_LOADED, leave the VM running. */
int test_pvpanic_probe(const struct fw_boot_info *bi)
{
	unsigned bad = 0;
	uint8_t events = mmio_read8(PVPANIC_REG);
	bad += probe_check("events", events, PVPANIC_EVENTS);
	bad += probe_check("offset1", mmio_read8(PVPANIC_REG + 1), 0xff);
	bad += probe_check("read32", mmio_read32(PVPANIC_REG), 0xffffffffu);
	mmio_write32(PVPANIC_REG, PVPANIC_PANICKED);
	mmio_write8(PVPANIC_REG + 1, PVPANIC_PANICKED);
	mmio_write8(PVPANIC_REG, 0);
	mmio_write8(PVPANIC_REG, 1u << 2);
	mmio_write8(PVPANIC_REG, PVPANIC_CRASH_LOADED);
	bad += probe_check("events-after", mmio_read8(PVPANIC_REG), PVPANIC_EVENTS);
	if (bad)
		return FW_EXIT_FAIL;
	fw_printf("minnow-test: pvpanic-probe ok events=0x%x\n", events);
	return FW_EXIT_OK;
}
