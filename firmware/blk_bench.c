/* blk_bench.c - the blk-bench scenario: 4 KiB random reads and 1 MiB
 * sequential reads on a virtio-blk drive, the timed loop running at CPL3
 * (QueueNotify written from user mode, the used ring polled there, time
 * from the control device's TIME_US); only setup and reporting at CPL0. */
#include "io.h"
#include "platform.h"
#include "user.h"
#include "virtio.h"

#define QSIZE	   256
#define RAND_QD	   32
#define SEQ_QD	   4
#define RAND_BYTES 4096u
#define SEQ_BYTES  (1u << 20)
#define MAX_SEGS   16 /* data descriptors per request */
#define DEFAULT_MS 2000
#define USER_STACK 0x4000
#define TIME_CHECK 1024 /* polls between TIME_US reads (an exit each) */

struct req {
	struct virtio_blk_req_hdr hdr;
	uint8_t status;
};

/* Everything the CPL3 loop touches lives in pool memory (user-mapped). */
struct bench {
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t size;
	uint64_t notify;  /* address of QueueNotify */
	uint64_t time_us; /* address of TIME_US; 0: the TSC / tsc_mhz */
	uint64_t tsc_mhz;
	struct req *reqs; /* qd of them */
	unsigned qd, per; /* requests in flight, descriptors per request */
	unsigned base;	  /* first descriptor of this run's chains */
	uint32_t req_sectors;
	uint64_t capacity;
	bool random, event_idx;
	uint32_t duration_us;
	uint64_t seed, next_sector;
	/* ring state */
	uint16_t avail_idx, last_used, kicked;
	/* results */
	uint64_t ops, errors, kicks, polls;
	uint32_t elapsed_us;
};

static inline uint32_t b_time(const struct bench *b)
{
	if (!b->time_us)
		return (uint32_t)(rdtsc() / b->tsc_mhz);
	return *(volatile uint32_t *)(uintptr_t)b->time_us;
}

static inline uint64_t b_next_sector(struct bench *b)
{
	if (!b->random) {
		uint64_t s = b->next_sector;
		b->next_sector += b->req_sectors;
		if (b->next_sector + b->req_sectors > b->capacity)
			b->next_sector = 0;
		return s;
	}
	uint64_t x = b->seed;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->seed = x;
	uint64_t slots = b->capacity / b->req_sectors;
	return (x % slots) * b->req_sectors;
}

static inline void b_publish(struct bench *b, unsigned r)
{
	b->reqs[r].hdr.sector = b_next_sector(b);
	b->reqs[r].status = 0xFF;
	b->avail->ring[b->avail_idx & (b->size - 1)] = (uint16_t)(b->base + r * b->per);
	b->avail_idx++;
}

static inline void b_kick(struct bench *b)
{
	__asm__ volatile("" : : : "memory");
	b->avail->idx = b->avail_idx;
	__asm__ volatile("lock addl $0, (%%rsp)" : : : "memory", "cc");
	uint16_t old = b->kicked, now = b->avail_idx;
	b->kicked = now;
	bool need = true;
	if (b->event_idx) {
		uint16_t ev = *(volatile uint16_t *)((uintptr_t)b->used + 4 + 8u * b->size);
		need = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	}
	if (need) {
		*(volatile uint32_t *)(uintptr_t)b->notify = 0;
		b->kicks++;
	}
}

/* The timed loop, at CPL3: keeps qd requests in flight for duration_us. */
static uint64_t bench_loop(void *arg)
{
	struct bench *b = arg;
	for (unsigned r = 0; r < b->qd; r++)
		b_publish(b, r);
	uint32_t t0 = b_time(b), now = t0;
	b_kick(b);
	for (;;) {
		bool any = false;
		while (b->used->idx != b->last_used) {
			__asm__ volatile("" : : : "memory");
			uint32_t id = b->used->ring[b->last_used & (b->size - 1)].id;
			b->last_used++;
			unsigned r = (id - b->base) / b->per;
			if (id < b->base || r >= b->qd || (id - b->base) % b->per) {
				b->errors++;
				continue;
			}
			if (b->reqs[r].status != VIRTIO_BLK_S_OK)
				b->errors++;
			b->ops++;
			b_publish(b, r);
			any = true;
		}
		if (any)
			b_kick(b);
		if (++b->polls % TIME_CHECK == 0) {
			now = b_time(b);
			if (now - t0 >= b->duration_us)
				break;
		}
		__asm__ volatile("pause");
	}
	/* Let the requests in flight finish (not counted). */
	uint16_t want = b->avail_idx;
	for (uint64_t spin = 0; b->used->idx != want && spin < 2000000000ull; spin++)
		__asm__ volatile("pause");
	b->last_used = b->used->idx;
	b->elapsed_us = now - t0;
	return b->ops;
}

