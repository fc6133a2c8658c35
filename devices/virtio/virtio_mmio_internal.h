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

/* ---- The register page (virtio_mmio_mirror.c) ---- */

/* Maps t->regs (one zeroed page, then every register and config byte
 * filled in) and points t->interrupt_status into it. Returns 0 or -errno. */
int vmmio_mirror_create(struct virtio_mmio *t);

/* With vm_fd: maps t->regs read-only into the guest at t->base (a KVM
 * memslot of its own), when KVM has read-only memory and the device's
 * InterruptStatus is the transport's own (not for ops->backend_queues).
 * Without it every read exits as before. */
void vmmio_mirror_map(struct virtio_mmio *t);

/* Unmaps t->regs. The memslot, if any, is left to go with the VM: call with
 * no vCPU running. */
void vmmio_mirror_destroy(struct virtio_mmio *t);

/* Rewrites every register below the config space but InterruptStatus from
 * the register file, as a read through the exit path would return it. Lock
 * held; after anything that changes what a read returns. */
void vmmio_mirror_registers(struct virtio_mmio *t);

/* Copies the device's config space into the page. With `changed`, the
 * generation moves before and after the copy, so that a driver reading
 * generation, config, generation never accepts a half-written copy. On the
 * thread that owns the device model (or before the guest runs). */
void vmmio_mirror_config(struct virtio_mmio *t, bool changed);

/* The value a 4-byte read of register `offset` (< VIRTIO_MMIO_CONFIG)
 * returns, without logging: all-ones for write-only and unknown registers.
 * Lock held (virtio_mmio_regs.c). */
uint32_t vmmio_register_value(struct virtio_mmio *t, uint64_t offset);

#endif
