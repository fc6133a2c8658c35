/* jail_binds.h - which host files and directories a jailed VM sees, and how: computed
 * from the configuration alone (no file system access), so that it can be tested. */
#ifndef MINNOW_JAIL_BINDS_H
#define MINNOW_JAIL_BINDS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define JAIL_MAX_BINDS (4 + CONFIG_MAX_DRIVES)

/* One bind mount: the host path, mounted at the same path inside the jail. */
struct jail_bind {
	char path[PATH_MAX]; /* absolute, normalised: no ".", "..", "//" or trailing '/' */
	bool dir;	     /* a directory (else a file, device node or socket) */
	bool rw;	     /* writable (else read-only) */
	const char *what;    /* what uses it, for messages: "[drive.NAME] path", ... */
};

struct jail_binds {
	struct jail_bind b[JAIL_MAX_BINDS];
	size_t n;
	char names[JAIL_MAX_BINDS][CONFIG_NAME_MAX + 24]; /* storage of `what` */
};

/* `path` made absolute against `cwd` (when relative) and normalised lexically
 * (".", ".." and repeated '/' removed; ".." at / stays at /) into out (PATH_MAX bytes).
 * Returns 0 or -1 when it does not fit. */
int jail_abspath(const char *cwd, const char *path, char *out);

/* The binds of `cfg` with relative paths taken against `cwd`: the kernel and initrd
 * (read-only), each drive (read-only unless it is writable), the console and vconsole
 * output files (read-write) or vconsole socket (read-only), and the directory of the
 * vsock socket (read-only; where minnow connects to "uds_path_PORT" while the VM runs).
 * One entry per path (writable if any user writes it), sorted so that a directory
 * comes before what is under it. Returns 0, or -1 with a one-line reason in err (a
 * path too long, one path used as a file and as a directory, a directory that is /). */
int jail_binds_compute(const struct vm_config *cfg, const char *cwd, struct jail_binds *out,
		       char *err, size_t errlen);

#endif
