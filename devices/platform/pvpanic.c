/* pvpanic.c - the guest's way to report a kernel panic, so that a panicked
 * guest ends the VM with a status of its own instead of hanging or
 * rebooting. */
#include "pvpanic.h"

#include <stdint.h>
#include <string.h>

#include "log.h"
#include "platform.h"

/* Separate limits, so that stray accesses cannot hide a CRASH_LOADED. */
static struct log_limit bad_access_limit = {.burst = 5};
static struct log_limit crash_loaded_limit = {.burst = 5};

void pvpanic_init(struct pvpanic *p, const struct pvpanic_hooks *hooks)
{
	memset(p, 0, sizeof(*p));
	p->hooks = *hooks;
}

static void pvpanic_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	(void)opaque;
	memset(data, 0xff, len);
	if (offset == PVPANIC_REG_EVENTS && len == 1) {
		*(uint8_t *)data = PVPANIC_EVENTS;
		return;
	}
	log_limited(&bad_access_limit, "pvpanic: %u-byte read at 0x%llx ignored", len,
		    (unsigned long long)offset);
}

static void pvpanic_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pvpanic *p = opaque;
	if (offset != PVPANIC_REG_EVENTS || len != 1) {
		log_limited(&bad_access_limit, "pvpanic: %u-byte write at 0x%llx ignored", len,
			    (unsigned long long)offset);
		return;
	}
	uint8_t value = *(const uint8_t *)data;
	if (value & ~PVPANIC_EVENTS)
		log_limited(&bad_access_limit, "pvpanic: unsupported event bits 0x%02x ignored",
			    value & ~PVPANIC_EVENTS);
	/* As in QEMU: PANICKED wins over CRASH_LOADED when both are set. */
	if (value & PVPANIC_PANICKED) {
		if (atomic_exchange(&p->panicked_seen, 1) != 0)
			return;
		log_error("the guest panicked (pvpanic PANICKED)");
		if (p->hooks.panicked)
			p->hooks.panicked(p->hooks.opaque);
	} else if (value & PVPANIC_CRASH_LOADED) {
		log_limited(&crash_loaded_limit,
			    "the guest panicked and runs its crash kernel (pvpanic CRASH_LOADED); "
			    "the VM goes on");
	}
}

const struct mmio_ops pvpanic_mmio_ops = {
    .read = pvpanic_read,
    .write = pvpanic_write,
};
