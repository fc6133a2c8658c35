/* test_virtio_vsock.c - virtio-vsock through the virtio-mmio transport (no
 * KVM), fake guest RAM, a real event loop and real Unix sockets in a temp
 * dir; the shared fake driver plays the guest, the test the host program. */
#include <criterion/criterion.h>

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event_loop.h"
#include "guest_mem.h"
#include "test_util.h"
#include "virtio_driver.h"
#include "virtio_mmio.h"
#include "virtio_vsock.h"

#define RAM_SIZE   (16ULL << 20)
#define QSIZE	   64
#define EVQ_SIZE   4
#define RX_BUF_GPA 0x100000ULL
#define RX_BUF_LEN 4096u
#define TX_BUF_GPA 0x200000ULL
#define TX_SLOT	   0x48000ULL /* room for a 256 KiB + 1 payload */
#define TX_SLOTS   4
#define EV_BUF_GPA 0x800000ULL
#define GUEST_CID  3u
#define HOST_CID   2u
#define HDR	   sizeof(struct virtio_vsock_hdr)
#define DEV_BUF	   (256u * 1024) /* the device's buf_alloc */
#define FIRST_PORT (1u << 30)

#define OP_REQUEST	  VIRTIO_VSOCK_OP_REQUEST
#define OP_RESPONSE	  VIRTIO_VSOCK_OP_RESPONSE
#define OP_RST		  VIRTIO_VSOCK_OP_RST
#define OP_SHUTDOWN	  VIRTIO_VSOCK_OP_SHUTDOWN
#define OP_RW		  VIRTIO_VSOCK_OP_RW
#define OP_CREDIT_UPDATE  VIRTIO_VSOCK_OP_CREDIT_UPDATE
#define OP_CREDIT_REQUEST VIRTIO_VSOCK_OP_CREDIT_REQUEST
#define SHUT_BOTH	  (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

static struct event_loop loop;
static struct virtio_mmio t;
static struct virtio_vsock *vs;
static char dir[128], uds[160];

/* ---- Fixture ------------------------------------------------------------------ */

/* The device on a listener at `uds` (set by the caller, inside `dir`). */
static void setup_device(void)
{
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	char err[256];
	vs = virtio_vsock_create(GUEST_CID, uds, &loop, err, sizeof(err));
	cr_assert_not_null(vs, "%s", err);
	cr_assert_eq(virtio_mmio_create(&t, &virtio_vsock_ops, vs, &guest_ram, -1, &loop, NULL, 0),
		     0);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	ram_map(RAM_SIZE);
	make_tmp_dir(dir, sizeof(dir), "vsock");
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	setup_device();
}

/* A uds_path of 104 bytes: it fits sockaddr_un, "<uds_path>_5690" does not. */
#define LONG_UDS_LEN 104

static void setup_long_path(void)
{
	signal(SIGPIPE, SIG_IGN);
	ram_map(RAM_SIZE);
	make_tmp_dir(dir, sizeof(dir), "vsock");
	size_t n = strlen(dir);
	cr_assert_lt(n + 2, LONG_UDS_LEN, "%s: too long for this test", dir);
	snprintf(uds, sizeof(uds), "%s/", dir);
	memset(uds + n + 1, 'l', LONG_UDS_LEN - n - 1);
	uds[LONG_UDS_LEN] = '\0';
	setup_device();
}

static void teardown(void)
{
	event_loop_stop(&loop);
	virtio_vsock_destroy(vs);
	virtio_mmio_destroy(&t);
	event_loop_fini(&loop);
	ram_unmap();
	remove_tmp_dir(dir);
}

