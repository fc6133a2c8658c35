/* virtio_vsock.c - the virtio-vsock scenario: a listener on port 1234 that
 * accepts the host's connection and echoes a line, credit request/update,
 * then a guest-initiated connection to host port 5678, each closed with
 * SHUTDOWN and RST; and test=vsock-peer-gone. */
#include "io.h"
#include "virtio.h"

#define VSOCK_HOST_CID	  2
#define VSOCK_TYPE_STREAM 1
#define RX_BUFS		  8
#define RX_LEN		  4096
#define LISTEN_PORT	  1234
#define HOST_PORT	  5678
#define LOCAL_PORT	  49152
#define BUF_ALLOC	  65536
#define LINE_MAX	  256

enum {
	OP_REQUEST = 1,
	OP_RESPONSE = 2,
	OP_RST = 3,
	OP_SHUTDOWN = 4,
	OP_RW = 5,
	OP_CREDIT_UPDATE = 6,
	OP_CREDIT_REQUEST = 7,
};

#define SHUTDOWN_RCV  1
#define SHUTDOWN_SEND 2

struct __attribute__((packed)) vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};
_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr");

struct vsock {
	struct vdev *d;
	struct virtq *rx, *tx, *ev;
	uint8_t *txbuf;
	uint64_t cid;
	/* the packet last received */
	struct vsock_hdr h;
	uint8_t payload[RX_LEN];
};

struct conn {
	uint32_t local_port, peer_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt, fwd_cnt;
	unsigned credit_updates; /* CREDIT_UPDATEs received */
	unsigned credit_requests;
	uint32_t shutdown; /* flags the peer sent */
	bool rst;
	char line[LINE_MAX];
	size_t line_len;
	bool line_done;
};

static bool vs_open(struct vsock *v, struct vdev *d)
{
	v->d = d;
	v->rx = fw_alloc(sizeof(*v->rx), 64);
	v->tx = fw_alloc(sizeof(*v->tx), 64);
	v->ev = fw_alloc(sizeof(*v->ev), 64);
	v->txbuf = fw_alloc(sizeof(struct vsock_hdr) + LINE_MAX + 16, 64);
	if (!virtio_begin(d, VIRTIO_BIT(VIRTIO_F_EVENT_IDX)))
		return false;
	v->cid = vdev_cfg64(d, 0);
	if (!virtq_setup(d, v->rx, 0, 16) || !virtq_setup(d, v->tx, 1, 16) ||
	    !virtq_setup(d, v->ev, 2, 4))
		return false;
	for (unsigned i = 0; i < RX_BUFS; i++) {
		struct vq_buf b = {(uint64_t)(uintptr_t)fw_alloc(RX_LEN, 64), RX_LEN, true};
		virtq_add(v->rx, &b, 1);
	}
	for (unsigned i = 0; i < 4; i++) {
		struct vq_buf b = {(uint64_t)(uintptr_t)fw_alloc(8, 8), 8, true};
		virtq_add(v->ev, &b, 1);
	}
	return virtio_driver_ok(d);
}

static bool vs_send(struct vsock *v, struct conn *c, uint16_t op, uint32_t flags, const void *data,
		    uint32_t len)
{
	struct vsock_hdr *h = (struct vsock_hdr *)v->txbuf;
	h->src_cid = v->cid;
	h->dst_cid = VSOCK_HOST_CID;
	h->src_port = c->local_port;
	h->dst_port = c->peer_port;
	h->len = len;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->buf_alloc = BUF_ALLOC;
	h->fwd_cnt = c->fwd_cnt;
	if (len)
		memcpy(v->txbuf + sizeof(*h), data, len);
	struct vq_buf b = {(uint64_t)(uintptr_t)v->txbuf, (uint32_t)sizeof(*h) + len, false};
	if (virtq_transact(v->tx, &b, 1, false, VIRTIO_TIMEOUT_US) < 0)
		return false;
	if (op == OP_RW)
		c->tx_cnt += len;
	return true;
}

/* Sends RST for a packet that belongs to no connection. */
static void vs_refuse(struct vsock *v)
{
	struct conn c = {.local_port = v->h.dst_port, .peer_port = v->h.src_port};
	fw_printf("minnow-test: vsock unexpected op=%u %u->%u: RST\n", v->h.op, v->h.src_port,
		  v->h.dst_port);
	vs_send(v, &c, OP_RST, 0, 0, 0);
}

