/* event_loop.c - the epoll loop: a handler table indexed by slot and
 * generation, so that removal is safe even with events already fetched,
 * callbacks run without the table lock held, and a queue of calls other
 * threads hand to the loop thread. */
#include "event_loop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

#define STOP_TAG	UINT64_MAX
#define CALL_TAG	(UINT64_MAX - 1)
#define EVENTS_PER_WAIT 16

enum call_state { CALL_WAITING, CALL_DONE, CALL_REFUSED };

static uint64_t handler_tag(const struct event_loop *l, unsigned slot)
{
	return ((uint64_t)l->handlers[slot].gen << 32) | slot;
}

/* The slot watching fd, or -1. Lock held. */
static int find_slot(const struct event_loop *l, int fd)
{
	for (unsigned i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++) {
		if (l->handlers[i].fd == fd)
			return (int)i;
	}
	return -1;
}

int event_loop_init(struct event_loop *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = l->stop_fd = l->call_fd = -1;
	l->running_slot = -1;
	l->calls_tail = &l->calls;
	for (unsigned i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++)
		l->handlers[i].fd = -1;
	int r = pthread_mutex_init(&l->lock, NULL);
	if (r != 0)
		return -r;
	r = pthread_cond_init(&l->callback_done, NULL);
	if (r == 0) {
		r = pthread_cond_init(&l->call_done, NULL);
		if (r != 0)
			pthread_cond_destroy(&l->callback_done);
	}
	if (r != 0) {
		pthread_mutex_destroy(&l->lock);
		return -r;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event stop = {.events = EPOLLIN, .data.u64 = STOP_TAG};
	struct epoll_event call = {.events = EPOLLIN, .data.u64 = CALL_TAG};
	if (l->epfd < 0 || l->stop_fd < 0 || l->call_fd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &stop) < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->call_fd, &call) < 0) {
		int err = errno;
		l->initialised = true;
		event_loop_fini(l);
		return -err;
	}
	l->initialised = true;
	return 0;
}

void event_loop_fini(struct event_loop *l)
{
	if (!l->initialised)
		return;
	event_loop_stop(l);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	if (l->call_fd >= 0)
		close(l->call_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	pthread_cond_destroy(&l->call_done);
	pthread_cond_destroy(&l->callback_done);
	pthread_mutex_destroy(&l->lock);
	l->epfd = l->stop_fd = l->call_fd = -1;
	l->initialised = false;
}

int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_loop_fn fn, void *opaque)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	int r = 0;
	pthread_mutex_lock(&l->lock);
	if (find_slot(l, fd) >= 0) {
		r = -EEXIST;
		goto out;
	}
	int slot = find_slot(l, -1);
	if (slot < 0) {
		r = -ENOSPC;
		goto out;
	}
	struct event_loop_handler *h = &l->handlers[slot];
	struct epoll_event ev = {.events = events, .data.u64 = handler_tag(l, (unsigned)slot)};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		goto out;
	}
	h->fd = fd;
	h->fn = fn;
	h->opaque = opaque;
out:
	pthread_mutex_unlock(&l->lock);
	return r;
}

