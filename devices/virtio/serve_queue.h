/* serve_queue.h - the pop / serve / push / notify loop that virtio devices
 * run over a queue on the event-loop thread, with a budget: one call serves
 * at most so many chains (and bytes), so that a guest flooding one device
 * cannot hold up the others sharing that thread. When the budget runs out
 * with chains left, the queue is served again later from the event loop,
 * without waiting for a guest kick (virtio_mmio_requeue()). */
#ifndef MINNOW_SERVE_QUEUE_H
#define MINNOW_SERVE_QUEUE_H

#include <stdint.h>

#include "virtio_mmio.h"
#include "virtqueue.h"

/* How a device serves one of its queues. */
struct queue_server {
	unsigned queue;		/* the queue's index on its transport */
	const char *queue_name; /* names the queue in guest-error messages */
	/* The message for a chain of more than seg_cap segments (-E2BIG from
	 * virtq_pop()), or NULL for strerror(E2BIG). */
	const char *too_long;
	struct virtq_seg *segs; /* the walker's segment array */
	unsigned seg_cap;
	unsigned max_chains; /* budget per call: chains, >= 1 */
	uint64_t max_bytes;  /* budget per call: chain bytes (readable +
			      * writable) served; 0 = no byte budget. The
			      * chain that crosses it is still served whole. */
	/* Serves one well-formed-looking chain. Returns 0 with *used_len set
	 * to the bytes written into its writable part: the chain is then
	 * pushed. Or, for a chain the guest got wrong, calls
	 * virtio_mmio_fail() and returns -1: the chain is not pushed and
	 * serving stops. Or returns 1 when the device cannot take the chain
	 * now (rate limited): the chain is given back to the ring unserved
	 * (virtq_unpop) and serving stops without asking to be called again;
	 * the device resumes it later itself. Called with the transport lock
	 * held. */
	int (*serve)(void *opaque, struct virtio_mmio *t, const struct virtq_chain *chain,
		     uint32_t *used_len);
	void *opaque; /* first argument of serve */
};

/* Serves queue s->queue of `t` (lock held, device active): pops chains,
 * has s->serve() serve them, pushes them, and calls virtio_mmio_notify_used()
 * once per batch of at most s->max_chains chains / s->max_bytes bytes. A
 * ring error from virtq_pop() fails the device ("<queue_name>: <strerror>",
 * or s->too_long for -E2BIG) after the batch's notification, as does a
 * chain s->serve() refuses (it fails the device itself); then serving
 * stops. When the budget runs out with chains possibly left, it asks the
 * event loop to serve the queue again later (virtio_mmio_requeue()) and
 * returns; without a loop it serves the next batch right away, until the
 * queue is empty. Returns the number of chains pushed. */
unsigned serve_queue(struct virtio_mmio *t, const struct queue_server *s);

#endif
