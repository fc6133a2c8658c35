/* test_virtqueue.c - the split virtqueue against a fake guest RAM: good
 * chains, every hostile chain the walker must refuse, ring checks at enable,
 * the used ring and notification suppression both ways. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "guest_mem.h"
#include "platform.h"
#include "virtio_driver.h"
#include "virtqueue.h"

#define RAM_SIZE  (16ULL << 20)
#define QSIZE	  16
#define DESC_GPA  0x10000ULL
#define AVAIL_GPA 0x20000ULL
#define USED_GPA  0x30000ULL
#define TABLE_GPA 0x40000ULL  /* indirect tables */
#define BUF_GPA	  0x100000ULL /* data buffers */

static struct virtq vq;
static struct virtq_seg segs[8];
static struct virtq_chain chain;
static struct drv_ring ring; /* the driver's side of vq */

/* vq: QSIZE entries at DESC/AVAIL/USED of `ram_size` bytes of RAM, not enabled. */
static void queue_in_ram(uint64_t ram_size)
{
	ram_map(ram_size);
	virtq_init(&vq, &guest_ram, 256);
	vq.size = QSIZE;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	drv_ring_layout(&ring, 0, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
}

static void setup(void)
{
	queue_in_ram(RAM_SIZE);
	virtq_chain_init(&chain, segs, 8);
}

TestSuite(virtq, .init = setup, .fini = ram_unmap);

static void enable(uint64_t features)
{
	cr_assert_eq(virtq_enable(&vq, features), 0);
}

/* Writes descriptor `i` of the table at table_gpa. */
static void set_desc_in(gpa_t table_gpa, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
	memcpy(gp(table_gpa + 16ULL * i, 16), &d, sizeof(d)); /* tables may be unaligned */
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	set_desc_in(DESC_GPA, i, addr, len, flags, next);
}

/* The chain just popped: `nsegs` segments, the first `readable` of them readable, `rbytes` bytes
 * readable and `wbytes` writable in all. */
static void expect_chain(unsigned nsegs, unsigned readable, uint32_t rbytes, uint32_t wbytes)
{
	cr_assert_eq(chain.num_segs, nsegs);
	cr_assert_eq(chain.num_readable, readable);
	cr_assert_eq(chain.readable_bytes, rbytes);
	cr_assert_eq(chain.writable_bytes, wbytes);
}

/* ---- Good chains ------------------------------------------------------------- */

Test(virtq, empty_queue)
{
	enable(0);
	cr_assert_eq(virtq_pop(&vq, &chain), 0);
}

Test(virtq, not_ready_pops_nothing)
{
	cr_assert_eq(virtq_pop(&vq, &chain), 0);
	cr_assert_eq(virtq_push(&vq, 0, 0), -EINVAL);
	cr_assert_not(virtq_should_notify(&vq));
}

Test(virtq, single_readable)
{
	enable(0);
	set_desc(3, BUF_GPA, 100, 0, 0);
	drv_post(&ring, 3);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(chain.head, 3);
	expect_chain(1, 1, 100, 0);
	cr_assert_eq(chain.segs[0].host, guest_ram.host + BUF_GPA);
	cr_assert_eq(chain.segs[0].len, 100);
	cr_assert_not(chain.segs[0].writable);
	cr_assert_eq(vq.last_avail_idx, 1);
	cr_assert_eq(virtq_pop(&vq, &chain), 0);
}

Test(virtq, mixed_readable_then_writable)
{
	enable(0);
	set_desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT, 5);
	set_desc(5, BUF_GPA + 0x1000, 512, VRING_DESC_F_NEXT, 2);
	set_desc(2, BUF_GPA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	drv_post(&ring, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	expect_chain(3, 2, 528, 1);
	cr_assert(chain.segs[2].writable);
	cr_assert_eq(chain.segs[2].host, guest_ram.host + BUF_GPA + 0x2000);
}

Test(virtq, indirect_chain)
{
	enable(F_INDIRECT);
	set_desc_in(TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc_in(TABLE_GPA, 2, BUF_GPA + 0x100, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc_in(TABLE_GPA, 1, BUF_GPA + 0x200, 4, VRING_DESC_F_WRITE, 0);
	set_desc(7, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	drv_post(&ring, 7);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(chain.head, 7);
	expect_chain(3, 1, 16, 12);
	cr_assert_eq(chain.segs[2].host, guest_ram.host + BUF_GPA + 0x200);
}

Test(virtq, direct_then_indirect)
{
	enable(F_INDIRECT);
	set_desc_in(TABLE_GPA, 0, BUF_GPA + 0x100, 8, VRING_DESC_F_WRITE, 0);
	set_desc(1, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	/* The WRITE flag on the descriptor naming a table is ignored. */
	set_desc(2, TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	drv_post(&ring, 1);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(chain.num_segs, 2);
	cr_assert_eq(chain.num_readable, 1);
	cr_assert_eq(chain.writable_bytes, 8);
}

Test(virtq, unaligned_indirect_table)
{
	enable(F_INDIRECT);
	set_desc_in(TABLE_GPA + 4, 0, BUF_GPA, 32, VRING_DESC_F_WRITE, 0);
	set_desc(0, TABLE_GPA + 4, 16, VRING_DESC_F_INDIRECT, 0);
	drv_post(&ring, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(chain.writable_bytes, 32);
}

Test(virtq, chain_as_long_as_the_queue)
{
	enable(0);
	for (unsigned i = 0; i < 8; i++)
		set_desc(i, BUF_GPA + i, 1, i < 7 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	drv_post(&ring, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(chain.num_segs, 8);
}

Test(virtq, buffer_at_the_very_end_of_ram)
{
	enable(0);
	set_desc(0, RAM_SIZE - 64, 64, VRING_DESC_F_WRITE, 0);
	drv_post(&ring, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(chain.segs[0].host, guest_ram.host + RAM_SIZE - 64);
}

Test(virtq, avail_idx_exactly_size_ahead)
{
	enable(0);
	for (unsigned i = 0; i < QSIZE; i++) {
		set_desc(i, BUF_GPA, 4, 0, 0);
		drv_post(&ring, (uint16_t)i);
	}
	for (unsigned i = 0; i < QSIZE; i++) {
		cr_assert_eq(virtq_pop(&vq, &chain), 1);
		cr_assert_eq(chain.head, i);
	}
	cr_assert_eq(virtq_pop(&vq, &chain), 0);
}

Test(virtq, unpop_gives_the_chain_back)
{
	enable(0);
	set_desc(4, BUF_GPA, 4, VRING_DESC_F_WRITE, 0);
	drv_post(&ring, 4);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	virtq_unpop(&vq);
	cr_assert_eq(vq.last_avail_idx, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(chain.head, 4);
}

/* ---- Hostile chains ------------------------------------------------------- */

/* Posts `head` and expects the pop to fail with `err`, consuming nothing. */
static void expect_refused(uint16_t head, int err)
{
	drv_post(&ring, head);
	cr_assert_eq(virtq_pop(&vq, &chain), err);
	cr_assert_eq(vq.last_avail_idx, 0, "a refused chain must not be consumed");
}

Test(virtq, looped_chain)
{
	enable(0);
	set_desc(0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 4, VRING_DESC_F_NEXT, 0);
	struct virtq_seg many[64]; /* room for the loop to run into its bound */
	virtq_chain_init(&chain, many, 64);
	expect_refused(0, -ELOOP);
}

Test(virtq, self_loop)
{
	enable(0);
	struct virtq_seg many[64];
	virtq_chain_init(&chain, many, 64);
	set_desc(9, BUF_GPA, 0, VRING_DESC_F_NEXT, 9);
	expect_refused(9, -ELOOP);
}

Test(virtq, head_out_of_range)
{
	enable(0);
	expect_refused(QSIZE, -EINVAL);
}

Test(virtq, head_far_out_of_range)
{
	enable(0);
	expect_refused(0xffff, -EINVAL);
}

Test(virtq, next_out_of_range)
{
	enable(0);
	set_desc(0, BUF_GPA, 4, VRING_DESC_F_NEXT, QSIZE);
	expect_refused(0, -EINVAL);
}

Test(virtq, address_outside_ram)
{
	enable(0);
	set_desc(0, RAM_SIZE, 1, 0, 0);
	expect_refused(0, -EFAULT);
}

Test(virtq, address_in_mmio_gap)
{
	enable(0);
	set_desc(0, 0xd0010000ULL, 4, 0, 0);
	expect_refused(0, -EFAULT);
}

Test(virtq, address_plus_len_wraps)
{
	enable(0);
	set_desc(0, UINT64_MAX - 10, 100, VRING_DESC_F_WRITE, 0);
	expect_refused(0, -EFAULT);
}

Test(virtq, buffer_crossing_end_of_ram)
{
	enable(0);
	set_desc(0, RAM_SIZE - 10, 20, VRING_DESC_F_WRITE, 0);
	expect_refused(0, -EFAULT);
}

Test(virtq, huge_length)
{
	enable(0);
	set_desc(0, 0, UINT32_MAX, VRING_DESC_F_WRITE, 0);
	expect_refused(0, -EFAULT);
}

Test(virtq, zero_length_outside_ram)
{
	enable(0);
	set_desc(0, RAM_SIZE + 4096, 0, 0, 0);
	expect_refused(0, -EFAULT);
}

Test(virtq, readable_after_writable)
{
	enable(0);
	set_desc(0, BUF_GPA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 4, 0, 0);
	expect_refused(0, -EINVAL);
}

Test(virtq, readable_after_writable_across_indirect)
{
	enable(F_INDIRECT);
	set_desc_in(TABLE_GPA, 0, BUF_GPA, 4, 0, 0);
	set_desc(0, BUF_GPA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(1, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_refused(0, -EINVAL);
}

Test(virtq, too_many_segments)
{
	enable(0);
	for (unsigned i = 0; i < 9; i++)
		set_desc(i, BUF_GPA, 1, i < 8 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	expect_refused(0, -E2BIG);
}

Test(virtq, indirect_not_negotiated)
{
	enable(0);
	set_desc_in(TABLE_GPA, 0, BUF_GPA, 4, 0, 0);
	set_desc(0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_refused(0, -EINVAL);
}

Test(virtq, indirect_len_not_multiple_of_16)
{
	enable(F_INDIRECT);
	set_desc(0, TABLE_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	expect_refused(0, -EINVAL);
}

Test(virtq, indirect_zero_length)
{
	enable(F_INDIRECT);
	set_desc(0, TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	expect_refused(0, -EINVAL);
}

Test(virtq, indirect_nested)
{
	enable(F_INDIRECT);
	set_desc_in(TABLE_GPA, 0, TABLE_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc_in(TABLE_GPA + 0x100, 0, BUF_GPA, 4, 0, 0);
	set_desc(0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_refused(0, -EINVAL);
}

Test(virtq, indirect_with_next)
{
	enable(F_INDIRECT);
	set_desc_in(TABLE_GPA, 0, BUF_GPA, 4, 0, 0);
	set_desc(0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 4, 0, 0);
	expect_refused(0, -EINVAL);
}

Test(virtq, indirect_table_outside_ram)
{
	enable(F_INDIRECT);
	set_desc(0, RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	expect_refused(0, -EFAULT);
}

Test(virtq, indirect_next_beyond_table)
{
	enable(F_INDIRECT);
	set_desc_in(TABLE_GPA, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 2);
	set_desc_in(TABLE_GPA, 2, BUF_GPA, 4, 0, 0); /* in memory, but not in the table */
	set_desc(0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	expect_refused(0, -EINVAL);
}

Test(virtq, indirect_loop)
{
	enable(F_INDIRECT);
	struct virtq_seg many[64];
	virtq_chain_init(&chain, many, 64);
	set_desc_in(TABLE_GPA, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_desc_in(TABLE_GPA, 1, BUF_GPA, 4, VRING_DESC_F_NEXT, 0);
	set_desc(0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	expect_refused(0, -ELOOP);
}

Test(virtq, avail_idx_too_far_ahead)
{
	enable(0);
	set_desc(0, BUF_GPA, 4, 0, 0);
	ring.avail->ring[0] = 0;
	ring.avail->idx = QSIZE + 1;
	cr_assert_eq(virtq_pop(&vq, &chain), -EINVAL);
	ring.avail->idx = 0x8000;
	cr_assert_eq(virtq_pop(&vq, &chain), -EINVAL);
	cr_assert_eq(vq.last_avail_idx, 0);
}

Test(virtq, total_length_overflow)
{
	/* Two 2.75 GiB buffers in a 4 GiB guest (never touched). */
	queue_in_ram(4ULL << 30);
	enable(0);
	set_desc(0, 0x1000, 0xB0000000u, VRING_DESC_F_NEXT, 1);
	set_desc(1, 0x1000, 0xB0000000u, 0, 0);
	drv_post(&ring, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), -EOVERFLOW);
}

Test(virtq, descriptor_in_high_ram_split_across_regions)
{
	/* A buffer starting in low RAM and running into the MMIO gap. */
	queue_in_ram(4ULL << 30);
	enable(0);
	set_desc(0, guest_ram.low_size - 8, 16, 0, 0);
	drv_post(&ring, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), -EFAULT);
	set_desc(0, HIGH_RAM_START, 16, 0, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), 1, "a buffer in high RAM is fine");
	cr_assert_eq(chain.segs[0].host, guest_ram.host + guest_ram.low_size);
}

/* ---- Ring checks at enable ------------------------------------------------- */

Test(virtq, enable_rejects_bad_sizes)
{
	vq.size = 0;
	cr_assert_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.size = 12;
	cr_assert_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.size = 512; /* above max_size 256 */
	cr_assert_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.size = 65536;
	cr_assert_eq(virtq_enable(&vq, 0), -EINVAL);
	cr_assert_not(vq.ready);
	vq.size = 256;
	cr_assert_eq(virtq_enable(&vq, 0), 0);
}

Test(virtq, enable_rejects_misaligned_rings)
{
	vq.desc_gpa = DESC_GPA + 8;
	cr_assert_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA + 1;
	cr_assert_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.avail_gpa = AVAIL_GPA + 2;
	vq.used_gpa = USED_GPA + 2;
	cr_assert_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.used_gpa = USED_GPA + 4;
	cr_assert_eq(virtq_enable(&vq, 0), 0);
}

Test(virtq, enable_rejects_rings_outside_ram)
{
	vq.desc_gpa = RAM_SIZE;
	cr_assert_eq(virtq_enable(&vq, 0), -EFAULT);
	vq.desc_gpa = RAM_SIZE - 16 * QSIZE + 16; /* last descriptor past the end */
	cr_assert_eq(virtq_enable(&vq, 0), -EFAULT);
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = RAM_SIZE - (6 + 2 * QSIZE) + 2; /* used_event past the end */
	cr_assert_eq(virtq_enable(&vq, 0), -EFAULT);
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = RAM_SIZE - 8 * QSIZE - 4; /* avail_event 2 bytes past the end */
	cr_assert_eq(virtq_enable(&vq, 0), -EFAULT);
	vq.used_gpa = 0xfffffffffffffff0ULL;
	cr_assert_eq(virtq_enable(&vq, 0), -EFAULT);
	cr_assert_not(vq.ready);
	vq.used_gpa = RAM_SIZE - 8 * QSIZE - 8; /* fits, 4-byte aligned */
	cr_assert_eq(virtq_enable(&vq, 0), 0);
}

/* ---- Used ring and notifications ------------------------------------------- */

Test(virtq, push_publishes_entry_and_index)
{
	enable(0);
	cr_assert_eq(virtq_push(&vq, 5, 77), 0);
	cr_assert_eq(ring.used->idx, 1);
	cr_assert_eq(ring.used->ring[0].id, 5);
	cr_assert_eq(ring.used->ring[0].len, 77);
	cr_assert_eq(virtq_push(&vq, QSIZE, 0), -EINVAL);
	cr_assert_eq(ring.used->idx, 1);
}

Test(virtq, used_ring_wraps)
{
	enable(0);
	for (unsigned i = 0; i < QSIZE + 3; i++)
		cr_assert_eq(virtq_push(&vq, (uint16_t)(i % QSIZE), i), 0);
	cr_assert_eq(ring.used->idx, QSIZE + 3);
	cr_assert_eq(ring.used->ring[2].len, QSIZE + 2);
}

Test(virtq, no_interrupt_flag_without_event_idx)
{
	enable(0);
	cr_assert_eq(virtq_push(&vq, 0, 0), 0);
	cr_assert(virtq_should_notify(&vq));
	cr_assert_not(virtq_should_notify(&vq), "nothing new pushed");
	ring.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	cr_assert_eq(virtq_push(&vq, 0, 0), 0);
	cr_assert_not(virtq_should_notify(&vq));
	ring.avail->flags = 0;
	cr_assert_eq(virtq_push(&vq, 0, 0), 0);
	cr_assert(virtq_should_notify(&vq));
}

Test(virtq, event_idx_ignores_no_interrupt_flag)
{
	enable(F_EVENT_IDX);
	ring.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	drv_set_used_event(&ring, 0);
	cr_assert_eq(virtq_push(&vq, 0, 0), 0);
	cr_assert(virtq_should_notify(&vq));
}

Test(virtq, event_idx_used_event)
{
	enable(F_EVENT_IDX);
	drv_set_used_event(&ring, 0);
	cr_assert_eq(virtq_push(&vq, 0, 0), 0); /* used idx 1 */
	cr_assert(virtq_should_notify(&vq), "first decision always notifies");
	drv_set_used_event(&ring, 3);		/* the driver wants to hear when idx passes 3 */
	cr_assert_eq(virtq_push(&vq, 0, 0), 0); /* 2 */
	cr_assert_not(virtq_should_notify(&vq));
	cr_assert_eq(virtq_push(&vq, 0, 0), 0); /* 3 */
	cr_assert_not(virtq_should_notify(&vq));
	cr_assert_eq(virtq_push(&vq, 0, 0), 0); /* 4: entry 3 written */
	cr_assert(virtq_should_notify(&vq));
	cr_assert_eq(virtq_push(&vq, 0, 0), 0); /* 5 */
	cr_assert_not(virtq_should_notify(&vq), "event already passed");
}

Test(virtq, event_idx_batch_crossing_event)
{
	enable(F_EVENT_IDX);
	drv_set_used_event(&ring, 0);
	cr_assert_eq(virtq_push(&vq, 0, 0), 0);
	cr_assert(virtq_should_notify(&vq));
	drv_set_used_event(&ring, 2);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(virtq_push(&vq, 0, 0), 0); /* 1 -> 5 crosses 2 */
	cr_assert(virtq_should_notify(&vq));
}

Test(virtq, event_idx_avail_event_published)
{
	enable(F_EVENT_IDX);
	cr_assert_eq(virtq_pop(&vq, &chain), 0);
	cr_assert_eq(drv_avail_event(&ring), 0, "empty: kick me at the next buffer");
	set_desc(0, BUF_GPA, 4, 0, 0);
	set_desc(1, BUF_GPA, 4, 0, 0);
	drv_post(&ring, 0);
	drv_post(&ring, 1);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(drv_avail_event(&ring), 1);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	cr_assert_eq(drv_avail_event(&ring), 2);
	cr_assert_eq(virtq_pop(&vq, &chain), 0);
	cr_assert_eq(drv_avail_event(&ring), 2);
	/* What a driver would decide with that avail_event. */
	cr_assert(vring_need_event(drv_avail_event(&ring), 3, 2));
}

/* ---- Copy helpers ----------------------------------------------------------- */

Test(virtq, chain_read_write_across_segments)
{
	enable(0);
	uint8_t *buf = gp(BUF_GPA, 0x3000);
	memcpy(buf, "hello", 5);
	memcpy(buf + 0x1000, " world", 6);
	set_desc(0, BUF_GPA, 5, VRING_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA + 0x1000, 6, VRING_DESC_F_NEXT, 2);
	set_desc(2, BUF_GPA + 0x2000, 3, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	set_desc(3, BUF_GPA + 0x2800, 3, VRING_DESC_F_WRITE, 0);
	drv_post(&ring, 0);
	cr_assert_eq(virtq_pop(&vq, &chain), 1);
	char out[12] = {0};
	cr_assert_eq(virtq_chain_read(&chain, 0, out, 11), 0);
	cr_assert_str_eq(out, "hello world");
	memset(out, 0, sizeof(out));
	cr_assert_eq(virtq_chain_read(&chain, 3, out, 5), 0);
	cr_assert_str_eq(out, "lo wo");
	cr_assert_eq(virtq_chain_read(&chain, 11, out, 0), 0);
	cr_assert_eq(virtq_chain_read(&chain, 10, out, 2), -ERANGE);
	cr_assert_eq(virtq_chain_read(&chain, 12, out, 0), -ERANGE);
	cr_assert_eq(virtq_chain_read(&chain, UINT64_MAX, out, 1), -ERANGE);

	cr_assert_eq(virtq_chain_write(&chain, 1, "abcde", 5), 0);
	cr_assert_eq(memcmp(buf + 0x2001, "ab", 2), 0);
	cr_assert_eq(memcmp(buf + 0x2800, "cde", 3), 0);
	buf[0x2000] = 'z';
	cr_assert_eq(virtq_chain_write(&chain, 0, "1234567", 7), -ERANGE);
	cr_assert_eq(buf[0x2000], 'z', "nothing copied on a range error");
}

Test(virtq, reset_forgets_configuration)
{
	enable(F_EVENT_IDX);
	virtq_reset(&vq);
	cr_assert_not(vq.ready);
	cr_assert_eq(vq.size, 256);
	cr_assert_eq(vq.desc_gpa, 0);
	cr_assert_eq(vq.max_size, 256);
}
