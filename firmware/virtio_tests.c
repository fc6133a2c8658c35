/* virtio_tests.c - the virtio-rng, virtio-console and virtio-multi scenarios
 * (several devices at once, then reset and re-initialisation). */
#include "io.h"
#include "virtio.h"

#define RNG_BYTES   64
#define LINE_MAX    256
#define CONS_RXBUFS 8
#define CONS_RXLEN  64

/* ---- rng ---- */

struct rng {
	struct vdev *d;
	struct virtq *q;
};

static bool rng_open(struct rng *r, struct vdev *d, uint64_t want, bool irq)
{
	r->d = d;
	if (!r->q)
		r->q = fw_alloc(sizeof(*r->q), 64);
	if (!virtio_begin(d, want) || !virtq_setup(d, r->q, 0, 16))
		return false;
	if (irq)
		virtio_irq_enable(d);
	return virtio_driver_ok(d);
}

/* Reads `n` bytes into buf as `parts` equal chained buffers; waits by
 * interrupt when `irq`. Returns the used length or -1. */
static int64_t rng_read(struct rng *r, uint8_t *buf, uint32_t n, unsigned parts, bool irq)
{
	struct vq_buf b[4];
	for (unsigned i = 0; i < parts; i++)
		b[i] = (struct vq_buf){(uint64_t)(uintptr_t)buf + i * (n / parts), n / parts, true};
	if (!irq)
		return virtq_transact(r->q, b, parts, false, VIRTIO_TIMEOUT_US);
	int head = virtq_add(r->q, b, parts);
	virtq_kick(r->q);
	uint16_t got;
	uint32_t len;
	if (!virtio_irq_wait(r->d, 1, VIRTIO_TIMEOUT_US)) {
		fw_printf("minnow-test: virtio-rng no used-buffer interrupt (irqs=%u isr=0x%x "
			  "InterruptStatus=0x%x gsi=%u)\n",
			  r->d->irqs, r->d->isr_bits, vdev_read(r->d, VIRTIO_MMIO_INTERRUPT_STATUS),
			  r->d->gsi);
		return -1;
	}
	if (!virtq_get(r->q, &got, &len) || got != head) {
		fw_printf("minnow-test: virtio-rng interrupt but no used buffer\n");
		return -1;
	}
	return len;
}

