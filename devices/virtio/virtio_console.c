/* virtio_console.c - virtio console port 0: transmitq bytes to stdout, a file or nowhere;
 * bytes from an input fd into receiveq, read ahead into a small pending buffer. */
#include "virtio_console.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "serve_queue.h"
#include "virtio_type.h"

#define RX_QUEUE 0 /* receiveq: host to guest */
#define TX_QUEUE 1 /* transmitq: guest to host */
#define F_SIZE	 (1ULL << VIRTIO_CONSOLE_F_SIZE)

struct virtio_console {
	struct event_loop *loop;
	struct virtio_mmio *t; /* set at activate; used by the input callback */

	/* VIRTIO_CONSOLE_F_SIZE: offered when stdout is a terminal */
	bool size_offered;
	uint16_t cols, rows; /* config space; the terminal's size */
	bool size_told;	     /* the driver was sent a config interrupt */

	/* output */
	struct out_sink out; /* fd -1: output = none */
	bool out_owned;	     /* fd opened here: closed at destroy */
	uint64_t tx_bytes;   /* bytes the guest sent */

	/* input */
	int in_fd;	   /* -1: none */
	bool in_tty;	   /* a 0-byte read alone is not the end (^D) */
	bool in_pollable;  /* false once epoll refused in_fd */
	bool in_watched;   /* in_fd is on the loop */
	bool in_eof;	   /* end of input or read error: read no more */
	uint64_t rx_bytes; /* bytes handed to the guest */
	size_t pending_off, pending_len;
	uint8_t pending[VIRTIO_CONSOLE_PENDING];
};

/* The size of the terminal on stdout; false when it is not one. */
static bool term_size(uint16_t *cols, uint16_t *rows)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return false;
	*cols = ws.ws_col;
	*rows = ws.ws_row;
	return true;
}

/* With F_SIZE negotiated: looks at the terminal's size and tells the
 * driver when it changed (or always, with `force`). */
static void size_update(struct virtio_console *con, struct virtio_mmio *t, bool force)
{
	uint16_t cols, rows;
	if (!(virtio_mmio_features(t) & F_SIZE) || !term_size(&cols, &rows))
		return;
	if (!force && cols == con->cols && rows == con->rows)
		return;
	con->cols = cols;
	con->rows = rows;
	virtio_mmio_config_changed(t);
}

/* ---- Output ---------------------------------------------------------------- */

/* queue_server.serve for transmitq: the chain's bytes to the output. */
static int tx_serve(void *dev, struct virtio_mmio *t, const struct virtq_chain *chain,
		    uint32_t *used_len)
{
	struct virtio_console *con = dev;
	if (chain->num_readable != chain->num_segs) {
		virtio_mmio_fail(t, "transmitq: chain %u has a device-writable buffer",
				 chain->head);
		return -1;
	}
	for (unsigned i = 0; i < chain->num_readable; i++)
		out_sink_write(&con->out, chain->segs[i].host, chain->segs[i].len);
	con->tx_bytes += chain->readable_bytes;
	*used_len = 0;
	return 0;
}

/* queue_notify for transmitq: every chain's bytes to the output, in order. */
static void tx_kick(struct virtio_console *con, struct virtio_mmio *t)
{
	struct virtq_seg segs[VIRTIO_CONSOLE_MAX_SEGS];
	struct queue_server server = {
	    .queue = TX_QUEUE,
	    .queue_name = "transmitq",
	    .segs = segs,
	    .seg_cap = VIRTIO_CONSOLE_MAX_SEGS,
	    .max_chains = VIRTIO_CONSOLE_TX_BUDGET,
	    .serve = tx_serve,
	    .opaque = con,
	};
	out_sink_batch(&con->out);
	if (serve_queue(t, &server) > 0) {
		/* Not on the empty kick at DRIVER_OK: guest output means its
		 * console is up. */
		size_update(con, t, !con->size_told);
		con->size_told = true;
	}
}

/* ---- Input ----------------------------------------------------------------- */

/* Moves pending input into receiveq chains while there are both; counts
 * the chains pushed in *pushed. False after a guest error (device failed). */
