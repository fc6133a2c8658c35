/* virtio_net.h - virtio network device (device id 1) on a host TAP. */
#ifndef MINNOW_VIRTIO_NET_H
#define MINNOW_VIRTIO_NET_H

#include <stddef.h>

#include "config.h"
#include "event_loop.h"
#include "virtio_mmio.h"

struct virtio_net;

/* The device model for virtio_mmio_create(); dev is a struct virtio_net. */
extern const struct virtio_device_ops virtio_net_ops;

/* Opens (or creates) the TAP named in `cfg` with IFF_VNET_HDR; its fd is
 * served on `loop`. Returns the device, or NULL with a one-line reason in
 * err naming the interface (missing, busy, no permission). */
struct virtio_net *virtio_net_create(const struct net_config *cfg, struct event_loop *loop,
				     char *err, size_t errlen);

/* Stops serving the TAP, closes it and frees the device; NULL is fine. */
void virtio_net_destroy(struct virtio_net *net);

#endif
