/* log.c - stderr logging with a per-call-site rate limit. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int verbose;
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

static void vlog(const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "minnow: %s\n", buf);
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

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void log_limited(struct log_limit *lim, const char *fmt, ...)
{
	uint64_t now = now_ms();
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
