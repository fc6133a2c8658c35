/* exit_cost.c - the exit-cost scenario: what one guest access costs, by
 * the way the VMM serves it, timed in a loop of n accesses each (n=N on
 * the command line, default 20000) with the control device's TIME_US:
 *   kernel_mmio  a LAPIC register read, served inside KVM;
 *   kick         a virtio-blk QueueNotify write, absorbed by an ioeventfd
 *                (needs a [drive]; nothing new is queued, so the device
 *                finds no request);
 *   isr_read     the same device's InterruptStatus read: an exit to the VMM;
 *   uart_read    the UART's line-status register read: an exit to the VMM;
 *   unclaimed    a read of the last virtio-mmio slot, with no device behind
 *                it: an exit to the VMM;
 *   pio          a read of port 0x80: a port I/O exit to the VMM.
 * Prints "minnow-test: exit-cost KIND n=N ns=NS" per kind (ns per access). */
#include "io.h"
#include "platform.h"
#include "virtio.h"

#define DEFAULT_N     20000u
#define LAPIC_VERSION 0x30 /* a read-only LAPIC register */
#define UART_LSR      5	   /* the UART's line-status register */

enum kind { KERNEL_MMIO, KICK, ISR_READ, UART_READ, UNCLAIMED, PIO };

/* n accesses of `kind` at `addr` (a port for PIO); the elapsed microseconds. */
static uint32_t time_accesses(enum kind kind, uint64_t addr, uint64_t n)
{
	uint32_t t0 = fw_time_us();
	for (uint64_t i = 0; i < n; i++) {
		switch (kind) {
		case KICK:
			mmio_write32(addr, 0);
			break;
		case PIO:
			(void)inb((uint16_t)addr);
			break;
		case UART_READ:
			(void)mmio_read8(addr);
			break;
		default:
			(void)mmio_read32(addr);
			break;
		}
	}
	return fw_time_us() - t0;
}

static void report(const char *name, enum kind kind, uint64_t addr, uint64_t n)
{
	uint32_t us = time_accesses(kind, addr, n);
	fw_printf("minnow-test: exit-cost %s n=%lu ns=%lu\n", name, n, (uint64_t)us * 1000 / n);
}

int test_exit_cost(const struct fw_boot_info *bi)
{
	char arg[16];
	uint64_t n = DEFAULT_N;
	if (cmdline_value(bi->cmdline, "n", arg, sizeof(arg)) && (!parse_u64(arg, &n) || !n)) {
		fw_printf("minnow-test: exit-cost bad n=%s\n", arg);
		return FW_EXIT_USAGE;
	}
	if (!control_present()) {
		fw_printf("minnow-test: exit-cost needs the control device's clock\n");
		return FW_EXIT_FAIL;
	}
	report("kernel_mmio", KERNEL_MMIO, LAPIC_MMIO_BASE + LAPIC_VERSION, n);
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_BLOCK, 0);
	if (d) {
		struct blk *blk = fw_alloc(sizeof(*blk), 64);
		if (!blk_open(blk, d, 0, 16))
			return FW_EXIT_FAIL;
		report("kick", KICK, d->base + VIRTIO_MMIO_QUEUE_NOTIFY, n);
		report("isr_read", ISR_READ, d->base + VIRTIO_MMIO_INTERRUPT_STATUS, n);
	} else {
		fw_printf("minnow-test: exit-cost no virtio-blk device: no kick or isr_read\n");
	}
	report("uart_read", UART_READ, UART_MMIO_BASE + UART_LSR, n);
	report("unclaimed", UNCLAIMED,
	       VIRTIO_MMIO_BASE + (VIRTIO_MMIO_SLOTS - 1) * VIRTIO_MMIO_STRIDE, n);
	report("pio", PIO, 0x80, n);
	fw_printf("minnow-test: exit-cost done\n");
	return FW_EXIT_OK;
}
