/* test_virtio_blk.c - virtio-blk driven through the virtio-mmio transport
 * (vm_fd = -1, fake guest RAM) by the shared fake driver, against
 * temporary image files. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "event_loop.h"
#include "guest_mem.h"
#include "test_util.h"
#include "virtio_blk.h"
#include "virtio_driver.h"
#include "virtio_mmio.h"

#define RAM_SIZE  (32ULL << 20)
#define QSIZE	  64
#define SECTOR	  512u
#define IMG_SIZE  (1u << 20) /* 2048 sectors */
#define CAPACITY  (IMG_SIZE / SECTOR)
#define SLOT_SPAN 0x10000ULL /* guest memory per drive for rings and headers */
#define RINGS_GPA 0x100000ULL
#define DATA_GPA  0x800000ULL /* 8 MiB of data buffers */
#define TABLE_GPA 0x1800000ULL

#define FB(bit) (1ULL << (bit))

#define NO_STATUS 0xEE /* status byte before the device writes it */

static char img[128]; /* the test's image file, when it made one */

static void setup(void)
{
	ram_map(RAM_SIZE);
}

static void teardown(void)
{
	if (img[0])
		unlink(img);
	ram_unmap();
}

TestSuite(virtio_blk, .init = setup, .fini = teardown);

/* ---- Image files ---------------------------------------------------------------------- */

