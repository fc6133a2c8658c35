/* virtio_mmio.c - virtio-mmio version 2 transport: register file, feature
 * negotiation, status state machine, queue setup, ioeventfd kicks, irqfd. */
#include "virtio_mmio.h"

#include <endian.h>
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

#define STATUS_DEVICE_OWNED VIRTIO_CONFIG_S_NEEDS_RESET

/* ---- Small helpers (lock held unless said otherwise) ---------------------- */

static uint64_t offered_features(const struct virtio_mmio *t)
{
	uint64_t f = t->ops->device_features ? t->ops->device_features(t->dev) : t->ops->features;
	return f | VIRTIO_MMIO_TRANSPORT_FEATURES;
}

/* Logs an access or request the transport ignores. */
static void note(struct virtio_mmio *t, const char *what, uint64_t offset, uint64_t value)
{
	log_limited(&t->log_limit, "%s (virtio-mmio slot %u): %s at 0x%03llx (0x%llx) ignored",
		    t->ops->name, t->slot, what, (unsigned long long)offset,
		    (unsigned long long)value);
}

static struct virtio_mmio_queue *selected_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

/* Any thread, lock not needed. */
static void raise_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	atomic_fetch_or(&t->interrupt_status, bits);
	atomic_fetch_add(&t->interrupts, 1);
	if (t->irq_fd >= 0)
		(void)eventfd_write(t->irq_fd, 1);
}

/* IOAPIC hook, run when our pin is unmasked: an interrupt signalled while
 * it was masked went nowhere, so send it again if still pending. */
static void resample(void *opaque)
{
	struct virtio_mmio *t = opaque;
	if (atomic_load(&t->interrupt_status) != 0 && t->irq_fd >= 0)
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
 * speed: the write then exits to userspace and handle_notify() forwards it. */
static void arm_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q)
{
	if (t->vm_fd < 0 || q->kick_fd < 0 || q->ioeventfd_set)
		return;
	q->ioeventfd_set = set_ioeventfd(t, q, true) == 0;
}

static void disarm_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q)
{
	if (!q->ioeventfd_set)
		return;
	(void)set_ioeventfd(t, q, false);
	q->ioeventfd_set = false;
}

/* Runs the device's queue_notify for a ready queue of an active device:
 * through the loop when there is one, else right here. */
static void kick_queue(struct virtio_mmio *t, struct virtio_mmio_queue *q)
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
	eventfd_t count;
	(void)events;
	(void)eventfd_read(q->kick_fd, &count);
	pthread_mutex_lock(&t->lock);
	if (virtio_mmio_active(t) && q->vq.ready)
		t->ops->queue_notify(t->dev, t, q->index);
	pthread_mutex_unlock(&t->lock);
}

/* A QueueNotify write that reached userspace (no ioeventfd matched). */
static void handle_notify(struct virtio_mmio *t, uint32_t queue)
{
	atomic_fetch_add(&t->user_kicks, 1);
	pthread_mutex_lock(&t->lock);
	if (queue >= t->ops->num_queues || !t->queues[queue].vq.ready)
		note(t, "notify for a missing or not-ready queue", VIRTIO_MMIO_QUEUE_NOTIFY, queue);
	else if (virtio_mmio_active(t))
		kick_queue(t, &t->queues[queue]);
	/* Before DRIVER_OK: the kick at activation covers it. */
	pthread_mutex_unlock(&t->lock);
}

/* ---- Status state machine ---------------------------------------------------- */

static void device_reset(struct virtio_mmio *t)
{
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		disarm_queue(t, &t->queues[i]);
	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		virtq_reset(&t->queues[i].vq);
	t->status = 0;
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	atomic_store(&t->interrupt_status, 0);
}

static bool features_acceptable(const struct virtio_mmio *t)
{
	uint64_t f = t->driver_features;
	return (f & ~offered_features(t)) == 0 && (f & (1ULL << VIRTIO_F_VERSION_1));
}

