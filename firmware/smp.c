/* smp.c - the smp scenario: start every application processor with
 * INIT-SIPI-SIPI through the xAPIC, let each report its APIC ID, and compare
 * the count with cpus=N from the command line; and smp-end: every CPU ends
 * the VM at the same moment. */
#include "fw.h"
#include "io.h"
#include "trampoline.h"

#define ICR_INIT	 0x00000500u
#define ICR_STARTUP	 0x00000600u
#define ICR_ASSERT	 0x00004000u
#define ICR_LEVEL	 0x00008000u
#define ICR_ALL_BUT_SELF 0x000C0000u

#define AP_WAIT_US    5000000u /* give up on missing CPUs after ~5 s */
#define EXTRA_WAIT_US 50000u   /* after N reported: watch for surplus CPUs */

static uint32_t ap_slots;    /* next free slot in ap_ids */
static uint32_t ap_reported; /* APs whose ID is stored */
static uint32_t ap_ids[FW_MAX_CPUS];
static uint32_t end_together; /* smp-end: APs wait for end_go, then exit */
static uint32_t end_go;

/* The status every CPU of smp-end writes to the EXIT register. */
#define SMP_END_STATUS 42

void ap_main(void)
{
	unsigned id = lapic_id();
	uint32_t slot = __atomic_fetch_add(&ap_slots, 1, __ATOMIC_RELAXED);
	if (slot < FW_MAX_CPUS) {
		ap_ids[slot] = id;
		__atomic_fetch_add(&ap_reported, 1, __ATOMIC_RELEASE);
	}
	if (__atomic_load_n(&end_together, __ATOMIC_ACQUIRE)) {
		while (!__atomic_load_n(&end_go, __ATOMIC_ACQUIRE))
			barrier();
		fw_exit(SMP_END_STATUS);
	}
	cpu_halt_forever();
}

static uint32_t reported(void)
{
	return __atomic_load_n(&ap_reported, __ATOMIC_ACQUIRE);
}

/* cpus=N from the command line in *expect (0 when absent); false when bad. */
static bool expected_cpus(const struct fw_boot_info *bi, uint64_t *expect)
{
	char buf[16];
	*expect = 0;
	if (cmdline_value(bi->cmdline, "cpus", buf, sizeof(buf)) &&
	    (!parse_u64(buf, expect) || *expect < 1 || *expect > FW_MAX_CPUS)) {
		fw_printf("minnow-test: bad cpus=%s\n", buf);
		return false;
	}
	return true;
}

/* Starts every AP and waits until `expect` CPUs in all (0: as many as
 * answer) have reported; returns how many APs did. */
static uint32_t start_aps(uint64_t expect)
{
	memcpy((void *)(uintptr_t)AP_TRAMPOLINE_ADDR, ap_trampoline_start,
	       (size_t)(ap_trampoline_end - ap_trampoline_start));
	lapic_enable();
	lapic_send_ipi(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_LEVEL | ICR_INIT);
	fw_delay_us(10000);
	for (int i = 0; i < 2; i++) {
		lapic_send_ipi(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | AP_SIPI_VECTOR);
		fw_delay_us(200);
	}

	uint32_t t0 = fw_time_us();
	uint32_t want_aps = expect ? (uint32_t)expect - 1 : FW_MAX_CPUS;
	while (reported() < want_aps && fw_time_us() - t0 < AP_WAIT_US)
		barrier();
	if (reported() >= want_aps)
		fw_delay_us(EXTRA_WAIT_US);
	return reported();
}

int test_smp(const struct fw_boot_info *bi)
{
	uint64_t expect;
	if (!expected_cpus(bi, &expect))
		return FW_EXIT_USAGE;
	unsigned bsp = lapic_id();
	uint32_t n = start_aps(expect);
	unsigned ids[FW_MAX_CPUS + 1];
	ids[0] = bsp;
	for (uint32_t i = 0; i < n; i++)
		ids[i + 1] = ap_ids[i];
	n++;
	/* Insertion sort: a handful of entries. */
	for (uint32_t i = 1; i < n; i++) {
		unsigned v = ids[i];
		uint32_t j = i;
		for (; j > 0 && ids[j - 1] > v; j--)
			ids[j] = ids[j - 1];
		ids[j] = v;
	}
	for (uint32_t i = 0; i < n; i++)
		fw_printf("minnow-test: cpu apic_id=%u%s\n", ids[i], ids[i] == bsp ? " bsp" : "");
	fw_printf("minnow-test: cpus=%u\n", n);
	if (!expect)
		return FW_EXIT_OK;
	return n == expect ? FW_EXIT_OK : FW_EXIT_FAIL;
}

int test_smp_end(const struct fw_boot_info *bi)
{
	uint64_t expect;
	if (!expected_cpus(bi, &expect))
		return FW_EXIT_USAGE;
	__atomic_store_n(&end_together, 1, __ATOMIC_RELEASE);
	uint32_t n = start_aps(expect) + 1;
	fw_printf("minnow-test: smp-end cpus=%u status=%d\n", n, SMP_END_STATUS);
	if (expect && n != expect)
		return FW_EXIT_FAIL;
	__atomic_store_n(&end_go, 1, __ATOMIC_RELEASE);
	fw_exit(SMP_END_STATUS);
}
