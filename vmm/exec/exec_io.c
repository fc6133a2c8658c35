/* exec_io.c - the host side of minnow exec's streams (exec_io.h). */
#include "exec_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exec_proto.h"
#include "log.h"
#include "seccomp_filter.h"
#include "term.h"
#include "vm.h"
#include "timing.h"

static const uint32_t ports[EXEC_PORTS] = {EXEC_PORT_STDIN, EXEC_PORT_STDOUT, EXEC_PORT_STDERR,
					   EXEC_PORT_CONTROL};

#define ESCAPE_CHAR 0x01 /* Ctrl-A, as in minnow run */

/* ---- stdin: the spec, then minnow's stdin, on the loop ---------------------------- */

static void on_in_sock(void *opaque, uint32_t events);
static void on_stdin(void *opaque, uint32_t events);

/* The guest closed the stdin connection (CMD no longer reads it): stop. */
static void in_close(struct exec_io *io)
{
	if (io->in_watched)
		(void)event_loop_remove(io->loop, io->in_fd);
	io->in_watched = false;
	if (io->in_sock >= 0) {
		(void)event_loop_remove(io->loop, io->in_sock);
		close(io->in_sock);
		io->in_sock = -1;
	}
	io->in_eof = true;
}

/* The terminal's escapes, as minnow run's console: Ctrl-A x quits,
 * Ctrl-A Ctrl-A is one Ctrl-A, Ctrl-A and another byte are dropped. */
static void filter_escapes(struct exec_io *io)
{
	size_t w = 0;
	for (size_t i = 0; i < io->len; i++) {
		uint8_t b = io->buf[i];
		if (io->escape) {
			io->escape = false;
			if (b == 'x') {
				io->len = 0;
				if (io->on_quit)
					io->on_quit(io->quit_opaque);
				return;
			}
			if (b != ESCAPE_CHAR)
				continue;
		} else if (b == ESCAPE_CHAR) {
			io->escape = true;
			continue;
		}
		io->buf[w++] = b;
	}
	io->len = w;
}

