/* fuzz_virtio_net.c - libFuzzer harness: virtio-mmio registers driving virtio-net, its
 * transmitq written to and its receiveq filled from a SOCK_SEQPACKET socketpair standing in
 * for the TAP.
 *
 * No KVM and no loop thread: kicks run the device at once (the transport has no loop) and
 * the backend callback runs only when an operation asks for it (virtio_net_poll_backend(),
 * which polls without waiting), so each input replays the same way.
 *
 * Input: a u16 count of RAM bytes copied to guest physical 0 and those bytes, then
 * operations, a u8 each (its value modulo 10 the kind, bits 4-5 the access size):
 *   0-2 register write: u16 offset, u32 value        3 register read: u16 offset
 *   4 RAM write: u32 gpa, u8 n, n bytes               5 kick: u8 queue (mod 3)
 *   6 bring-up: u8 what (SETUP_*), u32 mask of the device features to accept, then for
 *     receiveq and transmitq: u8 log2 size, u16 desc, u16 avail, u16 used
 *   7 host packet: u32 length (mod 65600; below the header, over the largest frame, all
 *     allowed), a 12-byte header, the frame's bytes a counter from a u8 seed
 *   8 run the backend callback until it has nothing to do
 *   9 the host reads every packet the device sent
 * Checks beyond the sanitizers: the transport's invariants; per queue, the chains the
 * device holds never more than the queue size and each used element it pushes names a
 * descriptor of the queue, with length 0 on transmitq and at most one whole packet on
 * receiveq; receive counters bounded by what the host sent; every packet the host reads
 * whole (header + at most the largest frame) and counted by tx_packets; nothing pushed or
 * sent while the device is in NEEDS_RESET; no fd leaked. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event_loop.h"
#include "push_log.h"
#include "virtio_fuzz.h"
#include "virtio_net.h"
#include "virtio_net_priv.h"

#define RAM_SIZE   (1u << 20)
#define MAX_PACKET (VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)

static struct guest_mem mem;
static struct event_loop loop; /* never run: the harness polls the backend itself */
static uint8_t *packet;	       /* host packets, both ways */
static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	guest_mem_layout(&mem, RAM_SIZE);
	mem.host = aligned_alloc(4096, RAM_SIZE);
	packet = malloc(MAX_PACKET + 64);
	if (!mem.host || !packet || event_loop_init(&loop) < 0)
		abort();
	return 0;
}

/* What the harness knows of one run. */
struct net_run {
	struct virtio_mmio t;
	struct virtio_net *net;
	int peer;			   /* the host's end of the socketpair */
	uint64_t host_packets, host_bytes; /* sent towards the guest (with headers) */
	uint64_t read_packets;		   /* packets the device sent, read by the host */
};

