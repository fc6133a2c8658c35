/* virtio_net_priv.h - virtio-net internals for unit tests: a device on any
 * packet fd (e.g. a SOCK_SEQPACKET socketpair standing in for the TAP),
 * its counters, and a way to run its backend callback without a loop
 * thread. Not for the rest of the VMM. */
#ifndef MINNOW_VIRTIO_NET_PRIV_H
#define MINNOW_VIRTIO_NET_PRIV_H

#include <stdint.h>

#include "virtio_net.h"

#define VIRTIO_NET_QUEUE_SIZE 256   /* QueueNumMax of both queues */
#define VIRTIO_NET_MAX_SEGS   256   /* descriptors accepted in one chain */
#define VIRTIO_NET_HDR_LEN    12    /* struct virtio_net_hdr_mrg_rxbuf */
#define VIRTIO_NET_MAX_FRAME  65550 /* largest Ethernet frame carried */
#define VIRTIO_NET_RX_BUDGET  64    /* packets received per backend callback */
#define VIRTIO_NET_TX_BUDGET  256   /* chains sent before yielding the loop */
#define VIRTIO_NET_CONFIG_LEN 12    /* config space: mac, status, pairs, mtu */

/* Counters, read with virtio_net_stats(). */
struct virtio_net_stats {
	uint64_t rx_packets, rx_bytes; /* delivered to the guest (frames, no header) */
	uint64_t rx_dropped;	       /* read from the backend, not delivered */
	uint64_t tx_packets, tx_bytes; /* written to the backend (frames, no header) */
	uint64_t tx_dropped;	       /* chains the backend refused (not EAGAIN) */
	uint32_t watching;	       /* epoll events the backend fd is watched for */
};

/* Like virtio_net_create() on an fd the caller already has: each read()
 * must return one packet (12-byte header + frame), each write() takes one.
 * Takes `fd` (non-blocking) over on success; on failure (NULL, only for
 * lack of memory) the caller still owns it. No TAP ioctls are made on it
 * (offloads are not set). `mac` (unicast) and `mtu` fill config space. */
struct virtio_net *virtio_net_create_fd(int fd, const uint8_t mac[6], uint16_t mtu,
					struct event_loop *loop);

/* Applies rate limits per direction (virtio_net_create() does so from
 * its config): with a loop, a packet the buckets cannot admit waits (tx:
 * in the ring; rx: in the device, the TAP not read) until a timerfd on the
 * loop says enough tokens are back. Without a loop, or with all-zero
 * limits, nothing is limited. Call before activation. Returns 0 or
 * -errno (timerfd). */
int virtio_net_set_limits(struct virtio_net *net, const struct rate_limit_config *rx,
			  const struct rate_limit_config *tx);

/* Runs the backend callback once, on the calling thread, if the fd is
 * ready (poll(), no waiting) for the events the device watches; does what
 * the loop thread would. Returns whether it ran. Only while the loop thread
 * is not running. */
bool virtio_net_poll_backend(struct virtio_net *net);

/* Copies the counters. Takes the transport lock when the device has been
 * activated. */
void virtio_net_stats(struct virtio_net *net, struct virtio_net_stats *out);

#endif
