/* fuzz_virtqueue.c - libFuzzer harness: the split virtqueue walker on input-made rings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "guest_mem.h"
#include "platform.h"
#include "virtqueue.h"

/* Descriptor table, available ring and indirect tables laid out by the input in a small
 * two-region fake guest RAM; enable, then pop and push until empty or a guest error, with the
 * walker's promises checked on every chain. */

/* Low RAM [0, REGION) and high RAM [4 GiB, 4 GiB + REGION), both filled
 * from the input, so that chains can straddle or leave either region. */
#define REGION	 0x10000u
#define MAX_SEGS 64

/* Input header, then the RAM contents. */
#define F_EVENT_IDX 0x01 /* negotiate VIRTIO_RING_F_EVENT_IDX */
#define F_INDIRECT  0x02 /* negotiate VIRTIO_RING_F_INDIRECT_DESC */
#define F_DESC_HIGH 0x04 /* the descriptor table is in high RAM */
#define F_AVAIL_HI  0x08 /* the available ring is in high RAM */
#define F_USED_HI   0x10 /* the used ring is in high RAM */
#define F_UNPOP	    0x20 /* give the first chain back once and pop it again */
#define F_WRITE	    0x40 /* fill the writable part of each chain */
#define F_RAW_GPA   0x80 /* take the three ring addresses as raw 64-bit values */

static uint8_t *ram;
static struct guest_mem mem;

/* Chains longer than this are only checked segment by segment. */
#define BUF_SIZE (4 * REGION)
static uint8_t buf_a[BUF_SIZE], buf_b[BUF_SIZE];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ram = malloc(2 * REGION); /* malloc'd: ASan sees any access past either end */
	if (!ram)
		abort();
	mem = (struct guest_mem){
	    .host = ram, .size = 2 * REGION, .low_size = REGION, .high_size = REGION};
	return 0;
}

static bool in_region(const uint8_t *p, uint64_t len, const uint8_t *start)
{
	return p >= start && p <= start + REGION && len <= (uint64_t)(start + REGION - p);
}

/* What virtq_pop() promises about a chain it returned. */
static void check_chain(const struct virtq *vq, const struct virtq_chain *c)
{
	uint64_t rd = 0, wr = 0;
	FUZZ_CHECK(c->head < vq->size, "head %u, size %u", c->head, vq->size);
	FUZZ_CHECK(c->num_segs <= c->seg_cap && c->num_readable <= c->num_segs, "%u/%u/%u",
		   c->num_readable, c->num_segs, c->seg_cap);
	for (unsigned i = 0; i < c->num_segs; i++) {
		const struct virtq_seg *s = &c->segs[i];
		const uint8_t *p = s->host;
		FUZZ_CHECK(s->writable == (i >= c->num_readable), "segment %u out of order", i);
		FUZZ_CHECK(in_region(p, s->len, ram) || in_region(p, s->len, ram + REGION),
			   "segment %u (%u bytes at RAM offset %td) not inside one region", i,
			   s->len, p - ram);
		if (s->writable)
			wr += s->len;
		else
			rd += s->len;
	}
	FUZZ_CHECK(rd == c->readable_bytes && wr == c->writable_bytes, "byte counts %llu/%llu",
		   (unsigned long long)c->readable_bytes, (unsigned long long)c->writable_bytes);
	FUZZ_CHECK(rd + wr <= UINT32_MAX, "chain of %llu bytes", (unsigned long long)(rd + wr));
}

/* virtq_chain_read() returns the readable segments back to back. */
static void check_read(const struct virtq_chain *c)
{
	uint64_t n = c->readable_bytes;
	FUZZ_CHECK(virtq_chain_read(c, n + 1, NULL, 0) == -ERANGE, "read past the end");
	FUZZ_CHECK(virtq_chain_read(c, n, NULL, 1) == -ERANGE, "read past the end");
	FUZZ_CHECK(virtq_chain_read(c, n, NULL, 0) == 0, "empty read at the end");
	if (n == 0 || n > BUF_SIZE)
		return;
	uint8_t *got = buf_a, *want = buf_b;
	size_t at = 0;
	for (unsigned i = 0; i < c->num_readable; i++) {
		memcpy(want + at, c->segs[i].host, c->segs[i].len);
		at += c->segs[i].len;
	}
	FUZZ_CHECK(virtq_chain_read(c, 0, got, n) == 0, "whole read");
	FUZZ_CHECK(memcmp(got, want, n) == 0, "readable bytes differ");
	if (n > 1) {
		FUZZ_CHECK(virtq_chain_read(c, 1, got, n - 1) == 0, "read from offset 1");
		FUZZ_CHECK(memcmp(got, want + 1, n - 1) == 0, "readable bytes differ at 1");
	}
}

/* Fills the writable part (the guest may alias it with the rings). */
static uint32_t fill_writable(const struct virtq_chain *c, uint8_t pattern)
{
	uint64_t n = c->writable_bytes;
	FUZZ_CHECK(virtq_chain_write(c, n + 1, NULL, 0) == -ERANGE, "write past the end");
	FUZZ_CHECK(virtq_chain_write(c, n, NULL, 1) == -ERANGE, "write past the end");
	if (n == 0 || n > BUF_SIZE)
		return 0;
	memset(buf_a, pattern, n);
	FUZZ_CHECK(virtq_chain_write(c, 0, buf_a, n) == 0, "whole write");
	return (uint32_t)n;
}

