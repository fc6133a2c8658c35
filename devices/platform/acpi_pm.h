/* acpi_pm.h - the ACPI power-management device: the hardware-reduced sleep
 * control/status registers and the reset register the FADT points at. The
 * register map is in platform.h (ACPI_REG_*). */
#ifndef MINNOW_ACPI_PM_H
#define MINNOW_ACPI_PM_H

#include <stdatomic.h>
#include <stdint.h>

#include "bus.h"

/* Sleep control and status register bits (ACPI 6.5 sections 4.8.3.7-8). */
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK  (0x7u << ACPI_SLP_TYP_SHIFT)
#define ACPI_SLP_EN	   (1u << 5)
#define ACPI_WAK_STS	   (1u << 7)

struct acpi_pm_hooks {
	/* The guest entered S5 (SLP_EN with SLP_TYP == ACPI_SLP_TYP_S5). */
	void (*poweroff)(void *opaque);
	/* The guest wrote ACPI_RESET_VALUE to the reset register. */
	void (*reset)(void *opaque);
	void *opaque;
};

struct acpi_pm {
	struct acpi_pm_hooks hooks;
	_Atomic uint8_t sleep_status;
};

/* MMIO handlers (opaque = struct acpi_pm), for a range of ACPI_MMIO_SIZE at
 * ACPI_MMIO_BASE. Registers take 1-byte accesses; other sizes, unknown
 * offsets and unsupported sleep states are ignored with a rate-limited
 * log (reads of them see all-ones). Sleep control and reset read 0; sleep
 * status reads WAK_STS, cleared by writing 1 to it. Sleeping to a state
 * other than S5 is not supported: the guest wakes at once (WAK_STS set). */
extern const struct mmio_ops acpi_pm_mmio_ops;

/* Initialises the device with the VMM's hooks (either may be NULL). */
void acpi_pm_init(struct acpi_pm *pm, const struct acpi_pm_hooks *hooks);

#endif
