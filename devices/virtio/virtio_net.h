/* virtio_net.h - virtio network device (device id 1) on a host TAP.
 *
 * Queues: 0 receiveq, 1 transmitq (no control queue, no multiqueue).
 * Features offered: MAC (the configured one, else a random locally
 * administered unicast address), STATUS (link always up), MTU (the TAP's),
 * CSUM, GUEST_CSUM, HOST_TSO4/6, HOST_ECN, GUEST_TSO4/6, GUEST_ECN,
 * MRG_RXBUF. Every buffer starts with the 12-byte VERSION_1 header
 * (struct virtio_net_hdr_v1), which the TAP reads and writes as is
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ 12); the TAP's offloads follow the GUEST_*
 * features the driver accepted (TUNSETOFFLOAD at DRIVER_OK, cleared at
 * reset).
 *
 * Transmit: each chain (device-readable only, header + frame of at most
 * 65550 bytes) is written to the TAP with one writev; anything else is a
 * guest error (NEEDS_RESET). When the TAP would block the chain waits, in
 * order, until the TAP is writable.
 * Receive: one packet per read into a bounce buffer, then into one chain
 * (without MRG_RXBUF; a packet larger than the chain is dropped and the
 * chain kept) or across as many chains as it needs (MRG_RXBUF, num_buffers
 * set). Without buffers the TAP is not read until the driver posts more;
 * a packet already read is never dropped for lack of buffers, nor
 * reordered. Packets with offloads the driver did not accept are dropped.
 *
 * Threads: the TAP is served on the event loop's thread, under the
 * transport's lock (virtio_mmio_lock), only while the device is active. */
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
 * served on `loop` once the driver sets DRIVER_OK. A TAP minnow creates
 * exists only while the device does. Returns the device, or NULL with a
 * one-line reason in err naming the interface (missing /dev/net/tun, busy,
 * no permission, not a TAP). */
struct virtio_net *virtio_net_create(const struct net_config *cfg, struct event_loop *loop,
				     char *err, size_t errlen);

/* Stops serving the TAP, closes it and frees the device; NULL is fine.
 * Call with the loop stopped (as vm_devices_destroy() does), or else
 * before the transport is destroyed and without holding its lock: a
 * callback on the loop thread is waited for. */
void virtio_net_destroy(struct virtio_net *net);

#endif
