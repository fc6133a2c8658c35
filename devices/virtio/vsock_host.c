/* vsock_host.c - the host side of virtio-vsock: the Unix listener and its "CONNECT <port>"
 * protocol, guest-initiated connects to "<uds_path>_<port>", the table of connections and
 * their sockets in the event loop, and the timeouts. */
#include "virtio_vsock_internal.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unix_listener.h"

/* ---- Connections: table and fds ------------------------------------------------ */

void vsock_wake(struct virtio_vsock *vs)
{
	(void)eventfd_write(vs->wake_fd, 1);
}

/* The connection a guest packet from guest_port to host_port belongs to:
 * one the guest knows of. */
struct vsock_conn *vsock_find_conn(struct virtio_vsock *vs, uint32_t guest_port, uint32_t host_port)
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
	c->events = vsock_conn_events(c, vsock_can_send(vs));
	int r = event_loop_add(vs->loop, c->fd, c->events, on_conn_event, c);
	c->watched = r == 0;
	return r;
}

/* Takes the socket out of the loop (from the loop thread: no wait) and
 * closes it. */
static void release_fd(struct virtio_vsock *vs, struct vsock_conn *c)
{
	if (c->watched)
		(void)event_loop_remove(vs->loop, c->fd);
	vsock_conn_close_fd(c);
}

/* Forgets a connection without telling the guest. */
void vsock_drop_conn(struct virtio_vsock *vs, struct vsock_conn *c)
{
	unlink_conn(&vs->conns, c);
	vs->n_conns--;
	release_fd(vs, c);
	vsock_conn_free(c);
}

void vsock_log_host_error(struct virtio_vsock *vs, const struct vsock_conn *c, int err)
{
	socklen_t len = sizeof(err);
	if (!err && (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || !err))
		err = EIO;
	log_limited(
	    &vs->log_limit,
	    "vsock: host socket of guest port %u <-> host port %u: %s: the guest gets an RST",
	    c->guest_port, c->host_port, strerror(err));
}

/* Queues an RST to the guest from (src_cid, src_port) to its dst_port. */
void vsock_queue_rst(struct virtio_vsock *vs, uint64_t src_cid, uint32_t src_port,
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
void vsock_reset_conn(struct virtio_vsock *vs, struct vsock_conn *c)
{
	bool known = c->state != VSOCK_HOST_CMD && (c->state != VSOCK_REQUEST || c->request_sent);
	if (known)
		vsock_queue_rst(vs, VSOCK_HOST_CID, c->host_port, c->guest_port);
	log_debug("vsock: reset guest port %u <-> host port %u", c->guest_port, c->host_port);
	vsock_drop_conn(vs, c);
}

/* Carries out what the connection's state machine asked for. */
void vsock_apply(struct virtio_vsock *vs, struct vsock_conn *c, enum vsock_action act)
{
	if (act == VSOCK_RESET) {
		vsock_reset_conn(vs, c);
	} else if (act == VSOCK_CLOSE) {
		vsock_drop_conn(vs, c);
	} else if (c->state == VSOCK_CLOSING && c->fd >= 0) {
		release_fd(vs, c);
		c->deadline_ms = monotonic_ms() + VSOCK_CLOSE_MS;
	}
}

/* ---- Guest-initiated connections ------------------------------------------------- */

/* A guest REQUEST to host port P: connect to "<uds_path>_P". */
void vsock_guest_connect(struct virtio_vsock *vs, const struct virtio_vsock_hdr *h)
{
	uint32_t guest_port = le32toh(h->src_port), host_port = le32toh(h->dst_port);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int len = snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", vs->uds_path, host_port);
	int fd = -1;
	if (len < 0 || (size_t)len >= sizeof(a.sun_path)) {
		/* A config error only the guest's port reveals: say it, once a port. */
		log_limited(&vs->log_limit,
			    "vsock: guest connect to host port %u refused: %s_%u is too long for a "
			    "unix socket (%d bytes, at most %zu); use a shorter [vsock] uds_path",
			    host_port, vs->uds_path, host_port, len, sizeof(a.sun_path) - 1);
		vsock_queue_rst(vs, VSOCK_HOST_CID, host_port, guest_port);
		return;
	}
	if (vs->n_conns >= VSOCK_MAX_CONNS)
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
	vs->conns_total++;
	log_debug("vsock: guest port %u connected to %s", guest_port, a.sun_path);
	return;
refused:
	log_debug("vsock: guest port %u -> host port %u refused (%s)", guest_port, host_port,
		  vs->n_conns >= VSOCK_MAX_CONNS ? "too many connections" : strerror(errno));
	if (fd >= 0)
		close(fd);
	vsock_queue_rst(vs, VSOCK_HOST_CID, host_port, guest_port);
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
		vsock_drop_conn(vs, c);
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
			vsock_reset_conn(vs, c); /* the host gave up waiting */
		return;
	case VSOCK_ESTABLISHED:
		break;
	default:
		return;
	}
	if (events & EPOLLERR) {
		vsock_log_host_error(vs, c, 0);
		vsock_reset_conn(vs, c);
		return;
	}
	if (events & EPOLLOUT) {
		enum vsock_action act = vsock_conn_on_writable(c);
		if (act != VSOCK_KEEP) {
			vsock_apply(vs, c, act);
			return;
		}
	}
	if (events & EPOLLHUP)
		c->host_hup = true;
	if (events & (EPOLLIN | EPOLLHUP))
		vsock_read_host(vs, c);
}

static void on_conn_event(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct virtio_vsock *vs = c->owner;
	vsock_lock(vs);
	conn_event(vs, c, events);
	vsock_settle(vs);
	vsock_unlock(vs);
}

void vsock_on_listen(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	(void)events;
	vsock_lock(vs);
	for (int i = 0; i < 16; i++) {
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
		vs->conns_total++;
	}
	vsock_settle(vs);
	vsock_unlock(vs);
}

/* Moves data from parked (closed-by-host) sockets. */
void vsock_on_wake(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	eventfd_t v;
	(void)events;
	(void)eventfd_read(vs->wake_fd, &v);
	vsock_lock(vs);
	struct vsock_conn *next;
	for (struct vsock_conn *c = vs->conns; c; c = next) {
		next = c->next;
		if (c->parked)
			vsock_read_host(vs, c);
	}
	vsock_settle(vs);
	vsock_unlock(vs);
}

void vsock_on_timer(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	uint64_t expirations;
	(void)events;
	(void)!read(vs->timer_fd, &expirations, sizeof(expirations));
	vsock_lock(vs);
	vs->timer_at = 0;
	uint64_t now = monotonic_ms();
	struct vsock_conn *next;
	for (struct vsock_conn *c = vs->conns; c; c = next) {
		next = c->next;
		if (c->deadline_ms && c->deadline_ms <= now) {
			log_limited(&vs->log_limit, "vsock: guest port %u did not answer %s",
				    c->guest_port,
				    c->state == VSOCK_REQUEST ? "REQUEST" : "SHUTDOWN");
			vsock_reset_conn(vs, c);
		}
	}
	vsock_settle(vs);
	vsock_unlock(vs);
}

/* ---- The listener ---------------------------------------------------------------- */

/* Binds and listens on uds_path, replacing a stale socket file. */
int vsock_listen_uds(struct virtio_vsock *vs, char *err, size_t errlen)
{
	struct unix_listener l;
	int r = unix_listener_open(&l, vs->uds_path, 0, err, errlen);
	if (r < 0)
		return r;
	vs->listen_fd = l.fd;
	vs->uds_dev = l.dev;
	vs->uds_ino = l.ino;
	return 0;
}
