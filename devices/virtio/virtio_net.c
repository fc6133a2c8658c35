/* virtio_net.c - virtio network device on a host TAP: each transmitq chain
 * (virtio-net header + frame) is written to the TAP whole, each TAP packet
 * is copied into receiveq buffers, merged across chains with MRG_RXBUF. */
#include "virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "rate_limiter.h"
#include "tap.h"
#include "throttle_timer.h"
#include "virtio_net_priv.h"
#include "virtio_type.h"

#define NET_RX_QUEUE	0
#define NET_TX_QUEUE	1
#define NET_MAX_PACKET	(VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)
#define NET_DEFAULT_MTU 1500
#define NET_MIN_MTU	68 /* virtio 1.x 5.1.4.1: mtu at least 68 */

#define BIT(f) (1ULL << (f))

_Static_assert(sizeof(struct virtio_net_hdr_v1) == VIRTIO_NET_HDR_LEN, "VERSION_1 header");
_Static_assert(VIRTIO_NET_MAX_SEGS <= IOV_MAX, "a chain fits one writev");

/* A receive chain filled and not yet returned (MRG_RXBUF). */
struct rx_held {
	uint16_t head;
	uint32_t len;
};

struct virtio_net {
	int fd;
	bool is_tap; /* a real TAP: offloads are set with TUNSETOFFLOAD */
	char ifname[IFNAMSIZ];
	struct event_loop *loop;
	uint8_t config[VIRTIO_NET_CONFIG_LEN];
	/* Set at the first activation, then constant. */
	struct virtio_mmio *_Atomic t;

	/* Everything below: under the transport lock. */
	bool in_loop;	   /* fd registered with the loop */
	uint32_t watching; /* events requested from the loop */
	bool running;	   /* activated and not reset or failed */
	uint64_t features;
	bool tx_waiting;     /* EAGAIN or budget spent: resume on EPOLLOUT */
	bool tx_down_noted;  /* "interface down" logged since the last frame sent */
	bool tap_gone_noted; /* TAP_GONE was said: re-activations fail quietly */
	bool rx_stalled;     /* a packet waits for receive buffers */

	/* The packet read from the backend and not yet wholly delivered:
	 * rx_buf[0, rx_len), delivered up to rx_off (MRG_RXBUF only). */
	uint8_t *rx_buf;
	size_t rx_len, rx_off;
	/* MRG_RXBUF: chains filled for that packet, held until it is whole;
	 * the first one keeps its segments for num_buffers. */
	struct rx_held held[VIRTIO_NET_QUEUE_SIZE];
	unsigned n_held;
	struct virtq_chain rx_first;
	struct virtq_seg rx_first_segs[VIRTIO_NET_MAX_SEGS];
	struct virtq_seg rx_segs[VIRTIO_NET_MAX_SEGS];
	struct virtq_seg tx_segs[VIRTIO_NET_MAX_SEGS];
	struct iovec tx_iov[VIRTIO_NET_MAX_SEGS];

	struct virtio_net_stats stats;
	struct log_limit log_limit;

	/* Rate limits per direction ([net.X] rx_... / tx_...), only on a
	 * loop: a throttled direction waits for its timer. While rx waits
	 * the TAP is not read, so packets queue there. */
	struct net_direction_limit {
		bool limited;
		bool throttled;
		struct rate_limiter bucket;
		struct throttle_timer timer;
	} rx_limit, tx_limit;
	bool rx_paid; /* the packet in rx_buf has passed the rx limiter */
};

/* ---- Small helpers ------------------------------------------------------------------ */

static bool has(const struct virtio_net *net, unsigned feature)
{
	return net->features & BIT(feature);
}

/* Asks the loop for the events the device needs now. */
static void update_watch(struct virtio_net *net)
{
	uint32_t want = 0;
	if (net->running && !net->rx_stalled && !net->rx_limit.throttled)
		want |= EPOLLIN;
	if (net->running && net->tx_waiting)
		want |= EPOLLOUT;
	if (!net->in_loop || want == net->watching)
		return;
	int r = event_loop_modify(net->loop, net->fd, want);
	if (r < 0)
		log_limited(&net->log_limit, "virtio-net %s: cannot watch the backend: %s",
			    net->ifname, strerror(-r));
	else
		net->watching = want;
}

/* Forgets the packet being received and the chains held for it (they are
 * not returned: the device is being reset or has failed). */
