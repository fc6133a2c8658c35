/* virtio_blk.c - virtio block device model: requests served synchronously
 * through the disk back end (disk.h) on the event-loop thread, BLK_BUDGET_CHAINS requests /
 * BLK_BUDGET_BYTES bytes per turn (serve_queue()); data segments are bounded by size_max and
 * seg_max, so one request moves at most seg_max * size_max bytes. */
#include "virtio_blk.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
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
#include "virtio_type.h"

#define BLK_REQUEST_QUEUE 0
#define BLK_MAX_SEGS	  (VIRTIO_BLK_SEG_MAX + 2)
#define BLK_MAX_SEGS_STR  "256"	     /* BLK_MAX_SEGS, for a message */
#define BLK_BUDGET_CHAINS 32	     /* requests served per event-loop turn, */
#define BLK_BUDGET_BYTES  (8u << 20) /* and bytes: then other devices' turn */
#define BLK_HDR_SIZE	  16u	     /* struct virtio_blk_outhdr */
#define BLK_ZERO_SEG_SIZE 16u	     /* struct virtio_blk_discard_write_zeroes */

/* The fields up to write_zeroes_may_unmap (and its padding): everything the
 * offered features describe; newer fields (secure erase, zoned) are left
 * out of config space. */
#define BLK_CONFIG_SIZE                                                                            \
	(offsetof(struct virtio_blk_config, unused1) +                                             \
	 sizeof(((struct virtio_blk_config *)0)->unused1))

_Static_assert(sizeof(struct virtio_blk_outhdr) == BLK_HDR_SIZE, "request header layout");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == BLK_ZERO_SEG_SIZE,
	       "discard segment layout");
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

struct virtio_blk {
	struct disk disk;    /* the image (back end) */
	uint64_t negotiated; /* driver features, from activate */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config; /* little-endian, as the guest reads it */
	struct log_limit log_limit;
	/* Rate limiting ([drive.X] bandwidth, iops): only when limited and
	 * on an event loop; the timer resumes the queue once tokens are back. */
	bool limited;
	struct rate_limiter limiter;
	struct throttle_timer timer;
	bool throttled;		    /* a request waits for tokens; kicks are ignored */
	struct virtio_mmio *t;	    /* from activate, for the timer */
	uint64_t throttles;	    /* times a request had to wait (statistics) */
	char name[CONFIG_NAME_MAX]; /* [drive.NAME], for metrics */
	/* Requests served, by kind, and their data (statistics). */
	uint64_t reads, writes, flushes, read_bytes, write_bytes, errors;
};

/* ---- Requests ----------------------------------------------------------------------- */

/* The parts of a popped chain, framing-independent (virtio 1.x 2.6.4):
 * the header is the first 16 readable bytes, the status the last writable
 * byte, the data what lies between. */
struct blk_req {
	const struct virtq_chain *chain;
	uint32_t type;
	uint64_t sector;
	uint64_t out_len; /* readable bytes after the header */
	uint64_t in_len;  /* writable bytes before the status byte */
	uint32_t written; /* data bytes written for the driver */
};

/* Points iov at `len` bytes of the chain's readable (or writable) part,
 * starting `skip` bytes into it. Returns the number of iovecs (at most
 * the chain's segment count). */
static unsigned chain_iov(const struct virtq_chain *c, bool writable, uint64_t skip, uint64_t len,
			  struct iovec *iov)
{
	unsigned first = writable ? c->num_readable : 0;
	unsigned end = writable ? c->num_segs : c->num_readable;
	unsigned n = 0;
	for (unsigned i = first; i < end && len > 0; i++) {
		uint64_t seg = c->segs[i].len;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		uint64_t k = seg - skip < len ? seg - skip : len;
		iov[n++] = (struct iovec){(uint8_t *)c->segs[i].host + skip, (size_t)k};
		len -= k;
		skip = 0;
	}
	return n;
}

/* Whether [sector, sector + count) lies within the capacity, overflow-safe. */
static bool in_range(const struct virtio_blk *blk, uint64_t sector, uint64_t count)
{
	return sector <= blk->disk.capacity && count <= blk->disk.capacity - sector;
}