TestSuite(vsock, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(vsock_long_path, .init = setup_long_path, .fini = teardown, .timeout = 60);

/* ---- The guest's registers and rings --------------------------------------------- */

static struct drv_ring rxq, txq, evq;
static unsigned tx_posted;

static gpa_t ring_gpa(unsigned q)
{
	return 0x10000ULL + q * 0x4000ULL;
}

/* Posts rx buffers [from, to), one RX_BUF_LEN descriptor each (no kick). */
static void post_rx_bufs(uint16_t from, uint16_t to)
{
	for (uint16_t i = from; i < to; i++) {
		rxq.desc[i] = (struct vring_desc){RX_BUF_GPA + i * RX_BUF_LEN, RX_BUF_LEN,
						  VRING_DESC_F_WRITE, 0};
		drv_post(&rxq, i);
	}
}

/* Feature negotiation, queues, `rx_bufs` rx buffers, DRIVER_OK. */
static void driver_up_with(uint64_t features, unsigned rx_bufs)
{
	drv_features_ok(&t, features);
	drv_ring_at(&rxq, &t, 0, QSIZE, ring_gpa(0));
	drv_ring_at(&txq, &t, 1, QSIZE, ring_gpa(1));
	drv_ring_at(&evq, &t, 2, EVQ_SIZE, ring_gpa(2));
	tx_posted = 0;
	post_rx_bufs(0, (uint16_t)rx_bufs);
	for (uint16_t i = 0; i < EVQ_SIZE; i++) {
		evq.desc[i] = (struct vring_desc){EV_BUF_GPA + i * 8, 8, VRING_DESC_F_WRITE, 0};
		drv_post(&evq, i);
	}
	drv_go(&t);
	cr_assert_not(drv_needs_reset(&t));
}

static void driver_up(void)
{
	driver_up_with(F_VERSION_1, QSIZE);
}

/* ---- Packets ------------------------------------------------------------------------ */

struct pkt {
	struct virtio_vsock_hdr h;
	uint32_t len;
	uint8_t data[65536];
};

static uint16_t op_of(const struct pkt *p)
{
	return le16toh(p->h.op);
}

/* The guest's view of one connection. */
struct gconn {
	uint32_t gport, hport;
	uint32_t buf_alloc, fwd_cnt; /* ours (the guest's) */
	uint32_t tx_cnt;	     /* RW bytes sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt; /* RW bytes received */
};

static void absorb(struct gconn *c, const struct pkt *p)
{
	c->peer_buf_alloc = le32toh(p->h.buf_alloc);
	c->peer_fwd_cnt = le32toh(p->h.fwd_cnt);
}

static uint32_t credit(const struct gconn *c)
{
	return c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
}

/* Takes the next packet the device put in an rx buffer, within
 * timeout_ms; reposts the buffer (kicking unless told not to). */
static bool g_recv_opt(struct pkt *p, int timeout_ms, bool repost)
{
	struct vring_used_elem e;
	if (!WAIT_UNTIL(drv_take_used(&rxq, &e), (uint64_t)timeout_ms))
		return false;
	cr_assert_lt(e.id, rxq.size);
	cr_assert_geq(e.len, HDR, "used len %u", e.len);
	uint8_t buf[HDR + RX_BUF_LEN];
	uint32_t got = 0;
	for (uint16_t d = (uint16_t)e.id; got < e.len;) {
		struct vring_desc *desc = &rxq.desc[d];
		uint32_t n = e.len - got < desc->len ? e.len - got : desc->len;
		cr_assert_leq(got + n, sizeof(buf));
		memcpy(buf + got, gp(desc->addr, n), n);
		got += n;
		if (!(desc->flags & VRING_DESC_F_NEXT))
			break;
		d = desc->next;
	}
	cr_assert_eq(got, e.len);
	memcpy(&p->h, buf, HDR);
	p->len = le32toh(p->h.len);
	cr_assert_eq(e.len, HDR + p->len, "used len %u, header len %u", e.len, p->len);
	memcpy(p->data, buf + HDR, p->len);
	cr_assert_eq(le64toh(p->h.dst_cid), GUEST_CID);
	cr_assert_eq(le16toh(p->h.type), VIRTIO_VSOCK_TYPE_STREAM);
	if (repost) {
		drv_post(&rxq, (uint16_t)e.id);
		drv_kick(&rxq);
	}
	return true;
}

static bool g_recv(struct pkt *p, int timeout_ms)
{
	return g_recv_opt(p, timeout_ms, true);
}

/* g_recv_opt() once the event loop has dealt with everything pending (loop_settle()): how a
 * test checks that nothing (more) reaches the guest, without waiting for a fixed time. */
static bool g_recv_settled(struct pkt *p, bool repost)
{
	loop_settle(&loop, 3);
	return g_recv_opt(p, 0, repost);
}

/* Posts raw bytes as one readable descriptor on the tx queue and waits for
 * the device to return it. False if it did not (device failed). */
static bool g_send_raw(const void *bytes, size_t n)
{
	uint16_t slot = tx_posted % TX_SLOTS;
	gpa_t gpa = TX_BUF_GPA + slot * TX_SLOT;
	cr_assert_leq(n, TX_SLOT);
	memcpy(gp(gpa, n), bytes, n);
	txq.desc[slot] = (struct vring_desc){gpa, (uint32_t)n, 0, 0};
	drv_post(&txq, slot);
	tx_posted++;
	drv_kick(&txq);
	return WAIT_UNTIL(drv_needs_reset(&t) || drv_used_idx(&txq) == (uint16_t)tx_posted, 5000) &&
	       drv_used_idx(&txq) == (uint16_t)tx_posted;
}

static struct virtio_vsock_hdr mkhdr(const struct gconn *c, uint16_t op, uint32_t flags,
				     uint32_t len)
{
	return (struct virtio_vsock_hdr){
	    .src_cid = htole64(GUEST_CID),
	    .dst_cid = htole64(HOST_CID),
	    .src_port = htole32(c->gport),
	    .dst_port = htole32(c->hport),
	    .len = htole32(len),
	    .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
	    .op = htole16(op),
	    .flags = htole32(flags),
	    .buf_alloc = htole32(c->buf_alloc),
	    .fwd_cnt = htole32(c->fwd_cnt),
	};
}

static uint8_t txbuf[HDR + DEV_BUF + 64];

static void g_send(struct gconn *c, uint16_t op, uint32_t flags, const void *data, uint32_t len)
{
	struct virtio_vsock_hdr h = mkhdr(c, op, flags, len);
	memcpy(txbuf, &h, HDR);
	if (len)
		memcpy(txbuf + HDR, data, len);
	cr_assert(g_send_raw(txbuf, HDR + len), "device did not take the packet");
	if (op == OP_RW)
		c->tx_cnt += len;
}

/* Receives the next packet, which must be `op` for connection c. */
static void expect(struct gconn *c, struct pkt *p, uint16_t op)
{
	cr_assert(g_recv(p, 5000), "no packet (wanted op %u)", op);
	cr_assert_eq(op_of(p), op, "op %u, wanted %u", op_of(p), op);
	cr_assert_eq(le64toh(p->h.src_cid), HOST_CID);
	cr_assert_eq(le32toh(p->h.dst_port), c->gport);
	cr_assert_eq(le32toh(p->h.src_port), c->hport);
	absorb(c, p);
}

/* The guest tells the device how much it has consumed; *adv_fwd remembers what it said. */
static void g_credit_update(struct gconn *c, uint32_t *adv_fwd)
{
	*adv_fwd = c->fwd_cnt;
	g_send(c, OP_CREDIT_UPDATE, 0, NULL, 0);
}

/* The guest received `n` bytes of RW data and consumed them at once: the device must have
 * stayed within the credit last advertised (*adv_fwd); more is advertised once half the
 * buffer has been consumed. */
static void g_consume(struct gconn *c, uint32_t *adv_fwd, uint32_t n)
{
	c->rx_cnt += n;
	cr_assert_leq(c->rx_cnt - *adv_fwd, c->buf_alloc, "the device overran our credit");
	c->fwd_cnt += n;
	if (c->fwd_cnt - *adv_fwd >= c->buf_alloc / 2)
		g_credit_update(c, adv_fwd);
}

/* ---- The host program ---------------------------------------------------------------- */

/* The address of the Unix socket at `path`; asserts that it fits. */
static struct sockaddr_un unix_addr(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	cr_assert_lt(strlen(path), sizeof(a.sun_path), "socket path too long: %s", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	return a;
}

/* A new Unix stream socket bound at `path` (close it at once for a stale socket file). */
static int bound_socket(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = unix_addr(path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s: %s", path,
		     strerror(errno));
	return fd;
}

/* Where the device connects for host port `port`: "UDS_PORT". */
static void port_path(char *out, size_t size, uint32_t port)
{
	snprintf(out, size, "%s_%u", uds, port);
}

static int host_connect_to(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = unix_addr(path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect %s: %s", path,
		     strerror(errno));
	return fd;
}

static int host_connect(void)
{
	return host_connect_to(uds);
}

static int host_listen(uint32_t port)
{
	char path[PATH_MAX];
	port_path(path, sizeof(path), port);
	int fd = bound_socket(path);
	cr_assert_eq(listen(fd, 8), 0);
	return fd;
}

static void host_write(int fd, const void *data, size_t len)
{
	cr_assert_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads up to len bytes within ms: the count, 0 on EOF, -1 on timeout,
 * -2 on error (e.g. ECONNRESET). */
static ssize_t host_read(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return -1;
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
	return n < 0 ? -2 : n;
}

/* Reads exactly len bytes. */
static void host_read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = host_read(fd, (uint8_t *)buf + got, len - got, 5000);
		cr_assert_gt(n, 0, "host read: %zd after %zu of %zu bytes", n, got, len);
		got += (size_t)n;
	}
}

static bool host_sees_end(int fd, int ms)
{
	char c;
	ssize_t n = host_read(fd, &c, 1, ms);
	return n == 0 || n == -2;
}

static bool read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		char c;
		if (host_read(fd, &c, 1, 5000) != 1)
			break;
		if (c == '\n') {
			buf[n] = '\0';
			return true;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return false;
}

/* The host connects and asks for guest port `gport`; the guest receives the REQUEST, which
 * fills c's ports and the device's credit. Returns the host's socket. */
static int host_asks(struct gconn *c, uint32_t gport)
{
	struct pkt p;
	int fd = host_connect();
	dprintf(fd, "CONNECT %u\n", gport);
	cr_assert(g_recv(&p, 5000), "no REQUEST");
	cr_assert_eq(op_of(&p), OP_REQUEST);
	cr_assert_eq(le32toh(p.h.dst_port), gport);
	c->gport = gport;
	c->hport = le32toh(p.h.src_port);
	absorb(c, &p);
	return fd;
}

static int establish_from_host(struct gconn *c, uint32_t gport)
{
	int fd = host_asks(c, gport);
	cr_assert_eq(c->peer_buf_alloc, DEV_BUF);
	if (!c->buf_alloc)
		c->buf_alloc = 65536;
	g_send(c, OP_RESPONSE, 0, NULL, 0);
	char line[64], want[64];
	cr_assert(read_line(fd, line, sizeof(line)), "no OK line: '%s'", line);
	snprintf(want, sizeof(want), "OK %u", c->hport);
	cr_assert_str_eq(line, want);
	return fd;
}

/* The guest connects to host port `hport`, where the test listens.
 * Returns the accepted socket. */
static int establish_from_guest(struct gconn *c, uint32_t gport, uint32_t hport, int *lfd)
{
	struct pkt p;
	*lfd = host_listen(hport);
	c->gport = gport;
	c->hport = hport;
	if (!c->buf_alloc)
		c->buf_alloc = 65536;
	g_send(c, OP_REQUEST, 0, NULL, 0);
	expect(c, &p, OP_RESPONSE);
	cr_assert_eq(c->peer_buf_alloc, DEV_BUF);
	int fd = accept4(*lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0);
	return fd;
}

/* driver_up(), then establish_from_host(). */
static int up_host_conn(struct gconn *c, uint32_t gport)
{
	driver_up();
	return establish_from_host(c, gport);
}

/* driver_up(), then establish_from_guest(). */
static int up_guest_conn(struct gconn *c, uint32_t gport, uint32_t hport, int *lfd)
{
	driver_up();
	return establish_from_guest(c, gport, hport, lfd);
}

/* The device answers with RST on connection c, and the host's socket `fd` ends (closed here). */
static void expect_reset(struct gconn *c, int fd, const char *what)
{
	struct pkt p;
	expect(c, &p, OP_RST);
	cr_assert(host_sees_end(fd, 5000), "%s: the host socket is not closed", what);
	close(fd);
}

static uint8_t pattern(uint64_t i, unsigned seed)
{
	return (uint8_t)(i * 131 + (i >> 11) + seed);
}

static void fill_pattern(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(i, seed);
}

/* establish_from_host() to guest port 1234, then the host writes `n` bytes of pattern(seed),
 * also left in `data`. Returns the host's socket. */
static int host_sends(struct gconn *c, uint8_t *data, size_t n, unsigned seed)
{
	int fd = establish_from_host(c, 1234);
	fill_pattern(data, n, seed);
	host_write(fd, data, n);
	return fd;
}

/* driver_up(), then host_sends(). */
static int up_host_sends(struct gconn *c, uint8_t *data, size_t n, unsigned seed)
{
	driver_up();
	return host_sends(c, data, n, seed);
}

/* ---- Identification, creation ----------------------------------------------------------- */

Test(vsock, identification_and_config)
{
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_CONFIG), GUEST_CID);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_CONFIG + 4), 0);
	uint8_t b = 0xff;
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_CONFIG, &b, 1);
	cr_assert_eq(b, GUEST_CID);
	for (unsigned q = 0; q < 3; q++) {
		drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, q);
		cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	}
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 3);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	drv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES) & 0xffffff, 0, "no SEQPACKET");
	struct stat st;
	cr_assert_eq(stat(uds, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
}

Test(vsock, create_refuses_live_listener_and_other_files)
{
	char err[256], path[PATH_MAX];
	struct virtio_vsock *v2 = virtio_vsock_create(GUEST_CID, uds, &loop, err, sizeof(err));
	cr_assert_null(v2);
	cr_assert(strstr(err, "in use"), "%s", err);
	snprintf(path, sizeof(path), "%s/file", dir);
	FILE *f = fopen(path, "w");
	fclose(f);
	cr_assert_null(virtio_vsock_create(GUEST_CID, path, &loop, err, sizeof(err)));
	cr_assert(strstr(err, "not a socket"), "%s", err);
	cr_assert_eq(access(path, F_OK), 0, "a regular file is left alone");
	snprintf(path, sizeof(path), "%s/missing/v.sock", dir);
	cr_assert_null(virtio_vsock_create(GUEST_CID, path, &loop, err, sizeof(err)));
	cr_assert(strstr(err, "cannot listen"), "%s", err);
	cr_assert_null(virtio_vsock_create(2, uds, &loop, err, sizeof(err)));
	cr_assert(strstr(err, "cid"), "%s", err);
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	cr_assert_null(virtio_vsock_create(GUEST_CID, longpath, &loop, err, sizeof(err)));
	cr_assert_eq(access(uds, F_OK), 0, "the live socket is still there");
}

Test(vsock, create_replaces_stale_socket_and_destroy_unlinks)
{
	char err[256], path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	close(bound_socket(path)); /* the file stays, nobody listens */
	struct virtio_vsock *v2 = virtio_vsock_create(7, path, &loop, err, sizeof(err));
	cr_assert_not_null(v2, "%s", err);
	int c = host_connect_to(path);
	close(c);
	virtio_vsock_destroy(v2);
	cr_assert_neq(access(path, F_OK), 0, "destroy unlinks the socket");
	virtio_vsock_destroy(NULL);
}

/* ---- Host-initiated connections ------------------------------------------------------------ */

Test(vsock, host_connect_request_response_and_data)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 1234);
	cr_assert_geq(c.hport, FIRST_PORT);
	host_write(fd, "ping", 4);
	struct pkt p;
	expect(&c, &p, OP_RW);
	cr_assert_eq(p.len, 4);
	cr_assert_eq(memcmp(p.data, "ping", 4), 0);
	g_send(&c, OP_RW, 0, "pong!", 5);
	char buf[8];
	host_read_all(fd, buf, 5);
	cr_assert_eq(memcmp(buf, "pong!", 5), 0);
	/* A second connection to the same guest port gets another host port. */
	struct gconn c2 = {0};
	int fd2 = establish_from_host(&c2, 1234);
	cr_assert_neq(c2.hport, c.hport);
	/* The host closes: the guest hears SHUTDOWN(both) and answers RST. */
	close(fd);
	expect(&c, &p, OP_SHUTDOWN);
	cr_assert_eq(le32toh(p.h.flags), SHUT_BOTH);
	g_send(&c, OP_RST, 0, NULL, 0);
	cr_assert_not(g_recv_settled(&p, true), "nothing more after the RST");
	/* The other connection still works. */
	g_send(&c2, OP_RW, 0, "x", 1);
	host_read_all(fd2, buf, 1);
	close(fd2);
	expect(&c2, &p, OP_SHUTDOWN);
	cr_assert_not(drv_needs_reset(&t));
}

