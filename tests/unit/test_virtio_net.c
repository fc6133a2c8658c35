/* test_virtio_net.c - virtio-net driven through the virtio-mmio transport
 * (vm_fd = -1, fake guest RAM) on a SOCK_SEQPACKET socketpair standing in
 * for the TAP: transmit, receive with and without MRG_RXBUF, flow control,
 * hostile chains, reset; plus real TAPs in a private network namespace. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "event_loop.h"
#include "guest_mem.h"
#include "tap.h"
#include "test_util.h"
#include "virtio_driver.h"
#include "virtio_mmio.h"
#include "virtio_net.h"
#include "virtio_net_priv.h"

#define RAM_SIZE (16ULL << 20)
#define QSIZE	 64
#define BUF_GPA	 0x100000ULL
#define HDR	 VIRTIO_NET_HDR_LEN

#define F(bit)	(1ULL << (bit))
#define F_MRG	F(VIRTIO_NET_F_MRG_RXBUF)
#define F_GCSUM F(VIRTIO_NET_F_GUEST_CSUM)
#define F_GTSO4 F(VIRTIO_NET_F_GUEST_TSO4)

static const uint8_t test_mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};

/* ---- The fixture: guest RAM, a transport, the device on a socketpair ---------------- */

static struct event_loop loop; /* initialised, not started: tests poll the backend */
static struct virtio_mmio t;
static struct virtio_net *net;
static int peer = -1;	/* the "host network" end of the socketpair */
static int dev_fd = -1; /* the device's end */
static gpa_t next_buf;

static void setup(void)
{
	ram_map(RAM_SIZE);
	cr_assert_eq(event_loop_init(&loop), 0);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	dev_fd = sv[0];
	net = virtio_net_create_fd(sv[0], test_mac, 1500, &loop);
	cr_assert_not_null(net);
	/* No loop for the transport: kicks run queue_notify right away. */
	cr_assert_eq(virtio_mmio_create(&t, &virtio_net_ops, net, &guest_ram, -1, NULL, NULL, 0),
		     0);
	next_buf = BUF_GPA;
}

static void teardown(void)
{
	virtio_net_destroy(net);
	net = NULL;
	virtio_mmio_destroy(&t);
	event_loop_fini(&loop);
	if (peer >= 0)
		close(peer);
	peer = -1;
	ram_unmap();
}

TestSuite(virtio_net, .init = setup, .fini = teardown);

/* ---- A driver -------------------------------------------------------------------------- */

static gpa_t alloc_buf(uint32_t len)
{
	gpa_t g = next_buf;
	next_buf += (len + 63) & ~63u;
	cr_assert_lt(next_buf, RAM_SIZE);
	return g;
}

static struct drv_ring rxq, txq;

static gpa_t ring_base(unsigned q)
{
	return 0x10000 + q * 0x10000ULL;
}

/* Negotiates `features`, sets up both queues, DRIVER_OK. */
static void bring_up(uint64_t features)
{
	drv_features_ok(&t, features);
	drv_ring_at(&rxq, &t, 0, QSIZE, ring_base(0));
	drv_ring_at(&txq, &t, 1, QSIZE, ring_base(1));
	drv_go(&t);
}

/* Posts one device-writable receive buffer of `len` bytes; returns its gpa. */
static gpa_t post_rx(uint32_t len)
{
	gpa_t g = alloc_buf(len);
	memset(gp(g, len), 0xee, len);
	struct drv_seg s = {g, len, true};
	drv_post_chain(&rxq, &s, 1);
	return g;
}

/* A frame of `len` bytes whose bytes are `seed`, seed+1, ...; the header
 * in front is all zeroes unless `hdr` is given. */
static size_t make_packet(uint8_t *out, const struct virtio_net_hdr_v1 *hdr, size_t len,
			  uint8_t seed)
{
	memset(out, 0, HDR);
	if (hdr)
		memcpy(out, hdr, HDR);
	for (size_t i = 0; i < len; i++)
		out[HDR + i] = (uint8_t)(seed + i);
	return HDR + len;
}

static bool frame_ok(const uint8_t *frame, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++) {
		if (frame[i] != (uint8_t)(seed + i))
			return false;
	}
	return true;
}

/* The host sends one packet (header + frame of len bytes) towards the guest. */
static void host_send(size_t len, uint8_t seed, const struct virtio_net_hdr_v1 *hdr)
{
	static uint8_t pkt[HDR + VIRTIO_NET_MAX_FRAME];
	size_t n = make_packet(pkt, hdr, len, seed);
	cr_assert_eq(send(peer, pkt, n, 0), (ssize_t)n, "send: %s", strerror(errno));
}

/* Runs the backend callback until it finds nothing to do. */
static void poll_backend(void)
{
	for (int i = 0; i < 100 && virtio_net_poll_backend(net); i++)
		;
}

/* Reads one packet the guest sent; -1 if none waits. */
static ssize_t host_recv(uint8_t *buf, size_t cap)
{
	return recv(peer, buf, cap, MSG_DONTWAIT);
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;
	virtio_net_stats(net, &s);
	return s;
}

/* One interrupt so far, and the statistics count one packet of `bytes` bytes sent (tx) or
 * received. */
static void expect_one_packet(bool tx, uint64_t bytes)
{
	cr_assert_eq(atomic_load(&t.interrupts), 1);
	struct virtio_net_stats s = stats();
	cr_assert_eq(tx ? s.tx_packets : s.rx_packets, 1, "%s packets", tx ? "tx" : "rx");
	cr_assert_eq(tx ? s.tx_bytes : s.rx_bytes, bytes, "%s bytes", tx ? "tx" : "rx");
}

/* ---- Identification and config space ---------------------------------------------------- */

Test(virtio_net, identification_and_features)
{
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_ID), 1);
	uint64_t f = drv_device_features(&t);
	static const unsigned want[] = {
	    VIRTIO_NET_F_CSUM,	    VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_MTU,
	    VIRTIO_NET_F_MAC,	    VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
	    VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,  VIRTIO_NET_F_MRG_RXBUF,
	    VIRTIO_NET_F_STATUS,    VIRTIO_F_VERSION_1,
	};
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
		cr_expect(f & F(want[i]), "feature %u offered", want[i]);
	static const unsigned not_offered[] = {VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MQ,
					       VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_UFO};
	for (unsigned i = 0; i < ARRAY_SIZE(not_offered); i++)
		cr_expect_not(f & F(not_offered[i]), "feature %u not offered", not_offered[i]);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_NET_QUEUE_SIZE);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_NET_QUEUE_SIZE);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "no control queue");
}

