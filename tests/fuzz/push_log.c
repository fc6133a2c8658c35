/* push_log.c - virtq_push() recorded for the checks (push_log.h). */
#include "push_log.h"

#include <endian.h>
#include <string.h>

#include "guest_mem.h"

struct push_log push_log;

int __real_virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

void push_log_clear(void)
{
	push_log.n = 0;
	push_log.lost = 0;
}

/* The buffer of a plain writable head descriptor, when it lies inside one RAM region and
 * clear of the descriptor table (else a guest could have overwritten it). */
static void peek(const struct virtq *vq, uint16_t head, struct push_entry *e)
{
	e->seen = 0;
	if (!vq->desc || head >= vq->size)
		return;
	const struct vring_desc *d = &vq->desc[head];
	uint64_t addr = le64toh(d->addr);
	uint32_t dlen = le32toh(d->len);
	if (le16toh(d->flags) != VRING_DESC_F_WRITE)
		return;
	uint32_t n = dlen < sizeof(e->bytes) ? dlen : (uint32_t)sizeof(e->bytes);
	uint64_t table = vq->desc_gpa, table_end = table + 16ULL * vq->size;
	const uint8_t *p = guest_ptr(vq->mem, addr, n);
	if (!p || (addr < table_end && table < addr + n))
		return;
	memcpy(e->bytes, p, n);
	e->seen = n;
}

int __wrap_virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	if (push_log.n < PUSH_LOG_MAX) {
		struct push_entry *e = &push_log.e[push_log.n++];
		e->vq = vq;
		e->head = head;
		e->len = len;
		peek(vq, head, e);
	} else {
		push_log.lost++;
	}
	return __real_virtq_push(vq, head, len);
}
