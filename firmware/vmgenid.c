/* vmgenid.c - the VM generation ID scenario: the ID is read where
 * platform.h puts it (no ACPI parsing here; the DSDT's VGEN.ADDR names the
 * same address), and the GED's interrupt is counted for the
 * GED_EVENT_VMGENID bit, acknowledged as the DSDT's GED0._EVT does. */
#include "fw.h"
#include "io.h"
#include "platform.h"

#define GED_REG	   (GED_MMIO_BASE + GED_REG_EVENTS)
#define GED_VECTOR 0x40

static volatile unsigned vmgenid_events; /* GED interrupts with the vmgenid bit */

static void ged_irq(unsigned vector)
{
	uint32_t events = mmio_read32(GED_REG);
	mmio_write32(GED_REG, events);
	if (events & GED_EVENT_VMGENID)
		vmgenid_events++;
}

/* The GED's interrupt to ged_irq(), edge-triggered as the DSDT says. */
static void ged_irq_setup(void)
{
	idt_init(256);
	irq_set_handler(GED_VECTOR, ged_irq);
	lapic_enable();
	lapic_write(0x80, 0); /* TPR: accept every priority */
	ioapic_route(GED_GSI, GED_VECTOR, false, lapic_id());
}

/* test=warm-hello: says "warm-hello ready", then halts until the generation
 * ID changes (a restore), says hello and exits 0: the hello of a VM
 * restored from a snapshot taken while it waits. */
int test_warm_hello(const struct fw_boot_info *bi)
{
	(void)bi;
	ged_irq_setup();
	fw_printf("minnow-test: warm-hello ready\n");
	for (;;) {
		__asm__ volatile("cli");
		if (vmgenid_events)
			break;
		__asm__ volatile("sti; hlt"); /* sti's shadow: no wake-up is missed */
	}
	__asm__ volatile("sti");
	fw_printf("minnow-test: hello after restore\n");
	return FW_EXIT_OK;
}

/* test=vmgenid-ticks [ms=N]: every N ms (default 20) "vmgenid tick K
 * id=<32 hex digits> events=E", K = 1, 2, ..., forever (the host ends the
 * VM); the ID's bytes in memory order, E the GED interrupts so far that
 * carried GED_EVENT_VMGENID (0 until a restore). */
int test_vmgenid_ticks(const struct fw_boot_info *bi)
{
	char arg[24];
	uint64_t ms = 20;
	if (cmdline_value(bi->cmdline, "ms", arg, sizeof(arg)) &&
	    (!parse_u64(arg, &ms) || ms == 0 || ms > 60000)) {
		fw_printf("minnow-test: vmgenid-ticks: bad ms=%s\n", arg);
		return FW_EXIT_USAGE;
	}
	ged_irq_setup();
	for (uint64_t k = 1;; k++) {
		fw_sleep_us((uint32_t)ms * 1000);
		char hex[2 * VMGENID_SIZE + 1];
		for (unsigned i = 0; i < VMGENID_SIZE; i++) {
			uint8_t b = mmio_read8(VMGENID_ADDR + i);
			hex[2 * i] = "0123456789abcdef"[b >> 4];
			hex[2 * i + 1] = "0123456789abcdef"[b & 0x0F];
		}
		hex[2 * VMGENID_SIZE] = '\0';
		fw_printf("minnow-test: vmgenid tick %lu id=%s events=%u\n", k, hex,
			  vmgenid_events);
	}
}