static void drop_rx_state(struct virtio_net *net)
{
	net->rx_len = net->rx_off = 0;
	net->n_held = 0;
	net->rx_paid = false;
}

/* Whether a packet of `bytes` may pass in direction `d` now; if not, arms
 * d's timer for when it may and marks d throttled. */
static bool admit(struct net_direction_limit *d, uint64_t bytes)
{
	if (!d->limited)
		return true;
	uint64_t now = rate_limiter_now_ns();
	if (rate_limiter_take(&d->bucket, bytes, 1, now))
		return true;
	d->throttled = true;
	throttle_timer_arm(&d->timer, rate_limiter_wait_ns(&d->bucket, bytes, 1, now));
	return false;
}

/* Forgets a wait (reset, failure): the timer is disarmed. */
static void unthrottle(struct net_direction_limit *d)
{
	throttle_timer_disarm(&d->timer);
	d->throttled = false;
}

/* After virtio_mmio_fail(): no more work until the next activation. */
static void stop(struct virtio_net *net)
{
	net->running = false;
	unthrottle(&net->rx_limit);
	unthrottle(&net->tx_limit);
	update_watch(net);
}

/* The TUN_F_* offloads matching the negotiated GUEST_* features. */
static unsigned tap_offloads(uint64_t f)
{
	unsigned o = 0;
	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0; /* the TAP ignores TSO without CSUM */
	o |= TUN_F_CSUM;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
		o |= TUN_F_TSO4;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
		o |= TUN_F_TSO6;
	if ((o & (TUN_F_TSO4 | TUN_F_TSO6)) && (f & BIT(VIRTIO_NET_F_GUEST_ECN)))
		o |= TUN_F_TSO_ECN;
	return o;
}

/* What is said when the TAP device is deleted under the running VM. */
#define TAP_GONE                                                                                   \
	"the TAP device is gone (deleted under the running VM?): the guest's network is down"

/* The TAP was deleted (its fd reports EPOLLERR, reads and writes EBADFD):
 * the device asks for a reset, saying why. */
static void fail_tap_gone(struct virtio_net *net, struct virtio_mmio *t)
{
	virtio_mmio_fail(t, "%s: %s", net->ifname, TAP_GONE);
	net->tap_gone_noted = true;
}

/* ---- Transmit ------------------------------------------------------------------------ */

/* Writes one chain to the backend. Returns 1 sent (or dropped by the
 * backend), 0 on EAGAIN, or -1 after failing the device. */
static int tx_one(struct virtio_net *net, struct virtio_mmio *t, const struct virtq_chain *c)
{
	if (c->num_readable != c->num_segs) {
		virtio_mmio_fail(t, "transmit chain %u has a device-writable descriptor", c->head);
		return -1;
	}
	if (c->readable_bytes < VIRTIO_NET_HDR_LEN || c->readable_bytes > NET_MAX_PACKET) {
		virtio_mmio_fail(t, "transmit chain %u of %llu bytes (header %d, frame at most %d)",
				 c->head, (unsigned long long)c->readable_bytes, VIRTIO_NET_HDR_LEN,
				 VIRTIO_NET_MAX_FRAME);
		return -1;
	}
	for (unsigned i = 0; i < c->num_segs; i++)
		net->tx_iov[i] = (struct iovec){c->segs[i].host, c->segs[i].len};
	ssize_t n;
	do
		n = writev(net->fd, net->tx_iov, (int)c->num_segs);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0) {
		/* The frame is lost, as on a wire: EIO while the TAP is down
		 * (said once until a frame goes through), EINVAL for a header
		 * the TAP refuses, ... */
		int e = errno;
		if (e == EBADFD && net->is_tap) {
			fail_tap_gone(net, t);
			return -1;
		}
		net->stats.tx_dropped++;
		if (e != EIO)
			log_limited(&net->log_limit,
				    "virtio-net %s: frame of %llu bytes dropped: %s", net->ifname,
				    (unsigned long long)c->readable_bytes - VIRTIO_NET_HDR_LEN,
				    strerror(e));
		else if (!net->tx_down_noted)
			log_error("virtio-net %s: the interface is down: frames from the guest are "
				  "dropped until it is up",
				  net->ifname);
		net->tx_down_noted = e == EIO;
		return 1;
	}
	net->tx_down_noted = false;
	net->stats.tx_packets++;
	net->stats.tx_bytes += c->readable_bytes - VIRTIO_NET_HDR_LEN;
	return 1;
}

