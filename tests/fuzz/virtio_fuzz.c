/* virtio_fuzz.c - what the virtio harnesses share (virtio_fuzz.h). */
#include "virtio_fuzz.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

void wr32(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(t, off, &v, 4);
}

uint32_t rd32(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;
	virtio_mmio_ops.read(t, off, &v, 4);
	return v;
}

static uint64_t offered(struct virtio_mmio *t)
{
	wr32(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t f = (uint64_t)rd32(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr32(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | rd32(t, VIRTIO_MMIO_DEVICE_FEATURES);
}

void virtio_fuzz_setup(struct virtio_mmio *t, struct fuzz_input *in)
{
	uint8_t what = fuzz_u8(in);
	uint32_t qsize = 1u << (fuzz_u8(in) % 16);
	uint16_t desc = fuzz_u16(in), avail = fuzz_u16(in), used = fuzz_u16(in);
	uint64_t f = offered(t);
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1;
	if (what & SETUP_EVENT_IDX)
		want |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (what & SETUP_INDIRECT)
		want |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (what & SETUP_DEV_FEAT)
		want |= f & ((1ULL << 24) - 1);
	want &= f;
	wr32(t, VIRTIO_MMIO_STATUS, 0);
	wr32(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr32(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	wr32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	wr32(t, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	wr32(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr32(t, VIRTIO_MMIO_QUEUE_NUM, qsize);
	wr32(t, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	wr32(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr32(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail);
	wr32(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr32(t, VIRTIO_MMIO_QUEUE_USED_LOW, used);
	wr32(t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr32(t, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!(what & SETUP_NO_DRIVEROK))
		wr32(t, VIRTIO_MMIO_STATUS,
		     s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

void check_read(struct virtio_mmio *t, uint64_t off, unsigned len, const uint8_t *buf)
{
	if (off >= VIRTIO_MMIO_CONFIG) {
		bool ok = (len == 1 || len == 2 || len == 4) &&
			  (off - VIRTIO_MMIO_CONFIG) % len == 0 &&
			  off - VIRTIO_MMIO_CONFIG + len <= t->ops->config_size;
		for (unsigned i = 0; !ok && i < len; i++)
			FUZZ_CHECK(buf[i] == 0xff, "bad config read at 0x%llx returned data",
				   (unsigned long long)off);
		return;
	}
	if (len != 4 || off % 4) {
		for (unsigned i = 0; i < len; i++)
			FUZZ_CHECK(buf[i] == 0xff, "bad register read at 0x%llx returned data",
				   (unsigned long long)off);
		return;
	}
	uint32_t v;
	memcpy(&v, buf, 4);
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		FUZZ_CHECK(v == VIRTIO_MMIO_MAGIC, "magic 0x%x", v);
		break;
	case VIRTIO_MMIO_VERSION:
		FUZZ_CHECK(v == VIRTIO_MMIO_VERSION_MODERN, "version %u", v);
		break;
	case VIRTIO_MMIO_DEVICE_ID:
		FUZZ_CHECK(v == t->ops->device_id, "device id %u", v);
		break;
	case VIRTIO_MMIO_STATUS:
		FUZZ_CHECK(v == t->status, "status 0x%x, transport has 0x%x", v, t->status);
		break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		FUZZ_CHECK(v == (t->queue_sel < t->ops->num_queues ? t->ops->queue_max : 0),
			   "QueueNumMax %u", v);
		break;
	}
}

void check_transport(struct virtio_mmio *t, const struct guest_mem *mem, const char *name)
{
	uint32_t s = t->status;
	uint64_t f = t->driver_features;
	FUZZ_CHECK(!(s & VIRTIO_CONFIG_S_DRIVER_OK) || (s & VIRTIO_CONFIG_S_FEATURES_OK),
		   "%s: DRIVER_OK without FEATURES_OK (status 0x%x)", name, s);
	if (s & VIRTIO_CONFIG_S_FEATURES_OK) {
		uint64_t off =
		    (t->ops->device_features ? t->ops->device_features(t->dev) : t->ops->features) |
		    VIRTIO_MMIO_TRANSPORT_FEATURES;
		FUZZ_CHECK((f & ~off) == 0 && (f & (1ULL << VIRTIO_F_VERSION_1)),
			   "%s: FEATURES_OK with features 0x%llx, offered 0x%llx", name,
			   (unsigned long long)f, (unsigned long long)off);
	}
	FUZZ_CHECK((atomic_load(t->interrupt_status) & ~3u) == 0, "%s: InterruptStatus 0x%x", name,
		   atomic_load(t->interrupt_status));
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		const struct virtq *vq = &t->queues[i].vq;
		if (!vq->ready)
			continue;
		FUZZ_CHECK(vq->size && vq->size <= vq->max_size && !(vq->size & (vq->size - 1)),
			   "%s: queue %u ready with size %u", name, i, vq->size);
		FUZZ_CHECK(guest_ptr(mem, vq->desc_gpa, 16ULL * vq->size) == vq->desc &&
			       guest_ptr(mem, vq->used_gpa, 6 + 8ULL * vq->size) == vq->used,
			   "%s: queue %u rings outside RAM", name, i);
	}
}

uint64_t clamp_offset(uint16_t v, unsigned len)
{
	uint64_t off = v % VIRTIO_MMIO_STRIDE;
	return off + len > VIRTIO_MMIO_STRIDE ? VIRTIO_MMIO_STRIDE - len : off;
}

int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		abort();
	close(fd);
	return fd;
}
