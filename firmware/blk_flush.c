/* blk_flush.c - test=blk-flush: patterned writes to the first virtio-blk
 * drive, then FLUSH; once the device has acknowledged the flush the guest
 * says so and halts for good, so that the host can kill minnow (SIGKILL) and
 * check that the acknowledged data is in the image. */
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

int test_blk_flush(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_BLOCK, 0);
	if (!d) {
		fw_printf("minnow-test: blk-flush no virtio-blk device\n");
		return FW_EXIT_FAIL;
	}
	struct blk *b = fw_alloc(sizeof(*b), 64);
	if (!blk_open(b, d, 0, 16)) {
		fw_printf("minnow-test: blk-flush cannot drive the device\n");
		return FW_EXIT_FAIL;
	}
	if (b->ro || !(d->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) ||
	    b->capacity < 1024 + FLUSH_CHUNK + 1) {
		fw_printf("minnow-test: blk-flush unusable drive ro=%u flush=%u capacity=%lu\n",
			  b->ro, (d->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) ? 1 : 0,
			  b->capacity);
		return FW_EXIT_FAIL;
	}
	uint64_t *buf = fw_alloc(FLUSH_CHUNK * SECTOR, 4096);
	for (unsigned i = 0; i < sizeof(flush_writes) / sizeof(flush_writes[0]); i++) {
		uint64_t s =
		    flush_writes[i].first == (uint64_t)-1 ? b->capacity - 1 : flush_writes[i].first;
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