/* One line for a failed request; says so when the image has become
 * shorter than the drive (truncated under the running VM), which reads past
 * its new end show as an early end of file (-EIO). */
static void log_io_error(struct virtio_blk *blk, const char *what, uint64_t sector, int err)
{
	uint64_t now;
	if (err == -EIO && disk_shrunk(&blk->disk, &now))
		log_limited(
		    &blk->log_limit,
		    "virtio-blk %s: %s at sector %llu: the image is now %llu bytes, shorter "
		    "than the drive's %llu sectors (truncated under the running VM?): the "
		    "guest gets I/O errors there",
		    blk->disk.path, what, (unsigned long long)sector, (unsigned long long)now,
		    (unsigned long long)blk->disk.capacity);
	else
		log_limited(&blk->log_limit, "virtio-blk %s: %s at sector %llu: %s", blk->disk.path,
			    what, (unsigned long long)sector, strerror(-err));
}

/* Whether the data segments respect what config space promises: at most
 * seg_max of them, none longer than size_max (virtio 1.x 5.2.4). The spec
 * makes these limits advice for the driver, not a ring rule, so a request
 * beyond them fails alone (IOERR) rather than the device. */
static bool within_segment_limits(const struct iovec *iov, unsigned n)
{
	if (n > VIRTIO_BLK_SEG_MAX)
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len > VIRTIO_BLK_SIZE_MAX)
			return false;
	}
	return true;
}

