/* virtio_blk.h - virtio block device (device id 2) backed by a host file. */
#ifndef MINNOW_VIRTIO_BLK_H
#define MINNOW_VIRTIO_BLK_H

#include <stddef.h>

#include "config.h"
#include "event_loop.h"
#include "virtio_mmio.h"

struct virtio_blk;

/* The device model for virtio_mmio_create(); dev is a struct virtio_blk. */
extern const struct virtio_device_ops virtio_blk_ops;

/* Opens and locks (flock) the drive's image per `cfg` (readonly, cache).
 * Returns the device, or NULL with a one-line reason in err naming the
 * file (e.g. "disk.img: locked by another process (is another VM using
 * it?)"). `loop` may be used for an I/O thread or async completions. */
struct virtio_blk *virtio_blk_create(const struct drive_config *cfg, struct event_loop *loop,
				     char *err, size_t errlen);

/* Closes the image and frees the device; NULL is fine. */
void virtio_blk_destroy(struct virtio_blk *blk);

#endif