Test(virtio_net, config_mac_status_mtu)
{
	for (unsigned i = 0; i < 6; i++)
		cr_assert_eq(drv_cfg(&t, i, 1), test_mac[i]);
	cr_assert_eq(drv_cfg(&t, offsetof(struct virtio_net_config, status), 2),
		     VIRTIO_NET_S_LINK_UP);
	cr_assert_eq(drv_cfg(&t, offsetof(struct virtio_net_config, max_virtqueue_pairs), 2), 1);
	cr_assert_eq(drv_cfg(&t, offsetof(struct virtio_net_config, mtu), 2), 1500);
	cr_assert_eq(drv_cfg(&t, 4, 4), 0x0001efcdu, "mac[4..5] and status, little-endian");
	cr_assert_eq(drv_cfg(&t, 12, 1), 0xff, "beyond the config space: all-ones");
}

Test(virtio_net, config_space_is_read_only)
{
	uint8_t b = 0x11;
	virtio_mmio_ops.write(&t, VIRTIO_MMIO_CONFIG, &b, 1);
	cr_assert_eq(drv_cfg(&t, 0, 1), test_mac[0]);
	cr_assert_not(drv_needs_reset(&t));
}

/* ---- Transmit ---------------------------------------------------------------------------------
 */

/* Posts a transmit chain: the header in one descriptor, the frame split
 * in `parts` descriptors. */
static uint16_t post_tx(size_t frame_len, uint8_t seed, unsigned parts)
{
	struct drv_seg s[8];
	cr_assert_lt(parts, 8);
	gpa_t g = alloc_buf((uint32_t)(HDR + frame_len));
	uint8_t *p = gp(g, HDR + frame_len);
	make_packet(p, NULL, frame_len, seed);
	s[0] = (struct drv_seg){g, HDR, false};
	size_t off = 0;
	for (unsigned i = 0; i < parts; i++) {
		size_t n = i + 1 == parts ? frame_len - off : frame_len / parts;
		s[1 + i] = (struct drv_seg){g + HDR + off, (uint32_t)n, false};
		off += n;
	}
	return drv_post_chain(&txq, s, parts + 1);
}

Test(virtio_net, tx_frame_reaches_backend_with_header)
{
	bring_up(F_VERSION_1);
	uint16_t head = post_tx(60, 7, 1);
	gpa_t hdr_gpa = next_buf - ((HDR + 60 + 63) & ~63u);
	struct virtio_net_hdr_v1 *h = gp(hdr_gpa, HDR);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = htole16(34);
	h->csum_offset = htole16(6);
	drv_kick(&txq);
	uint8_t buf[256];
	ssize_t n = host_recv(buf, sizeof(buf));
	cr_assert_eq(n, HDR + 60);
	struct virtio_net_hdr_v1 got;
	memcpy(&got, buf, HDR);
	cr_assert_eq(got.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM, "the header goes through as is");
	cr_assert_eq(le16toh(got.csum_start), 34);
	cr_assert_eq(le16toh(got.csum_offset), 6);
	cr_assert(frame_ok(buf + HDR, 60, 7));
	struct vring_used_elem u = drv_next_used(&txq);
	cr_assert_eq(u.id, head);
	cr_assert_eq(u.len, 0, "nothing written into a transmit chain");
	expect_one_packet(true, 60);
}

Test(virtio_net, tx_many_chains_in_order_one_interrupt)
{
	bring_up(F_VERSION_1);
	for (unsigned i = 0; i < 10; i++)
		post_tx(100 + i, (uint8_t)i, 1 + i % 4);
	drv_kick(&txq);
	for (unsigned i = 0; i < 10; i++) {
		uint8_t buf[256];
		ssize_t n = host_recv(buf, sizeof(buf));
		cr_assert_eq(n, (ssize_t)(HDR + 100 + i), "packet %u", i);
		cr_assert(frame_ok(buf + HDR, 100 + i, (uint8_t)i), "packet %u contents", i);
	}
	cr_assert_lt(host_recv((uint8_t[16]){0}, 16), 0);
	cr_assert_eq(drv_used_idx(&txq), 10);
	cr_assert_eq(atomic_load(&t.interrupts), 1, "one interrupt for the batch");
}

Test(virtio_net, tx_largest_frame)
{
	bring_up(F_VERSION_1);
	int big = 1 << 20;
	cr_assert_eq(setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)), 0);
	post_tx(VIRTIO_NET_MAX_FRAME, 3, 3);
	drv_kick(&txq);
	static uint8_t buf[HDR + VIRTIO_NET_MAX_FRAME + 16];
	cr_assert_eq(host_recv(buf, sizeof(buf)), HDR + VIRTIO_NET_MAX_FRAME);
	cr_assert(frame_ok(buf + HDR, VIRTIO_NET_MAX_FRAME, 3));
	cr_assert_not(drv_needs_reset(&t));
}

Test(virtio_net, tx_frame_too_large_needs_reset)
{
	bring_up(F_VERSION_1);
	post_tx(VIRTIO_NET_MAX_FRAME + 1, 3, 2);
	drv_kick(&txq);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_used_idx(&txq), 0);
	cr_assert_lt(host_recv((uint8_t[16]){0}, 16), 0, "nothing sent");
}

Test(virtio_net, tx_without_room_for_header_needs_reset)
{
	bring_up(F_VERSION_1);
	gpa_t g = alloc_buf(64);
	struct drv_seg s = {g, HDR - 1, false};
	drv_post_chain(&txq, &s, 1);
	drv_kick(&txq);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_used_idx(&txq), 0);
}

Test(virtio_net, tx_writable_descriptor_needs_reset)
{
	bring_up(F_VERSION_1);
	gpa_t g = alloc_buf(128);
	struct drv_seg s[2] = {{g, HDR + 60, false}, {g + 100, 16, true}};
	drv_post_chain(&txq, s, 2);
	drv_kick(&txq);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_used_idx(&txq), 0);
	cr_assert_lt(host_recv((uint8_t[16]){0}, 16), 0, "nothing sent");
	/* A needs-reset device ignores kicks; after a reset it works again. */
	drv_kick(&txq);
	bring_up(F_VERSION_1);
	post_tx(60, 1, 1);
	drv_kick(&txq);
	uint8_t buf[128];
	cr_assert_eq(host_recv(buf, sizeof(buf)), HDR + 60);
}

Test(virtio_net, tx_hostile_ring_needs_reset)
{
	bring_up(F_VERSION_1);
	txq.desc[0] = (struct vring_desc){RAM_SIZE - 8, 64, 0, 0};
	drv_post(&txq, 0);
	drv_kick(&txq);
	cr_assert(drv_needs_reset(&t));
}