/* Reads a chunk of stdin into buf (which is empty); EOF and errors end it. */
static void read_stdin(struct exec_io *io)
{
	ssize_t n;
	do
		n = read(io->in_fd, io->buf, sizeof(io->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		io->in_eof = true;
		return;
	}
	io->len = (size_t)n;
	io->off = 0;
	if (io->escapes)
		filter_escapes(io);
}

/* Watches stdin for reading (want) or not. An fd epoll refuses (a regular
 * file, /dev/null) is read directly instead. */
static void watch_stdin(struct exec_io *io, bool want)
{
	if (want == io->in_watched || io->in_unpollable)
		return;
	if (!want) {
		(void)event_loop_remove(io->loop, io->in_fd);
		io->in_watched = false;
		return;
	}
	int r = event_loop_add(io->loop, io->in_fd, EPOLLIN, on_stdin, io);
	if (r == -EPERM)
		io->in_unpollable = true;
	else if (r < 0)
		io->in_eof = true; /* closed (EBADF) or worse: no input */
	else
		io->in_watched = true;
}

/* Moves bytes towards the guest until something has to be waited for:
 * the socket's room (EPOLLOUT) or stdin (EPOLLIN). At stdin's EOF, once
 * everything is sent, shuts the socket down for writing: CMD reads EOF. */
static void pump_in(struct exec_io *io)
{
	while (io->in_sock >= 0 && !io->in_shut) {
		const uint8_t *p;
		size_t n;
		if (io->spec_off < io->spec_len) {
			p = io->spec + io->spec_off;
			n = io->spec_len - io->spec_off;
		} else if (io->off < io->len) {
			p = io->buf + io->off;
			n = io->len - io->off;
		} else if (io->in_eof) {
			watch_stdin(io, false);
			(void)shutdown(io->in_sock, SHUT_WR);
			io->in_shut = true;
			(void)event_loop_modify(io->loop, io->in_sock, 0);
			return;
		} else {
			watch_stdin(io, true);
			if (io->in_unpollable) {
				read_stdin(io);
				continue;
			}
			if (io->in_watched)
				(void)event_loop_modify(io->loop, io->in_sock, 0);
			return; /* on_stdin calls again */
		}
		ssize_t w = send(io->in_sock, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			watch_stdin(io, false);
			(void)event_loop_modify(io->loop, io->in_sock, EPOLLOUT);
			return;
		}
		if (w < 0) {
			in_close(io);
			return;
		}
		if (io->spec_off < io->spec_len)
			io->spec_off += (size_t)w;
		else
			io->off += (size_t)w;
	}
}

static void on_stdin(void *opaque, uint32_t events)
{
	struct exec_io *io = opaque;
	(void)events;
	if (io->off == io->len)
		read_stdin(io);
	pump_in(io);
}

static void on_in_sock(void *opaque, uint32_t events)
{
	struct exec_io *io = opaque;
	if (events & (EPOLLHUP | EPOLLERR)) {
		in_close(io);
		return;
	}
	pump_in(io);
}

/* ---- the control connection: records to the guest, on the loop ---------------------- */

static void ctl_close(struct exec_io *io)
{
	if (io->ctl_sock < 0)
		return;
	(void)event_loop_remove(io->loop, io->ctl_sock);
	close(io->ctl_sock);
	io->ctl_sock = -1;
	io->ctl_len = 0;
}

/* Sends what is queued; watches for room when the socket is full. */
static void ctl_flush(struct exec_io *io)
{
	size_t off = 0;
	while (io->ctl_sock >= 0 && off < io->ctl_len) {
		ssize_t w = send(io->ctl_sock, io->ctl_out + off, io->ctl_len - off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			ctl_close(io);
			return;
		}
		off += (size_t)w;
	}
	if (io->ctl_sock < 0)
		return;
	memmove(io->ctl_out, io->ctl_out + off, io->ctl_len - off);
	io->ctl_len -= off;
	(void)event_loop_modify(io->loop, io->ctl_sock, EPOLLIN | (io->ctl_len ? EPOLLOUT : 0));
}

static void on_ctl_sock(void *opaque, uint32_t events)
{
	struct exec_io *io = opaque;
	if (events & EPOLLIN) {
		uint8_t junk[256]; /* nothing is defined guest to host */
		ssize_t n = recv(io->ctl_sock, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			ctl_close(io);
			return;
		}
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		ctl_close(io);
		return;
	}
	ctl_flush(io);
}

void exec_io_control(struct exec_io *io, const struct exec_ctl *c)
{
	if (io->ctl_sock < 0 || io->ctl_len + EXEC_CTL_LEN > sizeof(io->ctl_out))
		return;
	exec_ctl_encode(c, io->ctl_out + io->ctl_len);
	io->ctl_len += EXEC_CTL_LEN;
	ctl_flush(io);
}

/* ---- stdout and stderr: one thread each --------------------------------------------- */

/* Writes all of [p, p + n) to fd, waiting as long as it takes (a
 * non-blocking fd is polled). Returns 0 or -errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			(void)poll(&pfd, 1, -1);
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Moves what the socket has straight into o->fd when that is a pipe
 * (no copy through user space). Returns bytes moved, 0 at the socket's
 * EOF, -EINVAL when splice cannot serve these fds, or -errno. */
static ssize_t splice_some(struct exec_out *o)
{
	for (;;) {
		ssize_t n = splice(o->sock, NULL, o->fd, NULL, EXEC_IO_BUF, SPLICE_F_MOVE);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		struct pollfd pfd = {.fd = o->fd, .events = POLLOUT}; /* a non-blocking pipe */
		(void)poll(&pfd, 1, -1);
	}
}

static void *out_thread(void *arg)
{
	struct exec_out *o = arg;
	static __thread uint8_t buf[EXEC_IO_BUF];
	/* Before the filter, which has no fstat for this thread. */
	struct stat st;
	bool use_splice = fstat(o->fd, &st) == 0 && S_ISFIFO(st.st_mode);
	if (seccomp_enter(SECCOMP_THREAD_IO, 0) < 0) {
		/* Logged; this thread never runs unfiltered. */
		term_restore();
		_exit(EXIT_HOST_FAILURE);
	}
	for (;;) {
		if (use_splice) {
			ssize_t n = splice_some(o);
			if (n > 0) {
				atomic_fetch_add(&o->bytes, (uint64_t)n);
				continue;
			}
			if (n == 0)
				break;
			if (n == -EPIPE) {
				if (o->io->on_gone)
					o->io->on_gone(o->io->opaque);
				break;
			}
			use_splice = false; /* e.g. EINVAL: read and write instead */
		}
		ssize_t n = read(o->sock, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		int r = write_all(o->fd, buf, (size_t)n);
		if (r < 0) {
			/* As a local CMD would die of SIGPIPE: the VM ends so. */
			if (r == -EPIPE && o->io->on_gone)
				o->io->on_gone(o->io->opaque);
			else
				log_error("exec: writing %s: %s",
					  o->fd == STDOUT_FILENO ? "stdout" : "stderr",
					  strerror(-r));
			break;
		}
		atomic_fetch_add(&o->bytes, (uint64_t)n);
	}
	/* Every byte is written: the guest may now report CMD's status. */
	(void)shutdown(o->sock, SHUT_RDWR);
	atomic_store(&o->done, true);
	return NULL;
}

static int start_out(struct exec_out *o, int sock)
{
	int fl = fcntl(sock, F_GETFL);
	if (fl < 0 || fcntl(sock, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	o->sock = sock;
	/* Signals stay with the main thread (signalfd) and the vCPUs (kicks). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&o->thread, NULL, out_thread, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	o->started = true;
	return 0;
}

/* ---- the listeners ---------------------------------------------------------------- */

static void on_accept(void *opaque, uint32_t events)
{
	struct exec_listener *l = opaque;
	struct exec_io *io = l->io;
	int i = l->stream;
	(void)events;
	int fd = accept4(io->listen_fd[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* One connection per stream: the listener has done its job. */
	(void)event_loop_remove(io->loop, io->listen_fd[i]);
	close(io->listen_fd[i]);
	io->listen_fd[i] = -1;
	unlink(io->paths[i]);
	int r = 0;
	if (i == 0 && io->on_asked) {
		io->in_sock = fd; /* kept open: the guest waits on it for its command */
		io->connected |= 1u;
		io->on_asked(io->asked_opaque);
		return;
	}
	if (i == 0) {
		io->in_sock = fd;
		r = event_loop_add(io->loop, fd, EPOLLOUT, on_in_sock, io);
		if (r == 0)
			pump_in(io);
	} else if (i == 3) {
		io->ctl_sock = fd;
		r = event_loop_add(io->loop, fd, EPOLLIN, on_ctl_sock, io);
		if (r < 0)
			io->ctl_sock = -1;
	} else {
		r = start_out(&io->out[i - 1], fd);
	}
	if (r < 0) {
		log_error("exec: stream %d: %s", i, strerror(-r));
		if (i == 0)
			io->in_sock = -1;
		close(fd);
		return;
	}
	io->connected |= 1u << i;
	log_debug("exec: guest connected stream %d", i);
}

static int listen_at(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* stale: minnow exec's own, from a run that was killed */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1) != 0) {
		int r = -errno;
		snprintf(err, errlen, "%s: cannot listen: %s", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

int exec_io_init(struct exec_io *io, struct event_loop *loop, const char *uds_base, uint8_t *spec,
		 size_t spec_len, void (*on_gone)(void *), void *opaque, char *err, size_t errlen)
{
	memset(io, 0, sizeof(*io));
	io->ready = true;
	io->loop = loop;
	io->on_gone = on_gone;
	io->opaque = opaque;
	io->spec = spec;
	io->spec_len = spec_len;
	io->in_sock = -1;
	io->ctl_sock = -1;
	io->in_fd = STDIN_FILENO;
	for (int i = 0; i < 2; i++) {
		io->out[i].io = io;
		io->out[i].fd = i == 0 ? STDOUT_FILENO : STDERR_FILENO;
		io->out[i].sock = -1;
	}
	for (unsigned i = 0; i < EXEC_PORTS; i++)
		io->listen_fd[i] = -1;
	for (int i = 0; i < (int)EXEC_PORTS; i++) {
		int n = snprintf(io->paths[i], sizeof(io->paths[i]), "%s_%u", uds_base, ports[i]);
		if (n < 0 || (size_t)n >= sizeof(io->paths[i])) {
			io->paths[i][0] = '\0';
			snprintf(err, errlen, "%s_%u: socket path too long", uds_base, ports[i]);
			return -ENAMETOOLONG;
		}
		int fd = listen_at(io->paths[i], err, errlen);
		if (fd < 0) {
			io->paths[i][0] = '\0';
			return fd;
		}
		io->listen_fd[i] = fd;
		io->lst[i] = (struct exec_listener){io, i};
		int r = event_loop_add(loop, fd, EPOLLIN, on_accept, &io->lst[i]);
		if (r < 0) {
			snprintf(err, errlen, "event loop: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

bool exec_io_started(const struct exec_io *io)
{
	return io->connected == (1u << EXEC_PORTS) - 1;
}

bool exec_io_asked(const struct exec_io *io)
{
	return io->connected & 1u;
}

/* Joins o's thread within the deadline (monotonic ms); false if it is
 * still busy (writing to a reader that does not read). */
static bool join_out(struct exec_out *o, uint64_t deadline_ms)
{
	if (!atomic_load(&o->done))
		(void)shutdown(o->sock, SHUT_RD); /* what is queued is still read */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = monotonic_ms();
	uint64_t left = deadline_ms > now ? deadline_ms - now : 0;
	ts.tv_sec += (time_t)(left / 1000);
	ts.tv_nsec += (long)(left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(o->thread, NULL, &ts) == 0;
}

void exec_io_fini(struct exec_io *io, unsigned wait_ms)
{
	if (!io->ready)
		return;
	io->ready = false;
	uint64_t deadline = monotonic_ms() + wait_ms;
	for (int i = 0; i < 2; i++) {
		struct exec_out *o = &io->out[i];
		if (o->started && join_out(o, deadline))
			o->started = false;
		if (!o->started && o->sock >= 0)
			close(o->sock); /* a thread left behind keeps its socket */
		o->sock = -1;
	}
	in_close(io);
	ctl_close(io);
	for (unsigned i = 0; i < EXEC_PORTS; i++) {
		if (io->listen_fd[i] >= 0) {
			(void)event_loop_remove(io->loop, io->listen_fd[i]);
			close(io->listen_fd[i]);
			io->listen_fd[i] = -1;
		}
		if (io->paths[i][0])
			unlink(io->paths[i]);
	}
	free(io->spec);
	io->spec = NULL;
}