/* A buffer of just the header (44 bytes) is legal: a control packet fits,
 * and when data waits behind it, it carries a CREDIT_UPDATE so that the
 * data goes in the next buffer. */
Test(vsock, header_only_rx_buffer)
{
	driver_up_with(F_VERSION_1, 0);
	rxq.desc[0] = (struct vring_desc){RX_BUF_GPA, (uint32_t)HDR, VRING_DESC_F_WRITE, 0};
	drv_post(&rxq, 0);
	drv_kick(&rxq);
	struct gconn c = {0};
	int fd = establish_from_host(&c, 77); /* the REQUEST went in the small buffer */
	cr_assert_not(drv_needs_reset(&t), "a 44-byte rx buffer is legal");
	host_write(fd, "hello", 5);
	struct pkt p;
	cr_assert(g_recv_opt(&p, 5000, false), "the small buffer was not used");
	cr_assert_eq(op_of(&p), OP_CREDIT_UPDATE, "op %u", op_of(&p));
	absorb(&c, &p);
	rxq.desc[1] =
	    (struct vring_desc){RX_BUF_GPA + RX_BUF_LEN, RX_BUF_LEN, VRING_DESC_F_WRITE, 0};
	drv_post(&rxq, 1);
	drv_kick(&rxq);
	expect(&c, &p, OP_RW);
	cr_assert_eq(p.len, 5);
	cr_assert_eq(memcmp(p.data, "hello", 5), 0);
	cr_assert_not(drv_needs_reset(&t));
	close(fd);
}

