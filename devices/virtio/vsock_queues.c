/* vsock_queues.c - virtio-vsock packets between the device and the guest: control packets,
 * RSTs and host data into rx buffers, guest packets from the tx queue to their connections,
 * and the settling of sockets, timer and interrupts after each piece of work. */
#include "virtio_vsock_internal.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "serve_queue.h"

/* ---- Device -> guest (rx queue) ------------------------------------------------- */

/* Takes an rx buffer. Returns 1, 0 when there is none (rx_starved), or
 * -errno after failing the device for a bad chain. */
static int pop_rx(struct virtio_vsock *vs, struct virtq_chain *chain)
{
	struct virtio_mmio *t = vs->transport;
	struct virtq *vq = virtio_mmio_queue(t, VSOCK_RX_QUEUE);
	virtq_chain_init(chain, vs->rx_segs, VSOCK_MAX_SEGS);
	int r = virtq_pop(vq, chain);
	if (r < 0) {
		virtio_mmio_fail(t, "rx queue: %s", strerror(-r));
		return r;
	}
	if (r == 0) {
		vs->rx_starved = true;
		return 0;
	}
	/* A buffer that holds just the header is legal (control packets). */
	if (chain->num_readable || chain->writable_bytes < HDR_SIZE) {
		virtio_mmio_fail(t, "rx buffer of %llu writable bytes (%u readable segments)",
				 (unsigned long long)chain->writable_bytes, chain->num_readable);
		return -EINVAL;
	}
	return 1;
}

/* Puts a header-only packet in an rx buffer. Returns pop_rx()'s result. */
static int send_control(struct virtio_vsock *vs, const struct virtio_vsock_hdr *h)
{
	struct virtq_chain chain;
	int r = pop_rx(vs, &chain);
	if (r <= 0)
		return r;
	struct virtio_mmio *t = vs->transport;
	(void)virtq_chain_write(&chain, 0, h, HDR_SIZE);
	(void)virtq_push(virtio_mmio_queue(t, VSOCK_RX_QUEUE), chain.head, HDR_SIZE);
	vs->rx_pushed = true;
	return 1;
}

/* Sends the queued RSTs and each connection's pending control packets,
 * while rx buffers last. */
static void flush_control(struct virtio_vsock *vs)
{
	if (!vsock_active(vs))
		return;
	unsigned sent = 0;
	while (sent < vs->n_orphans) {
		const struct orphan_rst *o = &vs->orphans[sent];
		struct virtio_vsock_hdr h = {
		    .src_cid = htole64(o->src_cid),
		    .dst_cid = htole64(vs->guest_cid),
		    .src_port = htole32(o->src_port),
		    .dst_port = htole32(o->dst_port),
		    .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		    .op = htole16(VIRTIO_VSOCK_OP_RST),
		};
		if (send_control(vs, &h) <= 0)
			break;
		sent++;
	}
	memmove(vs->orphans, vs->orphans + sent, (vs->n_orphans - sent) * sizeof(vs->orphans[0]));
	vs->n_orphans -= sent;
	if (vs->n_orphans)
		return;
	static const uint16_t ops[] = {VIRTIO_VSOCK_OP_REQUEST, VIRTIO_VSOCK_OP_RESPONSE,
				       VIRTIO_VSOCK_OP_CREDIT_UPDATE,
				       VIRTIO_VSOCK_OP_CREDIT_REQUEST, VIRTIO_VSOCK_OP_SHUTDOWN};
	for (struct vsock_conn *c = vs->conns; c; c = c->next) {
		while (c->pending) {
			unsigned bit = (unsigned)__builtin_ctz(c->pending);
			assert(bit < sizeof(ops) / sizeof(ops[0]));
			struct virtio_vsock_hdr h;
			vsock_conn_header(c, &h, ops[bit]);
			if (send_control(vs, &h) <= 0)
				return;
			c->pending &= ~(1u << bit);
			if (ops[bit] == VIRTIO_VSOCK_OP_REQUEST) {
				c->request_sent = true;
				c->deadline_ms = monotonic_ms() + VSOCK_REQUEST_MS;
			}
		}
	}
}

/* Builds an iovec over `len` bytes of the chain's segments [first, end)
 * starting `skip` bytes in. Returns the iovec count. */
static int chain_iov(const struct virtq_chain *chain, unsigned first, unsigned end, size_t skip,
		     size_t len, struct iovec *iov)
{
	int n = 0;
	for (unsigned i = first; i < end && len > 0; i++) {
		const struct virtq_seg *s = &chain->segs[i];
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		size_t take = s->len - skip < len ? s->len - skip : len;
		iov[n++] = (struct iovec){(uint8_t *)s->host + skip, take};
		len -= take;
		skip = 0;
	}
	return n;
}

