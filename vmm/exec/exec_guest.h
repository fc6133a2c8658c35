/* exec_guest.h - the guest `minnow exec` boots when no CONFIG names one:
 * the host's newest Debian cloud kernel and an initrd with minnow-init,
 * built once by firmware/mkinitrd.sh and cached under
 * ${XDG_CACHE_HOME:-~/.cache}/minnow/exec/, keyed by what goes into it. */
#ifndef MINNOW_EXEC_GUEST_H
#define MINNOW_EXEC_GUEST_H

#include <limits.h>
#include <stddef.h>

/* The newest /boot/vmlinuz-*-cloud-amd64 (version order) into out.
 * Returns 0, or -1 with one line in err naming the package to install. */
int exec_default_kernel(char *out, size_t n, char *err, size_t errlen);

/* The kernel version of a kernel file named vmlinuz-KVER (any directory)
 * into out. Returns 0, or -1 when the name does not say it. */
int exec_kernel_version(const char *kernel, char *out, size_t n);

/* Where minnow-init and mkinitrd.sh are: $MINNOW_LIBEXEC if set, else next
 * to minnow's executable in a build tree (build/linux/minnow-init,
 * firmware/mkinitrd.sh), else where `make install` puts them
 * (BINDIR/../libexec/minnow/). Returns 0 with both paths, or -1 with one
 * line in err. */
int exec_find_helpers(char *init, char *mkinitrd, size_t n, char *err, size_t errlen);

/* A cache key: a 64-bit FNV-1a hash of minnow-init's and mkinitrd.sh's
 * bytes, of kver, and of the size and modification time of busybox (the
 * first on PATH) and of /lib/modules/KVER/modules.dep. Returns 0 or -1
 * (a file could not be read). */
int exec_initrd_key(const char *init, const char *mkinitrd, const char *kver,
		    unsigned long long *key);

/* The initrd for kernel version kver: the cached one when its key matches,
 * else built now with mkinitrd.sh (its stdout dropped, its stderr shown)
 * into the cache and renamed into place, so that concurrent runs never see
 * half a file. Returns 0 with its path in out, or -1 with one line in err. */
int exec_default_initrd(const char *kver, char *out, size_t n, char *err, size_t errlen);

#endif
