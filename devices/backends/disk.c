/* disk.c - the synchronous file back end of a block device (disk.h). */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define BOUNCE_SIZE    (1u << 20)  /* O_DIRECT bounce buffer for misaligned guest buffers */
#define ZERO_BUF_SIZE  (64u << 10) /* also the largest O_DIRECT offset alignment taken */
#define ZERO_BUF_ALIGN 4096u

/* Never written: the source of zeros when ZERO_RANGE is not supported. */
static uint8_t zero_buf[ZERO_BUF_SIZE] __attribute__((aligned(ZERO_BUF_ALIGN)));

/* ---- Host I/O --------------------------------------------------------------------- */

/* Transfers all of iov[0 .. n) at `off`, retrying short transfers and
 * EINTR. Consumes `iov` (it is advanced in place). Returns 0 or -errno;
 * -EIO when the file ends early. */
static int full_rw(int fd, bool write, struct iovec *iov, unsigned n, uint64_t off)
{
	while (n > 0) {
		if (iov->iov_len == 0) {
			iov++;
			n--;
			continue;
		}
		ssize_t r = write ? pwritev(fd, iov, (int)n, (off_t)off)
				  : preadv(fd, iov, (int)n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		size_t done = (size_t)r;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Whether O_DIRECT can take these buffers as they are. */
static bool iov_aligned(const struct disk *d, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if ((uintptr_t)iov[i].iov_base % d->mem_align || iov[i].iov_len % d->lba_align)
			return false;
	}
	return true;
}

/* Copies between a flat buffer and the iovecs, starting `pos` bytes into
 * the iovecs; the caller keeps pos + len within their total. */
bool disk_direct_ok(const struct disk *d, const struct iovec *iov, unsigned n, uint64_t len,
		    uint64_t off)
{
	if (!d->direct)
		return true;
	return off % d->lba_align == 0 && len % d->lba_align == 0 && iov_aligned(d, iov, n);
}

static void iov_copy(const struct iovec *iov, unsigned n, uint64_t pos, uint8_t *buf, size_t len,
		     bool to_iov)
{
	for (unsigned i = 0; i < n && len > 0; i++) {
		if (pos >= iov[i].iov_len) {
			pos -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - pos < len ? iov[i].iov_len - pos : len;
		uint8_t *p = (uint8_t *)iov[i].iov_base + pos;
		if (to_iov)
			memcpy(p, buf, k);
		else
			memcpy(buf, p, k);
		buf += k;
		len -= k;
		pos = 0;
	}
}

/* Reads or writes `len` bytes at byte offset `off` between the image and
 * the iovecs (which may be consumed). With O_DIRECT, misaligned guest
 * buffers go through the bounce buffer, BOUNCE_SIZE bytes at a time. */
int disk_rw(struct disk *d, bool write, struct iovec *iov, unsigned n, uint64_t len, uint64_t off)
{
	if (!d->direct || iov_aligned(d, iov, n))
		return full_rw(d->fd, write, iov, n, off);
	if (off % d->lba_align || len % d->lba_align)
		return -EINVAL;
	for (uint64_t done = 0; done < len;) {
		size_t k = len - done < BOUNCE_SIZE ? (size_t)(len - done) : BOUNCE_SIZE;
		struct iovec b = {d->bounce, k};
		if (write)
			iov_copy(iov, n, done, d->bounce, k, false);
		int r = full_rw(d->fd, write, &b, 1, off + done);
		if (r < 0)
			return r;
		if (!write)
			iov_copy(iov, n, done, d->bounce, k, true);
		done += k;
	}
	return 0;
}

/* Writes zeros over [off, off + len) with pwrite. */
static int write_zeros(struct disk *d, uint64_t off, uint64_t len)
{
	while (len > 0) {
		size_t k = len < ZERO_BUF_SIZE ? (size_t)len : ZERO_BUF_SIZE;
		struct iovec z = {zero_buf, k};
		int r = full_rw(d->fd, true, &z, 1, off);
		if (r < 0)
			return r;
		off += k;
		len -= k;
	}
	return 0;
}

static int do_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	int r;
	do
		r = fallocate(fd, mode, (off_t)off, (off_t)len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static bool not_supported(int r)
{
	return r == -EOPNOTSUPP || r == -ENOSYS;
}

/* Deallocates [off, off + len); a file system that cannot punch holes
 * makes it a no-op, which a discard may be. */
int disk_discard(struct disk *d, uint64_t off, uint64_t len)
{
	int r = do_fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	return not_supported(r) ? 0 : r;
}

/* Makes [off, off + len) read as zeros: punching a hole when the driver
 * allows unmapping, else (or when that fails as unsupported) ZERO_RANGE,
 * else writing zeros. */
int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap)
{
	if (unmap) {
		int r = do_fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
		if (!not_supported(r))
			return r;
	}
	if (!d->zero_range_unsupported) {
		int r = do_fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
		if (!not_supported(r))
			return r;
		d->zero_range_unsupported = true;
	}
	return write_zeros(d, off, len);
}

int disk_flush(struct disk *d)
{
	if (d->readonly)
		return 0;
	int r;
	do
		r = fdatasync(d->fd);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

bool disk_shrunk(const struct disk *d, uint64_t *bytes)
{
	struct stat st;
	if (d->fd < 0 || fstat(d->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	*bytes = (uint64_t)st.st_size;
	return *bytes < d->capacity * DISK_SECTOR;
}

static bool pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

/* The O_DIRECT alignment of the open image: statx(STATX_DIOALIGN) where
 * the kernel knows it, else 512. Returns 0 or -errno (-EINVAL: the file
 * does not support direct I/O, or wants alignments this device cannot
 * meet). */
static int direct_alignment(struct disk *d)
{
	struct statx stx;
	d->mem_align = DISK_SECTOR;
	d->lba_align = DISK_SECTOR;
	if (statx(d->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0 ||
	    !(stx.stx_mask & STATX_DIOALIGN))
		return 0;
	if (stx.stx_dio_offset_align == 0)
		return -EINVAL;
	if (stx.stx_dio_mem_align > d->mem_align)
		d->mem_align = stx.stx_dio_mem_align;
	if (stx.stx_dio_offset_align > d->lba_align)
		d->lba_align = stx.stx_dio_offset_align;
	if (!pow2_in(d->mem_align, 1, ZERO_BUF_ALIGN) ||
	    !pow2_in(d->lba_align, DISK_SECTOR, ZERO_BUF_SIZE))
		return -EINVAL;
	return 0;
}

/* Size of the image in bytes: st_size for a file, BLKGETSIZE64 for a
 * block device. */
static int image_size(struct disk *d, uint64_t *size)
{
	struct stat st;
	if (fstat(d->fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return -ENODEV;
	if (ioctl(d->fd, BLKGETSIZE64, size) < 0)
		return -errno;
	return 0;
}

/* Opens, locks and sizes the image. Returns 0, or -1 with err filled. */
static int open_image(struct disk *d, char *err, size_t errlen)
{
	int flags = (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY;
	d->fd = open(d->path, flags | (d->direct ? O_DIRECT : 0));
	if (d->fd < 0 && errno == EINVAL && d->direct) {
		snprintf(err, errlen,
			 "%s: cannot be opened with O_DIRECT for cache = none (its file system "
			 "does not support direct I/O, e.g. tmpfs): %s",
			 d->path, strerror(EINVAL));
		return -1;
	}
	if (d->fd < 0) {
		snprintf(err, errlen, "%s: %s", d->path, strerror(errno));
		return -1;
	}
	if (flock(d->fd, (d->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "%s: in use by another process (flock)", d->path);
		else
			snprintf(err, errlen, "%s: flock: %s", d->path, strerror(errno));
		return -1;
	}
	uint64_t size = 0;
	int r = image_size(d, &size);
	if (r == -ENODEV) {
		snprintf(err, errlen, "%s: not a regular file or block device", d->path);
		return -1;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", d->path, strerror(-r));
		return -1;
	}
	d->capacity = size / DISK_SECTOR;
	if (size % DISK_SECTOR)
		log_error("%s: size %llu is not a multiple of 512 bytes: the guest sees %llu "
			  "sectors, the last %llu bytes are left out",
			  d->path, (unsigned long long)size, (unsigned long long)d->capacity,
			  (unsigned long long)(size % DISK_SECTOR));
	if (d->direct) {
		r = direct_alignment(d);
		if (r < 0) {
			snprintf(err, errlen,
				 "%s: direct I/O (cache = none) is not supported there, or needs "
				 "an alignment minnow cannot meet",
				 d->path);
			return -1;
		}
		if (posix_memalign((void **)&d->bounce, d->mem_align, BOUNCE_SIZE)) {
			d->bounce = NULL;
			snprintf(err, errlen, "%s: %s", d->path, strerror(ENOMEM));
			return -1;
		}
	}
	return 0;
}

int disk_open(struct disk *d, const char *path, bool readonly, bool direct, char *err,
	      size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->readonly = readonly;
	d->direct = direct;
	return open_image(d, err, errlen);
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	free(d->bounce);
	d->bounce = NULL;
}

uint32_t disk_block_size(const struct disk *d)
{
	return d->direct ? d->lba_align : DISK_SECTOR;
}
