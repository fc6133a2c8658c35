/* test_serve_queue.c - the budgeted serve loop (serve_queue.c): a fake device shows the budget
 * per call, the re-scheduling through the event loop and guest errors; virtio-blk and
 * virtio-rng on one loop show that a flood on one device no longer holds up the other. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <linux/virtio_blk.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event_loop.h"
#include "guest_mem.h"
#include "serve_queue.h"
#include "test_util.h"
#include "virtio_blk.h"
#include "virtio_driver.h"
#include "virtio_mmio.h"
#include "virtio_rng.h"

#define RAM_SIZE   (32ULL << 20)
#define RINGS_GPA  0x100000ULL /* fake device or blk; rng at + 0x10000 */
#define HDR_GPA	   0x120000ULL
#define STATUS_GPA 0x120100ULL /* one status byte per blk request */
#define BUF_GPA	   0x121000ULL /* small buffers */
#define TABLE_GPA  0x130000ULL /* blk indirect tables */
#define DATA_GPA   0x400000ULL /* 8 MiB of blk data */

#define FAKE_QSIZE   16
#define FAKE_CHAINS  10
#define FAKE_BUDGET  4
#define MAX_CALLS    64
#define FLOOD_SEGS   8 /* data segments of size_max per flood request */
#define FLOOD_REQS   255
#define FLOOD_IMAGE  (FLOOD_SEGS * VIRTIO_BLK_SIZE_MAX)
#define TABLE_STRIDE 256 /* bytes per indirect table: FLOOD_SEGS + 2 descriptors */

static void setup(void)
{
	ram_map(RAM_SIZE);
}

static void teardown(void)
{
	ram_unmap();
}

TestSuite(serve_queue, .init = setup, .fini = teardown);

/* ---- A fake device served by serve_queue() ------------------------------------------------ */

struct fake {
	uint64_t max_bytes;
	unsigned calls;		    /* queue_notify calls */
	unsigned served[MAX_CALLS]; /* serve_queue()'s result, per call */
	unsigned chains;	    /* chains its serve callback saw */
};

static struct fake fake;

/* Chains with a writable buffer are served (one byte written); a chain with none is a guest
 * error. */
static int fake_serve(void *opaque, struct virtio_mmio *t, const struct virtq_chain *chain,
		      uint32_t *used_len)
{
	struct fake *f = opaque;
	if (chain->writable_bytes == 0) {
		virtio_mmio_fail(t, "chain %u has nothing to write to", chain->head);
		return -1;
	}
	f->chains++;
	*used_len = 1;
	return 0;
}

static void fake_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct fake *f = dev;
	struct virtq_seg segs[4];
	struct queue_server server = {
	    .queue = queue,
	    .queue_name = "fake queue",
	    .segs = segs,
	    .seg_cap = 4,
	    .max_chains = FAKE_BUDGET,
	    .max_bytes = f->max_bytes,
	    .serve = fake_serve,
	    .opaque = f,
	};
	unsigned n = serve_queue(t, &server);
	if (f->calls < MAX_CALLS)
		f->served[f->calls] = n;
	f->calls++;
}

static const struct virtio_device_ops fake_ops = {
    .name = "fake",
    .device_id = 42,
    .num_queues = 1,
    .queue_max = FAKE_QSIZE,
    .queue_notify = fake_queue_notify,
};

/* Brings the fake device up on `t` (slot 0, with `loop` or none) with its queue at RINGS_GPA;
 * with a loop, waits for the kick at DRIVER_OK to be served. */
static void fake_up(struct virtio_mmio *t, struct event_loop *loop, struct drv_ring *r)
{
	cr_assert_eq(virtio_mmio_create(t, &fake_ops, &fake, &guest_ram, -1, loop, NULL, 0), 0);
	drv_features_ok(t, F_VERSION_1);
	drv_ring_at(r, t, 0, FAKE_QSIZE, RINGS_GPA);
	drv_go(t);
	if (loop)
		loop_settle(loop, 2);
}

/* Posts FAKE_CHAINS chains of one 512-byte writable buffer each (no kick). */
static void post_fake_chains(struct drv_ring *r)
{
	for (unsigned i = 0; i < FAKE_CHAINS; i++) {
		struct drv_seg s = {BUF_GPA + i * 512, 512, true};
		drv_post_chain(r, &s, 1);
	}
}

/* Reads fake.calls under the transport lock (the loop thread writes it). */
static unsigned fake_calls(struct virtio_mmio *t)
{
	virtio_mmio_lock(t);
	unsigned n = fake.calls;
	virtio_mmio_unlock(t);
	return n;
}

