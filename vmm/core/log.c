/* log.c - stderr logging with a per-call-site rate limit and bounded writes. */
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "timing.h"

static int verbose;
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static bool stderr_stalled; /* gave up waiting: drop lines until a write works */
static unsigned dropped_lines;

/* Writes one whole line to stderr, waiting at most LOG_STALL_MS for it to
 * take bytes (none while stalled), so that a stuck reader never holds up
 * the thread that logs (often a vCPU). Lines that cannot go are counted
 * and their number said once stderr takes bytes again. */
static void write_line(const char *line, size_t len)
{
	pthread_mutex_lock(&write_lock);
	struct pollfd p = {.fd = STDERR_FILENO, .events = POLLOUT};
	int ready = poll(&p, 1, stderr_stalled ? 0 : LOG_STALL_MS);
	if (ready <= 0) {
		stderr_stalled = ready == 0 || errno != EINTR;
		dropped_lines++;
		pthread_mutex_unlock(&write_lock);
		return;
	}
	stderr_stalled = false;
	if (dropped_lines) {
		char note[64];
		int n =
		    snprintf(note, sizeof(note), "minnow: (%u log lines dropped)\n", dropped_lines);
		dropped_lines = 0;
		(void)!write(STDERR_FILENO, note, (size_t)n);
	}
	for (size_t done = 0; done < len;) {
		ssize_t n = write(STDERR_FILENO, line + done, len - done);
		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	pthread_mutex_unlock(&write_lock);
}

static void vlog(const char *fmt, va_list ap)
{
	char buf[1100];
	int n = snprintf(buf, sizeof(buf), "minnow: ");
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	write_line(buf, len);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void log_set_verbose(int on)
{
	verbose = on;
}

void log_limited(struct log_limit *lim, const char *fmt, ...)
{
	uint64_t now = monotonic_ms();
	unsigned suppressed = 0;
	int print;
	pthread_mutex_lock(&limit_lock);
	if (now - lim->window_start_ms >= 1000) {
		suppressed = lim->suppressed;
		lim->window_start_ms = now;
		lim->used = 0;
		lim->suppressed = 0;
	}
	print = lim->used < (lim->burst ? lim->burst : 1);
	if (print)
		lim->used++;
	else
		lim->suppressed++;
	pthread_mutex_unlock(&limit_lock);
	if (suppressed)
		log_error("(%u similar messages suppressed)", suppressed);
	if (!print)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