/* The driver's bring-up of both queues with a chosen subset of the device's features. */
static void bring_up(struct virtio_mmio *t, struct fuzz_input *in)
{
	uint8_t what = fuzz_u8(in);
	uint32_t mask = fuzz_u32(in);
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) | (t->ops->features & mask);
	if (what & SETUP_EVENT_IDX)
		want |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (what & SETUP_INDIRECT)
		want |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	wr32(t, VIRTIO_MMIO_STATUS, 0);
	wr32(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr32(t, VIRTIO_MMIO_STATUS, s);
	wr32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	wr32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	wr32(t, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	for (uint32_t q = 0; q < 2; q++) {
		wr32(t, VIRTIO_MMIO_QUEUE_SEL, q);
		wr32(t, VIRTIO_MMIO_QUEUE_NUM, 1u << (fuzz_u8(in) % 9));
		wr32(t, VIRTIO_MMIO_QUEUE_DESC_LOW, fuzz_u16(in));
		wr32(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		wr32(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, fuzz_u16(in));
		wr32(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		wr32(t, VIRTIO_MMIO_QUEUE_USED_LOW, fuzz_u16(in));
		wr32(t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		wr32(t, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	if (!(what & SETUP_NO_DRIVEROK))
		wr32(t, VIRTIO_MMIO_STATUS,
		     s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* The host sends one packet: `len` bytes, the first 12 (or fewer) the header. */
static void host_send(struct net_run *r, struct fuzz_input *in)
{
	uint32_t len = fuzz_u32(in) % (MAX_PACKET + 50);
	uint8_t hdr[VIRTIO_NET_HDR_LEN];
	for (unsigned i = 0; i < sizeof(hdr); i++)
		hdr[i] = fuzz_u8(in);
	uint8_t seed = fuzz_u8(in);
	for (uint32_t i = 0; i < len; i++)
		packet[i] = i < sizeof(hdr) ? hdr[i] : (uint8_t)(seed + i);
	/* A full socket buffer (EAGAIN) just loses the packet, as a TAP would. */
	if (send(r->peer, packet, len, MSG_DONTWAIT) == (ssize_t)len) {
		r->host_packets++;
		r->host_bytes += len;
	}
}

/* The host reads what the device sent: each one packet, whole. */
static void host_drain(struct net_run *r)
{
	for (;;) {
		ssize_t n = recv(r->peer, packet, MAX_PACKET + 64, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			FUZZ_CHECK(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s",
				   strerror(errno));
			return;
		}
		FUZZ_CHECK(n >= VIRTIO_NET_HDR_LEN && n <= MAX_PACKET,
			   "the device sent a packet of %zd bytes", n);
		r->read_packets++;
	}
}

/* Per queue, the chains the device holds; with `known`, the pushes since `before` (its used
 * index then) as push_log recorded them. */
static void check_queue(struct net_run *r, unsigned q, uint16_t before, bool known)
{
	const struct virtq *vq = &r->t.queues[q].vq;
	if (!vq->ready)
		return;
	FUZZ_CHECK((uint16_t)(vq->last_avail_idx - vq->used_idx) <= vq->size,
		   "queue %u: %u chains held, queue of %u", q,
		   (uint16_t)(vq->last_avail_idx - vq->used_idx), vq->size);
	if (!known)
		return;
	uint16_t pushed = (uint16_t)(vq->used_idx - before);
	FUZZ_CHECK(pushed <= vq->size, "queue %u: %u chains pushed at once", q, pushed);
	for (unsigned i = 0; i < push_log.n; i++) {
		const struct push_entry *e = &push_log.e[i];
		if (e->vq != vq)
			continue;
		FUZZ_CHECK(e->head < vq->size, "queue %u: used id %u, queue of %u", q, e->head,
			   vq->size);
		if (q == 1)
			FUZZ_CHECK(e->len == 0, "transmitq: used length %u", e->len);
		else
			FUZZ_CHECK(e->len <= MAX_PACKET && e->len <= r->host_bytes,
				   "receiveq: used length %u, host sent %llu bytes", e->len,
				   (unsigned long long)r->host_bytes);
	}
}

static const unsigned sizes[] = {4, 1, 2, 8};

/* What a step may have done to the rings: used indices carry on, start again from 0 (a
 * bring-up), or either (a register write that may reset the device or a queue). */
enum rings { RINGS_KEPT, RINGS_NEW, RINGS_UNKNOWN };

static bool overlaps(uint64_t off, unsigned len, uint64_t reg)
{
	return off < reg + 4 && reg < off + len;
}

/* One operation of the input. */
static enum rings step(struct net_run *r, struct fuzz_input *in)
{
	uint8_t op = fuzz_u8(in);
	unsigned len = sizes[(op >> 4) & 3];
	uint8_t buf[8];
	switch (op % 10) {
	case 0:
	case 1:
	case 2: {
		uint64_t off = clamp_offset(fuzz_u16(in), len);
		uint32_t v = fuzz_u32(in);
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &v, len < 4 ? len : 4);
		virtio_mmio_ops.write(&r->t, off, buf, len);
		if (overlaps(off, len, VIRTIO_MMIO_STATUS) ||
		    overlaps(off, len, VIRTIO_MMIO_QUEUE_READY))
			return RINGS_UNKNOWN;
		break;
	}
	case 3: {
		uint64_t off = clamp_offset(fuzz_u16(in), len);
		memset(buf, 0x5a, sizeof(buf));
		virtio_mmio_ops.read(&r->t, off, buf, len);
		check_read(&r->t, off, len, buf);
		break;
	}
	case 4: {
		uint32_t gpa = fuzz_u32(in) % RAM_SIZE;
		size_t n;
		const uint8_t *bytes = fuzz_take(in, fuzz_u8(in), &n);
		if (n > RAM_SIZE - gpa)
			n = RAM_SIZE - gpa;
		memcpy(mem.host + gpa, bytes, n);
		break;
	}
	case 5:
		wr32(&r->t, VIRTIO_MMIO_QUEUE_NOTIFY, fuzz_u8(in) % 3);
		break;
	case 6:
		bring_up(&r->t, in);
		return RINGS_NEW;
	case 7:
		host_send(r, in);
		break;
	case 8:
		for (int i = 0; i < 64 && virtio_net_poll_backend(r->net); i++)
			;
		break;
	case 9:
		host_drain(r);
		break;
	}
	return RINGS_KEPT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	int fd_baseline = lowest_free_fd();
	size_t got;
	const uint8_t *contents = fuzz_take(&in, fuzz_u16(&in), &got);
	memset(mem.host, 0, RAM_SIZE);
	memcpy(mem.host, contents, got);

	struct net_run r = {.peer = -1};
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* A small send buffer on the device's end: the transmit path meets EAGAIN. */
	int sndbuf = 1 << 16;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	r.peer = sv[1];
	r.net = virtio_net_create_fd(sv[0], mac, 1500, &loop);
	FUZZ_CHECK(r.net, "virtio_net_create_fd");
	FUZZ_CHECK(virtio_mmio_create(&r.t, &virtio_net_ops, r.net, &mem, -1, NULL, NULL, 0) == 0,
		   "net transport");

	for (unsigned steps = 0; fuzz_more(&in) && steps < 1024; steps++) {
		uint16_t used_before[2] = {r.t.queues[0].vq.used_idx, r.t.queues[1].vq.used_idx};
		bool failed_before = r.t.status & VIRTIO_CONFIG_S_NEEDS_RESET;
		struct virtio_net_stats before, after;
		virtio_net_stats(r.net, &before);
		push_log_clear();
		enum rings rings = step(&r, &in);
		virtio_net_stats(r.net, &after);
		check_transport(&r.t, &mem, "net");
		for (unsigned q = 0; q < 2; q++)
			check_queue(&r, q, rings == RINGS_NEW ? 0 : used_before[q],
				    rings != RINGS_UNKNOWN);
		if (rings == RINGS_KEPT && failed_before &&
		    (r.t.status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
			FUZZ_CHECK(r.t.queues[0].vq.used_idx == used_before[0] &&
				       r.t.queues[1].vq.used_idx == used_before[1],
				   "used buffers pushed in NEEDS_RESET");
			FUZZ_CHECK(after.tx_packets == before.tx_packets &&
				       after.rx_packets == before.rx_packets,
				   "packets moved in NEEDS_RESET");
		}
		FUZZ_CHECK(after.rx_packets + after.rx_dropped <= r.host_packets &&
			       after.rx_bytes <= r.host_bytes,
			   "received %llu (+%llu dropped) packets, %llu bytes; the host sent %llu, "
			   "%llu bytes",
			   (unsigned long long)after.rx_packets,
			   (unsigned long long)after.rx_dropped, (unsigned long long)after.rx_bytes,
			   (unsigned long long)r.host_packets, (unsigned long long)r.host_bytes);
		FUZZ_CHECK(
		    r.read_packets <= after.tx_packets, "the host read %llu packets, %llu sent",
		    (unsigned long long)r.read_packets, (unsigned long long)after.tx_packets);
	}
	host_drain(&r);
	struct virtio_net_stats end;
	virtio_net_stats(r.net, &end);
	FUZZ_CHECK(r.read_packets == end.tx_packets, "the host read %llu packets, %llu sent",
		   (unsigned long long)r.read_packets, (unsigned long long)end.tx_packets);
	if (getenv("MINNOW_FUZZ_LOG"))
		fprintf(stderr,
			"net: status 0x%x, rx %llu (%llu dropped), tx %llu (%llu dropped)\n",
			r.t.status, (unsigned long long)end.rx_packets,
			(unsigned long long)end.rx_dropped, (unsigned long long)end.tx_packets,
			(unsigned long long)end.tx_dropped);
	virtio_net_destroy(r.net);
	virtio_mmio_destroy(&r.t);
	close(r.peer);
	FUZZ_CHECK(lowest_free_fd() == fd_baseline, "a file descriptor leaked");
	return 0;
}
