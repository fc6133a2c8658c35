/* virtqueue.h - the split virtqueue (virtio 1.x section 2.7) from the device
 * side: ring validation at enable, a descriptor-chain walker that trusts
 * nothing the guest wrote, the used ring, and notification suppression
 * (VIRTIO_RING_F_EVENT_IDX both ways, VRING_AVAIL_F_NO_INTERRUPT).
 *
 * A struct virtq is not thread-safe: its user serialises every call (the
 * virtio-mmio transport does so with its lock). Guest errors come back as
 * negative errno values and never abort; the caller puts the device into
 * DEVICE_NEEDS_RESET (virtio_mmio_fail()). */
#ifndef MINNOW_VIRTQUEUE_H
#define MINNOW_VIRTQUEUE_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define VIRTQ_MAX_SIZE 32768 /* largest split queue size (spec 2.7) */

/* One guest buffer of a chain, already translated: [host, host + len) lies
 * entirely inside one guest RAM region. */
struct virtq_seg {
	void *host;
	uint32_t len;
	bool writable; /* device-writable (VRING_DESC_F_WRITE) */
};

/* A descriptor chain popped from the available ring. The caller supplies
 * the segment array (segs, seg_cap), e.g. with virtq_chain_init(); the
 * walker fills the rest. Readable segments always come first:
 * segs[0 .. num_readable) are device-readable, segs[num_readable ..
 * num_segs) device-writable. readable_bytes + writable_bytes <= UINT32_MAX. */
struct virtq_chain {
	struct virtq_seg *segs;
	unsigned seg_cap;
	uint16_t head; /* descriptor index to hand back with virtq_push() */
	unsigned num_segs;
	unsigned num_readable;
	uint64_t readable_bytes;
	uint64_t writable_bytes;
};

/* The driver-programmed queue configuration and the device's ring state.
 * Fields are read-only for users except through the functions below; the
 * transport writes size and the three addresses while the queue is not
 * ready. */
struct virtq {
	const struct guest_mem *mem;
	uint16_t max_size; /* QueueNumMax */
	uint32_t size;	   /* QueueNum as written; validated by virtq_enable() */
	gpa_t desc_gpa;	   /* QueueDesc: descriptor table */
	gpa_t avail_gpa;   /* QueueDriver: available ring */
	gpa_t used_gpa;	   /* QueueDevice: used ring */
	bool ready;
	bool event_idx;		 /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;		 /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t last_avail_idx; /* next avail ring entry the device will read */
	uint16_t used_idx;	 /* next used ring entry the device will write */
	uint16_t signalled_used; /* used_idx when last deciding to notify */
	bool signalled_used_valid;
	/* Host views of the rings, checked by virtq_enable(); valid while ready. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

/* Sets `vq` to the reset state: not ready, size = max_size, addresses 0.
 * max_size must be a power of two in [1, VIRTQ_MAX_SIZE] (host invariant,
 * asserted); `mem` must outlive the queue. */
void virtq_init(struct virtq *vq, const struct guest_mem *mem, uint16_t max_size);

/* Back to the state virtq_init() left (device reset), keeping mem and
 * max_size. */
void virtq_reset(struct virtq *vq);

/* QueueReady = 1: validates the configuration once and makes the queue
 * ready. `features` are the negotiated feature bits (EVENT_IDX and
 * INDIRECT_DESC are taken from them). Checks: size a power of two in
 * [1, max_size]; descriptor table 16-byte aligned, available ring 2-byte
 * aligned, used ring 4-byte aligned; each ring's whole extent (including
 * used_event / avail_event) inside one guest RAM region. Resets the ring
 * indices to 0. Returns 0, -EINVAL (size or alignment) or -EFAULT (outside
 * RAM); on failure the queue stays not ready. */
int virtq_enable(struct virtq *vq, uint64_t features);

/* QueueReady = 0: the device stops using the queue; configuration kept. */
void virtq_disable(struct virtq *vq);

/* Points `chain` at the caller's segment array and empties it. */
void virtq_chain_init(struct virtq_chain *chain, struct virtq_seg *segs, unsigned seg_cap);

/* Takes the next available chain and translates it into chain->segs.
 * Returns 1 with `chain` filled; 0 when there is nothing to take (or the
 * queue is not ready); or a guest error, leaving last_avail_idx where it
 * was: -EINVAL (avail idx more than size ahead, head or next index out of
 * range, INDIRECT not negotiated / nested / combined with NEXT / table
 * length zero or not a multiple of 16, a readable descriptor after a
 * writable one), -ELOOP (chain longer than its table: a loop), -EFAULT
 * (a buffer or indirect table not wholly inside one RAM region), -E2BIG
 * (more than chain->seg_cap segments), -EOVERFLOW (total length above
 * UINT32_MAX). With EVENT_IDX it publishes avail_event = last_avail_idx, and
 * before reporting the queue empty it re-checks the available index after
 * a full barrier, so that a kick is never lost. */
int virtq_pop(struct virtq *vq, struct virtq_chain *chain);

/* Whether the driver has made available a chain that virtq_pop() has not
 * taken yet (false when not ready). A cheap look at the available index,
 * for a device thread that polls a while before it sleeps; virtq_pop() is
 * still the one to check the ring. */
bool virtq_has_avail(const struct virtq *vq);

/* Gives back the chain the last successful virtq_pop() returned, unused (it
 * will be popped again), e.g. when a backend has no data yet. Only valid
 * right after that pop, before any virtq_push(). */
void virtq_unpop(struct virtq *vq);

/* Appends {head, len} to the used ring and publishes the new used idx with
 * release ordering (entry visible before idx). `len` is the number of bytes
 * written into the chain's writable segments. Returns 0, or -EINVAL when
 * the queue is not ready or head >= size (a device bug). Does not notify:
 * see virtq_should_notify(). */
int virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* Whether the driver wants a used buffer notification for what was pushed
 * since the previous call: false if nothing was; with EVENT_IDX,
 * vring_need_event(used_event, used_idx, used_idx at the previous call)
 * (always true the first time after enable); without, unless the driver
 * set VRING_AVAIL_F_NO_INTERRUPT. Issues the full barrier that must
 * separate the used idx store from reading those fields. False when not
 * ready. */
bool virtq_should_notify(struct virtq *vq);

/* Copies `len` bytes starting `offset` bytes into the chain's readable part
 * into dst. Returns 0, or -ERANGE (nothing copied) when [offset, offset +
 * len) is not wholly within readable_bytes. */
int virtq_chain_read(const struct virtq_chain *chain, uint64_t offset, void *dst, size_t len);

/* Copies `len` bytes from src into the chain's writable part, starting
 * `offset` bytes into it. Returns 0, or -ERANGE (nothing copied) when
 * [offset, offset + len) is not wholly within writable_bytes. */
int virtq_chain_write(const struct virtq_chain *chain, uint64_t offset, const void *src,
		      size_t len);

#endif
