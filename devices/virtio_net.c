/* virtio_net.c - placeholder until the device model lands: refuses configs
 * that ask for it, with a clear message. */
#include "virtio_net.h"

#include <stdio.h>

const struct virtio_device_ops virtio_net_ops = {.name = "virtio-net"};

struct virtio_net *virtio_net_create(const struct net_config *cfg, struct event_loop *loop, char *err, size_t errlen)
{
	(void)cfg; (void)loop;
	snprintf(err, errlen, "virtio-net is not available in this build yet");
	return NULL;
}

void virtio_net_destroy(struct virtio_net *dev)
{
	(void)dev;
}