Test(serve_queue, budget_per_call_and_the_rest_later_without_a_kick)
{
	struct event_loop loop;
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	struct virtio_mmio t;
	struct drv_ring r;
	fake_up(&t, &loop, &r);
	post_fake_chains(&r);
	unsigned calls_before = fake_calls(&t);
	uint64_t irqs_before = atomic_load(&t.interrupts);
	drv_kick(&r); /* the only kick */
	cr_assert(drv_wait_used(&r, FAKE_CHAINS, 2000), "all %u chains served after one kick",
		  FAKE_CHAINS);
	loop_settle(&loop, 2);
	virtio_mmio_lock(&t);
	unsigned calls = fake.calls - calls_before;
	cr_assert_eq(calls, 3, "4 + 4 + 2 chains in three turns, not %u", calls);
	for (unsigned i = calls_before; i < fake.calls; i++)
		cr_assert_leq(fake.served[i], FAKE_BUDGET, "turn %u served %u", i, fake.served[i]);
	virtio_mmio_unlock(&t);
	cr_assert_eq(atomic_load(&t.user_kicks), 1, "no kick but the test's");
	cr_assert_eq(atomic_load(&t.interrupts), irqs_before + 3, "one interrupt per batch");
	cr_assert_eq(fake.chains, FAKE_CHAINS);
	cr_assert_not(drv_needs_reset(&t));
	virtio_mmio_destroy(&t);
	event_loop_fini(&loop);
}

Test(serve_queue, without_a_loop_all_in_one_call_batch_by_batch)
{
	struct virtio_mmio t;
	struct drv_ring r;
	fake.max_bytes = 1000; /* two 512-byte chains per batch */
	fake_up(&t, NULL, &r);
	post_fake_chains(&r);
	unsigned calls_before = fake.calls;
	uint64_t irqs_before = atomic_load(&t.interrupts);
	drv_kick(&r);
	cr_assert_eq(drv_used_idx(&r), FAKE_CHAINS);
	cr_assert_eq(fake.calls, calls_before + 1);
	cr_assert_eq(fake.served[calls_before], FAKE_CHAINS);
	cr_assert_eq(atomic_load(&t.interrupts), irqs_before + FAKE_CHAINS / 2,
		     "one interrupt per batch of max_bytes");
	virtio_mmio_destroy(&t);
}

Test(serve_queue, bad_chain_fails_the_device_after_serving_those_before)
{
	struct virtio_mmio t;
	struct drv_ring r;
	fake_up(&t, NULL, &r);
	post_fake_chains(&r);
	struct drv_seg readable = {BUF_GPA, 512, false};
	drv_post_chain(&r, &readable, 1); /* the 11th: a guest error */
	struct drv_seg ok = {BUF_GPA, 512, true};
	drv_post_chain(&r, &ok, 1);
	drv_kick(&r);
	cr_assert_eq(drv_used_idx(&r), FAKE_CHAINS, "those before served, the bad one not");
	cr_assert(drv_needs_reset(&t));
	cr_assert(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	drv_kick(&r); /* stopped until reset */
	cr_assert_eq(drv_used_idx(&r), FAKE_CHAINS);
	virtio_mmio_destroy(&t);
}

Test(serve_queue, ring_error_fails_the_device)
{
	struct virtio_mmio t;
	struct drv_ring r;
	fake_up(&t, NULL, &r);
	post_fake_chains(&r);
	uint16_t bad = r.next_desc; /* not used by the chains posted */
	r.desc[bad] = (struct vring_desc){RAM_SIZE - 8, 64, VRING_DESC_F_WRITE, 0};
	drv_post(&r, bad); /* outside RAM */
	drv_kick(&r);
	cr_assert_eq(drv_used_idx(&r), FAKE_CHAINS);
	cr_assert(drv_needs_reset(&t));
	virtio_mmio_destroy(&t);
}

/* ---- A flood on one device, a request on another ------------------------------------------ */

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A drive on slot 0 of `loop` over a sparse FLOOD_IMAGE image at `path`, queue of 256. */
static struct virtio_blk *flood_drive_up(struct virtio_mmio *t, struct event_loop *loop, char *path,
					 size_t pathlen, struct drv_ring *r)
{
	int fd = make_tmp_file(path, pathlen, NULL, "flood");
	cr_assert_eq(ftruncate(fd, FLOOD_IMAGE), 0);
	close(fd);
	struct drive_config c;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "d0");
	snprintf(c.path.path, sizeof(c.path.path), "%s", path);
	char err[PATH_MAX + 200] = "";
	struct virtio_blk *blk = virtio_blk_create(&c, loop, err, sizeof(err));
	cr_assert_not_null(blk, "%s", err);
	cr_assert_eq(virtio_blk_start(blk, err, sizeof(err)), 0, "%s", err); /* its own thread */
	cr_assert_eq(virtio_mmio_create(t, &virtio_blk_ops, blk, &guest_ram, -1, loop, NULL, 0), 0);
	drv_features_ok(t, F_VERSION_1 | F_INDIRECT);
	drv_ring_at(r, t, 0, 256, RINGS_GPA);
	drv_go(t);
	return blk;
}

