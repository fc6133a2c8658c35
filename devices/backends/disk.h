/* disk.h - a disk image for a block device model: a locked host file or
 * block device read and written synchronously (preadv/pwritev, fdatasync,
 * fallocate), with O_DIRECT when asked. The device model (virtio_blk.c)
 * speaks to the image only through this interface, so that another back
 * end (an io_uring one) can replace it without touching the model. */
#ifndef MINNOW_DISK_H
#define MINNOW_DISK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_SECTOR 512u

/* An open image. Fields are read-only outside disk.c. */
struct disk {
	char path[PATH_MAX];
	int fd;			     /* -1: not open */
	bool readonly;		     /* opened O_RDONLY, locked shared */
	bool direct;		     /* O_DIRECT (cache = none) */
	uint32_t mem_align;	     /* O_DIRECT buffer address alignment */
	uint32_t lba_align;	     /* O_DIRECT offset and length alignment */
	uint64_t capacity;	     /* whole 512-byte sectors */
	uint8_t *bounce;	     /* bounce buffer for misaligned O_DIRECT I/O */
	bool zero_range_unsupported; /* fallocate(ZERO_RANGE) said EOPNOTSUPP once */
};

/* Opens `path` (O_DIRECT when `direct`), takes a flock (shared when
 * `readonly`, else exclusive; never waits) and sizes it (a regular file or
 * a block device). Returns 0, or -1 with one line in err naming the path
 * and what is wrong ("in use by another process (flock)", no O_DIRECT on
 * its file system...). Call disk_close() either way. */
int disk_open(struct disk *d, const char *path, bool readonly, bool direct, char *err,
	      size_t errlen);

/* Closes the image (releasing the lock); safe on a disk never opened. */
void disk_close(struct disk *d);

/* The smallest unit of I/O the guest should use: 512, or the O_DIRECT
 * alignment of the file system. */
uint32_t disk_block_size(const struct disk *d);

/* Reads (write false) or writes `len` bytes at byte offset `off` between
 * the image and iov[0 .. n) (consumed: advanced in place). With O_DIRECT,
 * misaligned buffers go through a bounce buffer. Returns 0 or -errno
 * (-EIO when the image ends early, -EINVAL for an O_DIRECT offset or length
 * that is not aligned). */
int disk_rw(struct disk *d, bool write, struct iovec *iov, unsigned n, uint64_t len, uint64_t off);

/* Whether iov[0 .. n) (`len` bytes at byte offset `off`) can go to the
 * image as they are, without disk_rw()'s bounce buffer: always without
 * O_DIRECT, else when every buffer and the offset and length are aligned
 * as O_DIRECT wants. An asynchronous back end (disk_uring.h) takes only
 * such requests and leaves the others to disk_rw(). */
bool disk_direct_ok(const struct disk *d, const struct iovec *iov, unsigned n, uint64_t len,
		    uint64_t off);

/* Deallocates [off, off + len); a no-op where holes cannot be punched.
 * Returns 0 or -errno. */
int disk_discard(struct disk *d, uint64_t off, uint64_t len);

/* Makes [off, off + len) read as zeros: by punching a hole when `unmap`
 * allows it, else ZERO_RANGE, else writing zeros. Returns 0 or -errno. */
int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap);

/* Makes what was written durable (fdatasync; nothing when read-only).
 * Returns 0 or -errno, and only once fdatasync() has returned: the caller
 * may then tell the guest that its writes are on stable storage. */
int disk_flush(struct disk *d);

/* Whether the image is now shorter than the capacity it was opened with
 * (someone truncated it under the running VM); its size now in *bytes. False
 * when it is not, or its size cannot be read. */
bool disk_shrunk(const struct disk *d, uint64_t *bytes);

#endif