/* Takes the next received packet into v->h / v->payload (the buffer goes
 * straight back to the device). False after timeout_us. */
static bool vs_recv(struct vsock *v, uint32_t timeout_us)
{
	uint16_t head;
	uint32_t len;
	if (!virtq_wait(v->rx, &head, &len, timeout_us))
		return false;
	if (head >= v->rx->size)
		return false;
	uint8_t *buf = (uint8_t *)(uintptr_t)v->rx->desc[head].addr;
	bool ok = len >= sizeof(v->h) && len <= RX_LEN;
	if (ok) {
		memcpy(&v->h, buf, sizeof(v->h));
		ok = v->h.len <= len - sizeof(v->h);
		if (ok)
			memcpy(v->payload, buf + sizeof(v->h), v->h.len);
	}
	if (!ok)
		fw_printf("minnow-test: vsock bad rx packet: used len %u\n", len);
	struct vq_buf b = {(uint64_t)(uintptr_t)buf, RX_LEN, true};
	virtq_add(v->rx, &b, 1);
	virtq_kick(v->rx);
	return ok;
}

/* Applies the packet in v->h to connection c (it is addressed to it). */
static void vs_handle(struct vsock *v, struct conn *c)
{
	const struct vsock_hdr *h = &v->h;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case OP_RW:
		for (uint32_t i = 0; i < h->len; i++) {
			char ch = (char)v->payload[i];
			if (ch == '\n')
				c->line_done = true;
			else if (!c->line_done && c->line_len + 1 < LINE_MAX)
				c->line[c->line_len++] = ch;
		}
		c->line[c->line_len] = '\0';
		c->fwd_cnt += h->len;
		break;
	case OP_CREDIT_REQUEST:
		c->credit_requests++;
		vs_send(v, c, OP_CREDIT_UPDATE, 0, 0, 0);
		break;
	case OP_CREDIT_UPDATE:
		c->credit_updates++;
		break;
	case OP_SHUTDOWN:
		c->shutdown |= h->flags;
		break;
	case OP_RST:
		c->rst = true;
		break;
	default:
		fw_printf("minnow-test: vsock op=%u on port %u ignored\n", h->op, c->local_port);
		break;
	}
}

/* Receives packets for up to timeout_us, handing those for c to it and
 * refusing the others, until done(c) holds. */
static bool vs_pump(struct vsock *v, struct conn *c, bool (*done)(const struct conn *),
		    uint32_t timeout_us)
{
	uint32_t t0 = fw_time_us();
	while (!done(c)) {
		uint32_t spent = fw_time_us() - t0;
		if (spent >= timeout_us)
			return false;
		if (!vs_recv(v, timeout_us - spent))
			continue;
		if (v->h.dst_cid != v->cid || v->h.src_cid != VSOCK_HOST_CID ||
		    v->h.type != VSOCK_TYPE_STREAM) {
			fw_printf("minnow-test: vsock packet cid %lu->%lu type %u\n", v->h.src_cid,
				  v->h.dst_cid, v->h.type);
			continue;
		}
		if (v->h.dst_port == c->local_port && v->h.src_port == c->peer_port)
			vs_handle(v, c);
		else if (v->h.op != OP_RST)
			vs_refuse(v);
	}
	return true;
}

static bool got_line_and_credit(const struct conn *c)
{
	return c->rst || (c->line_done && c->credit_updates > 0);
}

static bool got_line(const struct conn *c)
{
	return c->rst || c->line_done;
}

static bool closed(const struct conn *c)
{
	return c->rst || c->shutdown == (SHUTDOWN_RCV | SHUTDOWN_SEND);
}

static bool got_rst(const struct conn *c)
{
	return c->rst;
}

static bool got_credit(const struct conn *c)
{
	return c->rst || c->credit_updates > 0;
}

/* Sends a line as RW within the peer's credit (asks for credit first when
 * it does not fit). */
static bool vs_write(struct vsock *v, struct conn *c, const char *s)
{
	uint32_t len = (uint32_t)strlen(s);
	uint32_t room = c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
	if (len > room) {
		c->credit_updates = 0;
		vs_send(v, c, OP_CREDIT_REQUEST, 0, 0, 0);
		if (!vs_pump(v, c, got_credit, VIRTIO_TIMEOUT_US) || c->rst)
			return false;
		room = c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
		if (len > room) {
			fw_printf("minnow-test: vsock no credit (peer buf_alloc %u)\n",
				  c->peer_buf_alloc);
			return false;
		}
	}
	return vs_send(v, c, OP_RW, 0, s, len);
}

