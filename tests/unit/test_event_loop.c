/* test_event_loop.c - the epoll loop: callbacks on the loop thread, removal
 * while a callback runs, and calls handed to the loop thread by others. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event_loop.h"
#include "test_util.h"

/* ---- The event loop ------------------------------------------------------------------- */

struct counter {
	int fd;
	struct event_loop *loop;
	_Atomic unsigned calls;
	_Atomic bool on_loop_thread;
	_Atomic bool inside, finished;
	bool slow, remove_self;
};

static void count_event(void *opaque, uint32_t events)
{
	struct counter *c = opaque;
	eventfd_t v;
	(void)eventfd_read(c->fd, &v);
	c->on_loop_thread = event_loop_on_thread(c->loop);
	c->inside = true;
	if (c->slow)
		usleep(100 * 1000);
	if (c->remove_self)
		cr_assert_eq(event_loop_remove(c->loop, c->fd), 0);
	atomic_fetch_add(&c->calls, 1);
	c->finished = true;
}

static bool wait_calls(struct counter *c, unsigned n)
{
	return WAIT_UNTIL(atomic_load(&c->calls) >= n, 2000);
}

/* Starts `loop` with c->fd, a fresh eventfd, watched by count_event(), and signals it once. */
static void start_counting(struct event_loop *loop, struct counter *c)
{
	c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->loop = loop;
	cr_assert_eq(event_loop_init(loop), 0);
	cr_assert_eq(event_loop_add(loop, c->fd, EPOLLIN, count_event, c), 0);
	cr_assert_eq(event_loop_start(loop), 0);
	(void)eventfd_write(c->fd, 1);
}

Test(event_loop, callbacks_on_the_loop_thread)
{
	struct event_loop loop;
	struct counter c = {.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .loop = &loop};
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_add(&loop, c.fd, EPOLLIN, count_event, &c), 0);
	cr_assert_eq(event_loop_add(&loop, c.fd, EPOLLIN, count_event, &c), -EEXIST);
	cr_assert_eq(event_loop_add(&loop, -1, EPOLLIN, count_event, &c), -EINVAL);
	cr_assert_eq(event_loop_start(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), -EALREADY);
	cr_assert_not(event_loop_on_thread(&loop));
	(void)eventfd_write(c.fd, 1);
	cr_assert(wait_calls(&c, 1));
	cr_assert(c.on_loop_thread);
	cr_assert_eq(event_loop_modify(&loop, c.fd, 0), 0); /* paused */
	(void)eventfd_write(c.fd, 1);
	loop_settle(&loop, 2); /* the loop had its chance */
	cr_assert_eq(atomic_load(&c.calls), 1);
	cr_assert_eq(event_loop_modify(&loop, c.fd, EPOLLIN), 0);
	cr_assert(wait_calls(&c, 2));
	cr_assert_eq(event_loop_remove(&loop, c.fd), 0);
	cr_assert_eq(event_loop_remove(&loop, c.fd), -ENOENT);
	cr_assert_eq(event_loop_modify(&loop, c.fd, EPOLLIN), -ENOENT);
	(void)eventfd_write(c.fd, 1);
	loop_settle(&loop, 2); /* the loop had its chance */
	cr_assert_eq(atomic_load(&c.calls), 2, "removed: no more callbacks");
	event_loop_fini(&loop);
	event_loop_fini(&loop);
	close(c.fd);
}

Test(event_loop, remove_waits_for_running_callback)
{
	struct event_loop loop;
	struct counter c = {.slow = true};
	start_counting(&loop, &c);
	cr_assert(WAIT_UNTIL(c.inside, 2000));
	cr_assert_eq(event_loop_remove(&loop, c.fd), 0);
	cr_assert(c.finished, "remove returned while the callback was running");
	event_loop_fini(&loop);
	close(c.fd);
}

Test(event_loop, callback_removes_itself)
{
	struct event_loop loop;
	struct counter c = {.remove_self = true};
	start_counting(&loop, &c);
	cr_assert(wait_calls(&c, 1));
	(void)eventfd_write(c.fd, 1);
	loop_settle(&loop, 2); /* the loop had its chance */
	cr_assert_eq(atomic_load(&c.calls), 1);
	cr_assert_eq(event_loop_remove(&loop, c.fd), -ENOENT);
	event_loop_stop(&loop);
	event_loop_stop(&loop);
	event_loop_fini(&loop);
	close(c.fd);
}

Test(event_loop, fini_without_init_or_start)
{
	struct event_loop loop;
	memset(&loop, 0, sizeof(loop));
	event_loop_fini(&loop);
	cr_assert_eq(event_loop_init(&loop), 0);
	event_loop_stop(&loop);
	event_loop_fini(&loop);
}

/* ---- event_loop_call ------------------------------------------------------------------- */

struct call_probe {
	struct event_loop *loop;
	_Atomic unsigned runs;
	_Atomic bool on_loop_thread;
};

static void probe_call(void *arg)
{
	struct call_probe *p = arg;
	p->on_loop_thread = event_loop_on_thread(p->loop);
	atomic_fetch_add(&p->runs, 1);
}

struct caller {
	struct event_loop *loop;
	struct call_probe *probe;
	_Atomic bool returned;
	int result;
};

static void *call_from_thread(void *arg)
{
	struct caller *c = arg;
	c->result = event_loop_call(c->loop, probe_call, c->probe);
	c->returned = true;
	return NULL;
}

