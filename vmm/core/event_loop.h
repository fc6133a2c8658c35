/* event_loop.h - the epoll loop: ioeventfd doorbells, backend sockets and
 * files, and minnow's own fds (signals, console input, timers, VM end);
 * callbacks run on the loop's thread only. minnow runs it on its main
 * thread (event_loop_run); unit tests may give it a thread of its own
 * (event_loop_start).
 *
 * The loop's thread owns the device models: every device callback (a kick,
 * a backend fd, a timer) runs there, and a vCPU thread whose MMIO access
 * must reach a device model (a virtio status write, config space) hands it
 * over with event_loop_call() and waits. A device therefore never sees two
 * threads, and may add or remove its fds freely from any of its callbacks.
 * The virtio transport's lock remains for the register file that vCPU
 * threads read and write directly (virtio_mmio.h). */
#ifndef MINNOW_EVENT_LOOP_H
#define MINNOW_EVENT_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define EVENT_LOOP_MAX_HANDLERS 256

/* Called on the loop thread with the epoll events (EPOLLIN, EPOLLHUP, ...)
 * that fired for the fd it was added with. */
typedef void (*event_loop_fn)(void *opaque, uint32_t events);

/* A function run on the loop thread for another thread (event_loop_call). */
typedef void (*event_loop_call_fn)(void *arg);

/* One event_loop_call() waiting for its turn; lives on the caller's stack. */
struct event_loop_call {
	event_loop_call_fn fn;
	void *arg;
	int state; /* private to event_loop.c */
	struct event_loop_call *next;
};

struct event_loop_handler {
	int fd;	      /* -1: slot free */
	uint32_t gen; /* bumped whenever the slot is freed, so that events
		       * already fetched for a removed fd are dropped */
	event_loop_fn fn;
	void *opaque;
};

/* Private to event_loop.c; embed it and use the functions below. `lock`
 * guards the handler table only: it is never held while a callback runs,
 * so add/modify/remove may be called with any other lock held (remove
 * alone may wait, see below). */
struct event_loop {
	pthread_mutex_t lock;
	pthread_cond_t callback_done; /* signalled when a callback returns */
	int running_slot;	      /* slot whose callback runs now, or -1 */
	int epfd;
	int stop_fd;	       /* eventfd: wakes the loop to stop */
	_Atomic bool stopping; /* quit or stop asked: return before the next event */
	int call_fd;	       /* eventfd written by event_loop_call() */
	struct event_loop_call *calls, **calls_tail; /* waiting, oldest first */
	pthread_cond_t call_done;		     /* signalled when calls finish */
	bool calls_closed;			     /* the run ended: event_loop_call() refuses */
	pthread_t thread;
	bool initialised;
	_Atomic bool running;
	uint64_t dispatched; /* callbacks run (statistics) */
	struct event_loop_handler handlers[EVENT_LOOP_MAX_HANDLERS];
};

/* Creates the epoll instance and the stop eventfd; no thread yet. Returns 0
 * or -errno (nothing left to free on failure). */
int event_loop_init(struct event_loop *l);

/* Stops the thread if running and closes the loop's fds. Registered fds are
 * not closed (they belong to whoever added them). Safe on a zero-filled
 * loop, on one whose init failed, and twice. */
void event_loop_fini(struct event_loop *l);

/* Watches `fd` for `events` (EPOLLIN etc., level-triggered unless the
 * caller passes EPOLLET): fn(opaque, events) runs on the loop thread when
 * they fire. Any thread, including from a callback; never waits for
 * callbacks. Returns 0, -EEXIST if
 * fd is already watched, -ENOSPC when EVENT_LOOP_MAX_HANDLERS are in use, or
 * -errno from epoll_ctl. */
int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_loop_fn fn, void *opaque);

/* Changes the events watched for an added fd (e.g. 0 to pause reading).
 * Any thread; never waits for callbacks. Returns 0, -ENOENT if fd is not
 * watched, or -errno from epoll_ctl. */
int event_loop_modify(struct event_loop *l, int fd, uint32_t events);

/* Stops watching `fd`. When it returns, fd's callback is not running on
 * the loop thread (unless the caller is that callback) and will not run
 * again, so its opaque may be freed and fd closed. If fd's callback is
 * running on the loop thread it waits for it to return: never call it
 * from another thread while holding a lock that callback takes. Any
 * thread, including from a callback. Returns 0 or -ENOENT. */
int event_loop_remove(struct event_loop *l, int fd);

/* Starts the loop thread. Returns 0, -EALREADY if running, or -errno from
 * pthread_create (its positive error code negated). */
int event_loop_start(struct event_loop *l);

/* Runs the loop on the calling thread, which is the loop thread until
 * event_loop_quit() makes it return. Returns 0, -EALREADY if running, or
 * -errno when epoll_wait fails (logged). */
int event_loop_run(struct event_loop *l);

/* For tests and fuzzers that must replay the same way each time: makes the
 * calling thread the loop's thread without blocking in it, until
 * event_loop_leave(). Meanwhile device accesses (event_loop_call) run at
 * once on it, and nothing runs a callback but event_loop_poll(). Returns 0
 * or -EALREADY when the loop runs already. */
int event_loop_enter(struct event_loop *l);

/* After event_loop_enter(), on that thread: runs the callbacks of the
 * events ready now (epoll_wait without waiting, one batch). Returns how
 * many callbacks ran, or -errno when epoll_wait fails. */
int event_loop_poll(struct event_loop *l);

/* Ends what event_loop_enter() began: calls from other threads are refused
 * (-ESHUTDOWN) until the loop runs again. */
void event_loop_leave(struct event_loop *l);

/* Makes event_loop_run() return after the callback that runs now, if any.
 * Any thread, including from a callback. */
void event_loop_quit(struct event_loop *l);

/* Wakes the loop thread through the stop eventfd and joins it; callbacks
 * have all returned when this returns. No-op when not running. Must not be
 * called from a callback. */
void event_loop_stop(struct event_loop *l);

/* Runs fn(arg) on the loop thread and waits for it to return: at once when
 * the caller is the loop thread, else behind the callbacks already due.
 * Calls made before the loop first runs wait for it. Returns 0 once fn has
 * run, or -ESHUTDOWN without running it when the loop's run has ended
 * (event_loop_quit/stop), including for calls still waiting then. The
 * caller must not hold a lock that a loop callback may take. */
int event_loop_call(struct event_loop *l, event_loop_call_fn fn, void *arg);

/* Whether the caller is running on the loop thread. */
bool event_loop_on_thread(struct event_loop *l);

/* Whether a thread runs the loop now (event_loop_run or event_loop_start). */
bool event_loop_running(struct event_loop *l);

#endif