static bool all_equal(const uint8_t *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

int test_virtio_rng(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_RNG, 0);
	if (!d) {
		fw_printf("minnow-test: virtio-rng no device\n");
		return FW_EXIT_FAIL;
	}
	struct rng r = {0};
	if (!rng_open(&r, d, VIRTIO_BIT(VIRTIO_F_EVENT_IDX), true))
		return FW_EXIT_FAIL;
	uint8_t *a = fw_alloc(RNG_BYTES, 64), *b = fw_alloc(RNG_BYTES, 64);
	int64_t la = rng_read(&r, a, RNG_BYTES, 1, true);
	int64_t lb = rng_read(&r, b, RNG_BYTES, 2, true);
	fw_printf("minnow-test: virtio-rng read1 len=%ld data=", la);
	print_hex(a, RNG_BYTES);
	fw_printf("\nminnow-test: virtio-rng read2 len=%ld data=", lb);
	print_hex(b, RNG_BYTES);
	fw_printf("\n");
	fw_printf("minnow-test: virtio-rng irqs=%u features=0x%lx\n", d->irqs, d->features);
	bool ok = la == RNG_BYTES && lb == RNG_BYTES && !all_equal(a, RNG_BYTES) &&
		  !all_equal(b, RNG_BYTES) && memcmp(a, b, RNG_BYTES) != 0;
	fw_printf("minnow-test: virtio-rng %s\n", ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}

/* ---- console ---- */

struct cons {
	struct vdev *d;
	struct virtq *rx, *tx;
	uint8_t *rxbuf[CONS_RXBUFS];
	char *txbuf;
};

static bool cons_open(struct cons *c, struct vdev *d)
{
	c->d = d;
	if (!c->rx) {
		c->rx = fw_alloc(sizeof(*c->rx), 64);
		c->tx = fw_alloc(sizeof(*c->tx), 64);
		c->txbuf = fw_alloc(LINE_MAX + 8, 64);
		for (unsigned i = 0; i < CONS_RXBUFS; i++)
			c->rxbuf[i] = fw_alloc(CONS_RXLEN, 64);
	}
	if (!virtio_begin(d, 0) || !virtq_setup(d, c->rx, 0, 16) || !virtq_setup(d, c->tx, 1, 16))
		return false;
	for (unsigned i = 0; i < CONS_RXBUFS; i++) {
		struct vq_buf b = {(uint64_t)(uintptr_t)c->rxbuf[i], CONS_RXLEN, true};
		virtq_add(c->rx, &b, 1);
	}
	return virtio_driver_ok(d);
}

static bool cons_write(struct cons *c, const char *s)
{
	size_t n = strlen(s);
	if (n > LINE_MAX)
		n = LINE_MAX;
	memcpy(c->txbuf, s, n);
	struct vq_buf b = {(uint64_t)(uintptr_t)c->txbuf, (uint32_t)n, false};
	return virtq_transact(c->tx, &b, 1, false, VIRTIO_TIMEOUT_US) >= 0;
}

/* Collects received bytes up to a newline (not kept) into line. */
static bool cons_read_line(struct cons *c, char *line, size_t max, uint32_t timeout_us)
{
	size_t n = 0;
	uint32_t t0 = fw_time_us();
	while (fw_time_us() - t0 < timeout_us) {
		uint16_t head;
		uint32_t len;
		if (!virtq_wait(c->rx, &head, &len, 100000))
			continue;
		/* The head is the descriptor index; find its buffer. */
		uint8_t *p = (uint8_t *)(uintptr_t)c->rx->desc[head].addr;
		bool done = false;
		for (uint32_t i = 0; i < len && i < CONS_RXLEN && !done; i++) {
			if (p[i] == '\n')
				done = true;
			else if (p[i] != '\r' && n + 1 < max)
				line[n++] = (char)p[i];
		}
		struct vq_buf b = {(uint64_t)(uintptr_t)p, CONS_RXLEN, true};
		virtq_add(c->rx, &b, 1);
		virtq_kick(c->rx);
		if (done) {
			line[n] = '\0';
			return true;
		}
	}
	line[n] = '\0';
	return false;
}

int test_virtio_console(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_CONSOLE, 0);
	if (!d) {
		fw_printf("minnow-test: virtio-console no device\n");
		return FW_EXIT_FAIL;
	}
	struct cons c = {0};
	if (!cons_open(&c, d))
		return FW_EXIT_FAIL;
	if (!cons_write(&c, "minnow-test vconsole hello\n")) {
		fw_printf("minnow-test: vconsole write failed\n");
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: vconsole wrote hello\n");
	char line[LINE_MAX], out[LINE_MAX + 8];
	if (!cons_read_line(&c, line, sizeof(line), 20000000u)) {
		fw_printf("minnow-test: vconsole read timeout partial=%s\n", line);
		return FW_EXIT_FAIL;
	}
	memcpy(out, "echo:", 5);
	size_t n = strlen(line);
	memcpy(out + 5, line, n);
	out[5 + n] = '\n';
	out[6 + n] = '\0';
	if (!cons_write(&c, out)) {
		fw_printf("minnow-test: vconsole echo write failed\n");
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: vconsole echo=%s\n", line);
	return FW_EXIT_OK;
}

/* ---- multi: rng + blk + console together, then reset and again ---- */

#define MULTI_SECTOR 2

static bool multi_round(struct rng *r, struct blk *b, struct cons *c, unsigned round)
{
	uint8_t *rb = fw_alloc(32, 64);
	uint64_t *sb = fw_alloc(512, 512);
	bool ok = true;

	int64_t n = rng_read(r, rb, 32, 1, true);
	fw_printf("minnow-test: virtio-multi round=%u rng len=%ld data=", round, n);
	print_hex(rb, 32);
	fw_printf("\n");
	ok &= n == 32 && !all_equal(rb, 32);

	int st = 0;
	if (round == 0) {
		blk_fill(sb, MULTI_SECTOR, 1);
		st = blk_rw(b, VIRTIO_BLK_T_OUT, MULTI_SECTOR, sb, 1);
		ok &= st == VIRTIO_BLK_S_OK;
		for (unsigned i = 0; i < 64; i++)
			sb[i] = 0;
	}
	int st2 = blk_rw(b, VIRTIO_BLK_T_IN, MULTI_SECTOR, sb, 1);
	int64_t bad = blk_check(sb, MULTI_SECTOR, 1);
	fw_printf("minnow-test: virtio-multi round=%u blk write=%d read=%d %s\n", round, st, st2,
		  bad < 0 ? "match" : "mismatch");
	ok &= st2 == VIRTIO_BLK_S_OK && bad < 0;

	bool w = cons_write(c, round == 0 ? "minnow-test vconsole multi round 0\n"
					  : "minnow-test vconsole multi round 1\n");
	fw_printf("minnow-test: virtio-multi round=%u console %s\n", round, w ? "ok" : "failed");
	ok &= w;
	return ok;
}

int test_virtio_multi(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *dr = virtio_find(VIRTIO_ID_RNG, 0), *db = virtio_find(VIRTIO_ID_BLOCK, 0),
		    *dc = virtio_find(VIRTIO_ID_CONSOLE, 0);
	if (!dr || !db || !dc) {
		fw_printf("minnow-test: virtio-multi needs rng, blk and console (found %u %u "
			  "%u)\n",
			  dr != 0, db != 0, dc != 0);
		return FW_EXIT_FAIL;
	}
	struct rng r = {0};
	struct blk *b = fw_alloc(sizeof(*b), 64);
	struct cons c = {0};
	if (!rng_open(&r, dr, 0, true) || !blk_open(b, db, 0, 16) || !cons_open(&c, dc))
		return FW_EXIT_FAIL;
	virtio_irq_enable(db);
	virtio_irq_enable(dc);
	bool ok = multi_round(&r, b, &c, 0);

	/* Reset every device: Status must read 0, then initialise again
	 * (fresh rings) and use them again. */
	bool reset = virtio_reset(dr) && virtio_reset(db) && virtio_reset(dc);
	fw_printf("minnow-test: virtio-multi reset %s\n", reset ? "ok" : "FAILED");
	ok &= reset;
	if (!rng_open(&r, dr, VIRTIO_BIT(VIRTIO_F_EVENT_IDX), true) || !blk_open(b, db, 0, 16) ||
	    !cons_open(&c, dc))
		return FW_EXIT_FAIL;
	ok &= multi_round(&r, b, &c, 1);
	/* The blk and console completions were polled; their interrupts are
	 * taken here if they have not been already. */
	virtio_irq_wait(db, 1, 1000000);
	virtio_irq_wait(dc, 1, 1000000);
	fw_printf("minnow-test: virtio-multi irqs rng=%u blk=%u console=%u\n", dr->irqs, db->irqs,
		  dc->irqs);
	ok &= db->irqs > 0 && dc->irqs > 0;
	fw_printf("minnow-test: virtio-multi %s\n", ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}