/* The backend's buffer fills: chains wait, in order, and go out on EPOLLOUT. */
Test(virtio_net, tx_backpressure_keeps_order)
{
	bring_up(F_VERSION_1);
	/* A SEQPACKET sender may have only SO_SNDBUF bytes in flight. */
	int small = 4096;
	cr_assert_eq(setsockopt(dev_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	unsigned sent = 0;
	while (sent < 64 && !(stats().watching & EPOLLOUT)) {
		post_tx(3000, (uint8_t)sent, 1);
		drv_kick(&txq);
		sent++;
		struct vring_used_elem u;
		while (drv_take_used(&txq, &u))
			;
	}
	cr_assert(stats().watching & EPOLLOUT, "the device waits for the backend");
	cr_assert_eq((uint16_t)(txq.avail->idx - drv_used_idx(&txq)), 1, "one chain waits");
	/* More chains queue up behind it meanwhile. */
	for (unsigned i = 0; i < 3; i++, sent++)
		post_tx(3000, (uint8_t)sent, 1);
	drv_kick(&txq);
	unsigned got = 0;
	for (int rounds = 0; rounds < 1000 && got < sent; rounds++) {
		static uint8_t buf[4096];
		ssize_t n;
		while ((n = host_recv(buf, sizeof(buf))) > 0) {
			cr_assert_eq(n, HDR + 3000);
			cr_assert(frame_ok(buf + HDR, 3000, (uint8_t)got), "packet %u in order",
				  got);
			got++;
		}
		poll_backend();
	}
	cr_assert_eq(got, sent);
	cr_assert_eq(drv_used_idx(&txq), txq.avail->idx);
	cr_assert_not(stats().watching & EPOLLOUT);
	cr_assert_eq(stats().tx_dropped, 0);
	cr_assert_not(drv_needs_reset(&t));
}

/* ---- Receive ------------------------------------------------------------------------------------
 */

static void check_rx_header(gpa_t g, uint16_t num_buffers)
{
	struct virtio_net_hdr_v1 h;
	memcpy(&h, gp(g, HDR), HDR);
	cr_assert_eq(le16toh(h.num_buffers), num_buffers);
}

/* The receive buffer at g holds one whole packet: a header for one buffer, then the frame of
 * `len` bytes made from `seed`. */
static void check_rx_frame(gpa_t g, size_t len, uint8_t seed)
{
	check_rx_header(g, 1);
	cr_assert(frame_ok(gp(g + HDR, len), len, seed), "frame of %zu bytes from seed %u", len,
		  seed);
}

Test(virtio_net, rx_packet_into_one_buffer)
{
	bring_up(F_VERSION_1);
	gpa_t g = post_rx(2048);
	drv_kick(&rxq);
	host_send(100, 9, NULL);
	poll_backend();
	struct vring_used_elem u = drv_next_used(&rxq);
	cr_assert_eq(u.id, 0);
	cr_assert_eq(u.len, HDR + 100);
	check_rx_frame(g, 100, 9);
	cr_assert_eq(*(uint8_t *)gp(g + HDR + 100, 1), 0xee, "nothing written past the packet");
	expect_one_packet(false, 100);
}

Test(virtio_net, rx_packet_across_descriptors_of_one_chain)
{
	bring_up(F_VERSION_1);
	gpa_t g = alloc_buf(4096);
	struct drv_seg s[3] = {{g, HDR, true}, {g + 1024, 700, true}, {g + 2048, 2000, true}};
	drv_post_chain(&rxq, s, 3);
	drv_kick(&rxq);
	host_send(1500, 1, NULL);
	poll_backend();
	cr_assert_eq(drv_next_used(&rxq).len, HDR + 1500);
	check_rx_header(g, 1);
	cr_assert(frame_ok(gp(g + 1024, 700), 700, 1));
	cr_assert(frame_ok(gp(g + 2048, 800), 800, (uint8_t)(1 + 700)));
}

Test(virtio_net, rx_without_buffers_loses_nothing)
{
	bring_up(F_VERSION_1);
	for (unsigned i = 0; i < 5; i++)
		host_send(200 + i, (uint8_t)(i * 10), NULL);
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 0);
	struct virtio_net_stats s = stats();
	cr_assert_not(s.watching & EPOLLIN, "not reading while the guest has no buffers");
	cr_assert_eq(s.rx_dropped, 0);
	cr_assert_not(virtio_net_poll_backend(net), "nothing to do");
	/* One buffer: one packet. */
	gpa_t g[5];
	g[0] = post_rx(2048);
	drv_kick(&rxq);
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 1);
	/* The rest, buffers posted one kick at a time. */
	for (unsigned i = 1; i < 5; i++) {
		g[i] = post_rx(2048);
		drv_kick(&rxq);
		poll_backend();
	}
	cr_assert_eq(drv_used_idx(&rxq), 5);
	for (unsigned i = 0; i < 5; i++) {
		cr_assert_eq(drv_next_used(&rxq).len, HDR + 200 + i, "packet %u in order", i);
		cr_assert(frame_ok(gp(g[i] + HDR, 200 + i), 200 + i, (uint8_t)(i * 10)));
	}
	s = stats();
	cr_assert_eq(s.rx_packets, 5);
	cr_assert_eq(s.rx_dropped, 0);
	cr_assert(s.watching & EPOLLIN, "reading again");
}

Test(virtio_net, rx_batch_one_interrupt)
{
	bring_up(F_VERSION_1);
	for (unsigned i = 0; i < 8; i++)
		post_rx(2048);
	drv_kick(&rxq);
	for (unsigned i = 0; i < 8; i++)
		host_send(60, (uint8_t)i, NULL);
	cr_assert(virtio_net_poll_backend(net));
	cr_assert_eq(drv_used_idx(&rxq), 8, "all in one callback");
	cr_assert_eq(atomic_load(&t.interrupts), 1);
}

Test(virtio_net, rx_packet_too_big_for_buffer_is_dropped)
{
	bring_up(F_VERSION_1);
	gpa_t g = post_rx(1024);
	drv_kick(&rxq);
	host_send(3000, 1, NULL);
	host_send(500, 2, NULL);
	poll_backend();
	cr_assert_eq(drv_next_used(&rxq).len, HDR + 500, "the buffer serves the next packet");
	cr_assert(frame_ok(gp(g + HDR, 500), 500, 2));
	cr_assert_eq(stats().rx_dropped, 1);
	cr_assert_not(drv_needs_reset(&t));
}