/* Byte i of a sector-patterned image. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i / SECTOR) * 7 + i % 251);
}

/* Makes a temporary image of `size` bytes in `dir` (NULL: tmp_dir()), filled with pattern(). */
static void make_image(const char *dir, char *path, size_t pathlen, size_t size)
{
	int fd = make_tmp_file(path, pathlen, dir, "blk");
	uint8_t *buf = malloc(size ? size : 1);
	for (size_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	cr_assert_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	free(buf);
	close(fd);
}

static void read_image(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static bool image_is_pattern(const char *path, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	read_image(path, off, buf, len);
	bool ok = true;
	for (size_t i = 0; i < len && ok; i++)
		ok = buf[i] == pattern(off + i);
	free(buf);
	return ok;
}

static struct drive_config drive_cfg(const char *path, bool readonly, enum drive_cache cache,
				     const char *serial)
{
	struct drive_config c;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "d0");
	snprintf(c.path.path, sizeof(c.path.path), "%s", path);
	c.readonly = readonly;
	c.cache = cache;
	snprintf(c.serial, sizeof(c.serial), "%s", serial ? serial : "");
	return c;
}

/* ---- A driver ---------------------------------------------------------------------------- */

struct drive {
	struct virtio_mmio t;
	struct virtio_blk *blk;
	unsigned slot;
	gpa_t rings_gpa, hdr_gpa, status_gpa, seg_gpa;
	struct drv_ring q;
};

/* The drive's thread serves requests asynchronously: the next used entry
 * once it is there (asserting that it comes within 5 s). */
static struct vring_used_elem next_used(struct drv_ring *q)
{
	cr_assert(WAIT_UNTIL(drv_used_idx(q) != q->last_used, 5000),
		  "no used entry after %u within 5 s", q->last_used);
	return drv_next_used(q);
}

/* Waits (up to 5 s) for the device to ask for a reset; whether it did. */
static bool wait_needs_reset(struct drive *d)
{
	return WAIT_UNTIL(drv_needs_reset(&d->t), 5000);
}

static uint32_t cfg32(struct drive *d, unsigned off)
{
	return (uint32_t)drv_cfg(&d->t, off, 4);
}

/* Negotiates `features` (all offered when ~0), sets up queue 0 (rings cleared) and sets
 * DRIVER_OK. */
static void drive_start(struct drive *d, uint64_t features)
{
	if (features == ~0ULL)
		features = drv_device_features(&d->t);
	drv_features_ok(&d->t, features);
	drv_wr(&d->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(drv_rd(&d->t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_SIZE);
	drv_ring_at(&d->q, &d->t, 0, QSIZE, d->rings_gpa);
	drv_go(&d->t);
}

/* Creates the device for `cfg` on `slot` (without starting it). */
static void drive_create(struct drive *d, const struct drive_config *cfg, unsigned slot)
{
	char err[PATH_MAX + 200] = "";
	memset(d, 0, sizeof(*d));
	d->slot = slot;
	d->blk = virtio_blk_create(cfg, NULL, err, sizeof(err));
	cr_assert_not_null(d->blk, "virtio_blk_create: %s", err);
	cr_assert_eq(virtio_blk_start(d->blk, err, sizeof(err)), 0, "virtio_blk_start: %s", err);
	cr_assert_eq(
	    virtio_mmio_create(&d->t, &virtio_blk_ops, d->blk, &guest_ram, -1, NULL, NULL, slot),
	    0);
	d->rings_gpa = RINGS_GPA + slot * SLOT_SPAN;
	d->hdr_gpa = d->rings_gpa + 0x3000;
	d->status_gpa = d->rings_gpa + 0x3100;
	d->seg_gpa = d->rings_gpa + 0x3200;
}

static void drive_up(struct drive *d, const struct drive_config *cfg, unsigned slot)
{
	drive_create(d, cfg, slot);
	drive_start(d, ~0ULL);
}

static void drive_down(struct drive *d)
{
	virtio_mmio_destroy(&d->t);
	virtio_blk_destroy(d->blk);
}

/* Writes the request header at hdr_gpa. */
static void put_header(struct drive *d, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {.type = type, .ioprio = 0, .sector = sector};
	memcpy(gp(d->hdr_gpa, sizeof(h)), &h, sizeof(h));
}

/* One request: header, the data segments, status; kicked and completed.
 * Returns the status byte; *used_len gets the used length. */
static int request(struct drive *d, uint32_t type, uint64_t sector, const struct drv_seg *data,
		   unsigned ndata, uint32_t *used_len)
{
	struct drv_seg s[8];
	cr_assert_leq(ndata + 2, 8);
	put_header(d, type, sector);
	uint8_t *status = gp(d->status_gpa, 1);
	*status = NO_STATUS;
	s[0] = (struct drv_seg){d->hdr_gpa, 16, false};
	for (unsigned i = 0; i < ndata; i++)
		s[1 + i] = data[i];
	s[1 + ndata] = (struct drv_seg){d->status_gpa, 1, true};
	uint16_t head = drv_post_chain(&d->q, s, ndata + 2);
	drv_kick(&d->q);
	struct vring_used_elem u = next_used(&d->q);
	cr_assert_eq(u.id, head);
	if (used_len)
		*used_len = u.len;
	return *status;
}

/* A read or write of `len` bytes at DATA_GPA + off in one segment. */
static int rw(struct drive *d, uint32_t type, uint64_t sector, uint64_t off, uint32_t len,
	      uint32_t *used_len)
{
	struct drv_seg s = {DATA_GPA + off, len, type == VIRTIO_BLK_T_IN};
	return request(d, type, sector, &s, 1, used_len);
}

/* A discard or write-zeroes request with `n` ranges. */
static int zero_request(struct drive *d, uint32_t type,
			const struct virtio_blk_discard_write_zeroes *r, unsigned n)
{
	memcpy(gp(d->seg_gpa, n * sizeof(*r)), r, n * sizeof(*r));
	struct drv_seg s = {d->seg_gpa, (uint32_t)(n * sizeof(*r)), false};
	uint32_t len = 0;
	int st = request(d, type, 0, &s, 1, &len);
	cr_assert_eq(len, 1);
	return st;
}

/* ---- Tests ------------------------------------------------------------------------------ */

/* A fresh IMG_SIZE image at img (teardown removes it) and the drive config for it. */
static struct drive_config img_cfg(bool readonly, enum drive_cache cache, const char *serial)
{
	make_image(NULL, img, sizeof(img), IMG_SIZE);
	return drive_cfg(img, readonly, cache, serial);
}

static void up_rw(struct drive *d, const char *serial)
{
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, serial);
	drive_up(d, &c, 0);
}

Test(virtio_blk, identity_features_and_config_space)
{
	struct drive d;
	up_rw(&d, NULL);
	cr_assert_eq(drv_rd(&d.t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	uint64_t f = drv_device_features(&d.t);
	uint64_t want = FB(VIRTIO_BLK_F_FLUSH) | FB(VIRTIO_BLK_F_BLK_SIZE) |
			FB(VIRTIO_BLK_F_SIZE_MAX) | FB(VIRTIO_BLK_F_SEG_MAX) |
			FB(VIRTIO_BLK_F_DISCARD) | FB(VIRTIO_BLK_F_WRITE_ZEROES);
	cr_assert_eq(f & want, want, "features 0x%llx", (unsigned long long)f);
	cr_assert_eq(f & FB(VIRTIO_BLK_F_RO), 0);
	cr_assert_eq(virtio_blk_features(d.blk) & ~VIRTIO_MMIO_TRANSPORT_FEATURES, want);
	cr_assert_eq(drv_cfg(&d.t, offsetof(struct virtio_blk_config, capacity), 8), CAPACITY);
	cr_assert_eq(virtio_blk_capacity(d.blk), CAPACITY);
	cr_assert_eq(cfg32(&d, offsetof(struct virtio_blk_config, size_max)), VIRTIO_BLK_SIZE_MAX);
	cr_assert_eq(cfg32(&d, offsetof(struct virtio_blk_config, seg_max)), VIRTIO_BLK_SEG_MAX);
	cr_assert_eq(cfg32(&d, offsetof(struct virtio_blk_config, blk_size)), 512);
	cr_assert_eq(cfg32(&d, offsetof(struct virtio_blk_config, max_discard_sectors)),
		     VIRTIO_BLK_MAX_ZERO_SECTORS);
	cr_assert_eq(cfg32(&d, offsetof(struct virtio_blk_config, max_discard_seg)),
		     VIRTIO_BLK_MAX_ZERO_SEG);
	cr_assert_geq(cfg32(&d, offsetof(struct virtio_blk_config, discard_sector_alignment)), 1);
	cr_assert_eq(cfg32(&d, offsetof(struct virtio_blk_config, max_write_zeroes_sectors)),
		     VIRTIO_BLK_MAX_ZERO_SECTORS);
	cr_assert_eq(cfg32(&d, offsetof(struct virtio_blk_config, max_write_zeroes_seg)),
		     VIRTIO_BLK_MAX_ZERO_SEG);
	cr_assert_eq(drv_cfg(&d.t, offsetof(struct virtio_blk_config, write_zeroes_may_unmap), 1),
		     1);
	/* Byte and word reads of the capacity agree (little-endian). */
	cr_assert_eq(drv_cfg(&d.t, 0, 1), CAPACITY & 0xff);
	cr_assert_eq(drv_cfg(&d.t, 1, 1), CAPACITY >> 8);
	/* Beyond the config space: all-ones, ignored. */
	cr_assert_eq(drv_rd(&d.t, VIRTIO_MMIO_CONFIG + 60), 0xffffffffu);
	drive_down(&d);
}

Test(virtio_blk, capacity_rounds_down_odd_size)
{
	char path[128];
	make_image(NULL, path, sizeof(path), 5 * SECTOR + 100);
	struct drive_config c = drive_cfg(path, false, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_up(&d, &c, 0);
	cr_assert_eq(drv_cfg(&d.t, 0, 8), 5);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 4, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 5, 0, SECTOR, NULL), VIRTIO_BLK_S_IOERR);
	drive_down(&d);
	unlink(path);
}

Test(virtio_blk, read_write_round_trip)
{
	struct drive d;
	up_rw(&d, NULL);
	/* Read sectors 10..13 in two segments. */
	uint8_t *buf = gp(DATA_GPA, 8192);
	memset(buf, 0xAA, 8192);
	struct drv_seg rd2[2] = {{DATA_GPA, 1024, true}, {DATA_GPA + 4096, 1024, true}};
	uint32_t used = 0;
	cr_assert_eq(request(&d, VIRTIO_BLK_T_IN, 10, rd2, 2, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 2048 + 1, "used length = data + status");
	for (unsigned i = 0; i < 1024; i++) {
		cr_assert_eq(buf[i], pattern(10 * SECTOR + i));
		cr_assert_eq(buf[4096 + i], pattern(12 * SECTOR + i));
	}
	/* Write 3 sectors at 100 from three segments; the file changes. */
	uint8_t *src = gp(DATA_GPA + 0x10000, 3 * SECTOR);
	for (unsigned i = 0; i < 3 * SECTOR; i++)
		src[i] = (uint8_t)(i * 13 + 1);
	struct drv_seg w3[3] = {{DATA_GPA + 0x10000, SECTOR, false},
				{DATA_GPA + 0x10000 + SECTOR, SECTOR, false},
				{DATA_GPA + 0x10000 + 2 * SECTOR, SECTOR, false}};
	cr_assert_eq(request(&d, VIRTIO_BLK_T_OUT, 100, w3, 3, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1, "a write writes only the status byte");
	uint8_t file[3 * SECTOR];
	read_image(img, 100 * SECTOR, file, sizeof(file));
	cr_assert_arr_eq(file, src, sizeof(file));
	cr_assert(image_is_pattern(img, 99 * SECTOR, SECTOR), "neighbours untouched");
	cr_assert(image_is_pattern(img, 103 * SECTOR, SECTOR), "neighbours untouched");
	/* And back. */
	uint8_t *back = gp(DATA_GPA + 0x20000, 3 * SECTOR);
	memset(back, 0, 3 * SECTOR);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 100, 0x20000, 3 * SECTOR, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 3 * SECTOR + 1);
	cr_assert_arr_eq(back, src, 3 * SECTOR);
	cr_assert_not(drv_needs_reset(&d.t));
	cr_assert_gt(atomic_load(&d.t.interrupts), 0);
	drive_down(&d);
}

Test(virtio_blk, header_split_and_data_sharing_status_descriptor)
{
	/* Any framing (spec 2.6.4): the header in two descriptors, the last
	 * data bytes and the status byte in one. */
	struct drive d;
	up_rw(&d, NULL);
	put_header(&d, VIRTIO_BLK_T_IN, 7);
	((uint8_t *)gp(DATA_GPA, SECTOR + 1))[SECTOR] = NO_STATUS;
	struct drv_seg s[4] = {{d.hdr_gpa, 4, false},
			       {d.hdr_gpa + 4, 12, false},
			       {DATA_GPA, 100, true},
			       {DATA_GPA + 100, SECTOR - 100 + 1, true}};
	drv_post_chain(&d.q, s, 4);
	drv_kick(&d.q);
	struct vring_used_elem u = next_used(&d.q);
	cr_assert_eq(u.len, SECTOR + 1);
	uint8_t *buf = gp(DATA_GPA, SECTOR + 1);
	cr_assert_eq(buf[SECTOR], VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < SECTOR; i++)
		cr_assert_eq(buf[i], pattern(7 * SECTOR + i));
	drive_down(&d);
}

Test(virtio_blk, flush)
{
	struct drive d;
	up_rw(&d, NULL);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_OUT, 1, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	uint32_t used = 0;
	cr_assert_eq(request(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1);
	drive_down(&d);
}

Test(virtio_blk, get_id)
{
	struct drive d;
	up_rw(&d, "minnow-serial-1");
	uint8_t *id = gp(DATA_GPA, 32);
	memset(id, 0xFF, 32);
	uint32_t used = 0;
	struct drv_seg s = {DATA_GPA, 20, true};
	cr_assert_eq(request(&d, VIRTIO_BLK_T_GET_ID, 0, &s, 1, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 21);
	cr_assert_str_eq((char *)id, "minnow-serial-1");
	cr_assert(all_bytes(id + 15, 5, 0), "NUL-padded to 20 bytes");
	cr_assert_eq(id[20], 0xFF, "nothing past the 20 bytes");
	drive_down(&d);
	unlink(img);

	/* A 20-byte serial has no terminator. */
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, "01234567890123456789");
	drive_up(&d, &c, 0);
	memset(id, 0xFF, 32);
	cr_assert_eq(request(&d, VIRTIO_BLK_T_GET_ID, 0, &s, 1, &used), VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(id, "01234567890123456789", 20);
	cr_assert_eq(id[20], 0xFF);
	drive_down(&d);
}

static uint64_t blocks_of(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	return (uint64_t)st.st_blocks;
}

static struct virtio_blk_discard_write_zeroes range(uint64_t sector, uint32_t n, uint32_t flags)
{
	return (struct virtio_blk_discard_write_zeroes){sector, n, flags};
}

Test(virtio_blk, discard_punches_zeros)
{
	struct drive d;
	up_rw(&d, NULL);
	uint64_t before = blocks_of(img);
	struct virtio_blk_discard_write_zeroes r[2] = {range(64, 64, 0), range(512, 8, 0)};
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_DISCARD, r, 2), VIRTIO_BLK_S_OK);
	uint8_t buf[64 * SECTOR];
	read_image(img, 64 * SECTOR, buf, sizeof(buf));
	cr_assert(all_bytes(buf, sizeof(buf), 0), "discarded range reads zeros");
	read_image(img, 512 * SECTOR, buf, 8 * SECTOR);
	cr_assert(all_bytes(buf, 8 * SECTOR, 0));
	cr_assert(image_is_pattern(img, 63 * SECTOR, SECTOR));
	cr_assert(image_is_pattern(img, 128 * SECTOR, SECTOR));
	cr_assert(image_is_pattern(img, 520 * SECTOR, SECTOR));
	struct stat st;
	cr_assert_eq(stat(img, &st), 0);
	cr_assert_eq(st.st_size, IMG_SIZE, "the size is kept");
	cr_assert_lt(blocks_of(img), before, "space was deallocated");
	/* Through the guest too. */
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 64, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	cr_assert(all_bytes(gp(DATA_GPA, SECTOR), SECTOR, 0));
	drive_down(&d);
}

Test(virtio_blk, discard_and_write_zeroes_refusals)
{
	struct drive d;
	up_rw(&d, NULL);
	struct virtio_blk_discard_write_zeroes r;
	/* The unmap flag on a discard, and unknown flags: UNSUPP. */
	r = range(0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_DISCARD, &r, 1), VIRTIO_BLK_S_UNSUPP);
	r = range(0, 8, 2);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1), VIRTIO_BLK_S_UNSUPP);
	/* Out of range, too long, too many segments, a partial segment. */
	r = range(CAPACITY - 4, 8, 0);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_DISCARD, &r, 1), VIRTIO_BLK_S_IOERR);
	r = range(UINT64_MAX - 2, 8, 0);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1), VIRTIO_BLK_S_IOERR);
	r = range(0, VIRTIO_BLK_MAX_ZERO_SECTORS + 1, 0);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_DISCARD, &r, 1), VIRTIO_BLK_S_IOERR);
	struct virtio_blk_discard_write_zeroes many[VIRTIO_BLK_MAX_ZERO_SEG + 1];
	for (unsigned i = 0; i <= VIRTIO_BLK_MAX_ZERO_SEG; i++)
		many[i] = range(i * 8, 8, 0);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_DISCARD, many, VIRTIO_BLK_MAX_ZERO_SEG + 1),
		     VIRTIO_BLK_S_IOERR);
	memcpy(gp(d.seg_gpa, 16), &many[0], 16);
	struct drv_seg s = {d.seg_gpa, 12, false};
	cr_assert_eq(request(&d, VIRTIO_BLK_T_DISCARD, 0, &s, 1, NULL), VIRTIO_BLK_S_IOERR);
	/* A bad range later in the request: nothing at all is done. */
	struct virtio_blk_discard_write_zeroes two[2] = {range(0, 8, 0), range(CAPACITY, 1, 0)};
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, two, 2), VIRTIO_BLK_S_IOERR);
	cr_assert(image_is_pattern(img, 0, IMG_SIZE), "the image is untouched");
	cr_assert_not(drv_needs_reset(&d.t));
	drive_down(&d);
}

