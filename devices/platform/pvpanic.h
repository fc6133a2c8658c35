/* pvpanic.h - the pvpanic device: one 8-bit register through which a guest
 * reports that it panicked (Linux's pvpanic-mmio driver, ACPI _HID
 * QEMU0001). The register map and event bits are in platform.h
 * (PVPANIC_*). */
#ifndef MINNOW_PVPANIC_H
#define MINNOW_PVPANIC_H

#include <stdatomic.h>

#include "bus.h"

struct pvpanic_hooks {
	/* The guest wrote PANICKED (called once, for the first such write). */
	void (*panicked)(void *opaque);
	void *opaque;
};

struct pvpanic {
	struct pvpanic_hooks hooks;
	_Atomic int panicked_seen;
};

/* MMIO handlers (opaque = struct pvpanic), for a range of PVPANIC_MMIO_SIZE
 * at PVPANIC_MMIO_BASE. The register is PVPANIC_REG_EVENTS, 1-byte
 * accesses:
 *   read   PVPANIC_EVENTS, the events minnow handles
 *   write  an event: PANICKED (alone or with other bits) logs one line and
 *          calls hooks.panicked, once; CRASH_LOADED without PANICKED logs a
 *          rate-limited line and nothing else (the guest goes on to its
 *          crash kernel); other bits are ignored with a rate-limited log.
 * Any other offset or access size reads all-ones and is ignored on write
 * (rate-limited log). */
extern const struct mmio_ops pvpanic_mmio_ops;

/* Initialises the device with the VMM's hooks (panicked may be NULL). */
void pvpanic_init(struct pvpanic *p, const struct pvpanic_hooks *hooks);

#endif