/* Sends what the transmitq holds, in order, up to a budget. */
static void tx_process(struct virtio_net *net, struct virtio_mmio *t)
{
	struct virtq *vq = virtio_mmio_queue(t, NET_TX_QUEUE);
	struct virtq_chain c;
	virtq_chain_init(&c, net->tx_segs, VIRTIO_NET_MAX_SEGS);
	unsigned done = 0;
	int r = 0;
	if (net->tx_limit.throttled)
		return; /* its timer resumes */
	net->tx_waiting = false;
	while (done < VIRTIO_NET_TX_BUDGET && (r = virtq_pop(vq, &c)) > 0) {
		uint64_t frame = c.readable_bytes > VIRTIO_NET_HDR_LEN
				     ? c.readable_bytes - VIRTIO_NET_HDR_LEN
				     : 0;
		if (!admit(&net->tx_limit, frame)) {
			virtq_unpop(vq); /* first in line when the timer fires */
			break;
		}
		int s = tx_one(net, t, &c);
		if (s < 0) {
			r = 0;
			stop(net);
			break;
		}
		if (s == 0) {
			virtq_unpop(vq); /* first in line when the backend drains */
			net->tx_waiting = true;
			break;
		}
		(void)virtq_push(vq, c.head, 0);
		done++;
	}
	if (done == VIRTIO_NET_TX_BUDGET)
		net->tx_waiting = true; /* more may be queued: come back after others */
	if (done)
		virtio_mmio_notify_used(t, NET_TX_QUEUE);
	if (r < 0) {
		virtio_mmio_fail(t, "transmit queue: %s", strerror(-r));
		stop(net);
	}
	update_watch(net);
}

/* ---- Receive ---------------------------------------------------------------------------- */

enum rx_result { RX_DELIVERED, RX_NO_BUFFERS, RX_FAILED };

/* Checks (and for the guest, adjusts) the header the backend put before
 * the packet against the negotiated features: a packet the driver cannot
 * take is dropped. */
static bool rx_header_ok(struct virtio_net *net)
{
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)net->rx_buf;
	if (!has(net, VIRTIO_NET_F_GUEST_CSUM)) {
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return false;
		h->flags = 0;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(net, VIRTIO_NET_F_GUEST_ECN))
		return false;
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(net, VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(net, VIRTIO_NET_F_GUEST_TSO6);
	default:
		return false;
	}
}

static void rx_count(struct virtio_net *net)
{
	net->stats.rx_packets++;
	net->stats.rx_bytes += net->rx_len - VIRTIO_NET_HDR_LEN;
}

/* Pops a receive chain into `c`: 1, 0 when there is none, -1 after failing
 * the device (ring error, or a chain too small to be a receive buffer). */
static int rx_pop(struct virtio_mmio *t, struct virtq *vq, struct virtq_chain *c, uint64_t min_len)
{
	int r = virtq_pop(vq, c);
	if (r < 0) {
		virtio_mmio_fail(t, "receive queue: %s", strerror(-r));
		return -1;
	}
	if (r == 0)
		return 0;
	if (c->num_readable) {
		virtio_mmio_fail(t, "receive chain %u has a device-readable descriptor", c->head);
		return -1;
	}
	if (c->writable_bytes < min_len) {
		virtio_mmio_fail(t, "receive chain %u of %llu bytes, smaller than the header",
				 c->head, (unsigned long long)c->writable_bytes);
		return -1;
	}
	return 1;
}

/* Without MRG_RXBUF: the whole packet into one chain. A packet larger than
 * the chain is dropped and the chain kept for the next one. */
static enum rx_result rx_deliver_one(struct virtio_net *net, struct virtio_mmio *t,
				     struct virtq *vq, unsigned *pushed)
{
	struct virtq_chain c;
	virtq_chain_init(&c, net->rx_segs, VIRTIO_NET_MAX_SEGS);
	int r = rx_pop(t, vq, &c, VIRTIO_NET_HDR_LEN);
	if (r <= 0)
		return r == 0 ? RX_NO_BUFFERS : RX_FAILED;
	if (c.writable_bytes < net->rx_len) {
		virtq_unpop(vq);
		net->stats.rx_dropped++;
		log_limited(&net->log_limit,
			    "virtio-net %s: packet of %zu bytes dropped: receive buffer of %llu",
			    net->ifname, net->rx_len, (unsigned long long)c.writable_bytes);
		net->rx_len = 0;
		return RX_DELIVERED;
	}
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)net->rx_buf;
	h->num_buffers = htole16(1);
	(void)virtq_chain_write(&c, 0, net->rx_buf, net->rx_len);
	(void)virtq_push(vq, c.head, (uint32_t)net->rx_len);
	(*pushed)++;
	rx_count(net);
	net->rx_len = 0;
	return RX_DELIVERED;
}