Test(vsock, host_connect_before_driver_waits_through_reset)
{
	int fd = host_connect();
	dprintf(fd, "CONNECT 99\nearly bytes");
	loop_settle(&loop, 3); /* the loop accepts the connection and reads the command */
	driver_up();	       /* resets the device first */
	struct pkt p;
	cr_assert(g_recv(&p, 5000));
	cr_assert_eq(op_of(&p), OP_REQUEST);
	struct gconn c = {.gport = 99, .hport = le32toh(p.h.src_port), .buf_alloc = 4096};
	g_send(&c, OP_RESPONSE, 0, NULL, 0);
	char line[64];
	cr_assert(read_line(fd, line, sizeof(line)));
	cr_assert_eq(strncmp(line, "OK ", 3), 0);
	/* What followed the command line is the first data. */
	expect(&c, &p, OP_RW);
	cr_assert_eq(p.len, 11);
	cr_assert_eq(memcmp(p.data, "early bytes", 11), 0);
	close(fd);
}

Test(vsock, host_connect_refused_by_guest)
{
	driver_up();
	struct gconn c = {0};
	int fd = host_asks(&c, 5);
	g_send(&c, OP_RST, 0, NULL, 0);
	cr_assert(host_sees_end(fd, 5000), "refused: the host socket is closed");
	close(fd);
}

Test(vsock, host_bad_commands_are_closed)
{
	driver_up();
	static const char *bad[] = {"HELLO\n",	     "CONNECT\n",
				    "CONNECT x1\n",  "CONNECT 4294967296\n",
				    "CONNECT 12 \n", "CONNECT 1234567890123456789012345678901"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = host_connect();
		host_write(fd, bad[i], strlen(bad[i]));
		cr_assert(host_sees_end(fd, 5000), "'%s' not refused", bad[i]);
		close(fd);
	}
	struct pkt p;
	cr_assert_not(g_recv_settled(&p, true), "nothing reached the guest");
	/* Split across writes and with CRLF is fine. */
	int fd = host_connect();
	host_write(fd, "CONN", 4);
	loop_settle(&loop, 3); /* the device has read the first part */
	host_write(fd, "ECT 77\r\n", 8);
	cr_assert(g_recv(&p, 5000));
	cr_assert_eq(op_of(&p), OP_REQUEST);
	cr_assert_eq(le32toh(p.h.dst_port), 77);
	close(fd);
}

Test(vsock, request_timeout_closes_host_socket)
{
	driver_up();
	struct gconn c = {0};
	int fd = host_asks(&c, 8);
	struct pkt p;
	/* The guest never answers: after 2 s an RST, and the host sees the end. */
	cr_assert(g_recv(&p, 4000), "no RST after the request timeout");
	cr_assert_eq(op_of(&p), OP_RST);
	cr_assert_eq(le32toh(p.h.dst_port), 8);
	cr_assert(host_sees_end(fd, 1000));
	close(fd);
}

Test(vsock, host_gives_up_before_response)
{
	driver_up();
	struct gconn c = {0};
	close(host_asks(&c, 9));
	struct pkt p;
	expect(&c, &p, OP_RST);
	g_send(&c, OP_RESPONSE, 0, NULL, 0); /* too late: refused */
	expect(&c, &p, OP_RST);
}

/* ---- Guest-initiated connections ------------------------------------------------------------ */

Test(vsock, guest_connect_data_and_shutdown)
{
	struct gconn c = {0};
	int lfd, fd = up_guest_conn(&c, 49152, 5678, &lfd);
	g_send(&c, OP_RW, 0, "hello from guest\n", 17);
	char buf[32];
	host_read_all(fd, buf, 17);
	cr_assert_eq(memcmp(buf, "hello from guest\n", 17), 0);
	host_write(fd, "reply from host\n", 16);
	struct pkt p;
	expect(&c, &p, OP_RW);
	cr_assert_eq(p.len, 16);
	cr_assert_eq(memcmp(p.data, "reply from host\n", 16), 0);
	/* SHUTDOWN(both): the device answers RST and the host sees EOF. */
	g_send(&c, OP_SHUTDOWN, SHUT_BOTH, NULL, 0);
	expect(&c, &p, OP_RST);
	cr_assert_eq(host_read(fd, buf, sizeof(buf), 5000), 0);
	close(fd);
	close(lfd);
	cr_assert_not(drv_needs_reset(&t));
}

Test(vsock, guest_connect_to_missing_listener_gets_rst)
{
	driver_up();
	struct gconn c = {.gport = 40000, .hport = 5679, .buf_alloc = 4096};
	g_send(&c, OP_REQUEST, 0, NULL, 0);
	struct pkt p;
	expect(&c, &p, OP_RST);
	/* A stale socket file with no listener: refused too. */
	char path[PATH_MAX];
	port_path(path, sizeof(path), 5680);
	close(bound_socket(path));
	c.hport = 5680;
	g_send(&c, OP_REQUEST, 0, NULL, 0);
	expect(&c, &p, OP_RST);
	cr_assert_not(drv_needs_reset(&t));
}