/* Posts FLOOD_REQS reads of FLOOD_IMAGE bytes (FLOOD_SEGS segments of size_max, all into the
 * same buffer), one indirect table each. No kick. */
static void post_flood(struct drv_ring *r)
{
	struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = 0};
	memcpy(gp(HDR_GPA, sizeof(h)), &h, sizeof(h));
	for (unsigned i = 0; i < FLOOD_REQS; i++) {
		gpa_t table_gpa = TABLE_GPA + i * TABLE_STRIDE;
		struct vring_desc *table = gp(table_gpa, TABLE_STRIDE);
		table[0] = (struct vring_desc){HDR_GPA, sizeof(h), VRING_DESC_F_NEXT, 1};
		for (unsigned s = 0; s < FLOOD_SEGS; s++)
			table[1 + s] = (struct vring_desc){
			    DATA_GPA + s * VIRTIO_BLK_SIZE_MAX, VIRTIO_BLK_SIZE_MAX,
			    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(2 + s)};
		table[FLOOD_SEGS + 1] =
		    (struct vring_desc){STATUS_GPA + i, 1, VRING_DESC_F_WRITE, 0};
		r->desc[i] =
		    (struct vring_desc){table_gpa, 16 * (FLOOD_SEGS + 2), VRING_DESC_F_INDIRECT, 0};
		drv_post(r, (uint16_t)i);
	}
}

/* The time from a kick of another device on the loop to its used entry stays far below the
 * time the flood still takes: the flood is served by the drive's own thread, not the loop. */
Test(serve_queue, blk_flood_does_not_hold_up_rng, .timeout = 60)
{
	struct event_loop loop;
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	struct virtio_mmio bt, rt;
	struct drv_ring br, rr;
	char path[PATH_MAX];
	struct virtio_blk *blk = flood_drive_up(&bt, &loop, path, sizeof(path), &br);
	struct virtio_rng rng;
	virtio_rng_init(&rng);
	cr_assert_eq(virtio_mmio_create(&rt, &virtio_rng_ops, &rng, &guest_ram, -1, &loop, NULL, 1),
		     0);
	drv_features_ok(&rt, F_VERSION_1);
	drv_ring_at(&rr, &rt, 0, 8, RINGS_GPA + 0x10000);
	drv_go(&rt);
	loop_settle(&loop, 2);

	post_flood(&br);
	drv_kick(&br);
	cr_assert(WAIT_UNTIL(drv_used_idx(&br) >= 1, 10000), "the flood started");
	struct drv_seg s = {BUF_GPA, 64, true};
	drv_post_chain(&rr, &s, 1);
	uint64_t kicked = now_us();
	drv_kick(&rr);
	cr_assert(drv_wait_used(&rr, 1, 30000), "the rng request was served");
	uint64_t rng_us = now_us() - kicked;
	uint16_t flood_done_then = drv_used_idx(&br);
	cr_assert(drv_wait_used(&br, FLOOD_REQS, 30000), "the flood was served");
	uint64_t flood_us = now_us() - kicked;
	cr_log_info("rng served in %llu us, the flood took %llu us more (%u of %u requests done "
		    "when the rng's was)",
		    (unsigned long long)rng_us, (unsigned long long)flood_us, flood_done_then,
		    FLOOD_REQS);
	cr_assert_lt(rng_us * 4, flood_us,
		     "rng waited %llu us of the flood's %llu us: the flood held it up",
		     (unsigned long long)rng_us, (unsigned long long)flood_us);
	for (unsigned i = 0; i < FLOOD_REQS; i++)
		cr_assert_eq(*(uint8_t *)gp(STATUS_GPA + i, 1), VIRTIO_BLK_S_OK, "request %u", i);

	virtio_mmio_destroy(&rt);
	virtio_mmio_destroy(&bt);
	event_loop_fini(&loop);
	virtio_blk_destroy(blk);
	unlink(path);
}
