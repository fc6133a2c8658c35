/* virtiofsd.h - runs a virtiofsd (the C one of QEMU 7.2, Debian's
 * qemu-system-common: /usr/lib/qemu/virtiofsd) for one virtio-fs device,
 * and stops it.
 *
 * minnow makes the vhost-user connection itself before the daemon runs: a
 * listening Unix socket with an abstract, kernel-chosen name (no file, no
 * race with another minnow), connected at once, the listening end handed
 * to virtiofsd as --fd (it accepts the connection waiting there). The
 * daemon's own messages go to a memfd that virtiofsd_tail() reads when it
 * fails, so that CMD's stderr under minnow exec stays CMD's alone.
 *
 * Sandbox: virtiofsd's default, -o sandbox=namespace (new mount, pid and
 * net namespaces, pivot_root into the directory), except where "/" is the
 * initial ramfs, on which pivot_root fails: there -o sandbox=chroot. As a
 * user other than root, the daemon runs in a user namespace of its own in
 * which that user is root (the files it creates belong to the user), with
 * --rlimit-nofile=0 (it cannot raise the hard limit there). A read-only
 * share is a read-only bind mount of the directory in a mount namespace of
 * the daemon's: a guest's write fails with EROFS whatever it mounts. */
#ifndef MINNOW_VIRTIOFSD_H
#define MINNOW_VIRTIOFSD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct virtiofsd_options {
	const char *path;  /* the daemon */
	const char *dir;   /* -o source= */
	const char *cache; /* -o cache=: auto | always | none */
	bool readonly;
	bool debug; /* its messages to minnow's stderr instead of the memfd */
};

struct virtiofsd {
	pid_t pid;  /* 0: not running */
	int log_fd; /* memfd with its stderr; -1: none */
};

/* Starts the daemon. Returns the connected vhost-user socket (close-on-exec), or -errno with
 * one line in err. */
int virtiofsd_start(struct virtiofsd *d, const struct virtiofsd_options *o, char *err,
		    size_t errlen);

/* The last non-empty line the daemon wrote, or "" (for a failure message). */
void virtiofsd_tail(const struct virtiofsd *d, char *out, size_t n);

/* Waits up to timeout_ms for the daemon to exit (it does once its vhost-user connection is
 * closed: close that first), then kills it. Returns its wait status, or -1 when it had to be
 * killed or was not running. Safe twice. */
int virtiofsd_stop(struct virtiofsd *d, int timeout_ms);

#endif