static bool rx_deliver(struct virtio_console *con, struct virtio_mmio *t, unsigned *pushed)
{
	struct virtq *vq = virtio_mmio_queue(t, RX_QUEUE);
	struct virtq_seg segs[VIRTIO_CONSOLE_MAX_SEGS];
	struct virtq_chain chain;
	virtq_chain_init(&chain, segs, VIRTIO_CONSOLE_MAX_SEGS);
	while (con->pending_len > 0) {
		int r = virtq_pop(vq, &chain);
		if (r == 0)
			break;
		if (r < 0) {
			virtio_mmio_fail(t, "receiveq: %s", strerror(-r));
			return false;
		}
		if (chain.num_readable) {
			virtio_mmio_fail(t, "receiveq: chain %u has a device-readable buffer",
					 chain.head);
			return false;
		}
		size_t n = con->pending_len;
		if (n > chain.writable_bytes)
			n = (size_t)chain.writable_bytes;
		(void)virtq_chain_write(&chain, 0, con->pending + con->pending_off, n);
		(void)virtq_push(vq, chain.head, (uint32_t)n);
		(*pushed)++;
		con->rx_bytes += n;
		con->pending_off += n;
		con->pending_len -= n;
	}
	if (con->pending_len == 0)
		con->pending_off = 0;
	return true;
}

/* One read from in_fd into the (empty) pending buffer. `hup`: the fd
 * reported a hang-up or error, so a 0-byte read is the end even on a
 * terminal. */
static void input_read(struct virtio_console *con, bool hup)
{
	ssize_t n;
	do
		n = read(con->in_fd, con->pending, sizeof(con->pending));
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		con->pending_off = 0;
		con->pending_len = (size_t)n;
	} else if (n == 0) {
		if (!con->in_tty || hup)
			con->in_eof = true;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		log_error("virtio-console: input: %s; no more input", strerror(errno));
		con->in_eof = true;
	}
}

static void on_input(void *opaque, uint32_t events);

/* Starts watching in_fd on the loop; on EPERM (a regular file, /dev/null)
 * in_fd is read on kicks instead. */
static void input_watch(struct virtio_console *con)
{
	int r = event_loop_add(con->loop, con->in_fd, EPOLLIN, on_input, con);
	if (r == 0) {
		con->in_watched = true;
	} else if (r == -EPERM) {
		con->in_pollable = false;
	} else {
		log_error("virtio-console: cannot watch input fd %d: %s; no input", con->in_fd,
			  strerror(-r));
		con->in_eof = true;
	}
}

/* Stops watching in_fd. On the loop thread (every device callback) or
 * with the loop not running (destroy). */
static void input_unwatch(struct virtio_console *con)
{
	if (!con->in_watched)
		return;
	(void)event_loop_remove(con->loop, con->in_fd);
	con->in_watched = false;
}

/* Reads in_fd right here while it has data (poll says so) and receive
 * buffers remain: for fds the loop does not watch. */
static void input_read_now(struct virtio_console *con, struct virtio_mmio *t, unsigned *pushed)
{
	while (!con->in_eof && con->pending_len == 0) {
		struct pollfd p = {.fd = con->in_fd, .events = POLLIN};
		if (poll(&p, 1, 0) <= 0)
			return;
		input_read(con, p.revents & (POLLHUP | POLLERR | POLLNVAL));
		if (con->pending_len == 0 || !rx_deliver(con, t, pushed))
			return;
	}
}

/* queue_notify for receiveq: new buffers. Hands over what is pending, then
 * (re)starts reading in_fd if everything fitted. */
static void rx_kick(struct virtio_console *con, struct virtio_mmio *t)
{
	unsigned pushed = 0;
	if (rx_deliver(con, t, &pushed) && con->pending_len == 0 && con->in_fd >= 0 &&
	    !con->in_eof) {
		if (con->loop && con->in_pollable && !con->in_watched)
			input_watch(con);
		if (!con->in_watched && !con->in_eof)
			input_read_now(con, t, &pushed);
	}
	if (pushed)
		virtio_mmio_notify_used(t, RX_QUEUE);
}

/* Loop callback for in_fd: one read, handed over as far as buffers go. The
 * fd stops being watched when input is left over (no buffers), at the end
 * of input, and when the device is not active. */
static void on_input(void *opaque, uint32_t events)
{
	struct virtio_console *con = opaque;
	struct virtio_mmio *t = con->t;
	unsigned pushed = 0;
	virtio_mmio_lock(t);
	if (con->in_watched && virtio_mmio_active(t) && rx_deliver(con, t, &pushed) &&
	    con->pending_len == 0) {
		input_read(con, events & (EPOLLHUP | EPOLLERR));
		(void)rx_deliver(con, t, &pushed);
	}
	if (pushed)
		virtio_mmio_notify_used(t, RX_QUEUE);
	if (con->pending_len || con->in_eof || !virtio_mmio_active(t))
		input_unwatch(con);
	virtio_mmio_unlock(t);
}

/* ---- Device ops ------------------------------------------------------------ */

static uint64_t console_device_features(void *dev)
{
	const struct virtio_console *con = dev;
	return con->size_offered ? F_SIZE : 0;
}

