/* ged.c - the Generic Event Device: minnow's way to tell a hardware-reduced
 * ACPI guest that its power button was pressed or its generation ID changed. */
#include "ged.h"

#include <string.h>

#include "log.h"
#include "platform.h"

static struct log_limit bad_access_limit = {.burst = 5};

void ged_init(struct ged *g, const struct irq_sink *irq, unsigned gsi)
{
	memset(g, 0, sizeof(*g));
	if (irq)
		g->irq = *irq;
	g->gsi = gsi;
}

uint32_t ged_raise(struct ged *g, uint32_t bits)
{
	bits &= GED_EVENTS;
	if (!bits)
		return 0;
	uint32_t old = atomic_fetch_or(&g->events, bits);
	/* An edge: the line is never left asserted, so a later event makes a
	 * new rising edge whatever the guest did with the first. */
	if (g->irq.set_level) {
		g->irq.set_level(g->irq.opaque, g->gsi, true);
		g->irq.set_level(g->irq.opaque, g->gsi, false);
	}
	return bits & ~old;
}

int ged_power_button(struct ged *g)
{
	return ged_raise(g, GED_EVENT_POWER_BUTTON) ? 1 : 0;
}

static void ged_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct ged *g = opaque;
	memset(data, 0xff, len);
	if (offset == GED_REG_EVENTS && len == 4) {
		uint32_t v = atomic_load(&g->events);
		memcpy(data, &v, 4);
		return;
	}
	log_limited(&bad_access_limit, "ged: %u-byte read at 0x%llx ignored", len,
		    (unsigned long long)offset);
}

static void ged_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct ged *g = opaque;
	if (offset != GED_REG_EVENTS || len != 4) {
		log_limited(&bad_access_limit, "ged: %u-byte write at 0x%llx ignored", len,
			    (unsigned long long)offset);
		return;
	}
	uint32_t v;
	memcpy(&v, data, 4);
	if (v & ~GED_EVENTS)
		log_limited(&bad_access_limit, "ged: unknown event bits 0x%x ignored",
			    v & ~GED_EVENTS);
	atomic_fetch_and(&g->events, ~(v & GED_EVENTS));
}

const struct mmio_ops ged_mmio_ops = {
    .read = ged_read,
    .write = ged_write,
};