Test(virtio_blk, discard_not_negotiated_is_unsupported)
{
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_create(&d, &c, 0);
	drive_start(&d, F_VERSION_1 | FB(VIRTIO_BLK_F_FLUSH));
	struct virtio_blk_discard_write_zeroes r = range(0, 8, 0);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_DISCARD, &r, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert(image_is_pattern(img, 0, IMG_SIZE));
	drive_down(&d);
}

static void check_write_zeroes(const char *dir)
{
	char path[128];
	make_image(dir, path, sizeof(path), IMG_SIZE);
	struct drive_config c = drive_cfg(path, false, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_up(&d, &c, 0);
	struct virtio_blk_discard_write_zeroes r[2] = {
	    range(16, 16, 0), range(200, 40, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)};
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, r, 2), VIRTIO_BLK_S_OK);
	uint8_t buf[40 * SECTOR];
	read_image(path, 16 * SECTOR, buf, 16 * SECTOR);
	cr_assert(all_bytes(buf, 16 * SECTOR, 0), "%s: zeros without unmap", dir);
	read_image(path, 200 * SECTOR, buf, 40 * SECTOR);
	cr_assert(all_bytes(buf, 40 * SECTOR, 0), "%s: zeros with unmap", dir);
	cr_assert(image_is_pattern(path, 15 * SECTOR, SECTOR));
	cr_assert(image_is_pattern(path, 32 * SECTOR, 168 * SECTOR));
	cr_assert(image_is_pattern(path, 240 * SECTOR, SECTOR));
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, IMG_SIZE);
	drive_down(&d);
	unlink(path);
}

Test(virtio_blk, write_zeroes)
{
	check_write_zeroes(NULL);
}

Test(virtio_blk, write_zeroes_without_zero_range)
{
	/* tmpfs has no FALLOC_FL_ZERO_RANGE: zeros are written instead. */
	struct statfs sf;
	if (statfs("/dev/shm", &sf) < 0 || sf.f_type != 0x01021994 /* TMPFS_MAGIC */)
		cr_skip_test("no tmpfs at /dev/shm");
	check_write_zeroes("/dev/shm");
}

Test(virtio_blk, readonly_refuses_writes)
{
	struct drive_config c = img_cfg(true, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_up(&d, &c, 0);
	uint64_t f = virtio_blk_features(d.blk);
	cr_assert(f & FB(VIRTIO_BLK_F_RO));
	cr_assert_eq(f & (FB(VIRTIO_BLK_F_DISCARD) | FB(VIRTIO_BLK_F_WRITE_ZEROES)), 0);
	cr_assert_eq(cfg32(&d, offsetof(struct virtio_blk_config, max_discard_sectors)), 0);
	memset(gp(DATA_GPA, SECTOR), 0x55, SECTOR);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_OUT, 0, 0, SECTOR, NULL), VIRTIO_BLK_S_IOERR);
	struct virtio_blk_discard_write_zeroes r = range(0, 8, 0);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_DISCARD, &r, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(request(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < SECTOR; i++)
		cr_assert_eq(((uint8_t *)gp(DATA_GPA, SECTOR))[i], pattern(i));
	cr_assert(image_is_pattern(img, 0, IMG_SIZE), "the image is untouched");
	cr_assert_not(drv_needs_reset(&d.t));
	drive_down(&d);
}

Test(virtio_blk, bounds)
{
	struct drive d;
	up_rw(&d, NULL);
	uint32_t used = 0;
	/* The last sector, read and written. */
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, CAPACITY - 1, 0, SECTOR, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, SECTOR + 1);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_OUT, CAPACITY - 1, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, CAPACITY - 4, 0, 4 * SECTOR, NULL), VIRTIO_BLK_S_OK);
	/* One past, straddling, far away, wrapping. */
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, CAPACITY, 0, SECTOR, &used), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used, 1, "an error writes only the status byte");
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_OUT, CAPACITY, 0, SECTOR, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, CAPACITY - 1, 0, 2 * SECTOR, NULL),
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 1ULL << 40, 0, SECTOR, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, UINT64_MAX, 0, SECTOR, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 0, 4 * SECTOR, NULL),
		     VIRTIO_BLK_S_IOERR);
	struct stat st;
	cr_assert_eq(stat(img, &st), 0);
	cr_assert_eq(st.st_size, IMG_SIZE, "nothing written past the end");
	cr_assert_not(drv_needs_reset(&d.t), "out-of-range requests are not guest errors");
	drive_down(&d);
}

