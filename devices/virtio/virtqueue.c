/* virtqueue.c - split virtqueue: ring checks, the chain walker, used ring and
 * notification suppression, with explicit memory ordering against the guest. */
#include "virtqueue.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#define DESC_SIZE 16u /* sizeof(struct vring_desc), fixed by the spec */

_Static_assert(sizeof(struct vring_desc) == DESC_SIZE, "descriptor layout");
_Static_assert(sizeof(struct vring_used_elem) == 8, "used element layout");

/* Bytes of each ring part for a queue of `size` entries (spec 2.7),
 * including the trailing used_event / avail_event fields. */
static uint64_t desc_table_bytes(uint32_t size)
{
	return (uint64_t)DESC_SIZE * size;
}

static uint64_t avail_ring_bytes(uint32_t size)
{
	return 6 + 2ULL * size;
}

static uint64_t used_ring_bytes(uint32_t size)
{
	return 6 + 8ULL * size;
}

static bool is_power_of_two(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

void virtq_init(struct virtq *vq, const struct guest_mem *mem, uint16_t max_size)
{
	assert(is_power_of_two(max_size));
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->max_size = max_size;
	vq->size = max_size;
}

void virtq_reset(struct virtq *vq)
{
	virtq_init(vq, vq->mem, vq->max_size);
}

int virtq_enable(struct virtq *vq, uint64_t features)
{
	uint32_t size = vq->size;
	if (!is_power_of_two(size) || size > vq->max_size)
		return -EINVAL;
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
		return -EINVAL;
	void *desc = guest_ptr(vq->mem, vq->desc_gpa, desc_table_bytes(size));
	void *avail = guest_ptr(vq->mem, vq->avail_gpa, avail_ring_bytes(size));
	void *used = guest_ptr(vq->mem, vq->used_gpa, used_ring_bytes(size));
	if (!desc || !avail || !used)
		return -EFAULT;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	vq->last_avail_idx = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->ready = true;
	return 0;
}

void virtq_disable(struct virtq *vq)
{
	vq->ready = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

void virtq_chain_init(struct virtq_chain *chain, struct virtq_seg *segs, unsigned seg_cap)
{
	memset(chain, 0, sizeof(*chain));
	chain->segs = segs;
	chain->seg_cap = seg_cap;
}

/* Guest-shared ring fields: single loads and stores the compiler cannot
 * split, merge or repeat. */
static uint16_t load16(const uint16_t *p, int order)
{
	return le16toh(__atomic_load_n(p, order));
}

static void store16(uint16_t *p, uint16_t v, int order)
{
	__atomic_store_n(p, htole16(v), order);
}

/* Copies one descriptor out of guest memory. The compiler barrier makes the
 * local copy the only value used afterwards: the guest may rewrite the
 * descriptor at any time, and it is validated once, here, in the copy. The
 * table may be unaligned (indirect tables have no alignment rule). */
static struct vring_desc read_desc(const uint8_t *table, uint32_t index)
{
	struct vring_desc d;
	memcpy(&d, table + (size_t)index * DESC_SIZE, sizeof(d));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return d;
}

/* Appends descriptor `d` (already known not to be indirect) to the chain. */
static int add_segment(struct virtq *vq, struct virtq_chain *c, const struct vring_desc *d)
{
	uint16_t flags = le16toh(d->flags);
	uint32_t len = le32toh(d->len);
	bool writable = flags & VRING_DESC_F_WRITE;
	if (!writable && c->num_segs > c->num_readable)
		return -EINVAL; /* readable after writable */
	if (c->num_segs >= c->seg_cap)
		return -E2BIG;
	if (c->readable_bytes + c->writable_bytes + len > UINT32_MAX)
		return -EOVERFLOW;
	void *host = guest_ptr(vq->mem, le64toh(d->addr), len);
	if (!host)
		return -EFAULT;
	c->segs[c->num_segs++] = (struct virtq_seg){host, len, writable};
	if (writable) {
		c->writable_bytes += len;
	} else {
		c->num_readable++;
		c->readable_bytes += len;
	}
	return 0;
}

/* Switches the walk to the indirect table `d` points at. */
static int enter_indirect(struct virtq *vq, const struct vring_desc *d, const uint8_t **table,
			  uint32_t *table_len)
{
	uint16_t flags = le16toh(d->flags);
	uint32_t len = le32toh(d->len);
	if (!vq->indirect || (flags & VRING_DESC_F_NEXT))
		return -EINVAL;
	if (len == 0 || len % DESC_SIZE)
		return -EINVAL;
	const uint8_t *p = guest_ptr(vq->mem, le64toh(d->addr), len);
	if (!p)
		return -EFAULT;
	*table = p;
	*table_len = len / DESC_SIZE;
	return 0;
}

/* Walks the chain starting at `head` (< size) into `c`. Each table is
 * walked at most table-length steps, so a looped chain ends in -ELOOP. */
static int walk_chain(struct virtq *vq, uint16_t head, struct virtq_chain *c)
{
	c->head = head;
	c->num_segs = c->num_readable = 0;
	c->readable_bytes = c->writable_bytes = 0;
	const uint8_t *table = (const uint8_t *)vq->desc;
	uint32_t table_len = vq->size;
	uint32_t steps_left = table_len;
	bool indirect = false;
	uint32_t index = head;
	for (;;) {
		if (index >= table_len)
			return -EINVAL;
		if (steps_left-- == 0)
			return -ELOOP;
		struct vring_desc d = read_desc(table, index);
		uint16_t flags = le16toh(d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return -EINVAL; /* nested */
			int r = enter_indirect(vq, &d, &table, &table_len);
			if (r < 0)
				return r;
			indirect = true;
			steps_left = table_len;
			index = 0;
			continue;
		}
		int r = add_segment(vq, c, &d);
		if (r < 0)
			return r;
		if (!(flags & VRING_DESC_F_NEXT))
			return 1;
		index = le16toh(d.next);
	}
}

/* avail_event follows the used ring's last element; used_event follows
 * the available ring's last entry. */
static uint16_t *avail_event(struct virtq *vq)
{
	return (uint16_t *)((uint8_t *)vq->used + offsetof(struct vring_used, ring) +
			    sizeof(struct vring_used_elem) * vq->size);
}

static uint16_t *used_event(struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

bool virtq_has_avail(const struct virtq *vq)
{
	return vq->ready && load16(&vq->avail->idx, __ATOMIC_ACQUIRE) != vq->last_avail_idx;
}

int virtq_pop(struct virtq *vq, struct virtq_chain *chain)
{
	if (!vq->ready)
		return 0;
	/* Acquire: the ring entry and descriptors are read after the index. */
	uint16_t avail_idx = load16(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail_idx) {
		if (!vq->event_idx)
			return 0;
		/* Ask for a kick at the next buffer, then look again: the
		 * driver may have added one before seeing avail_event. */
		store16(avail_event(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = load16(&vq->avail->idx, __ATOMIC_ACQUIRE);
		if (avail_idx == vq->last_avail_idx)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail_idx) > vq->size)
		return -EINVAL;
	uint32_t slot = vq->last_avail_idx & (vq->size - 1);
	uint16_t head = load16(&vq->avail->ring[slot], __ATOMIC_RELAXED);
	int r = walk_chain(vq, head, chain);
	if (r < 0)
		return r;
	vq->last_avail_idx++;
	if (vq->event_idx)
		store16(avail_event(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
	return 1;
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail_idx--;
	if (vq->ready && vq->event_idx)
		store16(avail_event(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	if (!vq->ready || head >= vq->size)
		return -EINVAL;
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release: the element is visible before the index that exposes it. */
	store16(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool virtq_should_notify(struct virtq *vq)
{
	if (!vq->ready)
		return false;
	/* The used idx store must be visible before reading the driver's
	 * suppression fields, or both sides may decide not to act. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint16_t old = vq->signalled_used;
	uint16_t now = vq->used_idx;
	bool old_valid = vq->signalled_used_valid;
	vq->signalled_used = now;
	vq->signalled_used_valid = true;
	if (old == now)
		return false; /* nothing pushed since the last decision (or enable) */
	if (!vq->event_idx)
		return !(load16(&vq->avail->flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!old_valid)
		return true;
	return vring_need_event(load16(used_event(vq), __ATOMIC_RELAXED), now, old);
}

int virtq_chain_read(const struct virtq_chain *chain, uint64_t offset, void *dst, size_t len)
{
	if (offset > chain->readable_bytes || len > chain->readable_bytes - offset)
		return -ERANGE;
	uint8_t *out = dst;
	for (unsigned i = 0; i < chain->num_readable && len > 0; i++) {
		const struct virtq_seg *s = &chain->segs[i];
		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		size_t n = s->len - offset < len ? s->len - offset : len;
		memcpy(out, (const uint8_t *)s->host + offset, n);
		out += n;
		len -= n;
		offset = 0;
	}
	return 0;
}

int virtq_chain_write(const struct virtq_chain *chain, uint64_t offset, const void *src, size_t len)
{
	if (offset > chain->writable_bytes || len > chain->writable_bytes - offset)
		return -ERANGE;
	const uint8_t *in = src;
	for (unsigned i = chain->num_readable; i < chain->num_segs && len > 0; i++) {
		const struct virtq_seg *s = &chain->segs[i];
		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		size_t n = s->len - offset < len ? s->len - offset : len;
		memcpy((uint8_t *)s->host + offset, in, n);
		in += n;
		len -= n;
		offset = 0;
	}
	return 0;
}