/* The guest's whole ring is held and the packet still does not fit: drop
 * it and hand the chains back empty (a driver sees short packets). */
static void rx_give_up(struct virtio_net *net, struct virtq *vq, unsigned *pushed)
{
	for (unsigned i = 0; i < net->n_held; i++)
		(void)virtq_push(vq, net->held[i].head, 0);
	*pushed += net->n_held;
	net->stats.rx_dropped++;
	log_limited(&net->log_limit,
		    "virtio-net %s: packet of %zu bytes dropped: does not fit %u receive buffers",
		    net->ifname, net->rx_len, net->n_held);
	drop_rx_state(net);
}

/* With MRG_RXBUF: the packet across as many chains as it needs; they are
 * returned together once it is whole, num_buffers set in the first. */
static enum rx_result rx_deliver_merged(struct virtio_net *net, struct virtio_mmio *t,
					struct virtq *vq, unsigned *pushed)
{
	struct virtq_chain c = {0};
	while (net->rx_off < net->rx_len) {
		if (net->n_held >= vq->size || net->n_held == VIRTIO_NET_QUEUE_SIZE) {
			rx_give_up(net, vq, pushed);
			return RX_DELIVERED;
		}
		struct virtq_chain *cur = net->n_held ? &c : &net->rx_first;
		virtq_chain_init(cur, net->n_held ? net->rx_segs : net->rx_first_segs,
				 VIRTIO_NET_MAX_SEGS);
		/* 5.1.6.3.1: with MRG_RXBUF each buffer holds at least a header. */
		int r = rx_pop(t, vq, cur, VIRTIO_NET_HDR_LEN);
		if (r <= 0)
			return r == 0 ? RX_NO_BUFFERS : RX_FAILED;
		size_t n = net->rx_len - net->rx_off;
		if (n > cur->writable_bytes)
			n = (size_t)cur->writable_bytes;
		(void)virtq_chain_write(cur, 0, net->rx_buf + net->rx_off, n);
		net->rx_off += n;
		net->held[net->n_held++] = (struct rx_held){cur->head, (uint32_t)n};
	}
	uint16_t num_buffers = htole16((uint16_t)net->n_held);
	(void)virtq_chain_write(&net->rx_first, offsetof(struct virtio_net_hdr_v1, num_buffers),
				&num_buffers, sizeof(num_buffers));
	for (unsigned i = 0; i < net->n_held; i++)
		(void)virtq_push(vq, net->held[i].head, net->held[i].len);
	*pushed += net->n_held;
	rx_count(net);
	drop_rx_state(net);
	return RX_DELIVERED;
}

/* Reads the next packet from the backend into rx_buf. Returns 1, 0 when
 * there is none, or -1 after failing the device. Packets the driver
 * cannot take are dropped here. */
static int rx_read(struct virtio_net *net, struct virtio_mmio *t)
{
	for (;;) {
		ssize_t n = read(net->fd, net->rx_buf, NET_MAX_PACKET + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EBADFD && net->is_tap) {
			fail_tap_gone(net, t);
			return -1;
		}
		if (n < 0) {
			virtio_mmio_fail(t, "%s: read: %s", net->ifname, strerror(errno));
			return -1;
		}
		net->rx_len = (size_t)n;
		net->rx_off = 0;
		net->rx_paid = false;
		if (n < VIRTIO_NET_HDR_LEN || n > NET_MAX_PACKET || !rx_header_ok(net)) {
			net->rx_len = 0;
			net->stats.rx_dropped++;
			log_limited(&net->log_limit,
				    "virtio-net %s: packet of %zd bytes dropped: bad size or "
				    "offloads the driver did not accept",
				    net->ifname, n);
			continue;
		}
		return 1;
	}
}

/* Delivers the waiting packet, then reads and delivers more, up to a
 * budget, until the backend or the receive buffers run out. */
