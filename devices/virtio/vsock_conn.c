/* vsock_conn.c - the per-connection half of virtio-vsock: credit
 * accounting, the guest->host byte ring, host socket I/O and the state
 * machine for packets from the guest. */
#include "vsock_conn.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SHUTDOWN_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

struct vsock_conn *vsock_conn_new(void *owner, int fd, enum vsock_state state, uint64_t guest_cid)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->owner = owner;
	c->fd = fd;
	c->state = state;
	c->guest_cid = guest_cid;
	return c;
}

void vsock_conn_close_fd(struct vsock_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->watched = false;
	c->parked = false;
	c->events = 0;
}

void vsock_conn_free(struct vsock_conn *c)
{
	if (!c)
		return;
	vsock_conn_close_fd(c);
	free(c->out);
	free(c);
}

uint32_t vsock_conn_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

bool vsock_conn_wants_read(const struct vsock_conn *c)
{
	if (c->fd < 0)
		return false;
	if (c->state == VSOCK_HOST_CMD)
		return true;
	return c->state == VSOCK_ESTABLISHED && !c->host_eof &&
	       !(c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
	       !(c->pending & (VSOCK_PEND_REQUEST | VSOCK_PEND_RESPONSE)) &&
	       vsock_conn_credit(c) > 0;
}

uint32_t vsock_conn_events(const struct vsock_conn *c, bool can_send)
{
	if (c->fd < 0)
		return 0;
	if (c->state == VSOCK_HOST_CMD)
		return EPOLLIN;
	if (c->state != VSOCK_ESTABLISHED)
		return 0;
	uint32_t ev = c->out_len ? EPOLLOUT : 0;
	if (can_send && vsock_conn_wants_read(c))
		ev |= EPOLLIN;
	return ev;
}

void vsock_conn_header(struct vsock_conn *c, struct virtio_vsock_hdr *h, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(VSOCK_HOST_CID);
	h->dst_cid = htole64(c->guest_cid);
	h->src_port = htole32(c->host_port);
	h->dst_port = htole32(c->guest_port);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
	h->flags = htole32(op == VIRTIO_VSOCK_OP_SHUTDOWN ? c->shutdown_flags : 0);
	h->buf_alloc = htole32(VSOCK_CONN_BUF_ALLOC);
	h->fwd_cnt = htole32(c->fwd_cnt);
	c->adv_fwd_cnt = c->fwd_cnt;
}

void vsock_conn_sent(struct vsock_conn *c, uint32_t n)
{
	c->tx_cnt += n;
	if (vsock_conn_credit(c) == 0 && !c->credit_requested) {
		c->pending |= VSOCK_PEND_CREDIT_REQUEST;
		c->credit_requested = true;
	}
}

/* Parses "CONNECT <port>" (the newline already removed, a trailing CR
 * tolerated). */
static int parse_command(char *line, uint32_t *port)
{
	size_t len = strlen(line);
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	static const char verb[] = "CONNECT ";
	if (strncmp(line, verb, sizeof(verb) - 1) != 0)
		return -EPROTO;
	const char *p = line + sizeof(verb) - 1;
	if (*p < '0' || *p > '9')
		return -EPROTO;
	uint64_t v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EPROTO;
	}
	if (*p != '\0')
		return -EPROTO;
	*port = (uint32_t)v;
	return 1;
}

int vsock_conn_read_command(struct vsock_conn *c, uint32_t *port)
{
	char peek[VSOCK_CMD_MAX];
	size_t room = VSOCK_CMD_MAX - 1 - c->cmd_len;
	ssize_t n = recv(c->fd, peek, room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	/* Consume the line only: what follows it is the host's first data. */
	const char *nl = memchr(peek, '\n', (size_t)n);
	size_t take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
	ssize_t got = recv(c->fd, c->cmd + c->cmd_len, take, MSG_DONTWAIT);
	if (got != (ssize_t)take)
		return got < 0 ? -errno : -EIO;
	c->cmd_len += (unsigned)take;
	if (!nl)
		return c->cmd_len >= VSOCK_CMD_MAX - 1 ? -EPROTO : 0;
	c->cmd[c->cmd_len - 1] = '\0';
	return parse_command(c->cmd, port);
}

/* ---- The guest->host ring ---------------------------------------------------- */

/* Copies iov's bytes after the first `skip` into the ring. The caller has
 * checked that they fit (credit). Returns 0 or -ENOMEM. */
static int ring_append(struct vsock_conn *c, const struct iovec *iov, int iovcnt, size_t skip)
{
	if (!c->out) {
		c->out = malloc(VSOCK_CONN_BUF_ALLOC);
		if (!c->out)
			return -ENOMEM;
	}
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		p += skip;
		len -= skip;
		skip = 0;
		while (len > 0) {
			uint32_t tail = (c->out_head + c->out_len) % VSOCK_CONN_BUF_ALLOC;
			size_t n = VSOCK_CONN_BUF_ALLOC - tail;
			if (n > len)
				n = len;
			memcpy(c->out + tail, p, n);
			c->out_len += (uint32_t)n;
			p += n;
			len -= n;
		}
	}
	return 0;
}

/* sendmsg without SIGPIPE or blocking: bytes written, 0 when the socket is
 * full, or -errno. */
static ssize_t send_iov(int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
	ssize_t n;
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return n;
}

/* fwd_cnt advanced: tell the guest when its view of our free space has
 * fallen below the threshold. */