/* Port 1234: accept the host's connection, echo one line. */
static bool vs_listen(struct vsock *v)
{
	struct conn c;
	memset(&c, 0, sizeof(c));
	c.local_port = LISTEN_PORT;
	uint32_t t0 = fw_time_us();
	for (;;) {
		if (fw_time_us() - t0 > 20000000u || !vs_recv(v, 20000000u)) {
			fw_printf("minnow-test: vsock no connection request on port %u\n",
				  LISTEN_PORT);
			return false;
		}
		if (v->h.op == OP_REQUEST && v->h.dst_port == LISTEN_PORT &&
		    v->h.src_cid == VSOCK_HOST_CID && v->h.dst_cid == v->cid)
			break;
		if (v->h.op != OP_RST)
			vs_refuse(v);
	}
	c.peer_port = v->h.src_port;
	c.peer_buf_alloc = v->h.buf_alloc;
	c.peer_fwd_cnt = v->h.fwd_cnt;
	fw_printf("minnow-test: vsock request from cid %lu port %u buf_alloc %u\n", v->h.src_cid,
		  c.peer_port, c.peer_buf_alloc);
	if (!vs_send(v, &c, OP_RESPONSE, 0, 0, 0))
		return false;
	if (!vs_send(v, &c, OP_CREDIT_REQUEST, 0, 0, 0))
		return false;
	if (!vs_pump(v, &c, got_line_and_credit, 20000000u) || c.rst) {
		fw_printf("minnow-test: vsock port %u: line=%u credit_updates=%u rst=%u "
			  "partial=%s\n",
			  LISTEN_PORT, c.line_done, c.credit_updates, c.rst, c.line);
		return false;
	}
	fw_printf("minnow-test: vsock credit update buf_alloc=%u fwd_cnt=%u\n", c.peer_buf_alloc,
		  c.peer_fwd_cnt);
	fw_printf("minnow-test: vsock received=%s\n", c.line);
	char out[LINE_MAX + 8];
	memcpy(out, "echo:", 5);
	memcpy(out + 5, c.line, c.line_len);
	out[5 + c.line_len] = '\n';
	out[6 + c.line_len] = '\0';
	if (!vs_write(v, &c, out))
		return false;
	/* The host closes after reading the echo: SHUTDOWN (answered with
	 * RST) or RST. */
	if (!vs_pump(v, &c, closed, 20000000u)) {
		fw_printf("minnow-test: vsock port %u: the host did not close (shutdown=%u)\n",
			  LISTEN_PORT, c.shutdown);
		return false;
	}
	if (!c.rst)
		vs_send(v, &c, OP_RST, 0, 0, 0);
	fw_printf("minnow-test: vsock port %u closed by host op=%s fwd_cnt=%u\n", LISTEN_PORT,
		  c.rst ? "rst" : "shutdown", c.fwd_cnt);
	return true;
}

/* Connects from local port `local` to host port `port` (c is reset first):
 * REQUEST, then waits for RESPONSE. */
static bool vs_dial(struct vsock *v, struct conn *c, uint32_t local, uint32_t port)
{
	memset(c, 0, sizeof(*c));
	c->local_port = local;
	c->peer_port = port;
	if (!vs_send(v, c, OP_REQUEST, 0, 0, 0))
		return false;
	uint32_t t0 = fw_time_us();
	bool connected = false;
	while (!connected) {
		uint32_t spent = fw_time_us() - t0;
		if (spent > 10000000u || !vs_recv(v, 10000000u - spent)) {
			fw_printf("minnow-test: vsock no response from host port %u\n", port);
			return false;
		}
		if (v->h.dst_port != local || v->h.src_port != port) {
			if (v->h.op != OP_RST)
				vs_refuse(v);
			continue;
		}
		if (v->h.op == OP_RST) {
			fw_printf("minnow-test: vsock host port %u refused (RST)\n", port);
			return false;
		}
		if (v->h.op == OP_RESPONSE) {
			connected = true;
			c->peer_buf_alloc = v->h.buf_alloc;
			c->peer_fwd_cnt = v->h.fwd_cnt;
		} else {
			vs_handle(v, c);
		}
	}
	fw_printf("minnow-test: vsock connected to host port %u buf_alloc=%u\n", port,
		  c->peer_buf_alloc);
	return true;
}

