/* virtio_mmio_internal.h - what the transport's two halves share: virtio_mmio.c (setup, kicks,
 * interrupts, device-facing API) and virtio_mmio_regs.c (the register file). Not for devices. */
#ifndef MINNOW_VIRTIO_MMIO_INTERNAL_H
#define MINNOW_VIRTIO_MMIO_INTERNAL_H

#include <stdint.h>

#include "virtio_mmio.h"

/* Logs an access or request the transport ignores, with the register `offset` and `value`,
 * rate-limited. */
void vmmio_note(struct virtio_mmio *t, const char *what, uint64_t offset, uint64_t value);

/* Binds the queue's kick eventfd to QueueNotify (KVM_IOEVENTFD), when there is a VM, a kick
 * eventfd and it is not bound yet. A failure only costs speed: the write then exits to
 * userspace and vmmio_handle_notify() forwards it. Lock held. */
void vmmio_arm_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q);

/* Unbinds what vmmio_arm_queue() bound, if anything. Lock held. */
void vmmio_disarm_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q);

/* Runs the device's queue_notify for a ready queue of an active device: through the loop
 * when there is one (the kick eventfd), else right here. Lock held. */
void vmmio_kick_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q);

/* A QueueNotify write of `queue` that reached userspace (no ioeventfd matched): counted in
 * t->user_kicks, forwarded to the device if the queue is ready and the device active.
 * Takes the lock. */
void vmmio_handle_notify(struct virtio_mmio *t, uint32_t queue);

/* InterruptStatus as the driver reads it: the pending bits, plus the used-buffer bit while a
 * back end owns the queues of an activated device (virtio_device_ops.backend_queues). Any
 * thread. */
uint32_t vmmio_interrupt_status(const struct virtio_mmio *t);

/* DRIVER_OK: binds the ready queues' doorbells, activates the device and
 * kicks every ready queue for what the driver queued before. Lock held. */
void vmmio_go_live(struct virtio_mmio *t);

#endif
