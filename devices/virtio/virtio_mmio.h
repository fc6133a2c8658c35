/* virtio_mmio.h - the virtio-mmio transport, version 2 (virtio 1.x section
 * 4.2.2), and the small interface a virtio device model plugs into it. The
 * transport knows nothing about blk, net or rng: it owns the register
 * file, feature negotiation, the status state machine, the virtqueues,
 * ioeventfd doorbells and the irqfd interrupt.
 *
 * Threads and locking. The event loop's thread owns the device model
 * (event_loop.h): every device op (config_read, config_write, activate,
 * queue_notify, reset) runs there, with the transport lock t->lock held.
 * A vCPU thread's config-space access or Status write is handed to the
 * loop with event_loop_call() and the vCPU waits for it. The other
 * registers (features, queue set-up) are the transport's own: vCPU threads
 * read and write them under t->lock, and InterruptStatus/InterruptACK
 * atomically. Kicks arrive through one eventfd per queue (bound to
 * QueueNotify with KVM_IOEVENTFD), watched by the loop, or by the device's
 * own thread for a thread_queues device (virtio-blk), which then takes
 * t->lock around its pops and pushes and is parked (ops->quiesce) before a
 * reset or a QueueReady = 0 changes the rings. A device's own fd
 * callbacks run on the loop thread too; they take t->lock
 * (virtio_mmio_lock) before touching queues or calling the functions
 * below, because a vCPU may be changing a queue's registers. Since no
 * other thread ever calls into a device, device code may add and remove
 * its fds on the loop from any of its callbacks. Device ops must not block
 * for long: a vCPU may be waiting. Without a loop (unit tests) every op
 * runs on the thread that made the access, under t->lock.
 *
 * Guest errors: the device calls virtio_mmio_fail(), which sets
 * DEVICE_NEEDS_RESET, raises a configuration-change interrupt, logs with a
 * rate limit and stops all queue processing until the driver resets the
 * device. The VMM and other devices carry on.
 *
 * Without KVM (vm_fd = -1, unit tests) no ioeventfd or irqfd is made and
 * interrupts are only counted (t->interrupts); the event loop is optional. */
#ifndef MINNOW_VIRTIO_MMIO_H
#define MINNOW_VIRTIO_MMIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "event_loop.h"
#include "guest_mem.h"
#include "ioapic.h"
#include "log.h"
#include "platform.h"
#include "virtqueue.h"

#define VIRTIO_MMIO_MAGIC	   0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN 2u	       /* the only version minnow speaks */
#define VIRTIO_MMIO_VENDOR	   0x4d4e4f57u /* VendorID: "WONM" */
#define VIRTIO_MMIO_MAX_QUEUES	   64u
#define VIRTIO_MMIO_CONFIG_MAX	   (VIRTIO_MMIO_STRIDE - VIRTIO_MMIO_CONFIG) /* 0xF00 */

/* Feature bits the transport offers on behalf of every device. */
#define VIRTIO_MMIO_TRANSPORT_FEATURES                                                             \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |                        \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

struct virtio_mmio;

/* A virtio device model: one static const table per device type. `dev` is
 * the device's own state, given to virtio_mmio_create(). Every callback is
 * called with the transport lock held. */
struct virtio_device_ops {
	const char *name;    /* for logs, e.g. "rng" */
	uint32_t device_id;  /* VIRTIO_ID_* from <linux/virtio_ids.h> */
	unsigned num_queues; /* 0 .. VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max;  /* QueueNumMax of every queue: power of two <= 32768 */
	uint64_t features;   /* device-specific feature bits to offer (the
			      * transport adds VIRTIO_MMIO_TRANSPORT_FEATURES) */
	size_t config_size;  /* bytes of config space at 0x100, <= VIRTIO_MMIO_CONFIG_MAX */
	/* A back end outside minnow serves the queues (vhost-user): the loop
	 * never watches the kick eventfds, which the device hands to the back
	 * end (virtio_mmio_kick_fd); the back end signals the irqfd itself
	 * (virtio_mmio_irq_fd), so InterruptStatus shows the used-buffer bit
	 * whenever the device is active (see virtio_mmio_regs.c). */
	bool backend_queues;
	/* A thread of the device's own serves the queues (virtio-blk's drive
	 * thread): the loop never watches the kick eventfds; the device's
	 * thread polls them (virtio_mmio_kick_fd) and takes t->lock around
	 * every pop and push. Without a loop (no kick eventfds) kicks still
	 * arrive through queue_notify, which must then wake that thread. */
	bool thread_queues;

