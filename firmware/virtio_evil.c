/* virtio_evil.c - malicious-driver scenarios (test=evil-NAME): a virtio-blk
 * device gets a broken queue or bad register accesses, then must show
 * DEVICE_NEEDS_RESET (or have ignored the access), recover after a reset,
 * and the virtio-rng device must still work. */
#include "io.h"
#include "virtio.h"

#define SETTLE_US     2000000u /* how long the device gets to react */
#define BAD_ACCESSES  200
#define MMIO_HOLE_BUF 0xD0000000ull /* the UART page: not RAM */

enum expect {
	EXPECT_NEEDS_RESET, /* the spec's DEVICE_NEEDS_RESET */
	EXPECT_IGNORED,	    /* status unchanged and the device still works */
	EXPECT_EITHER,	    /* the spec leaves it open: one of the two */
};

struct evil {
	struct blk b;
	uint64_t *data; /* 1 sector */
	uint8_t *table; /* indirect tables */
	uint32_t status_before;
};

/* The device's verdict: waits up to SETTLE_US for NEEDS_RESET. */
static uint32_t settle(struct vdev *d, bool want_reset)
{
	uint32_t t0 = fw_time_us(), s = vdev_status(d);
	while (want_reset && !(s & VIRTIO_S_NEEDS_RESET) && fw_time_us() - t0 < SETTLE_US)
		s = vdev_status(d);
	return s;
}

static void set_desc(struct virtq *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	q->desc[i].addr = addr;
	q->desc[i].len = len;
	q->desc[i].flags = flags;
	q->desc[i].next = next;
}

/* A raw chain of our own making in descriptors 0.. of a fresh queue, its
 * head published and kicked. */
static void kick_raw(struct virtq *q, uint16_t head)
{
	virtq_publish_raw(q, head);
	vdev_write(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

static uint64_t va(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void hdr_in(struct evil *e)
{
	e->b.hdr->type = VIRTIO_BLK_T_IN;
	e->b.hdr->reserved = 0;
	e->b.hdr->sector = 0;
}

static bool victim_works(struct evil *e);

/* ---- queue attacks ---- */

static enum expect evil_loop(struct evil *e)
{
	struct virtq *q = e->b.q;
	hdr_in(e);
	set_desc(q, 0, va(e->b.hdr), 16, VRING_DESC_F_NEXT, 1);
	set_desc(q, 1, va(e->b.hdr), 16, VRING_DESC_F_NEXT, 2);
	set_desc(q, 2, va(e->b.hdr), 16, VRING_DESC_F_NEXT, 0);
	kick_raw(q, 0);
	return EXPECT_NEEDS_RESET;
}

static enum expect evil_head(struct evil *e)
{
	kick_raw(e->b.q, (uint16_t)(e->b.q->size + 3));
	return EXPECT_NEEDS_RESET;
}

static enum expect evil_next(struct evil *e)
{
	struct virtq *q = e->b.q;
	hdr_in(e);
	set_desc(q, 0, va(e->b.hdr), 16, VRING_DESC_F_NEXT, (uint16_t)(q->size + 5));
	kick_raw(q, 0);
	return EXPECT_NEEDS_RESET;
}

/* header, then a data descriptor of (addr, len), then status */
static void bad_data(struct evil *e, uint64_t addr, uint32_t len)
{
	struct virtq *q = e->b.q;
	hdr_in(e);
	set_desc(q, 0, va(e->b.hdr), 16, VRING_DESC_F_NEXT, 1);
	set_desc(q, 1, addr, len, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(q, 2, va(e->b.status), 1, VRING_DESC_F_WRITE, 0);
	kick_raw(q, 0);
}

static enum expect evil_addr(struct evil *e)
{
	bad_data(e, MMIO_HOLE_BUF, 512);
	return EXPECT_NEEDS_RESET;
}

static enum expect evil_wrap(struct evil *e)
{
	bad_data(e, 0xFFFFFFFFFFFFF000ull, 0x2000);
	return EXPECT_NEEDS_RESET;
}

static enum expect evil_huge(struct evil *e)
{
	bad_data(e, va(e->data), 0xFFFFFFFFu);
	return EXPECT_NEEDS_RESET;
}

/* Indirect table of 24 bytes (not a multiple of 16). */
static enum expect evil_indirect_len(struct evil *e)
{
	struct virtq *q = e->b.q;
	volatile struct vring_desc *t = (volatile struct vring_desc *)e->table;
	hdr_in(e);
	t[0] = (struct vring_desc){va(e->b.hdr), 16, VRING_DESC_F_NEXT, 1};
	t[1] = (struct vring_desc){va(e->b.status), 1, VRING_DESC_F_WRITE, 0};
	set_desc(q, 0, va(t), 24, VRING_DESC_F_INDIRECT, 0);
	kick_raw(q, 0);
	return EXPECT_NEEDS_RESET;
}

/* An indirect descriptor inside an indirect table. */
static enum expect evil_indirect_nested(struct evil *e)
{
	struct virtq *q = e->b.q;
	volatile struct vring_desc *t = (volatile struct vring_desc *)e->table;
	volatile struct vring_desc *t2 = t + 4;
	hdr_in(e);
	t2[0] = (struct vring_desc){va(e->b.hdr), 16, VRING_DESC_F_NEXT, 1};
	t2[1] = (struct vring_desc){va(e->b.status), 1, VRING_DESC_F_WRITE, 0};
	t[0] = (struct vring_desc){va(t2), 32, VRING_DESC_F_INDIRECT, 0};
	set_desc(q, 0, va(t), 16, VRING_DESC_F_INDIRECT, 0);
	kick_raw(q, 0);
	return EXPECT_NEEDS_RESET;
}

/* Queue addresses rewritten after DRIVER_OK. */
static enum expect evil_late_addr(struct evil *e)
{
	struct vdev *d = e->b.d;
	uint64_t other = va(fw_alloc(4096, 4096));
	vdev_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	vdev_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)other);
	vdev_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(other >> 32));
	vdev_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)other);
	vdev_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)other + 2048);
	uint32_t lo = vdev_read(d, VIRTIO_MMIO_QUEUE_DESC_LOW);
	fw_printf("minnow-test: evil late-addr QueueDescLow reads 0x%x (rings at 0x%lx, new "
		  "0x%lx)\n",
		  lo, va(e->b.q->desc), other);
	return EXPECT_EITHER;
}

