/* virtio_rng.c - virtio entropy device: fills each writable chain from
 * getrandom() and returns it used. */
#include "virtio_rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "serve_queue.h"
#include "virtio_type.h"

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

/* queue_server.serve: one chain of random bytes. */
static int rng_serve(void *dev, struct virtio_mmio *t, const struct virtq_chain *chain,
		     uint32_t *used_len)
{
	struct virtio_rng *rng = dev;
	(void)t;
	*used_len = serve_chain(chain);
	rng->bytes_served += *used_len;
	rng->requests++;
	return 0;
}

static void rng_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct virtq_seg segs[VIRTIO_RNG_MAX_SEGS];
	if (queue != RNG_REQUEST_QUEUE)
		return;
	struct queue_server server = {
	    .queue = queue,
	    .queue_name = "request queue",
	    .segs = segs,
	    .seg_cap = VIRTIO_RNG_MAX_SEGS,
	    .max_chains = VIRTIO_RNG_BUDGET_CHAINS,
	    .serve = rng_serve,
	    .opaque = dev,
	};
	(void)serve_queue(t, &server);
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

/* ---- The device type ----------------------------------------------------------------- */

static size_t rng_count(const struct vm_config *cfg)
{
	return cfg->rng;
}

static void *rng_type_create(const struct device_env *env, size_t i, struct device_error *e)
{
	(void)env;
	(void)i;
	struct virtio_rng *rng = malloc(sizeof(*rng));
	if (!rng) {
		snprintf(e->section, sizeof(e->section), "rng");
		snprintf(e->msg, sizeof(e->msg), "%s", strerror(ENOMEM));
		e->host_failure = true;
		return NULL;
	}
	virtio_rng_init(rng);
	return rng;
}

const struct virtio_type virtio_rng_type = {
    "virtio-rng", &virtio_rng_ops, rng_count, rng_type_create, free, NULL, NULL};
