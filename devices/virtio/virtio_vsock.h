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
 * "CONNECT <port>\n" answered with "OK <hostport>\n" once the guest
 * accepts; the socket is closed if it refuses); guest connections to host
 * port P go to "<uds_path>_P" (RST when nothing listens there). A stale
 * socket file at uds_path is replaced; a live listener or any other file
 * there is an error. Sockets are served on `loop`, which the transport
 * must use too. Host connections made before the driver is up wait for it
 * (a device reset keeps them); connections the guest knows of end with a
 * reset. Returns the device, or NULL with a one-line reason in err. */
struct virtio_vsock *virtio_vsock_create(uint32_t guest_cid, const char *uds_path,
					 struct event_loop *loop, char *err, size_t errlen);

/* Closes every connection and the listener (unlinking its path if it is
 * still our socket) and frees the device; NULL is fine. Call it on the
 * loop's thread or with the loop not running (vm_devices_destroy does). */
void virtio_vsock_destroy(struct virtio_vsock *vsock);

#endif