Test(vsock, guest_half_close_both_ways)
{
	struct gconn c = {0};
	int lfd, fd = up_guest_conn(&c, 1000, 2000, &lfd);
	/* The guest stops sending: the host reads EOF but can still write. */
	g_send(&c, OP_RW, 0, "last", 4);
	g_send(&c, OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0);
	char buf[8];
	host_read_all(fd, buf, 4);
	cr_assert_eq(host_read(fd, buf, sizeof(buf), 5000), 0, "EOF after the data");
	host_write(fd, "answer", 6);
	struct pkt p;
	expect(&c, &p, OP_RW);
	cr_assert_eq(memcmp(p.data, "answer", 6), 0);
	/* Data after SHUTDOWN(SEND) is a protocol violation: RST. */
	g_send(&c, OP_RW, 0, "more", 4);
	expect_reset(&c, fd, "data after SHUTDOWN(SEND)");
	close(lfd);
}

Test(vsock, host_half_close_then_guest_closes)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 4444);
	host_write(fd, "request", 7);
	shutdown(fd, SHUT_WR);
	struct pkt p;
	expect(&c, &p, OP_RW);
	cr_assert_eq(p.len, 7);
	expect(&c, &p, OP_SHUTDOWN);
	cr_assert_eq(le32toh(p.h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND, "the host still reads");
	g_send(&c, OP_RW, 0, "response", 8);
	char buf[16];
	host_read_all(fd, buf, 8);
	cr_assert_eq(memcmp(buf, "response", 8), 0);
	g_send(&c, OP_SHUTDOWN, SHUT_BOTH, NULL, 0);
	expect(&c, &p, OP_RST);
	cr_assert_eq(host_read(fd, buf, sizeof(buf), 5000), 0);
	close(fd);
}

Test(vsock, guest_stops_receiving)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 4446);
	g_send(&c, OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV, NULL, 0);
	host_write(fd, "unwanted", 8);
	struct pkt p;
	cr_assert_not(g_recv_settled(&p, true), "SHUTDOWN(RCV): no more data for the guest");
	/* It can still send. */
	g_send(&c, OP_RW, 0, "still", 5);
	char buf[8];
	host_read_all(fd, buf, 5);
	/* The host closes: SHUTDOWN(both); the guest's late data is dropped. */
	close(fd);
	expect(&c, &p, OP_SHUTDOWN);
	cr_assert_eq(le32toh(p.h.flags), SHUT_BOTH);
	g_send(&c, OP_RW, 0, "late", 4);
	cr_assert_not(g_recv_settled(&p, true), "data after the host closed is dropped quietly");
	g_send(&c, OP_RST, 0, NULL, 0);
	cr_assert_not(g_recv_settled(&p, true));
	cr_assert_not(drv_needs_reset(&t));
}

Test(vsock, request_on_existing_connection_resets_it)
{
	struct gconn c = {0};
	int lfd, fd = up_guest_conn(&c, 7000, 7001, &lfd);
	g_send(&c, OP_REQUEST, 0, NULL, 0);
	expect_reset(&c, fd, "a second REQUEST");
	close(lfd);
}

Test(vsock, host_close_without_guest_rst_times_out)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 4445);
	host_write(fd, "bye", 3);
	close(fd);
	struct pkt p;
	expect(&c, &p, OP_RW);
	cr_assert_eq(p.len, 3, "data sent before the close arrives first");
	/* The device may see the end of the stream (SHUTDOWN SEND) before it
	 * sees the hang-up (SHUTDOWN both): either way both bits arrive. */
	uint32_t flags = 0;
	for (int i = 0; i < 2 && flags != SHUT_BOTH; i++) {
		expect(&c, &p, OP_SHUTDOWN);
		flags |= le32toh(p.h.flags);
	}
	cr_assert_eq(flags, SHUT_BOTH);
	cr_assert(g_recv(&p, 4000), "no RST after the close timeout");
	cr_assert_eq(op_of(&p), OP_RST);
}

Test(vsock, guest_rst_closes_host_socket)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 1);
	g_send(&c, OP_RST, 0, NULL, 0);
	cr_assert(host_sees_end(fd, 5000));
	/* Packets for the closed connection now get RST. */
	g_send(&c, OP_RW, 0, "late", 4);
	struct pkt p;
	expect(&c, &p, OP_RST);
	close(fd);
}

/* ---- Credit ---------------------------------------------------------------------------- */

Test(vsock, credit_request_answered)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 1234);
	g_send(&c, OP_RW, 0, "12345", 5);
	char buf[8];
	host_read_all(fd, buf, 5);
	g_send(&c, OP_CREDIT_REQUEST, 0, NULL, 0);
	struct pkt p;
	expect(&c, &p, OP_CREDIT_UPDATE);
	cr_assert_eq(le32toh(p.h.buf_alloc), DEV_BUF);
	cr_assert_eq(le32toh(p.h.fwd_cnt), 5);
	close(fd);
}

Test(vsock, device_never_exceeds_guest_credit)
{
	struct gconn c = {.buf_alloc = 1000};
	static uint8_t data[5000];
	int fd = up_host_sends(&c, data, sizeof(data), 1);
	size_t got = 0;
	struct pkt p;
	for (int round = 0; round < 5; round++) {
		uint32_t window = 0;
		bool asked = false;
		while (g_recv(&p, 0) || g_recv_settled(&p, true)) {
			if (op_of(&p) == OP_CREDIT_REQUEST) {
				asked = true;
				continue;
			}
			cr_assert_eq(op_of(&p), OP_RW);
			cr_assert_eq(memcmp(p.data, data + got, p.len), 0);
			got += p.len;
			window += p.len;
			c.rx_cnt += p.len;
			cr_assert_leq(c.rx_cnt - c.fwd_cnt, c.buf_alloc, "beyond the credit");
		}
		cr_assert_eq(window, 1000, "round %d: %u bytes", round, window);
		cr_assert(asked, "the device asks for credit when it runs out");
		c.fwd_cnt = c.rx_cnt; /* consumed: tell the device */
		g_send(&c, OP_CREDIT_UPDATE, 0, NULL, 0);
	}
	cr_assert_eq(got, sizeof(data));
	cr_assert_not(g_recv_settled(&p, true));
	close(fd);
}

Test(vsock, guest_beyond_credit_is_reset)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 1234);
	/* Exactly the advertised 256 KiB in one packet is fine ... */
	static uint8_t big[DEV_BUF + 1];
	fill_pattern(big, sizeof(big), 2);
	g_send(&c, OP_RW, 0, big, DEV_BUF);
	static uint8_t back[DEV_BUF];
	host_read_all(fd, back, DEV_BUF);
	cr_assert_eq(memcmp(back, big, DEV_BUF), 0);
	/* Credit updates follow the host's reads; ask for the final one. */
	g_send(&c, OP_CREDIT_REQUEST, 0, NULL, 0);
	struct pkt p;
	do
		expect(&c, &p, OP_CREDIT_UPDATE);
	while (c.peer_fwd_cnt != DEV_BUF);
	/* ... one byte more than that credit is not. */
	g_send(&c, OP_RW, 0, big, DEV_BUF + 1);
	expect(&c, &p, OP_RST);
	cr_assert(host_sees_end(fd, 5000));
	close(fd);
}

/* ---- Large transfers ----------------------------------------------------------------------- */

