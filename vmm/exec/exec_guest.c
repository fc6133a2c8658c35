/* exec_guest.c - the default kernel and the cached initrd of minnow exec
 * (exec_guest.h). */
#include "exec_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#define KERNEL_GLOB "/boot/vmlinuz-*-cloud-amd64"
#define FNV_OFFSET  0xcbf29ce484222325ULL
#define FNV_PRIME   0x100000001b3ULL

int exec_default_kernel(char *out, size_t n, char *err, size_t errlen)
{
	glob_t g;
	if (glob(KERNEL_GLOB, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		globfree(&g);
		snprintf(err, errlen,
			 "no kernel: no %s (apt-get install linux-image-cloud-amd64, or pass "
			 "--kernel and --initrd, or a CONFIG)",
			 KERNEL_GLOB);
		return -1;
	}
	const char *best = g.gl_pathv[0];
	for (size_t i = 1; i < g.gl_pathc; i++)
		if (strverscmp(g.gl_pathv[i], best) > 0)
			best = g.gl_pathv[i];
	snprintf(out, n, "%s", best);
	globfree(&g);
	return 0;
}

int exec_kernel_version(const char *kernel, char *out, size_t n)
{
	const char *base = strrchr(kernel, '/');
	base = base ? base + 1 : kernel;
	if (strncmp(base, "vmlinuz-", 8) != 0 || !base[8] || strlen(base + 8) >= n)
		return -1;
	strcpy(out, base + 8);
	return 0;
}

static int both_exist(const char *init, const char *mkinitrd)
{
	return access(init, X_OK) == 0 && access(mkinitrd, R_OK) == 0;
}

/* The first of minnow-init and mkinitrd.sh that is missing. */
static const char *missing_helper(const char *init)
{
	return access(init, X_OK) != 0 ? "minnow-init" : "mkinitrd.sh";
}

int exec_find_helpers(char *init, char *mkinitrd, size_t n, char *err, size_t errlen)
{
	static const char fix[] =
	    "install minnow with make install, set MINNOW_LIBEXEC to the directory with "
	    "minnow-init and mkinitrd.sh, or pass --initrd with an initrd whose /init is "
	    "minnow-init";
	const char *dir = getenv("MINNOW_LIBEXEC");
	if (dir && *dir) {
		snprintf(init, n, "%s/minnow-init", dir);
		snprintf(mkinitrd, n, "%s/mkinitrd.sh", dir);
		if (both_exist(init, mkinitrd))
			return 0;
		snprintf(err, errlen, "no %s in MINNOW_LIBEXEC=%s: %s", missing_helper(init), dir,
			 fix);
		return -1;
	}
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0) {
		snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
		return -1;
	}
	exe[len] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(init, n, "%s/build/linux/minnow-init", exe);
	snprintf(mkinitrd, n, "%s/firmware/mkinitrd.sh", exe);
	if (both_exist(init, mkinitrd))
		return 0;
	/* BINDIR/../libexec/minnow, named without the "..". */
	slash = strrchr(exe, '/');
	char prefix[PATH_MAX];
	snprintf(prefix, sizeof(prefix), "%.*s", slash ? (int)(slash - exe) : 0, exe);
	snprintf(init, n, "%s/libexec/minnow/minnow-init", prefix);
	snprintf(mkinitrd, n, "%s/libexec/minnow/mkinitrd.sh", prefix);
	if (both_exist(init, mkinitrd))
		return 0;
	snprintf(err, errlen, "no %s in %s/libexec/minnow/ (nor a build tree at %s): %s",
		 missing_helper(init), prefix, exe, fix);
	return -1;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

static int hash_file(uint64_t *h, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uint8_t buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*h = fnv(*h, buf, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

/* Size and mtime of path (nothing when it is absent: mkinitrd says so). */
static void hash_stat(uint64_t *h, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	int64_t v[3] = {st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
	*h = fnv(*h, v, sizeof(v));
}

/* The first busybox on PATH, as mkinitrd.sh finds it (`command -v`). */
static void find_busybox(char *out, size_t n)
{
	const char *path = getenv("PATH");
	out[0] = '\0';
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(out, n, "%.*s/busybox", (int)len, path);
		if (access(out, X_OK) == 0)
			return;
		path += len + (path[len] == ':');
	}
	out[0] = '\0';
}

int exec_initrd_key(const char *init, const char *mkinitrd, const char *kver,
		    unsigned long long *key)
{
	uint64_t h = FNV_OFFSET;
	if (hash_file(&h, init) < 0 || hash_file(&h, mkinitrd) < 0)
		return -1;
	h = fnv(h, kver, strlen(kver) + 1);
	char path[PATH_MAX];
	find_busybox(path, sizeof(path));
	if (path[0])
		hash_stat(&h, path);
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", kver);
	hash_stat(&h, path);
	*key = h;
	return 0;
}

/* mkdir -p. Returns 0 or -1 (errno set). */
static int make_dirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0755);
		*p = '/';
		if (r != 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int cache_dir(char *out, size_t n, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (xdg && xdg[0] == '/')
		snprintf(out, n, "%s/minnow/exec", xdg);
	else if (home && home[0] == '/')
		snprintf(out, n, "%s/.cache/minnow/exec", home);
	else {
		snprintf(err, errlen, "no cache directory: set XDG_CACHE_HOME or HOME");
		return -1;
	}
	if (make_dirs(out) != 0) {
		snprintf(err, errlen, "cache directory %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

/* Runs `sh mkinitrd -k kver -i init -o out`, its stdout to /dev/null.
 * Returns its exit status, or -1. */
static int run_mkinitrd(const char *mkinitrd, const char *kver, const char *init, const char *out)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execl("/bin/sh", "sh", mkinitrd, "-k", kver, "-i", init, "-o", out, (char *)NULL);
		_exit(127);
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

int exec_default_initrd(const char *kver, char *out, size_t n, char *err, size_t errlen)
{
	char init[PATH_MAX], mkinitrd[PATH_MAX], dir[PATH_MAX];
	if (exec_find_helpers(init, mkinitrd, sizeof(init), err, errlen) < 0)
		return -1;
	unsigned long long key;
	if (exec_initrd_key(init, mkinitrd, kver, &key) < 0) {
		snprintf(err, errlen, "cannot read %s or %s: %s", init, mkinitrd, strerror(errno));
		return -1;
	}
	if (cache_dir(dir, sizeof(dir), err, errlen) < 0)
		return -1;
	int len = snprintf(out, n, "%s/initrd-%s-%016llx.cpio", dir, kver, key);
	if (len < 0 || (size_t)len >= n - 32) {
		snprintf(err, errlen, "cache path too long: %s", dir);
		return -1;
	}
	if (access(out, R_OK) == 0) {
		log_debug("exec: cached initrd %s", out);
		return 0;
	}
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s.%ld", out, (long)getpid());
	log_debug("exec: building the initrd %s with %s", out, mkinitrd);
	int st = run_mkinitrd(mkinitrd, kver, init, tmp);
	if (st != 0 || rename(tmp, out) != 0) {
		unlink(tmp);
		snprintf(err, errlen, "building the initrd with %s failed (status %d)", mkinitrd,
			 st);
		return -1;
	}
	return 0;
}
