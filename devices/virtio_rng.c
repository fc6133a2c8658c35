/* virtio_rng.c - virtio entropy device: fills each writable chain from
 * getrandom() and returns it used. */
#include "virtio_rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_rng.h>
#include <string.h>
#include <sys/random.h>

#define RNG_REQUEST_QUEUE 0

void virtio_rng_init(struct virtio_rng *rng)
{
	memset(rng, 0, sizeof(*rng));
}

/* Fills [buf, buf + len) with random bytes; returns how many were written
 * (fewer only if getrandom() fails). */
static size_t fill_random(uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

/* Fills the chain's writable segments, at most VIRTIO_RNG_MAX_PER_CHAIN
 * bytes in all (a driver asking for more gets a short answer, which the
 * used length reports). Readable segments carry nothing for this device
 * and are ignored. */
static uint32_t serve_chain(const struct virtq_chain *chain)
{
	size_t budget = VIRTIO_RNG_MAX_PER_CHAIN;
	uint32_t written = 0;
	for (unsigned i = chain->num_readable; i < chain->num_segs && budget > 0; i++) {
		const struct virtq_seg *s = &chain->segs[i];
		size_t want = s->len < budget ? s->len : budget;
		size_t got = fill_random(s->host, want);
		written += (uint32_t)got;
		budget -= got;
		if (got < want)
			break;
	}
	return written;
}

static void rng_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct virtio_rng *rng = dev;
	struct virtq *vq = virtio_mmio_queue(t, queue);
	struct virtq_seg segs[VIRTIO_RNG_MAX_SEGS];
	struct virtq_chain chain;
	if (!vq || queue != RNG_REQUEST_QUEUE)
		return;
	virtq_chain_init(&chain, segs, VIRTIO_RNG_MAX_SEGS);
	int r;
	unsigned served = 0;
	while ((r = virtq_pop(vq, &chain)) > 0) {
		uint32_t written = serve_chain(&chain);
		rng->bytes_served += written;
		rng->requests++;
		served++;
		(void)virtq_push(vq, chain.head, written);
	}
	if (served)
		virtio_mmio_notify_used(t, queue);
	if (r < 0)
		virtio_mmio_fail(t, "request queue: %s", strerror(-r));
}

const struct virtio_device_ops virtio_rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max = VIRTIO_RNG_QUEUE_SIZE,
    .features = 0,
    .config_size = 0,
    .queue_notify = rng_queue_notify,
};
