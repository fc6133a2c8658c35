/* virtio_mmio_state.c - a transport's state for snapshots (virtio_mmio.h):
 * the register file and each queue's addresses and position, taken while
 * the vCPUs are parked and put back into a freshly made transport. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio_mmio.h"
#include "virtio_mmio_internal.h"

size_t virtio_mmio_state_size(const struct virtio_mmio *t)
{
	return sizeof(struct virtio_mmio_state) +
	       t->ops->num_queues * sizeof(struct virtio_mmio_queue_state);
}

int virtio_mmio_get_state(struct virtio_mmio *t, struct virtio_mmio_state *s, char *why,
			  size_t whylen)
{
	if (t->ops->backend_queues) {
		snprintf(why, whylen,
			 "%s: its queues belong to a vhost-user back end, whose state minnow "
			 "cannot save",
			 t->ops->name);
		return -ENOTSUP;
	}
	memset(s, 0, virtio_mmio_state_size(t));
	pthread_mutex_lock(&t->lock);
	s->device_id = t->ops->device_id;
	s->num_queues = t->ops->num_queues;
	s->status = t->status;
	s->device_features_sel = t->device_features_sel;
	s->driver_features_sel = t->driver_features_sel;
	s->queue_sel = t->queue_sel;
	s->config_generation = t->config_generation;
	s->interrupt_status = atomic_load(t->interrupt_status);
	s->driver_features = t->driver_features;
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		const struct virtq *vq = &t->queues[i].vq;
		s->queues[i] = (struct virtio_mmio_queue_state){
		    .desc = vq->desc_gpa,
		    .avail = vq->avail_gpa,
		    .used = vq->used_gpa,
		    .size = vq->size,
		    .ready = vq->ready,
		    .signalled_used_valid = vq->signalled_used_valid,
		    .last_avail_idx = vq->last_avail_idx,
		    .used_idx = vq->used_idx,
		    .signalled_used = vq->signalled_used,
		};
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int virtio_mmio_set_state(struct virtio_mmio *t, const struct virtio_mmio_state *s, size_t len,
			  char *why, size_t whylen)
{
	if (len < sizeof(*s) || s->device_id != t->ops->device_id ||
	    s->num_queues != t->ops->num_queues || len != virtio_mmio_state_size(t)) {
		snprintf(why, whylen, "the snapshot has another device here than %s", t->ops->name);
		return -1;
	}
	int r = 0;
	pthread_mutex_lock(&t->lock);
	t->status = s->status;
	t->device_features_sel = s->device_features_sel;
	t->driver_features_sel = s->driver_features_sel;
	t->queue_sel = s->queue_sel;
	t->config_generation = s->config_generation;
	atomic_store(t->interrupt_status, s->interrupt_status);
	t->driver_features = s->driver_features;
	for (unsigned i = 0; i < t->ops->num_queues && r == 0; i++) {
		const struct virtio_mmio_queue_state *q = &s->queues[i];
		struct virtq *vq = &t->queues[i].vq;
		vq->size = q->size;
		vq->desc_gpa = q->desc;
		vq->avail_gpa = q->avail;
		vq->used_gpa = q->used;
		if (!q->ready)
			continue;
		if (virtq_enable(vq, t->driver_features) < 0) {
			snprintf(why, whylen, "%s: queue %u does not fit this guest's memory",
				 t->ops->name, i);
			r = -1;
			break;
		}
		vq->last_avail_idx = q->last_avail_idx;
		vq->used_idx = q->used_idx;
		vq->signalled_used = q->signalled_used;
		vq->signalled_used_valid = q->signalled_used_valid;
	}
	if (r == 0 && virtio_mmio_active(t)) {
		vmmio_go_live(t);
		if (t->ops->restored && virtio_mmio_active(t))
			t->ops->restored(t->dev, t);
	}
	vmmio_mirror_registers(t);
	vmmio_mirror_config(t, false);
	pthread_mutex_unlock(&t->lock);
	return r;
}
