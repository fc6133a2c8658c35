/* unix_listener.c - listening Unix sockets at a path (unix_listener.h). */
#include "unix_listener.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* 0 when something accepts connections at `a`, else -errno. */
static int probe(const struct sockaddr_un *a)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	int r = connect(s, (const struct sockaddr *)a, sizeof(*a)) == 0 ? 0 : -errno;
	close(s);
	return r;
}

int unix_listener_open(struct unix_listener *l, const char *path, mode_t mode, char *err,
		       size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	l->fd = -1;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "%s: too long for a unix socket (%zu bytes, at most %zu)",
			 path, strlen(path), sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket", path);
			return -EEXIST;
		}
		int r = probe(&a);
		if (r == 0 || r == -EAGAIN) {
			snprintf(err, errlen, "%s: in use by a running listener (another VM?)",
				 path);
			return -EADDRINUSE;
		}
		if (r == -ECONNREFUSED && unlink(path) != 0 && errno != ENOENT) {
			r = -errno;
			snprintf(err, errlen, "%s: cannot remove the stale socket: %s", path,
				 strerror(-r));
			return r;
		}
	}
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* The umask decides the mode bind() gives: narrow it for the call. */
	mode_t old = mode ? umask(~mode & 0777) : 0;
	int bound = l->fd < 0 ? -1 : bind(l->fd, (struct sockaddr *)&a, sizeof(a));
	int bind_errno = errno;
	if (mode)
		umask(old);
	errno = bind_errno;
	if (l->fd < 0 || bound != 0 || listen(l->fd, 64) != 0 || stat(path, &st) != 0) {
		int r = -errno;
		snprintf(err, errlen, "%s: cannot listen: %s", path, strerror(-r));
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		return r;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

void unix_listener_remove(const struct unix_listener *l, const char *path)
{
	struct stat st;
	if (l->ino && stat(path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(path);
}