/* Reads what the host socket has (within the guest's credit) into one rx
 * buffer as an RW packet. Returns 1 when a packet went out, 0 when there
 * is nothing to do now, -1 when the connection changed state or is gone. */
static int read_one(struct virtio_vsock *vs, struct vsock_conn *c)
{
	uint32_t credit = vsock_conn_credit(c);
	struct virtq_chain chain;
	if (credit == 0 || pop_rx(vs, &chain) <= 0)
		return 0;
	struct virtio_mmio *t = vs->transport;
	struct virtq *vq = virtio_mmio_queue(t, VSOCK_RX_QUEUE);
	uint64_t max = chain.writable_bytes - HDR_SIZE;
	if (max == 0) {
		/* No room for data: the buffer carries a CREDIT_UPDATE instead,
		 * so that the ring moves on to the guest's next buffer. */
		struct virtio_vsock_hdr h;
		vsock_conn_header(c, &h, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
		(void)virtq_chain_write(&chain, 0, &h, HDR_SIZE);
		(void)virtq_push(vq, chain.head, HDR_SIZE);
		vs->rx_pushed = true;
		return 1;
	}
	if (max > credit)
		max = credit;
	if (max > VSOCK_MAX_RW)
		max = VSOCK_MAX_RW;
	int n_iov =
	    chain_iov(&chain, chain.num_readable, chain.num_segs, HDR_SIZE, max, vs->rx_iov);
	ssize_t n;
	do
		n = readv(c->fd, vs->rx_iov, n_iov);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		struct virtio_vsock_hdr h;
		vsock_conn_header(c, &h, VIRTIO_VSOCK_OP_RW);
		h.len = htole32((uint32_t)n);
		(void)virtq_chain_write(&chain, 0, &h, HDR_SIZE);
		(void)virtq_push(vq, chain.head, (uint32_t)(HDR_SIZE + (size_t)n));
		vs->rx_pushed = true;
		vsock_conn_sent(c, (uint32_t)n);
		return 1;
	}
	virtq_unpop(vq);
	bool again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	if (again && !c->parked)
		return 0;
	if (n < 0 && !again) {
		vsock_log_host_error(vs, c, errno);
		vsock_apply(vs, c, VSOCK_RESET);
	} else
		vsock_apply(vs, c, vsock_conn_on_host_eof(c, c->host_hup));
	return -1;
}

/* The host closed its socket but we cannot read the rest now: stop
 * watching it (EPOLLHUP would fire for ever) until credit or rx buffers
 * come back; if the guest takes no more data, it is the end. */
static void host_gone(struct virtio_vsock *vs, struct vsock_conn *c)
{
	if (c->fd < 0 || c->state != VSOCK_ESTABLISHED)
		return;
	if (c->host_eof || (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV)) {
		vsock_apply(vs, c, vsock_conn_on_host_eof(c, true));
		return;
	}
	if (c->watched) {
		(void)event_loop_remove(vs->loop, c->fd);
		c->watched = false;
		c->parked = true;
	}
}

/* Moves host data to the guest for a while. */
void vsock_read_host(struct virtio_vsock *vs, struct vsock_conn *c)
{
	flush_control(vs); /* control packets go out ahead of data */
	for (int i = 0; i < VSOCK_READS_PER_CALL; i++) {
		if (!vsock_can_send(vs) || !vsock_conn_wants_read(c))
			break;
		int r = read_one(vs, c);
		if (r < 0)
			return;
		if (r == 0)
			break;
	}
	if (c->host_hup && !(vsock_can_send(vs) && vsock_conn_wants_read(c)))
		host_gone(vs, c);
}

/* ---- Guest -> device (tx queue) --------------------------------------------------- */

/* A packet we refuse: RST its connection, or answer it with an RST. */
static void refuse(struct virtio_vsock *vs, const struct virtio_vsock_hdr *h, struct vsock_conn *c,
		   const char *why)
{
	log_limited(&vs->log_limit, "vsock: guest packet op %u %u -> %u refused: %s",
		    le16toh(h->op), le32toh(h->src_port), le32toh(h->dst_port), why);
	if (c)
		vsock_reset_conn(vs, c);
	else if (le16toh(h->op) != VIRTIO_VSOCK_OP_RST)
		vsock_queue_rst(vs, le64toh(h->dst_cid), le32toh(h->dst_port),
				le32toh(h->src_port));
}