static void rx_process(struct virtio_net *net, struct virtio_mmio *t)
{
	struct virtq *vq = virtio_mmio_queue(t, NET_RX_QUEUE);
	unsigned pushed = 0;
	if (net->rx_limit.throttled)
		return; /* its timer resumes; the TAP is not read meanwhile */
	net->rx_stalled = false;
	for (unsigned budget = VIRTIO_NET_RX_BUDGET; budget > 0; budget--) {
		if (net->rx_len == 0) {
			int r = rx_read(net, t);
			if (r < 0)
				stop(net);
			if (r <= 0)
				break;
		}
		if (!net->rx_paid) {
			if (!admit(&net->rx_limit, net->rx_len - VIRTIO_NET_HDR_LEN))
				break; /* the packet waits in rx_buf, the rest in the TAP */
			net->rx_paid = true;
		}
		enum rx_result res = has(net, VIRTIO_NET_F_MRG_RXBUF)
					 ? rx_deliver_merged(net, t, vq, &pushed)
					 : rx_deliver_one(net, t, vq, &pushed);
		if (res == RX_NO_BUFFERS) {
			net->rx_stalled = true; /* the guest's next receiveq kick resumes */
			break;
		}
		if (res == RX_FAILED) {
			stop(net);
			break;
		}
	}
	if (pushed)
		virtio_mmio_notify_used(t, NET_RX_QUEUE);
	update_watch(net);
}

/* ---- Backend fd on the event loop ---------------------------------------------------------- */

static void handle_backend(struct virtio_net *net, struct virtio_mmio *t, uint32_t events)
{
	if (!net->running || !virtio_mmio_active(t)) {
		net->running = false;
		update_watch(net);
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		/* A TAP fd reports EPOLLERR once its device has been deleted. */
		if (net->is_tap && (events & EPOLLERR))
			fail_tap_gone(net, t);
		else
			virtio_mmio_fail(t, "%s: the backend went away (%s)", net->ifname,
					 events & EPOLLERR ? "error" : "hang-up");
		stop(net);
	} else {
		if (events & EPOLLOUT)
			tx_process(net, t);
		if ((events & EPOLLIN) && net->running)
			rx_process(net, t);
		return;
	}
	/* Error and hang-up are reported even for no events: stop listening
	 * until the next activation. From inside the callback this does not
	 * wait. */
	if (events & (EPOLLERR | EPOLLHUP) && net->in_loop) {
		(void)event_loop_remove(net->loop, net->fd);
		net->in_loop = false;
		net->watching = 0;
	}
}

static void on_backend(void *opaque, uint32_t events)
{
	struct virtio_net *net = opaque;
	struct virtio_mmio *t = atomic_load_explicit(&net->t, memory_order_acquire);
	if (!t)
		return;
	virtio_mmio_lock(t);
	handle_backend(net, t, events);
	virtio_mmio_unlock(t);
}

/* A direction's timer fired: its tokens are back, carry on. */
static void on_limit_timer(struct virtio_net *net, struct net_direction_limit *d, bool rx)
{
	struct virtio_mmio *t = atomic_load_explicit(&net->t, memory_order_acquire);
	if (!t)
		return;
	virtio_mmio_lock(t);
	if (throttle_timer_ack(&d->timer) && d->throttled) {
		d->throttled = false;
		if (net->running && virtio_mmio_active(t)) {
			if (rx)
				rx_process(net, t);
			else
				tx_process(net, t);
		}
		update_watch(net);
	}
	virtio_mmio_unlock(t);
}

static void on_rx_timer(void *opaque, uint32_t events)
{
	(void)events;
	struct virtio_net *net = opaque;
	on_limit_timer(net, &net->rx_limit, true);
}

static void on_tx_timer(void *opaque, uint32_t events)
{
	(void)events;
	struct virtio_net *net = opaque;
	on_limit_timer(net, &net->tx_limit, false);
}

/* ---- Device model ---------------------------------------------------------------------------- */

static void net_config_read(void *dev, uint32_t offset, void *data, unsigned len)
{
	struct virtio_net *net = dev;
	memcpy(data, net->config + offset, len);
}