static uint8_t do_in_out(struct virtio_blk *blk, struct blk_req *rq)
{
	bool write = rq->type == VIRTIO_BLK_T_OUT;
	/* Data flows one way only, and there must be some. */
	uint64_t len = write ? rq->out_len : rq->in_len;
	if (len == 0 || (write ? rq->in_len : rq->out_len) != 0)
		return VIRTIO_BLK_S_IOERR;
	if (write && blk->disk.readonly)
		return VIRTIO_BLK_S_IOERR; /* spec 5.2.6.2: RO drives fail writes with IOERR */
	if (len % VIRTIO_BLK_SECTOR || !in_range(blk, rq->sector, len / VIRTIO_BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	struct iovec iov[BLK_MAX_SEGS];
	unsigned n = chain_iov(rq->chain, !write, write ? BLK_HDR_SIZE : 0, len, iov);
	if (!within_segment_limits(iov, n))
		return VIRTIO_BLK_S_IOERR;
	int r = disk_rw(&blk->disk, write, iov, n, len, rq->sector * VIRTIO_BLK_SECTOR);
	if (r < 0) {
		log_io_error(blk, write ? "write" : "read", rq->sector, r);
		return VIRTIO_BLK_S_IOERR;
	}
	if (!write)
		rq->written = (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct virtio_blk *blk, struct blk_req *rq)
{
	uint32_t n = rq->in_len < VIRTIO_BLK_ID_BYTES ? (uint32_t)rq->in_len : VIRTIO_BLK_ID_BYTES;
	if (n == 0)
		return VIRTIO_BLK_S_IOERR;
	(void)virtq_chain_write(rq->chain, 0, blk->serial, n);
	rq->written = n;
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: every range checked before any is acted on. */
static uint8_t do_zero(struct virtio_blk *blk, struct blk_req *rq)
{
	bool discard = rq->type == VIRTIO_BLK_T_DISCARD;
	uint64_t feature = F(discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES);
	if (blk->disk.readonly || !(blk->negotiated & feature))
		return VIRTIO_BLK_S_UNSUPP;
	uint64_t nseg = rq->out_len / BLK_ZERO_SEG_SIZE;
	if (nseg == 0 || rq->out_len % BLK_ZERO_SEG_SIZE || nseg > VIRTIO_BLK_MAX_ZERO_SEG)
		return VIRTIO_BLK_S_IOERR;
	struct virtio_blk_discard_write_zeroes segs[VIRTIO_BLK_MAX_ZERO_SEG];
	if (virtq_chain_read(rq->chain, BLK_HDR_SIZE, segs, nseg * sizeof(segs[0])))
		return VIRTIO_BLK_S_IOERR;
	uint32_t allowed = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	for (unsigned i = 0; i < nseg; i++) {
		if (le32toh(segs[i].flags) & ~allowed)
			return VIRTIO_BLK_S_UNSUPP;
		uint32_t count = le32toh(segs[i].num_sectors);
		if (count > VIRTIO_BLK_MAX_ZERO_SECTORS ||
		    !in_range(blk, le64toh(segs[i].sector), count))
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned i = 0; i < nseg; i++) {
		uint64_t sector = le64toh(segs[i].sector);
		uint64_t len = (uint64_t)le32toh(segs[i].num_sectors) * VIRTIO_BLK_SECTOR;
		if (len == 0)
			continue;
		bool unmap = le32toh(segs[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		int r = discard
			    ? disk_discard(&blk->disk, sector * VIRTIO_BLK_SECTOR, len)
			    : disk_write_zeroes(&blk->disk, sector * VIRTIO_BLK_SECTOR, len, unmap);
		if (r < 0) {
			log_io_error(blk, discard ? "discard" : "write-zeroes", sector, r);
			return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_request(struct virtio_blk *blk, struct blk_req *rq)
{
	switch (rq->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return do_in_out(blk, rq);
	case VIRTIO_BLK_T_FLUSH: {
		int r = disk_flush(&blk->disk);
		if (r < 0)
			log_limited(&blk->log_limit, "virtio-blk %s: flush: %s", blk->disk.path,
				    strerror(-r));
		return r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_GET_ID:
		return do_get_id(blk, rq);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return do_zero(blk, rq);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* What is wrong with a chain that cannot carry a request, or NULL. */
static const char *malformed(const struct virtq_chain *chain)
{
	if (chain->writable_bytes < 1)
		return "no room for the status byte";
	if (chain->readable_bytes < BLK_HDR_SIZE)
		return "request header shorter than 16 bytes";
	return NULL;
}

/* Adds a served request to the statistics. */
static void count_request(struct virtio_blk *blk, const struct blk_req *rq, uint8_t status)
{
	if (status != VIRTIO_BLK_S_OK) {
		blk->errors++;
		return;
	}
	if (rq->type == VIRTIO_BLK_T_IN) {
		blk->reads++;
		blk->read_bytes += rq->written;
	} else if (rq->type == VIRTIO_BLK_T_OUT) {
		blk->writes++;
		blk->write_bytes += rq->out_len;
	} else if (rq->type == VIRTIO_BLK_T_FLUSH) {
		blk->flushes++;
	}
}

/* Serves one well-formed chain (malformed() said NULL). Returns the used
 * length: data bytes written for the driver + the status byte. */
static uint32_t serve_chain(struct virtio_blk *blk, const struct virtq_chain *chain)
{
	struct virtio_blk_outhdr hdr;
	(void)virtq_chain_read(chain, 0, &hdr, sizeof(hdr));
	struct blk_req rq = {
	    .chain = chain,
	    .type = le32toh(hdr.type),
	    .sector = le64toh(hdr.sector),
	    .out_len = chain->readable_bytes - BLK_HDR_SIZE,
	    .in_len = chain->writable_bytes - 1,
	};
	uint8_t status = do_request(blk, &rq);
	(void)virtq_chain_write(chain, chain->writable_bytes - 1, &status, 1);
	count_request(blk, &rq, status);
	return rq.written + 1;
}

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
	return 0;
}

static void blk_reset(void *dev)
{
	struct virtio_blk *blk = dev;
	blk->negotiated = 0;
	/* The waiting request went with the rings; the buckets keep their
	 * tokens (a reset does not buy a new burst). */
	throttle_timer_disarm(&blk->timer);
	blk->throttled = false;
}

/* Bytes a request moves for the bandwidth bucket: the data of a read or
 * a write; other requests count as operations only. */
static uint64_t request_bytes(const struct virtq_chain *chain)
{
	struct virtio_blk_outhdr hdr;
	(void)virtq_chain_read(chain, 0, &hdr, sizeof(hdr));
	uint32_t type = le32toh(hdr.type);
	if (type == VIRTIO_BLK_T_IN)
		return chain->writable_bytes - 1;
	if (type == VIRTIO_BLK_T_OUT)
		return chain->readable_bytes - BLK_HDR_SIZE;
	return 0;
}

/* Whether the limiter lets this request through now; if not, arms the
 * timer for when it will and marks the device throttled. */
static bool admit(struct virtio_blk *blk, const struct virtq_chain *chain)
{
	if (!blk->limited)
		return true;
	uint64_t bytes = request_bytes(chain), now = rate_limiter_now_ns();
	if (rate_limiter_take(&blk->limiter, bytes, 1, now))
		return true;
	blk->throttled = true;
	blk->throttles++;
	throttle_timer_arm(&blk->timer, rate_limiter_wait_ns(&blk->limiter, bytes, 1, now));
	return false;
}

/* queue_server.serve for the request queue: one request, a guest error
 * for a chain that cannot carry one, or 1 (left in the ring) when the
 * rate limiter says wait. */
static int blk_serve(void *dev, struct virtio_mmio *t, const struct virtq_chain *chain,
		     uint32_t *used_len)
{
	const char *bad = malformed(chain);
	if (bad) {
		virtio_mmio_fail(t, "request (descriptor %u): %s", chain->head, bad);
		return -1;
	}
	if (!admit(dev, chain))
		return 1;
	*used_len = serve_chain(dev, chain);
	return 0;
}

static void blk_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct virtq_seg segs[BLK_MAX_SEGS];
	struct virtio_blk *blk = dev;
	if (queue != BLK_REQUEST_QUEUE || blk->throttled)
		return; /* throttled: the timer resumes the queue */
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

/* The throttle timer fired: tokens are back, serve the queue again. */
static void on_throttle_timer(void *opaque, uint32_t events)
{
	(void)events;
	struct virtio_blk *blk = opaque;
	struct virtio_mmio *t = blk->t;
	if (!t)
		return;
	virtio_mmio_lock(t);
	if (throttle_timer_ack(&blk->timer) && blk->throttled) {
		blk->throttled = false;
		if (virtio_mmio_active(t))
			blk_queue_notify(blk, t, BLK_REQUEST_QUEUE);
	}
	virtio_mmio_unlock(t);
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
    .queue_notify = blk_queue_notify,
    .reset = blk_reset,
};

uint64_t virtio_blk_features(const struct virtio_blk *blk)
{
	return blk->disk.readonly ? BLK_RO_FEATURES : BLK_RW_FEATURES;
}

uint64_t virtio_blk_throttles(const struct virtio_blk *blk)
{
	return blk->throttles;
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
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	if (!blk) {
		snprintf(err, errlen, "%s: %s", cfg->path.path, strerror(ENOMEM));
		return NULL;
	}
	blk->timer.fd = -1;
	blk->log_limit.burst = 10;
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
	if (loop && rate_limiter_limited(&blk->limiter)) {
		int r = throttle_timer_init(&blk->timer, loop, on_throttle_timer, blk);
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
	throttle_timer_fini(&blk->timer);
	disk_close(&blk->disk);
	free(blk);
}

/* ---- The device type ----------------------------------------------------------------- */

static size_t blk_count(const struct vm_config *cfg)
{
	return cfg->n_drives;
}

static void *blk_type_create(const struct device_env *env, size_t i, struct device_error *e)
{
	const struct drive_config *d = &env->cfg->drives[i];
	snprintf(e->section, sizeof(e->section), "drive.%s", d->name);
	e->at = &d->at;
	return virtio_blk_create(d, env->loop, e->msg, sizeof(e->msg));
}

static void blk_type_destroy(void *dev)
{
	virtio_blk_destroy(dev);
}

static void blk_metrics(void *dev, FILE *out)
{
	const struct virtio_blk *blk = dev;
	fprintf(out,
		",\"name\":\"drive.%s\",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
		",\"flushes\":%" PRIu64 ",\"read_bytes\":%" PRIu64 ",\"write_bytes\":%" PRIu64
		",\"errors\":%" PRIu64 ",\"throttles\":%" PRIu64,
		blk->name, blk->reads, blk->writes, blk->flushes, blk->read_bytes, blk->write_bytes,
		blk->errors, blk->throttles);
}

const struct virtio_type virtio_blk_type = {"virtio-blk",    &virtio_blk_ops,  blk_count,
					    blk_type_create, blk_type_destroy, blk_metrics};
