/* disk_uring.c - the restricted io_uring of one disk image (disk_uring.h). */
#include "disk_uring.h"

#include <errno.h>
#include <stdlib.h>

#ifdef HAVE_LIBURING
#include <liburing.h>

bool disk_uring_built(void)
{
	return true;
}

/* Allows READV (and WRITEV for a writable image) on fixed files only, and
 * no registration after this but the unregistering of the files (so that
 * closing lets go of the image, and its lock, at once: the ring itself is
 * freed by the kernel later). */
static int restrict_ring(struct io_uring *ring, bool writable)
{
	struct io_uring_restriction res[5] = {
	    {.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV},
	    {.opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE},
	    {.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = 0},
	    {.opcode = IORING_RESTRICTION_REGISTER_OP, .register_op = IORING_UNREGISTER_FILES},
	    {.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV},
	};
	return io_uring_register_restrictions(ring, res, writable ? 5 : 4);
}

int disk_uring_open(struct disk_uring *u, const struct disk *d, unsigned entries)
{
	u->ring = NULL;
	u->ring_fd = -1;
	u->queued = 0;
	u->files = false;
	struct io_uring *ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	struct io_uring_params p = {.flags = IORING_SETUP_R_DISABLED};
	int r = io_uring_queue_init_params(entries, ring, &p);
	if (r < 0) {
		free(ring);
		return r;
	}
	/* A kernel without the cap (before 5.15) has its own, per CPU. */
	unsigned workers[2] = {DISK_URING_BOUNDED_WORKERS, DISK_URING_UNBOUNDED_WORKERS};
	(void)io_uring_register_iowq_max_workers(ring, workers);
	int fd = d->fd;
	r = io_uring_register_files(ring, &fd, 1);
	if (r == 0)
		r = restrict_ring(ring, !d->readonly);
	if (r == 0)
		r = io_uring_enable_rings(ring);
	if (r < 0) {
		io_uring_queue_exit(ring);
		free(ring);
		return r;
	}
	u->ring = ring;
	u->ring_fd = ring->ring_fd;
	u->files = true;
	return 0;
}

void disk_uring_release(struct disk_uring *u)
{
	if (u->ring && u->files)
		(void)io_uring_unregister_files(u->ring);
	u->files = false;
}

void disk_uring_close(struct disk_uring *u)
{
	if (!u->ring)
		return;
	disk_uring_release(u);
	io_uring_queue_exit(u->ring);
	free(u->ring);
	u->ring = NULL;
	u->ring_fd = -1;
	u->queued = 0;
}

bool disk_uring_queue_rw(struct disk_uring *u, bool write, const struct iovec *iov, unsigned n,
			 uint64_t off, uint64_t tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(u->ring);
	if (!sqe)
		return false;
	if (write)
		io_uring_prep_writev(sqe, 0, iov, n, off);
	else
		io_uring_prep_readv(sqe, 0, iov, n, off);
	sqe->flags |= IOSQE_FIXED_FILE; /* file 0: the image */
	sqe->user_data = tag;
	u->queued++;
	return true;
}

int disk_uring_submit(struct disk_uring *u)
{
	if (u->queued == 0)
		return 0;
	int r = io_uring_submit(u->ring);
	if (r > 0)
		u->queued -= (unsigned)r < u->queued ? (unsigned)r : u->queued;
	return r;
}

bool disk_uring_ready(struct disk_uring *u)
{
	return io_uring_cq_ready(u->ring) > 0;
}

bool disk_uring_reap(struct disk_uring *u, uint64_t *tag, int *res)
{
	struct io_uring_cqe *cqe = NULL;
	if (io_uring_peek_cqe(u->ring, &cqe) != 0 || !cqe)
		return false;
	*tag = cqe->user_data;
	*res = cqe->res;
	io_uring_cqe_seen(u->ring, cqe);
	return true;
}

#else /* !HAVE_LIBURING */

bool disk_uring_built(void)
{
	return false;
}

int disk_uring_open(struct disk_uring *u, const struct disk *d, unsigned entries)
{
	(void)d;
	(void)entries;
	u->ring = NULL;
	u->ring_fd = -1;
	u->queued = 0;
	u->files = false;
	return -ENOSYS;
}

void disk_uring_release(struct disk_uring *u)
{
	(void)u;
}

void disk_uring_close(struct disk_uring *u)
{
	(void)u;
}

bool disk_uring_queue_rw(struct disk_uring *u, bool write, const struct iovec *iov, unsigned n,
			 uint64_t off, uint64_t tag)
{
	(void)u, (void)write, (void)iov, (void)n, (void)off, (void)tag;
	return false;
}

int disk_uring_submit(struct disk_uring *u)
{
	(void)u;
	return -ENOSYS;
}

bool disk_uring_ready(struct disk_uring *u)
{
	(void)u;
	return false;
}

bool disk_uring_reap(struct disk_uring *u, uint64_t *tag, int *res)
{
	(void)u, (void)tag, (void)res;
	return false;
}

#endif