static int net_activate(void *dev, struct virtio_mmio *t)
{
	struct virtio_net *net = dev;
	net->features = virtio_mmio_features(t);
	if (net->is_tap) {
		int r = tap_set_offload(net->fd, tap_offloads(net->features));
		if (r == -EBADFD) { /* the TAP was deleted: the fd is detached from it */
			if (!net->tap_gone_noted)
				log_limited(&net->log_limit, "virtio-net %s: %s", net->ifname,
					    TAP_GONE);
			net->tap_gone_noted = true;
			return -ENODEV;
		}
		if (r < 0) {
			log_limited(&net->log_limit, "virtio-net %s: TUNSETOFFLOAD: %s",
				    net->ifname, strerror(-r));
			return r;
		}
	}
	atomic_store_explicit(&net->t, t, memory_order_release);
	drop_rx_state(net);
	net->running = true;
	net->rx_stalled = false;
	net->tx_waiting = false;
	if (!net->in_loop) {
		int r = event_loop_add(net->loop, net->fd, EPOLLIN, on_backend, net);
		if (r < 0) {
			net->running = false;
			return r;
		}
		net->in_loop = true;
		net->watching = EPOLLIN;
	}
	update_watch(net);
	return 0;
}

static void net_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct virtio_net *net = dev;
	if (!net->running)
		return;
	if (queue == NET_TX_QUEUE)
		tx_process(net, t);
	else if (queue == NET_RX_QUEUE)
		rx_process(net, t); /* new buffers: deliver what waits, read on */
}

static void net_reset(void *dev)
{
	struct virtio_net *net = dev;
	net->running = false;
	unthrottle(&net->rx_limit);
	unthrottle(&net->tx_limit);
	net->rx_stalled = false;
	net->tx_waiting = false;
	update_watch(net);
	drop_rx_state(net);
	if (net->is_tap && net->features)
		(void)tap_set_offload(net->fd, 0);
	net->features = 0;
}

const struct virtio_device_ops virtio_net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2, /* receiveq1, transmitq1; no control queue */
    .queue_max = VIRTIO_NET_QUEUE_SIZE,
    .features = BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_MTU) |
		BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
		BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN) |
		BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
		BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_STATUS),
    .config_size = VIRTIO_NET_CONFIG_LEN,
    .config_read = net_config_read,
    .activate = net_activate,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
};

/* ---- Creation
 * ------------------------------------------------------------------------------------ */

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static struct virtio_net *net_new(int fd, bool is_tap, const char *ifname, const uint8_t mac[6],
				  uint16_t mtu, struct event_loop *loop)
{
	struct virtio_net *net = calloc(1, sizeof(*net));
	if (!net)
		return NULL;
	net->rx_buf = malloc(NET_MAX_PACKET + 1);
	if (!net->rx_buf) {
		free(net);
		return NULL;
	}
	net->fd = fd;
	net->rx_limit.timer.fd = net->tx_limit.timer.fd = -1;
	net->is_tap = is_tap;
	snprintf(net->ifname, sizeof(net->ifname), "%s", ifname);
	net->loop = loop;
	net->log_limit.burst = 5;
	memcpy(net->config, mac, 6);
	put_le16(net->config + offsetof(struct virtio_net_config, status), VIRTIO_NET_S_LINK_UP);
	put_le16(net->config + offsetof(struct virtio_net_config, max_virtqueue_pairs), 1);
	put_le16(net->config + offsetof(struct virtio_net_config, mtu), mtu);
	return net;
}

/* A random locally administered unicast MAC. */
static void random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, GRND_NONBLOCK) != 6) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
		memcpy(mac, &x, 6);
	}
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u);
}

struct virtio_net *virtio_net_create(const struct net_config *cfg, struct event_loop *loop,
				     char *err, size_t errlen)
{
	char ifname[IFNAMSIZ];
	int fd = tap_open(cfg->tap, VIRTIO_NET_HDR_LEN, ifname, err, errlen);
	if (fd < 0)
		return NULL;
	int mtu = tap_mtu(ifname);
	if (mtu < 0) {
		log_debug("virtio-net %s: MTU unknown (%s); telling the guest %d", ifname,
			  strerror(-mtu), NET_DEFAULT_MTU);
		mtu = NET_DEFAULT_MTU;
	}
	if (mtu < NET_MIN_MTU)
		mtu = NET_MIN_MTU;
	if (mtu > UINT16_MAX)
		mtu = UINT16_MAX;
	uint8_t mac[6];
	if (cfg->mac_set)
		memcpy(mac, cfg->mac, 6);
	else
		random_mac(mac);
	struct virtio_net *net = net_new(fd, true, ifname, mac, (uint16_t)mtu, loop);
	if (!net) {
		snprintf(err, errlen, "%s: out of memory", ifname);
		close(fd);
		return NULL;
	}
	int r = virtio_net_set_limits(net, &cfg->rx, &cfg->tx);
	if (r < 0) {
		snprintf(err, errlen, "%s: rate limiter timer: %s", ifname, strerror(-r));
		virtio_net_destroy(net);
		return NULL;
	}
	log_debug("virtio-net %s: mtu %d, mac %02x:%02x:%02x:%02x:%02x:%02x", ifname, mtu, mac[0],
		  mac[1], mac[2], mac[3], mac[4], mac[5]);
	return net;
}

