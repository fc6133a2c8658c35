/* log.c - stderr logging with a per-call-site rate limit and bounded writes. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "out_sink.h"
#include "timing.h"

static int verbose;
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static struct out_sink err_sink; /* stderr, quiet; set up at the first line */
static bool err_sink_ready;
static unsigned dropped_lines;

/* Writes one whole line to stderr through a quiet out_sink: at most
 * LOG_STALL_MS of waiting per line, nothing while stderr stays stuck, so
 * that a stuck reader never holds up the thread that logs (often a vCPU).
 * Lines that cannot go are counted, and their number is said before the
 * next line that can. */
static void write_line(const char *line, size_t len)
{
	pthread_mutex_lock(&write_lock);
	if (!err_sink_ready) {
		out_sink_init(&err_sink, STDERR_FILENO, "log");
		err_sink.quiet = true;
		err_sink_ready = true;
	}
	out_sink_batch(&err_sink);
	if (dropped_lines) {
		char note[64];
		int n =
		    snprintf(note, sizeof(note), "minnow: (%u log lines dropped)\n", dropped_lines);
		if (out_sink_write(&err_sink, note, (size_t)n) == (size_t)n)
			dropped_lines = 0;
	}
	if (dropped_lines || out_sink_write(&err_sink, line, len) < len)
		dropped_lines++;
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