Test(virtio_net, rx_merged_buffers)
{
	bring_up(F_VERSION_1 | F_MRG);
	gpa_t g[4];
	for (unsigned i = 0; i < 4; i++)
		g[i] = post_rx(1500);
	drv_kick(&rxq);
	host_send(5000, 5, NULL);
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 4);
	uint32_t lens[4] = {1500, 1500, 1500, HDR + 5000 - 4500};
	for (unsigned i = 0; i < 4; i++) {
		struct vring_used_elem u = drv_next_used(&rxq);
		cr_assert_eq(u.id, i);
		cr_assert_eq(u.len, lens[i], "buffer %u", i);
	}
	check_rx_header(g[0], 4);
	static uint8_t frame[5000];
	size_t off = 0;
	memcpy(frame, gp(g[0] + HDR, 1500 - HDR), 1500 - HDR);
	off = 1500 - HDR;
	for (unsigned i = 1; i < 4; i++) {
		size_t n = i < 3 ? 1500 : lens[3];
		memcpy(frame + off, gp(g[i], n), n);
		off += n;
	}
	cr_assert_eq(off, 5000);
	cr_assert(frame_ok(frame, 5000, 5));
	cr_assert_eq(atomic_load(&t.interrupts), 1);
}

Test(virtio_net, rx_merged_small_packets_one_buffer_each)
{
	bring_up(F_VERSION_1 | F_MRG | F_EVENT_IDX);
	gpa_t g[3];
	for (unsigned i = 0; i < 3; i++)
		g[i] = post_rx(4096);
	drv_kick(&rxq);
	for (unsigned i = 0; i < 3; i++)
		host_send(64, (uint8_t)i, NULL);
	poll_backend();
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(drv_next_used(&rxq).len, HDR + 64);
		check_rx_frame(g[i], 64, (uint8_t)i);
	}
}

Test(virtio_net, rx_merged_waits_for_enough_buffers)
{
	bring_up(F_VERSION_1 | F_MRG);
	gpa_t g[4];
	g[0] = post_rx(1000);
	g[1] = post_rx(1000);
	drv_kick(&rxq);
	host_send(3000, 77, NULL);
	host_send(100, 88, NULL);
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 0, "half a packet is not returned");
	cr_assert_not(stats().watching & EPOLLIN);
	g[2] = post_rx(1000);
	drv_kick(&rxq);
	cr_assert_eq(drv_used_idx(&rxq), 0);
	g[3] = post_rx(1000);
	drv_kick(&rxq);
	cr_assert_eq(drv_used_idx(&rxq), 4, "3012 bytes in four buffers");
	check_rx_header(g[0], 4);
	cr_assert(frame_ok(gp(g[0] + HDR, 1000 - HDR), 1000 - HDR, 77));
	cr_assert(frame_ok(gp(g[3], 12), 12, (uint8_t)(77 + 2988)));
	/* The next packet follows in the next buffer. */
	gpa_t g5 = post_rx(1000);
	drv_kick(&rxq);
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 5);
	check_rx_frame(g5, 100, 88);
	cr_assert_eq(stats().rx_dropped, 0);
}

Test(virtio_net, rx_merged_packet_larger_than_ring_is_dropped)
{
	bring_up(F_VERSION_1 | F_MRG);
	for (unsigned i = 0; i < QSIZE; i++)
		post_rx(64);
	drv_kick(&rxq);
	host_send(QSIZE * 64, 1, NULL); /* more than 16 buffers of 64 bytes hold */
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), QSIZE, "buffers handed back");
	cr_assert_eq(drv_next_used(&rxq).len, 0);
	cr_assert_eq(stats().rx_dropped, 1);
	cr_assert_not(drv_needs_reset(&t));
}

Test(virtio_net, rx_readable_descriptor_needs_reset)
{
	bring_up(F_VERSION_1);
	gpa_t g = alloc_buf(2048);
	struct drv_seg s[2] = {{g, 16, false}, {g + 64, 1900, true}};
	drv_post_chain(&rxq, s, 2);
	drv_kick(&rxq);
	host_send(100, 1, NULL);
	poll_backend();
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_used_idx(&rxq), 0);
	cr_assert_eq(stats().watching, 0, "the backend is left alone");
}

Test(virtio_net, rx_merged_buffer_smaller_than_header_needs_reset)
{
	bring_up(F_VERSION_1 | F_MRG);
	post_rx(HDR - 2);
	drv_kick(&rxq);
	host_send(100, 1, NULL);
	poll_backend();
	cr_assert(drv_needs_reset(&t));
}

/* Offloads the driver did not accept never reach it. */
Test(virtio_net, rx_header_checked_against_features)
{
	bring_up(F_VERSION_1);
	gpa_t g = post_rx(2048);
	post_rx(2048);
	drv_kick(&rxq);
	struct virtio_net_hdr_v1 h;
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	host_send(100, 1, &h); /* dropped: no GUEST_CSUM */
	memset(&h, 0, sizeof(h));
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = htole16(1448);
	host_send(100, 2, &h); /* dropped: no GUEST_TSO4 */
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	host_send(100, 3, &h); /* delivered with flags cleared */
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 1);
	struct virtio_net_hdr_v1 got;
	memcpy(&got, gp(g, HDR), HDR);
	cr_assert_eq(got.flags, 0);
	cr_assert(frame_ok(gp(g + HDR, 100), 100, 3));
	cr_assert_eq(stats().rx_dropped, 2);
}

Test(virtio_net, rx_offloads_passed_when_negotiated)
{
	bring_up(F_VERSION_1 | F_GCSUM | F_GTSO4 | F_MRG);
	gpa_t g = post_rx(4096);
	drv_kick(&rxq);
	struct virtio_net_hdr_v1 h;
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = htole16(1448);
	h.csum_start = htole16(34);
	h.csum_offset = htole16(16);
	host_send(3000, 4, &h);
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 1);
	struct virtio_net_hdr_v1 got;
	memcpy(&got, gp(g, HDR), HDR);
	cr_assert_eq(got.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	cr_assert_eq(got.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	cr_assert_eq(le16toh(got.gso_size), 1448);
	cr_assert_eq(le16toh(got.num_buffers), 1);
}

/* ---- Reset and the backend --------------------------------------------------------------------
 */

Test(virtio_net, reset_stops_watching_and_drops_state)
{
	bring_up(F_VERSION_1 | F_MRG);
	post_rx(1000);
	drv_kick(&rxq);
	host_send(3000, 1, NULL); /* half delivered, waits for buffers */
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 0);
	drv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(stats().watching, 0);
	host_send(50, 2, NULL);
	cr_assert_not(virtio_net_poll_backend(net), "not watched after reset");
	/* Up again: the half-delivered packet is gone, the next one arrives. */
	next_buf = BUF_GPA;
	bring_up(F_VERSION_1 | F_MRG);
	cr_assert_not(stats().watching & EPOLLIN, "the waiting packet was read: no buffers yet");
	gpa_t g = post_rx(1000);
	drv_kick(&rxq);
	poll_backend();
	cr_assert_eq(drv_used_idx(&rxq), 1);
	check_rx_frame(g, 50, 2);
	cr_assert(stats().watching & EPOLLIN);
}

