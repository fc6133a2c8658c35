/* virtio_driver.c - the fake guest of the device unit tests: guest RAM, registers, split rings. */
#include "virtio_driver.h"

#include <criterion/criterion.h>
#include <string.h>

#include "test_util.h"

struct guest_mem guest_ram;

/* ---- Guest RAM ------------------------------------------------------------------------------- */

void ram_map(uint64_t size)
{
	guest_mem_unmap(&guest_ram);
	int r = guest_mem_map(&guest_ram, size, false);
	cr_assert_eq(r, 0, "mapping %llu bytes of guest RAM: %s", (unsigned long long)size,
		     strerror(-r));
}

void ram_unmap(void)
{
	guest_mem_unmap(&guest_ram);
}

void *gp(gpa_t gpa, uint64_t len)
{
	void *p = guest_ptr(&guest_ram, gpa, len);
	cr_assert_not_null(p, "guest [0x%llx, +0x%llx) is not RAM", (unsigned long long)gpa,
			   (unsigned long long)len);
	return p;
}

void ram_expect_zero(gpa_t gpa, uint64_t len, const char *what)
{
	const uint8_t *p = gp(gpa, len);
	for (uint64_t i = 0; i < len; i++)
		cr_assert_eq(p[i], 0, "%s: byte 0x%llx written", what,
			     (unsigned long long)(gpa + i));
}

/* ---- Registers ------------------------------------------------------------------------------- */

uint32_t drv_rd(struct virtio_mmio *t, uint64_t offset)
{
	uint32_t v = 0;
	virtio_mmio_ops.read(t, offset, &v, 4);
	return v;
}

void drv_wr(struct virtio_mmio *t, uint64_t offset, uint32_t v)
{
	virtio_mmio_ops.write(t, offset, &v, 4);
}

uint64_t drv_cfg(struct virtio_mmio *t, uint32_t offset, unsigned len)
{
	if (len == 8)
		return drv_cfg(t, offset, 4) | drv_cfg(t, offset + 4, 4) << 32;
	cr_assert(len == 1 || len == 2 || len == 4, "config read of %u bytes", len);
	uint8_t b[4] = {0};
	virtio_mmio_ops.read(t, VIRTIO_MMIO_CONFIG + offset, b, len);
	return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24;
}

