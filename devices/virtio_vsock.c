/* virtio_vsock.c - placeholder until the device model lands: refuses configs
 * that ask for it, with a clear message. */
#include "virtio_vsock.h"

#include <stdio.h>

const struct virtio_device_ops virtio_vsock_ops = {.name = "virtio-vsock"};

struct virtio_vsock *virtio_vsock_create(uint32_t guest_cid, const char *uds_path, struct event_loop *loop, char *err, size_t errlen)
{
	(void)guest_cid; (void)uds_path; (void)loop;
	snprintf(err, errlen, "virtio-vsock is not available in this build yet");
	return NULL;
}

void virtio_vsock_destroy(struct virtio_vsock *dev)
{
	(void)dev;
}
