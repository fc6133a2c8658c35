/* test_disk_uring.c - a drive's io_uring on its own: reads and writes of the
 * image through it, and its lock-down: a request on a file that is not the
 * registered image, an opcode other than READV/WRITEV (WRITEV on a
 * read-only image) and any further registration are refused by the kernel.
 * Skipped where io_uring is not built in or the host forbids it. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "disk_uring.h"
#include "test_util.h"

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#define IMG_SIZE (1u << 20)

static char dir[256], img[300];

static void setup(void)
{
	make_tmp_image(dir, sizeof(dir), img, sizeof(img), "uring", IMG_SIZE);
}

static void teardown(void)
{
	remove_tmp_dir(dir);
}

TestSuite(disk_uring, .init = setup, .fini = teardown);

/* Opens the image and its ring, or skips the test when the host has none. */
static void open_both(struct disk *d, struct disk_uring *u, bool readonly)
{
	char err[512];
	cr_assert_eq(disk_open(d, img, readonly, false, err, sizeof(err)), 0, "%s", err);
	int r = disk_uring_open(u, d, 8);
	if (r == -ENOSYS || r == -EPERM) {
		disk_close(d);
		cr_skip_test("no io_uring here: %s", strerror(-r));
	}
	cr_assert_eq(r, 0, "disk_uring_open: %s", strerror(-r));
	cr_assert_geq(u->ring_fd, 0);
}

/* Waits (up to 2 s) for one completion. */
static int wait_one(struct disk_uring *u, uint64_t *tag)
{
	int res = 0;
	cr_assert(WAIT_UNTIL(disk_uring_reap(u, tag, &res), 2000), "no completion");
	return res;
}

Test(disk_uring, write_then_read_back)
{
	struct disk d;
	struct disk_uring u;
	open_both(&d, &u, false);
	uint8_t a[1024], b[3072], back[4096];
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	struct iovec w[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	cr_assert(disk_uring_queue_rw(&u, true, w, 2, 8192, 7));
	cr_assert_eq(disk_uring_submit(&u), 1);
	uint64_t tag = 0;
	cr_assert_eq(wait_one(&u, &tag), 4096);
	cr_assert_eq(tag, 7);
	struct iovec r = {back, sizeof(back)};
	cr_assert(disk_uring_queue_rw(&u, false, &r, 1, 8192, 9));
	cr_assert_eq(disk_uring_submit(&u), 1);
	cr_assert_eq(wait_one(&u, &tag), 4096);
	cr_assert_eq(tag, 9);
	cr_assert(all_bytes(back, 1024, 0x11) && all_bytes(back + 1024, 3072, 0x22));
	disk_uring_close(&u);
	disk_uring_close(&u); /* twice is fine */
	disk_close(&d);
}

#ifdef HAVE_LIBURING
/* Submits one raw SQE on the drive's ring and returns its result. */
static int raw_request(struct disk_uring *u, void (*prep)(struct io_uring_sqe *, void *), void *arg)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(u->ring);
	cr_assert_not_null(sqe);
	prep(sqe, arg);
	sqe->user_data = 42;
	int r = io_uring_submit(u->ring);
	if (r < 0)
		return r;
	uint64_t tag = 0;
	int res = wait_one(u, &tag);
	cr_assert_eq(tag, 42);
	return res;
}

static uint8_t buf[4096];
static struct iovec buf_iov = {buf, sizeof(buf)};

/* A readv of the image by its plain fd: not a fixed file. */
static void prep_plain_fd(struct io_uring_sqe *sqe, void *arg)
{
	io_uring_prep_readv(sqe, *(int *)arg, &buf_iov, 1, 0);
}

/* A readv of fixed file 0 (the image): allowed. */
static void prep_fixed(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_readv(sqe, 0, &buf_iov, 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
}

/* Opening a file through the ring. */
static void prep_openat(struct io_uring_sqe *sqe, void *arg)
{
	io_uring_prep_openat(sqe, AT_FDCWD, (const char *)arg, O_RDONLY, 0);
}

/* An fsync of the image as fixed file 0: not one of the allowed opcodes. */
static void prep_fsync(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	sqe->flags |= IOSQE_FIXED_FILE;
}

/* A writev of fixed file 0. */
static void prep_write(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_writev(sqe, 0, &buf_iov, 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
}

/* A fixed-file readv that also asks to drain: a flag not allowed. */
static void prep_drain(struct io_uring_sqe *sqe, void *arg)
{
	prep_fixed(sqe, arg);
	sqe->flags |= IOSQE_IO_DRAIN;
}

Test(disk_uring, restrictions_refuse_other_files_opcodes_and_registrations)
{
	struct disk d;
	struct disk_uring u;
	open_both(&d, &u, false);
	cr_expect_eq(raw_request(&u, prep_fixed, NULL), (int)sizeof(buf), "the image, fixed");
	cr_expect_eq(raw_request(&u, prep_plain_fd, &d.fd), -EACCES, "a plain fd");
	cr_expect_eq(raw_request(&u, prep_openat, "/etc/passwd"), -EACCES, "openat");
	cr_expect_eq(raw_request(&u, prep_fsync, NULL), -EACCES, "fsync");
	cr_expect_eq(raw_request(&u, prep_drain, NULL), -EACCES, "IOSQE_IO_DRAIN");
	cr_expect_eq(raw_request(&u, prep_write, NULL), (int)sizeof(buf), "writev");
	/* No registration after the lock-down: another file, or the ring's
	 * restrictions again. */
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_expect_eq(io_uring_register_files_update(u.ring, 0, &fd, 1), -EACCES);
	struct io_uring_restriction res = {.opcode = IORING_RESTRICTION_SQE_OP,
					   .sqe_op = IORING_OP_OPENAT};
	cr_expect_lt(io_uring_register_restrictions(u.ring, &res, 1), 0);
	close(fd);
	disk_uring_close(&u);
	disk_close(&d);
}

Test(disk_uring, read_only_image_refuses_writev)
{
	struct disk d;
	struct disk_uring u;
	open_both(&d, &u, true);
	cr_expect_eq(raw_request(&u, prep_fixed, NULL), (int)sizeof(buf));
	cr_expect_eq(raw_request(&u, prep_write, NULL), -EACCES);
	disk_uring_close(&u);
	disk_close(&d);
}
#endif
