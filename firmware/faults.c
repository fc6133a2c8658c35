/* faults.c - host faults under a running VM, the guest's side
 * (tests/guest/test_faults.c): the guest says "ready", the host breaks
 * something, the guest polls until it sees the effect, checks how the
 * device behaves from then on and exits 0 (1 on a wrong answer or when
 * nothing happened within FAULT_WAIT_US).
 *   test=blk-truncated: the image of drive 0 is truncated to half.
 *   test=net-gone: the TAP behind net device 0 is deleted. */
#include "io.h"
#include "virtio.h"

#define SECTOR	      512u
#define FAULT_WAIT_US 20000000u
#define FAULT_POLL_US 1000u

/* ---- blk-truncated ---- */

int test_blk_truncated(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_BLOCK, 0);
	struct blk *b = fw_alloc(sizeof(*b), 64);
	if (!d || !blk_open(b, d, 0, 16) || b->capacity < 4) {
		fw_printf("minnow-test: blk-truncated no usable drive\n");
		return FW_EXIT_FAIL;
	}
	uint8_t *first = fw_alloc(SECTOR, 4096), *buf = fw_alloc(SECTOR, 4096);
	uint64_t last = b->capacity - 1;
	int st_first = blk_rw(b, VIRTIO_BLK_T_IN, 0, first, 1);
	int st_last = blk_rw(b, VIRTIO_BLK_T_IN, last, buf, 1);
	fw_printf("minnow-test: blk-truncated ready capacity=%lu first=%d last=%d\n", b->capacity,
		  st_first, st_last);
	if (st_first != VIRTIO_BLK_S_OK || st_last != VIRTIO_BLK_S_OK)
		return FW_EXIT_FAIL;

	/* The host truncates the image now: poll the last sector until it fails. */
	unsigned polls = 0;
	uint32_t t0 = fw_time_us();
	while (st_last == VIRTIO_BLK_S_OK && fw_time_us() - t0 < FAULT_WAIT_US) {
		fw_delay_us(FAULT_POLL_US);
		st_last = blk_rw(b, VIRTIO_BLK_T_IN, last, buf, 1);
		polls++;
	}
	int st_again = blk_rw(b, VIRTIO_BLK_T_IN, last, buf, 1);
	int st_head = blk_rw(b, VIRTIO_BLK_T_IN, 0, buf, 1);
	bool same = !memcmp(buf, first, SECTOR);
	uint32_t status = vdev_status(d);
	fw_printf("minnow-test: blk-truncated last=%d after %u polls again=%d first=%d %s "
		  "needs_reset=%u\n",
		  st_last, polls, st_again, st_head, same ? "same" : "changed",
		  (status & VIRTIO_S_NEEDS_RESET) ? 1 : 0);
	bool ok = st_last == VIRTIO_BLK_S_IOERR && st_again == VIRTIO_BLK_S_IOERR &&
		  st_head == VIRTIO_BLK_S_OK && same && !(status & VIRTIO_S_NEEDS_RESET);
	fw_printf("minnow-test: blk-truncated %s\n", ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}

/* ---- net-gone ---- */

#define NET_RX_BUFS 4
#define NET_RX_LEN  2048

/* Drives net device `d` to DRIVER_OK with receive buffers posted. */
static bool net_up(struct vdev *d)
{
	struct virtq *rx = fw_alloc(sizeof(*rx), 64), *tx = fw_alloc(sizeof(*tx), 64);
	if (!virtio_begin(d, 0) || !virtq_setup(d, rx, 0, 16) || !virtq_setup(d, tx, 1, 16))
		return false;
	for (unsigned i = 0; i < NET_RX_BUFS; i++) {
		struct vq_buf buf = {(uint64_t)(uintptr_t)fw_alloc(NET_RX_LEN, 64), NET_RX_LEN,
				     true};
		virtq_add(rx, &buf, 1);
	}
	if (!virtio_driver_ok(d))
		return false;
	virtq_kick(rx);
	return true;
}

int test_net_gone(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_NET, 0);
	if (!d || !net_up(d)) {
		fw_printf("minnow-test: net-gone no usable net device\n");
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: net-gone ready\n");

	/* The host deletes the TAP now: wait for DEVICE_NEEDS_RESET. */
	uint32_t t0 = fw_time_us(), status;
	while (!((status = vdev_status(d)) & VIRTIO_S_NEEDS_RESET) &&
	       fw_time_us() - t0 < FAULT_WAIT_US)
		fw_delay_us(FAULT_POLL_US);
	bool needs_reset = status & VIRTIO_S_NEEDS_RESET;
	fw_printf("minnow-test: net-gone needs_reset=%u\n", needs_reset ? 1 : 0);
	/* A driver resets the device and tries again: refused the same way. */
	bool reset = virtio_reset(d);
	bool again = reset && net_up(d);
	status = vdev_status(d);
	fw_printf("minnow-test: net-gone reset=%u up_again=%u needs_reset=%u\n", reset ? 1 : 0,
		  again ? 1 : 0, (status & VIRTIO_S_NEEDS_RESET) ? 1 : 0);
	bool ok = needs_reset && reset && !again && (status & VIRTIO_S_NEEDS_RESET);
	fw_printf("minnow-test: net-gone %s\n", ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}