Test(event_loop, call_runs_on_the_loop_thread_and_waits)
{
	struct event_loop loop;
	struct call_probe p = {.loop = &loop};
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	cr_assert_eq(event_loop_call(&loop, probe_call, &p), 0);
	cr_assert_eq(atomic_load(&p.runs), 1, "returned before the call ran");
	cr_assert(p.on_loop_thread);
	event_loop_fini(&loop);
}

Test(event_loop, call_before_the_loop_runs_waits_for_it)
{
	struct event_loop loop;
	struct call_probe p = {.loop = &loop};
	struct caller c = {.loop = &loop, .probe = &p};
	pthread_t th;
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(pthread_create(&th, NULL, call_from_thread, &c), 0);
	usleep(50 * 1000); /* the call is queued, not run: nothing serves it */
	cr_assert_not(c.returned);
	cr_assert_eq(atomic_load(&p.runs), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	pthread_join(th, NULL);
	cr_assert_eq(c.result, 0);
	cr_assert_eq(atomic_load(&p.runs), 1);
	cr_assert(p.on_loop_thread);
	event_loop_fini(&loop);
}

Test(event_loop, call_after_the_run_is_refused)
{
	struct event_loop loop;
	struct call_probe p = {.loop = &loop};
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	event_loop_stop(&loop);
	cr_assert_eq(event_loop_call(&loop, probe_call, &p), -ESHUTDOWN);
	cr_assert_eq(atomic_load(&p.runs), 0);
	cr_assert_eq(event_loop_start(&loop), 0); /* a new run takes calls again */
	cr_assert_eq(event_loop_call(&loop, probe_call, &p), 0);
	cr_assert_eq(atomic_load(&p.runs), 1);
	event_loop_fini(&loop);
}

/* A loop callback that blocks until a caller's call is queued, then ends
 * the run: the waiting call is refused, and its caller wakes. */
struct quitter {
	struct event_loop *loop;
	int fd;
};

static void quit_when_call_queued(void *opaque, uint32_t events)
{
	struct quitter *q = opaque;
	eventfd_t v;
	(void)events;
	(void)eventfd_read(q->fd, &v);
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&q->loop->lock);
		bool queued = q->loop->calls != NULL;
		pthread_mutex_unlock(&q->loop->lock);
		if (queued)
			break;
		usleep(1000);
	}
	event_loop_quit(q->loop);
}

static void *run_loop(void *arg)
{
	(void)event_loop_run(arg);
	return NULL;
}

Test(event_loop, call_waiting_when_the_run_ends_is_refused)
{
	struct event_loop loop;
	struct call_probe p = {.loop = &loop};
	struct caller c = {.loop = &loop, .probe = &p};
	struct quitter q = {.loop = &loop, .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
	pthread_t loop_th, call_th;
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_add(&loop, q.fd, EPOLLIN, quit_when_call_queued, &q), 0);
	(void)eventfd_write(q.fd, 1);
	cr_assert_eq(pthread_create(&loop_th, NULL, run_loop, &loop), 0);
	cr_assert_eq(pthread_create(&call_th, NULL, call_from_thread, &c), 0);
	pthread_join(call_th, NULL);
	pthread_join(loop_th, NULL);
	/* The quit and the call are both due after the callback: the quit
	 * goes first, and the caller hears that its call did not run. */
	cr_assert_eq(c.result, -ESHUTDOWN);
	cr_assert_eq(atomic_load(&p.runs), 0);
	cr_assert_eq(event_loop_call(&loop, probe_call, &p), -ESHUTDOWN, "run over: refused");
	event_loop_fini(&loop);
	close(q.fd);
}

/* ---- Polled by the caller (event_loop_enter / poll / leave) ------------------------------ */

static void note_call(void *arg)
{
	*(bool *)arg = true;
}

/* The caller is the loop thread: calls run at once, callbacks only when it polls, one per
 * ready fd, and none when nothing is ready; another thread's call is refused after leave. */
Test(event_loop, polled_by_the_caller)
{
	struct event_loop loop;
	struct counter c = {.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .loop = &loop};
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_add(&loop, c.fd, EPOLLIN, count_event, &c), 0);
	cr_assert_eq(event_loop_enter(&loop), 0);
	cr_assert_eq(event_loop_enter(&loop), -EALREADY);
	cr_assert(event_loop_on_thread(&loop));
	bool ran = false;
	cr_assert_eq(event_loop_call(&loop, note_call, &ran), 0);
	cr_assert(ran, "a call from the loop thread runs at once");
	cr_assert_eq(event_loop_poll(&loop), 0, "nothing ready");
	(void)eventfd_write(c.fd, 1);
	cr_assert_eq(atomic_load(&c.calls), 0, "no callback before a poll");
	cr_assert_eq(event_loop_poll(&loop), 1);
	cr_assert_eq(atomic_load(&c.calls), 1);
	cr_assert(c.on_loop_thread);
	cr_assert_eq(event_loop_poll(&loop), 0, "the eventfd was read");
	event_loop_leave(&loop);
	cr_assert_not(event_loop_on_thread(&loop));
	ran = false;
	cr_assert_eq(event_loop_call(&loop, note_call, &ran), -ESHUTDOWN);
	cr_assert_not(ran);
	cr_assert_eq(event_loop_remove(&loop, c.fd), 0);
	event_loop_fini(&loop);
	close(c.fd);
}
