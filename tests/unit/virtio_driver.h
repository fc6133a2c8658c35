/* virtio_driver.h - the unit tests' fake guest: guest RAM, virtio-mmio registers, split rings. */
#ifndef MINNOW_TEST_VIRTIO_DRIVER_H
#define MINNOW_TEST_VIRTIO_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtio_mmio.h"

#define S_ACK	      VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER      VIRTIO_CONFIG_S_DRIVER
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK   VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET

#define F_VERSION_1 (1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT  (1ULL << VIRTIO_RING_F_INDIRECT_DESC)

/* ---- Guest RAM ------------------------------------------------------------------------------- */

/* The test's guest RAM. Criterion runs every test in a process of its own, so one per process
 * is one per test. Unmapped (all zero) until ram_map(). */
extern struct guest_mem guest_ram;

/* Maps `size` bytes of fresh, zeroed guest RAM into guest_ram, unmapping what was there first.
 * Asserts that the mapping worked. */
void ram_map(uint64_t size);

/* Unmaps guest_ram. Safe when nothing is mapped (a suite's .fini). */
void ram_unmap(void);

/* The host pointer to guest physical [gpa, gpa + len) of guest_ram. Asserts that the whole
 * range is RAM (the message names it), so the result is never NULL. */
void *gp(gpa_t gpa, uint64_t len);

/* Asserts that all of guest [gpa, gpa + len) is still zero; `what` names it in the message. */
void ram_expect_zero(gpa_t gpa, uint64_t len, const char *what);

/* ---- Registers, as the driver sees them ------------------------------------------------------ */

/* Reads the 32-bit register at `offset` of transport `t` through its MMIO handler. */
uint32_t drv_rd(struct virtio_mmio *t, uint64_t offset);

/* Writes `v` to the 32-bit register at `offset` of `t` through its MMIO handler. */
void drv_wr(struct virtio_mmio *t, uint64_t offset, uint32_t v);

/* Reads `len` bytes (1, 2 or 4: one access; 8: two 4-byte accesses, low word first) of device
 * config space at `offset`, little-endian, zero-extended. A refused access reads all-ones. */
uint64_t drv_cfg(struct virtio_mmio *t, uint32_t offset, unsigned len);

/* The 64 feature bits the device offers (DeviceFeatures words 0 and 1). */
uint64_t drv_device_features(struct virtio_mmio *t);

/* Whether Status has DEVICE_NEEDS_RESET. */
bool drv_needs_reset(struct virtio_mmio *t);

/* Resets the device (Status = 0), sets ACKNOWLEDGE and DRIVER, writes `features` to both
 * DriverFeatures words and sets FEATURES_OK. Returns Status as read back: FEATURES_OK is set
 * only when the device accepted the features. */
uint32_t drv_negotiate(struct virtio_mmio *t, uint64_t features);

/* drv_negotiate(), asserting that the device accepted `features` (the message shows them). */
void drv_features_ok(struct virtio_mmio *t, uint64_t features);

/* Programs queue `q` (QueueSel, QueueNum = size, the three ring addresses) and sets QueueReady.
 * Touches no guest memory, so bad values may be passed on purpose. */
void drv_queue_setup(struct virtio_mmio *t, unsigned q, uint32_t size, gpa_t desc, gpa_t avail,
		     gpa_t used);

/* Sets DRIVER_OK on top of the Status bits already set. */
void drv_driver_ok(struct virtio_mmio *t);

/* drv_driver_ok(), asserting that the device went live (virtio_mmio_active()). */
void drv_go(struct virtio_mmio *t);

/* ---- Split virtqueues, from the driver's side ------------------------------------------------ */

/* One queue as the driver keeps it. Descriptors are handed out round-robin from next_desc;
 * last_used counts the used entries drv_take_used() has consumed. */
struct drv_ring {
	struct virtio_mmio *t; /* NULL for a ring with no transport (drv_ring_layout) */
	unsigned index;
	uint16_t size;
	gpa_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t next_desc;
	uint16_t last_used;
};

/* A buffer of a chain: guest address, length, and whether the device writes it. */
struct drv_seg {
	gpa_t gpa;
	uint32_t len;
	bool write;
};

/* Points `r` at a queue of `size` entries (a power of two) with its descriptor table, available
 * and used rings at the given guest addresses, zeroes the three rings and starts counting from
 * 0. Asserts that they are in guest_ram. Programs nothing: `r->t` is NULL. */
void drv_ring_layout(struct drv_ring *r, unsigned q, uint16_t size, gpa_t desc, gpa_t avail,
		     gpa_t used);

/* drv_ring_layout() for queue `q` of transport `t`, then drv_queue_setup() with the same values:
 * the queue is ready once this returns. */
void drv_ring_init(struct drv_ring *r, struct virtio_mmio *t, unsigned q, uint16_t size, gpa_t desc,
		   gpa_t avail, gpa_t used);

/* drv_ring_init() with the descriptor table at `base`, the available ring at base + 0x1000 and
 * the used ring at base + 0x2000 (room for 256 entries). */
void drv_ring_at(struct drv_ring *r, struct virtio_mmio *t, unsigned q, uint16_t size, gpa_t base);

/* Forgets everything posted: zeroes the three rings and both counters, as a driver does after
 * a device reset. Does not touch the registers. */
void drv_ring_clear(struct drv_ring *r);

/* Makes the chain starting at descriptor `head` available: writes it to the next slot of the
 * available ring and publishes the new idx (release order). No kick. */
void drv_post(struct drv_ring *r, uint16_t head);

/* Writes `n` descriptors for `s` (NEXT set on all but the last, WRITE where asked) from
 * next_desc on, wrapping at the ring size, and drv_post()s the chain. Returns its head. */
uint16_t drv_post_chain(struct drv_ring *r, const struct drv_seg *s, unsigned n);

/* Kicks the queue: writes its index to QueueNotify of its transport. */
void drv_kick(const struct drv_ring *r);

/* The used ring's idx, read with acquire order. */
uint16_t drv_used_idx(const struct drv_ring *r);

/* Takes the next used entry into *e and advances last_used; false when there is none. */
bool drv_take_used(struct drv_ring *r, struct vring_used_elem *e);

/* drv_take_used(), asserting that there is a used entry; returns it. */
struct vring_used_elem drv_next_used(struct drv_ring *r);

/* Polls until the used idx equals `want`, for at most `timeout_ms`; whether it got there. */
bool drv_wait_used(const struct drv_ring *r, uint16_t want, unsigned timeout_ms);

/* Writes used_event (the entry after the available ring, for VIRTIO_RING_F_EVENT_IDX). */
void drv_set_used_event(struct drv_ring *r, uint16_t v);

/* Reads avail_event (the entry after the used ring, for VIRTIO_RING_F_EVENT_IDX). */
uint16_t drv_avail_event(const struct drv_ring *r);

#endif
