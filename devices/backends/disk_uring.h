/* disk_uring.h - an io_uring for one disk image (disk.h): many reads and
 * writes in flight at once, submitted and reaped by the drive's own thread.
 *
 * The ring is locked down before it is used, since io_uring's requests
 * bypass seccomp: it is created disabled (IORING_SETUP_R_DISABLED), the
 * image is its only file (registered as fixed file 0), and its
 * restrictions (IORING_REGISTER_RESTRICTIONS) allow only READV and, for a
 * writable image, WRITEV, on fixed files only (IOSQE_FIXED_FILE required,
 * no other SQE flag), its kernel workers capped (DISK_URING_THREADS),
 * and no further io_uring_register() call but
 * IORING_UNREGISTER_FILES (at close); then it is enabled. A hijacked drive thread can read and
 * write its own image through the ring and nothing else.
 *
 * Without liburing at build time (no HAVE_LIBURING) disk_uring_open()
 * fails with -ENOSYS and the drive serves requests synchronously. */
#ifndef MINNOW_DISK_URING_H
#define MINNOW_DISK_URING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "disk.h"

struct io_uring; /* <liburing.h> */

/* The most kernel worker threads (io-wq) a drive's ring may start for
 * requests that cannot complete at once: bounded (file I/O) and unbounded.
 * They are threads of minnow's process and count against RLIMIT_NPROC
 * (the jail's nproc). */
#define DISK_URING_BOUNDED_WORKERS   4
#define DISK_URING_UNBOUNDED_WORKERS 1
#define DISK_URING_THREADS	     (DISK_URING_BOUNDED_WORKERS + DISK_URING_UNBOUNDED_WORKERS)

struct disk_uring {
	struct io_uring *ring; /* NULL: not open */
	int ring_fd;	       /* the ring's fd, readable (poll) while completions wait */
	unsigned queued;       /* SQEs prepared and not yet submitted */
	bool files;	       /* the image is registered */
};

/* Whether this build has io_uring support (liburing). */
bool disk_uring_built(void);

/* Sets up a restricted ring of `entries` (a power of two, >= the most
 * requests ever in flight) for the open image `d`, as described above.
 * Returns 0, or -errno with nothing left open: -ENOSYS without liburing
 * (or a kernel without io_uring), -EPERM where io_uring is forbidden
 * (sysctl kernel.io_uring_disabled, a container's seccomp profile), -EINVAL
 * for a kernel without ring restrictions (before 5.10). */
int disk_uring_open(struct disk_uring *u, const struct disk *d, unsigned entries);

/* Unregisters the image: the ring lets go of it at once (and so of its
 * flock, which then goes with the disk's own fd), rather than when the
 * kernel frees the ring, later. The only io_uring_register() call the ring
 * allows; the drive's thread makes it as it ends (its seccomp filter allows
 * that call with that opcode only). Safe to repeat. */
void disk_uring_release(struct disk_uring *u);

/* disk_uring_release() if not done yet, then frees the ring; safe on one
 * never opened or already closed. Requests still in flight are waited for
 * by the kernel, not by this call: reap them first. */
void disk_uring_close(struct disk_uring *u);

/* Prepares a readv (write false) or writev of iov[0 .. n) at byte offset
 * `off` of the image, tagged with `tag`. iov must stay valid until the
 * request completes. Returns false when the submission queue is full
 * (submit first). */
bool disk_uring_queue_rw(struct disk_uring *u, bool write, const struct iovec *iov, unsigned n,
			 uint64_t off, uint64_t tag);

/* Hands every prepared request to the kernel (io_uring_enter). Returns the
 * number submitted, or -errno (those requests stay prepared; -EBUSY/-EAGAIN:
 * retry after reaping). */
int disk_uring_submit(struct disk_uring *u);

/* Whether a completion is waiting (no system call). */
bool disk_uring_ready(struct disk_uring *u);

/* Takes one completion without waiting: true with its tag and result (the
 * bytes moved, or -errno), false when none is waiting. */
bool disk_uring_reap(struct disk_uring *u, uint64_t *tag, int *res);

#endif
