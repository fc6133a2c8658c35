/* blk_thread.c - a drive's own thread (virtio_blk.h, virtio_blk_start()):
 * it watches the request queue's kick eventfd, takes chains from the ring
 * under the transport lock, does their I/O on its io_uring (disk_uring.h)
 * or synchronously, and pushes used entries in completion order.
 *
 * Requests live in slots, one per possible chain of the largest queue, so
 * at most a queue's worth is in flight. The thread alone touches its slots,
 * the ring and the rate limiter; the transport lock guards the virtqueue
 * (pops and pushes, short) and `mu` the hand-shakes with other threads:
 * activation, quiesce (park) and stop. Lock order: transport lock, then
 * mu; the thread never holds mu while it takes the transport lock.
 *
 * FLUSH: the thread stops taking chains, waits until every request taken
 * before it has completed, then runs fdatasync() (disk_flush()) and only
 * then completes the flush: what the guest saw completed before it sent
 * FLUSH is durable when FLUSH completes. DISCARD, WRITE_ZEROES and O_DIRECT
 * requests that need the bounce buffer are done synchronously on the
 * thread, as are all requests without a ring. */
#include "virtio_blk_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "disk_uring.h"
#include "seccomp_filter.h"

#define NSLOTS	  VIRTIO_BLK_QUEUE_SIZE /* most requests in flight */
#define POP_BATCH 16u /* chains taken at a time: then the first are done and pushed */
/* and at most this many bytes (the chain that crosses it is taken whole): a
 * ring completes buffered reads of cached data as they are submitted, so a
 * large batch would keep the driver waiting for all of it before it sees
 * the first. */
#define POP_BYTES (256u << 10)
/* How long the thread looks at the ring (and its completions) before it
 * sleeps: a guest that reposts as soon as it sees its completions is served
 * without the wake-up a kick costs (tens of microseconds, more on a busy or
 * virtualised host). Bounded, so an idle drive costs no CPU. */
#define POLL_NS 50000u
/* But not where that CPU is wanted elsewhere. A poll that was preempted
 * (another thread wanted the CPU) stops polling for NO_POLL_MIN_NS, twice
 * as long after each further preempted poll up to NO_POLL_MAX_NS; a poll
 * that ran undisturbed ends the back-off. With one CPU to run on the thread
 * never polls: the vCPU it waits for would need that CPU. */
#define NO_POLL_MIN_NS 1000000u
#define NO_POLL_MAX_NS 100000000u

_Static_assert(NSLOTS <= 65536, "slot numbers fit the free list");

struct blk_thread {
	struct virtio_blk *blk;
	pthread_t tid;
	int wake_fd; /* eventfd: look at the hand-shake fields, or a kick */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	/* Under mu. */
	unsigned pause_req;    /* quiesce(true) calls not yet undone */
	bool parked;	       /* nothing in flight, rings left alone */
	bool stop;	       /* end once nothing is in flight */
	bool started, exited;  /* the start hand-shake, and the end */
	int start_err;	       /* seccomp_enter()'s result */
	struct virtio_mmio *t; /* from activation */
	int kick_fd;	       /* the queue's kick eventfd, or -1 */
	/* The thread's own. */
	bool uring;
	struct disk_uring ring;
	struct blk_req *slots;
	uint16_t free[NSLOTS]; /* free slot numbers, a stack */
	unsigned nfree;
	uint16_t ready[NSLOTS]; /* slots to run synchronously, in order */
	unsigned nready;
	uint16_t done[NSLOTS]; /* slots completed, to push in this order */
	unsigned ndone;
	unsigned on_ring;	/* slots queued on the ring and not completed */
	int flush_wait;		/* a FLUSH slot waiting for on_ring == 0, or -1 */
	bool want_pop;		/* the ring may have chains to take */
	bool unsignalled;	/* used entries pushed without a notification yet */
	bool may_poll;		/* more than one CPU to run on */
	uint64_t no_poll_until; /* CLOCK_MONOTONIC ns: no polling before */
	uint64_t no_poll_ns;	/* the back-off: 0, or NO_POLL_MIN_NS..NO_POLL_MAX_NS */
	bool stopping;		/* a park or the end was asked for: take no more chains, */
	unsigned last;		/* but for what the ring held then (at most NSLOTS) */
	struct virtq_seg segs[BLK_MAX_SEGS];
};

