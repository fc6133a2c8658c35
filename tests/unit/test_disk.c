/* test_disk.c - the block back end on its own: data round trips through
 * scattered buffers, zeroing and discarding, the lock, and one clear line
 * for each image that cannot be used. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "test_util.h"

#define IMG_SIZE (1u << 20)

static char dir[256], img[300];

static void setup(void)
{
	make_tmp_image(dir, sizeof(dir), img, sizeof(img), "disk", IMG_SIZE);
}

static void teardown(void)
{
	remove_tmp_dir(dir);
}

TestSuite(disk, .init = setup, .fini = teardown);

Test(disk, round_trip_through_scattered_buffers)
{
	struct disk d;
	char err[512];
	cr_assert_eq(disk_open(&d, img, false, false, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(d.capacity, IMG_SIZE / DISK_SECTOR);
	cr_expect_eq(disk_block_size(&d), DISK_SECTOR);
	uint8_t a[700], b[324], back[1024];
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 13 + 1);
	struct iovec w[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	cr_assert_eq(disk_rw(&d, true, w, 2, 1024, 4096), 0);
	struct iovec r = {back, sizeof(back)};
	cr_assert_eq(disk_rw(&d, false, &r, 1, 1024, 4096), 0);
	cr_expect_eq(memcmp(back, a, sizeof(a)), 0);
	cr_expect_eq(memcmp(back + sizeof(a), b, sizeof(b)), 0);
	cr_expect_eq(disk_flush(&d), 0);

	/* Past the end: the image ends early. */
	r = (struct iovec){back, 512};
	cr_expect_eq(disk_rw(&d, false, &r, 1, 512, IMG_SIZE), -EIO);
	disk_close(&d);
}

struct zero_case {
	const char *name;
	bool discard, unmap;
};

static const struct zero_case zero_cases[] = {
    {"write zeroes, may unmap", false, true},
    {"write zeroes, no unmap", false, false},
    {"discard", true, false},
};

TABLE_TEST(disk, zeroes_and_discard, zero_cases, c)
{
	struct disk d;
	char err[512];
	cr_assert_eq(disk_open(&d, img, false, false, err, sizeof(err)), 0, "%s", err);
	uint8_t buf[8192];
	memset(buf, 0xa5, sizeof(buf));
	struct iovec w = {buf, sizeof(buf)};
	cr_assert_eq(disk_rw(&d, true, &w, 1, sizeof(buf), 0), 0);
	int r = c->discard ? disk_discard(&d, 0, 4096) : disk_write_zeroes(&d, 0, 4096, c->unmap);
	cr_assert_eq(r, 0, "%s: %s", c->name, strerror(-r));
	struct iovec rd = {buf, sizeof(buf)};
	cr_assert_eq(disk_rw(&d, false, &rd, 1, sizeof(buf), 0), 0);
	if (!c->discard) /* a discard may leave the data */
		for (size_t i = 0; i < 4096; i++)
			cr_assert_eq(buf[i], 0, "%s: byte %zu", c->name, i);
	for (size_t i = 4096; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xa5, "%s: byte %zu beyond the range changed", c->name, i);
	disk_close(&d);
}

Test(disk, the_lock)
{
	struct disk d, e;
	char err[512];
	cr_assert_eq(disk_open(&d, img, false, false, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(disk_open(&e, img, true, false, err, sizeof(err)), -1);
	cr_expect(strstr(err, "in use by another process (flock)") && strstr(err, img), "%s", err);
	disk_close(&e);
	disk_close(&d);
	/* Read-only users share it. */
	cr_assert_eq(disk_open(&d, img, true, false, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(disk_open(&e, img, true, false, err, sizeof(err)), 0, "%s", err);
	disk_close(&e);
	disk_close(&d);
}

struct bad_case {
	const char *name, *path, *want;
};

static const struct bad_case bad_cases[] = {
    {"missing", "/nonexistent/minnow-image", "/nonexistent/minnow-image: No such file"},
    {"character device", "/dev/null", "/dev/null: not a regular file or block device"},
    {"directory", "/", "/: Is a directory"},
};

TABLE_TEST(disk, unusable_images_get_one_line, bad_cases, c)
{
	struct disk d;
	char err[512] = "";
	cr_expect_eq(disk_open(&d, c->path, false, false, err, sizeof(err)), -1, "%s", c->name);
	cr_expect(strstr(err, c->want) && !strchr(err, '\n'), "%s: '%s'", c->name, err);
	disk_close(&d);
}