int event_loop_modify(struct event_loop *l, int fd, uint32_t events)
{
	int r = 0;
	pthread_mutex_lock(&l->lock);
	int slot = fd < 0 ? -1 : find_slot(l, fd);
	if (slot < 0) {
		r = -ENOENT;
	} else {
		struct epoll_event ev = {.events = events,
					 .data.u64 = handler_tag(l, (unsigned)slot)};
		if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			r = -errno;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

int event_loop_remove(struct event_loop *l, int fd)
{
	pthread_mutex_lock(&l->lock);
	int slot = fd < 0 ? -1 : find_slot(l, fd);
	if (slot >= 0) {
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		struct event_loop_handler *h = &l->handlers[slot];
		h->fd = -1;
		h->fn = NULL;
		h->opaque = NULL;
		h->gen++;
		/* A callback fetched before the removal may still be running:
		 * wait for it, unless we are that callback (or another one). */
		if (!event_loop_on_thread(l)) {
			while (l->running_slot == slot)
				pthread_cond_wait(&l->callback_done, &l->lock);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return slot >= 0 ? 0 : -ENOENT;
}

/* Runs the callback an event was fetched for, unless its slot has been
 * freed (or reused) since. The table lock is dropped during the call. */
static void dispatch(struct event_loop *l, uint64_t tag, uint32_t events)
{
	unsigned slot = (unsigned)(tag & 0xffffffffu);
	uint32_t gen = (uint32_t)(tag >> 32);
	if (slot >= EVENT_LOOP_MAX_HANDLERS)
		return;
	pthread_mutex_lock(&l->lock);
	struct event_loop_handler *h = &l->handlers[slot];
	if (h->fd < 0 || h->gen != gen) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	event_loop_fn fn = h->fn;
	void *opaque = h->opaque;
	l->running_slot = (int)slot;
	l->dispatched++;
	pthread_mutex_unlock(&l->lock);

	fn(opaque, events);

	pthread_mutex_lock(&l->lock);
	l->running_slot = -1;
	pthread_cond_broadcast(&l->callback_done);
	pthread_mutex_unlock(&l->lock);
}

/* Runs the calls waiting now, oldest first (later ones wait for the next
 * wake-up of call_fd). */
static void run_calls(struct event_loop *l)
{
	eventfd_t value;
	(void)eventfd_read(l->call_fd, &value);
	pthread_mutex_lock(&l->lock);
	struct event_loop_call *c = l->calls;
	l->calls = NULL;
	l->calls_tail = &l->calls;
	pthread_mutex_unlock(&l->lock);
	while (c) {
		struct event_loop_call *next = c->next;
		c->fn(c->arg);
		pthread_mutex_lock(&l->lock);
		c->state = CALL_DONE; /* c may be gone once the lock is dropped */
		pthread_cond_broadcast(&l->call_done);
		pthread_mutex_unlock(&l->lock);
		c = next;
	}
}

/* The run ended: refuse calls still waiting and those to come, until the
 * next run. */
static void close_calls(struct event_loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->calls_closed = true;
	for (struct event_loop_call *c = l->calls; c; c = c->next)
		c->state = CALL_REFUSED;
	l->calls = NULL;
	l->calls_tail = &l->calls;
	pthread_cond_broadcast(&l->call_done);
	pthread_mutex_unlock(&l->lock);
}

static void open_calls(struct event_loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->calls_closed = false;
	pthread_mutex_unlock(&l->lock);
}

int event_loop_call(struct event_loop *l, event_loop_call_fn fn, void *arg)
{
	if (event_loop_on_thread(l)) {
		fn(arg);
		return 0;
	}
	struct event_loop_call c = {.fn = fn, .arg = arg, .state = CALL_WAITING};
	pthread_mutex_lock(&l->lock);
	if (l->calls_closed) {
		pthread_mutex_unlock(&l->lock);
		return -ESHUTDOWN;
	}
	*l->calls_tail = &c;
	l->calls_tail = &c.next;
	(void)eventfd_write(l->call_fd, 1);
	while (c.state == CALL_WAITING)
		pthread_cond_wait(&l->call_done, &l->lock);
	pthread_mutex_unlock(&l->lock);
	return c.state == CALL_DONE ? 0 : -ESHUTDOWN;
}

/* Asks the loop to end its run: it returns before the next event. */
static void request_stop(struct event_loop *l)
{
	atomic_store(&l->stopping, true);
	(void)eventfd_write(l->stop_fd, 1); /* wakes epoll_wait */
}

/* Waits for and dispatches events until a stop is requested, which ends the
 * run before the next event, even one fetched together with others.
 * Returns 0, or -errno when epoll_wait fails (logged). */
static int loop_body(struct event_loop *l)
{
	for (;;) {
		struct epoll_event evs[EVENTS_PER_WAIT];
		int n = epoll_wait(l->epfd, evs, EVENTS_PER_WAIT, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			log_error("event loop: epoll_wait: %s", strerror(err));
			return -err;
		}
		for (int i = 0; i < n; i++) {
			if (atomic_load(&l->stopping))
				return 0;
			if (evs[i].data.u64 == CALL_TAG)
				run_calls(l);
			else if (evs[i].data.u64 != STOP_TAG)
				dispatch(l, evs[i].data.u64, evs[i].events);
		}
	}
}

/* The run is over: ready for another. */
static void reset_stop(struct event_loop *l)
{
	eventfd_t value;
	(void)eventfd_read(l->stop_fd, &value);
	atomic_store(&l->stopping, false);
}

static void *loop_thread(void *arg)
{
	struct event_loop *l = arg;
	/* event_loop_start() holds the lock until l->thread and l->running
	 * are set, which event_loop_on_thread() needs in our callbacks. */
	pthread_mutex_lock(&l->lock);
	pthread_mutex_unlock(&l->lock);
	(void)loop_body(l);
	close_calls(l);
	return NULL;
}

int event_loop_run(struct event_loop *l)
{
	if (l->running)
		return -EALREADY;
	l->thread = pthread_self();
	l->running = true;
	open_calls(l);
	int r = loop_body(l);
	close_calls(l);
	l->running = false;
	reset_stop(l);
	return r;
}

int event_loop_enter(struct event_loop *l)
{
	if (l->running)
		return -EALREADY;
	l->thread = pthread_self();
	l->running = true;
	open_calls(l);
	return 0;
}

int event_loop_poll(struct event_loop *l)
{
	struct epoll_event evs[EVENTS_PER_WAIT];
	int n;
	do
		n = epoll_wait(l->epfd, evs, EVENTS_PER_WAIT, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	uint64_t before = l->dispatched;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == CALL_TAG)
			run_calls(l);
		else if (evs[i].data.u64 != STOP_TAG)
			dispatch(l, evs[i].data.u64, evs[i].events);
	}
	return (int)(l->dispatched - before);
}

void event_loop_leave(struct event_loop *l)
{
	close_calls(l);
	l->running = false;
	reset_stop(l);
}

void event_loop_quit(struct event_loop *l)
{
	request_stop(l);
}

int event_loop_start(struct event_loop *l)
{
	if (l->running)
		return -EALREADY;
	/* The thread starts with every signal blocked: signals are for the
	 * main thread (signalfd) and the vCPU threads (kicks). */
	sigset_t all, old;
	sigfillset(&all);
	open_calls(l);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&l->lock);
	int r = pthread_create(&l->thread, NULL, loop_thread, l);
	if (r == 0)
		l->running = true;
	pthread_mutex_unlock(&l->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

void event_loop_stop(struct event_loop *l)
{
	if (!l->running)
		return;
	request_stop(l);
	pthread_join(l->thread, NULL);
	l->running = false;
	reset_stop(l);
}

bool event_loop_running(struct event_loop *l)
{
	return atomic_load(&l->running);
}

bool event_loop_on_thread(struct event_loop *l)
{
	return l->running && pthread_equal(pthread_self(), l->thread);
}
