/* power_button.c - the power-button scenario: minnow presses the Generic
 * Event Device's power button (minnow-testhooks' MINNOW_TEST_POWER_BUTTON_MS,
 * later the control socket's `shutdown`) and the guest takes the interrupt
 * and acknowledges the event as the DSDT's GED0._EVT does. The register and
 * the line are the fixed ones of platform.h: no ACPI parsing here. */
#include "fw.h"
#include "io.h"
#include "platform.h"

#define GED_REG		(GED_MMIO_BASE + GED_REG_EVENTS)
#define GED_VECTOR	0x40
#define WAKE_VECTOR	0x31
#define WAKE_COUNT	1250000 /* ~20 ms at KVM's 1 GHz APIC bus, divided by 16 */
#define PRESS_WAIT_MS	30000	/* how long to wait for the press, by default */
#define LAPIC_TPR	0x80
#define LAPIC_LVT_TIMER 0x320

static volatile unsigned ged_irqs;
static volatile uint32_t ged_events; /* what the handler read, OR-ed */

/* What _EVT does: read the pending events, write them back to acknowledge. */
static void ged_irq(unsigned vector)
{
	uint32_t events = mmio_read32(GED_REG);
	mmio_write32(GED_REG, events);
	ged_events |= events;
	ged_irqs++;
}

static void wake(unsigned vector)
{
	/* Only wakes the waiting loop so that it can look at the time. */
}

/* Reads the cmdline's `key` (milliseconds, at most an hour) into *ms, which
 * keeps its default when the key is absent. False, after a line, if bad. */
static bool ms_arg(const struct fw_boot_info *bi, const char *key, uint64_t *ms)
{
	char arg[24];
	if (cmdline_value(bi->cmdline, key, arg, sizeof(arg)) &&
	    (!parse_u64(arg, ms) || *ms > 3600000)) {
		fw_printf("minnow-test: power-button: bad %s=%s\n", key, arg);
		return false;
	}
	return true;
}

/* test=power-button [wait_ms=N] [route_after_ms=M]: leaves the GED's
 * IOAPIC pin masked for M ms (default 0), so that a press meanwhile must
 * wait there; routes it, says "ready", then waits up to N ms (default 30 s)
 * for its interrupt; the handler must find the power-button bit, and after
 * its acknowledgement the register must read 0. Exit 0, or 1 with the
 * reason. */
int test_power_button(const struct fw_boot_info *bi)
{
	uint64_t wait_ms = PRESS_WAIT_MS, route_after_ms = 0;
	if (!ms_arg(bi, "wait_ms", &wait_ms) || !ms_arg(bi, "route_after_ms", &route_after_ms))
		return FW_EXIT_USAGE;
	/* A press may already be latched (an early press: its edge waits in the
	 * masked IOAPIC pin); anything else here is not minnow's GED. */
	uint32_t before = mmio_read32(GED_REG);
	if (before != 0 && before != GED_EVENT_POWER_BUTTON) {
		fw_printf("minnow-test: power-button: events=0x%x before any press\n", before);
		return FW_EXIT_FAIL;
	}
	if (before)
		fw_printf("minnow-test: power-button: pressed before the line was routed\n");
	idt_init(256);
	irq_set_handler(GED_VECTOR, ged_irq);
	if (route_after_ms)
		fw_sleep_us((uint32_t)route_after_ms * 1000);
	irq_set_handler(WAKE_VECTOR, wake);
	lapic_enable();
	lapic_write(LAPIC_TPR, 0); /* accept every priority */
	lapic_timer_periodic(WAKE_VECTOR, WAKE_COUNT);
	ioapic_route(GED_GSI, GED_VECTOR, false, lapic_id()); /* edge, as the DSDT says */
	fw_printf("minnow-test: power-button ready\n");

	uint32_t t0 = fw_time_us();
	for (;;) {
		cpu_cli();
		if (ged_irqs || fw_time_us() - t0 > (uint32_t)wait_ms * 1000)
			break;
		cpu_wait_irq();
	}
	lapic_write(LAPIC_LVT_TIMER, 1u << 16); /* masked */
	uint32_t after = mmio_read32(GED_REG);
	if (!ged_irqs) {
		fw_printf("minnow-test: power-button: no interrupt within %lu ms (events=0x%x)\n",
			  wait_ms, after);
		return FW_EXIT_FAIL;
	}
	if (!(ged_events & GED_EVENT_POWER_BUTTON)) {
		fw_printf("minnow-test: power-button: interrupt without the power-button bit "
			  "(events=0x%x)\n",
			  ged_events);
		return FW_EXIT_FAIL;
	}
	if (after != 0) {
		fw_printf("minnow-test: power-button: events=0x%x after the acknowledgement\n",
			  after);
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: power-button pressed events=0x%x irqs=%u after-ack=0x%x\n",
		  ged_events, ged_irqs, after);
	return FW_EXIT_OK;
}
