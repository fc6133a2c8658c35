/* virtio_blk.c - placeholder until the device model lands: refuses configs
 * that ask for it, with a clear message. */
#include "virtio_blk.h"

#include <stdio.h>

const struct virtio_device_ops virtio_blk_ops = {.name = "virtio-blk"};

struct virtio_blk *virtio_blk_create(const struct drive_config *cfg, struct event_loop *loop, char *err, size_t errlen)
{
	(void)cfg; (void)loop;
	snprintf(err, errlen, "virtio-blk is not available in this build yet");
	return NULL;
}

void virtio_blk_destroy(struct virtio_blk *dev)
{
	(void)dev;
}