static uint16_t load_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	uint8_t flags = fuzz_u8(&in);
	unsigned max_log2 = fuzz_u8(&in) % 16;
	uint16_t qsize = fuzz_u16(&in);
	unsigned seg_cap = 1 + fuzz_u8(&in) % MAX_SEGS;
	gpa_t desc, avail, used;
	if (flags & F_RAW_GPA) {
		desc = fuzz_u64(&in);
		avail = fuzz_u64(&in);
		used = fuzz_u64(&in);
	} else {
		desc = fuzz_u16(&in) + (flags & F_DESC_HIGH ? HIGH_RAM_START : 0);
		avail = fuzz_u16(&in) + (flags & F_AVAIL_HI ? HIGH_RAM_START : 0);
		used = fuzz_u16(&in) + (flags & F_USED_HI ? HIGH_RAM_START : 0);
	}
	size_t got;
	const uint8_t *contents = fuzz_take(&in, REGION, &got);
	memset(ram, 0, 2 * REGION);
	memcpy(ram, contents, got);
	memcpy(ram + REGION, contents, got);

	struct virtq vq;
	virtq_init(&vq, &mem, (uint16_t)(1u << max_log2));
	vq.size = qsize;
	vq.desc_gpa = desc;
	vq.avail_gpa = avail;
	vq.used_gpa = used;
	uint64_t features = (flags & F_EVENT_IDX ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
			    (flags & F_INDIRECT ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
	int r = virtq_enable(&vq, features);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EFAULT, "enable: %d", r);
	if (r < 0) {
		FUZZ_CHECK(!vq.ready, "failed enable left the queue ready");
		struct virtq_seg seg;
		struct virtq_chain chain;
		virtq_chain_init(&chain, &seg, 1);
		FUZZ_CHECK(virtq_pop(&vq, &chain) == 0, "pop on a queue that is not ready");
		FUZZ_CHECK(virtq_push(&vq, 0, 0) == -EINVAL, "push on a queue that is not ready");
		FUZZ_CHECK(!virtq_should_notify(&vq), "notify on a queue that is not ready");
		return 0;
	}
	FUZZ_CHECK(vq.ready && vq.size >= 1 && vq.size <= vq.max_size &&
		       (vq.size & (vq.size - 1)) == 0,
		   "enabled with size %u (max %u)", vq.size, vq.max_size);
	FUZZ_CHECK(vq.desc_gpa % 16 == 0 && vq.avail_gpa % 2 == 0 && vq.used_gpa % 4 == 0,
		   "enabled misaligned rings");

	struct virtq_seg segs[MAX_SEGS];
	struct virtq_chain chain;
	virtq_chain_init(&chain, segs, seg_cap);
	bool unpopped = !(flags & F_UNPOP);
	/* Each pop consumes an entry; the guest-visible rings may be rewritten
	 * by chain writes and pushes (aliasing), so bound the loop. */
	for (unsigned round = 0; round < 2u * vq.size + 4; round++) {
		uint16_t before = vq.last_avail_idx;
		r = virtq_pop(&vq, &chain);
		FUZZ_CHECK(r == 1 || r == 0 || r == -EINVAL || r == -ELOOP || r == -EFAULT ||
			       r == -E2BIG || r == -EOVERFLOW,
			   "pop: %d", r);
		if (r <= 0) {
			FUZZ_CHECK(vq.last_avail_idx == before, "pop %d moved last_avail_idx", r);
			break;
		}
		FUZZ_CHECK(vq.last_avail_idx == (uint16_t)(before + 1), "pop did not advance");
		if (vq.event_idx) {
			const uint8_t *ev = (const uint8_t *)vq.used + 4 + 8 * vq.size;
			FUZZ_CHECK(load_le16(ev) == vq.last_avail_idx, "avail_event not published");
		}
		check_chain(&vq, &chain);
		check_read(&chain);
		if (!unpopped) {
			unpopped = true;
			virtq_unpop(&vq);
			FUZZ_CHECK(vq.last_avail_idx == before, "unpop");
			continue;
		}
		uint32_t len = flags & F_WRITE ? fill_writable(&chain, (uint8_t)round) : 0;
		FUZZ_CHECK(virtq_push(&vq, chain.head, len) == 0, "push of a popped head");
		const struct vring_used_elem *e = &vq.used->ring[(vq.used_idx - 1) & (vq.size - 1)];
		FUZZ_CHECK(e->id == chain.head && e->len == len, "used element");
		FUZZ_CHECK(load_le16(&vq.used->idx) == vq.used_idx, "used idx");
		if (round % 3 == 0)
			(void)virtq_should_notify(&vq);
	}
	(void)virtq_should_notify(&vq);
	FUZZ_CHECK(virtq_push(&vq, (uint16_t)vq.size, 0) == -EINVAL, "push of head == size");
	virtq_disable(&vq);
	FUZZ_CHECK(virtq_pop(&vq, &chain) == 0, "pop after disable");
	return 0;
}