/* Builds the fixed chains of a run: request r uses descriptors
 * base + [r * per, (r + 1) * per): header, data segments, status. */
static void bench_chains(struct bench *b, uint32_t bytes, uint32_t seg)
{
	unsigned nseg = (bytes + seg - 1) / seg;
	b->per = nseg + 2;
	b->req_sectors = bytes / 512;
	for (unsigned r = 0; r < b->qd; r++) {
		uint8_t *buf = fw_alloc(bytes, 4096);
		uint16_t first = (uint16_t)(b->base + r * b->per);
		volatile struct vring_desc *d = &b->desc[first];
		b->reqs[r].hdr.type = VIRTIO_BLK_T_IN;
		b->reqs[r].hdr.reserved = 0;
		d[0].addr = (uint64_t)(uintptr_t)&b->reqs[r].hdr;
		d[0].len = sizeof(b->reqs[r].hdr);
		d[0].flags = VRING_DESC_F_NEXT;
		d[0].next = (uint16_t)(first + 1);
		for (unsigned s = 0; s < nseg; s++) {
			uint32_t off = s * seg, len = bytes - off < seg ? bytes - off : seg;
			d[1 + s].addr = (uint64_t)(uintptr_t)buf + off;
			d[1 + s].len = len;
			d[1 + s].flags = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE;
			d[1 + s].next = (uint16_t)(first + 2 + s);
		}
		d[nseg + 1].addr = (uint64_t)(uintptr_t)&b->reqs[r].status;
		d[nseg + 1].len = 1;
		d[nseg + 1].flags = VRING_DESC_F_WRITE;
		d[nseg + 1].next = 0;
	}
}

