/* unix_listener.h - a listening Unix stream socket at a path: made so
 * that a stale socket file left by a dead process is replaced while one a
 * live process listens on is refused, and removed at the end only while
 * the path still names this socket. Used by the control socket and by
 * virtio-vsock's host side. */
#ifndef MINNOW_UNIX_LISTENER_H
#define MINNOW_UNIX_LISTENER_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct unix_listener {
	int fd;	   /* listening, non-blocking, close-on-exec; -1: none */
	dev_t dev; /* the socket file's identity, for unix_listener_remove() */
	ino_t ino;
};

/* Binds and listens on `path` (backlog 64), with file mode `mode` (0: as
 * the umask leaves it). A socket file nobody listens on is replaced; a
 * path that is not a socket, or one a process listens on, is refused.
 * Returns 0, or -errno with a one-line reason naming the path in err. */
int unix_listener_open(struct unix_listener *l, const char *path, mode_t mode, char *err,
		       size_t errlen);

/* Removes `path` if it still names l's socket (another process may have
 * replaced it). Does not close l->fd. */
void unix_listener_remove(const struct unix_listener *l, const char *path);

#endif