static void thread_activate(struct blk_thread *th, struct virtio_mmio *t);
static void push_done(struct blk_thread *th, struct virtio_mmio *t, bool notify);

/* ---- Taking chains --------------------------------------------------------------------- */

/* Where a parsed request goes next: the ring, the synchronous list, the
 * flush wait, or straight to the done list. */
static void route(struct blk_thread *th, uint16_t slot)
{
	struct blk_req *rq = &th->slots[slot];
	struct virtio_blk *blk = th->blk;
	switch (rq->kind) {
	case BLK_REQ_DONE:
		th->done[th->ndone++] = slot;
		return;
	case BLK_REQ_FLUSH:
		th->flush_wait = slot;
		return;
	case BLK_REQ_RW:
		if (th->uring &&
		    disk_direct_ok(&blk->disk, rq->iov, rq->n, rq->len,
				   rq->sector * VIRTIO_BLK_SECTOR) &&
		    disk_uring_queue_rw(&th->ring, rq->write, rq->iov, rq->n,
					rq->sector * VIRTIO_BLK_SECTOR, slot)) {
			th->on_ring++;
			return;
		}
		break;
	default:
		break;
	}
	th->ready[th->nready++] = slot;
}

static void fail_pop(struct virtio_mmio *t, int err)
{
	if (err == -E2BIG)
		virtio_mmio_fail(t,
				 "request queue: chain longer than seg_max + 2 = " BLK_MAX_SEGS_STR
				 " segments");
	else
		virtio_mmio_fail(t, "request queue: %s", strerror(-err));
}

/* Takes chains while there are free slots, up to POP_BATCH, stopping at a
 * FLUSH (which waits for what went before), at a throttled chain (left in
 * the ring) and at a guest error (the device then needs a reset). Returns
 * whether it took any. */
static bool pop_chains(struct blk_thread *th, struct virtio_mmio *t)
{
	struct virtio_blk *blk = th->blk;
	struct virtq_chain chain;
	bool took = false;
	uint64_t bytes = 0;
	virtq_chain_init(&chain, th->segs, BLK_MAX_SEGS);
	virtio_mmio_lock(t);
	struct virtq *vq = virtio_mmio_queue(t, BLK_REQUEST_QUEUE);
	if (!virtio_mmio_active(t))
		th->want_pop = false;
	for (unsigned n = 0; th->want_pop && n < POP_BATCH && bytes < POP_BYTES; n++) {
		if (th->nfree == 0 || th->flush_wait >= 0)
			break; /* want_pop stays: come back when they complete */
		int r = virtq_pop(vq, &chain);
		if (r <= 0) {
			if (r < 0)
				fail_pop(t, r);
			th->want_pop = false;
			break;
		}
		const char *bad = blk_malformed(&chain);
		if (bad) {
			virtio_mmio_fail(t, "request (descriptor %u): %s", chain.head, bad);
			th->want_pop = false;
			break;
		}
		if (!blk_admit(blk, &chain)) {
			virtq_unpop(vq); /* first in line when the timer fires */
			th->want_pop = false;
			break;
		}
		bytes += chain.readable_bytes + chain.writable_bytes;
		uint16_t slot = th->free[--th->nfree];
		if (th->last > 0 && --th->last == 0)
			th->want_pop = false; /* the last pass took a queue's worth */
		blk_req_parse(blk, &chain, &th->slots[slot]);
		route(th, slot);
		took = true;
	}
	virtio_mmio_unlock(t);
	return took;
}

