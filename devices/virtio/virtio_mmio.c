/* virtio_mmio.c - virtio-mmio version 2 transport: creation and teardown, queue setup,
 * ioeventfd kicks, the irqfd interrupt and the API device models call. The register file
 * is in virtio_mmio_regs.c. */
#include "virtio_mmio_internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm.h"

/* ---- Small helpers (lock held unless said otherwise) ---------------------- */

/* Logs an access or request the transport ignores. */
void vmmio_note(struct virtio_mmio *t, const char *what, uint64_t offset, uint64_t value)
{
	log_limited(&t->log_limit, "%s (virtio-mmio slot %u): %s at 0x%03llx (0x%llx) ignored",
		    t->ops->name, t->slot, what, (unsigned long long)offset,
		    (unsigned long long)value);
}

/* Any thread, lock not needed. */
static void raise_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	atomic_fetch_or(t->interrupt_status, bits);
	atomic_fetch_add(&t->interrupts, 1);
	if (t->irq_fd >= 0)
		(void)eventfd_write(t->irq_fd, 1);
}

/* IOAPIC hook, run when our pin is unmasked: an interrupt signalled while
 * it was masked went nowhere, so send it again if still pending. */
static void resample(void *opaque)
{
	struct virtio_mmio *t = opaque;
	if (vmmio_interrupt_status(t) != 0 && t->irq_fd >= 0)
		(void)eventfd_write(t->irq_fd, 1);
}

/* ---- Kicks: ioeventfd -> event loop -> device ------------------------------ */

static int set_ioeventfd(struct virtio_mmio *t, struct virtio_mmio_queue *q, bool assign)
{
	struct kvm_ioeventfd io = {
	    .datamatch = q->index,
	    .addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY,
	    .len = 4,
	    .fd = q->kick_fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	return KVM_IOCTL(t->vm_fd, KVM_IOEVENTFD, &io);
}

/* Binds the queue's kick eventfd to QueueNotify. A failure only costs
 * speed: the write then exits to userspace and vmmio_handle_notify() forwards it. */
void vmmio_arm_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q)
{
	if (t->vm_fd < 0 || q->kick_fd < 0 || q->ioeventfd_set)
		return;
	q->ioeventfd_set = set_ioeventfd(t, q, true) == 0;
}

void vmmio_disarm_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q)
{
	if (!q->ioeventfd_set)
		return;
	(void)set_ioeventfd(t, q, false);
	q->ioeventfd_set = false;
}

/* Runs the device's queue_notify for a ready queue of an active device:
 * through the loop when there is one, else right here. */
void vmmio_kick_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q)
{
	if (q->kick_fd >= 0)
		(void)eventfd_write(q->kick_fd, 1);
	else
		t->ops->queue_notify(t->dev, t, q->index);
}

/* Event-loop callback for a queue's kick eventfd. */
static void on_kick(void *opaque, uint32_t events)
{
	struct virtio_mmio_queue *q = opaque;
	struct virtio_mmio *t = q->t;
	eventfd_t count = 0;
	(void)events;
	(void)eventfd_read(q->kick_fd, &count);
	atomic_fetch_add_explicit(&t->kicks, count, memory_order_relaxed);
	pthread_mutex_lock(&t->lock);
	if (virtio_mmio_active(t) && q->vq.ready)
		t->ops->queue_notify(t->dev, t, q->index);
	pthread_mutex_unlock(&t->lock);
}

/* A QueueNotify write that reached userspace (no ioeventfd matched). */
void vmmio_handle_notify(struct virtio_mmio *t, uint32_t queue)
{
	atomic_fetch_add(&t->user_kicks, 1);
	pthread_mutex_lock(&t->lock);
	if (queue >= t->ops->num_queues || !t->queues[queue].vq.ready)
		vmmio_note(t, "notify for a missing or not-ready queue", VIRTIO_MMIO_QUEUE_NOTIFY,
			   queue);
	else if (virtio_mmio_active(t))
		vmmio_kick_queue(t, &t->queues[queue]);
	/* Before DRIVER_OK: the kick at activation covers it. */
	pthread_mutex_unlock(&t->lock);
}