/* DRIVER_OK: bind doorbells, start the device, look at what is queued. */
static void go_live(struct virtio_mmio *t)
{
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		if (t->queues[i].vq.ready)
			arm_queue(t, &t->queues[i]);
	}
	if (t->ops->activate) {
		int r = t->ops->activate(t->dev, t);
		if (r < 0) {
			virtio_mmio_fail(t, "activation failed: %s", strerror(-r));
			return;
		}
	}
	for (unsigned i = 0; i < t->ops->num_queues && virtio_mmio_active(t); i++) {
		if (t->queues[i].vq.ready)
			kick_queue(t, &t->queues[i]);
	}
}

static void set_status(struct virtio_mmio *t, uint32_t value)
{
	if (value == 0) {
		device_reset(t);
		return;
	}
	uint32_t old = t->status;
	value = (value & ~STATUS_DEVICE_OWNED) | (old & STATUS_DEVICE_OWNED);
	if (old & ~value) {
		note(t, "status write clearing bits", VIRTIO_MMIO_STATUS, value);
		return;
	}
	uint32_t added = value & ~old;
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !features_acceptable(t)) {
		note(t, "driver features refused", VIRTIO_MMIO_DRIVER_FEATURES, t->driver_features);
		value &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !(value & VIRTIO_CONFIG_S_FEATURES_OK)) {
		t->status = value & ~(uint32_t)VIRTIO_CONFIG_S_DRIVER_OK;
		virtio_mmio_fail(t, "DRIVER_OK without FEATURES_OK");
		return;
	}
	t->status = value;
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && virtio_mmio_active(t))
		go_live(t);
}

/* ---- Registers ------------------------------------------------------------------ */

/* The queue address field a register offset names, or NULL. */
static gpa_t *queue_addr(struct virtq *vq, uint64_t offset)
{
	switch (offset & ~4ULL) {
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return &vq->desc_gpa;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return &vq->avail_gpa;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return &vq->used_gpa;
	default:
		return NULL;
	}
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t offset)
{
	struct virtio_mmio_queue *q = selected_queue(t);
	uint64_t offered = offered_features(t);
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->device_features_sel > 1)
			return 0;
		return (uint32_t)(offered >> (32 * t->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->vq.max_size : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return q ? q->vq.size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->vq.ready : 0;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (!q)
			return 0;
		return (uint32_t)(*queue_addr(&q->vq, offset) >> (offset & 4 ? 32 : 0));
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* no shared memory regions */
	default:
		note(t, "read of a write-only or unknown register", offset, 0);
		return 0xffffffffu;
	}
}

static void write_queue_register(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	struct virtio_mmio_queue *q = selected_queue(t);
	if (!q) {
		note(t, "write for a queue that does not exist", offset, t->queue_sel);
		return;
	}
	if (q->vq.ready || (t->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		virtio_mmio_fail(t, "queue %u reconfigured while ready or after DRIVER_OK",
				 q->index);
		return;
	}
	if (offset == VIRTIO_MMIO_QUEUE_NUM) {
		q->vq.size = value;
		return;
	}
	gpa_t *addr = queue_addr(&q->vq, offset);
	if (offset & 4)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)value << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | value;
}