	/* The device-specific feature bits this instance offers (e.g. a
	 * read-only drive); NULL: `features`. Called once, by
	 * virtio_mmio_create(). */
	uint64_t (*device_features)(void *dev);

	/* Reads `len` (1, 2 or 4) bytes of config space at `offset`, naturally
	 * aligned, offset + len <= config_size (the transport checks). Fills
	 * `data` in little-endian order. Required when config_size > 0. */
	void (*config_read)(void *dev, uint32_t offset, void *data, unsigned len);

	/* Writes config space, same guarantees as config_read. NULL: config
	 * space is read-only and writes are logged and dropped. */
	void (*config_write)(void *dev, uint32_t offset, const void *data, unsigned len);

	/* The driver set DRIVER_OK: the negotiated features
	 * (virtio_mmio_features()) and the ready queues are final. Start the
	 * backend. Returns 0, or -errno to put the device in NEEDS_RESET.
	 * May be NULL. After it returns, the transport calls queue_notify once
	 * for every ready queue, for buffers posted before DRIVER_OK. */
	int (*activate)(void *dev, struct virtio_mmio *t);

	/* The driver kicked queue `queue` (ready, device active), or the
	 * device asked to be called again (virtio_mmio_requeue()). Pop chains
	 * with virtq_pop(virtio_mmio_queue(t, queue), ...), push them back
	 * with virtq_push(), then call virtio_mmio_notify_used(t, queue):
	 * serve_queue() (serve_queue.h) does all that within a budget. On
	 * a guest error call virtio_mmio_fail() and return. Spurious calls
	 * happen and must be harmless. Required when num_queues > 0. */
	void (*queue_notify)(void *dev, struct virtio_mmio *t, unsigned queue);

	/* The driver wrote 0 to Status: drop every in-flight request and go
	 * back to the initial state. Called on every reset, activated or not.
	 * The queues are reset by the transport afterwards. May be NULL. */
	void (*reset)(void *dev);

	/* For thread_queues devices: stop (true) makes the device's thread
	 * finish every request it has taken from a ring (used entries pushed)
	 * and then leave the rings alone until a matching call with false;
	 * calls nest. Called WITHOUT the transport lock (the thread needs it
	 * to push), from the loop or a vCPU thread: before a reset (Status 0)
	 * and a QueueReady = 0 take the lock, around a snapshot
	 * (virtio_mmio_quiesce) and by virtio_mmio_destroy(). May block until
	 * in-flight I/O completes. May be NULL. */
	void (*quiesce)(void *dev, bool stop);

	/* A restored snapshot made the device live again (activate has run):
	 * tell the driver what it must redo (vsock: its connections are gone).
	 * Lock held. May be NULL. */
	void (*restored)(void *dev, struct virtio_mmio *t);
};

/* One virtqueue of a transport. */
struct virtio_mmio_queue {
	struct virtio_mmio *t;
	unsigned index;
	int kick_fd;	    /* eventfd watched by the loop; -1 without a loop */
	bool ioeventfd_set; /* kick_fd bound to QueueNotify with KVM_IOEVENTFD */
	struct virtq vq;
};

/* A virtio-mmio slot. Embed it; fields are private to the transport
 * (virtio_mmio.c, virtio_mmio_regs.c). */
struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_device_ops *ops;
	void *dev;
	const struct guest_mem *mem;
	int vm_fd;
	struct event_loop *loop;
	struct ioapic *ioapic;
	unsigned slot;
	uint64_t base; /* guest physical address of the register page */
	unsigned gsi;
	int irq_fd; /* eventfd bound to gsi with KVM_IRQFD; -1 without KVM */
	bool created;
	uint64_t offered_features; /* the device's and the transport's, fixed at create */
	/* register file */
	uint32_t status;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t config_generation;
	/* The register page as the guest reads it (virtio_mmio_mirror.c):
	 * each register's value at its offset, config space from 0x100,
	 * all-ones elsewhere. With KVM's read-only memory it is mapped into
	 * the guest at `base`, so register and config reads cost no exit;
	 * writes still exit and the transport updates the page before the
	 * writing vCPU goes on. */
	uint8_t *regs;
	/* InterruptStatus: a word of regs, at its register offset. */
	_Atomic uint32_t *interrupt_status;
	/* ops->backend_queues, from DRIVER_OK to reset: InterruptStatus reads
	 * always show the used-buffer bit (the back end raises the irqfd). */
	_Atomic bool backend_owns_queues;
	struct virtio_mmio_queue *queues; /* ops->num_queues entries */
	/* statistics */
	_Atomic uint64_t interrupts; /* interrupts raised (signalled or counted) */
	_Atomic uint64_t user_kicks; /* QueueNotify writes that reached userspace */
	_Atomic uint64_t kicks;	     /* QueueNotify writes through the ioeventfds */
	struct log_limit log_limit;
};

/* MMIO handlers for one slot; opaque is the struct virtio_mmio. Register on
 * the bus at t->base with size VIRTIO_MMIO_STRIDE. Registers below 0x100
 * take aligned 4-byte accesses only; config space (0x100 + config_size)
 * takes naturally aligned 1-, 2- and 4-byte accesses. Anything else is
 * logged (rate-limited) and ignored; such reads return all-ones. */
extern const struct mmio_ops virtio_mmio_ops;

/* Guest physical base and GSI of virtio-mmio slot `slot`. */
uint64_t virtio_mmio_slot_base(unsigned slot);
unsigned virtio_mmio_slot_gsi(unsigned slot);

/* Sets up slot `slot` (< VIRTIO_MMIO_SLOTS) for device `ops`/`dev`: the
 * registers at VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE, interrupts on
 * GSI VIRTIO_GSI_BASE + slot. With vm_fd >= 0 it binds an irqfd to the GSI
 * (KVM_IRQFD); with `loop` it makes one kick eventfd per queue and watches
 * it (ioeventfds are bound only at DRIVER_OK, and only with both vm_fd and
 * loop). With `ioapic` it registers a resample hook that re-signals the
 * irqfd when the pin is unmasked while InterruptStatus is non-zero. `mem`,
 * `loop`, `ioapic` and `dev` must outlive the transport. Returns 0 or
 * -errno (-EINVAL for a bad slot or ops table); on failure nothing is left
 * to destroy. The caller then registers &virtio_mmio_ops / t on the bus. */
int virtio_mmio_create(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev,
		       const struct guest_mem *mem, int vm_fd, struct event_loop *loop,
		       struct ioapic *ioapic, unsigned slot);

/* Undoes virtio_mmio_create(): stops watching the kick eventfds, unbinds
 * ioeventfds and the irqfd, removes the resample hook, closes the fds.
 * Call with no vCPU running, before vm_fd is closed; the loop may still be
 * running. Does not call the device's reset. Safe on a zero-filled or
 * destroyed transport. */
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Formats the kernel command-line fragment that declares slot `slot`,
 * " virtio_mmio.device=4K@0xd0010000:5" (leading space included), into buf.
 * Returns its length, -EINVAL for a bad slot, or -ENOSPC if it does not fit
 * (buf then holds a truncated, NUL-terminated string). */
int virtio_mmio_cmdline(unsigned slot, char *buf, size_t size);

/* ---- For device models ---------------------------------------------------
 * Unless said otherwise, call these with the transport lock held: from
 * inside a device callback, or between virtio_mmio_lock/unlock. */

/* Takes / releases the transport lock, for device work started outside the
 * transport's callbacks (backend fds, timers). */
void virtio_mmio_lock(struct virtio_mmio *t);
void virtio_mmio_unlock(struct virtio_mmio *t);

/* Whether the device should process its queues: DRIVER_OK set and neither
 * DEVICE_NEEDS_RESET nor FAILED. */
bool virtio_mmio_active(const struct virtio_mmio *t);

