/* acpi_pm.c - ACPI sleep and reset registers: how a guest powers off or reboots. */
#include "acpi_pm.h"

#include <string.h>

#include "log.h"
#include "platform.h"

static struct log_limit bad_access_limit = {.burst = 5};

void acpi_pm_init(struct acpi_pm *pm, const struct acpi_pm_hooks *hooks)
{
	memset(pm, 0, sizeof(*pm));
	pm->hooks = *hooks;
}

static void acpi_pm_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct acpi_pm *pm = opaque;
	memset(data, 0xff, len);
	if (len != 1) {
		log_limited(&bad_access_limit, "acpi-pm: %u-byte read at 0x%llx ignored", len,
			    (unsigned long long)offset);
		return;
	}
	uint8_t *value = data;
	switch (offset) {
	case ACPI_REG_SLEEP_CTL:
	case ACPI_REG_RESET:
		*value = 0;
		break;
	case ACPI_REG_SLEEP_STS:
		*value = atomic_load(&pm->sleep_status);
		break;
	default:
		log_limited(&bad_access_limit, "acpi-pm: read of unknown register 0x%llx",
			    (unsigned long long)offset);
		break;
	}
}

static void sleep_control(struct acpi_pm *pm, uint8_t value)
{
	if (!(value & ACPI_SLP_EN))
		return;
	unsigned type = (value & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT;
	if (type == ACPI_SLP_TYP_S5) {
		if (pm->hooks.poweroff)
			pm->hooks.poweroff(pm->hooks.opaque);
		return;
	}
	/* Only \_S5 is declared; wake straight away rather than leave the
	 * guest polling WAK_STS forever. */
	log_limited(&bad_access_limit, "acpi-pm: sleep type %u not supported, waking", type);
	atomic_fetch_or(&pm->sleep_status, (uint8_t)ACPI_WAK_STS);
}

static void acpi_pm_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct acpi_pm *pm = opaque;
	if (len != 1) {
		log_limited(&bad_access_limit, "acpi-pm: %u-byte write at 0x%llx ignored", len,
			    (unsigned long long)offset);
		return;
	}
	uint8_t value = *(const uint8_t *)data;
	switch (offset) {
	case ACPI_REG_SLEEP_CTL:
		sleep_control(pm, value);
		break;
	case ACPI_REG_SLEEP_STS:
		atomic_fetch_and(&pm->sleep_status, (uint8_t) ~(value & ACPI_WAK_STS));
		break;
	case ACPI_REG_RESET:
		if (value == ACPI_RESET_VALUE) {
			if (pm->hooks.reset)
				pm->hooks.reset(pm->hooks.opaque);
		} else {
			log_limited(&bad_access_limit,
				    "acpi-pm: reset register write 0x%02x ignored", value);
		}
		break;
	default:
		log_limited(&bad_access_limit, "acpi-pm: write to unknown register 0x%llx",
			    (unsigned long long)offset);
		break;
	}
}

const struct mmio_ops acpi_pm_mmio_ops = {
    .read = acpi_pm_read,
    .write = acpi_pm_write,
};
