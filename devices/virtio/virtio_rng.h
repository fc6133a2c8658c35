/* virtio_rng.h - virtio entropy device (device id 4): one request queue
 * whose writable buffers are filled from the host's getrandom(). */
#ifndef MINNOW_VIRTIO_RNG_H
#define MINNOW_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_RNG_QUEUE_SIZE	 64    /* QueueNumMax of the request queue */
#define VIRTIO_RNG_MAX_SEGS	 16    /* segments accepted in one chain */
#define VIRTIO_RNG_MAX_PER_CHAIN 65536 /* bytes served per chain at most */
#define VIRTIO_RNG_BUDGET_CHAINS 16    /* chains served per event-loop turn */

/* Device state. Touched only under the transport's lock. */
struct virtio_rng {
	uint64_t bytes_served; /* entropy bytes handed to the guest */
	uint64_t requests;     /* chains returned */
};

/* The device model for virtio_mmio_create(); dev is a struct virtio_rng. */
extern const struct virtio_device_ops virtio_rng_ops;

/* Zeroes the counters. Call before virtio_mmio_create(). */
void virtio_rng_init(struct virtio_rng *rng);

#endif