#define BIG (1u << 20)

Test(vsock, one_mebibyte_guest_to_host)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 1234);
	static uint8_t chunk[16384], in[65536];
	size_t sent = 0, got = 0;
	uint64_t end = now_ms() + 30000;
	struct pkt p;
	while (got < BIG) {
		cr_assert_lt(now_ms(), end, "stuck: sent %zu, host got %zu", sent, got);
		bool progress = false;
		while (sent < BIG && credit(&c) > 0) {
			uint32_t n = credit(&c);
			if (n > sizeof(chunk))
				n = sizeof(chunk);
			if (n > BIG - sent)
				n = (uint32_t)(BIG - sent);
			for (uint32_t i = 0; i < n; i++)
				chunk[i] = pattern(sent + i, 3);
			g_send(&c, OP_RW, 0, chunk, n);
			cr_assert_leq(c.tx_cnt - c.peer_fwd_cnt, c.peer_buf_alloc);
			sent += n;
			progress = true;
		}
		ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				cr_assert_eq(in[i], pattern(got + (size_t)i, 3), "byte %zu",
					     got + (size_t)i);
			got += (size_t)n;
			progress = true;
		}
		while (g_recv(&p, 0)) {
			cr_assert_eq(op_of(&p), OP_CREDIT_UPDATE);
			absorb(&c, &p);
			progress = true;
		}
		if (!progress)
			usleep(500);
	}
	cr_assert_eq(sent, BIG);
	close(fd);
}

Test(vsock, one_mebibyte_host_to_guest)
{
	struct gconn c = {.buf_alloc = 65536};
	int lfd, fd = up_guest_conn(&c, 3000, 3001, &lfd);
	static uint8_t out[BIG];
	fill_pattern(out, sizeof(out), 4);
	size_t written = 0, got = 0;
	uint32_t adv_fwd = 0;
	uint64_t end = now_ms() + 30000;
	struct pkt p;
	while (got < BIG) {
		cr_assert_lt(now_ms(), end, "stuck: written %zu, guest got %zu", written, got);
		bool progress = false;
		if (written < BIG) {
			ssize_t n = send(fd, out + written, BIG - written, MSG_DONTWAIT);
			if (n > 0) {
				written += (size_t)n;
				progress = true;
			}
		}
		while (g_recv(&p, 0)) {
			progress = true;
			if (op_of(&p) == OP_CREDIT_REQUEST) {
				g_credit_update(&c, &adv_fwd);
				continue;
			}
			cr_assert_eq(op_of(&p), OP_RW);
			cr_assert_eq(memcmp(p.data, out + got, p.len), 0, "at %zu", got);
			got += p.len;
			g_consume(&c, &adv_fwd, p.len);
		}
		if (!progress)
			usleep(500);
	}
	cr_assert_not(g_recv_settled(&p, true));
	close(fd);
	close(lfd);
}

Test(vsock, both_directions_at_once_with_event_idx)
{
	driver_up_with(F_VERSION_1 | F_EVENT_IDX, QSIZE);
	struct gconn c = {.buf_alloc = 32768};
	int fd = establish_from_host(&c, 7);
	const size_t total = 512 * 1024;
	static uint8_t chunk[8192], in[65536];
	size_t g_sent = 0, h_got = 0, h_sent = 0, g_got = 0;
	uint32_t adv_fwd = 0;
	uint64_t end = now_ms() + 30000;
	struct pkt p;
	while (h_got < total || g_got < total) {
		cr_assert_lt(now_ms(), end, "stuck: %zu/%zu %zu/%zu", g_sent, h_got, h_sent, g_got);
		bool progress = false;
		if (g_sent < total && credit(&c) > 0) {
			uint32_t n = credit(&c) < sizeof(chunk) ? credit(&c) : sizeof(chunk);
			if (n > total - g_sent)
				n = (uint32_t)(total - g_sent);
			for (uint32_t i = 0; i < n; i++)
				chunk[i] = pattern(g_sent + i, 5);
			g_send(&c, OP_RW, 0, chunk, n);
			g_sent += n;
			progress = true;
		}
		if (h_sent < total) {
			uint8_t out[4096];
			size_t n = total - h_sent < sizeof(out) ? total - h_sent : sizeof(out);
			for (size_t i = 0; i < n; i++)
				out[i] = pattern(h_sent + i, 6);
			ssize_t w = send(fd, out, n, MSG_DONTWAIT);
			if (w > 0) {
				h_sent += (size_t)w;
				progress = true;
			}
		}
		ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				cr_assert_eq(in[i], pattern(h_got + (size_t)i, 5));
			h_got += (size_t)n;
			progress = true;
		}
		while (g_recv(&p, 0)) {
			progress = true;
			absorb(&c, &p);
			if (op_of(&p) == OP_CREDIT_UPDATE)
				continue;
			if (op_of(&p) == OP_CREDIT_REQUEST) {
				g_credit_update(&c, &adv_fwd);
				continue;
			}
			cr_assert_eq(op_of(&p), OP_RW);
			for (uint32_t i = 0; i < p.len; i++)
				cr_assert_eq(p.data[i], pattern(g_got + i, 6));
			g_got += p.len;
			g_consume(&c, &adv_fwd, p.len);
		}
		if (!progress)
			usleep(500);
	}
	close(fd);
}

/* ---- rx buffers ---------------------------------------------------------------------------- */

Test(vsock, control_packets_wait_for_rx_buffers)
{
	driver_up_with(F_VERSION_1, 2);
	int fds[4];
	for (int i = 0; i < 4; i++) {
		fds[i] = host_connect();
		dprintf(fds[i], "CONNECT %d\n", 100 + i);
	}
	struct pkt p;
	bool seen[4] = {false};
	for (int i = 0; i < 2; i++) {
		cr_assert(g_recv_opt(&p, 5000, false));
		cr_assert_eq(op_of(&p), OP_REQUEST);
		seen[le32toh(p.h.dst_port) - 100] = true;
	}
	cr_assert_not(g_recv_settled(&p, false), "only two buffers");
	/* Two more buffers, one kick: the other two requests arrive. */
	post_rx_bufs(2, 4);
	drv_kick(&rxq);
	for (int i = 0; i < 2; i++) {
		cr_assert(g_recv_opt(&p, 5000, false));
		cr_assert_eq(op_of(&p), OP_REQUEST);
		seen[le32toh(p.h.dst_port) - 100] = true;
	}
	for (int i = 0; i < 4; i++) {
		cr_assert(seen[i], "request %d", i);
		close(fds[i]);
	}
}