Test(virtio_blk, odd_lengths_and_directions)
{
	struct drive d;
	up_rw(&d, NULL);
	uint32_t used = 0;
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 0, 100, &used), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used, 1);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 0, SECTOR + 1, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_OUT, 0, 0, SECTOR - 1, NULL), VIRTIO_BLK_S_IOERR);
	/* No data at all. */
	cr_assert_eq(request(&d, VIRTIO_BLK_T_IN, 0, NULL, 0, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(request(&d, VIRTIO_BLK_T_OUT, 0, NULL, 0, NULL), VIRTIO_BLK_S_IOERR);
	/* A read with device-readable data, a write with device-writable data. */
	struct drv_seg s = {DATA_GPA, SECTOR, false};
	cr_assert_eq(request(&d, VIRTIO_BLK_T_IN, 0, &s, 1, NULL), VIRTIO_BLK_S_IOERR);
	s.write = true;
	cr_assert_eq(request(&d, VIRTIO_BLK_T_OUT, 0, &s, 1, NULL), VIRTIO_BLK_S_IOERR);
	/* Unknown and unimplemented types. */
	cr_assert_eq(request(&d, 2 /* SCSI_CMD */, 0, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(request(&d, 10 /* GET_LIFETIME */, 0, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(request(&d, VIRTIO_BLK_T_SECURE_ERASE, 0, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(request(&d, 0xFFFFFFFFu, 0, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert(image_is_pattern(img, 0, IMG_SIZE));
	cr_assert_not(drv_needs_reset(&d.t));
	drive_down(&d);
}

/* Chains the device must refuse as a guest error, on drive slot 0 (its header at
 * RINGS_GPA + 0x3000, its status byte at RINGS_GPA + 0x3100). */
static const struct {
	const char *name;
	struct drv_seg s[3];
	unsigned n;
} bad_chains[] = {
    {"header only", {{RINGS_GPA + 0x3000, 16, false}}, 1},
    {"no writable descriptor", {{RINGS_GPA + 0x3000, 16, false}, {DATA_GPA, SECTOR, false}}, 2},
    {"8-byte header",
     {{RINGS_GPA + 0x3000, 8, false}, {DATA_GPA, SECTOR, true}, {RINGS_GPA + 0x3100, 1, true}},
     3},
    {"no readable header", {{DATA_GPA, SECTOR, true}, {RINGS_GPA + 0x3100, 1, true}}, 2},
};

/* The chain gets no used entry and NEEDS_RESET; after a reset the drive works again. */
TABLE_TEST(virtio_blk, bad_chain_needs_reset, bad_chains, c)
{
	struct drive d;
	up_rw(&d, NULL);
	cr_assert_eq(d.hdr_gpa, RINGS_GPA + 0x3000);
	put_header(&d, VIRTIO_BLK_T_IN, 0);
	drv_post_chain(&d.q, c->s, c->n);
	drv_kick(&d.q);
	cr_assert(wait_needs_reset(&d), "%s: the device needs a reset", c->name);
	cr_assert_eq(drv_used_idx(&d.q), 0, "%s: no used buffer", c->name);
	cr_assert(drv_rd(&d.t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG, "%s",
		  c->name);
	/* Reset and carry on (drive_start() clears the rings). */
	drv_wr(&d.t, VIRTIO_MMIO_STATUS, 0);
	drive_start(&d, ~0ULL);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 0, SECTOR, NULL), VIRTIO_BLK_S_OK, "%s", c->name);
	drive_down(&d);
}

Test(virtio_blk, chain_longer_than_seg_max_needs_reset)
{
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_create(&d, &c, 0);
	drive_start(&d, ~0ULL);
	cr_assert(virtio_mmio_features(&d.t) & F_INDIRECT);
	/* seg_max data segments: fine. One more: a guest error. */
	for (unsigned extra = 0; extra < 2; extra++) {
		unsigned ndata = VIRTIO_BLK_SEG_MAX + extra, n = ndata + 2;
		struct vring_desc *table = gp(TABLE_GPA, 16ULL * n);
		put_header(&d, VIRTIO_BLK_T_IN, 0);
		table[0] = (struct vring_desc){d.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
		for (unsigned i = 0; i < ndata; i++)
			table[1 + i] = (struct vring_desc){DATA_GPA + i * SECTOR, SECTOR,
							   VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
							   (uint16_t)(2 + i)};
		table[n - 1] = (struct vring_desc){d.status_gpa, 1, VRING_DESC_F_WRITE, 0};
		d.q.desc[0] = (struct vring_desc){TABLE_GPA, 16 * n, VRING_DESC_F_INDIRECT, 0};
		drv_post(&d.q, 0);
		drv_kick(&d.q);
		if (extra == 0) {
			struct vring_used_elem u = next_used(&d.q);
			cr_assert_eq(u.len, ndata * SECTOR + 1);
			cr_assert_eq(*(uint8_t *)gp(d.status_gpa, 1), VIRTIO_BLK_S_OK);
			cr_assert_not(drv_needs_reset(&d.t));
		} else {
			cr_assert(wait_needs_reset(&d));
			cr_assert_eq(drv_used_idx(&d.q), 1);
		}
	}
	drive_down(&d);
}

/* An indirect read of sector 0 whose chain is the header, `ndata` data descriptors of a
 * sector each and, when `status_shares` is set, a last descriptor holding one more sector
 * of data and the status byte (so that ndata + 2 descriptors carry ndata + 1 segments).
 * Returns the status byte. */
static uint8_t indirect_read(struct drive *d, unsigned ndata, bool status_shares)
{
	unsigned n = ndata + 2;
	struct vring_desc *table = gp(TABLE_GPA, 16ULL * n);
	put_header(d, VIRTIO_BLK_T_IN, 0);
	table[0] = (struct vring_desc){d->hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	for (unsigned i = 0; i < ndata; i++)
		table[1 + i] =
		    (struct vring_desc){DATA_GPA + i * SECTOR, SECTOR,
					VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(2 + i)};
	gpa_t last = status_shares ? DATA_GPA + ndata * SECTOR : d->status_gpa;
	table[n - 1] =
	    (struct vring_desc){last, status_shares ? SECTOR + 1 : 1, VRING_DESC_F_WRITE, 0};
	uint8_t *status = gp(status_shares ? last + SECTOR : last, 1);
	*status = NO_STATUS;
	d->q.desc[0] = (struct vring_desc){TABLE_GPA, 16 * n, VRING_DESC_F_INDIRECT, 0};
	drv_post(&d->q, 0);
	drv_kick(&d->q);
	(void)next_used(&d->q);
	return *status;
}

Test(virtio_blk, requests_beyond_size_max_or_seg_max_get_ioerr)
{
	make_image(NULL, img, sizeof(img), 4u << 20);
	struct drive_config c = drive_cfg(img, false, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_up(&d, &c, 0);
	/* One segment of size_max: fine; one sector more: IOERR, nothing read. */
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 0, VIRTIO_BLK_SIZE_MAX, NULL), VIRTIO_BLK_S_OK);
	memset(gp(DATA_GPA, VIRTIO_BLK_SIZE_MAX + SECTOR), 0, VIRTIO_BLK_SIZE_MAX + SECTOR);
	uint32_t used = 0;
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 0, VIRTIO_BLK_SIZE_MAX + SECTOR, &used),
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used, 1, "only the status byte");
	ram_expect_zero(DATA_GPA, VIRTIO_BLK_SIZE_MAX + SECTOR, "data of the refused read");
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_OUT, 0, 0, VIRTIO_BLK_SIZE_MAX + SECTOR, NULL),
		     VIRTIO_BLK_S_IOERR);
	cr_assert(image_is_pattern(img, 0, VIRTIO_BLK_SIZE_MAX + SECTOR), "image untouched");
	/* seg_max data segments in seg_max + 2 descriptors: fine; seg_max + 1 data segments
	 * in as many descriptors (data shares the status descriptor): IOERR. */
	cr_assert_eq(indirect_read(&d, VIRTIO_BLK_SEG_MAX, false), VIRTIO_BLK_S_OK);
	cr_assert_eq(indirect_read(&d, VIRTIO_BLK_SEG_MAX, true), VIRTIO_BLK_S_IOERR);
	/* Neither is a device error. */
	cr_assert_not(drv_needs_reset(&d.t));
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	drive_down(&d);
}

Test(virtio_blk, batch_of_requests_one_interrupt)
{
	struct drive d;
	up_rw(&d, NULL);
	uint64_t irqs = atomic_load(&d.t.interrupts);
	for (unsigned i = 0; i < 3; i++) {
		put_header(&d, VIRTIO_BLK_T_IN, i); /* the same header: all read sector 2 */
		struct drv_seg s[3] = {{d.hdr_gpa, 16, false},
				       {DATA_GPA + i * 4096, SECTOR, true},
				       {d.status_gpa + i, 1, true}};
		drv_post_chain(&d.q, s, 3);
	}
	drv_kick(&d.q);
	cr_assert(drv_wait_used(&d.q, 3, 5000));
	cr_assert_eq(atomic_load(&d.t.interrupts), irqs + 1, "one interrupt for the batch");
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(*(uint8_t *)gp(d.status_gpa + i, 1), VIRTIO_BLK_S_OK);
		cr_assert_eq(*(uint8_t *)gp(DATA_GPA + i * 4096, 1), pattern(2 * SECTOR));
	}
	/* A spurious kick: nothing happens. */
	drv_kick(&d.q);
	usleep(50000);
	cr_assert_eq(drv_used_idx(&d.q), 3);
	cr_assert_eq(atomic_load(&d.t.interrupts), irqs + 1);
	drive_down(&d);
}

Test(virtio_blk, several_drives)
{
	char a[128], b[128];
	make_image(NULL, a, sizeof(a), IMG_SIZE);
	make_image(NULL, b, sizeof(b), IMG_SIZE / 2);
	struct drive_config ca = drive_cfg(a, false, CACHE_WRITEBACK, "a");
	struct drive_config cb = drive_cfg(b, true, CACHE_WRITEBACK, "b");
	struct drive da, db;
	drive_up(&da, &ca, 0);
	drive_up(&db, &cb, 1);
	cr_assert_eq(drv_cfg(&da.t, 0, 8), CAPACITY);
	cr_assert_eq(drv_cfg(&db.t, 0, 8), CAPACITY / 2);
	memset(gp(DATA_GPA, SECTOR), 0x77, SECTOR);
	cr_assert_eq(rw(&da, VIRTIO_BLK_T_OUT, 3, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(&db, VIRTIO_BLK_T_OUT, 3, 0, SECTOR, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert(image_is_pattern(b, 0, IMG_SIZE / 2));
	uint8_t buf[SECTOR];
	read_image(a, 3 * SECTOR, buf, SECTOR);
	cr_assert(all_bytes(buf, SECTOR, 0x77));
	struct drv_seg s = {DATA_GPA + 0x1000, 20, true};
	cr_assert_eq(request(&db, VIRTIO_BLK_T_GET_ID, 0, &s, 1, NULL), VIRTIO_BLK_S_OK);
	cr_assert_str_eq((char *)gp(DATA_GPA + 0x1000, 20), "b");
	drive_down(&da);
	drive_down(&db);
	unlink(a);
	unlink(b);
}

Test(virtio_blk, image_lock)
{
	struct drive_config rwc = img_cfg(false, CACHE_WRITEBACK, NULL);
	struct drive_config roc = drive_cfg(img, true, CACHE_WRITEBACK, NULL);
	char err[PATH_MAX + 200] = "", want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s: in use by another process (flock)", img);
	struct virtio_blk *first = virtio_blk_create(&rwc, NULL, err, sizeof(err));
	cr_assert_not_null(first, "%s", err);
	/* A second writer and a reader are refused while a writer holds it. */
	cr_assert_null(virtio_blk_create(&rwc, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, want);
	err[0] = 0;
	cr_assert_null(virtio_blk_create(&roc, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, want);
	virtio_blk_destroy(first);
	/* Readers share; a writer is refused while they hold it. */
	struct virtio_blk *r1 = virtio_blk_create(&roc, NULL, err, sizeof(err));
	struct virtio_blk *r2 = virtio_blk_create(&roc, NULL, err, sizeof(err));
	cr_assert_not_null(r1);
	cr_assert_not_null(r2);
	cr_assert_null(virtio_blk_create(&rwc, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, want);
	virtio_blk_destroy(r1);
	virtio_blk_destroy(r2);
	/* Released on destroy. */
	first = virtio_blk_create(&rwc, NULL, err, sizeof(err));
	cr_assert_not_null(first, "%s", err);
	virtio_blk_destroy(first);
	virtio_blk_destroy(NULL);
}

Test(virtio_blk, open_errors)
{
	char err[PATH_MAX + 200] = "";
	struct drive_config c = drive_cfg("/nonexistent/disk.img", false, CACHE_WRITEBACK, NULL);
	cr_assert_null(virtio_blk_create(&c, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "/nonexistent/disk.img: No such file or directory");
	char dir[PATH_MAX], want[PATH_MAX + 64];
	make_tmp_dir(dir, sizeof(dir), "blkdir");
	c = drive_cfg(dir, true, CACHE_WRITEBACK, NULL);
	cr_assert_null(virtio_blk_create(&c, NULL, err, sizeof(err)));
	rmdir(dir);
	snprintf(want, sizeof(want), "%s: not a regular file or block device", dir);
	cr_assert_str_eq(err, want);
	c = drive_cfg("/dev/null", true, CACHE_WRITEBACK, NULL);
	cr_assert_null(virtio_blk_create(&c, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "/dev/null: not a regular file or block device");
}

Test(virtio_blk, cache_none_aligned_and_bounced)
{
	struct drive_config c = img_cfg(false, CACHE_NONE, NULL);
	char err[PATH_MAX + 200] = "";
	struct virtio_blk *probe = virtio_blk_create(&c, NULL, err, sizeof(err));
	if (!probe) {
		unlink(img);
		cr_skip_test("O_DIRECT not available in %s: %s", tmp_dir(), err);
	}
	virtio_blk_destroy(probe);
	struct drive d;
	drive_up(&d, &c, 0);
	uint32_t bs = cfg32(&d, offsetof(struct virtio_blk_config, blk_size));
	cr_assert_geq(bs, 512);
	/* Aligned buffers, then buffers at odd addresses and lengths (the
	 * bounce buffer), reads and writes, crossing the 1 MiB bounce size. */
	const gpa_t offs[] = {0, 8, 4096 + 3};
	for (unsigned k = 0; k < 3; k++) {
		uint64_t sector = 8 * k;
		uint8_t *src = gp(DATA_GPA + 0x200000 + offs[k], 4096);
		for (unsigned i = 0; i < 4096; i++)
			src[i] = (uint8_t)(i + k * 31 + 5);
		struct drv_seg w[2] = {{DATA_GPA + 0x200000 + offs[k], 1000, false},
				       {DATA_GPA + 0x200000 + offs[k] + 1000, 4096 - 1000, false}};
		cr_assert_eq(request(&d, VIRTIO_BLK_T_OUT, sector, w, 2, NULL), VIRTIO_BLK_S_OK);
		uint8_t file[4096];
		read_image(img, sector * SECTOR, file, sizeof(file));
		cr_assert_arr_eq(file, src, 4096, "write %u", k);
		uint8_t *dst = gp(DATA_GPA + 0x300000 + offs[k], 4096);
		memset(dst, 0, 4096);
		struct drv_seg r[2] = {{DATA_GPA + 0x300000 + offs[k], 4096 - 24, true},
				       {DATA_GPA + 0x300000 + offs[k] + 4096 - 24, 24, true}};
		cr_assert_eq(request(&d, VIRTIO_BLK_T_IN, sector, r, 2, NULL), VIRTIO_BLK_S_OK);
		cr_assert_arr_eq(dst, src, 4096, "read %u", k);
	}
	/* The whole image through a misaligned buffer: two bounce rounds. */
	uint32_t used = 0;
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 1, IMG_SIZE, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, IMG_SIZE + 1);
	uint8_t *all = gp(DATA_GPA + 1, IMG_SIZE);
	cr_assert_eq(all[24 * SECTOR], pattern(24 * SECTOR));
	cr_assert_eq(all[IMG_SIZE - 1], pattern(IMG_SIZE - 1));
	cr_assert_eq(request(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	struct virtio_blk_discard_write_zeroes z = range(32, 8, 0);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, &z, 1), VIRTIO_BLK_S_OK);
	uint8_t file[8 * SECTOR];
	read_image(img, 32 * SECTOR, file, sizeof(file));
	cr_assert(all_bytes(file, sizeof(file), 0));
	drive_down(&d);
}

/* ---- Rate limiting ------------------------------------------------------------------------ */

#define LIMITED_REQS 20 /* 3 descriptors each: they fit the QSIZE ring at once */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A drive limited per `limit`, served by its own thread, which waits for its
 * own timer (the loop is the caller's, as a VM would pass one). */
static void limited_up(struct drive *d, struct event_loop *loop,
		       const struct rate_limit_config *limit)
{
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, NULL);
	c.limit = *limit;
	cr_assert_eq(event_loop_init(loop), 0);
	cr_assert_eq(event_loop_start(loop), 0);
	char err[PATH_MAX + 200] = "";
	memset(d, 0, sizeof(*d));
	d->blk = virtio_blk_create(&c, loop, err, sizeof(err));
	cr_assert_not_null(d->blk, "virtio_blk_create: %s", err);
	cr_assert_eq(virtio_blk_start(d->blk, err, sizeof(err)), 0, "virtio_blk_start: %s", err);
	cr_assert_eq(
	    virtio_mmio_create(&d->t, &virtio_blk_ops, d->blk, &guest_ram, -1, NULL, NULL, 0), 0);
	d->rings_gpa = RINGS_GPA;
	d->hdr_gpa = d->rings_gpa + 0x3000;
	d->status_gpa = d->rings_gpa + 0x3800; /* after LIMITED_REQS headers */
	drive_start(d, ~0ULL);
}

static void limited_down(struct drive *d, struct event_loop *loop)
{
	event_loop_stop(loop);
	drive_down(d);
	event_loop_fini(loop);
}

/* Posts n reads of `bytes` each, request i reading sector i into its own
 * buffer, with its own header and status byte; heads[i] gets its head. */
static void post_reads(struct drive *d, unsigned n, uint32_t bytes, uint16_t *heads)
{
	for (unsigned i = 0; i < n; i++) {
		struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = i};
		memcpy(gp(d->hdr_gpa + i * 16, 16), &h, 16);
		*(uint8_t *)gp(d->status_gpa + i, 1) = NO_STATUS;
		struct drv_seg s[3] = {{d->hdr_gpa + i * 16, 16, false},
				       {DATA_GPA + (uint64_t)i * bytes, bytes, true},
				       {d->status_gpa + i, 1, true}};
		heads[i] = drv_post_chain(&d->q, s, 3);
	}
}

/* Every request completed, in the order posted, with the right data. */
static void expect_in_order(struct drive *d, unsigned n, uint32_t bytes, const uint16_t *heads)
{
	for (unsigned i = 0; i < n; i++) {
		struct vring_used_elem u = next_used(&d->q);
		cr_assert_eq(u.id, heads[i], "completion %u: head %u, expected %u", i, u.id,
			     heads[i]);
		cr_assert_eq(u.len, bytes + 1);
		cr_assert_eq(*(uint8_t *)gp(d->status_gpa + i, 1), VIRTIO_BLK_S_OK);
		cr_assert_eq(*(uint8_t *)gp(DATA_GPA + (uint64_t)i * bytes, 1),
			     pattern((uint64_t)i * SECTOR));
	}
}

/* Runs LIMITED_REQS reads of `bytes` against `limit`; returns the seconds
 * from the kick to the last completion. `first` gets the completions
 * made by the kick itself (before any wait), `waited` the seconds the
 * process's threads waited for a CPU meanwhile (cpu_wait_s()). */
static double timed_reads(const struct rate_limit_config *limit, uint32_t bytes, unsigned *first,
			  uint64_t *throttles, double *waited)
{
	struct drive d;
	struct event_loop loop;
	uint16_t heads[LIMITED_REQS];
	limited_up(&d, &loop, limit);
	post_reads(&d, LIMITED_REQS, bytes, heads);
	uint64_t t0 = mono_ns();
	double w0 = cpu_wait_s();
	drv_kick(&d.q);
	/* What the full bucket admits completes at once; the next request
	 * waits at least 25 ms for its tokens. */
	cr_assert(WAIT_UNTIL(drv_used_idx(&d.q) > 0, 5000));
	usleep(5000);
	*first = drv_used_idx(&d.q);
	cr_assert(drv_wait_used(&d.q, LIMITED_REQS, 10000), "only %u of %u requests completed",
		  drv_used_idx(&d.q), LIMITED_REQS);
	double secs = (double)(mono_ns() - t0) / 1e9;
	*waited = cpu_wait_s() - w0;
	expect_in_order(&d, LIMITED_REQS, bytes, heads);
	cr_assert_not(drv_needs_reset(&d.t));
	*throttles = virtio_blk_throttles(d.blk);
	limited_down(&d, &loop);
	return secs;
}

Test(virtio_blk, iops_limit_delays_in_order_at_the_rate)
{
	/* 40 ops/s: a 4-op bucket (100 ms) passes at once, the other 16 come
	 * at the rate: 0.4 s. */
	struct rate_limit_config l = {.ops = 40};
	unsigned first;
	uint64_t throttles;
	double waited;
	double secs = timed_reads(&l, SECTOR, &first, &throttles, &waited);
	cr_assert_eq(first, 4, "the full bucket admits 4 requests at once, got %u", first);
	cr_assert_geq(throttles, 1);
	expect_rate("iops = 40, requests after the bucket", LIMITED_REQS - 4, secs, waited, 40);
}

Test(virtio_blk, bandwidth_limit_delays_in_order_at_the_rate)
{
	/* 64 KiB/s, 4 KiB reads: the bucket (6553 bytes) admits one, then
	 * the rest come at the rate. */
	struct rate_limit_config l = {.bandwidth = 64 << 10};
	unsigned first;
	uint64_t throttles;
	double waited;
	double secs = timed_reads(&l, 4096, &first, &throttles, &waited);
	cr_assert_eq(first, 1);
	expect_rate("bandwidth = 64K, bytes after the bucket", LIMITED_REQS * 4096.0 - 6553, secs,
		    waited, 64 << 10);
}

Test(virtio_blk, burst_spent_once_then_rate)
{
	struct rate_limit_config l = {.ops = 40, .ops_burst = 10};
	unsigned first;
	uint64_t throttles;
	double waited;
	(void)timed_reads(&l, SECTOR, &first, &throttles, &waited);
	cr_assert_eq(first, 14, "bucket 4 + burst 10 at once, got %u", first);
}

Test(virtio_blk, reset_while_throttled_disarms_the_timer)
{
	struct drive d;
	struct event_loop loop;
	uint16_t heads[LIMITED_REQS];
	struct rate_limit_config l = {.ops = 10}; /* bucket of 1 */
	limited_up(&d, &loop, &l);
	post_reads(&d, 5, SECTOR, heads);
	drv_kick(&d.q);
	cr_assert(drv_wait_used(&d.q, 1, 5000));
	drv_wr(&d.t, VIRTIO_MMIO_STATUS, 0); /* the waiting requests go with the rings */
	/* The timer (100 ms) would have served them: nothing may happen. */
	cr_assert_not(drv_wait_used(&d.q, 2, 300));
	/* A fresh start works and is still limited (no new bucket). */
	drive_start(&d, ~0ULL);
	post_reads(&d, 2, SECTOR, heads);
	drv_kick(&d.q);
	cr_assert(drv_wait_used(&d.q, 2, 2000));
	expect_in_order(&d, 2, SECTOR, heads);
	limited_down(&d, &loop);
}

/* ---- Faults: the sync behind FLUSH, images truncated or deleted under the drive ----------- */

/* disk.c's fdatasync(), wrapped at link time (Makefile.in UNIT_WRAPS): counts
 * the calls, notes the status byte of the request in flight when the sync
 * runs, and fails with `fail_errno` when set. */
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

static struct {
	unsigned calls;
	int fail_errno;
	const uint8_t *status;	/* the request's status byte in guest RAM (NULL: not noted) */
	uint8_t status_at_sync; /* *status when fdatasync() was called */
	bool (*check)(int fd);	/* called with the image's fd before the sync, if set */
	bool checked;		/* what check() said */
} sync_spy;

int __wrap_fdatasync(int fd)
{
	sync_spy.calls++;
	if (sync_spy.status)
		sync_spy.status_at_sync = *sync_spy.status;
	if (sync_spy.check)
		sync_spy.checked = sync_spy.check(fd);
	if (sync_spy.fail_errno) {
		errno = sync_spy.fail_errno;
		return -1;
	}
	return __real_fdatasync(fd);
}

/* A write, then FLUSH: the back end's fdatasync() ran exactly once, while
 * the request was still incomplete (its status byte unwritten), and the
 * flush was acknowledged after it returned. */
static void check_flush_waits_for_the_sync(struct drive *d)
{
	memset(gp(DATA_GPA, SECTOR), 0x3c, SECTOR);
	cr_assert_eq(rw(d, VIRTIO_BLK_T_OUT, 9, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(sync_spy.calls, 0, "a write alone must not sync");
	sync_spy.status = gp(d->status_gpa, 1);
	cr_assert_eq(request(d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(sync_spy.calls, 1, "FLUSH must call fdatasync() once");
	cr_assert_eq(sync_spy.status_at_sync, NO_STATUS,
		     "the FLUSH was completed (status 0x%02x) before fdatasync() ran",
		     sync_spy.status_at_sync);
	sync_spy.status = NULL;
}

Test(virtio_blk, flush_completes_after_the_sync)
{
	struct drive d;
	up_rw(&d, NULL);
	check_flush_waits_for_the_sync(&d);
	drive_down(&d);
}

Test(virtio_blk, flush_completes_after_the_sync_with_cache_none)
{
	struct drive_config c = img_cfg(false, CACHE_NONE, NULL);
	char err[PATH_MAX + 200] = "";
	struct virtio_blk *probe = virtio_blk_create(&c, NULL, err, sizeof(err));
	if (!probe)
		cr_skip_test("O_DIRECT not available in %s: %s", tmp_dir(), err);
	virtio_blk_destroy(probe);
	struct drive d;
	drive_up(&d, &c, 0);
	check_flush_waits_for_the_sync(&d);
	drive_down(&d);
}

/* The host's sync fails: that FLUSH gets IOERR (never OK) and one line is
 * logged; the drive goes on and the next FLUSH succeeds. */
Test(virtio_blk, failed_sync_is_an_ioerr_in_one_line)
{
	struct drive d;
	up_rw(&d, NULL);
	char path[PATH_MAX];
	int saved = stderr_capture_begin(path, sizeof(path));
	sync_spy.fail_errno = EIO;
	int st = request(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL);
	sync_spy.fail_errno = 0;
	char *log = stderr_capture_end(saved, path);
	cr_assert_eq(st, VIRTIO_BLK_S_IOERR, "a failed fdatasync() must not be acknowledged");
	cr_expect_eq(count_lines(log), 1, "one line: '%s'", log);
	cr_expect(strstr(log, img) && strstr(log, "flush: Input/output error"), "%s", log);
	cr_assert(!drv_needs_reset(&d.t));
	cr_assert_eq(request(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	free(log);
	drive_down(&d);
}

/* The image is truncated to half under the running drive: reads past the
 * new end get IOERR every time (also one that straddles it), with one line
 * saying what happened; reads before it still return the data; the drive
 * never asks for a reset. */
Test(virtio_blk, image_truncated_under_the_drive)
{
	struct drive d;
	up_rw(&d, NULL);
	cr_assert_eq(truncate(img, IMG_SIZE / 2), 0, "%s", strerror(errno));
	char path[PATH_MAX];
	int saved = stderr_capture_begin(path, sizeof(path));
	int past = rw(&d, VIRTIO_BLK_T_IN, CAPACITY - 8, 0, 4 * SECTOR, NULL);
	int straddle = rw(&d, VIRTIO_BLK_T_IN, CAPACITY / 2 - 2, 0, 4 * SECTOR, NULL);
	int again = rw(&d, VIRTIO_BLK_T_IN, CAPACITY - 8, 0, 4 * SECTOR, NULL);
	char *log = stderr_capture_end(saved, path);
	cr_expect_eq(past, VIRTIO_BLK_S_IOERR, "a read past the new end");
	cr_expect_eq(straddle, VIRTIO_BLK_S_IOERR, "a read across the new end");
	cr_expect_eq(again, VIRTIO_BLK_S_IOERR, "the same read again");
	cr_expect_eq(count_lines(log), 3, "one line per failed request: '%s'", log);
	char want[256];
	snprintf(want, sizeof(want),
		 "the image is now %u bytes, shorter than the drive's %u sectors", IMG_SIZE / 2,
		 CAPACITY);
	cr_expect(strstr(log, img) && strstr(log, want), "want '%s': '%s'", want, log);
	cr_assert(!drv_needs_reset(&d.t));
	uint8_t *buf = gp(DATA_GPA, SECTOR);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 5, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < SECTOR; i++)
		cr_assert_eq(buf[i], pattern(5 * SECTOR + i), "byte %u of sector 5", i);
	free(log);
	drive_down(&d);
}

/* The image is deleted under the running drive: minnow keeps the open
 * file, so reads and writes go on (what is written is lost with the last
 * descriptor, when minnow ends); nothing is logged. */
Test(virtio_blk, image_deleted_under_the_drive)
{
	struct drive d;
	up_rw(&d, NULL);
	cr_assert_eq(unlink(img), 0);
	img[0] = '\0';
	char path[PATH_MAX];
	int saved = stderr_capture_begin(path, sizeof(path));
	memset(gp(DATA_GPA, SECTOR), 0x5a, SECTOR);
	int w = rw(&d, VIRTIO_BLK_T_OUT, 100, 0, SECTOR, NULL);
	memset(gp(DATA_GPA, SECTOR), 0, SECTOR);
	int r = rw(&d, VIRTIO_BLK_T_IN, 100, 0, SECTOR, NULL);
	int f = request(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL);
	char *log = stderr_capture_end(saved, path);
	cr_expect(w == VIRTIO_BLK_S_OK && r == VIRTIO_BLK_S_OK && f == VIRTIO_BLK_S_OK,
		  "write %d read %d flush %d", w, r, f);
	cr_expect(all_bytes(gp(DATA_GPA, SECTOR), SECTOR, 0x5a), "the write reads back");
	cr_expect_str_eq(log, "");
	free(log);
	drive_down(&d);
}

/* ---- The drive's thread: many requests in flight, FLUSH order, reset, quiesce --------------- */

#define BIG_Q	 256 /* a ring that holds MANY three-descriptor chains */
#define MANY	 64
#define HDRS_GPA TABLE_GPA	      /* MANY request headers */
#define STAT_GPA (TABLE_GPA + 0x1000) /* MANY status bytes */

/* drive_start() with a BIG_Q ring and every feature. */
static void drive_start_big(struct drive *d)
{
	drv_features_ok(&d->t, drv_device_features(&d->t));
	drv_ring_at(&d->q, &d->t, 0, BIG_Q, d->rings_gpa);
	drv_go(&d->t);
}

/* Posts n requests of `type` (IN or OUT) without a kick: request i moves `bytes` at sector
 * sectors[i] through its own buffer at DATA_GPA + i * bytes, with its own header and status
 * byte (NO_STATUS until the device writes it); heads[i] gets its head. */
static void post_many(struct drive *d, uint32_t type, unsigned n, uint32_t bytes,
		      const uint64_t *sectors, uint16_t *heads)
{
	for (unsigned i = 0; i < n; i++) {
		struct virtio_blk_outhdr h = {.type = type, .sector = sectors[i]};
		memcpy(gp(HDRS_GPA + i * 16, 16), &h, 16);
		*(uint8_t *)gp(STAT_GPA + i, 1) = NO_STATUS;
		struct drv_seg s[3] = {
		    {HDRS_GPA + i * 16, 16, false},
		    {DATA_GPA + (uint64_t)i * bytes, bytes, type == VIRTIO_BLK_T_IN},
		    {STAT_GPA + i, 1, true}};
		heads[i] = drv_post_chain(&d->q, s, 3);
	}
}

/* Which of the n heads is `id`; fails the test when none is. */
static unsigned which(const uint16_t *heads, unsigned n, uint16_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (heads[i] == id)
			return i;
	cr_assert_fail("used entry for head %u, which no request has", id);
	return 0;
}

/* MANY 4 KiB reads of scattered sectors in one kick, on a drive with `io`: each completes
 * once, in some order, with its data. */
static void many_reads(struct drive *d)
{
	uint16_t heads[MANY];
	uint64_t sectors[MANY];
	for (unsigned i = 0; i < MANY; i++)
		sectors[i] = (i * 37 % 256) * 8;
	drive_start_big(d);
	post_many(d, VIRTIO_BLK_T_IN, MANY, 4096, sectors, heads);
	drv_kick(&d->q);
	cr_assert(drv_wait_used(&d->q, MANY, 5000), "%u of %u completed", drv_used_idx(&d->q),
		  MANY);
	bool seen[MANY] = {false};
	for (unsigned k = 0; k < MANY; k++) {
		struct vring_used_elem u = drv_next_used(&d->q);
		unsigned i = which(heads, MANY, (uint16_t)u.id);
		cr_assert_not(seen[i], "request %u completed twice", i);
		seen[i] = true;
		cr_assert_eq(u.len, 4096 + 1);
		cr_assert_eq(*(uint8_t *)gp(STAT_GPA + i, 1), VIRTIO_BLK_S_OK);
		const uint8_t *data = gp(DATA_GPA + i * 4096ULL, 4096);
		for (unsigned b = 0; b < 4096; b += 511)
			cr_assert_eq(data[b], pattern(sectors[i] * SECTOR + b),
				     "request %u byte %u", i, b);
	}
	cr_assert_not(drv_needs_reset(&d->t));
}

Test(virtio_blk, many_reads_in_flight_complete_with_their_data)
{
	struct drive d;
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, NULL);
	drive_create(&d, &c, 0);
	cr_log_info("io = auto: %s", virtio_blk_uring(d.blk) ? "io_uring" : "synchronous");
	many_reads(&d);
	drive_down(&d);
}

Test(virtio_blk, io_sync_serves_on_the_drive_thread)
{
	struct drive d;
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, NULL);
	c.io = DRIVE_IO_SYNC;
	drive_create(&d, &c, 0);
	cr_assert_not(virtio_blk_uring(d.blk), "io = sync must not use a ring");
	many_reads(&d);
	drive_down(&d);
}

/* io = io_uring: the ring is used (the test skips where the host has none). */
Test(virtio_blk, io_uring_uses_the_ring)
{
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, NULL);
	c.io = DRIVE_IO_URING;
	char err[PATH_MAX + 200] = "";
	struct virtio_blk *probe = virtio_blk_create(&c, NULL, err, sizeof(err));
	cr_assert_not_null(probe, "%s", err);
	int r = virtio_blk_start(probe, err, sizeof(err));
	virtio_blk_destroy(probe);
	if (r < 0) {
		cr_assert(strstr(err, "io = io_uring: "), "%s", err);
		cr_skip_test("%s", err);
	}
	struct drive d;
	drive_create(&d, &c, 0);
	cr_assert(virtio_blk_uring(d.blk));
	many_reads(&d);
	drive_down(&d);
}

#define FLUSHED_WRITES 32

/* The spy's check: every write of the test below is in the image when the sync runs. */
static bool writes_in_image(int fd)
{
	uint8_t buf[4096];
	for (unsigned i = 0; i < FLUSHED_WRITES; i++) {
		if (pread(fd, buf, sizeof(buf), (off_t)i * 8 * 4096) != (ssize_t)sizeof(buf) ||
		    !all_bytes(buf, sizeof(buf), (uint8_t)(i + 1)))
			return false;
	}
	return true;
}

/* FLUSHED_WRITES writes and then a FLUSH, all in one kick: the sync runs once, after every
 * write has reached the image, and the FLUSH completes after all of them. */
static void check_flush_after_writes(enum drive_io io)
{
	struct drive d;
	struct drive_config c = img_cfg(false, CACHE_WRITEBACK, NULL);
	c.io = io;
	drive_create(&d, &c, 0);
	drive_start_big(&d);
	uint16_t heads[FLUSHED_WRITES];
	uint64_t sectors[FLUSHED_WRITES];
	for (unsigned i = 0; i < FLUSHED_WRITES; i++) {
		sectors[i] = i * 64;
		memset(gp(DATA_GPA + i * 4096ULL, 4096), i + 1, 4096);
	}
	post_many(&d, VIRTIO_BLK_T_OUT, FLUSHED_WRITES, 4096, sectors, heads);
	put_header(&d, VIRTIO_BLK_T_FLUSH, 0);
	*(uint8_t *)gp(d.status_gpa, 1) = NO_STATUS;
	struct drv_seg f[2] = {{d.hdr_gpa, 16, false}, {d.status_gpa, 1, true}};
	uint16_t flush = drv_post_chain(&d.q, f, 2);
	sync_spy.check = writes_in_image;
	drv_kick(&d.q);
	cr_assert(drv_wait_used(&d.q, FLUSHED_WRITES + 1, 5000));
	sync_spy.check = NULL;
	for (unsigned k = 0; k < FLUSHED_WRITES; k++) {
		struct vring_used_elem u = drv_next_used(&d.q);
		cr_assert_neq(u.id, flush, "the FLUSH completed before write %u of %u", k,
			      FLUSHED_WRITES);
		unsigned i = which(heads, FLUSHED_WRITES, (uint16_t)u.id);
		cr_assert_eq(*(uint8_t *)gp(STAT_GPA + i, 1), VIRTIO_BLK_S_OK);
	}
	cr_assert_eq(drv_next_used(&d.q).id, flush);
	cr_assert_eq(*(uint8_t *)gp(d.status_gpa, 1), VIRTIO_BLK_S_OK);
	cr_assert_eq(sync_spy.calls, 1, "one fdatasync() for the FLUSH");
	cr_assert(sync_spy.checked, "fdatasync() ran before every write was in the image");
	drive_down(&d);
}

Test(virtio_blk, flush_after_writes_waits_for_them)
{
	check_flush_after_writes(DRIVE_IO_AUTO);
}

Test(virtio_blk, flush_after_writes_waits_for_them_with_io_sync)
{
	check_flush_after_writes(DRIVE_IO_SYNC);
}

/* MANY 64 KiB reads, kicked; then `stop()` (a reset, a quiesce). Returns the used idx when
 * stop() returned, after checking that nothing is half done: every request is either
 * completed with its status and its used entry, or untouched. */
static uint16_t stop_with_reads_in_flight(struct drive *d, void (*stop)(struct drive *),
					  uint16_t *heads)
{
	uint64_t sectors[MANY];
	for (unsigned i = 0; i < MANY; i++)
		sectors[i] = (i % 16) * 128;
	drive_start_big(d);
	post_many(d, VIRTIO_BLK_T_IN, MANY, 64 << 10, sectors, heads);
	drv_kick(&d->q);
	stop(d);
	uint16_t used = drv_used_idx(&d->q);
	bool done[MANY] = {false};
	for (uint16_t k = 0; k < used; k++)
		done[which(heads, MANY, (uint16_t)d->q.used->ring[k].id)] = true;
	for (unsigned i = 0; i < MANY; i++) {
		uint8_t st = *(uint8_t *)gp(STAT_GPA + i, 1);
		cr_assert_eq(st, done[i] ? VIRTIO_BLK_S_OK : NO_STATUS,
			     "request %u: status 0x%02x, %s", i, st,
			     done[i] ? "completed" : "not completed");
	}
	/* And nothing happens while it stays stopped. */
	usleep(100000);
	cr_assert_eq(drv_used_idx(&d->q), used, "used entries after the drive was stopped");
	return used;
}

static void reset_now(struct drive *d)
{
	drv_wr(&d->t, VIRTIO_MMIO_STATUS, 0);
}

Test(virtio_blk, reset_with_requests_in_flight)
{
	struct drive d;
	uint16_t heads[MANY];
	up_rw(&d, NULL);
	uint16_t used = stop_with_reads_in_flight(&d, reset_now, heads);
	cr_log_info("%u of %u requests completed before the reset", used, MANY);
	/* The drive works after the reset. */
	drv_ring_clear(&d.q);
	drive_start(&d, ~0ULL);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 3, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	drive_down(&d);
}

static void quiesce_now(struct drive *d)
{
	virtio_mmio_quiesce(&d->t, true);
}

/* As a snapshot does: the drive's thread parks with nothing in flight and leaves the ring
 * alone; let go, it serves the rest. */
Test(virtio_blk, quiesce_parks_the_thread_with_nothing_in_flight)
{
	struct drive d;
	uint16_t heads[MANY];
	up_rw(&d, NULL);
	uint16_t used = stop_with_reads_in_flight(&d, quiesce_now, heads);
	cr_log_info("%u of %u requests completed before the quiesce", used, MANY);
	virtio_mmio_quiesce(&d.t, true); /* nests */
	virtio_mmio_quiesce(&d.t, false);
	usleep(20000);
	cr_assert_eq(drv_used_idx(&d.q), used, "still parked: one quiesce is left");
	virtio_mmio_quiesce(&d.t, false);
	cr_assert(drv_wait_used(&d.q, MANY, 5000), "%u of %u completed", drv_used_idx(&d.q), MANY);
	drive_down(&d);
}
