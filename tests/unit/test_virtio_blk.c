/* test_virtio_blk.c - virtio-blk driven through the virtio-mmio transport
 * (vm_fd = -1, fake guest RAM) by a small driver written here, against
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
#include <unistd.h>

#include "guest_mem.h"
#include "virtio_blk.h"
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

#define F_VERSION_1 (1ULL << VIRTIO_F_VERSION_1)
#define F_INDIRECT  (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define FB(bit)	    (1ULL << (bit))

#define S_ACK	      VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER      VIRTIO_CONFIG_S_DRIVER
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK   VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET

#define NO_STATUS 0xEE /* status byte before the device writes it */

static struct guest_mem mem;

static void setup(void)
{
	cr_assert_eq(guest_mem_map(&mem, RAM_SIZE, false), 0);
}

static void teardown(void)
{
	guest_mem_unmap(&mem);
}

TestSuite(virtio_blk, .init = setup, .fini = teardown);

/* Host view of [gpa, gpa + len), asserted to be guest RAM. */
static void *gv(gpa_t gpa, uint64_t len)
{
	void *p = guest_ptr(&mem, gpa, len);
	cr_assert_not_null(p);
	return p;
}

static uint8_t *gp(gpa_t gpa, uint64_t len)
{
	return gv(gpa, len);
}

/* ---- Image files ---------------------------------------------------------------------- */

/* Byte i of a sector-patterned image. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i / SECTOR) * 7 + i % 251);
}

/* Makes a temporary image of `size` bytes in `dir`, filled with pattern(). */
static void make_image(const char *dir, char *path, size_t pathlen, size_t size)
{
	snprintf(path, pathlen, "%s/minnow-blk-XXXXXX", dir);
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp in %s: %s", dir, strerror(errno));
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

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != v)
			return false;
	}
	return true;
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
	gpa_t desc_gpa, avail_gpa, used_gpa, hdr_gpa, status_gpa, seg_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t next_desc;
	uint16_t last_used;
};

static uint32_t rd(struct drive *d, uint64_t offset)
{
	uint32_t v = 0;
	virtio_mmio_ops.read(&d->t, offset, &v, 4);
	return v;
}

static void wr(struct drive *d, uint64_t offset, uint32_t v)
{
	virtio_mmio_ops.write(&d->t, offset, &v, 4);
}

static uint64_t device_features(struct drive *d)
{
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static uint32_t cfg32(struct drive *d, unsigned off)
{
	return rd(d, VIRTIO_MMIO_CONFIG + off);
}

static uint64_t cfg64(struct drive *d, unsigned off)
{
	return cfg32(d, off) | (uint64_t)cfg32(d, off + 4) << 32;
}

static uint8_t cfg8(struct drive *d, unsigned off)
{
	uint8_t v = 0;
	virtio_mmio_ops.read(&d->t, VIRTIO_MMIO_CONFIG + off, &v, 1);
	return v;
}

static bool needs_reset(struct drive *d)
{
	return rd(d, VIRTIO_MMIO_STATUS) & S_NEEDS_RESET;
}

/* Negotiates `features` (all offered when ~0), sets up queue 0 and sets
 * DRIVER_OK. */
static void drive_start(struct drive *d, uint64_t features)
{
	if (features == ~0ULL)
		features = device_features(d);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, S_ACK);
	wr(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	cr_assert(rd(d, VIRTIO_MMIO_STATUS) & S_FEATURES_OK);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_SIZE);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d->desc_gpa);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)d->avail_gpa);
	wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)d->used_gpa);
	wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(d, VIRTIO_MMIO_STATUS, rd(d, VIRTIO_MMIO_STATUS) | S_DRIVER_OK);
	cr_assert(virtio_mmio_active(&d->t));
}