Test(virtio_net, backend_hangup_needs_reset)
{
	bring_up(F_VERSION_1);
	close(peer);
	peer = -1;
	cr_assert(virtio_net_poll_backend(net));
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(stats().watching, 0);
	cr_assert_not(virtio_net_poll_backend(net), "no longer watched");
}

Test(virtio_net, not_watched_before_driver_ok)
{
	host_send(60, 1, NULL);
	cr_assert_not(virtio_net_poll_backend(net));
	cr_assert_eq(stats().watching, 0);
}

/* ---- Through a running event loop ----------------------------------------------------------- */

Test(virtio_net_loop, tx_and_rx_on_the_loop_thread)
{
	struct event_loop running;
	ram_map(RAM_SIZE);
	cr_assert_eq(event_loop_init(&running), 0);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	net = virtio_net_create_fd(sv[0], test_mac, 1500, &running);
	cr_assert_not_null(net);
	cr_assert_eq(
	    virtio_mmio_create(&t, &virtio_net_ops, net, &guest_ram, -1, &running, NULL, 0), 0);
	cr_assert_eq(event_loop_start(&running), 0);
	next_buf = BUF_GPA;
	bring_up(F_VERSION_1 | F_MRG | F_EVENT_IDX);
	gpa_t g0 = post_rx(2048), g1 = post_rx(2048);
	drv_kick(&rxq);
	host_send(300, 1, NULL);
	host_send(400, 2, NULL);
	cr_assert(WAIT_UNTIL(drv_used_idx(&rxq) == 2, 2000), "the loop delivered both packets");
	check_rx_frame(g0, 300, 1);
	cr_assert(frame_ok(gp(g1 + HDR, 400), 400, 2));
	post_tx(500, 3, 2);
	drv_kick(&txq);
	cr_assert(WAIT_UNTIL(drv_used_idx(&txq) == 1, 2000), "the loop sent the chain");
	uint8_t buf[1024];
	struct pollfd p = {.fd = peer, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 2000), 1);
	cr_assert_eq(host_recv(buf, sizeof(buf)), HDR + 500);
	cr_assert(frame_ok(buf + HDR, 500, 3));
	event_loop_stop(&running);
	virtio_mmio_destroy(&t);
	virtio_net_destroy(net);
	event_loop_fini(&running);
	close(peer);
	ram_unmap();
}

/* ---- Real TAPs, in a network namespace of this test's own process ------------------------- */

/* Criterion runs each test in its own process: a new network namespace
 * keeps the TAPs and their traffic away from the host and disappears with
 * the process. */
static void enter_private_netns(void)
{
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		cr_skip_test("no usable /dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("cannot create a network namespace: %s", strerror(errno));
}

static void tap_name(char name[IFNAMSIZ])
{
	snprintf(name, IFNAMSIZ, "mtest%d", (int)getpid() % 1000000);
}

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	int r = ioctl(s, req, ifr);
	int e = errno;
	close(s);
	errno = e;
	return r;
}

/* Skips the test when TAPs cannot be made here (no CAP_NET_ADMIN...). */
static struct virtio_net *create_or_skip(const struct net_config *cfg, struct event_loop *l)
{
	char err[256] = "";
	struct virtio_net *n = virtio_net_create(cfg, l, err, sizeof(err));
	if (!n && (strstr(err, "permission") || strstr(err, "missing")))
		cr_skip_test("cannot create a TAP: %s", err);
	cr_assert_not_null(n, "virtio_net_create: %s", err);
	return n;
}

/* Guest RAM, an event loop (not started) and the device on the TAP `cfg` names, on slot 0. */
static void tap_device_up(const struct net_config *cfg)
{
	ram_map(RAM_SIZE);
	cr_assert_eq(event_loop_init(&loop), 0);
	net = create_or_skip(cfg, &loop);
	cr_assert_eq(virtio_mmio_create(&t, &virtio_net_ops, net, &guest_ram, -1, NULL, NULL, 0),
		     0);
	next_buf = BUF_GPA;
}

/* Undoes tap_device_up() in minnow's order; `check` runs once the device is gone. */
static void tap_device_down(void (*check)(const struct net_config *), const struct net_config *cfg)
{
	virtio_mmio_destroy(&t);
	virtio_net_destroy(net);
	net = NULL;
	if (check)
		check(cfg);
	event_loop_fini(&loop);
	ram_unmap();
}

/* Makes TAP `name` (tap_name()) persistent, so that it outlives its fd, owned by root when
 * `root_owned`. Skips without the rights to make TAPs. */
static void make_persistent_tap(char name[IFNAMSIZ], bool root_owned)
{
	char ifname[IFNAMSIZ], err[256];
	tap_name(name);
	int fd = tap_open(name, HDR, ifname, err, sizeof(err));
	if (fd == -EPERM)
		cr_skip_test("%s", err);
	cr_assert_geq(fd, 0, "%s", err);
	if (root_owned)
		cr_assert_eq(ioctl(fd, TUNSETOWNER, 0), 0);
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
}

static void tap_gone(const struct net_config *cfg)
{
	cr_assert_eq(if_nametoindex(cfg->tap), 0, "a TAP minnow made goes away with it");
}

static void tap_stays(const struct net_config *cfg)
{
	cr_assert_gt(if_nametoindex(cfg->tap), 0, "an existing persistent TAP stays");
}

Test(virtio_net_tap, busy_tap_and_random_mac)
{
	enter_private_netns();
	struct net_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	tap_name(cfg.tap);
	tap_device_up(&cfg);
	cr_assert(if_nametoindex(cfg.tap) > 0, "the TAP exists while minnow holds it");
	char err[256] = "";
	cr_assert_null(virtio_net_create(&cfg, &loop, err, sizeof(err)));
	char want[128];
	snprintf(want, sizeof(want), "%s: busy (in use by another process?)", cfg.tap);
	cr_assert_str_eq(err, want);
	uint8_t mac[6];
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)drv_cfg(&t, i, 1);
	cr_assert_eq(mac[0] & 1, 0, "unicast");
	cr_assert_eq(mac[0] & 2, 2, "locally administered");
	cr_assert_eq(drv_cfg(&t, offsetof(struct virtio_net_config, mtu), 2), 1500);
	tap_device_down(tap_gone, &cfg);
}

Test(virtio_net_tap, existing_tap_mtu_and_configured_mac)
{
	enter_private_netns();
	char name[IFNAMSIZ];
	make_persistent_tap(name, false);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = 9000;
	cr_assert_eq(if_ioctl(SIOCSIFMTU, &ifr), 0, "SIOCSIFMTU: %s", strerror(errno));

	struct net_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.tap, sizeof(cfg.tap), "%s", name);
	memcpy(cfg.mac, test_mac, 6);
	cfg.mac_set = true;
	tap_device_up(&cfg);
	cr_assert_eq(drv_cfg(&t, offsetof(struct virtio_net_config, mtu), 2), 9000);
	for (unsigned i = 0; i < 6; i++)
		cr_assert_eq(drv_cfg(&t, i, 1), test_mac[i]);
	tap_device_down(tap_stays, &cfg);
}