static void write_queue_ready(struct virtio_mmio *t, uint32_t value)
{
	struct virtio_mmio_queue *q = selected_queue(t);
	if (!q || value > 1) {
		note(t, "bad QueueReady write", VIRTIO_MMIO_QUEUE_READY, value);
		return;
	}
	if (value == 0) {
		disarm_queue(t, q);
		virtq_disable(&q->vq);
		return;
	}
	if (q->vq.ready)
		return;
	if (!(t->status & VIRTIO_CONFIG_S_FEATURES_OK) || (t->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		virtio_mmio_fail(t, "queue %u enabled before FEATURES_OK or after DRIVER_OK",
				 q->index);
		return;
	}
	int r = virtq_enable(&q->vq, t->driver_features);
	if (r < 0)
		virtio_mmio_fail(t,
				 "queue %u: bad rings (size %u, desc 0x%llx, avail 0x%llx, used "
				 "0x%llx): %s",
				 q->index, q->vq.size, (unsigned long long)q->vq.desc_gpa,
				 (unsigned long long)q->vq.avail_gpa,
				 (unsigned long long)q->vq.used_gpa, strerror(-r));
}

static void write_driver_features(struct virtio_mmio *t, uint32_t value)
{
	if (t->status & VIRTIO_CONFIG_S_FEATURES_OK) {
		note(t, "feature write after FEATURES_OK", VIRTIO_MMIO_DRIVER_FEATURES, value);
		return;
	}
	if (t->driver_features_sel > 1) {
		if (value)
			note(t, "feature bits beyond 63", VIRTIO_MMIO_DRIVER_FEATURES, value);
		return;
	}
	unsigned shift = 32 * t->driver_features_sel;
	t->driver_features =
	    (t->driver_features & ~(0xffffffffULL << shift)) | ((uint64_t)value << shift);
}

static void write_register(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = value;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(t, value);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = value;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = value;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue_register(t, offset, value);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		write_queue_ready(t, value);
		break;
	case VIRTIO_MMIO_STATUS:
		set_status(t, value);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break; /* no shared memory regions: every id reads as absent */
	default:
		note(t, "write to a read-only or unknown register", offset, value);
		break;
	}
}

/* ---- MMIO handlers ---------------------------------------------------------------- */

static bool config_access_ok(const struct virtio_mmio *t, uint64_t offset, unsigned len)
{
	uint64_t rel = offset - VIRTIO_MMIO_CONFIG;
	if (len != 1 && len != 2 && len != 4)
		return false;
	return rel % len == 0 && rel + len <= t->ops->config_size;
}

static void mmio_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct virtio_mmio *t = opaque;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (!config_access_ok(t, offset, len)) {
			note(t, "bad config space read", offset, len);
			memset(data, 0xff, len);
			return;
		}
		pthread_mutex_lock(&t->lock);
		t->ops->config_read(t->dev, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), data, len);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (len != 4 || offset % 4) {
		note(t, "register read of wrong size or alignment", offset, len);
		memset(data, 0xff, len);
		return;
	}
	uint32_t value;
	if (offset == VIRTIO_MMIO_INTERRUPT_STATUS) {
		value = atomic_load(&t->interrupt_status);
	} else {
		pthread_mutex_lock(&t->lock);
		value = read_register(t, offset);
		pthread_mutex_unlock(&t->lock);
	}
	value = htole32(value);
	memcpy(data, &value, 4);
}

static void mmio_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct virtio_mmio *t = opaque;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (!config_access_ok(t, offset, len) || !t->ops->config_write) {
			note(t, "bad or read-only config space write", offset, len);
			return;
		}
		pthread_mutex_lock(&t->lock);
		t->ops->config_write(t->dev, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), data, len);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (len != 4 || offset % 4) {
		note(t, "register write of wrong size or alignment", offset, len);
		return;
	}
	uint32_t value;
	memcpy(&value, data, 4);
	value = le32toh(value);
	if (offset == VIRTIO_MMIO_INTERRUPT_ACK) {
		atomic_fetch_and(&t->interrupt_status, ~value);
		return;
	}
	if (offset == VIRTIO_MMIO_QUEUE_NOTIFY) {
		handle_notify(t, value);
		return;
	}
	pthread_mutex_lock(&t->lock);
	write_register(t, offset, value);
	pthread_mutex_unlock(&t->lock);
}

const struct mmio_ops virtio_mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
};

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
	for (unsigned i = 0; t->queues && i < t->ops->num_queues; i++) {
		struct virtio_mmio_queue *q = &t->queues[i];
		if (q->kick_fd < 0)
			continue;
		(void)event_loop_remove(t->loop, q->kick_fd);
		disarm_queue(t, q);
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

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
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
	raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}
