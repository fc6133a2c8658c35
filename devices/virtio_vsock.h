/* virtio_vsock.h - virtio socket device (device id 19) in userspace, with
 * Firecracker's host protocol on a Unix socket. */
#ifndef MINNOW_VIRTIO_VSOCK_H
#define MINNOW_VIRTIO_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "event_loop.h"
#include "virtio_mmio.h"

struct virtio_vsock;

/* The device model for virtio_mmio_create(); dev is a struct virtio_vsock. */
extern const struct virtio_device_ops virtio_vsock_ops;

/* Listens on the Unix socket `uds_path` (host-initiated connections:
 * "CONNECT <port>\n" answered with "OK <hostport>\n"); guest connections
 * to host port P go to "<uds_path>_P". Sockets are served on `loop`.
 * Returns the device, or NULL with a one-line reason in err. */
struct virtio_vsock *virtio_vsock_create(uint32_t guest_cid, const char *uds_path,
					 struct event_loop *loop, char *err, size_t errlen);

/* Closes every connection and the listener (unlinking its path) and frees
 * the device; NULL is fine. */
void virtio_vsock_destroy(struct virtio_vsock *vsock);

#endif