Test(vsock, split_rx_buffers_header_then_payload)
{
	driver_up_with(F_VERSION_1, 0);
	/* Linux before 6.x: a 44-byte header descriptor chained to the payload. */
	for (uint16_t i = 0; i < 8; i++) {
		uint16_t h = (uint16_t)(2 * i), d = (uint16_t)(2 * i + 1);
		rxq.desc[h] = (struct vring_desc){RX_BUF_GPA + i * 2 * RX_BUF_LEN, HDR,
						  VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, d};
		rxq.desc[d] = (struct vring_desc){RX_BUF_GPA + (2 * i + 1) * RX_BUF_LEN, 2048,
						  VRING_DESC_F_WRITE, 0};
		drv_post(&rxq, h);
	}
	drv_kick(&rxq);
	struct gconn c = {0};
	static uint8_t data[5000];
	int fd = host_sends(&c, data, sizeof(data), 7);
	size_t got = 0;
	struct pkt p;
	while (got < sizeof(data)) {
		expect(&c, &p, OP_RW);
		cr_assert_leq(p.len, 2048);
		cr_assert_eq(memcmp(p.data, data + got, p.len), 0);
		got += p.len;
	}
	close(fd);
}

Test(vsock, host_data_waits_for_rx_buffers)
{
	driver_up_with(F_VERSION_1, 0);
	post_rx_bufs(0, 4);
	drv_kick(&rxq);
	struct gconn c = {.buf_alloc = 1u << 20};
	static uint8_t data[65536];
	int fd = host_sends(&c, data, sizeof(data), 8);
	size_t got = 0;
	struct pkt p;
	for (int i = 0; i < 4; i++) {
		cr_assert(g_recv_opt(&p, 5000, false));
		cr_assert_eq(op_of(&p), OP_RW);
		cr_assert_eq(memcmp(p.data, data + got, p.len), 0);
		got += p.len;
	}
	cr_assert_not(g_recv_settled(&p, false), "no buffers: nothing more");
	cr_assert_lt(got, sizeof(data));
	/* Buffers again: the rest comes, in order, nothing lost. */
	for (uint16_t i = 0; i < 4; i++)
		drv_post(&rxq, i);
	drv_kick(&rxq);
	while (got < sizeof(data)) {
		expect(&c, &p, OP_RW);
		cr_assert_eq(memcmp(p.data, data + got, p.len), 0, "at %zu", got);
		got += p.len;
	}
	close(fd);
}

Test(vsock, host_closes_while_guest_has_no_credit)
{
	struct gconn c = {.buf_alloc = 1000};
	static uint8_t data[5000];
	int fd = up_host_sends(&c, data, sizeof(data), 9);
	close(fd); /* all of it must still reach the guest, then SHUTDOWN */
	size_t got = 0;
	struct pkt p;
	bool shut = false;
	while (!shut) {
		cr_assert(g_recv(&p, 5000), "stuck at %zu bytes", got);
		absorb(&c, &p);
		if (op_of(&p) == OP_CREDIT_REQUEST) {
			c.fwd_cnt = c.rx_cnt;
			g_send(&c, OP_CREDIT_UPDATE, 0, NULL, 0);
		} else if (op_of(&p) == OP_RW) {
			cr_assert_eq(memcmp(p.data, data + got, p.len), 0);
			got += p.len;
			c.rx_cnt += p.len;
			cr_assert_leq(c.rx_cnt - c.fwd_cnt, c.buf_alloc);
		} else {
			cr_assert_eq(op_of(&p), OP_SHUTDOWN);
			cr_assert_eq(le32toh(p.h.flags), SHUT_BOTH);
			shut = true;
		}
	}
	cr_assert_eq(got, sizeof(data));
	g_send(&c, OP_RST, 0, NULL, 0);
	cr_assert_not(g_recv_settled(&p, true));
}

Test(vsock, connection_limit)
{
	driver_up();
	enum { N = 70 };
	int fds[N];
	for (int i = 0; i < N; i++)
		fds[i] = host_connect();
	/* The device accepts in order: the connections beyond 64 are closed at once ... */
	for (int i = 64; i < N; i++)
		cr_assert(host_sees_end(fds[i], 5000), "connection %d (beyond 64) not closed", i);
	/* ... and, once the loop has dealt with everything, the first 64 are still open. */
	loop_settle(&loop, 3);
	for (int i = 0; i < 64; i++)
		cr_assert_not(host_sees_end(fds[i], 0), "connection %d closed", i);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	/* The slots free up again once the loop has seen the hang-ups. */
	loop_settle(&loop, 3);
	struct gconn c = {0};
	int fd = establish_from_host(&c, 1);
	close(fd);
}

/* ---- Malformed packets ----------------------------------------------------------------------- */

Test(vsock, short_header_fails_device)
{
	driver_up();
	uint8_t bytes[20] = {0};
	cr_assert_not(g_send_raw(bytes, sizeof(bytes)));
	cr_assert(drv_needs_reset(&t));
}

Test(vsock, writable_tx_descriptor_fails_device)
{
	driver_up();
	struct gconn c = {.gport = 1, .hport = 2};
	struct virtio_vsock_hdr h = mkhdr(&c, OP_REQUEST, 0, 0);
	memcpy(gp(TX_BUF_GPA, HDR), &h, HDR);
	txq.desc[0] = (struct vring_desc){TX_BUF_GPA, HDR, VRING_DESC_F_NEXT, 1};
	txq.desc[1] = (struct vring_desc){TX_BUF_GPA + 0x1000, 64, VRING_DESC_F_WRITE, 0};
	drv_post(&txq, 0);
	drv_kick(&txq);
	cr_assert(WAIT_UNTIL(drv_needs_reset(&t), 5000));
}

/* One byte short of a header: no packet fits. */
Test(vsock, tiny_rx_buffer_fails_device)
{
	driver_up_with(F_VERSION_1, 0);
	rxq.desc[0] = (struct vring_desc){RX_BUF_GPA, HDR - 1, VRING_DESC_F_WRITE, 0};
	drv_post(&rxq, 0);
	drv_kick(&rxq);
	struct gconn c = {.gport = 1, .hport = 2};
	/* No connection: the RST it earns needs a buffer. */
	struct virtio_vsock_hdr h = mkhdr(&c, OP_RW, 0, 0);
	(void)g_send_raw(&h, HDR);
	cr_assert(WAIT_UNTIL(drv_needs_reset(&t), 5000));
}

static void len_beyond_payload(struct virtio_vsock_hdr *h)
{
	h->len = htole32(5);
}

static void wrong_src_cid(struct virtio_vsock_hdr *h)
{
	h->src_cid = htole64(GUEST_CID + 1);
}

static void seqpacket_type(struct virtio_vsock_hdr *h)
{
	h->type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
}

static void unknown_op(struct virtio_vsock_hdr *h)
{
	h->op = htole16(99);
}

/* An RW packet with 4 bytes of data on an open connection, its header changed by `mangle`. */
static const struct {
	const char *name;
	void (*mangle)(struct virtio_vsock_hdr *h);
} violations[] = {
    {"len beyond the payload", len_beyond_payload},
    {"wrong src_cid", wrong_src_cid},
    {"unknown type", seqpacket_type},
    {"unknown op", unknown_op},
};