/* ---- Doing and completing them --------------------------------------------------------- */

/* Submits what is queued on the ring and runs the synchronous list, each
 * request's used entry pushed as it is done (the driver, which may be
 * polling the used ring, sees it at once; one notification later). */
static bool run_requests(struct blk_thread *th, struct virtio_mmio *t)
{
	bool progress = false;
	if (th->uring && th->ring.queued) {
		int r = disk_uring_submit(&th->ring);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
			log_limited(&th->blk->log_limit, "virtio-blk %s: io_uring_enter: %s",
				    th->blk->disk.path, strerror(-r));
		progress = r > 0;
	}
	for (unsigned i = 0; i < th->nready; i++) {
		uint16_t slot = th->ready[i];
		blk_req_run(th->blk, &th->slots[slot]);
		th->done[th->ndone++] = slot;
		push_done(th, t, false);
	}
	progress |= th->nready > 0;
	th->nready = 0;
	return progress;
}

/* Takes the ring's completions. */
static bool reap(struct blk_thread *th)
{
	uint64_t tag;
	int res;
	bool any = false;
	while (th->uring && disk_uring_reap(&th->ring, &tag, &res)) {
		if (tag >= NSLOTS)
			continue; /* not ours: cannot happen */
		blk_req_io_done(th->blk, &th->slots[tag], res);
		th->done[th->ndone++] = (uint16_t)tag;
		th->on_ring--;
		any = true;
	}
	return any;
}

/* A waiting FLUSH runs once everything before it has completed. */
static bool run_flush(struct blk_thread *th)
{
	if (th->flush_wait < 0 || th->on_ring > 0)
		return false;
	uint16_t slot = (uint16_t)th->flush_wait;
	th->flush_wait = -1;
	blk_req_run(th->blk, &th->slots[slot]);
	th->done[th->ndone++] = slot;
	return true;
}

/* Writes the status bytes and pushes the used entries in completion order;
 * with `notify`, signals the driver (as EVENT_IDX or NO_INTERRUPT allow) for
 * them and any pushed before without. */
static void push_done(struct blk_thread *th, struct virtio_mmio *t, bool notify)
{
	uint32_t used[NSLOTS];
	for (unsigned i = 0; i < th->ndone; i++)
		used[i] = blk_req_finish(th->blk, &th->slots[th->done[i]]);
	virtio_mmio_lock(t);
	struct virtq *vq = virtio_mmio_queue(t, BLK_REQUEST_QUEUE);
	for (unsigned i = 0; i < th->ndone; i++)
		(void)virtq_push(vq, th->slots[th->done[i]].head, used[i]);
	if (notify)
		virtio_mmio_notify_used(t, BLK_REQUEST_QUEUE);
	th->unsignalled = !notify;
	virtio_mmio_unlock(t);
	for (unsigned i = 0; i < th->ndone; i++)
		th->free[th->nfree++] = th->done[i];
	th->ndone = 0;
}

/* ---- The loop ------------------------------------------------------------------------ */

static unsigned in_flight(const struct blk_thread *th)
{
	return NSLOTS - th->nfree;
}

/* The hand-shakes: parks while a quiesce wants it (and nothing is in
 * flight); copies the transport and kick fd. Returns false when the thread
 * should end; *pausing says not to take chains. Asked to park or end, the
 * thread first serves what the ring holds at that moment (one last pass,
 * at most a queue's worth): the guest's last writes before it stopped, a
 * snapshot's, are not left behind. */
