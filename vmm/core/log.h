/* log.h - messages to stderr, and rate-limited logging for anything a guest
 * can trigger over and over. */
#ifndef MINNOW_LOG_H
#define MINNOW_LOG_H

#include <stdint.h>

#include "out_sink.h"

/* How long a message may wait for stderr to take it (see log_error). */
#define LOG_STALL_MS OUT_SINK_STALL_MS

/* Prints "minnow: " + the formatted message + newline to stderr, as one
 * write. When stderr takes nothing for LOG_STALL_MS the line is dropped,
 * and later ones are dropped without waiting until it takes bytes again
 * (then their count is printed): a stuck reader never holds up a vCPU.
 * Thread-safe. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Like log_error, only when verbose logging is on (--verbose). */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Turns log_debug output on or off. */
void log_set_verbose(int on);

/* A rate limit: at most `burst` messages per second through one limiter.
 * Zero-initialise, set burst. Thread-safe. */
struct log_limit {
	unsigned burst;
	uint64_t window_start_ms;
	unsigned used;
	unsigned suppressed;
};

/* log_error through a limiter; reports how many were suppressed when the
 * next window opens. For guest-triggered conditions. */
void log_limited(struct log_limit *lim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