/* ---- register attacks (run on a live device) ---- */

static enum expect evil_access(struct evil *e)
{
	uint64_t base = e->b.d->base;
	uint32_t r8 = 0, r16 = 0, r32u = 0;
	uint64_t r64 = 0;
	for (unsigned i = 0; i < BAD_ACCESSES / 10; i++) {
		r8 = mmio_read8(base + VIRTIO_MMIO_MAGIC_VALUE);
		r16 = mmio_read16(base + VIRTIO_MMIO_MAGIC_VALUE);
		r32u = mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE + 2);
		r64 = mmio_read64(base + VIRTIO_MMIO_STATUS);
		mmio_write8(base + VIRTIO_MMIO_STATUS, 0);
		mmio_write16(base + VIRTIO_MMIO_STATUS, 0);
		mmio_write32(base + VIRTIO_MMIO_STATUS + 2, 0);
		mmio_write16(base + VIRTIO_MMIO_QUEUE_SEL, 5);
		mmio_write8(base + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		mmio_write16(base + VIRTIO_MMIO_QUEUE_READY, 0);
	}
	fw_printf("minnow-test: evil access reads: 1-byte magic=0x%x 2-byte magic=0x%x 4-byte "
		  "at 0x2=0x%x 8-byte status=0x%lx\n",
		  r8, r16, r32u, r64);
	return EXPECT_IGNORED;
}