/* ---- Creation and teardown ------------------------------------------------------- */

uint64_t virtio_mmio_slot_base(unsigned slot)
{
	return VIRTIO_MMIO_BASE + (uint64_t)slot * VIRTIO_MMIO_STRIDE;
}

unsigned virtio_mmio_slot_gsi(unsigned slot)
{
	return VIRTIO_GSI_BASE + slot;
}

static bool ops_valid(const struct virtio_device_ops *ops)
{
	uint32_t qmax = ops->queue_max;
	if (!ops->name || ops->num_queues > VIRTIO_MMIO_MAX_QUEUES)
		return false;
	if (ops->num_queues &&
	    (!ops->queue_notify || qmax == 0 || (qmax & (qmax - 1)) || qmax > VIRTQ_MAX_SIZE))
		return false;
	return ops->config_size <= VIRTIO_MMIO_CONFIG_MAX &&
	       (ops->config_size == 0 || ops->config_read);
}

static int bind_irqfd(struct virtio_mmio *t)
{
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return -errno;
	struct kvm_irqfd irqfd = {.fd = (uint32_t)t->irq_fd, .gsi = t->gsi};
	int r = KVM_IOCTL(t->vm_fd, KVM_IRQFD, &irqfd);
	if (r < 0) {
		close(t->irq_fd);
		t->irq_fd = -1;
	}
	return r;
}

static int create_queue(struct virtio_mmio *t, unsigned index)
{
	struct virtio_mmio_queue *q = &t->queues[index];
	q->t = t;
	q->index = index;
	q->kick_fd = -1;
	virtq_init(&q->vq, t->mem, t->ops->queue_max);
	if (!t->loop)
		return 0;
	q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kick_fd < 0)
		return -errno;
	if (t->ops->backend_queues || t->ops->thread_queues)
		return 0; /* the back end, or the device's thread, reads it */
	int r = event_loop_add(t->loop, q->kick_fd, EPOLLIN, on_kick, q);
	if (r < 0) {
		close(q->kick_fd);
		q->kick_fd = -1;
	}
	return r;
}

int virtio_mmio_create(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev,
		       const struct guest_mem *mem, int vm_fd, struct event_loop *loop,
		       struct ioapic *ioapic, unsigned slot)
{
	memset(t, 0, sizeof(*t));
	if (slot >= VIRTIO_MMIO_SLOTS || !ops || !ops_valid(ops))
		return -EINVAL;
	int r = pthread_mutex_init(&t->lock, NULL);
	if (r != 0)
		return -r;
	t->ops = ops;
	t->dev = dev;
	t->mem = mem;
	t->vm_fd = vm_fd;
	t->loop = loop;
	t->slot = slot;
	t->base = virtio_mmio_slot_base(slot);
	t->gsi = virtio_mmio_slot_gsi(slot);
	t->irq_fd = -1;
	t->log_limit.burst = 5;
	t->offered_features = (ops->device_features ? ops->device_features(dev) : ops->features) |
			      VIRTIO_MMIO_TRANSPORT_FEATURES;
	t->created = true;
	if (ops->num_queues) {
		t->queues = calloc(ops->num_queues, sizeof(*t->queues));
		if (!t->queues) {
			virtio_mmio_destroy(t);
			return -ENOMEM;
		}
		for (unsigned i = 0; i < ops->num_queues; i++)
			t->queues[i].kick_fd = -1;
	}
	for (unsigned i = 0; i < ops->num_queues; i++) {
		r = create_queue(t, i);
		if (r < 0) {
			virtio_mmio_destroy(t);
			return r;
		}
	}
	if (vm_fd >= 0) {
		r = bind_irqfd(t);
		if (r < 0) {
			virtio_mmio_destroy(t);
			return r;
		}
	}
	r = vmmio_mirror_create(t);
	if (r < 0) {
		virtio_mmio_destroy(t);
		return r;
	}
	vmmio_mirror_map(t);
	if (ioapic) {
		t->ioapic = ioapic;
		ioapic_set_resample(ioapic, t->gsi, resample, t);
	}
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t->created)
		return;
	if (t->ioapic)
		ioapic_set_resample(t->ioapic, t->gsi, NULL, NULL);
	/* A device thread must be done with the rings and the kick fds first;
	 * it stays parked until the device is destroyed. */
	virtio_mmio_quiesce(t, true);
	for (unsigned i = 0; t->queues && i < t->ops->num_queues; i++) {
		struct virtio_mmio_queue *q = &t->queues[i];
		if (q->kick_fd < 0)
			continue;
		if (!t->ops->backend_queues && !t->ops->thread_queues)
			(void)event_loop_remove(t->loop, q->kick_fd);
		vmmio_disarm_queue(t, q);
		close(q->kick_fd);
		q->kick_fd = -1;
	}
	if (t->irq_fd >= 0) {
		struct kvm_irqfd irqfd = {
		    .fd = (uint32_t)t->irq_fd, .gsi = t->gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN};
		(void)KVM_IOCTL(t->vm_fd, KVM_IRQFD, &irqfd);
		close(t->irq_fd);
		t->irq_fd = -1;
	}
	vmmio_mirror_destroy(t);
	free(t->queues);
	t->queues = NULL;
	pthread_mutex_destroy(&t->lock);
	t->created = false;
}