Test(virtio_net_tap, not_a_tap)
{
	enter_private_netns();
	struct net_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.tap, sizeof(cfg.tap), "lo");
	char err[256] = "";
	struct virtio_net *n = virtio_net_create(&cfg, &loop, err, sizeof(err));
	if (!n && strstr(err, "permission"))
		cr_skip_test("%s", err);
	cr_assert_null(n);
	cr_assert(strncmp(err, "lo: exists but is not a single-queue TAP", 40) == 0, "%s", err);
}

Test(virtio_net_tap, permission_denied)
{
	enter_private_netns();
	char name[IFNAMSIZ], err[256];
	make_persistent_tap(name, true); /* root's TAP */
	if (setgid(65534) != 0 || setuid(65534) != 0)
		cr_skip_test("cannot drop privileges: %s", strerror(errno));
	struct net_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.tap, sizeof(cfg.tap), "%s", name);
	cr_assert_eq(event_loop_init(&loop), 0);
	err[0] = '\0';
	cr_assert_null(virtio_net_create(&cfg, &loop, err, sizeof(err)));
	char want[160];
	snprintf(want, sizeof(want),
		 "%s: permission denied (needs CAP_NET_ADMIN or a TAP owned by this user)", name);
	cr_assert_str_eq(err, want, "attaching to root's TAP");
	/* Creating a TAP needs CAP_NET_ADMIN too. */
	snprintf(cfg.tap, sizeof(cfg.tap), "mtestnew");
	cr_assert_null(virtio_net_create(&cfg, &loop, err, sizeof(err)));
	cr_assert_str_eq(
	    err, "mtestnew: permission denied (needs CAP_NET_ADMIN or a TAP owned by this user)");
	event_loop_fini(&loop);
}

Test(virtio_net_tap, missing_dev_net_tun)
{
	/* A mount namespace of this process's own hides /dev/net. */
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("none", "/dev/net", "tmpfs", 0, NULL) != 0)
		cr_skip_test("cannot hide /dev/net in a mount namespace: %s", strerror(errno));
	struct net_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.tap, sizeof(cfg.tap), "tap7");
	char err[256] = "";
	cr_assert_null(virtio_net_create(&cfg, &loop, err, sizeof(err)));
	cr_assert_str_eq(err, "tap7: /dev/net/tun is missing (no TUN/TAP support: modprobe tun?)");
}

/* -- A guest on a real TAP: ARP, then UDP both ways with the host's stack -- */

static uint16_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Sends `len` bytes of frame through the transmitq and waits for it to be used. */
static void guest_send(const uint8_t *frame, size_t len)
{
	gpa_t g = alloc_buf((uint32_t)(HDR + len));
	uint8_t *p = gp(g, HDR + len);
	memset(p, 0, HDR);
	memcpy(p + HDR, frame, len);
	struct drv_seg s = {g, (uint32_t)(HDR + len), false};
	uint16_t before = drv_used_idx(&txq);
	drv_post_chain(&txq, &s, 1);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), (uint16_t)(before + 1));
}

/* Waits (polling the backend, for at most 3 s) for a received frame for which `match`
 * holds; recycles every buffer. Returns the frame's length, 0 on timeout. */
static size_t guest_receive(bool (*match)(const uint8_t *, size_t), uint8_t *out,
			    struct virtio_net_hdr_v1 *hdr)
{
	for (uint64_t end = now_ms() + 3000; now_ms() < end;) {
		poll_backend();
		struct vring_used_elem u;
		while (drv_take_used(&rxq, &u)) {
			gpa_t g = rxq.desc[u.id].addr;
			uint8_t *b = gp(g, 2048);
			bool ok = u.len > HDR && match(b + HDR, u.len - HDR);
			if (ok) {
				memcpy(hdr, b, HDR);
				memcpy(out, b + HDR, u.len - HDR);
			}
			struct drv_seg s = {g, 2048, true};
			drv_post_chain(&rxq, &s, 1);
			drv_kick(&rxq);
			if (ok)
				return u.len - HDR;
		}
		usleep(1000);
	}
	return 0;
}

static const uint8_t guest_ip[4] = {10, 99, 0, 2}, host_ip[4] = {10, 99, 0, 1};

static bool is_arp_request_for_guest(const uint8_t *f, size_t len)
{
	return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 1 &&
	       !memcmp(f + 38, guest_ip, 4);
}

static bool is_udp_to_guest(const uint8_t *f, size_t len)
{
	return len >= 42 && get16(f + 12) == 0x0800 && f[23] == 17 &&
	       !memcmp(f + 30, guest_ip, 4) && get16(f + 36) == 6666;
}

