/* control.c - the guest's way to report boot completion and its exit status. */
#include "control.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "platform.h"
#include "timing.h"

static struct log_limit bad_access_limit = {.burst = 5};

void control_init(struct control *c, const struct control_hooks *hooks)
{
	memset(c, 0, sizeof(*c));
	c->hooks = *hooks;
}

static void control_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	uint32_t value = 0xffffffffu;
	(void)opaque;
	if (len == 4) {
		switch (offset) {
		case CONTROL_REG_MAGIC:
			value = CONTROL_MAGIC;
			break;
		case CONTROL_REG_VERSION:
			value = CONTROL_VERSION;
			break;
		case CONTROL_REG_TIME_US:
			value = (uint32_t)timing_now_us();
			break;
		default:
			value = 0;
			break;
		}
	}
	memset(data, 0xff, len);
	memcpy(data, &value, len < 4 ? len : 4);
}

static void control_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct control *c = opaque;
	uint32_t value;
	if (len != 4) {
		log_limited(&bad_access_limit, "control: %u-byte write at 0x%llx ignored", len,
			    (unsigned long long)offset);
		return;
	}
	memcpy(&value, data, 4);
	switch (offset) {
	case CONTROL_REG_BOOT_DONE:
		if (atomic_exchange(&c->boot_done_seen, 1) == 0 && c->hooks.boot_done)
			c->hooks.boot_done(c->hooks.opaque);
		break;
	case CONTROL_REG_EXIT:
		if (c->hooks.exit)
			c->hooks.exit(c->hooks.opaque, (int)(value & 0xff));
		break;
	case CONTROL_REG_MARK:
		if (value == 0 || value >= CONTROL_MARKS)
			log_limited(&bad_access_limit, "control: mark %u out of range (1..%u)",
				    value, CONTROL_MARKS - 1);
		else
			timing_guest_mark(value);
		break;
	default:
		log_limited(&bad_access_limit, "control: write to unknown register 0x%llx",
			    (unsigned long long)offset);
		break;
	}
}

const struct mmio_ops control_mmio_ops = {
    .read = control_read,
    .write = control_write,
};