static int limit_init(struct virtio_net *net, struct net_direction_limit *d,
		      const struct rate_limit_config *l, event_loop_fn fn)
{
	rate_limiter_init(&d->bucket, l->bandwidth, l->bandwidth_burst, l->ops, l->ops_burst,
			  rate_limiter_now_ns());
	if (!net->loop || !rate_limiter_limited(&d->bucket))
		return 0;
	int r = throttle_timer_init(&d->timer, net->loop, fn, net);
	if (r == 0)
		d->limited = true;
	return r;
}

int virtio_net_set_limits(struct virtio_net *net, const struct rate_limit_config *rx,
			  const struct rate_limit_config *tx)
{
	int r = limit_init(net, &net->rx_limit, rx, on_rx_timer);
	if (r == 0)
		r = limit_init(net, &net->tx_limit, tx, on_tx_timer);
	return r;
}

struct virtio_net *virtio_net_create_fd(int fd, const uint8_t mac[6], uint16_t mtu,
					struct event_loop *loop)
{
	return net_new(fd, false, "backend", mac, mtu, loop);
}

void virtio_net_destroy(struct virtio_net *net)
{
	if (!net)
		return;
	if (net->loop)
		(void)event_loop_remove(net->loop, net->fd); /* -ENOENT when never added */
	throttle_timer_fini(&net->rx_limit.timer);
	throttle_timer_fini(&net->tx_limit.timer);
	close(net->fd);
	free(net->rx_buf);
	free(net);
}

/* ---- For tests ---------------------------------------------------------------------------------
 */

bool virtio_net_poll_backend(struct virtio_net *net)
{
	struct virtio_mmio *t = atomic_load_explicit(&net->t, memory_order_acquire);
	if (!t)
		return false;
	virtio_mmio_lock(t);
	bool in_loop = net->in_loop;
	short events = (short)net->watching;
	virtio_mmio_unlock(t);
	if (!in_loop)
		return false;
	struct pollfd p = {.fd = net->fd, .events = events};
	if (poll(&p, 1, 0) <= 0 || p.revents == 0)
		return false;
	on_backend(net, (uint32_t)p.revents);
	return true;
}

void virtio_net_stats(struct virtio_net *net, struct virtio_net_stats *out)
{
	struct virtio_mmio *t = atomic_load_explicit(&net->t, memory_order_acquire);
	if (t)
		virtio_mmio_lock(t);
	*out = net->stats;
	out->watching = net->watching;
	if (t)
		virtio_mmio_unlock(t);
}

/* ---- The device type ----------------------------------------------------------------- */

static size_t net_count(const struct vm_config *cfg)
{
	return cfg->n_nets;
}

static void *net_type_create(const struct device_env *env, size_t i, struct device_error *e)
{
	const struct net_config *n = &env->cfg->nets[i];
	snprintf(e->section, sizeof(e->section), "net.%s", n->name);
	e->at = &n->at;
	return virtio_net_create(n, env->loop, e->msg, sizeof(e->msg));
}

static void net_type_destroy(void *dev)
{
	virtio_net_destroy(dev);
}

static void net_metrics(void *dev, FILE *out)
{
	struct virtio_net *net = dev;
	struct virtio_net_stats st;
	virtio_net_stats(net, &st);
	fprintf(out,
		",\"tap\":\"%s\",\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
		",\"rx_dropped\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
		",\"tx_dropped\":%" PRIu64,
		net->ifname, st.rx_packets, st.rx_bytes, st.rx_dropped, st.tx_packets, st.tx_bytes,
		st.tx_dropped);
}

const struct virtio_type virtio_net_type = {
    "virtio-net", &virtio_net_ops, net_count, net_type_create, net_type_destroy, net_metrics, NULL};
