/* fuzz_log.c - vmm/core/log.c for the fuzz harnesses: messages formatted, then dropped. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Every message is still formatted (format bugs show up), then dropped unless MINNOW_FUZZ_LOG
 * is set in the environment: the harnesses stay quiet and runs do not depend on the clock. */

static int verbose;
static int show = -1; /* -1: not looked up yet */

__attribute__((format(printf, 1, 0))) static void vlog(const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (show < 0)
		show = getenv("MINNOW_FUZZ_LOG") != NULL;
	if (show)
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
	va_list ap;
	va_start(ap, fmt);
	if (verbose)
		vlog(fmt, ap);
	va_end(ap);
}

void log_set_verbose(int on)
{
	verbose = on;
}

/* No rate limit: the real one reads the clock, which would make runs differ. */
void log_limited(struct log_limit *lim, const char *fmt, ...)
{
	va_list ap;
	(void)lim;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
