/* blk_request.c - virtio-blk requests (virtio 1.x 5.2.6): a chain read into
 * a struct blk_req, checked, done synchronously through the disk back end
 * (disk.h) or finished after an asynchronous back end did its I/O, and
 * answered with its status byte. Any framing of header, data and status
 * (2.6.4). */
#include "virtio_blk_internal.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#define F(bit) (1ULL << (bit))

_Static_assert(sizeof(struct virtio_blk_outhdr) == BLK_HDR_SIZE, "request header layout");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == BLK_ZERO_SEG_SIZE,
	       "discard segment layout");

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

/* The last writable byte of the chain (writable_bytes >= 1). */
static uint8_t *last_writable_byte(const struct virtq_chain *c)
{
	for (unsigned i = c->num_segs; i-- > c->num_readable;) {
		if (c->segs[i].len > 0)
			return (uint8_t *)c->segs[i].host + c->segs[i].len - 1;
	}
	return NULL; /* not reached: blk_malformed() checked */
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

/* Sets rq done with `status`. */
static void done(struct blk_req *rq, uint8_t status)
{
	rq->kind = BLK_REQ_DONE;
	rq->status = status;
}

static void parse_in_out(struct virtio_blk *blk, const struct virtq_chain *chain,
			 struct blk_req *rq, uint64_t out_len, uint64_t in_len)
{
	bool write = rq->type == VIRTIO_BLK_T_OUT;
	/* Data flows one way only, and there must be some. */
	uint64_t len = write ? out_len : in_len;
	if (len == 0 || (write ? in_len : out_len) != 0)
		return done(rq, VIRTIO_BLK_S_IOERR);
	if (write && blk->disk.readonly)
		return done(rq, VIRTIO_BLK_S_IOERR); /* 5.2.6.2: RO drives fail writes */
	if (len % VIRTIO_BLK_SECTOR || !in_range(blk, rq->sector, len / VIRTIO_BLK_SECTOR))
		return done(rq, VIRTIO_BLK_S_IOERR);
	rq->n = chain_iov(chain, !write, write ? BLK_HDR_SIZE : 0, len, rq->iov);
	if (!within_segment_limits(rq->iov, rq->n))
		return done(rq, VIRTIO_BLK_S_IOERR);
	rq->kind = BLK_REQ_RW;
	rq->write = write;
	rq->len = len;
}

static void parse_get_id(struct virtio_blk *blk, const struct virtq_chain *chain,
			 struct blk_req *rq, uint64_t in_len)
{
	uint32_t n = in_len < VIRTIO_BLK_ID_BYTES ? (uint32_t)in_len : VIRTIO_BLK_ID_BYTES;
	if (n == 0)
		return done(rq, VIRTIO_BLK_S_IOERR);
	(void)virtq_chain_write(chain, 0, blk->serial, n);
	rq->written = n;
	done(rq, VIRTIO_BLK_S_OK);
}

/* DISCARD and WRITE_ZEROES: every range checked before any is acted on. */
static void parse_zero(struct virtio_blk *blk, const struct virtq_chain *chain, struct blk_req *rq,
		       uint64_t out_len)
{
	bool discard = rq->type == VIRTIO_BLK_T_DISCARD;
	uint64_t feature = F(discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES);
	if (blk->disk.readonly || !(blk->negotiated & feature))
		return done(rq, VIRTIO_BLK_S_UNSUPP);
	uint64_t nseg = out_len / BLK_ZERO_SEG_SIZE;
	if (nseg == 0 || out_len % BLK_ZERO_SEG_SIZE || nseg > VIRTIO_BLK_MAX_ZERO_SEG)
		return done(rq, VIRTIO_BLK_S_IOERR);
	if (virtq_chain_read(chain, BLK_HDR_SIZE, rq->zero, nseg * sizeof(rq->zero[0])))
		return done(rq, VIRTIO_BLK_S_IOERR);
	uint32_t allowed = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	for (unsigned i = 0; i < nseg; i++) {
		if (le32toh(rq->zero[i].flags) & ~allowed)
			return done(rq, VIRTIO_BLK_S_UNSUPP);
		uint32_t count = le32toh(rq->zero[i].num_sectors);
		if (count > VIRTIO_BLK_MAX_ZERO_SECTORS ||
		    !in_range(blk, le64toh(rq->zero[i].sector), count))
			return done(rq, VIRTIO_BLK_S_IOERR);
	}
	rq->kind = BLK_REQ_ZERO;
	rq->nzero = (unsigned)nseg;
}

const char *blk_malformed(const struct virtq_chain *chain)
{
	if (chain->writable_bytes < 1)
		return "no room for the status byte";
	if (chain->readable_bytes < BLK_HDR_SIZE)
		return "request header shorter than 16 bytes";
	return NULL;
}

void blk_req_parse(struct virtio_blk *blk, const struct virtq_chain *chain, struct blk_req *rq)
{
	struct virtio_blk_outhdr hdr;
	(void)virtq_chain_read(chain, 0, &hdr, sizeof(hdr));
	uint64_t out_len = chain->readable_bytes - BLK_HDR_SIZE;
	uint64_t in_len = chain->writable_bytes - 1;
	rq->head = chain->head;
	rq->type = le32toh(hdr.type);
	rq->sector = le64toh(hdr.sector);
	rq->status_p = last_writable_byte(chain);
	rq->written = 0;
	rq->len = 0;
	rq->n = rq->nzero = 0;
	switch (rq->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return parse_in_out(blk, chain, rq, out_len, in_len);
	case VIRTIO_BLK_T_FLUSH:
		rq->kind = BLK_REQ_FLUSH;
		return;
	case VIRTIO_BLK_T_GET_ID:
		return parse_get_id(blk, chain, rq, in_len);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_zero(blk, chain, rq, out_len);
	default:
		return done(rq, VIRTIO_BLK_S_UNSUPP);
	}
}

static uint8_t run_zero(struct virtio_blk *blk, struct blk_req *rq)
{
	bool discard = rq->type == VIRTIO_BLK_T_DISCARD;
	for (unsigned i = 0; i < rq->nzero; i++) {
		uint64_t sector = le64toh(rq->zero[i].sector);
		uint64_t len = (uint64_t)le32toh(rq->zero[i].num_sectors) * VIRTIO_BLK_SECTOR;
		if (len == 0)
			continue;
		bool unmap = le32toh(rq->zero[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
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

static uint8_t run_flush(struct virtio_blk *blk)
{
	int r = disk_flush(&blk->disk);
	if (r < 0)
		log_limited(&blk->log_limit, "virtio-blk %s: flush: %s", blk->disk.path,
			    strerror(-r));
	return r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* The rest of a read or write, `skip` bytes of which are done. */
static uint8_t run_rw(struct virtio_blk *blk, struct blk_req *rq, uint64_t skip)
{
	unsigned i = 0;
	uint64_t left = skip;
	while (i < rq->n && left >= rq->iov[i].iov_len)
		left -= rq->iov[i++].iov_len;
	if (i < rq->n) {
		rq->iov[i].iov_base = (uint8_t *)rq->iov[i].iov_base + left;
		rq->iov[i].iov_len -= left;
	}
	int r = disk_rw(&blk->disk, rq->write, rq->iov + i, rq->n - i, rq->len - skip,
			rq->sector * VIRTIO_BLK_SECTOR + skip);
	if (r < 0) {
		log_io_error(blk, rq->write ? "write" : "read", rq->sector, r);
		return VIRTIO_BLK_S_IOERR;
	}
	if (!rq->write)
		rq->written = (uint32_t)rq->len;
	return VIRTIO_BLK_S_OK;
}

void blk_req_run(struct virtio_blk *blk, struct blk_req *rq)
{
	switch (rq->kind) {
	case BLK_REQ_RW:
		rq->status = run_rw(blk, rq, 0);
		break;
	case BLK_REQ_FLUSH:
		rq->status = run_flush(blk);
		break;
	case BLK_REQ_ZERO:
		rq->status = run_zero(blk, rq);
		break;
	default:
		break;
	}
	rq->kind = BLK_REQ_DONE;
}

void blk_req_io_done(struct virtio_blk *blk, struct blk_req *rq, int res)
{
	rq->kind = BLK_REQ_DONE;
	if (res < 0) {
		log_io_error(blk, rq->write ? "write" : "read", rq->sector, res);
		rq->status = VIRTIO_BLK_S_IOERR;
	} else if ((uint64_t)res < rq->len) {
		rq->status = run_rw(blk, rq, (uint64_t)res);
	} else {
		if (!rq->write)
			rq->written = (uint32_t)rq->len;
		rq->status = VIRTIO_BLK_S_OK;
	}
}

uint32_t blk_req_finish(struct virtio_blk *blk, struct blk_req *rq)
{
	struct blk_stats *s = &blk->stats;
	*rq->status_p = rq->status;
	if (rq->status != VIRTIO_BLK_S_OK) {
		atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
	} else if (rq->type == VIRTIO_BLK_T_IN) {
		atomic_fetch_add_explicit(&s->reads, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->read_bytes, rq->written, memory_order_relaxed);
	} else if (rq->type == VIRTIO_BLK_T_OUT) {
		atomic_fetch_add_explicit(&s->writes, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->write_bytes, rq->len, memory_order_relaxed);
	} else if (rq->type == VIRTIO_BLK_T_FLUSH) {
		atomic_fetch_add_explicit(&s->flushes, 1, memory_order_relaxed);
	}
	return rq->written + 1;
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

bool blk_admit(struct virtio_blk *blk, const struct virtq_chain *chain)
{
	if (!blk->limited)
		return true;
	uint64_t bytes = request_bytes(chain), now = rate_limiter_now_ns();
	if (rate_limiter_take(&blk->limiter, bytes, 1, now))
		return true;
	blk->throttled = true;
	atomic_fetch_add_explicit(&blk->stats.throttles, 1, memory_order_relaxed);
	throttle_timer_arm(&blk->timer, rate_limiter_wait_ns(&blk->limiter, bytes, 1, now));
	return false;
}
