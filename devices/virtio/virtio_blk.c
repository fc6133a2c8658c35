/* virtio_blk.c - virtio block device model: config space, features, the
 * ops table and the device type. Requests (blk_request.c) are served by
 * the drive's own thread (blk_thread.c) once virtio_blk_start() has run;
 * before that (unit tests of other parts, the fuzz harnesses) inline, on
 * the thread that kicks, BLK_BUDGET_CHAINS requests / BLK_BUDGET_BYTES bytes
 * per turn (serve_queue()). Data segments are bounded by size_max and
 * seg_max, so one request moves at most seg_max * size_max bytes. */
#include "virtio_blk.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "disk.h"
#include "rate_limiter.h"
#include "serve_queue.h"
#include "throttle_timer.h"
#include "virtio_blk_internal.h"

#define BLK_BUDGET_CHAINS 32	     /* inline: requests served per event-loop turn, */
#define BLK_BUDGET_BYTES  (8u << 20) /* and bytes: then other devices' turn */

/* The fields up to write_zeroes_may_unmap (and its padding): everything the
 * offered features describe; newer fields (secure erase, zoned) are left
 * out of config space. */
#define BLK_CONFIG_SIZE                                                                            \
	(offsetof(struct virtio_blk_config, unused1) +                                             \
	 sizeof(((struct virtio_blk_config *)0)->unused1))

_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, max_write_zeroes_sectors) == 48, "config layout");
_Static_assert(BLK_CONFIG_SIZE == 60, "config layout");
_Static_assert(BLK_MAX_SEGS <= VIRTIO_BLK_QUEUE_SIZE, "a chain fits the queue");
_Static_assert(BLK_MAX_SEGS == 256, "BLK_MAX_SEGS_STR");
_Static_assert(BLK_MAX_SEGS <= IOV_MAX, "one preadv per request");

#define F(bit) (1ULL << (bit))
#define BLK_RW_FEATURES                                                                            \
	(F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_SIZE_MAX) |             \
	 F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES))
#define BLK_RO_FEATURES                                                                            \
	(F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_SIZE_MAX) |             \
	 F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_RO))

/* ---- The device model ------------------------------------------------------------------ */

static uint64_t blk_device_features(void *dev)
{
	return virtio_blk_features(dev);
}

static void blk_config_read(void *dev, uint32_t offset, void *data, unsigned len)
{
	struct virtio_blk *blk = dev;
	assert(offset + len <= BLK_CONFIG_SIZE);
	memcpy(data, (const uint8_t *)&blk->config + offset, len);
}

static int blk_activate(void *dev, struct virtio_mmio *t)
{
	struct virtio_blk *blk = dev;
	blk->negotiated = virtio_mmio_features(t);
	blk->t = t;
	if (blk->thread)
		blk->thread_ops->activate(blk->thread, t);
	return 0;
}

/* The drive's thread (if any) is parked: quiesce ran first. */
static void blk_reset(void *dev)
{
	struct virtio_blk *blk = dev;
	blk->negotiated = 0;
	/* The waiting request went with the rings; the buckets keep their
	 * tokens (a reset does not buy a new burst). */
	throttle_timer_disarm(&blk->timer);
	blk->throttled = false;
}

static void blk_quiesce(void *dev, bool stop)
{
	struct virtio_blk *blk = dev;
	if (blk->thread)
		blk->thread_ops->quiesce(blk->thread, stop);
}

/* queue_server.serve for inline serving: one request, done here. */
static int blk_serve(void *dev, struct virtio_mmio *t, const struct virtq_chain *chain,
		     uint32_t *used_len)
{
	struct virtio_blk *blk = dev;
	const char *bad = blk_malformed(chain);
	if (bad) {
		virtio_mmio_fail(t, "request (descriptor %u): %s", chain->head, bad);
		return -1;
	}
	blk_req_parse(blk, chain, blk->inline_req);
	blk_req_run(blk, blk->inline_req);
	*used_len = blk_req_finish(blk, blk->inline_req);
	return 0;
}

/* A kick: the drive's thread serves it (woken here when there are no kick
 * eventfds), else it is served right here. */
static void blk_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct virtq_seg segs[BLK_MAX_SEGS];
	struct virtio_blk *blk = dev;
	if (queue != BLK_REQUEST_QUEUE)
		return;
	if (blk->thread) {
		blk->thread_ops->wake(blk->thread);
		return;
	}
	struct queue_server server = {
	    .queue = queue,
	    .queue_name = "request queue",
	    .too_long = "chain longer than seg_max + 2 = " BLK_MAX_SEGS_STR " segments",
	    .segs = segs,
	    .seg_cap = BLK_MAX_SEGS,
	    .max_chains = BLK_BUDGET_CHAINS,
	    .max_bytes = BLK_BUDGET_BYTES,
	    .serve = blk_serve,
	    .opaque = dev,
	};
	(void)serve_queue(t, &server);
}

