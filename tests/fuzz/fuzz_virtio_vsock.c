/* fuzz_virtio_vsock.c - libFuzzer harness: virtio-vsock between a guest (registers, RAM,
 * and packets the harness posts on its queues) and host programs on real Unix sockets
 * (connecting to the device's socket, listening on "<uds>_P", writing, reading, closing).
 *
 * Determinism: the harness is the event loop's thread (event_loop_enter) and dispatches only
 * what is ready when it polls (event_loop_poll), never waiting; Unix sockets deliver at
 * once; the device's clock is the harness's (--wrap=monotonic_ms, far beyond the real one,
 * so its timerfd never fires on its own) and the REQUEST/CLOSING timeouts run when an
 * operation moves that clock on.
 *
 * Input: a u16 count of RAM bytes copied to guest physical 0 and those bytes, then
 * operations, a u8 each: its value modulo 16 the kind; bit 4 picks 1-byte accesses; bit 7
 * set skips the poll that follows every other operation (dispatch until nothing is ready):
 *   0-1 register write: u16 offset, u32 value     2 register read: u16 offset
 *   3 RAM write: u32 gpa, u8 n, n bytes            4 kick: u8 queue (mod 3)
 *   5 bring-up: u8 what (SETUP_*), then for rx, tx and event queue: u8 log2 size, u16 desc,
 *     u16 avail, u16 used
 *   6 guest packet on the tx queue (see guest_packet()), 7 rx buffers, 8 event buffers:
 *     u8 count, u16 length each
 *   9 host connects to the device: u8 kind (CONNECT to a guest port, a line from the input,
 *     nothing), 10 host writes: u8 socket, u16 length, 11 host reads: u8 socket,
 *   12 host closes or shuts down: u8 socket, u8 how, 13 host accepts guest connections,
 *   14 time passes: u16 ms, then the device's timer callback, 15 device reset (Status 0)
 * Checks beyond the sanitizers: the transport's invariants; per queue, the chains held never
 * more than its size, nothing pushed or sent in NEEDS_RESET, tx used lengths 0, the event
 * queue never used; every rx packet whole (a header, then at most VSOCK_MAX_RW bytes of RW
 * data), to the guest's cid, a stream packet with a known op, len matching; RW bytes to the
 * guest no more than the host wrote; connection and orphan counts within their limits;
 * each connection's buffered guest bytes what its counters say and within our buf_alloc;
 * after destroy no fd leaked, every host socket at EOF and the socket file gone. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_vsock.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "event_loop.h"
#include "push_log.h"
#include "virtio_fuzz.h"
#include "virtio_vsock.h"
#include "virtio_vsock_internal.h"

#define RAM_SIZE    (1u << 20)
#define GUEST_CID   3u
#define TX_BUF	    0x80000u /* 32 tx packet slots of 4 KiB */
#define RX_BUF	    0xa0000u /* 32 rx buffer slots of 4 KiB */
#define EV_BUF	    0xc0000u /* 32 event buffers of 16 bytes */
#define SLOT	    0x1000u
#define SLOTS	    32u
#define MAX_HOST    16u /* host sockets the harness keeps */
#define HOST_PORTS  2u	/* "<uds>_1" and "<uds>_2" listen; other ports do not */
#define GUEST_PORTS 4u	/* guest ports 1000..1003 */

static struct guest_mem mem;
static char dir[64], uds[96];
static uint8_t scratch[1u << 16];
static uint64_t fake_now;

/* The device's clock (timing.h): the harness's, far ahead of CLOCK_MONOTONIC. */
uint64_t __wrap_monotonic_ms(void);
uint64_t __wrap_monotonic_ms(void)
{
	return fake_now;
}

static void remove_dir(void)
{
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	guest_mem_layout(&mem, RAM_SIZE);
	mem.host = aligned_alloc(4096, RAM_SIZE);
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/fuzz-vsock-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mem.host || !mkdtemp(dir))
		abort();
	atexit(remove_dir);
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	return 0;
}