static void host_if_up(const char *name)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, host_ip, 4);
	cr_assert_eq(if_ioctl(SIOCSIFADDR, &ifr), 0, "SIOCSIFADDR: %s", strerror(errno));
	memset(&sin->sin_addr, 0xff, 3);
	memset((uint8_t *)&sin->sin_addr + 3, 0, 1);
	cr_assert_eq(if_ioctl(SIOCSIFNETMASK, &ifr), 0, "SIOCSIFNETMASK: %s", strerror(errno));
	cr_assert_eq(if_ioctl(SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(if_ioctl(SIOCSIFFLAGS, &ifr), 0, "SIOCSIFFLAGS: %s", strerror(errno));
}

static void guest_on_tap(uint64_t features, bool expect_partial_csum)
{
	enter_private_netns();
	struct net_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	tap_name(cfg.tap);
	memcpy(cfg.mac, test_mac, 6);
	cfg.mac_set = true;
	tap_device_up(&cfg);
	host_if_up(cfg.tap);
	bring_up(features);
	for (unsigned i = 0; i < QSIZE; i++)
		post_rx(2048);
	drv_kick(&rxq);

	/* The host talks first: its ARP request reaches the guest. */
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(5555)};
	memcpy(&me.sin_addr, host_ip, 4);
	cr_assert_eq(bind(s, (struct sockaddr *)&me, sizeof(me)), 0, "bind: %s", strerror(errno));
	struct sockaddr_in guest = {.sin_family = AF_INET, .sin_port = htons(6666)};
	memcpy(&guest.sin_addr, guest_ip, 4);
	static const char hello_guest[] = "hello, guest";
	cr_assert_eq(sendto(s, hello_guest, sizeof(hello_guest), 0, (struct sockaddr *)&guest,
			    sizeof(guest)),
		     (ssize_t)sizeof(hello_guest), "sendto: %s", strerror(errno));
	static uint8_t f[2048];
	struct virtio_net_hdr_v1 h;
	size_t n = guest_receive(is_arp_request_for_guest, f, &h);
	cr_assert_gt(n, 0, "the host's ARP request reached the guest");
	uint8_t host_mac[6];
	memcpy(host_mac, f + 6, 6);

	/* The guest answers; the host sends the datagram it held back. */
	uint8_t reply[60];
	memset(reply, 0, sizeof(reply));
	memcpy(reply, host_mac, 6);
	memcpy(reply + 6, test_mac, 6);
	put16(reply + 12, 0x0806);
	put16(reply + 14, 1);
	put16(reply + 16, 0x0800);
	reply[18] = 6;
	reply[19] = 4;
	put16(reply + 20, 2);
	memcpy(reply + 22, test_mac, 6);
	memcpy(reply + 28, guest_ip, 4);
	memcpy(reply + 32, host_mac, 6);
	memcpy(reply + 38, host_ip, 4);
	guest_send(reply, sizeof(reply));
	n = guest_receive(is_udp_to_guest, f, &h);
	cr_assert_gt(n, 0, "the UDP datagram reached the guest");
	cr_assert_eq(get16(f + 38), 8 + sizeof(hello_guest));
	cr_assert_eq(memcmp(f + 42, hello_guest, sizeof(hello_guest)), 0);
	if (expect_partial_csum)
		cr_assert(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM,
			  "GUEST_CSUM: the TAP offloads the checksum (flags 0x%x)", h.flags);
	else
		cr_assert_eq(h.flags, 0, "no GUEST_CSUM: a complete checksum, no flags");
	if (!expect_partial_csum) {
		uint8_t pseudo[12];
		memcpy(pseudo, f + 26, 8);
		pseudo[8] = 0;
		pseudo[9] = 17;
		put16(pseudo + 10, get16(f + 38));
		uint16_t sum = csum_add(csum_add(0, pseudo, 12), f + 34, get16(f + 38));
		cr_assert_eq(sum, 0xffff, "UDP checksum verifies");
	}

	/* The guest sends a datagram back; the host's stack takes it. */
	static const char hello_host[] = "hello, host";
	uint8_t u[14 + 20 + 8 + sizeof(hello_host)];
	memset(u, 0, sizeof(u));
	memcpy(u, host_mac, 6);
	memcpy(u + 6, test_mac, 6);
	put16(u + 12, 0x0800);
	uint8_t *ip = u + 14, *udp = ip + 20;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + sizeof(hello_host)));
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, guest_ip, 4);
	memcpy(ip + 16, host_ip, 4);
	put16(ip + 10, (uint16_t)~csum_add(0, ip, 20));
	put16(udp, 6666);
	put16(udp + 2, 5555);
	put16(udp + 4, (uint16_t)(8 + sizeof(hello_host)));
	memcpy(udp + 8, hello_host, sizeof(hello_host));
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 17;
	put16(pseudo + 10, (uint16_t)(8 + sizeof(hello_host)));
	put16(udp + 6, (uint16_t)~csum_add(csum_add(0, pseudo, 12), udp, 8 + sizeof(hello_host)));
	guest_send(u, sizeof(u));
	char got[64] = "";
	struct pollfd p = {.fd = s, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 2000), 1, "the host received the guest's datagram");
	cr_assert_eq(recv(s, got, sizeof(got), 0), (ssize_t)sizeof(hello_host));
	cr_assert_str_eq(got, hello_host);
	struct virtio_net_stats st = stats();
	cr_assert_geq(st.tx_packets, 2);
	cr_assert_eq(st.tx_dropped, 0);
	close(s);
	tap_device_down(NULL, &cfg);
}

Test(virtio_net_tap, guest_talks_to_host_stack)
{
	guest_on_tap(F_VERSION_1, false);
}

Test(virtio_net_tap, guest_talks_to_host_stack_with_offloads)
{
	guest_on_tap(F_VERSION_1 | F_MRG | F_GCSUM | F_GTSO4 | F(VIRTIO_NET_F_GUEST_TSO6) |
			 F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F_EVENT_IDX,
		     true);
}

/* ---- Rate limits -------------------------------------------------------------------------- */

#define LIMITED_PKTS 20

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Limits direction rx or tx to `on`, the other unlimited; the loop thread
 * runs the timers (and, for rx, reads the backend). Every limit used below
 * comes to 40 packets of 100 bytes per second, with a bucket of 4. */
static void limit_one_direction(bool rx, struct rate_limit_config on)
{
	struct rate_limit_config off = {0};
	cr_assert_eq(virtio_net_set_limits(net, rx ? &on : &off, rx ? &off : &on), 0);
	bring_up(F_VERSION_1);
	cr_assert_eq(event_loop_start(&loop), 0);
}

/* The packets after the bucket's 4 came at 40 a second (+-10%). */
static void expect_rate_40(const char *what, double secs, double waited)
{
	expect_rate(what, LIMITED_PKTS - 4, secs, waited, 40);
}

/* Sends LIMITED_PKTS through a tx direction limited to `on`: all arrive, in
 * order, none dropped, at 40 packets/s once the bucket is spent. */
static void tx_at_the_rate(const char *what, struct rate_limit_config on)
{
	limit_one_direction(false, on);
	for (unsigned i = 0; i < LIMITED_PKTS; i++)
		post_tx(100, (uint8_t)i, 1);
	double t0 = now_s(), w0 = cpu_wait_s();
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 4, "the full bucket sends 4 at once");
	cr_assert(drv_wait_used(&txq, LIMITED_PKTS, 10000), "only %u sent", drv_used_idx(&txq));
	double secs = now_s() - t0, waited = cpu_wait_s() - w0;
	event_loop_stop(&loop);
	for (unsigned i = 0; i < LIMITED_PKTS; i++) {
		uint8_t buf[256];
		cr_assert_eq(host_recv(buf, sizeof(buf)), HDR + 100, "packet %u", i);
		cr_assert(frame_ok(buf + HDR, 100, (uint8_t)i), "packet %u out of order", i);
	}
	cr_assert_eq(stats().tx_dropped, 0);
	expect_rate_40(what, secs, waited);
}

/* The rx twin of tx_at_the_rate(): the host sends, the guest receives. */
static void rx_at_the_rate(const char *what, struct rate_limit_config on)
{
	limit_one_direction(true, on);
	gpa_t g[LIMITED_PKTS];
	for (unsigned i = 0; i < LIMITED_PKTS; i++)
		g[i] = post_rx(256);
	drv_kick(&rxq);
	double t0 = now_s(), w0 = cpu_wait_s();
	for (unsigned i = 0; i < LIMITED_PKTS; i++)
		host_send(100, (uint8_t)i, NULL);
	cr_assert(drv_wait_used(&rxq, LIMITED_PKTS, 10000), "only %u received", drv_used_idx(&rxq));
	double secs = now_s() - t0, waited = cpu_wait_s() - w0;
	event_loop_stop(&loop);
	for (unsigned i = 0; i < LIMITED_PKTS; i++) {
		struct vring_used_elem u = drv_next_used(&rxq);
		cr_assert_eq(u.id, i);
		check_rx_frame(g[i], 100, (uint8_t)i);
	}
	cr_assert_eq(stats().rx_dropped, 0);
	expect_rate_40(what, secs, waited);
}

