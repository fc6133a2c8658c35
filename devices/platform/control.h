/* control.h - the minnow control device: a page of MMIO registers through
 * which the guest says "boot complete", "exit with status N" and "reached
 * mark N" (timestamped for --timings and minnow bench). The
 * register map is in platform.h (CONTROL_REG_*). */
#ifndef MINNOW_CONTROL_H
#define MINNOW_CONTROL_H

#include "bus.h"

struct control_hooks {
	/* The guest wrote BOOT_DONE (called once, for the first write). */
	void (*boot_done)(void *opaque);
	/* The guest wrote EXIT with `status` (0-255). */
	void (*exit)(void *opaque, int status);
	void *opaque;
};

struct control {
	struct control_hooks hooks;
	_Atomic int boot_done_seen;
};

/* MMIO handlers (opaque = struct control). Registers take 4-byte accesses;
 * other sizes read all-ones and are ignored on write. */
extern const struct mmio_ops control_mmio_ops;

/* Initialises the device with the VMM's hooks. */
void control_init(struct control *c, const struct control_hooks *hooks);

#endif
