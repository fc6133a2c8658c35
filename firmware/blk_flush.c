/* blk_flush.c - test=blk-flush: patterned writes to the first virtio-blk
 * drive, then FLUSH; once the device has acknowledged the flush the guest
 * says so and halts for good, so that the host can kill minnow (SIGKILL) and
 * check that the acknowledged data is in the image.
 * test=blk-last-words: the same writes, queued together with one kick, and
 * the guest exits at once without waiting for any of them: minnow must
 * still serve them before it ends (a guest's last requests are not lost).
 * test=blk-ticks: I/O round after round, across snapshots. */
#include "io.h"
#include "virtio.h"

#define SECTOR	    512u
#define FLUSH_CHUNK 64u /* sectors per write: 32 KiB */

/* What is written: sectors [first, first + n); first (uint64_t)-1 is the
 * last sector of the drive. The host side (tests/guest/test_faults.c)
 * checks the same ranges. */
static const struct {
	uint64_t first;
	uint32_t n;
} flush_writes[] = {{0, 1}, {8, FLUSH_CHUNK}, {1024, FLUSH_CHUNK}, {(uint64_t)-1, 1}};

#define N_WRITES (sizeof(flush_writes) / sizeof(flush_writes[0]))

/* The first virtio-blk drive, open and writable, big enough for
 * flush_writes; NULL with a message naming `test`. */
static struct blk *open_drive(const struct fw_boot_info *bi, const char *test)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_BLOCK, 0);
	if (!d) {
		fw_printf("minnow-test: %s no virtio-blk device\n", test);
		return 0;
	}
	struct blk *b = fw_alloc(sizeof(*b), 64);
	if (!blk_open(b, d, 0, 16)) {
		fw_printf("minnow-test: %s cannot drive the device\n", test);
		return 0;
	}
	if (b->ro || !(d->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) ||
	    b->capacity < 1024 + FLUSH_CHUNK + 1) {
		fw_printf("minnow-test: %s unusable drive ro=%u flush=%u capacity=%lu\n", test,
			  b->ro, (d->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) ? 1 : 0,
			  b->capacity);
		return 0;
	}
	return b;
}

/* The first sector of write i. */
static uint64_t write_sector(const struct blk *b, unsigned i)
{
	return flush_writes[i].first == (uint64_t)-1 ? b->capacity - 1 : flush_writes[i].first;
}

int test_blk_flush(const struct fw_boot_info *bi)
{
	struct blk *b = open_drive(bi, "blk-flush");
	if (!b)
		return FW_EXIT_FAIL;
	uint64_t *buf = fw_alloc(FLUSH_CHUNK * SECTOR, 4096);
	for (unsigned i = 0; i < N_WRITES; i++) {
		uint64_t s = write_sector(b, i);
		blk_fill(buf, s, flush_writes[i].n);
		int st = blk_rw(b, VIRTIO_BLK_T_OUT, s, buf, flush_writes[i].n);
		fw_printf("minnow-test: blk-flush write sector=%lu n=%u status=%d\n", s,
			  flush_writes[i].n, st);
		if (st != VIRTIO_BLK_S_OK)
			return FW_EXIT_FAIL;
	}
	int st = blk_request(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	if (st != VIRTIO_BLK_S_OK) {
		fw_printf("minnow-test: blk-flush flush status=%d\n", st);
		return FW_EXIT_FAIL;
	}
	/* The host kills minnow on this line: nothing may follow that matters. */
	fw_printf("minnow-test: blk-flush flushed\n");
	cpu_halt_forever();
}

int test_blk_last_words(const struct fw_boot_info *bi)
{
	struct blk *b = open_drive(bi, "blk-last-words");
	if (!b)
		return FW_EXIT_FAIL;
	/* Each request needs its own header, data and status (nothing is
	 * reused: none completes before the exit). */
	struct virtio_blk_req_hdr *hdr = fw_alloc(N_WRITES * sizeof(*hdr), 16);
	uint8_t *status = fw_alloc(N_WRITES, 1);
	for (unsigned i = 0; i < N_WRITES; i++) {
		uint64_t s = write_sector(b, i);
		uint64_t *buf = fw_alloc(flush_writes[i].n * SECTOR, 4096);
		blk_fill(buf, s, flush_writes[i].n);
		hdr[i] = (struct virtio_blk_req_hdr){.type = VIRTIO_BLK_T_OUT, .sector = s};
		struct vq_buf chain[3] = {
		    {(uint64_t)(uintptr_t)&hdr[i], sizeof(hdr[i]), false},
		    {(uint64_t)(uintptr_t)buf, flush_writes[i].n * SECTOR, false},
		    {(uint64_t)(uintptr_t)&status[i], 1, true},
		};
		if (virtq_add(b->q, chain, 3) < 0) {
			fw_printf("minnow-test: blk-last-words queue full at write %u\n", i);
			return FW_EXIT_FAIL;
		}
	}
	/* The line goes first: the console's exits would give minnow time. */
	fw_printf("minnow-test: blk-last-words kicking %u writes and exiting\n",
		  (unsigned)N_WRITES);
	virtq_kick(b->q);
	return FW_EXIT_OK; /* at once: the writes are still in the queue */
}

/* test=blk-ticks: writes and reads back a patterned sector, round after
 * round for ever (the host ends the VM), saying "blk-ticks round N ok"
 * every 32 rounds, or "blk-ticks round N FAILED ..." and exit 1. A
 * snapshot taken meanwhile and restored must carry on the count with the
 * queue where the driver left it. */
int test_blk_ticks(const struct fw_boot_info *bi)
{
	struct blk *b = open_drive(bi, "blk-ticks");
	if (!b)
		return FW_EXIT_FAIL;
	uint64_t *out = fw_alloc(SECTOR, 4096), *in = fw_alloc(SECTOR, 4096);
	for (uint64_t round = 1;; round++) {
		uint64_t s = round % 1024;
		blk_fill(out, s ^ round, 1);
		int w = blk_rw(b, VIRTIO_BLK_T_OUT, s, out, 1);
		int r = blk_rw(b, VIRTIO_BLK_T_IN, s, in, 1);
		if (w != VIRTIO_BLK_S_OK || r != VIRTIO_BLK_S_OK ||
		    blk_check(in, s ^ round, 1) >= 0) {
			fw_printf("minnow-test: blk-ticks round %lu FAILED write=%d read=%d\n",
				  round, w, r);
			return FW_EXIT_FAIL;
		}
		if (round % 32 == 0)
			fw_printf("minnow-test: blk-ticks round %lu ok\n", round);
	}
}