static void guest_packet(struct virtio_vsock *vs, const struct virtq_chain *chain)
{
	struct virtio_vsock_hdr h;
	(void)virtq_chain_read(chain, 0, &h, HDR_SIZE);
	uint16_t op = le16toh(h.op);
	uint32_t len = le32toh(h.len);
	uint64_t dst_cid = le64toh(h.dst_cid);
	struct vsock_conn *c = dst_cid == VSOCK_HOST_CID
				   ? vsock_find_conn(vs, le32toh(h.src_port), le32toh(h.dst_port))
				   : NULL;
	if (len > chain->readable_bytes - HDR_SIZE)
		return refuse(vs, &h, c, "len beyond the buffer");
	if (le64toh(h.src_cid) != vs->guest_cid)
		return refuse(vs, &h, c, "wrong src_cid");
	if (le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM)
		return refuse(vs, &h, c, "not a stream");
	if (op < VIRTIO_VSOCK_OP_REQUEST || op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return refuse(vs, &h, c, "unknown op");
	if (dst_cid != VSOCK_HOST_CID) {
		if (op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_rst(vs, dst_cid, le32toh(h.dst_port), le32toh(h.src_port));
		return;
	}
	if (!c) {
		if (op == VIRTIO_VSOCK_OP_REQUEST)
			vsock_guest_connect(vs, &h);
		else if (op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_rst(vs, VSOCK_HOST_CID, le32toh(h.dst_port),
					le32toh(h.src_port));
		return;
	}
	int n_iov = 0;
	if (op == VIRTIO_VSOCK_OP_RW)
		n_iov = chain_iov(chain, 0, chain->num_readable, HDR_SIZE, len, vs->tx_iov);
	vsock_apply(vs, c, vsock_conn_on_packet(c, &h, vs->tx_iov, n_iov));
}

/* queue_server.serve for the tx queue: one guest packet. */
static int tx_serve(void *dev, struct virtio_mmio *t, const struct virtq_chain *chain,
		    uint32_t *used_len)
{
	if (chain->num_readable != chain->num_segs || chain->readable_bytes < HDR_SIZE) {
		virtio_mmio_fail(t, "tx chain: %llu readable bytes, %u writable segments",
				 (unsigned long long)chain->readable_bytes,
				 chain->num_segs - chain->num_readable);
		return -1;
	}
	guest_packet(dev, chain);
	*used_len = 0;
	return 0;
}

void vsock_process_tx(struct virtio_vsock *vs, struct virtio_mmio *t)
{
	struct queue_server server = {
	    .queue = VSOCK_TX_QUEUE,
	    .queue_name = "tx queue",
	    .segs = vs->tx_segs,
	    .seg_cap = VSOCK_MAX_SEGS,
	    .max_chains = VSOCK_TX_BUDGET,
	    .serve = tx_serve,
	    .opaque = vs,
	};
	(void)serve_queue(t, &server);
}

/* ---- After every piece of work ------------------------------------------------------ */

static void arm_timer(struct virtio_vsock *vs)
{
	uint64_t next = 0;
	for (struct vsock_conn *c = vs->conns; c; c = c->next) {
		if (c->deadline_ms && (!next || c->deadline_ms < next))
			next = c->deadline_ms;
	}
	if (next == vs->timer_at)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(next / 1000);
	its.it_value.tv_nsec = (long)(next % 1000) * 1000000;
	(void)timerfd_settime(vs->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	vs->timer_at = next;
}

/* Sends what is pending, sets each socket's epoll events to match its
 * state, arms the timer and raises the rx queue's used-buffer interrupt
 * (the tx queue's is raised by serve_queue()). */
void vsock_settle(struct virtio_vsock *vs)
{
	flush_control(vs);
	bool send_ok = vsock_can_send(vs);
	for (struct vsock_conn *c = vs->conns; c; c = c->next) {
		if (c->parked) {
			if (send_ok && vsock_conn_wants_read(c))
				vsock_wake(vs);
			continue;
		}
		if (!c->watched)
			continue;
		uint32_t ev = vsock_conn_events(c, send_ok);
		if (ev != c->events && event_loop_modify(vs->loop, c->fd, ev) == 0)
			c->events = ev;
	}
	arm_timer(vs);
	struct virtio_mmio *t = vs->transport;
	if (t && vs->rx_pushed)
		virtio_mmio_notify_used(t, VSOCK_RX_QUEUE);
	vs->rx_pushed = false;
}