Test(virtio_net, tx_pps_limit_delays_in_order_at_the_rate)
{
	tx_at_the_rate("tx_pps = 40", (struct rate_limit_config){.ops = 40});
}

Test(virtio_net, rx_pps_limit_delays_in_order_at_the_rate)
{
	rx_at_the_rate("rx_pps = 40", (struct rate_limit_config){.ops = 40});
}

/* Bandwidth counts the frame, not the virtio-net header. */
Test(virtio_net, tx_bandwidth_limit_delays_in_order_at_the_rate)
{
	tx_at_the_rate("tx_bandwidth = 4000", (struct rate_limit_config){.bandwidth = 4000});
}

Test(virtio_net, rx_bandwidth_limit_delays_in_order_at_the_rate)
{
	rx_at_the_rate("rx_bandwidth = 4000", (struct rate_limit_config){.bandwidth = 4000});
}

Test(virtio_net, reset_while_rx_throttled_disarms_and_rereads)
{
	limit_one_direction(true, (struct rate_limit_config){.ops = 40});
	for (unsigned i = 0; i < 8; i++)
		post_rx(256);
	drv_kick(&rxq);
	for (unsigned i = 0; i < 8; i++)
		host_send(100, (uint8_t)i, NULL);
	cr_assert(drv_wait_used(&rxq, 4, 2000));
	drv_wr(&t, VIRTIO_MMIO_STATUS, 0); /* while the 5th waits for its token */
	cr_assert_not(drv_wait_used(&rxq, 5, 200), "nothing delivered after the reset");
	event_loop_stop(&loop);
	cr_assert_eq(stats().watching, 0, "the backend is not watched after the reset");
}

/* ---- A TAP removed under the running device ------------------------------------------------- */

/* Deletes network interface `name` as `ip link del` does (RTM_DELLINK). Returns 0 or -errno. */
static int link_delete(const char *name)
{
	unsigned index = if_nametoindex(name);
	if (!index)
		return -errno;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
	    .h = {.nlmsg_len = sizeof(req),
		  .nlmsg_type = RTM_DELLINK,
		  .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		  .nlmsg_seq = 1},
	    .i = {.ifi_family = AF_UNSPEC, .ifi_index = (int)index},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int r = 0;
	if (sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		r = -errno;
	} else {
		union {
			struct nlmsghdr h;
			char buf[4096];
		} ack;
		ssize_t n = recv(s, &ack, sizeof(ack), 0);
		if (n < 0)
			r = -errno;
		else if ((size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
			 ack.h.nlmsg_type != NLMSG_ERROR)
			r = -EPROTO;
		else
			r = ((struct nlmsgerr *)NLMSG_DATA(&ack.h))->error;
	}
	close(s);
	return r;
}

/* `ip link del` of the TAP while the guest uses it, noticed by the event loop (the fd's EPOLLERR)
 * or by the guest's next transmit (EBADFD): the device says so in one line and asks for a reset
 * (the guest sees NEEDS_RESET); a reset and a new activation are refused in one more line,
 * nothing crashes or waits, and tearing down works without the TAP. */
struct tap_gone_case {
	const char *name;
	bool by_transmit;
};

static const struct tap_gone_case tap_gone_cases[] = {
    {"noticed on the event loop", false},
    {"noticed by a transmit", true},
};

TABLE_TEST(virtio_net_tap, tap_removed_under_the_device, tap_gone_cases, c)
{
	enter_private_netns();
	struct net_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	tap_name(cfg.tap);
	tap_device_up(&cfg);
	host_if_up(cfg.tap);
	bring_up(F_VERSION_1);
	for (unsigned i = 0; i < 8; i++)
		post_rx(2048);
	drv_kick(&rxq);
	cr_assert_not(drv_needs_reset(&t));

	char path[PATH_MAX];
	int saved = stderr_capture_begin(path, sizeof(path));
	int r = link_delete(cfg.tap);
	bool seen = false;
	if (r == 0 && c->by_transmit) {
		gpa_t g = alloc_buf(HDR + 60);
		make_packet(gp(g, HDR + 60), NULL, 60, 1);
		struct drv_seg sg = {g, HDR + 60, false};
		drv_post_chain(&txq, &sg, 1);
		drv_kick(&txq);
		seen = drv_used_idx(&txq) == 0; /* the frame was not sent: the device failed */
	} else if (r == 0) {
		seen = virtio_net_poll_backend(net);
	}
	bool reset_asked = drv_needs_reset(&t);
	poll_backend(); /* whatever else the dead fd reports: said once is enough */
	char *log = stderr_capture_end(saved, path);
	cr_assert_eq(r, 0, "%s: RTM_DELLINK %s: %s", c->name, cfg.tap, strerror(-r));
	cr_assert_eq(if_nametoindex(cfg.tap), 0, "the TAP is gone");
	cr_assert(seen, "%s: the device must notice that its TAP went away", c->name);
	cr_assert(reset_asked, "the guest must see NEEDS_RESET");
	cr_expect_eq(count_lines(log), 1, "%s: one line: '%s'", c->name, log);
	cr_expect(strstr(log, cfg.tap) && strstr(log, "the TAP device is gone") &&
		      strstr(log, "device needs reset"),
		  "%s: '%s'", c->name, log);
	free(log);
	cr_assert_eq(stats().watching, 0, "no longer watched: no busy loop on the dead fd");
	cr_assert_not(virtio_net_poll_backend(net));

	/* The guest resets the device and drives it again: refused the same way, no crash. */
	drv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	cr_assert_not(drv_needs_reset(&t));
	saved = stderr_capture_begin(path, sizeof(path));
	drv_features_ok(&t, F_VERSION_1);
	drv_ring_at(&rxq, &t, 0, QSIZE, ring_base(0));
	drv_ring_at(&txq, &t, 1, QSIZE, ring_base(1));
	drv_driver_ok(&t);
	poll_backend();
	log = stderr_capture_end(saved, path);
	cr_assert(drv_needs_reset(&t), "still no TAP after the reset");
	cr_assert_not(virtio_mmio_active(&t));
	cr_expect(count_lines(log) == 1 && strstr(log, "activation failed: No such device"),
		  "one line, the TAP's loss having been said already: '%s'", log);
	free(log);
	tap_device_down(tap_gone, &cfg);
}
