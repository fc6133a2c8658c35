/* throttle_timer.h - the one-shot timerfd a rate-limited device arms on
 * the event loop when its bucket is empty, so that it resumes when enough
 * tokens are back (no busy loop, no polling). */
#ifndef MINNOW_THROTTLE_TIMER_H
#define MINNOW_THROTTLE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "event_loop.h"

struct throttle_timer {
	int fd; /* timerfd (CLOCK_MONOTONIC), -1 when not created */
	struct event_loop *loop;
	bool armed;
};

/* Creates the timerfd and watches it on `loop`: fn(opaque, events) runs
 * on the loop thread when it fires (fn must call throttle_timer_ack()).
 * With loop NULL it only creates the fd, for a thread of the device's own
 * to poll. Returns 0 or -errno (nothing left to free). */
int throttle_timer_init(struct throttle_timer *tt, struct event_loop *loop, event_loop_fn fn,
			void *opaque);

/* Arms the timer to fire once, `ns` from now (at least 1 µs). */
void throttle_timer_arm(struct throttle_timer *tt, uint64_t ns);

/* Disarms it; an expiry not yet read is discarded. Fine when not armed. */
void throttle_timer_disarm(struct throttle_timer *tt);

/* Reads the expiry from the fd. Returns whether the timer was armed and
 * has fired (false for a stale wake-up after a disarm); it is then no
 * longer armed. */
bool throttle_timer_ack(struct throttle_timer *tt);

/* Stops watching and closes the fd; safe when fd is -1 (never created or
 * init failed), and twice. */
void throttle_timer_fini(struct throttle_timer *tt);

#endif