/* One run: the device, its transport and loop, and the host's sockets. */
struct vsock_run {
	struct event_loop loop;
	struct virtio_mmio t;
	struct virtio_vsock *vs;
	int listeners[HOST_PORTS];
	int host[MAX_HOST];
	unsigned n_host;
	uint64_t host_written; /* bytes host programs wrote after their command */
	uint64_t rw_to_guest;  /* RW payload bytes seen in rx buffers */
};

/* ---- The guest's side --------------------------------------------------------------- */

static void bring_up(struct virtio_mmio *t, struct fuzz_input *in)
{
	uint8_t what = fuzz_u8(in);
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1;
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
	for (uint32_t q = 0; q < 3; q++) {
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

/* Makes the next avail entry of queue q a chain of `n` descriptors, as a driver would: the
 * descriptors at the ring slot and the n - 1 after it (modulo the size). Returns the
 * slot, or -1 when the queue is not ready. */
static int post(struct vsock_run *r, unsigned q, const struct vring_desc *d, unsigned n)
{
	struct virtq *vq = &r->t.queues[q].vq;
	if (!vq->ready)
		return -1;
	uint16_t idx = le16toh(vq->avail->idx);
	unsigned slot = idx & (vq->size - 1);
	for (unsigned i = 0; i < n; i++) {
		unsigned at = (slot + i) & (vq->size - 1);
		vq->desc[at] = d[i];
		if (i + 1 < n) {
			vq->desc[at].flags |= htole16(VRING_DESC_F_NEXT);
			vq->desc[at].next = htole16((uint16_t)((at + 1) & (vq->size - 1)));
		}
	}
	vq->avail->ring[slot] = htole16((uint16_t)slot);
	vq->avail->idx = htole16((uint16_t)(idx + 1));
	return (int)slot;
}

/* A guest port, a host port (a listening one, one that does not listen, or one the device
 * gave a host connection), from a byte of the input. */
static uint32_t guest_port(uint8_t v)
{
	return 1000 + v % GUEST_PORTS;
}

static uint32_t host_port(uint8_t v)
{
	return v & 0x80 ? VSOCK_FIRST_PORT + (v & 7) : v % (HOST_PORTS + 2);
}

/* Operation 6: u8 op, u8 variant, u8 src port, u8 dst port, u32 buf_alloc, u32 fwd_cnt,
 * u32 flags, u16 payload length, u8 payload seed. Variant bits: 0 header split over two
 * descriptors, 1 len field 1 + the payload's, 2 wrong type, 3 wrong src_cid, 4 dst_cid
 * not the host's, 5 raw u32 ports follow, 6 payload in a third descriptor. Then kicks. */
static void guest_packet(struct vsock_run *r, struct fuzz_input *in)
{
	uint16_t op = fuzz_u8(in) % 9;
	uint8_t v = fuzz_u8(in);
	uint32_t src = guest_port(fuzz_u8(in)), dst = host_port(fuzz_u8(in));
	uint32_t buf_alloc = fuzz_u32(in), fwd_cnt = fuzz_u32(in), flags = fuzz_u32(in);
	uint32_t len = fuzz_u16(in) % (SLOT - HDR_SIZE);
	uint8_t seed = fuzz_u8(in);
	if (v & 0x20) {
		src = fuzz_u32(in);
		dst = fuzz_u32(in);
	}
	struct virtq *vq = &r->t.queues[VSOCK_TX_QUEUE].vq;
	if (!vq->ready)
		return;
	unsigned slot = le16toh(vq->avail->idx) % SLOTS;
	uint64_t gpa = TX_BUF + slot * SLOT;
	struct virtio_vsock_hdr h = {
	    .src_cid = htole64(v & 0x08 ? 7 : GUEST_CID),
	    .dst_cid = htole64(v & 0x10 ? 9 : VSOCK_HOST_CID),
	    .src_port = htole32(src),
	    .dst_port = htole32(dst),
	    .len = htole32(len + (v & 0x02 ? 1 : 0)),
	    .type = htole16(v & 0x04 ? 2 : VIRTIO_VSOCK_TYPE_STREAM),
	    .op = htole16(op),
	    .flags = htole32(flags),
	    .buf_alloc = htole32(buf_alloc),
	    .fwd_cnt = htole32(fwd_cnt),
	};
	uint8_t *p = mem.host + gpa;
	memcpy(p, &h, HDR_SIZE);
	for (uint32_t i = 0; i < len; i++)
		p[HDR_SIZE + i] = (uint8_t)(seed + i);
	struct vring_desc d[3];
	unsigned n = 0;
	uint32_t first = v & 0x01 ? 10 : (v & 0x40 ? (uint32_t)HDR_SIZE : HDR_SIZE + len);
	d[n++] = (struct vring_desc){htole64(gpa), htole32(first), 0, 0};
	if (first < HDR_SIZE + len)
		d[n++] = (struct vring_desc){htole64(gpa + first), htole32(HDR_SIZE + len - first),
					     0, 0};
	post(r, VSOCK_TX_QUEUE, d, n);
	wr32(&r->t, VIRTIO_MMIO_QUEUE_NOTIFY, VSOCK_TX_QUEUE);
}

/* Operations 7 and 8: `count` device-writable buffers of `len` bytes, then a kick. */
static void guest_buffers(struct vsock_run *r, struct fuzz_input *in, unsigned q)
{
	unsigned count = fuzz_u8(in) % 65;
	uint32_t len = fuzz_u16(in) % (q == VSOCK_RX_QUEUE ? SLOT + 1 : 17);
	for (unsigned i = 0; i < count; i++) {
		struct virtq *vq = &r->t.queues[q].vq;
		if (!vq->ready)
			return;
		unsigned slot = le16toh(vq->avail->idx) % SLOTS;
		uint64_t gpa = q == VSOCK_RX_QUEUE ? RX_BUF + slot * SLOT : EV_BUF + slot * 16;
		struct vring_desc d = {htole64(gpa), htole32(len), htole16(VRING_DESC_F_WRITE), 0};
		post(r, q, &d, 1);
	}
	wr32(&r->t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* ---- The host's side ---------------------------------------------------------------- */

static void host_keep(struct vsock_run *r, int fd)
{
	if (r->n_host < MAX_HOST)
		r->host[r->n_host++] = fd;
	else
		close(fd);
}

static void host_connect(struct vsock_run *r, struct fuzz_input *in)
{
	uint8_t kind = fuzz_u8(in);
	char line[64];
	size_t n = 0;
	if (kind % 3 == 0) {
		n = (size_t)snprintf(line, sizeof(line), "CONNECT %u\n", guest_port(kind / 3));
	} else if (kind % 3 == 1) {
		const uint8_t *b = fuzz_take(in, fuzz_u8(in) % sizeof(line), &n);
		memcpy(line, b, n);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd); /* backlog full: the host program gives up */
		return;
	}
	/* What follows the command line reaches the guest: count it all. */
	if (n && send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
		r->host_written += n;
	host_keep(r, fd);
}

static int *host_pick(struct vsock_run *r, struct fuzz_input *in)
{
	uint8_t i = fuzz_u8(in);
	return r->n_host ? &r->host[i % r->n_host] : NULL;
}

static void host_write(struct vsock_run *r, struct fuzz_input *in)
{
	int *fd = host_pick(r, in);
	uint32_t len = fuzz_u16(in);
	uint8_t seed = fuzz_u8(in);
	if (!fd)
		return;
	for (uint32_t i = 0; i < len; i++)
		scratch[i] = (uint8_t)(seed + i);
	ssize_t n = send(*fd, scratch, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0)
		r->host_written += (uint64_t)n;
}

static void host_read(struct vsock_run *r, struct fuzz_input *in)
{
	int *fd = host_pick(r, in);
	while (fd && recv(*fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
}

static void host_close(struct vsock_run *r, struct fuzz_input *in)
{
	int *fd = host_pick(r, in);
	uint8_t how = fuzz_u8(in) % 3;
	if (!fd)
		return;
	if (how == 2) {
		close(*fd);
		*fd = r->host[--r->n_host];
	} else {
		(void)shutdown(*fd, how == 0 ? SHUT_WR : SHUT_RD);
	}
}

static void host_accept(struct vsock_run *r)
{
	for (unsigned p = 0; p < HOST_PORTS; p++) {
		int fd;
		while ((fd = accept4(r->listeners[p], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
		       0)
			host_keep(r, fd);
	}
}

/* ---- Checks ------------------------------------------------------------------------- */

/* The packets the device pushed in this step (push_log): on rx whole and addressed to the
 * guest (its header as the buffer held it at the push, when push_log could see it), on tx
 * of length 0. */
static void check_pushes(struct vsock_run *r)
{
	const struct virtq *rx = &r->t.queues[VSOCK_RX_QUEUE].vq;
	const struct virtq *tx = &r->t.queues[VSOCK_TX_QUEUE].vq;
	for (unsigned i = 0; i < push_log.n; i++) {
		const struct push_entry *e = &push_log.e[i];
		FUZZ_CHECK(e->vq == rx || e->vq == tx, "a push on the event queue");
		FUZZ_CHECK(e->head < e->vq->size, "used id %u, queue of %u", e->head, e->vq->size);
		if (e->vq == tx) {
			FUZZ_CHECK(e->len == 0, "tx: used length %u", e->len);
			continue;
		}
		FUZZ_CHECK(e->len >= HDR_SIZE && e->len <= HDR_SIZE + VSOCK_MAX_RW,
			   "rx: used length %u", e->len);
		if (e->seen < HDR_SIZE)
			continue;
		struct virtio_vsock_hdr h;
		memcpy(&h, e->bytes, HDR_SIZE);
		uint16_t op = le16toh(h.op);
		FUZZ_CHECK(le64toh(h.dst_cid) == GUEST_CID && le16toh(h.type) == 1 &&
			       op >= VIRTIO_VSOCK_OP_REQUEST &&
			       op <= VIRTIO_VSOCK_OP_CREDIT_REQUEST,
			   "rx: packet op %u type %u to cid %llu", op, le16toh(h.type),
			   (unsigned long long)le64toh(h.dst_cid));
		if (op == VIRTIO_VSOCK_OP_RW) {
			FUZZ_CHECK(le32toh(h.len) == e->len - HDR_SIZE && h.len,
				   "rx: RW of len %u in %u bytes", le32toh(h.len), e->len);
			r->rw_to_guest += le32toh(h.len);
		} else {
			FUZZ_CHECK(h.len == 0 && e->len == HDR_SIZE,
				   "rx: op %u, len %u in %u bytes", op, le32toh(h.len), e->len);
		}
		if (op != VIRTIO_VSOCK_OP_RST)
			FUZZ_CHECK(le64toh(h.src_cid) == VSOCK_HOST_CID, "rx: op %u from cid %llu",
				   op, (unsigned long long)le64toh(h.src_cid));
	}
	FUZZ_CHECK(r->rw_to_guest <= r->host_written, "%llu RW bytes to the guest, host wrote %llu",
		   (unsigned long long)r->rw_to_guest, (unsigned long long)r->host_written);
}

static void check_device(struct vsock_run *r)
{
	const struct virtio_vsock *vs = r->vs;
	unsigned n = 0;
	for (const struct vsock_conn *c = vs->conns; c; c = c->next, n++) {
		FUZZ_CHECK(c->out_len == c->rx_cnt - c->fwd_cnt &&
			       c->out_len <= VSOCK_CONN_BUF_ALLOC,
			   "connection %u->%u: %u bytes buffered, rx_cnt %u, fwd_cnt %u",
			   c->guest_port, c->host_port, c->out_len, c->rx_cnt, c->fwd_cnt);
		FUZZ_CHECK(n < VSOCK_MAX_CONNS + 1, "more than %u connections", VSOCK_MAX_CONNS);
	}
	FUZZ_CHECK(n == vs->n_conns && n <= VSOCK_MAX_CONNS, "%u connections listed, n_conns %u", n,
		   vs->n_conns);
	FUZZ_CHECK(vs->n_orphans <= VSOCK_MAX_ORPHANS, "%u RSTs queued", vs->n_orphans);
	FUZZ_CHECK(r->t.queues[VSOCK_EVENT_QUEUE].vq.used_idx == 0, "the event queue was used");
	for (unsigned q = 0; q < 3; q++) {
		const struct virtq *vq = &r->t.queues[q].vq;
		FUZZ_CHECK(!vq->ready || (uint16_t)(vq->last_avail_idx - vq->used_idx) <= vq->size,
			   "queue %u: %u chains held, queue of %u", q,
			   (uint16_t)(vq->last_avail_idx - vq->used_idx), vq->size);
	}
}

/* ---- One input ---------------------------------------------------------------------- */

/* What a step may have done to the rings (as in fuzz_virtio_net.c). */
enum rings { RINGS_KEPT, RINGS_NEW, RINGS_UNKNOWN };

static bool overlaps(uint64_t off, unsigned len, uint64_t reg)
{
	return off < reg + 4 && reg < off + len;
}

static enum rings step(struct vsock_run *r, struct fuzz_input *in, uint8_t op)
{
	unsigned len = op & 0x10 ? 1 : 4;
	uint8_t buf[4];
	switch (op & 15) {
	case 0:
	case 1: {
		uint64_t off = clamp_offset(fuzz_u16(in), len);
		uint32_t v = fuzz_u32(in);
		memcpy(buf, &v, 4);
		virtio_mmio_ops.write(&r->t, off, buf, len);
		return overlaps(off, len, VIRTIO_MMIO_STATUS) ||
			       overlaps(off, len, VIRTIO_MMIO_QUEUE_READY)
			   ? RINGS_UNKNOWN
			   : RINGS_KEPT;
	}
	case 2: {
		uint64_t off = clamp_offset(fuzz_u16(in), len);
		memset(buf, 0x5a, sizeof(buf));
		virtio_mmio_ops.read(&r->t, off, buf, len);
		check_read(&r->t, off, len, buf);
		break;
	}
	case 3: {
		uint32_t gpa = fuzz_u32(in) % RAM_SIZE;
		size_t n;
		const uint8_t *bytes = fuzz_take(in, fuzz_u8(in), &n);
		if (n > RAM_SIZE - gpa)
			n = RAM_SIZE - gpa;
		memcpy(mem.host + gpa, bytes, n);
		break;
	}
	case 4:
		wr32(&r->t, VIRTIO_MMIO_QUEUE_NOTIFY, fuzz_u8(in) % 3);
		break;
	case 5:
		bring_up(&r->t, in);
		return RINGS_NEW;
	case 6:
		guest_packet(r, in);
		break;
	case 7:
		guest_buffers(r, in, VSOCK_RX_QUEUE);
		break;
	case 8:
		guest_buffers(r, in, VSOCK_EVENT_QUEUE);
		break;
	case 9:
		host_connect(r, in);
		break;
	case 10:
		host_write(r, in);
		break;
	case 11:
		host_read(r, in);
		break;
	case 12:
		host_close(r, in);
		break;
	case 13:
		host_accept(r);
		break;
	case 14:
		fake_now += fuzz_u16(in);
		vsock_on_timer(r->vs, EPOLLIN);
		break;
	case 15:
		wr32(&r->t, VIRTIO_MMIO_STATUS, 0);
		return RINGS_UNKNOWN;
	}
	return RINGS_KEPT;
}

static void listen_port(struct vsock_run *r, unsigned i)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", uds, i + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0)
		abort();
	r->listeners[i] = fd;
}

/* After the device is gone every host socket reads to its end: EOF or a reset. */
static void check_host_eof(struct vsock_run *r)
{
	for (unsigned i = 0; i < r->n_host; i++) {
		ssize_t n;
		while ((n = recv(r->host[i], scratch, sizeof(scratch), MSG_DONTWAIT)) > 0)
			;
		FUZZ_CHECK(n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK),
			   "host socket %u still open after the device was destroyed", i);
		close(r->host[i]);
	}
	for (unsigned p = 0; p < HOST_PORTS; p++) {
		char path[128];
		close(r->listeners[p]);
		snprintf(path, sizeof(path), "%s_%u", uds, p + 1);
		unlink(path);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	int fd_baseline = lowest_free_fd();
	size_t got;
	const uint8_t *contents = fuzz_take(&in, fuzz_u16(&in), &got);
	memset(mem.host, 0, RAM_SIZE);
	memcpy(mem.host, contents, got);
	fake_now = 1ULL << 40;

	static struct vsock_run r;
	memset(&r, 0, sizeof(r));
	char err[256];
	if (event_loop_init(&r.loop) < 0 || event_loop_enter(&r.loop) < 0)
		abort();
	for (unsigned p = 0; p < HOST_PORTS; p++)
		listen_port(&r, p);
	r.vs = virtio_vsock_create(GUEST_CID, uds, &r.loop, err, sizeof(err));
	FUZZ_CHECK(r.vs, "virtio_vsock_create: %s", err);
	FUZZ_CHECK(virtio_mmio_create(&r.t, &virtio_vsock_ops, r.vs, &mem, -1, &r.loop, NULL, 0) ==
		       0,
		   "vsock transport");

	for (unsigned steps = 0; fuzz_more(&in) && steps < 1024; steps++) {
		uint16_t used_before[3];
		for (unsigned q = 0; q < 3; q++)
			used_before[q] = r.t.queues[q].vq.used_idx;
		bool failed_before = r.t.status & VIRTIO_CONFIG_S_NEEDS_RESET;
		uint8_t op = fuzz_u8(&in);
		push_log_clear();
		enum rings rings = step(&r, &in, op);
		for (int i = 0; !(op & 0x80) && i < 64 && event_loop_poll(&r.loop) > 0; i++)
			;
		check_transport(&r.t, &mem, "vsock");
		check_device(&r);
		check_pushes(&r);
		if (rings == RINGS_UNKNOWN)
			continue;
		if (rings == RINGS_KEPT && failed_before &&
		    (r.t.status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
			for (unsigned q = 0; q < 3; q++)
				FUZZ_CHECK(r.t.queues[q].vq.used_idx == used_before[q],
					   "queue %u: used buffers pushed in NEEDS_RESET", q);
		}
	}
	if (getenv("MINNOW_FUZZ_LOG"))
		fprintf(
		    stderr, "vsock: status 0x%x, %u connections, %u RSTs queued, %llu RW bytes\n",
		    r.t.status, r.vs->n_conns, r.vs->n_orphans, (unsigned long long)r.rw_to_guest);
	virtio_vsock_destroy(r.vs);
	virtio_mmio_destroy(&r.t);
	event_loop_leave(&r.loop);
	event_loop_fini(&r.loop);
	struct stat st;
	FUZZ_CHECK(lstat(uds, &st) != 0 && errno == ENOENT, "%s left behind", uds);
	check_host_eof(&r);
	FUZZ_CHECK(lowest_free_fd() == fd_baseline, "a file descriptor leaked");
	return 0;
}