static void console_config_read(void *dev, uint32_t offset, void *data, unsigned len)
{
	const struct virtio_console *con = dev;
	struct virtio_console_config cfg = {
	    .cols = htole16(con->cols), .rows = htole16(con->rows), .max_nr_ports = htole32(1)};
	memcpy(data, (const uint8_t *)&cfg + offset, len);
}

static int console_activate(void *dev, struct virtio_mmio *t)
{
	struct virtio_console *con = dev;
	con->t = t;
	/* Linux reads cols/rows on config interrupts only, and drops one
	 * that comes before its port 0 exists: the first transmitq chain
	 * (port 0 is up by then) sends it. */
	con->size_told = false;
	return 0;
}

static void console_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct virtio_console *con = dev;
	con->t = t;
	if (queue == RX_QUEUE)
		rx_kick(con, t);
	else if (queue == TX_QUEUE)
		tx_kick(con, t);
}

static void console_reset(void *dev)
{
	struct virtio_console *con = dev;
	input_unwatch(con); /* the next rx kick watches it again */
	con->pending_off = con->pending_len = 0;
}

const struct virtio_device_ops virtio_console_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .queue_max = VIRTIO_CONSOLE_QUEUE_SIZE,
    .features = 0,
    .device_features = console_device_features,
    .config_size = sizeof(struct virtio_console_config),
    .config_read = console_config_read,
    .activate = console_activate,
    .queue_notify = console_queue_notify,
    .reset = console_reset,
};

/* ---- Creation -------------------------------------------------------------- */

/* Connects to the Unix stream socket at `path`; returns the fd or -1 with a
 * one-line reason in err. */
static int connect_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "%s: %s (is a program listening on it?)", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct virtio_console *virtio_console_create(const struct vm_config *cfg, int in_fd,
					     struct event_loop *loop, char *err, size_t errlen)
{
	struct virtio_console *con = calloc(1, sizeof(*con));
	if (!con) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	con->loop = loop;
	con->in_fd = in_fd;
	con->in_pollable = true;
	con->in_tty = in_fd >= 0 && isatty(in_fd);
	int out_fd = -1;
	switch (cfg->vconsole_output) {
	case CONSOLE_STDIO:
		out_fd = STDOUT_FILENO;
		con->size_offered = isatty(STDOUT_FILENO) && term_size(&con->cols, &con->rows) &&
				    con->cols && con->rows;
		if (!con->size_offered)
			con->cols = con->rows = 0;
		break;
	case CONSOLE_FILE:
		out_fd = open(cfg->vconsole_path.path,
			      O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			snprintf(err, errlen, "%s: %s", cfg->vconsole_path.path, strerror(errno));
			free(con);
			return NULL;
		}
		con->out_owned = true;
		break;
	case CONSOLE_SOCKET:
		out_fd = connect_unix(cfg->vconsole_path.path, err, errlen);
		if (out_fd < 0) {
			free(con);
			return NULL;
		}
		con->out_owned = true;
		if (con->in_fd < 0) /* the socket is the input too */
			con->in_fd = out_fd;
		break;
	case CONSOLE_NONE:
	default:
		break;
	}
	out_sink_init(&con->out, out_fd, "virtio-console");
	return con;
}

void virtio_console_on_gone(struct virtio_console *con, void (*gone)(void *), void *opaque)
{
	con->out.on_gone = gone;
	con->out.opaque = opaque;
}

void virtio_console_destroy(struct virtio_console *con)
{
	if (!con)
		return;
	input_unwatch(con);
	if (con->out_owned)
		close(con->out.fd);
	if (con->out.dropped && con->out.fd >= 0)
		log_debug("virtio-console: %llu of %llu output bytes dropped",
			  (unsigned long long)con->out.dropped, (unsigned long long)con->tx_bytes);
	free(con);
}

/* ---- The device type ----------------------------------------------------------------- */

static size_t console_count(const struct vm_config *cfg)
{
	return cfg->vconsole;
}

static void *console_type_create(const struct device_env *env, size_t i, struct device_error *e)
{
	(void)i;
	snprintf(e->section, sizeof(e->section), "vconsole");
	e->at = &env->cfg->vconsole_path.at;
	struct virtio_console *con =
	    virtio_console_create(env->cfg, env->console_in_fd, env->loop, e->msg, sizeof(e->msg));
	if (con && env->cfg->vconsole_output == CONSOLE_STDIO)
		virtio_console_on_gone(con, env->console_gone, env->opaque);
	return con;
}

static void console_type_destroy(void *dev)
{
	virtio_console_destroy(dev);
}

const struct virtio_type virtio_console_type = {"virtio-console",
						&virtio_console_ops,
						console_count,
						console_type_create,
						console_type_destroy,
						NULL,
						NULL};