/* Creates the device for `cfg` on `slot` (without starting it). */
static void drive_create(struct drive *d, const struct drive_config *cfg, unsigned slot)
{
	char err[PATH_MAX + 200] = "";
	memset(d, 0, sizeof(*d));
	d->slot = slot;
	d->blk = virtio_blk_create(cfg, NULL, err, sizeof(err));
	cr_assert_not_null(d->blk, "virtio_blk_create: %s", err);
	cr_assert_eq(virtio_mmio_create(&d->t, &virtio_blk_ops, d->blk, &mem, -1, NULL, NULL, slot),
		     0);
	gpa_t base = RINGS_GPA + slot * SLOT_SPAN;
	d->desc_gpa = base;
	d->avail_gpa = base + 0x1000;
	d->used_gpa = base + 0x2000;
	d->hdr_gpa = base + 0x3000;
	d->status_gpa = base + 0x3100;
	d->seg_gpa = base + 0x3200;
	d->desc = gv(d->desc_gpa, 16 * QSIZE);
	d->avail = gv(d->avail_gpa, 6 + 2 * QSIZE);
	d->used = gv(d->used_gpa, 6 + 8 * QSIZE);
	memset(d->desc, 0, 16 * QSIZE);
	memset(d->avail, 0, 6 + 2 * QSIZE);
	memset(d->used, 0, 6 + 8 * QSIZE);
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

struct seg {
	gpa_t gpa;
	uint32_t len;
	bool write;
};

/* Writes a chain of `n` descriptors and makes it available (no kick). */
static uint16_t post_chain(struct drive *d, const struct seg *s, unsigned n)
{
	uint16_t head = d->next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % QSIZE);
		uint16_t flags =
		    (s[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		d->desc[idx] =
		    (struct vring_desc){s[i].gpa, s[i].len, flags, (uint16_t)((idx + 1) % QSIZE)};
	}
	d->next_desc = (uint16_t)((head + n) % QSIZE);
	uint16_t ai = d->avail->idx;
	d->avail->ring[ai % QSIZE] = head;
	__atomic_store_n(&d->avail->idx, (uint16_t)(ai + 1), __ATOMIC_RELEASE);
	return head;
}

static void kick(struct drive *d)
{
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static uint16_t used_idx(struct drive *d)
{
	return __atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE);
}

/* Takes the next used entry; asserts there is one. */
static struct vring_used_elem take_used(struct drive *d)
{
	cr_assert_neq(used_idx(d), d->last_used, "no used buffer");
	return d->used->ring[d->last_used++ % QSIZE];
}

/* Writes the request header at hdr_gpa. */
static void put_header(struct drive *d, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {.type = type, .ioprio = 0, .sector = sector};
	memcpy(gp(d->hdr_gpa, sizeof(h)), &h, sizeof(h));
}

/* One request: header, the data segments, status; kicked and completed.
 * Returns the status byte; *used_len gets the used length. */
static int request(struct drive *d, uint32_t type, uint64_t sector, const struct seg *data,
		   unsigned ndata, uint32_t *used_len)
{
	struct seg s[8];
	cr_assert_leq(ndata + 2, 8);
	put_header(d, type, sector);
	uint8_t *status = gp(d->status_gpa, 1);
	*status = NO_STATUS;
	s[0] = (struct seg){d->hdr_gpa, 16, false};
	for (unsigned i = 0; i < ndata; i++)
		s[1 + i] = data[i];
	s[1 + ndata] = (struct seg){d->status_gpa, 1, true};
	uint16_t head = post_chain(d, s, ndata + 2);
	kick(d);
	struct vring_used_elem u = take_used(d);
	cr_assert_eq(u.id, head);
	if (used_len)
		*used_len = u.len;
	return *status;
}

/* A read or write of `len` bytes at DATA_GPA + off in one segment. */
static int rw(struct drive *d, uint32_t type, uint64_t sector, uint64_t off, uint32_t len,
	      uint32_t *used_len)
{
	struct seg s = {DATA_GPA + off, len, type == VIRTIO_BLK_T_IN};
	return request(d, type, sector, &s, 1, used_len);
}

/* A discard or write-zeroes request with `n` ranges. */
static int zero_request(struct drive *d, uint32_t type,
			const struct virtio_blk_discard_write_zeroes *r, unsigned n)
{
	memcpy(gp(d->seg_gpa, n * sizeof(*r)), r, n * sizeof(*r));
	struct seg s = {d->seg_gpa, (uint32_t)(n * sizeof(*r)), false};
	uint32_t len = 0;
	int st = request(d, type, 0, &s, 1, &len);
	cr_assert_eq(len, 1);
	return st;
}

/* ---- Tests ------------------------------------------------------------------------------ */

static char img[128];

static void up_rw(struct drive *d, const char *serial)
{
	make_image("/tmp", img, sizeof(img), IMG_SIZE);
	struct drive_config c = drive_cfg(img, false, CACHE_WRITEBACK, serial);
	drive_up(d, &c, 0);
}

Test(virtio_blk, identity_features_and_config_space)
{
	struct drive d;
	up_rw(&d, NULL);
	cr_assert_eq(rd(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	uint64_t f = device_features(&d);
	uint64_t want = FB(VIRTIO_BLK_F_FLUSH) | FB(VIRTIO_BLK_F_BLK_SIZE) |
			FB(VIRTIO_BLK_F_SEG_MAX) | FB(VIRTIO_BLK_F_DISCARD) |
			FB(VIRTIO_BLK_F_WRITE_ZEROES);
	cr_assert_eq(f & want, want, "features 0x%llx", (unsigned long long)f);
	cr_assert_eq(f & FB(VIRTIO_BLK_F_RO), 0);
	cr_assert_eq(virtio_blk_features(d.blk) & ~VIRTIO_MMIO_TRANSPORT_FEATURES, want);
	cr_assert_eq(cfg64(&d, offsetof(struct virtio_blk_config, capacity)), CAPACITY);
	cr_assert_eq(virtio_blk_capacity(d.blk), CAPACITY);
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
	cr_assert_eq(cfg8(&d, offsetof(struct virtio_blk_config, write_zeroes_may_unmap)), 1);
	/* Byte and word reads of the capacity agree (little-endian). */
	cr_assert_eq(cfg8(&d, 0), CAPACITY & 0xff);
	cr_assert_eq(cfg8(&d, 1), CAPACITY >> 8);
	/* Beyond the config space: all-ones, ignored. */
	cr_assert_eq(rd(&d, VIRTIO_MMIO_CONFIG + 60), 0xffffffffu);
	drive_down(&d);
	unlink(img);
}

Test(virtio_blk, capacity_rounds_down_odd_size)
{
	char path[128];
	make_image("/tmp", path, sizeof(path), 5 * SECTOR + 100);
	struct drive_config c = drive_cfg(path, false, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_up(&d, &c, 0);
	cr_assert_eq(cfg64(&d, 0), 5);
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
	struct seg rd2[2] = {{DATA_GPA, 1024, true}, {DATA_GPA + 4096, 1024, true}};
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
	struct seg w3[3] = {{DATA_GPA + 0x10000, SECTOR, false},
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
	cr_assert_not(needs_reset(&d));
	cr_assert_gt(atomic_load(&d.t.interrupts), 0);
	drive_down(&d);
	unlink(img);
}

Test(virtio_blk, header_split_and_data_sharing_status_descriptor)
{
	/* Any framing (spec 2.6.4): the header in two descriptors, the last
	 * data bytes and the status byte in one. */
	struct drive d;
	up_rw(&d, NULL);
	put_header(&d, VIRTIO_BLK_T_IN, 7);
	gp(DATA_GPA, SECTOR + 1)[SECTOR] = NO_STATUS;
	struct seg s[4] = {{d.hdr_gpa, 4, false},
			   {d.hdr_gpa + 4, 12, false},
			   {DATA_GPA, 100, true},
			   {DATA_GPA + 100, SECTOR - 100 + 1, true}};
	post_chain(&d, s, 4);
	kick(&d);
	struct vring_used_elem u = take_used(&d);
	cr_assert_eq(u.len, SECTOR + 1);
	uint8_t *buf = gp(DATA_GPA, SECTOR + 1);
	cr_assert_eq(buf[SECTOR], VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < SECTOR; i++)
		cr_assert_eq(buf[i], pattern(7 * SECTOR + i));
	drive_down(&d);
	unlink(img);
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
	unlink(img);
}

Test(virtio_blk, get_id)
{
	struct drive d;
	up_rw(&d, "minnow-serial-1");
	uint8_t *id = gp(DATA_GPA, 32);
	memset(id, 0xFF, 32);
	uint32_t used = 0;
	struct seg s = {DATA_GPA, 20, true};
	cr_assert_eq(request(&d, VIRTIO_BLK_T_GET_ID, 0, &s, 1, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 21);
	cr_assert_str_eq((char *)id, "minnow-serial-1");
	cr_assert(all_bytes(id + 15, 5, 0), "NUL-padded to 20 bytes");
	cr_assert_eq(id[20], 0xFF, "nothing past the 20 bytes");
	drive_down(&d);
	unlink(img);

	/* A 20-byte serial has no terminator. */
	make_image("/tmp", img, sizeof(img), IMG_SIZE);
	struct drive_config c = drive_cfg(img, false, CACHE_WRITEBACK, "01234567890123456789");
	drive_up(&d, &c, 0);
	memset(id, 0xFF, 32);
	cr_assert_eq(request(&d, VIRTIO_BLK_T_GET_ID, 0, &s, 1, &used), VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(id, "01234567890123456789", 20);
	cr_assert_eq(id[20], 0xFF);
	drive_down(&d);
	unlink(img);
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
	unlink(img);
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
	struct seg s = {d.seg_gpa, 12, false};
	cr_assert_eq(request(&d, VIRTIO_BLK_T_DISCARD, 0, &s, 1, NULL), VIRTIO_BLK_S_IOERR);
	/* A bad range later in the request: nothing at all is done. */
	struct virtio_blk_discard_write_zeroes two[2] = {range(0, 8, 0), range(CAPACITY, 1, 0)};
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, two, 2), VIRTIO_BLK_S_IOERR);
	cr_assert(image_is_pattern(img, 0, IMG_SIZE), "the image is untouched");
	cr_assert_not(needs_reset(&d));
	drive_down(&d);
	unlink(img);
}

Test(virtio_blk, discard_not_negotiated_is_unsupported)
{
	make_image("/tmp", img, sizeof(img), IMG_SIZE);
	struct drive_config c = drive_cfg(img, false, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_create(&d, &c, 0);
	drive_start(&d, F_VERSION_1 | FB(VIRTIO_BLK_F_FLUSH));
	struct virtio_blk_discard_write_zeroes r = range(0, 8, 0);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_DISCARD, &r, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(zero_request(&d, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert(image_is_pattern(img, 0, IMG_SIZE));
	drive_down(&d);
	unlink(img);
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
	check_write_zeroes("/tmp");
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
	make_image("/tmp", img, sizeof(img), IMG_SIZE);
	struct drive_config c = drive_cfg(img, true, CACHE_WRITEBACK, NULL);
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
		cr_assert_eq(gp(DATA_GPA, SECTOR)[i], pattern(i));
	cr_assert(image_is_pattern(img, 0, IMG_SIZE), "the image is untouched");
	cr_assert_not(needs_reset(&d));
	drive_down(&d);
	unlink(img);
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
	cr_assert_not(needs_reset(&d), "out-of-range requests are not guest errors");
	drive_down(&d);
	unlink(img);
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
	struct seg s = {DATA_GPA, SECTOR, false};
	cr_assert_eq(request(&d, VIRTIO_BLK_T_IN, 0, &s, 1, NULL), VIRTIO_BLK_S_IOERR);
	s.write = true;
	cr_assert_eq(request(&d, VIRTIO_BLK_T_OUT, 0, &s, 1, NULL), VIRTIO_BLK_S_IOERR);
	/* Unknown and unimplemented types. */
	cr_assert_eq(request(&d, 2 /* SCSI_CMD */, 0, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(request(&d, 10 /* GET_LIFETIME */, 0, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(request(&d, VIRTIO_BLK_T_SECURE_ERASE, 0, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(request(&d, 0xFFFFFFFFu, 0, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert(image_is_pattern(img, 0, IMG_SIZE));
	cr_assert_not(needs_reset(&d));
	drive_down(&d);
	unlink(img);
}

/* Posts `n` descriptors as one chain with a header; expects NEEDS_RESET
 * and no used entry. */
static void expect_bad_chain(const struct seg *s, unsigned n, const char *what)
{
	struct drive d;
	up_rw(&d, NULL);
	put_header(&d, VIRTIO_BLK_T_IN, 0);
	post_chain(&d, s ? s : (struct seg[]){{d.hdr_gpa, 16, false}}, s ? n : 1);
	kick(&d);
	cr_assert_eq(used_idx(&d), 0, "%s: no used buffer", what);
	cr_assert(needs_reset(&d), "%s: the device needs a reset", what);
	cr_assert(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	/* Reset and carry on. */
	wr(&d, VIRTIO_MMIO_STATUS, 0);
	d.next_desc = 0;
	d.last_used = 0;
	memset(d.avail, 0, 6 + 2 * QSIZE);
	memset(d.used, 0, 6 + 8 * QSIZE);
	drive_start(&d, ~0ULL);
	cr_assert_eq(rw(&d, VIRTIO_BLK_T_IN, 0, 0, SECTOR, NULL), VIRTIO_BLK_S_OK, "%s", what);
	drive_down(&d);
	unlink(img);
}

Test(virtio_blk, chain_without_status_needs_reset)
{
	expect_bad_chain(NULL, 0, "header only");
	struct seg s[2] = {{RINGS_GPA + 0x3000, 16, false}, {DATA_GPA, SECTOR, false}};
	expect_bad_chain(s, 2, "no writable descriptor");
}

Test(virtio_blk, short_header_needs_reset)
{
	struct seg s[3] = {{RINGS_GPA + 0x3000, 8, false},
			   {DATA_GPA, SECTOR, true},
			   {RINGS_GPA + 0x3100, 1, true}};
	expect_bad_chain(s, 3, "8-byte header");
	struct seg w[2] = {{DATA_GPA, SECTOR, true}, {RINGS_GPA + 0x3100, 1, true}};
	expect_bad_chain(w, 2, "no readable header");
}

Test(virtio_blk, chain_longer_than_seg_max_needs_reset)
{
	make_image("/tmp", img, sizeof(img), IMG_SIZE);
	struct drive_config c = drive_cfg(img, false, CACHE_WRITEBACK, NULL);
	struct drive d;
	drive_create(&d, &c, 0);
	drive_start(&d, ~0ULL);
	cr_assert(virtio_mmio_features(&d.t) & F_INDIRECT);
	/* seg_max data segments: fine. One more: a guest error. */
	for (unsigned extra = 0; extra < 2; extra++) {
		unsigned ndata = VIRTIO_BLK_SEG_MAX + extra, n = ndata + 2;
		struct vring_desc *table = gv(TABLE_GPA, 16ULL * n);
		put_header(&d, VIRTIO_BLK_T_IN, 0);
		table[0] = (struct vring_desc){d.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
		for (unsigned i = 0; i < ndata; i++)
			table[1 + i] = (struct vring_desc){DATA_GPA + i * SECTOR, SECTOR,
							   VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
							   (uint16_t)(2 + i)};
		table[n - 1] = (struct vring_desc){d.status_gpa, 1, VRING_DESC_F_WRITE, 0};
		d.desc[0] = (struct vring_desc){TABLE_GPA, 16 * n, VRING_DESC_F_INDIRECT, 0};
		uint16_t ai = d.avail->idx;
		d.avail->ring[ai % QSIZE] = 0;
		__atomic_store_n(&d.avail->idx, (uint16_t)(ai + 1), __ATOMIC_RELEASE);
		kick(&d);
		if (extra == 0) {
			struct vring_used_elem u = take_used(&d);
			cr_assert_eq(u.len, ndata * SECTOR + 1);
			cr_assert_eq(*(uint8_t *)gp(d.status_gpa, 1), VIRTIO_BLK_S_OK);
			cr_assert_not(needs_reset(&d));
		} else {
			cr_assert_eq(used_idx(&d), 1);
			cr_assert(needs_reset(&d));
		}
	}
	drive_down(&d);
	unlink(img);
}

Test(virtio_blk, batch_of_requests_one_interrupt)
{
	struct drive d;
	up_rw(&d, NULL);
	uint64_t irqs = atomic_load(&d.t.interrupts);
	for (unsigned i = 0; i < 3; i++) {
		put_header(&d, VIRTIO_BLK_T_IN, i); /* the same header: all read sector 2 */
		struct seg s[3] = {{d.hdr_gpa, 16, false},
				   {DATA_GPA + i * 4096, SECTOR, true},
				   {d.status_gpa + i, 1, true}};
		post_chain(&d, s, 3);
	}
	kick(&d);
	cr_assert_eq(used_idx(&d), 3);
	cr_assert_eq(atomic_load(&d.t.interrupts), irqs + 1, "one interrupt for the batch");
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(*(uint8_t *)gp(d.status_gpa + i, 1), VIRTIO_BLK_S_OK);
		cr_assert_eq(gp(DATA_GPA + i * 4096, 1)[0], pattern(2 * SECTOR));
	}
	/* A spurious kick: nothing happens. */
	kick(&d);
	cr_assert_eq(used_idx(&d), 3);
	cr_assert_eq(atomic_load(&d.t.interrupts), irqs + 1);
	drive_down(&d);
	unlink(img);
}

Test(virtio_blk, several_drives)
{
	char a[128], b[128];
	make_image("/tmp", a, sizeof(a), IMG_SIZE);
	make_image("/tmp", b, sizeof(b), IMG_SIZE / 2);
	struct drive_config ca = drive_cfg(a, false, CACHE_WRITEBACK, "a");
	struct drive_config cb = drive_cfg(b, true, CACHE_WRITEBACK, "b");
	struct drive da, db;
	drive_up(&da, &ca, 0);
	drive_up(&db, &cb, 1);
	cr_assert_eq(cfg64(&da, 0), CAPACITY);
	cr_assert_eq(cfg64(&db, 0), CAPACITY / 2);
	memset(gp(DATA_GPA, SECTOR), 0x77, SECTOR);
	cr_assert_eq(rw(&da, VIRTIO_BLK_T_OUT, 3, 0, SECTOR, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(&db, VIRTIO_BLK_T_OUT, 3, 0, SECTOR, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert(image_is_pattern(b, 0, IMG_SIZE / 2));
	uint8_t buf[SECTOR];
	read_image(a, 3 * SECTOR, buf, SECTOR);
	cr_assert(all_bytes(buf, SECTOR, 0x77));
	struct seg s = {DATA_GPA + 0x1000, 20, true};
	cr_assert_eq(request(&db, VIRTIO_BLK_T_GET_ID, 0, &s, 1, NULL), VIRTIO_BLK_S_OK);
	cr_assert_str_eq((char *)gp(DATA_GPA + 0x1000, 20), "b");
	drive_down(&da);
	drive_down(&db);
	unlink(a);
	unlink(b);
}

Test(virtio_blk, image_lock)
{
	make_image("/tmp", img, sizeof(img), IMG_SIZE);
	char err[PATH_MAX + 200] = "", want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s: in use by another process (flock)", img);
	struct drive_config rwc = drive_cfg(img, false, CACHE_WRITEBACK, NULL);
	struct drive_config roc = drive_cfg(img, true, CACHE_WRITEBACK, NULL);
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
	unlink(img);
}

Test(virtio_blk, open_errors)
{
	char err[PATH_MAX + 200] = "";
	struct drive_config c = drive_cfg("/nonexistent/disk.img", false, CACHE_WRITEBACK, NULL);
	cr_assert_null(virtio_blk_create(&c, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "/nonexistent/disk.img: No such file or directory");
	c = drive_cfg("/tmp", true, CACHE_WRITEBACK, NULL);
	cr_assert_null(virtio_blk_create(&c, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "/tmp: not a regular file or block device");
	c = drive_cfg("/dev/null", true, CACHE_WRITEBACK, NULL);
	cr_assert_null(virtio_blk_create(&c, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "/dev/null: not a regular file or block device");
}

Test(virtio_blk, cache_none_aligned_and_bounced)
{
	make_image("/tmp", img, sizeof(img), IMG_SIZE);
	struct drive_config c = drive_cfg(img, false, CACHE_NONE, NULL);
	char err[PATH_MAX + 200] = "";
	struct virtio_blk *probe = virtio_blk_create(&c, NULL, err, sizeof(err));
	if (!probe) {
		unlink(img);
		cr_skip_test("O_DIRECT not available on /tmp: %s", err);
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
		struct seg w[2] = {{DATA_GPA + 0x200000 + offs[k], 1000, false},
				   {DATA_GPA + 0x200000 + offs[k] + 1000, 4096 - 1000, false}};
		cr_assert_eq(request(&d, VIRTIO_BLK_T_OUT, sector, w, 2, NULL), VIRTIO_BLK_S_OK);
		uint8_t file[4096];
		read_image(img, sector * SECTOR, file, sizeof(file));
		cr_assert_arr_eq(file, src, 4096, "write %u", k);
		uint8_t *dst = gp(DATA_GPA + 0x300000 + offs[k], 4096);
		memset(dst, 0, 4096);
		struct seg r[2] = {{DATA_GPA + 0x300000 + offs[k], 4096 - 24, true},
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
	unlink(img);
}
