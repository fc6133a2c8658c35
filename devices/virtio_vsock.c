/* virtio_vsock.c - virtio socket device (virtio 1.x 5.10) with Firecracker's
 * host protocol: the Unix listener, the rx/tx/event queues, the event-loop
 * glue and the table of connections (vsock_conn.c holds each one's state). */
#include "virtio_vsock.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vsock_conn.h"

#define VSOCK_RX_QUEUE	     0
#define VSOCK_TX_QUEUE	     1
#define VSOCK_EVENT_QUEUE    2
#define VSOCK_QUEUE_SIZE     256
#define VSOCK_MAX_SEGS	     VSOCK_QUEUE_SIZE /* segments per chain we accept */
#define VSOCK_MAX_CONNS	     64
#define VSOCK_MAX_ORPHANS    256	  /* queued RSTs for packets without a connection */
#define VSOCK_MAX_RW	     (64u * 1024) /* payload per RW packet to the guest */
#define VSOCK_READS_PER_CALL 16
#define VSOCK_REQUEST_MS     2000	/* the guest must answer our REQUEST by then */
#define VSOCK_CLOSE_MS	     2000	/* and our SHUTDOWN(both) with RST */
#define VSOCK_FIRST_PORT     (1u << 30) /* host ports for host-initiated connections */
#define HDR_SIZE	     sizeof(struct virtio_vsock_hdr)

/* An RST owed to the guest for a packet or connection that is gone. */
struct orphan_rst {
	uint64_t src_cid;
	uint32_t src_port, dst_port;
};

struct virtio_vsock {
	/* Guards everything below; taken after the transport lock. */
	pthread_mutex_t lock;
	struct virtio_mmio *_Atomic transport; /* known from the first activation */
	struct event_loop *loop;
	uint64_t guest_cid;
	char uds_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t uds_dev;
	ino_t uds_ino;
	int listen_fd, wake_fd, timer_fd;
	bool destroying;
	bool rx_starved; /* the rx queue ran dry: wait for the driver's kick */
	bool rx_pushed, tx_pushed;
	struct vsock_conn *conns;
	unsigned n_conns;
	struct vsock_conn *zombies; /* dropped off the loop thread, fds still watched */
	uint32_t next_port;
	struct orphan_rst orphans[VSOCK_MAX_ORPHANS];
	unsigned n_orphans;
	uint64_t timer_at; /* deadline the timerfd is armed for, 0: disarmed */
	struct virtq_seg rx_segs[VSOCK_MAX_SEGS], tx_segs[VSOCK_MAX_SEGS];
	struct iovec rx_iov[VSOCK_MAX_SEGS], tx_iov[VSOCK_MAX_SEGS];
	struct log_limit log_limit;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- Locking ------------------------------------------------------------------ */

/* For work started from a backend fd: the transport lock (once there is a
 * transport), then ours. Returns the transport, possibly NULL. */
static struct virtio_mmio *vs_lock(struct virtio_vsock *vs)
{
	for (;;) {
		struct virtio_mmio *t = atomic_load(&vs->transport);
		if (t)
			virtio_mmio_lock(t);
		pthread_mutex_lock(&vs->lock);
		if (atomic_load(&vs->transport) == t)
			return t;
		/* Activated meanwhile: take the locks in order again. */
		pthread_mutex_unlock(&vs->lock);
		if (t)
			virtio_mmio_unlock(t);
	}
}

static void vs_unlock(struct virtio_vsock *vs, struct virtio_mmio *t)
{
	pthread_mutex_unlock(&vs->lock);
	if (t)
		virtio_mmio_unlock(t);
}

static bool vs_active(struct virtio_vsock *vs)
{
	struct virtio_mmio *t = atomic_load(&vs->transport);
	return t && virtio_mmio_active(t);
}

static bool can_send(struct virtio_vsock *vs)
{
	return vs_active(vs) && !vs->rx_starved;
}

/* ---- Connections: table and fds ------------------------------------------------ */

static void wake(struct virtio_vsock *vs)
{
	(void)eventfd_write(vs->wake_fd, 1);
}

/* The connection a guest packet from guest_port to host_port belongs to:
 * one the guest knows of. */
static struct vsock_conn *find_conn(struct virtio_vsock *vs, uint32_t guest_port,
				    uint32_t host_port)
{
	for (struct vsock_conn *c = vs->conns; c; c = c->next) {
		if (c->guest_port != guest_port || c->host_port != host_port)
			continue;
		if (c->state == VSOCK_HOST_CMD || (c->state == VSOCK_REQUEST && !c->request_sent))
			continue;
		return c;
	}
	return NULL;
}

static void unlink_conn(struct vsock_conn **list, struct vsock_conn *c)
{
	for (struct vsock_conn **p = list; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			c->next = NULL;
			return;
		}
	}
}