static bool control(struct blk_thread *th, struct virtio_mmio **t, int *kick_fd, bool *pausing)
{
	pthread_mutex_lock(&th->mu);
	bool stopping = th->pause_req > 0 || th->stop;
	if (stopping && !th->stopping) {
		th->last = NSLOTS;
		th->want_pop = true;
	}
	th->stopping = stopping;
	if (!th->want_pop || !th->t || th->blk->throttled)
		th->last = 0; /* the ring is empty, or not there, or must wait */
	if (in_flight(th) == 0 && th->last == 0) {
		if (th->stop) {
			pthread_mutex_unlock(&th->mu);
			return false;
		}
		if (th->pause_req > 0) {
			th->parked = true;
			pthread_cond_broadcast(&th->cond);
			while (th->pause_req > 0 && !th->stop)
				pthread_cond_wait(&th->cond, &th->mu);
			th->parked = false;
			th->stopping = false;
			th->want_pop = true; /* whatever came meanwhile */
		}
	}
	bool end = th->stop && in_flight(th) == 0 && th->last == 0;
	*t = th->t;
	*kick_fd = th->kick_fd;
	*pausing = (th->pause_req > 0 || th->stop) && th->last == 0;
	pthread_mutex_unlock(&th->mu);
	return !end;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread's involuntary context switches so far, or -1. */
static long preemptions(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : -1;
}

/* After a poll that began with `before` preemptions: backs off when it was
 * preempted, else ends the back-off. */
static void poll_done(struct blk_thread *th, long before)
{
	if (before < 0 || preemptions() == before) {
		th->no_poll_ns = 0;
		return;
	}
	th->no_poll_ns = th->no_poll_ns ? th->no_poll_ns * 2 : NO_POLL_MIN_NS;
	if (th->no_poll_ns > NO_POLL_MAX_NS)
		th->no_poll_ns = NO_POLL_MAX_NS;
	th->no_poll_until = now_ns() + th->no_poll_ns;
}

/* Whether a completion came, or (with can_pop) the driver made a chain
 * available: then want_pop. */
static bool work_arrived(struct blk_thread *th, struct virtio_mmio *t, bool can_pop)
{
	if (th->on_ring > 0 && disk_uring_ready(&th->ring))
		return true;
	if (!can_pop)
		return false;
	virtio_mmio_lock(t);
	bool avail =
	    virtio_mmio_active(t) && virtq_has_avail(virtio_mmio_queue(t, BLK_REQUEST_QUEUE));
	virtio_mmio_unlock(t);
	th->want_pop |= avail;
	return avail;
}

/* Polls for POLL_NS: whether the driver made a chain available or a
 * completion came meanwhile (then no need to sleep). */
static bool poll_briefly(struct blk_thread *th, struct virtio_mmio *t, bool can_pop)
{
	uint64_t start = now_ns();
	if (!th->may_poll || start < th->no_poll_until)
		return false;
	uint64_t end = start + POLL_NS;
	long before = preemptions();
	bool found;
	for (unsigned i = 1; !(found = work_arrived(th, t, can_pop)); i++) {
		if (i % 16 == 0 && now_ns() >= end)
			break;
		__builtin_ia32_pause();
	}
	poll_done(th, before);
	return found;
}

/* Sleeps until a kick, a completion, the timer or a hand-shake (after a
 * short poll of the ring). */
static void wait_events(struct blk_thread *th, struct virtio_mmio *t, int kick_fd, bool pausing)
{
	struct virtio_blk *blk = th->blk;
	struct pollfd p[4];
	nfds_t n = 0;
	int kick = -1, ring = -1, timer = -1;
	p[n++] = (struct pollfd){.fd = th->wake_fd, .events = POLLIN};
	bool can_pop = t && !pausing && !blk->throttled && th->nfree > 0 && th->flush_wait < 0;
	if (t && (can_pop || th->on_ring > 0) && poll_briefly(th, t, can_pop))
		return;
	/* A kick that cannot be acted on now stays in its eventfd. */
	if (can_pop && kick_fd >= 0) {
		kick = (int)n;
		p[n++] = (struct pollfd){.fd = kick_fd, .events = POLLIN};
	}
	if (th->on_ring > 0) {
		ring = (int)n;
		p[n++] = (struct pollfd){.fd = th->ring.ring_fd, .events = POLLIN};
	}
	if (blk->throttled && blk->timer.fd >= 0) {
		timer = (int)n;
		p[n++] = (struct pollfd){.fd = blk->timer.fd, .events = POLLIN};
	}
	if (poll(p, n, -1) <= 0)
		return;
	eventfd_t v;
	if (p[0].revents && eventfd_read(th->wake_fd, &v) == 0)
		th->want_pop = true; /* a kick without kick eventfds, or a hand-shake */
	if (kick >= 0 && p[kick].revents && eventfd_read(kick_fd, &v) == 0) {
		atomic_fetch_add_explicit(&t->kicks, v, memory_order_relaxed);
		th->want_pop = true;
	}
	if (timer >= 0 && p[timer].revents && throttle_timer_ack(&blk->timer)) {
		blk->throttled = false;
		th->want_pop = true;
	}
	(void)ring; /* reaped at the top of the loop */
}

static void serve(struct blk_thread *th)
{
	for (;;) {
		struct virtio_mmio *t;
		int kick_fd;
		bool pausing;
		if (!control(th, &t, &kick_fd, &pausing))
			return;
		bool progress = reap(th);
		progress |= run_flush(th);
		if (t && !pausing && !th->blk->throttled && th->want_pop)
			progress |= pop_chains(th, t);
		progress |= run_requests(th, t);
		/* Reads of cached data complete as they are submitted: push
		 * them now, not after the next batch has been done. */
		progress |= reap(th);
		if (th->ndone || th->unsignalled) {
			push_done(th, t, true);
			progress = true;
		}
		if (th->last > 0 && !th->want_pop)
			continue; /* the last pass is over: park or end */
		if (!progress)
			wait_events(th, t, kick_fd, pausing);
	}
}

static void *thread_main(void *arg)
{
	struct blk_thread *th = arg;
	char name[16] = "blk "; /* comm: 15 bytes */
	size_t len = strnlen(th->blk->name, sizeof(name) - 5);
	memcpy(name + 4, th->blk->name, len);
	name[4 + len] = '\0';
	(void)prctl(PR_SET_NAME, name);
	int r = seccomp_enter(SECCOMP_THREAD_BLK, 0);
	pthread_mutex_lock(&th->mu);
	th->start_err = r;
	th->started = true;
	pthread_cond_broadcast(&th->cond);
	pthread_mutex_unlock(&th->mu);
	if (r == 0)
		serve(th);
	disk_uring_release(&th->ring); /* the image's lock goes with its fd */
	pthread_mutex_lock(&th->mu);
	th->exited = true;
	pthread_cond_broadcast(&th->cond);
	pthread_mutex_unlock(&th->mu);
	return NULL;
}

/* ---- Set-up and the other threads' side ------------------------------------------------- */

/* The ring, as `io` asks: false for synchronous I/O; -1 with err when
 * io_uring was asked for and cannot be had. */
static int open_ring(struct blk_thread *th, char *err, size_t errlen)
{
	struct virtio_blk *blk = th->blk;
	if (blk->io == DRIVE_IO_SYNC)
		return 0;
	int r = disk_uring_open(&th->ring, &blk->disk, NSLOTS);
	if (r == 0) {
		th->uring = true;
		return 0;
	}
	if (blk->io == DRIVE_IO_URING) {
		snprintf(err, errlen, "%s: io = io_uring: %s", blk->disk.path,
			 disk_uring_built() ? strerror(-r) : "minnow was built without liburing");
		return -1;
	}
	log_debug("virtio-blk %s: io_uring: %s: synchronous I/O on the drive's thread",
		  blk->disk.path, disk_uring_built() ? strerror(-r) : "not built in");
	return 0;
}

static void free_thread(struct blk_thread *th)
{
	disk_uring_close(&th->ring);
	if (th->wake_fd >= 0)
		close(th->wake_fd);
	pthread_cond_destroy(&th->cond);
	pthread_mutex_destroy(&th->mu);
	free(th->slots);
	free(th);
}

/* Starts the thread with every signal blocked (they are the main
 * thread's and the vCPUs'), and waits for its filter. */
static int spawn(struct blk_thread *th)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&th->tid, NULL, thread_main, th);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	pthread_mutex_lock(&th->mu);
	while (!th->started)
		pthread_cond_wait(&th->cond, &th->mu);
	r = th->start_err;
	pthread_mutex_unlock(&th->mu);
	if (r < 0)
		pthread_join(th->tid, NULL);
	return r;
}

