/* throttle_timer.c - a one-shot timerfd on the event loop (see
 * throttle_timer.h). */
#include "throttle_timer.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define NS_PER_S 1000000000ULL
#define MIN_NS	 1000ULL

int throttle_timer_init(struct throttle_timer *tt, struct event_loop *loop, event_loop_fn fn,
			void *opaque)
{
	tt->loop = loop;
	tt->armed = false;
	tt->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tt->fd < 0)
		return -errno;
	if (!loop)
		return 0;
	int r = event_loop_add(loop, tt->fd, EPOLLIN, fn, opaque);
	if (r < 0) {
		close(tt->fd);
		tt->fd = -1;
	}
	return r;
}

static void set(struct throttle_timer *tt, uint64_t ns)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)},
	};
	(void)timerfd_settime(tt->fd, 0, &its, NULL);
}

void throttle_timer_arm(struct throttle_timer *tt, uint64_t ns)
{
	if (tt->fd < 0)
		return;
	set(tt, ns < MIN_NS ? MIN_NS : ns);
	tt->armed = true;
}

void throttle_timer_disarm(struct throttle_timer *tt)
{
	if (tt->fd < 0)
		return;
	set(tt, 0);
	uint64_t ticks;
	(void)read(tt->fd, &ticks, sizeof(ticks)); /* drop an expiry already due */
	tt->armed = false;
}

bool throttle_timer_ack(struct throttle_timer *tt)
{
	uint64_t ticks = 0;
	if (tt->fd < 0 || read(tt->fd, &ticks, sizeof(ticks)) != sizeof(ticks) || !ticks)
		return false;
	bool fired = tt->armed;
	tt->armed = false;
	return fired;
}

void throttle_timer_fini(struct throttle_timer *tt)
{
	if (tt->fd < 0)
		return;
	if (tt->loop)
		(void)event_loop_remove(tt->loop, tt->fd);
	close(tt->fd);
	tt->fd = -1;
}
