/* virtio_blk_internal.h - what the parts of virtio-blk share: the device
 * model (virtio_blk.c), its requests (blk_request.c) and the drive's
 * thread (blk_thread.c). Not for other devices. */
#ifndef MINNOW_VIRTIO_BLK_INTERNAL_H
#define MINNOW_VIRTIO_BLK_INTERNAL_H

#include <linux/virtio_blk.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "disk.h"
#include "log.h"
#include "rate_limiter.h"
#include "throttle_timer.h"
#include "virtio_blk.h"

#define BLK_REQUEST_QUEUE 0
#define BLK_MAX_SEGS	  (VIRTIO_BLK_SEG_MAX + 2)
#define BLK_MAX_SEGS_STR  "256" /* BLK_MAX_SEGS, for a message */
#define BLK_HDR_SIZE	  16u	/* struct virtio_blk_outhdr */
#define BLK_ZERO_SEG_SIZE 16u	/* struct virtio_blk_discard_write_zeroes */

/* Requests served, by kind, and their data: written by whichever thread
 * serves the drive, read by the metrics (any thread). */
struct blk_stats {
	_Atomic uint64_t reads, writes, flushes, read_bytes, write_bytes, errors, throttles;
};

struct blk_thread; /* blk_thread.c */

/* What the model asks of the drive's thread, once virtio_blk_start() has
 * started it (an indirection so that the model links without the thread,
 * as in the fuzz harnesses, which serve inline). */
struct blk_thread_ops {
	/* The device went live on transport `t` (transport lock held). */
	void (*activate)(struct blk_thread *th, struct virtio_mmio *t);
	/* Something to look at (a kick without kick eventfds). Any thread. */
	void (*wake)(struct blk_thread *th);
	/* virtio_device_ops.quiesce: stop (true) waits until the thread has
	 * no request in flight and parks it; false lets it go on. Nests. */
	void (*quiesce)(struct blk_thread *th, bool stop);
	/* Finishes the requests in flight, ends the thread and frees it. */
	void (*stop)(struct blk_thread *th);
};

struct virtio_blk {
	struct disk disk;    /* the image (back end) */
	uint64_t negotiated; /* driver features, from activate (transport lock) */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config; /* little-endian, as the guest reads it */
	struct log_limit log_limit;	 /* used by the thread serving the drive */
	enum drive_io io;		 /* [drive.X] io */
	/* Rate limiting ([drive.X] bandwidth, iops): a request the buckets
	 * cannot admit stays in the ring and the timer resumes the queue. */
	bool limited;
	struct rate_limiter limiter;
	struct throttle_timer timer; /* its fd, watched by the drive's thread */
	bool throttled;		     /* a request waits for tokens; kicks are ignored */
	struct virtio_mmio *t;	     /* from activate */
	char name[CONFIG_NAME_MAX];  /* [drive.NAME], for metrics */
	struct blk_stats stats;
	struct blk_thread *thread; /* NULL until virtio_blk_start(): served inline */
	const struct blk_thread_ops *thread_ops;
	bool uring;		    /* the thread does its I/O on an io_uring */
	struct blk_req *inline_req; /* the one request of inline serving */
};

/* What remains to do for a parsed request. */
enum blk_req_kind {
	BLK_REQ_DONE,  /* nothing: the status is known */
	BLK_REQ_RW,    /* read or write iov[0 .. n) */
	BLK_REQ_FLUSH, /* make every completed write durable */
	BLK_REQ_ZERO,  /* DISCARD or WRITE_ZEROES of zero[0 .. nzero) */
};

/* One request taken from the ring, from its chain (which may go away: the
 * request keeps host pointers into guest RAM, which stays mapped) to its
 * used entry. */
struct blk_req {
	uint16_t head;	   /* the chain's head, for the used ring */
	uint8_t kind;	   /* enum blk_req_kind */
	uint8_t status;	   /* VIRTIO_BLK_S_*, once known */
	bool write;	   /* BLK_REQ_RW: a write */
	uint32_t type;	   /* VIRTIO_BLK_T_* */
	uint64_t sector;   /* from the header */
	uint64_t len;	   /* BLK_REQ_RW: data bytes */
	uint32_t written;  /* data bytes written for the driver */
	uint8_t *status_p; /* the status byte in guest RAM */
	unsigned n;	   /* iovecs in iov */
	unsigned nzero;	   /* ranges in zero */
	union {
		struct iovec iov[BLK_MAX_SEGS];
		struct virtio_blk_discard_write_zeroes zero[VIRTIO_BLK_MAX_ZERO_SEG];
	};
};

/* What is wrong with a chain that cannot carry a request, or NULL. */
const char *blk_malformed(const struct virtq_chain *chain);

/* Reads a well-formed chain's request into rq: checks it (a bad one gets
 * its status now: BLK_REQ_DONE), answers GET_ID, and leaves reads,
 * writes, flushes, discards and write-zeroes to do. Transport lock held
 * (the chain is only valid under it). */
void blk_req_parse(struct virtio_blk *blk, const struct virtq_chain *chain, struct blk_req *rq);

/* Does what rq->kind says synchronously (disk.h) and sets its status. */
void blk_req_run(struct virtio_blk *blk, struct blk_req *rq);

/* A read or write done by an asynchronous back end moved `res` bytes (or
 * failed with -errno): sets its status; a short transfer is finished
 * synchronously (an image that ends early gives -EIO, as disk_rw()). */
void blk_req_io_done(struct virtio_blk *blk, struct blk_req *rq, int res);

/* Writes the status byte, counts the request in the statistics and returns
 * the used length (data bytes written + the status byte). */
uint32_t blk_req_finish(struct virtio_blk *blk, struct blk_req *rq);

/* Whether the rate limiter lets this chain through now; if not, arms the
 * timer for when it will, marks the drive throttled and counts it. */
bool blk_admit(struct virtio_blk *blk, const struct virtq_chain *chain);

/* The blk_thread_ops of blk_thread.c; virtio_blk_start() (also there)
 * starts the thread. */
extern const struct blk_thread_ops blk_thread_ops;

#endif