static void on_conn_event(void *opaque, uint32_t events);

/* Starts watching a new connection's socket. */
static int watch_conn(struct virtio_vsock *vs, struct vsock_conn *c)
{
	c->events = vsock_conn_events(c, can_send(vs));
	int r = event_loop_add(vs->loop, c->fd, c->events, on_conn_event, c);
	c->watched = r == 0;
	return r;
}

/* Takes the socket out of the loop and closes it. Loop thread only (the
 * fd's callback takes the transport lock, which our caller holds). */
static void release_fd(struct virtio_vsock *vs, struct vsock_conn *c)
{
	if (c->watched) {
		assert(event_loop_on_thread(vs->loop));
		(void)event_loop_remove(vs->loop, c->fd);
	}
	vsock_conn_close_fd(c);
}

/* Forgets a connection without telling the guest. Off the loop thread a
 * watched socket is shut down now and reaped later on the loop. */
static void drop_conn(struct virtio_vsock *vs, struct vsock_conn *c)
{
	unlink_conn(&vs->conns, c);
	vs->n_conns--;
	if (c->watched && !event_loop_on_thread(vs->loop)) {
		(void)shutdown(c->fd, SHUT_RDWR); /* the host sees the end now */
		(void)event_loop_modify(vs->loop, c->fd, 0);
		c->zombie = true;
		c->next = vs->zombies;
		vs->zombies = c;
		wake(vs);
		return;
	}
	release_fd(vs, c);
	vsock_conn_free(c);
}

static void reap_zombie(struct virtio_vsock *vs, struct vsock_conn *c)
{
	unlink_conn(&vs->zombies, c);
	release_fd(vs, c);
	vsock_conn_free(c);
}

/* Queues an RST to the guest from (src_cid, src_port) to its dst_port. */
static void queue_rst(struct virtio_vsock *vs, uint64_t src_cid, uint32_t src_port,
		      uint32_t dst_port)
{
	if (vs->n_orphans == VSOCK_MAX_ORPHANS) {
		log_limited(&vs->log_limit, "vsock: rx queue starved, RST to port %u dropped",
			    dst_port);
		return;
	}
	vs->orphans[vs->n_orphans++] = (struct orphan_rst){src_cid, src_port, dst_port};
}

/* Ends a connection with an RST to the guest (if the guest knows of it)
 * and closes the host socket. */
static void reset_conn(struct virtio_vsock *vs, struct vsock_conn *c)
{
	bool known = c->state != VSOCK_HOST_CMD && (c->state != VSOCK_REQUEST || c->request_sent);
	if (known)
		queue_rst(vs, VSOCK_HOST_CID, c->host_port, c->guest_port);
	log_debug("vsock: reset guest port %u <-> host port %u", c->guest_port, c->host_port);
	drop_conn(vs, c);
}

/* Carries out what the connection's state machine asked for. */
static void apply(struct virtio_vsock *vs, struct vsock_conn *c, enum vsock_action act)
{
	if (act == VSOCK_RESET) {
		reset_conn(vs, c);
	} else if (act == VSOCK_CLOSE) {
		drop_conn(vs, c);
	} else if (c->state == VSOCK_CLOSING && c->fd >= 0) {
		release_fd(vs, c);
		c->deadline_ms = now_ms() + VSOCK_CLOSE_MS;
	}
}