/* The feature bits the driver accepted (meaningful once FEATURES_OK). */
uint64_t virtio_mmio_features(const struct virtio_mmio *t);

/* Queue `queue` (< ops->num_queues), or NULL. It may not be ready:
 * virtq_pop() then finds nothing. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned queue);

/* Used buffers were pushed on `queue`: if the driver wants to hear about
 * them (virtq_should_notify), sets InterruptStatus bit 0 and signals the
 * interrupt. Call once after a batch of virtq_push(). */
void virtio_mmio_notify_used(struct virtio_mmio *t, unsigned queue);

/* Asks for queue_notify(queue) to run again later on the event loop, as if
 * the driver had kicked, behind the callbacks already waiting there: for a
 * device that stopped serving a queue with work left, so that other devices
 * get their turn. Returns false, scheduling nothing, when the transport has
 * no event loop. */
bool virtio_mmio_requeue(struct virtio_mmio *t, unsigned queue);

/* For ops->backend_queues devices: the eventfd bound to QueueNotify for
 * `queue` (the back end's kick fd), and the eventfd bound to the slot's
 * GSI (its call fd); -1 when there is none (no loop, no KVM). The
 * transport keeps them: the back end gets copies over its socket. */
int virtio_mmio_kick_fd(const struct virtio_mmio *t, unsigned queue);
int virtio_mmio_irq_fd(const struct virtio_mmio *t);

/* Sets `bits` in InterruptStatus and signals the interrupt (or only counts it without KVM), as
 * for the device's own used buffers: for a back end's call that reaches minnow. Any thread. */
void virtio_mmio_signal(struct virtio_mmio *t, uint32_t bits);

/* The device changed its config space: bumps ConfigGeneration, sets
 * InterruptStatus bit 1 and signals the interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);

/* Makes a device with its own thread (thread_queues) finish what it has in
 * flight and leave its rings alone (stop true), or lets it go on (false);
 * calls nest. Nothing for other devices. Without the transport lock: the
 * snapshot takes every slot's state between the two calls, with the vCPUs
 * parked. */
void virtio_mmio_quiesce(struct virtio_mmio *t, bool stop);

/* A queue's position, as a snapshot keeps it. */
struct virtio_mmio_queue_state {
	uint64_t desc, avail, used; /* guest addresses */
	uint32_t size;
	uint8_t ready, signalled_used_valid;
	uint16_t last_avail_idx, used_idx, signalled_used;
	uint16_t pad;
};

/* The transport's register file and its queues, as a snapshot keeps it;
 * followed by num_queues struct virtio_mmio_queue_state. */
struct virtio_mmio_state {
	uint32_t device_id, num_queues;
	uint32_t status, device_features_sel, driver_features_sel, queue_sel;
	uint32_t config_generation, interrupt_status;
	uint64_t driver_features;
	struct virtio_mmio_queue_state queues[];
};

/* Bytes of a struct virtio_mmio_state for `t`. */
size_t virtio_mmio_state_size(const struct virtio_mmio *t);

/* Copies the transport's state into s (virtio_mmio_state_size() bytes).
 * Returns 0, or -ENOTSUP with a reason when the device cannot be
 * snapshotted (a vhost-user back end keeps state minnow cannot see). */
int virtio_mmio_get_state(struct virtio_mmio *t, struct virtio_mmio_state *s, char *why,
			  size_t whylen);

/* Restores a state of `len` bytes into a freshly created transport: the
 * register file, each queue's addresses and position; a device that was
 * live is activated again and told so (ops->restored). Returns 0, or -1
 * with a reason (another device, another queue count, a queue the guest
 * memory cannot hold). Before any vCPU runs. */
int virtio_mmio_set_state(struct virtio_mmio *t, const struct virtio_mmio_state *s, size_t len,
			  char *why, size_t whylen);

/* The guest broke the rules (or the backend failed): sets
 * DEVICE_NEEDS_RESET, raises a config-change interrupt, stops queue
 * processing until reset, and logs "<name> (virtio-mmio slot N): <message>"
 * with a rate limit. */
void virtio_mmio_fail(struct virtio_mmio *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