int virtio_mmio_cmdline(unsigned slot, char *buf, size_t size)
{
	if (slot >= VIRTIO_MMIO_SLOTS)
		return -EINVAL;
	int n =
	    snprintf(buf, size, " virtio_mmio.device=%lluK@0x%llx:%u",
		     (unsigned long long)(VIRTIO_MMIO_STRIDE / 1024),
		     (unsigned long long)virtio_mmio_slot_base(slot), virtio_mmio_slot_gsi(slot));
	if (n < 0)
		return -EINVAL;
	return (size_t)n < size ? n : -ENOSPC;
}

/* ---- Device-facing API ------------------------------------------------------------ */

void virtio_mmio_quiesce(struct virtio_mmio *t, bool stop)
{
	if (t->ops && t->ops->quiesce)
		t->ops->quiesce(t->dev, stop);
}

void virtio_mmio_lock(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *t)
{
	pthread_mutex_unlock(&t->lock);
}

bool virtio_mmio_active(const struct virtio_mmio *t)
{
	const uint32_t stop = VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED;
	return (t->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(t->status & stop);
}

uint64_t virtio_mmio_features(const struct virtio_mmio *t)
{
	return t->driver_features;
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned queue)
{
	return queue < t->ops->num_queues ? &t->queues[queue].vq : NULL;
}

void virtio_mmio_notify_used(struct virtio_mmio *t, unsigned queue)
{
	if (queue >= t->ops->num_queues)
		return;
	if (virtq_should_notify(&t->queues[queue].vq))
		raise_interrupt(t, VIRTIO_MMIO_INT_VRING);
}

bool virtio_mmio_requeue(struct virtio_mmio *t, unsigned queue)
{
	if (queue >= t->ops->num_queues || t->queues[queue].kick_fd < 0)
		return false;
	(void)eventfd_write(t->queues[queue].kick_fd, 1);
	return true;
}

int virtio_mmio_kick_fd(const struct virtio_mmio *t, unsigned queue)
{
	return queue < t->ops->num_queues ? t->queues[queue].kick_fd : -1;
}

int virtio_mmio_irq_fd(const struct virtio_mmio *t)
{
	return t->irq_fd;
}

void virtio_mmio_signal(struct virtio_mmio *t, uint32_t bits)
{
	raise_interrupt(t, bits);
}

uint32_t vmmio_interrupt_status(const struct virtio_mmio *t)
{
	uint32_t v = atomic_load(t->interrupt_status);
	/* A back end signals the irqfd without telling minnow: while it owns
	 * the queues, every interrupt may be for used buffers. */
	if (atomic_load(&t->backend_owns_queues))
		v |= VIRTIO_MMIO_INT_VRING;
	return v;
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	vmmio_mirror_config(t, true);
	raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_fail(struct virtio_mmio *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_limited(&t->log_limit, "%s (virtio-mmio slot %u): %s; device needs reset", t->ops->name,
		    t->slot, msg);
	if (t->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	vmmio_mirror_registers(t);
	raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}