/* ---- Device -> guest (rx queue) ------------------------------------------------- */

/* Takes an rx buffer. Returns 1, 0 when there is none (rx_starved), or
 * -errno after failing the device for a bad chain. */
static int pop_rx(struct virtio_vsock *vs, struct virtq_chain *chain)
{
	struct virtio_mmio *t = atomic_load(&vs->transport);
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
	if (chain->num_readable || chain->writable_bytes <= HDR_SIZE) {
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
	struct virtio_mmio *t = atomic_load(&vs->transport);
	(void)virtq_chain_write(&chain, 0, h, HDR_SIZE);
	(void)virtq_push(virtio_mmio_queue(t, VSOCK_RX_QUEUE), chain.head, HDR_SIZE);
	vs->rx_pushed = true;
	return 1;
}

/* Sends the queued RSTs and each connection's pending control packets,
 * while rx buffers last. */
static void flush_control(struct virtio_vsock *vs)
{
	if (!vs_active(vs))
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
				c->deadline_ms = now_ms() + VSOCK_REQUEST_MS;
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
	struct virtio_mmio *t = atomic_load(&vs->transport);
	struct virtq *vq = virtio_mmio_queue(t, VSOCK_RX_QUEUE);
	uint64_t max = chain.writable_bytes - HDR_SIZE;
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
	if (n < 0 && !again)
		apply(vs, c, VSOCK_RESET);
	else
		apply(vs, c, vsock_conn_on_host_eof(c, c->host_hup));
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
		apply(vs, c, vsock_conn_on_host_eof(c, true));
		return;
	}
	if (c->watched) {
		(void)event_loop_remove(vs->loop, c->fd);
		c->watched = false;
		c->parked = true;
	}
}

/* Moves host data to the guest for a while. */
static void read_host(struct virtio_vsock *vs, struct vsock_conn *c)
{
	flush_control(vs); /* control packets go out ahead of data */
	for (int i = 0; i < VSOCK_READS_PER_CALL; i++) {
		if (!can_send(vs) || !vsock_conn_wants_read(c))
			break;
		int r = read_one(vs, c);
		if (r < 0)
			return;
		if (r == 0)
			break;
	}
	if (c->host_hup && !(can_send(vs) && vsock_conn_wants_read(c)))
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
		reset_conn(vs, c);
	else if (le16toh(h->op) != VIRTIO_VSOCK_OP_RST)
		queue_rst(vs, le64toh(h->dst_cid), le32toh(h->dst_port), le32toh(h->src_port));
}

/* A guest REQUEST to host port P: connect to "<uds_path>_P". */
static void guest_connect(struct virtio_vsock *vs, const struct virtio_vsock_hdr *h)
{
	uint32_t guest_port = le32toh(h->src_port), host_port = le32toh(h->dst_port);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int len = snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", vs->uds_path, host_port);
	int fd = -1;
	if (vs->n_conns >= VSOCK_MAX_CONNS || len < 0 || (size_t)len >= sizeof(a.sun_path))
		goto refused;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Unix sockets connect at once or fail (EAGAIN: backlog full). */
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto refused;
	struct vsock_conn *c = vsock_conn_new(vs, fd, VSOCK_ESTABLISHED, vs->guest_cid);
	if (!c)
		goto refused;
	c->guest_port = guest_port;
	c->host_port = host_port;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	c->pending = VSOCK_PEND_RESPONSE;
	if (watch_conn(vs, c) < 0) {
		vsock_conn_free(c);
		fd = -1;
		goto refused;
	}
	c->next = vs->conns;
	vs->conns = c;
	vs->n_conns++;
	log_debug("vsock: guest port %u connected to %s", guest_port, a.sun_path);
	return;
refused:
	log_debug("vsock: guest port %u -> host port %u refused (%s)", guest_port, host_port,
		  vs->n_conns >= VSOCK_MAX_CONNS ? "too many connections" : strerror(errno));
	if (fd >= 0)
		close(fd);
	queue_rst(vs, VSOCK_HOST_CID, host_port, guest_port);
}

