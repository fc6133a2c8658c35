/* virtio_mmio_regs.c - the virtio-mmio register file: MMIO handlers, registers, feature
 * negotiation and the status state machine (reset, FEATURES_OK, DRIVER_OK). */
#include "virtio_mmio_internal.h"

#include <endian.h>
#include <string.h>

#define STATUS_DEVICE_OWNED VIRTIO_CONFIG_S_NEEDS_RESET

/* ---- Small helpers (lock held) ---------------------------------------------- */

static struct virtio_mmio_queue *selected_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

/* ---- Status state machine ---------------------------------------------------- */

static void device_reset(struct virtio_mmio *t)
{
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		vmmio_disarm_queue(t, &t->queues[i]);
	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		virtq_reset(&t->queues[i].vq);
	t->status = 0;
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	atomic_store(&t->backend_owns_queues, false);
	atomic_store(t->interrupt_status, 0);
}

static bool features_acceptable(const struct virtio_mmio *t)
{
	uint64_t f = t->driver_features;
	return (f & ~t->offered_features) == 0 && (f & (1ULL << VIRTIO_F_VERSION_1));
}

void vmmio_go_live(struct virtio_mmio *t)
{
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		if (t->queues[i].vq.ready)
			vmmio_arm_queue(t, &t->queues[i]);
	}
	if (t->ops->backend_queues)
		atomic_store(&t->backend_owns_queues, true);
	if (t->ops->activate) {
		int r = t->ops->activate(t->dev, t);
		if (r < 0) {
			virtio_mmio_fail(t, "activation failed: %s", strerror(-r));
			return;
		}
	}
	for (unsigned i = 0; i < t->ops->num_queues && virtio_mmio_active(t); i++) {
		if (t->queues[i].vq.ready)
			vmmio_kick_queue(t, &t->queues[i]);
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
		vmmio_note(t, "status write clearing bits", VIRTIO_MMIO_STATUS, value);
		return;
	}
	uint32_t added = value & ~old;
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !features_acceptable(t)) {
		vmmio_note(t, "driver features refused", VIRTIO_MMIO_DRIVER_FEATURES,
			   t->driver_features);
		value &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !(value & VIRTIO_CONFIG_S_FEATURES_OK)) {
		t->status = value & ~(uint32_t)VIRTIO_CONFIG_S_DRIVER_OK;
		virtio_mmio_fail(t, "DRIVER_OK without FEATURES_OK");
		return;
	}
	t->status = value;
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && virtio_mmio_active(t))
		vmmio_go_live(t);
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

/* A readable register's value in *value; false for a write-only or unknown one. */
static bool register_value(struct virtio_mmio *t, uint64_t offset, uint32_t *value)
{
	struct virtio_mmio_queue *q = selected_queue(t);
	uint64_t offered = t->offered_features;
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		*value = VIRTIO_MMIO_MAGIC;
		return true;
	case VIRTIO_MMIO_VERSION:
		*value = VIRTIO_MMIO_VERSION_MODERN;
		return true;
	case VIRTIO_MMIO_DEVICE_ID:
		*value = t->ops->device_id;
		return true;
	case VIRTIO_MMIO_VENDOR_ID:
		*value = VIRTIO_MMIO_VENDOR;
		return true;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		*value = t->device_features_sel > 1
			     ? 0
			     : (uint32_t)(offered >> (32 * t->device_features_sel));
		return true;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		*value = q ? q->vq.max_size : 0;
		return true;
	case VIRTIO_MMIO_QUEUE_NUM:
		*value = q ? q->vq.size : 0;
		return true;
	case VIRTIO_MMIO_QUEUE_READY:
		*value = q ? q->vq.ready : 0;
		return true;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		*value = vmmio_interrupt_status(t);
		return true;
	case VIRTIO_MMIO_STATUS:
		*value = t->status;
		return true;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		*value = t->config_generation;
		return true;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		*value = q ? (uint32_t)(*queue_addr(&q->vq, offset) >> (offset & 4 ? 32 : 0)) : 0;
		return true;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		*value = 0xffffffffu; /* no shared memory regions */
		return true;
	default:
		return false;
	}
}

uint32_t vmmio_register_value(struct virtio_mmio *t, uint64_t offset)
{
	uint32_t value;
	return register_value(t, offset, &value) ? value : 0xffffffffu;
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t offset)
{
	uint32_t value;
	if (register_value(t, offset, &value))
		return value;
	vmmio_note(t, "read of a write-only or unknown register", offset, 0);
	return 0xffffffffu;
}