/* Connects to host port 5678, sends a line, reads the reply, closes. */
static bool vs_connect(struct vsock *v)
{
	struct conn c;
	if (!vs_dial(v, &c, LOCAL_PORT, HOST_PORT))
		return false;
	if (!vs_write(v, &c, "hello from guest\n"))
		return false;
	if (!vs_pump(v, &c, got_line, 20000000u) || c.rst) {
		fw_printf("minnow-test: vsock no reply from host port %u (rst=%u partial=%s)\n",
			  HOST_PORT, c.rst, c.line);
		return false;
	}
	fw_printf("minnow-test: vsock reply=%s\n", c.line);
	if (!vs_send(v, &c, OP_SHUTDOWN, SHUTDOWN_RCV | SHUTDOWN_SEND, 0, 0))
		return false;
	bool rst = vs_pump(v, &c, got_rst, VIRTIO_TIMEOUT_US);
	fw_printf("minnow-test: vsock shutdown rst_from_host=%u\n", rst);
	if (!rst)
		vs_send(v, &c, OP_RST, 0, 0, 0); /* forcibly, as the spec says */
	return rst;
}

int test_virtio_vsock(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_VSOCK, 0);
	if (!d) {
		fw_printf("minnow-test: virtio-vsock no device\n");
		return FW_EXIT_FAIL;
	}
	struct vsock *v = fw_alloc(sizeof(*v), 64);
	if (!vs_open(v, d))
		return FW_EXIT_FAIL;
	fw_printf("minnow-test: vsock guest_cid=%lu\n", v->cid);
	fw_printf("minnow-test: vsock listening port=%u\n", LISTEN_PORT);
	bool ok = vs_listen(v) && vs_connect(v);
	uint32_t status = vdev_status(d);
	if (status & VIRTIO_S_NEEDS_RESET) {
		fw_printf("minnow-test: vsock status 0x%x\n", status);
		ok = false;
	}
	fw_printf("minnow-test: virtio-vsock %s\n", ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}

/* ---- vsock-peer-gone: the host program behind a connection vanishes ---- */

#define GONE_PORT 5700 /* the host listens on uds_path_5700 */

/* test=vsock-peer-gone: connects to host port 5700, sends a line the host
 * never reads and says "ready"; the host closes its end with that line
 * unread (as a crashed program's end is closed): the guest must get an RST.
 * Then a new connection to the same port carries a line each way. */
int test_vsock_peer_gone(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_VSOCK, 0);
	struct vsock *v = fw_alloc(sizeof(*v), 64);
	struct conn c;
	if (!d || !vs_open(v, d) || !vs_dial(v, &c, LOCAL_PORT, GONE_PORT) ||
	    !vs_write(v, &c, "never read\n")) {
		fw_printf("minnow-test: vsock-peer-gone FAILED to set up\n");
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: vsock-peer-gone ready\n");
	bool rst = vs_pump(v, &c, got_rst, 20000000u) && c.rst;
	fw_printf("minnow-test: vsock-peer-gone rst=%u\n", rst ? 1 : 0);

	struct conn again;
	bool reply = vs_dial(v, &again, LOCAL_PORT + 1, GONE_PORT) &&
		     vs_write(v, &again, "again\n") && vs_pump(v, &again, got_line, 20000000u) &&
		     !again.rst;
	fw_printf("minnow-test: vsock-peer-gone again reply=%s\n", reply ? again.line : "-");
	if (reply) {
		vs_send(v, &again, OP_SHUTDOWN, SHUTDOWN_RCV | SHUTDOWN_SEND, 0, 0);
		if (!vs_pump(v, &again, got_rst, VIRTIO_TIMEOUT_US))
			vs_send(v, &again, OP_RST, 0, 0, 0);
	}
	uint32_t status = vdev_status(d);
	bool ok = rst && reply && !strcmp(again.line, "alive") && !(status & VIRTIO_S_NEEDS_RESET);
	fw_printf("minnow-test: vsock-peer-gone %s\n", ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}