static void guest_packet(struct virtio_vsock *vs, const struct virtq_chain *chain)
{
	struct virtio_vsock_hdr h;
	(void)virtq_chain_read(chain, 0, &h, HDR_SIZE);
	uint16_t op = le16toh(h.op);
	uint32_t len = le32toh(h.len);
	uint64_t dst_cid = le64toh(h.dst_cid);
	struct vsock_conn *c = dst_cid == VSOCK_HOST_CID
				   ? find_conn(vs, le32toh(h.src_port), le32toh(h.dst_port))
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
			queue_rst(vs, dst_cid, le32toh(h.dst_port), le32toh(h.src_port));
		return;
	}
	if (!c) {
		if (op == VIRTIO_VSOCK_OP_REQUEST)
			guest_connect(vs, &h);
		else if (op != VIRTIO_VSOCK_OP_RST)
			queue_rst(vs, VSOCK_HOST_CID, le32toh(h.dst_port), le32toh(h.src_port));
		return;
	}
	int n_iov = 0;
	if (op == VIRTIO_VSOCK_OP_RW)
		n_iov = chain_iov(chain, 0, chain->num_readable, HDR_SIZE, len, vs->tx_iov);
	apply(vs, c, vsock_conn_on_packet(c, &h, vs->tx_iov, n_iov));
}