static struct blk_thread *thread_start(struct virtio_blk *blk, char *err, size_t errlen)
{
	struct blk_thread *th = calloc(1, sizeof(*th));
	if (!th || !(th->slots = calloc(NSLOTS, sizeof(*th->slots)))) {
		free(th);
		snprintf(err, errlen, "%s: %s", blk->disk.path, strerror(ENOMEM));
		return NULL;
	}
	th->blk = blk;
	th->kick_fd = -1;
	th->flush_wait = -1;
	th->ring.ring_fd = -1;
	cpu_set_t cpus;
	th->may_poll = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1;
	for (unsigned i = 0; i < NSLOTS; i++)
		th->free[th->nfree++] = (uint16_t)(NSLOTS - 1 - i);
	pthread_mutex_init(&th->mu, NULL);
	pthread_cond_init(&th->cond, NULL);
	th->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (th->wake_fd < 0) {
		snprintf(err, errlen, "%s: eventfd: %s", blk->disk.path, strerror(errno));
		free_thread(th);
		return NULL;
	}
	if (open_ring(th, err, errlen) < 0) {
		free_thread(th);
		return NULL;
	}
	/* Activated before the thread existed (a restored snapshot). */
	if (blk->t)
		thread_activate(th, blk->t);
	int r = spawn(th);
	if (r < 0) {
		snprintf(err, errlen, "%s: the drive's thread: %s", blk->disk.path, strerror(-r));
		free_thread(th);
		return NULL;
	}
	return th;
}