static void write_queue_register(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	struct virtio_mmio_queue *q = selected_queue(t);
	if (!q) {
		vmmio_note(t, "write for a queue that does not exist", offset, t->queue_sel);
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
		vmmio_note(t, "bad QueueReady write", VIRTIO_MMIO_QUEUE_READY, value);
		return;
	}
	if (value == 0) {
		vmmio_disarm_queue(t, q);
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
		vmmio_note(t, "feature write after FEATURES_OK", VIRTIO_MMIO_DRIVER_FEATURES,
			   value);
		return;
	}
	if (t->driver_features_sel > 1) {
		if (value)
			vmmio_note(t, "feature bits beyond 63", VIRTIO_MMIO_DRIVER_FEATURES, value);
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
	case VIRTIO_MMIO_SHM_SEL:
		break; /* no shared memory regions: every id reads as absent */
	default:
		vmmio_note(t, "write to a read-only or unknown register", offset, value);
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

/* An access that reaches the device model: config space, or a Status
 * write (reset, activation). */
struct device_access {
	struct virtio_mmio *t;
	uint64_t offset;
	void *data;
	unsigned len;
	bool write;
};

/* Carries out a device_access; on the loop thread when there is a loop. */
static void do_device_access(void *arg)
{
	struct device_access *a = arg;
	struct virtio_mmio *t = a->t;
	uint32_t value = 0;
	if (a->offset == VIRTIO_MMIO_STATUS)
		memcpy(&value, a->data, 4);
	/* A reset drops the rings: a device thread finishes its requests first. */
	bool quiesce = a->offset == VIRTIO_MMIO_STATUS && value == 0;
	if (quiesce)
		virtio_mmio_quiesce(t, true);
	pthread_mutex_lock(&t->lock);
	uint32_t rel = (uint32_t)(a->offset - VIRTIO_MMIO_CONFIG);
	if (a->offset == VIRTIO_MMIO_STATUS) {
		set_status(t, le32toh(value));
		vmmio_mirror_registers(t);
	} else if (a->write) {
		t->ops->config_write(t->dev, rel, a->data, a->len);
		vmmio_mirror_config(t, false);
	} else {
		t->ops->config_read(t->dev, rel, a->data, a->len);
	}
	pthread_mutex_unlock(&t->lock);
	if (quiesce)
		virtio_mmio_quiesce(t, false);
}

/* Hands the access to the loop thread, which owns the device model, and
 * waits; without a loop (unit tests) does it here. When the loop has
 * ended (the VM is going away) the access is dropped: reads see all-ones. */
static void device_access(struct virtio_mmio *t, uint64_t offset, void *data, unsigned len,
			  bool write)
{
	struct device_access a = {
	    .t = t, .offset = offset, .data = data, .len = len, .write = write};
	if (!t->loop) {
		do_device_access(&a);
		return;
	}
	if (event_loop_call(t->loop, do_device_access, &a) < 0 && !write)
		memset(data, 0xff, len);
}

static void mmio_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct virtio_mmio *t = opaque;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (!config_access_ok(t, offset, len)) {
			vmmio_note(t, "bad config space read", offset, len);
			memset(data, 0xff, len);
			return;
		}
		device_access(t, offset, data, len, false);
		return;
	}
	if (len != 4 || offset % 4) {
		vmmio_note(t, "register read of wrong size or alignment", offset, len);
		memset(data, 0xff, len);
		return;
	}
	uint32_t value;
	if (offset == VIRTIO_MMIO_INTERRUPT_STATUS) {
		value = vmmio_interrupt_status(t);
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
			vmmio_note(t, "bad or read-only config space write", offset, len);
			return;
		}
		device_access(t, offset, (void *)data, len, true);
		return;
	}
	if (len != 4 || offset % 4) {
		vmmio_note(t, "register write of wrong size or alignment", offset, len);
		return;
	}
	uint32_t value;
	memcpy(&value, data, 4);
	value = le32toh(value);
	if (offset == VIRTIO_MMIO_INTERRUPT_ACK) {
		atomic_fetch_and(t->interrupt_status, ~value);
		return;
	}
	if (offset == VIRTIO_MMIO_QUEUE_NOTIFY) {
		vmmio_handle_notify(t, value);
		return;
	}
	if (offset == VIRTIO_MMIO_STATUS) {
		device_access(t, offset, (void *)data, 4, true);
		return;
	}
	/* QueueReady = 0 stops a queue: a device thread lets go of it first. */
	bool quiesce = offset == VIRTIO_MMIO_QUEUE_READY && value == 0;
	if (quiesce)
		virtio_mmio_quiesce(t, true);
	pthread_mutex_lock(&t->lock);
	write_register(t, offset, value);
	vmmio_mirror_registers(t);
	pthread_mutex_unlock(&t->lock);
	if (quiesce)
		virtio_mmio_quiesce(t, false);
}

const struct mmio_ops virtio_mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
};