static void process_tx(struct virtio_vsock *vs, struct virtio_mmio *t)
{
	struct virtq *vq = virtio_mmio_queue(t, VSOCK_TX_QUEUE);
	struct virtq_chain chain;
	virtq_chain_init(&chain, vs->tx_segs, VSOCK_MAX_SEGS);
	int r;
	while ((r = virtq_pop(vq, &chain)) > 0) {
		if (chain.num_readable != chain.num_segs || chain.readable_bytes < HDR_SIZE) {
			virtio_mmio_fail(t, "tx chain: %llu readable bytes, %u writable segments",
					 (unsigned long long)chain.readable_bytes,
					 chain.num_segs - chain.num_readable);
			return;
		}
		guest_packet(vs, &chain);
		(void)virtq_push(vq, chain.head, 0);
		vs->tx_pushed = true;
	}
	if (r < 0)
		virtio_mmio_fail(t, "tx queue: %s", strerror(-r));
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
 * state, arms the timer and raises the used-buffer interrupts. */
static void settle(struct virtio_vsock *vs)
{
	flush_control(vs);
	bool send_ok = can_send(vs);
	for (struct vsock_conn *c = vs->conns; c; c = c->next) {
		if (c->parked) {
			if (send_ok && vsock_conn_wants_read(c))
				wake(vs);
			continue;
		}
		if (!c->watched)
			continue;
		uint32_t ev = vsock_conn_events(c, send_ok);
		if (ev != c->events && event_loop_modify(vs->loop, c->fd, ev) == 0)
			c->events = ev;
	}
	arm_timer(vs);
	struct virtio_mmio *t = atomic_load(&vs->transport);
	if (t && vs->rx_pushed)
		virtio_mmio_notify_used(t, VSOCK_RX_QUEUE);
	if (t && vs->tx_pushed)
		virtio_mmio_notify_used(t, VSOCK_TX_QUEUE);
	vs->rx_pushed = vs->tx_pushed = false;
}

/* ---- Event-loop callbacks (loop thread) ------------------------------------------------ */

static uint32_t alloc_host_port(struct virtio_vsock *vs, uint32_t guest_port)
{
	for (;;) {
		uint32_t port = vs->next_port++;
		if (vs->next_port == 0)
			vs->next_port = VSOCK_FIRST_PORT;
		bool used = false;
		for (struct vsock_conn *c = vs->conns; c && !used; c = c->next)
			used = c->host_port == port && c->guest_port == guest_port;
		if (!used)
			return port;
	}
}

/* "CONNECT <port>\n" from a host program. */
static void host_command(struct virtio_vsock *vs, struct vsock_conn *c)
{
	uint32_t port;
	int r = vsock_conn_read_command(c, &port);
	if (r == 0)
		return;
	if (r < 0) {
		if (r == -EPROTO)
			log_limited(&vs->log_limit, "vsock: %s: bad command \"%.*s\"", vs->uds_path,
				    (int)c->cmd_len, c->cmd);
		drop_conn(vs, c);
		return;
	}
	c->guest_port = port;
	c->host_port = alloc_host_port(vs, port);
	c->state = VSOCK_REQUEST;
	c->pending = VSOCK_PEND_REQUEST;
	log_debug("vsock: host connection to guest port %u as host port %u", port, c->host_port);
}

static void conn_event(struct virtio_vsock *vs, struct vsock_conn *c, uint32_t events)
{
	switch (c->state) {
	case VSOCK_HOST_CMD:
		host_command(vs, c);
		return;
	case VSOCK_REQUEST:
		if (events & (EPOLLHUP | EPOLLERR))
			reset_conn(vs, c); /* the host gave up waiting */
		return;
	case VSOCK_ESTABLISHED:
		break;
	default:
		return;
	}
	if (events & EPOLLERR) {
		reset_conn(vs, c);
		return;
	}
	if (events & EPOLLOUT) {
		enum vsock_action act = vsock_conn_on_writable(c);
		if (act != VSOCK_KEEP) {
			apply(vs, c, act);
			return;
		}
	}
	if (events & EPOLLHUP)
		c->host_hup = true;
	if (events & (EPOLLIN | EPOLLHUP))
		read_host(vs, c);
}

static void on_conn_event(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct virtio_vsock *vs = c->owner;
	struct virtio_mmio *t = vs_lock(vs);
	if (!vs->destroying) {
		if (c->zombie)
			reap_zombie(vs, c);
		else
			conn_event(vs, c, events);
		settle(vs);
	}
	vs_unlock(vs, t);
}

static void on_listen(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	(void)events;
	struct virtio_mmio *t = vs_lock(vs);
	for (int i = 0; i < 16 && !vs->destroying; i++) {
		int fd = accept4(vs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_limited(&vs->log_limit, "vsock: %s: accept: %s", vs->uds_path,
					    strerror(errno));
			break;
		}
		struct vsock_conn *c = NULL;
		if (vs->n_conns >= VSOCK_MAX_CONNS)
			log_limited(&vs->log_limit, "vsock: %s: too many connections",
				    vs->uds_path);
		else
			c = vsock_conn_new(vs, fd, VSOCK_HOST_CMD, vs->guest_cid);
		if (!c || watch_conn(vs, c) < 0) {
			if (c)
				vsock_conn_free(c);
			else
				close(fd);
			continue;
		}
		c->next = vs->conns;
		vs->conns = c;
		vs->n_conns++;
	}
	if (!vs->destroying)
		settle(vs);
	vs_unlock(vs, t);
}

/* Reaps zombies and moves data from parked (closed-by-host) sockets. */
static void on_wake(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	eventfd_t v;
	(void)events;
	(void)eventfd_read(vs->wake_fd, &v);
	struct virtio_mmio *t = vs_lock(vs);
	if (!vs->destroying) {
		while (vs->zombies)
			reap_zombie(vs, vs->zombies);
		struct vsock_conn *next;
		for (struct vsock_conn *c = vs->conns; c; c = next) {
			next = c->next;
			if (c->parked)
				read_host(vs, c);
		}
		settle(vs);
	}
	vs_unlock(vs, t);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	uint64_t expirations;
	(void)events;
	(void)!read(vs->timer_fd, &expirations, sizeof(expirations));
	struct virtio_mmio *t = vs_lock(vs);
	if (!vs->destroying) {
		vs->timer_at = 0;
		uint64_t now = now_ms();
		struct vsock_conn *next;
		for (struct vsock_conn *c = vs->conns; c; c = next) {
			next = c->next;
			if (c->deadline_ms && c->deadline_ms <= now) {
				log_limited(&vs->log_limit,
					    "vsock: guest port %u did not answer %s", c->guest_port,
					    c->state == VSOCK_REQUEST ? "REQUEST" : "SHUTDOWN");
				reset_conn(vs, c);
			}
		}
		settle(vs);
	}
	vs_unlock(vs, t);
}

/* ---- Device ops (transport lock held) ------------------------------------------------------ */

static void vsock_config_read(void *dev, uint32_t offset, void *data, unsigned len)
{
	struct virtio_vsock *vs = dev;
	uint64_t cid = htole64(vs->guest_cid);
	memcpy(data, (const uint8_t *)&cid + offset, len);
}

static int vsock_activate(void *dev, struct virtio_mmio *t)
{
	struct virtio_vsock *vs = dev;
	assert(t->loop == vs->loop); /* callbacks must run on our loop's thread */
	pthread_mutex_lock(&vs->lock);
	atomic_store(&vs->transport, t);
	vs->rx_starved = false;
	pthread_mutex_unlock(&vs->lock);
	return 0; /* the transport now kicks every queue: pending packets go out */
}

static void vsock_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct virtio_vsock *vs = dev;
	pthread_mutex_lock(&vs->lock);
	if (!vs->destroying && atomic_load(&vs->transport) == t) {
		if (queue == VSOCK_RX_QUEUE)
			vs->rx_starved = false; /* parked sockets get woken by settle */
		else if (queue == VSOCK_TX_QUEUE)
			process_tx(vs, t);
		/* The event queue: its buffers wait for an event we never send. */
		settle(vs);
	}
	pthread_mutex_unlock(&vs->lock);
}