static void thread_stop(struct blk_thread *th)
{
	if (!th)
		return;
	pthread_mutex_lock(&th->mu);
	th->stop = true;
	pthread_cond_broadcast(&th->cond);
	pthread_mutex_unlock(&th->mu);
	(void)eventfd_write(th->wake_fd, 1);
	pthread_join(th->tid, NULL);
	free_thread(th);
}

static void thread_activate(struct blk_thread *th, struct virtio_mmio *t)
{
	pthread_mutex_lock(&th->mu);
	th->t = t;
	th->kick_fd = virtio_mmio_kick_fd(t, BLK_REQUEST_QUEUE);
	pthread_mutex_unlock(&th->mu);
	(void)eventfd_write(th->wake_fd, 1);
}

static void thread_wake(struct blk_thread *th)
{
	(void)eventfd_write(th->wake_fd, 1);
}

static void thread_quiesce(struct blk_thread *th, bool stop)
{
	pthread_mutex_lock(&th->mu);
	if (stop) {
		th->pause_req++;
		(void)eventfd_write(th->wake_fd, 1);
		while (!th->parked && !th->exited)
			pthread_cond_wait(&th->cond, &th->mu);
	} else if (th->pause_req > 0 && --th->pause_req == 0) {
		pthread_cond_broadcast(&th->cond);
	}
	pthread_mutex_unlock(&th->mu);
}

const struct blk_thread_ops blk_thread_ops = {
    .activate = thread_activate,
    .wake = thread_wake,
    .quiesce = thread_quiesce,
    .stop = thread_stop,
};

int virtio_blk_start(struct virtio_blk *blk, char *err, size_t errlen)
{
	if (blk->thread)
		return 0;
	struct blk_thread *th = thread_start(blk, err, errlen);
	if (!th)
		return -1;
	blk->uring = th->uring;
	blk->thread_ops = &blk_thread_ops;
	blk->thread = th;
	return 0;
}