/* The connection is reset; the device carries on. */
TABLE_TEST(vsock, protocol_violation_resets_the_connection, violations, c)
{
	struct gconn g = {0};
	int fd = up_host_conn(&g, 500);
	struct virtio_vsock_hdr h = mkhdr(&g, OP_RW, 0, 4);
	c->mangle(&h);
	memcpy(txbuf, &h, HDR);
	memcpy(txbuf + HDR, "data", 4);
	cr_assert(g_send_raw(txbuf, HDR + 4), "%s: the device did not take the packet", c->name);
	expect_reset(&g, fd, c->name);
	cr_assert_not(drv_needs_reset(&t), "%s: protocol errors do not fail the device", c->name);
}

Test(vsock, packets_without_connection_get_rst)
{
	driver_up();
	struct pkt p;
	struct gconn c = {.gport = 321, .hport = 654};
	uint16_t ops[] = {OP_RW, OP_RESPONSE, OP_SHUTDOWN, OP_CREDIT_UPDATE, OP_CREDIT_REQUEST};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		g_send(&c, ops[i], 0, "a", ops[i] == OP_RW ? 1 : 0);
		expect(&c, &p, OP_RST);
	}
	g_send(&c, OP_RST, 0, NULL, 0);
	cr_assert_not(g_recv_settled(&p, true), "an RST is never answered");
	/* To a cid other than the host's: RST from that cid. */
	struct virtio_vsock_hdr h = mkhdr(&c, OP_REQUEST, 0, 0);
	h.dst_cid = htole64(5);
	cr_assert(g_send_raw(&h, HDR));
	cr_assert(g_recv(&p, 5000));
	cr_assert_eq(op_of(&p), OP_RST);
	cr_assert_eq(le64toh(p.h.src_cid), 5);
	cr_assert_eq(le32toh(p.h.src_port), c.hport);
	cr_assert_eq(le32toh(p.h.dst_port), c.gport);
	cr_assert_not(drv_needs_reset(&t));
}

/* ---- Reset and teardown ------------------------------------------------------------------------
 */

Test(vsock, device_reset_closes_connections)
{
	driver_up();
	struct gconn c = {0}, g = {0};
	int fd = establish_from_host(&c, 1234);
	int lfd;
	int gfd = establish_from_guest(&g, 2222, 3333, &lfd);
	drv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	cr_assert(host_sees_end(fd, 5000), "host-initiated connection closed by the reset");
	cr_assert(host_sees_end(gfd, 5000), "guest-initiated connection closed by the reset");
	close(fd);
	close(gfd);
	close(lfd);
	/* The device works again after the driver comes back. */
	driver_up();
	struct gconn c2 = {0};
	fd = establish_from_host(&c2, 1234);
	close(fd);
}

Test(vsock, destroy_closes_everything)
{
	struct gconn c = {0};
	int fd = up_host_conn(&c, 1234);
	int pending = host_connect();
	dprintf(pending, "CONN");
	loop_settle(&loop, 3); /* accepted, half a command read */
	event_loop_stop(&loop);
	virtio_vsock_destroy(vs);
	vs = NULL;
	cr_assert(host_sees_end(fd, 1000));
	cr_assert(host_sees_end(pending, 1000));
	cr_assert_neq(access(uds, F_OK), 0, "socket file removed");
	close(fd);
	close(pending);
}

/* ---- The host's peer vanishing ----------------------------------------------------------- */

/* A process holding the host end of a connection dies (SIGKILL) mid-stream, with data from the
 * guest it never read: the guest gets an RST for that connection and nothing else, minnow logs
 * one line, the device never asks for a reset and the next connection works. */
Test(vsock, host_peer_killed_mid_stream_resets_the_connection)
{
	struct gconn c = {0};
	int lfd, fd = up_guest_conn(&c, 49153, 5690, &lfd);
	pid_t peer = fork();
	cr_assert_geq(peer, 0);
	if (peer == 0) { /* the peer: holds fd, reads nothing, waits to be killed */
		for (;;)
			pause();
	}
	close(fd);
	g_send(&c, OP_RW, 0, "never read by the host", 22);
	struct pkt p;
	char path[PATH_MAX];
	int saved = stderr_capture_begin(path, sizeof(path));
	cr_assert_eq(kill(peer, SIGKILL), 0);
	cr_assert_eq(waitpid(peer, NULL, 0), peer);
	bool got = g_recv(&p, 5000);
	char *log = stderr_capture_end(saved, path);
	cr_assert(got, "no packet after the peer died");
	cr_assert_eq(op_of(&p), OP_RST, "the guest must get an RST (op %u)", op_of(&p));
	cr_assert_eq(le32toh(p.h.dst_port), c.gport);
	cr_expect_eq(count_lines(log), 1, "one line: '%s'", log);
	cr_expect(strstr(log, "5690") && strstr(log, "Connection reset by peer"), "'%s'", log);
	free(log);
	cr_assert_not(g_recv(&p, 200), "nothing more for the guest (op %u)", op_of(&p));
	/* The guest still writes on the dead connection: RST again, nothing else. */
	g_send(&c, OP_RW, 0, "late", 4);
	expect(&c, &p, OP_RST);
	cr_assert_not(drv_needs_reset(&t));
	/* The device goes on: a new connection carries data. */
	struct gconn d = {0};
	close(lfd);
	fd = establish_from_guest(&d, 49154, 5691, &lfd);
	g_send(&d, OP_RW, 0, "again", 5);
	char buf[8];
	host_read_all(fd, buf, 5);
	cr_assert_eq(memcmp(buf, "again", 5), 0);
	close(fd);
	close(lfd);
}

/* The listener's path fits, but "<uds_path>_<port>" for the port a guest connects to does not:
 * that connect gets an RST and one line that says why; shorter ports and the device go on. */
Test(vsock_long_path, guest_connect_path_too_long_gets_rst_and_one_line)
{
	driver_up();
	struct gconn c = {.gport = 40001, .hport = 5690, .buf_alloc = 4096};
	char path[PATH_MAX];
	int saved = stderr_capture_begin(path, sizeof(path));
	g_send(&c, OP_REQUEST, 0, NULL, 0);
	struct pkt p;
	bool got = g_recv(&p, 5000);
	char *log = stderr_capture_end(saved, path);
	cr_assert(got && op_of(&p) == OP_RST, "the guest must get an RST");
	char want[256];
	snprintf(want, sizeof(want),
		 "%s_5690 is too long for a unix socket (109 bytes, at most 107)", uds);
	cr_expect_eq(count_lines(log), 1, "one line: '%s'", log);
	cr_expect(strstr(log, want), "want '%s': '%s'", want, log);
	free(log);
	cr_assert_not(drv_needs_reset(&t));
	/* Port 56: "<uds_path>_56" fits; with a listener there the connect works. */
	struct gconn d = {0};
	int lfd, fd = establish_from_guest(&d, 40002, 56, &lfd);
	g_send(&d, OP_RW, 0, "fits", 4);
	char buf[4];
	host_read_all(fd, buf, 4);
	cr_assert_eq(memcmp(buf, "fits", 4), 0);
	close(fd);
	close(lfd);
}
