/* virtio_blk.h - virtio block device (device id 2) backed by a host file. */
#ifndef MINNOW_VIRTIO_BLK_H
#define MINNOW_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event_loop.h"
#include "virtio_mmio.h"

/* Limits told to the driver in config space (virtio 1.x section 5.2.4). */
#define VIRTIO_BLK_QUEUE_SIZE 256 /* QueueNumMax of the one request queue */
#define VIRTIO_BLK_SEG_MAX                                                                         \
	254			       /* data segments per request; a chain may                   \
					* have seg_max + 2 (header, status) */
#define VIRTIO_BLK_SIZE_MAX (1u << 20) /* size_max: bytes in one data segment */
#define VIRTIO_BLK_SECTOR   512u
#define VIRTIO_BLK_MAX_ZERO_SECTORS                                                                \
	(1u << 21)		   /* max_discard_sectors and                                      \
				    * max_write_zeroes_sectors (1 GiB) */
#define VIRTIO_BLK_MAX_ZERO_SEG 16 /* max_discard_seg, max_write_zeroes_seg */

struct virtio_blk;

/* The device model for virtio_mmio_create(); dev is a struct virtio_blk.
 * Its `features` are those of a read-write drive: FLUSH, BLK_SIZE,
 * SIZE_MAX, SEG_MAX, DISCARD, WRITE_ZEROES. A read or write with more than
 * VIRTIO_BLK_SEG_MAX data segments, or one longer than VIRTIO_BLK_SIZE_MAX,
 * fails with VIRTIO_BLK_S_IOERR (the device carries on); a chain of more
 * than VIRTIO_BLK_SEG_MAX + 2 descriptors (the queue size) is a ring error
 * and the device needs a reset. The ops table is shared by every drive,
 * so a read-only drive cannot offer VIRTIO_BLK_F_RO through it; see
 * virtio_blk_features(). */
extern const struct virtio_device_ops virtio_blk_ops;

/* Opens and locks the drive's image per `cfg`: read-write with
 * flock(LOCK_EX | LOCK_NB), or read-only (cfg->readonly) with LOCK_SH, so
 * that no two VMs write one image; cache = none opens it with O_DIRECT.
 * The image is a regular file or a block device; the capacity is its size
 * in 512-byte sectors, rounded down (logged once when it is not a
 * multiple of 512). Returns the device, or NULL with a one-line reason in
 * err naming the file: "PATH: in use by another process (flock)",
 * "PATH: <strerror>", or why O_DIRECT cannot be used there. No thread is
 * started yet: until virtio_blk_start(), requests are served synchronously
 * in queue_notify, on the thread that kicks, a bounded number per turn
 * (serve_queue.h), without rate limits. `loop` is not used (the drive's
 * thread waits on its own fds). */
struct virtio_blk *virtio_blk_create(const struct drive_config *cfg, struct event_loop *loop,
				     char *err, size_t errlen);

/* Starts the drive's own thread (blk_thread.c), which from then on serves
 * every request: it watches the queue's kick eventfd itself (the event
 * loop never serves the drive), keeps up to a queue's worth of requests in
 * flight on an io_uring ([drive.X] io = auto or io_uring; synchronous
 * preadv/pwritev on that thread with io = sync, or with auto where
 * io_uring is not available, saying so in one debug line), pushes used
 * entries in completion order and signals the irqfd as EVENT_IDX allows.
 * FLUSH waits until every request taken before it has completed, then
 * fdatasync()s. With cfg->limit set (bandwidth, iops), a request the token
 * buckets cannot admit stays in the ring, with the ones behind it, and the
 * thread waits for its timerfd (kicks meanwhile are left pending; a reset
 * disarms it). A reset, a QueueReady = 0, a snapshot and destroy first
 * wait until the thread has nothing in flight (virtio_device_ops.quiesce).
 * The thread installs its seccomp filter (SECCOMP_THREAD_BLK) before this
 * returns: call it after seccomp_prepare(), before the guest runs. Returns
 * 0, or -1 with a one-line reason in err (io = io_uring without io_uring,
 * no thread). A second call does nothing. */
int virtio_blk_start(struct virtio_blk *blk, char *err, size_t errlen);

/* Whether the drive's thread does its I/O through an io_uring. */
bool virtio_blk_uring(const struct virtio_blk *blk);

/* Ends the drive's thread (after its requests in flight), closes the
 * image (dropping the lock) and frees the device; NULL is fine. */
void virtio_blk_destroy(struct virtio_blk *blk);

/* The device-specific feature bits this drive would offer if the transport
 * asked per device: virtio_blk_ops.features for a read-write drive;
 * VIRTIO_BLK_F_RO instead of DISCARD and WRITE_ZEROES for a read-only one.
 * Whatever was offered, a read-only drive answers writes with
 * VIRTIO_BLK_S_IOERR and discards / write-zeroes with VIRTIO_BLK_S_UNSUPP,
 * and never writes its image. */
uint64_t virtio_blk_features(const struct virtio_blk *blk);

/* How many times a request had to wait for the rate limiter. */
uint64_t virtio_blk_throttles(const struct virtio_blk *blk);

/* Capacity in 512-byte sectors, as config space reports it. */
uint64_t virtio_blk_capacity(const struct virtio_blk *blk);

#endif
