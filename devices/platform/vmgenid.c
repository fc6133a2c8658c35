/* vmgenid.c - the VM Generation ID: a random ID in guest RAM, renewed at
 * every restore so that VMs restored from one snapshot can tell they are
 * distinct (and reseed what they derived from randomness). */
#include "vmgenid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

_Static_assert(VMGENID_SIZE == 16, "a GUID");

int vmgenid_random(uint8_t id[VMGENID_SIZE])
{
	uint8_t b[VMGENID_SIZE];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	b[7] = (uint8_t)((b[7] & 0x0F) | 0x40); /* version 4: random */
	b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	memcpy(id, b, sizeof(b));
	return 0;
}

int vmgenid_generate(struct vmgenid *v, const struct guest_mem *mem)
{
	void *dst = guest_ptr(mem, VMGENID_ADDR, VMGENID_SIZE);
	if (!dst)
		return -EFAULT;
	uint8_t id[VMGENID_SIZE];
	int r = vmgenid_random(id);
	if (r < 0)
		return r;
	memcpy(dst, id, sizeof(id));
	memcpy(v->id, id, sizeof(id));
	return 0;
}

int vmgenid_restored(struct vmgenid *v, const struct guest_mem *mem, struct ged *g)
{
	int r = vmgenid_generate(v, mem);
	if (r == 0 && g)
		ged_raise(g, GED_EVENT_VMGENID);
	return r;
}

void vmgenid_hex(const uint8_t id[VMGENID_SIZE], char out[2 * VMGENID_SIZE + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < VMGENID_SIZE; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 0x0F];
	}
	out[2 * VMGENID_SIZE] = '\0';
}