/* Every connection the guest knows of ends (the host sees its socket
 * close); host connections still waiting to reach the guest stay. */
static void vsock_reset(void *dev)
{
	struct virtio_vsock *vs = dev;
	pthread_mutex_lock(&vs->lock);
	struct vsock_conn *next;
	for (struct vsock_conn *c = vs->conns; c; c = next) {
		next = c->next;
		if (c->state == VSOCK_HOST_CMD || (c->state == VSOCK_REQUEST && !c->request_sent))
			continue;
		drop_conn(vs, c);
	}
	vs->n_orphans = 0;
	vs->rx_starved = false;
	pthread_mutex_unlock(&vs->lock);
}

const struct virtio_device_ops virtio_vsock_ops = {
    .name = "virtio-vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = 3,
    .queue_max = VSOCK_QUEUE_SIZE,
    .features = 0, /* stream sockets only: no SEQPACKET */
    .config_size = sizeof(struct virtio_vsock_config),
    .config_read = vsock_config_read,
    .activate = vsock_activate,
    .queue_notify = vsock_queue_notify,
    .reset = vsock_reset,
};

/* ---- Creation and teardown ----------------------------------------------------------- */

/* Binds and listens on uds_path, replacing a stale socket file. */
static int listen_uds(struct virtio_vsock *vs, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", vs->uds_path);
	struct stat st;
	if (lstat(vs->uds_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket", vs->uds_path);
			return -EEXIST;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int r = probe < 0						? -errno
			: connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0
										: -errno;
		if (probe >= 0)
			close(probe);
		if (r == 0 || r == -EAGAIN) {
			snprintf(err, errlen, "%s: in use by a running listener (another VM?)",
				 vs->uds_path);
			return -EADDRINUSE;
		}
		if (r == -ECONNREFUSED && unlink(vs->uds_path) != 0 && errno != ENOENT) {
			r = -errno;
			snprintf(err, errlen, "%s: cannot remove the stale socket: %s",
				 vs->uds_path, strerror(-r));
			return r;
		}
	}
	vs->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (vs->listen_fd < 0 || bind(vs->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(vs->listen_fd, 64) != 0 || stat(vs->uds_path, &st) != 0) {
		int r = -errno;
		snprintf(err, errlen, "%s: cannot listen: %s", vs->uds_path, strerror(-r));
		return r;
	}
	vs->uds_dev = st.st_dev;
	vs->uds_ino = st.st_ino;
	return 0;
}

struct virtio_vsock *virtio_vsock_create(uint32_t guest_cid, const char *uds_path,
					 struct event_loop *loop, char *err, size_t errlen)
{
	if (guest_cid < 3 || guest_cid == UINT32_MAX) {
		snprintf(err, errlen, "guest cid %u is reserved (use 3 .. 4294967294)", guest_cid);
		return NULL;
	}
	if (!uds_path || !*uds_path || !loop) {
		snprintf(err, errlen, "uds_path is required");
		return NULL;
	}
	struct virtio_vsock *vs = calloc(1, sizeof(*vs));
	if (!vs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	vs->listen_fd = vs->wake_fd = vs->timer_fd = -1;
	if (strlen(uds_path) >= sizeof(vs->uds_path)) {
		snprintf(err, errlen, "%s: longer than %zu bytes", uds_path,
			 sizeof(vs->uds_path) - 1);
		free(vs);
		return NULL;
	}
	strcpy(vs->uds_path, uds_path);
	if (pthread_mutex_init(&vs->lock, NULL) != 0) {
		snprintf(err, errlen, "cannot create a mutex");
		free(vs);
		return NULL;
	}
	vs->loop = loop;
	vs->guest_cid = guest_cid;
	vs->next_port = VSOCK_FIRST_PORT;
	vs->log_limit.burst = 5;
	if (listen_uds(vs, err, errlen) < 0)
		goto fail;
	vs->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vs->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int r = vs->wake_fd < 0 || vs->timer_fd < 0 ? -errno : 0;
	if (r == 0)
		r = event_loop_add(loop, vs->listen_fd, EPOLLIN, on_listen, vs);
	if (r == 0)
		r = event_loop_add(loop, vs->wake_fd, EPOLLIN, on_wake, vs);
	if (r == 0)
		r = event_loop_add(loop, vs->timer_fd, EPOLLIN, on_timer, vs);
	if (r < 0) {
		snprintf(err, errlen, "%s: event loop: %s", vs->uds_path, strerror(-r));
		goto fail;
	}
	return vs;
fail:
	virtio_vsock_destroy(vs);
	return NULL;
}

static void close_watched(struct event_loop *loop, int fd)
{
	if (fd < 0)
		return;
	(void)event_loop_remove(loop, fd);
	close(fd);
}

static void free_list(struct event_loop *loop, struct vsock_conn *c)
{
	while (c) {
		struct vsock_conn *next = c->next;
		if (c->watched)
			(void)event_loop_remove(loop, c->fd);
		vsock_conn_free(c);
		c = next;
	}
}

void virtio_vsock_destroy(struct virtio_vsock *vs)
{
	if (!vs)
		return;
	/* From here on callbacks return at once; the lists stay as they are. */
	pthread_mutex_lock(&vs->lock);
	vs->destroying = true;
	pthread_mutex_unlock(&vs->lock);
	close_watched(vs->loop, vs->listen_fd);
	close_watched(vs->loop, vs->wake_fd);
	close_watched(vs->loop, vs->timer_fd);
	free_list(vs->loop, vs->conns);
	free_list(vs->loop, vs->zombies);
	struct stat st;
	if (vs->uds_ino && stat(vs->uds_path, &st) == 0 && st.st_dev == vs->uds_dev &&
	    st.st_ino == vs->uds_ino)
		unlink(vs->uds_path);
	pthread_mutex_destroy(&vs->lock);
	free(vs);
}
