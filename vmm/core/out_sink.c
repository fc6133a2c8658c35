/* out_sink.c - bounded writes of guest console output (see out_sink.h). */
#include "out_sink.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "timing.h"

/* Writes that make no progress although poll() said the fd was writable
 * (EAGAIN from an fd someone made non-blocking) before the output counts
 * as stalled. */
#define MAX_IDLE_WRITES 100

void out_sink_init(struct out_sink *s, int fd, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->name = name;
	struct stat st;
	s->poll_first =
	    fd >= 0 && (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)));
	s->wait_left_ms = OUT_SINK_STALL_MS;
}

void out_sink_batch(struct out_sink *s)
{
	s->wait_left_ms = OUT_SINK_STALL_MS;
	s->idle_writes = 0;
}

bool out_sink_stalled(const struct out_sink *s)
{
	return s->stalled;
}

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_INTERRUPTED };

/* Waits until fd takes bytes (or reports an error, which write() then
 * returns), charging the time to the batch. At once while stalled. */
static enum wait_result wait_writable(struct out_sink *s)
{
	struct pollfd p = {.fd = s->fd, .events = POLLOUT};
	int timeout = s->stalled ? 0 : (int)s->wait_left_ms;
	uint64_t start = timing_now_us();
	int n = poll(&p, 1, timeout);
	uint64_t spent = (timing_now_us() - start) / 1000;
	s->wait_left_ms -= spent < s->wait_left_ms ? (unsigned)spent : s->wait_left_ms;
	if (n > 0 || (n < 0 && errno != EINTR))
		return WAIT_READY;
	if (n < 0)
		return WAIT_INTERRUPTED;
	return WAIT_TIMEOUT;
}

static void stall(struct out_sink *s)
{
	s->stalled = true;
	s->wait_left_ms = 0;
	if (!s->stall_logged) {
		s->stall_logged = true;
		if (!s->quiet)
			log_error(
			    "%s: output blocked for %d ms; dropping guest output while it stays "
			    "blocked",
			    s->name, OUT_SINK_STALL_MS);
	}
}

static void gone(struct out_sink *s)
{
	s->gone = true;
	if (!s->quiet)
		log_error("%s: the output's reader went away (EPIPE)", s->name);
	if (s->on_gone)
		s->on_gone(s->opaque);
}

size_t out_sink_write(struct out_sink *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;
	if (s->fd < 0 || s->gone) {
		s->dropped += len;
		return 0;
	}
	while (done < len) {
		size_t chunk = len - done;
		if (s->poll_first) {
			if (chunk > PIPE_BUF)
				chunk = PIPE_BUF;
			enum wait_result w = wait_writable(s);
			if (w == WAIT_TIMEOUT)
				stall(s);
			if (w != WAIT_READY)
				break;
		}
		ssize_t n = write(s->fd, p + done, chunk);
		if (n > 0) {
			done += (size_t)n;
			s->stalled = false;
			s->idle_writes = 0;
			continue;
		}
		if (n < 0 && errno == EINTR && !s->poll_first)
			continue;
		if (n < 0 && errno == EINTR)
			break; /* interrupted: a kick, the VM is ending */
		if ((n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) && s->poll_first) {
			if (++s->idle_writes < MAX_IDLE_WRITES)
				continue;
			stall(s);
			break;
		}
		if (n < 0 && errno == EPIPE) {
			gone(s);
			break;
		}
		if (!s->error_logged) {
			s->error_logged = true;
			if (!s->quiet)
				log_error("%s: output: %s; dropping guest output", s->name,
					  n < 0 ? strerror(errno) : "write returned 0");
		}
		break;
	}
	s->written += done;
	s->dropped += len - done;
	return done;
}