/* Features the device never offered: FEATURES_OK must not stick. */
static enum expect evil_features(struct evil *e, bool *ok)
{
	struct vdev *d = e->b.d;
	*ok = true;
	for (unsigned round = 0; round < 2; round++) {
		virtio_reset(d);
		vdev_write(d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE);
		vdev_write(d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
		vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
		uint64_t off = vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
		vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
		off |= (uint64_t)vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
		/* round 0: the lowest device-specific bit not offered; round 1:
		 * a high transport-range bit. */
		unsigned bit = 50;
		if (round == 0)
			for (bit = 0; bit < 24 && (off & VIRTIO_BIT(bit)); bit++)
				;
		uint64_t f = (off & VIRTIO_BIT(VIRTIO_F_VERSION_1)) | VIRTIO_BIT(bit);
		vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
		vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
		vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
		vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
		vdev_write(d, VIRTIO_MMIO_STATUS,
			   VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
		uint32_t s = vdev_status(d);
		fw_printf("minnow-test: evil features offered=0x%lx asked bit %u: status=0x%x "
			  "features_ok=%u\n",
			  off, bit, s, (s & VIRTIO_S_FEATURES_OK) != 0);
		if (s & VIRTIO_S_FEATURES_OK)
			*ok = false;
	}
	return EXPECT_EITHER;
}

/* QueueSel beyond the device's queues: QueueNumMax reads 0, writes go
 * nowhere. Runs between FEATURES_OK and queue setup. */
static enum expect evil_queuesel(struct evil *e, bool *ok)
{
	struct vdev *d = e->b.d;
	static const uint32_t sels[] = {1, 64, 200, 0xFFFF, 0xFFFFFFFFu};
	*ok = true;
	for (unsigned i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		vdev_write(d, VIRTIO_MMIO_QUEUE_SEL, sels[i]);
		uint32_t max = vdev_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
		vdev_write(d, VIRTIO_MMIO_QUEUE_NUM, 8);
		vdev_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
		vdev_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
		uint32_t ready = vdev_read(d, VIRTIO_MMIO_QUEUE_READY);
		fw_printf("minnow-test: evil queuesel sel=%u QueueNumMax=%u QueueReady=%u\n",
			  sels[i], max, ready);
		if (max != 0 || ready != 0)
			*ok = false;
	}
	/* Queue 0 must be untouched by all that and work normally. */
	vdev_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	bool works = virtq_setup(d, e->b.q, 0, 16) && virtio_driver_ok(d) && victim_works(e);
	fw_printf("minnow-test: evil queuesel queue 0 afterwards %s\n", works ? "works" : "FAILED");
	*ok &= works;
	return EXPECT_EITHER;
}

/* Notify for a queue that is not ready (and for ones that do not exist):
 * the request written to its ring must not be processed. */
static enum expect evil_notify(struct evil *e, bool *ok)
{
	struct vdev *d = e->b.d;
	struct virtq *q = e->b.q;
	if (!virtio_begin(d, 0) || !virtq_setup(d, q, 0, 16)) {
		*ok = false;
		return EXPECT_EITHER;
	}
	vdev_write(d, VIRTIO_MMIO_QUEUE_READY, 0); /* configured, not ready */
	uint32_t ready = vdev_read(d, VIRTIO_MMIO_QUEUE_READY);
	vdev_write(d, VIRTIO_MMIO_STATUS,
		   VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK |
		       VIRTIO_S_DRIVER_OK);
	struct vq_buf bufs[3] = {
	    {va(e->b.hdr), 16, false}, {va(e->data), 512, true}, {va(e->b.status), 1, true}};
	hdr_in(e);
	virtq_add(q, bufs, 3);
	vdev_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	vdev_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	vdev_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0xFFFF);
	fw_delay_us(200000);
	uint16_t used = q->used->idx;
	fw_printf("minnow-test: evil notify ready=%u used_idx=%u\n", ready, used);
	*ok = ready == 0 && used == 0;
	return EXPECT_EITHER;
}

/* ---- the scenario ---- */

struct evil_case {
	const char *name;
	enum expect (*run)(struct evil *e);		/* on a live device */
	enum expect (*setup)(struct evil *e, bool *ok); /* instead of the usual init */
	bool indirect;
};

static const struct evil_case cases[] = {
    {"loop", evil_loop, 0, false},
    {"head", evil_head, 0, false},
    {"next", evil_next, 0, false},
    {"addr", evil_addr, 0, false},
    {"wrap", evil_wrap, 0, false},
    {"huge", evil_huge, 0, false},
    {"indirect-len", evil_indirect_len, 0, true},
    {"indirect-nested", evil_indirect_nested, 0, true},
    {"late-addr", evil_late_addr, 0, false},
    {"access", evil_access, 0, false},
    {"features", 0, evil_features, false},
    {"queuesel", 0, evil_queuesel, false},
    {"notify", 0, evil_notify, false},
};

/* A read of sector 0 through the normal path. */
static bool victim_works(struct evil *e)
{
	int st = blk_rw(&e->b, VIRTIO_BLK_T_IN, 0, e->data, 1);
	return st == VIRTIO_BLK_S_OK;
}

static bool rng_works(struct vdev *d)
{
	struct virtq *q = fw_alloc(sizeof(*q), 64);
	uint8_t *buf = fw_alloc(32, 64);
	if (!virtio_begin(d, 0) || !virtq_setup(d, q, 0, 8) || !virtio_driver_ok(d))
		return false;
	struct vq_buf b = {va(buf), 32, true};
	int64_t n = virtq_transact(q, &b, 1, false, VIRTIO_TIMEOUT_US);
	fw_printf("minnow-test: evil rng len=%ld data=", n);
	print_hex(buf, 32);
	fw_printf("\n");
	return n == 32;
}

int test_virtio_evil(const struct fw_boot_info *bi, const char *name)
{
	const struct evil_case *c = 0;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(name, cases[i].name))
			c = &cases[i];
	if (!c) {
		fw_printf("minnow-test: unknown test=evil-%s\n", name);
		return FW_EXIT_USAGE;
	}
	virtio_start(bi);
	struct vdev *victim = virtio_find(VIRTIO_ID_BLOCK, 0), *rng = virtio_find(VIRTIO_ID_RNG, 0);
	if (!victim || !rng) {
		fw_printf("minnow-test: evil-%s needs virtio-blk and virtio-rng\n", name);
		return FW_EXIT_FAIL;
	}
	struct evil *e = fw_alloc(sizeof(*e), 64);
	e->data = fw_alloc(512, 512);
	e->table = fw_alloc(4096, 4096);
	bool ok = true;
	enum expect want;
	if (c->setup) {
		e->b.d = victim;
		e->b.q = fw_alloc(sizeof(*e->b.q), 64);
		e->b.hdr = fw_alloc(sizeof(*e->b.hdr), 16);
		e->b.status = fw_alloc(1, 1);
		if (c->setup != evil_notify && !virtio_begin(victim, 0))
			return FW_EXIT_FAIL;
		want = c->setup(e, &ok);
	} else {
		uint64_t f = c->indirect ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0;
		if (!blk_open(&e->b, victim, f, 16))
			return FW_EXIT_FAIL;
		if (c->indirect)
			fw_printf("minnow-test: evil-%s indirect negotiated=%u\n", name,
				  (victim->features & f) != 0);
		e->status_before = vdev_status(victim);
		want = c->run(e);
	}
	uint32_t s = settle(victim, want == EXPECT_NEEDS_RESET);
	const char *verdict = s & VIRTIO_S_NEEDS_RESET ? "needs_reset" : "ignored";
	fw_printf("minnow-test: evil-%s status=0x%x %s\n", name, s, verdict);
	if ((s & VIRTIO_S_NEEDS_RESET) && (s & VIRTIO_S_DRIVER_OK)) {
		/* Spec 2.1.2: with DRIVER_OK set, the device MUST send a
		 * configuration change notification after NEEDS_RESET. */
		uint32_t isr = vdev_read(victim, VIRTIO_MMIO_INTERRUPT_STATUS);
		fw_printf("minnow-test: evil-%s InterruptStatus=0x%x config_change=%u\n", name, isr,
			  (isr & 2) != 0);
		if (!(isr & 2))
			ok = false;
	}
	if (!c->setup) {
		uint16_t used = e->b.q->used->idx;
		if (want == EXPECT_NEEDS_RESET && !(s & VIRTIO_S_NEEDS_RESET)) {
			fw_printf(
			    "minnow-test: evil-%s: DEVICE_NEEDS_RESET not set (used_idx=%u)\n",
			    name, used);
			ok = false;
		} else if (!(s & VIRTIO_S_NEEDS_RESET) &&
			   (s != e->status_before || !victim_works(e))) {
			/* Ignored: nothing else may have changed, and the queue
			 * must still work. */
			fw_printf("minnow-test: evil-%s: status 0x%x (was 0x%x) or the queue "
				  "stopped working\n",
				  name, s, e->status_before);
			ok = false;
		}
	}
	/* Recovery: reset, initialise again, use. */
	bool again = blk_open(&e->b, victim, 0, 16) && victim_works(e);
	fw_printf("minnow-test: evil-%s victim after reset %s\n", name, again ? "works" : "FAILED");
	ok &= again;
	bool r = rng_works(rng);
	fw_printf("minnow-test: evil-%s rng %s\n", name, r ? "works" : "FAILED");
	ok &= r;
	fw_printf("minnow-test: evil-%s %s\n", name, ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}