static void credit_check(struct vsock_conn *c)
{
	uint32_t used = c->rx_cnt - c->adv_fwd_cnt;
	if (c->fwd_cnt != c->adv_fwd_cnt && used > VSOCK_CONN_BUF_ALLOC - VSOCK_CREDIT_THRESHOLD)
		c->pending |= VSOCK_PEND_CREDIT_UPDATE;
}

/* Once everything the guest sent is written: half-close the host socket
 * after the guest's SHUTDOWN(SEND); RST (the reply) after SHUTDOWN(both). */
static enum vsock_action after_flush(struct vsock_conn *c)
{
	if (c->out_len)
		return VSOCK_KEEP;
	if ((c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->host_shut_wr) {
		(void)shutdown(c->fd, SHUT_WR);
		c->host_shut_wr = true;
	}
	return c->peer_shutdown == SHUTDOWN_BOTH ? VSOCK_RESET : VSOCK_KEEP;
}

enum vsock_action vsock_conn_on_writable(struct vsock_conn *c)
{
	if (c->fd < 0 || c->state != VSOCK_ESTABLISHED)
		return VSOCK_KEEP;
	while (c->out_len) {
		struct iovec iov[2];
		uint32_t first = VSOCK_CONN_BUF_ALLOC - c->out_head;
		if (first > c->out_len)
			first = c->out_len;
		iov[0] = (struct iovec){c->out + c->out_head, first};
		iov[1] = (struct iovec){c->out, c->out_len - first};
		ssize_t n = send_iov(c->fd, iov, iov[1].iov_len ? 2 : 1);
		if (n < 0)
			return VSOCK_RESET;
		if (n == 0)
			break;
		c->out_head = (uint32_t)((c->out_head + (size_t)n) % VSOCK_CONN_BUF_ALLOC);
		c->out_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	credit_check(c);
	return after_flush(c);
}

/* RW from the guest: within our credit, straight to the host socket when
 * nothing is queued before it, the rest into the ring. */
static enum vsock_action guest_data(struct vsock_conn *c, const struct iovec *iov, int iovcnt,
				    uint32_t len)
{
	if (c->state != VSOCK_ESTABLISHED || (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND))
		return VSOCK_RESET;
	if (len == 0)
		return VSOCK_KEEP;
	if ((uint64_t)(c->rx_cnt - c->adv_fwd_cnt) + len > VSOCK_CONN_BUF_ALLOC)
		return VSOCK_RESET; /* beyond the credit we advertised */
	c->rx_cnt += len;
	size_t written = 0;
	if (c->out_len == 0) {
		ssize_t n = send_iov(c->fd, iov, iovcnt);
		if (n < 0)
			return VSOCK_RESET;
		written = (size_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (written < len && ring_append(c, iov, iovcnt, written) < 0)
		return VSOCK_RESET;
	credit_check(c);
	return VSOCK_KEEP;
}

/* The guest accepted our REQUEST: tell the host program which port. */
static enum vsock_action guest_response(struct vsock_conn *c)
{
	if (c->state != VSOCK_REQUEST || !c->request_sent)
		return VSOCK_RESET;
	char line[24];
	int len = snprintf(line, sizeof(line), "OK %u\n", c->host_port);
	struct iovec iov = {line, (size_t)len};
	if (send_iov(c->fd, &iov, 1) != len)
		return VSOCK_RESET;
	c->state = VSOCK_ESTABLISHED;
	c->deadline_ms = 0;
	return VSOCK_KEEP;
}

static enum vsock_action guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	if (c->state != VSOCK_ESTABLISHED)
		return VSOCK_RESET;
	c->peer_shutdown |= flags & SHUTDOWN_BOTH;
	return after_flush(c);
}

enum vsock_action vsock_conn_on_packet(struct vsock_conn *c, const struct virtio_vsock_hdr *h,
				       const struct iovec *iov, int iovcnt)
{
	uint16_t op = le16toh(h->op);
	uint32_t fwd = le32toh(h->fwd_cnt);
	if (fwd != c->peer_fwd_cnt)
		c->credit_requested = false;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = fwd;
	if (op == VIRTIO_VSOCK_OP_RST)
		return VSOCK_CLOSE;
	if (c->state == VSOCK_CLOSING)
		return VSOCK_KEEP; /* the host is gone: only the RST matters now */
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		return guest_response(c);
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		return guest_shutdown(c, le32toh(h->flags));
	case VIRTIO_VSOCK_OP_RW:
		return guest_data(c, iov, iovcnt, le32toh(h->len));
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		return VSOCK_KEEP;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (c->state != VSOCK_ESTABLISHED)
			return VSOCK_RESET;
		c->pending |= VSOCK_PEND_CREDIT_UPDATE;
		return VSOCK_KEEP;
	default: /* REQUEST on a connection that exists */
		return VSOCK_RESET;
	}
}

enum vsock_action vsock_conn_on_host_eof(struct vsock_conn *c, bool hup)
{
	c->host_eof = true;
	c->host_hup |= hup;
	c->pending |= VSOCK_PEND_SHUTDOWN;
	c->shutdown_flags |= VIRTIO_VSOCK_SHUTDOWN_SEND;
	if (!c->host_hup)
		return VSOCK_KEEP;
	/* Nothing can reach the host any more. */
	if (c->out_len)
		return VSOCK_RESET;
	c->shutdown_flags |= VIRTIO_VSOCK_SHUTDOWN_RCV;
	c->state = VSOCK_CLOSING;
	return VSOCK_KEEP;
}