const struct virtio_device_ops virtio_blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_max = VIRTIO_BLK_QUEUE_SIZE,
    .features = BLK_RW_FEATURES,
    .config_size = BLK_CONFIG_SIZE,
    .device_features = blk_device_features,
    .config_read = blk_config_read,
    .activate = blk_activate,
    .thread_queues = true,
    .queue_notify = blk_queue_notify,
    .reset = blk_reset,
    .quiesce = blk_quiesce,
};

uint64_t virtio_blk_features(const struct virtio_blk *blk)
{
	return blk->disk.readonly ? BLK_RO_FEATURES : BLK_RW_FEATURES;
}

uint64_t virtio_blk_throttles(const struct virtio_blk *blk)
{
	return atomic_load_explicit(&blk->stats.throttles, memory_order_relaxed);
}

bool virtio_blk_uring(const struct virtio_blk *blk)
{
	return blk->thread && blk->uring;
}

uint64_t virtio_blk_capacity(const struct virtio_blk *blk)
{
	return blk->disk.capacity;
}

/* ---- Set-up -------------------------------------------------------------------------- */

static void fill_config(struct virtio_blk *blk)
{
	struct virtio_blk_config *c = &blk->config;
	memset(c, 0, sizeof(*c));
	c->capacity = htole64(blk->disk.capacity);
	c->size_max = htole32(VIRTIO_BLK_SIZE_MAX);
	c->seg_max = htole32(VIRTIO_BLK_SEG_MAX);
	c->blk_size = htole32(disk_block_size(&blk->disk));
	if (!blk->disk.readonly) {
		c->max_discard_sectors = htole32(VIRTIO_BLK_MAX_ZERO_SECTORS);
		c->max_discard_seg = htole32(VIRTIO_BLK_MAX_ZERO_SEG);
		c->discard_sector_alignment =
		    htole32(disk_block_size(&blk->disk) / VIRTIO_BLK_SECTOR);
		c->max_write_zeroes_sectors = htole32(VIRTIO_BLK_MAX_ZERO_SECTORS);
		c->max_write_zeroes_seg = htole32(VIRTIO_BLK_MAX_ZERO_SEG);
		c->write_zeroes_may_unmap = 1;
	}
}

struct virtio_blk *virtio_blk_create(const struct drive_config *cfg, struct event_loop *loop,
				     char *err, size_t errlen)
{
	(void)loop; /* the drive's thread waits for its own timer */
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	if (blk)
		blk->inline_req = malloc(sizeof(*blk->inline_req));
	if (!blk || !blk->inline_req) {
		snprintf(err, errlen, "%s: %s", cfg->path.path, strerror(ENOMEM));
		free(blk);
		return NULL;
	}
	blk->timer.fd = -1;
	blk->log_limit.burst = 10;
	blk->io = cfg->io;
	snprintf(blk->name, sizeof(blk->name), "%s", cfg->name);
	/* NUL-padded, no terminator when 20 bytes long (spec 5.2.6). */
	memcpy(blk->serial, cfg->serial, strnlen(cfg->serial, sizeof(blk->serial)));
	if (disk_open(&blk->disk, cfg->path.path, cfg->readonly, cfg->cache == CACHE_NONE, err,
		      errlen) < 0) {
		virtio_blk_destroy(blk);
		return NULL;
	}
	fill_config(blk);
	const struct rate_limit_config *l = &cfg->limit;
	rate_limiter_init(&blk->limiter, l->bandwidth, l->bandwidth_burst, l->ops, l->ops_burst,
			  rate_limiter_now_ns());
	if (rate_limiter_limited(&blk->limiter)) {
		int r = throttle_timer_init(&blk->timer, NULL, NULL, NULL);
		if (r < 0) {
			snprintf(err, errlen, "%s: rate limiter timer: %s", cfg->path.path,
				 strerror(-r));
			virtio_blk_destroy(blk);
			return NULL;
		}
		blk->limited = true;
	}
	return blk;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	if (!blk)
		return;
	if (blk->thread)
		blk->thread_ops->stop(blk->thread);
	blk->thread = NULL;
	throttle_timer_fini(&blk->timer);
	disk_close(&blk->disk);
	free(blk->inline_req);
	free(blk);
}
