/* ged.h - the ACPI Generic Event Device (hardware-reduced ACPI, _HID
 * ACPI0013): one event register and one interrupt line through which minnow
 * signals the guest: a power-button press, a new VM generation ID. The
 * register map and the event bits are in platform.h (GED_*); the DSDT's
 * GED0._EVT turns each bit into a Notify (PWRB, VGEN). */
#ifndef MINNOW_GED_H
#define MINNOW_GED_H

#include <stdatomic.h>
#include <stdint.h>

#include "bus.h"
#include "irq.h"

struct ged {
	struct irq_sink irq; /* set_level NULL: no interrupt line */
	unsigned gsi;
	_Atomic uint32_t events; /* pending GED_EVENTS bits */
};

/* MMIO handlers (opaque = struct ged), for a range of GED_MMIO_SIZE at
 * GED_MMIO_BASE. The register is GED_REG_EVENTS, 4-byte accesses:
 *   read   the pending events (no side effect)
 *   write  acknowledges: clears the pending bits written as 1; bits that
 *          are no event are ignored.
 * Any other offset or access size reads all-ones and is ignored on write
 * (rate-limited log). Safe from any vCPU thread, concurrently with
 * ged_raise(). */
extern const struct mmio_ops ged_mmio_ops;

/* Initialises the device with no event pending; its interrupt is line `gsi`
 * of `irq` (NULL: none, for tests). */
void ged_init(struct ged *g, const struct irq_sink *irq, unsigned gsi);

/* Raises events `bits` (GED_EVENTS bits; others are ignored): sets them
 * pending and sends an edge on the line (asserted, then released), whether
 * or not they were already pending (the guest may have missed the first
 * edge only if it had not yet unmasked the line, and the IOAPIC keeps such
 * an edge). No edge when no bit of `bits` is an event. Returns the bits of
 * `bits` that were newly set (0: all were still pending). Any thread
 * (minnow's main thread while the vCPUs run). */
uint32_t ged_raise(struct ged *g, uint32_t bits);

/* Presses the power button: ged_raise(g, GED_EVENT_POWER_BUTTON). Returns
 * 1 when the bit was newly set, 0 when a press was still pending. */
int ged_power_button(struct ged *g);

#endif