int test_blk_bench(const struct fw_boot_info *bi)
{
	char arg[16];
	uint64_t ms = DEFAULT_MS;
	if (cmdline_value(bi->cmdline, "ms", arg, sizeof(arg)) && (!parse_u64(arg, &ms) || !ms)) {
		fw_printf("minnow-test: blk-bench bad ms=%s\n", arg);
		return FW_EXIT_USAGE;
	}
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_BLOCK, 0);
	if (!d) {
		fw_printf("minnow-test: blk-bench no virtio-blk device\n");
		return FW_EXIT_FAIL;
	}
	struct blk *blk = fw_alloc(sizeof(*blk), 64);
	if (!blk_open(blk, d, VIRTIO_BIT(VIRTIO_F_EVENT_IDX), QSIZE))
		return FW_EXIT_FAIL;
	if (blk->q->size < SEQ_QD * (MAX_SEGS + 2) + 3 || blk->capacity < 2 * (SEQ_BYTES / 512)) {
		fw_printf("minnow-test: blk-bench queue %u / capacity %lu too small\n",
			  blk->q->size, blk->capacity);
		return FW_EXIT_FAIL;
	}
	/* Segment size: size_max when offered; at most MAX_SEGS segments (and
	 * seg_max) per request. */
	uint32_t seg = blk->size_max ? blk->size_max & ~511u : SEQ_BYTES;
	unsigned max_segs = MAX_SEGS;
	if (blk->seg_max && blk->seg_max < max_segs)
		max_segs = blk->seg_max;
	uint32_t seq_bytes = SEQ_BYTES;
	if (!seg)
		seg = 4096;
	if ((uint64_t)seg * max_segs < seq_bytes)
		seq_bytes = seg * max_segs;

	struct bench *b = fw_alloc(sizeof(*b), 64);
	b->desc = blk->q->desc;
	b->avail = blk->q->avail;
	b->used = blk->q->used;
	b->size = blk->q->size;
	b->notify = d->base + VIRTIO_MMIO_QUEUE_NOTIFY;
	b->time_us = control_present() ? CONTROL_MMIO_BASE + CONTROL_REG_TIME_US : 0;
	if (!b->time_us) {
		/* Without minnow's control device: the TSC, rate measured
		 * against fw_time_us()'s own guess. */
		uint32_t t0 = fw_time_us();
		uint64_t c0 = rdtsc();
		fw_delay_us(10000);
		b->tsc_mhz = (rdtsc() - c0) / (fw_time_us() - t0 ? fw_time_us() - t0 : 1);
		if (!b->tsc_mhz)
			b->tsc_mhz = 1;
	}
	b->reqs = fw_alloc(sizeof(struct req) * RAND_QD, 64);
	b->capacity = blk->capacity;
	b->event_idx = blk->q->event_idx;
	b->duration_us = (uint32_t)(ms * 1000);
	b->seed = 0x9E3779B97F4A7C15ull ^ rdtsc();
	uint8_t *stack = fw_alloc(USER_STACK, 4096);
	/* Every buffer is allocated before mapping the pool for user mode.
	 * Run 0: random 4 KiB reads; run 1: sequential, its chains after
	 * run 0's in the descriptor table. */
	struct bench *runs[2] = {b, fw_alloc(sizeof(*b), 64)};
	*runs[1] = *b;
	unsigned seq_per = (seq_bytes + seg - 1) / seg + 2;
	unsigned rand_per = (RAND_BYTES + seg - 1) / seg + 2;
	unsigned rand_qd = (b->size - SEQ_QD * seq_per) / rand_per;
	if (rand_qd > RAND_QD)
		rand_qd = RAND_QD;
	runs[0]->qd = rand_qd;
	runs[0]->random = true;
	runs[0]->base = 0;
	bench_chains(runs[0], RAND_BYTES, seg < RAND_BYTES ? seg : RAND_BYTES);
	runs[1]->qd = SEQ_QD;
	runs[1]->random = false;
	runs[1]->reqs = fw_alloc(sizeof(struct req) * SEQ_QD, 64);
	runs[1]->base = rand_qd * runs[0]->per;
	bench_chains(runs[1], seq_bytes, seg);

	user_init();
	user_map(0, (uint64_t)(uintptr_t)fw_alloc(1, 1));
	user_map(d->base, d->base + 1);
	user_map(CONTROL_MMIO_BASE, CONTROL_MMIO_BASE + 1);

	uint64_t iops = 0, mib_s = 0;
	for (int i = 0; i < 2; i++) {
		struct bench *r = runs[i];
		/* the second run continues the ring where the first stopped */
		r->avail_idx = r->last_used = r->kicked = i ? runs[0]->avail_idx : 0;
		bool faulted;
		user_run(bench_loop, r, (uint64_t)(uintptr_t)stack + USER_STACK, &faulted);
		if (faulted)
			return FW_EXIT_FAIL;
		uint64_t bytes = r->ops * (uint64_t)r->req_sectors * 512;
		uint64_t us = r->elapsed_us ? r->elapsed_us : 1;
		fw_printf("minnow-test: blk-bench %s bytes_per_req=%u qd=%u segs=%u ops=%lu "
			  "errors=%lu kicks=%lu us=%lu\n",
			  r->random ? "rand4k" : "seq", r->req_sectors * 512, r->qd, r->per - 2,
			  r->ops, r->errors, r->kicks, us);
		if (r->errors || r->ops == 0) {
			fw_printf("minnow-test: blk-bench FAILED\n");
			return FW_EXIT_FAIL;
		}
		if (r->random)
			iops = r->ops * 1000000 / us;
		else
			mib_s = (bytes * 1000000 / us) >> 20;
	}
	fw_printf("minnow-test: blk-bench iops=%lu seq_mib_s=%lu\n", iops, mib_s);
	return FW_EXIT_OK;
}