uint64_t drv_device_features(struct virtio_mmio *t)
{
	drv_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = drv_rd(t, VIRTIO_MMIO_DEVICE_FEATURES);
	drv_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)drv_rd(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

bool drv_needs_reset(struct virtio_mmio *t)
{
	return drv_rd(t, VIRTIO_MMIO_STATUS) & S_NEEDS_RESET;
}

uint32_t drv_negotiate(struct virtio_mmio *t, uint64_t features)
{
	drv_wr(t, VIRTIO_MMIO_STATUS, 0);
	drv_wr(t, VIRTIO_MMIO_STATUS, S_ACK);
	drv_wr(t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	drv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	drv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	drv_wr(t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return drv_rd(t, VIRTIO_MMIO_STATUS);
}

void drv_features_ok(struct virtio_mmio *t, uint64_t features)
{
	cr_assert(drv_negotiate(t, features) & S_FEATURES_OK, "features 0x%llx refused",
		  (unsigned long long)features);
}

void drv_queue_setup(struct virtio_mmio *t, unsigned q, uint32_t size, gpa_t desc, gpa_t avail,
		     gpa_t used)
{
	drv_wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	drv_wr(t, VIRTIO_MMIO_QUEUE_NUM, size);
	drv_wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	drv_wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	drv_wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	drv_wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	drv_wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	drv_wr(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	drv_wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

void drv_driver_ok(struct virtio_mmio *t)
{
	drv_wr(t, VIRTIO_MMIO_STATUS, drv_rd(t, VIRTIO_MMIO_STATUS) | S_DRIVER_OK);
}

void drv_go(struct virtio_mmio *t)
{
	drv_driver_ok(t);
	cr_assert(virtio_mmio_active(t), "the device did not go live (Status 0x%x)",
		  drv_rd(t, VIRTIO_MMIO_STATUS));
}

/* ---- Split virtqueues ------------------------------------------------------------------------ */

void drv_ring_layout(struct drv_ring *r, unsigned q, uint16_t size, gpa_t desc, gpa_t avail,
		     gpa_t used)
{
	cr_assert(size && !(size & (size - 1)), "ring size %u", size);
	*r = (struct drv_ring){.index = q,
			       .size = size,
			       .desc_gpa = desc,
			       .avail_gpa = avail,
			       .used_gpa = used,
			       .desc = gp(desc, 16ULL * size),
			       .avail = gp(avail, 6 + 2ULL * size),
			       .used = gp(used, 6 + 8ULL * size)};
	drv_ring_clear(r);
}

void drv_ring_init(struct drv_ring *r, struct virtio_mmio *t, unsigned q, uint16_t size, gpa_t desc,
		   gpa_t avail, gpa_t used)
{
	drv_ring_layout(r, q, size, desc, avail, used);
	r->t = t;
	drv_queue_setup(t, q, size, desc, avail, used);
}

void drv_ring_at(struct drv_ring *r, struct virtio_mmio *t, unsigned q, uint16_t size, gpa_t base)
{
	drv_ring_init(r, t, q, size, base, base + 0x1000, base + 0x2000);
}

void drv_ring_clear(struct drv_ring *r)
{
	memset(r->desc, 0, 16ULL * r->size);
	memset(r->avail, 0, 6 + 2ULL * r->size);
	memset(r->used, 0, 6 + 8ULL * r->size);
	r->next_desc = 0;
	r->last_used = 0;
}

void drv_post(struct drv_ring *r, uint16_t head)
{
	uint16_t idx = r->avail->idx;
	r->avail->ring[idx % r->size] = head;
	__atomic_store_n(&r->avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

uint16_t drv_post_chain(struct drv_ring *r, const struct drv_seg *s, unsigned n)
{
	uint16_t head = (uint16_t)(r->next_desc % r->size);
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % r->size);
		bool more = i + 1 < n;
		r->desc[d] = (struct vring_desc){
		    .addr = s[i].gpa,
		    .len = s[i].len,
		    .flags = (uint16_t)((s[i].write ? VRING_DESC_F_WRITE : 0) |
					(more ? VRING_DESC_F_NEXT : 0)),
		    .next = (uint16_t)((d + 1) % r->size),
		};
	}
	r->next_desc = (uint16_t)((head + n) % r->size);
	drv_post(r, head);
	return head;
}

void drv_kick(const struct drv_ring *r)
{
	cr_assert_not_null(r->t, "a ring without a transport has nothing to kick");
	drv_wr(r->t, VIRTIO_MMIO_QUEUE_NOTIFY, r->index);
}

uint16_t drv_used_idx(const struct drv_ring *r)
{
	return __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
}

bool drv_take_used(struct drv_ring *r, struct vring_used_elem *e)
{
	if (drv_used_idx(r) == r->last_used)
		return false;
	*e = r->used->ring[r->last_used % r->size];
	r->last_used++;
	return true;
}

struct vring_used_elem drv_next_used(struct drv_ring *r)
{
	struct vring_used_elem e;
	cr_assert(drv_take_used(r, &e), "queue %u: no used buffer (used idx %u)", r->index,
		  drv_used_idx(r));
	return e;
}

bool drv_wait_used(const struct drv_ring *r, uint16_t want, unsigned timeout_ms)
{
	return WAIT_UNTIL(drv_used_idx(r) == want, timeout_ms);
}

void drv_set_used_event(struct drv_ring *r, uint16_t v)
{
	r->avail->ring[r->size] = v;
}

uint16_t drv_avail_event(const struct drv_ring *r)
{
	uint16_t v;
	memcpy(&v, (const uint8_t *)r->used + 4 + 8ULL * r->size, 2);
	return v;
}
