/* kernel_cache.c - decompressed kernels kept by content (kernel_cache.h). */
#include "kernel_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "kernel_unpack.h"

/* ${XDG_CACHE_HOME:-$HOME/.cache}/minnow/kernels, made if missing. */
static int cache_dir(char *dir, size_t len, char *why, size_t whylen)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n = xdg && *xdg == '/' ? snprintf(dir, len, "%s/minnow/kernels", xdg)
		: home && *home	   ? snprintf(dir, len, "%s/.cache/minnow/kernels", home)
				   : -1;
	if (n < 0 || (size_t)n >= len) {
		snprintf(why, whylen,
			 "no cache directory (neither XDG_CACHE_HOME nor HOME is set)");
		return -1;
	}
	/* mkdir -p: each component after the first. */
	for (char *s = strchr(dir + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		int r = mkdir(dir, 0755);
		if (r != 0 && errno != EEXIST) {
			snprintf(why, whylen, "%s: %s", dir, strerror(errno));
			return -1;
		}
		if (!s)
			return 0;
		*s = '/';
	}
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Decompresses img's kernel into `path`, through a temporary file. */
static int make_entry(const uint8_t *img, size_t len, const char *dir, const char *path, char *why,
		      size_t whylen)
{
	const uint8_t *payload;
	size_t plen, size;
	uint8_t *elf;
	if (kernel_payload(img, len, &payload, &plen, why, whylen) < 0 ||
	    kernel_unpack(payload, plen, &elf, &size, why, whylen) < 0)
		return -1;
	static const uint8_t elf_magic[4] = {0x7f, 'E', 'L', 'F'};
	if (size < 4 || memcmp(elf, elf_magic, 4) != 0) {
		free(elf);
		snprintf(why, whylen, "its payload is not an ELF kernel");
		return -1;
	}
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s/.vmlinux-XXXXXX", dir);
	int fd = mkstemp(tmp);
	int r = fd < 0 ? -1 : write_all(fd, elf, size);
	int err = errno;
	free(elf);
	if (fd >= 0 && r == 0 && fchmod(fd, 0644) != 0) {
		r = -1;
		err = errno;
	}
	if (fd >= 0 && close(fd) != 0 && r == 0) {
		r = -1;
		err = errno;
	}
	if (r == 0 && rename(tmp, path) != 0) {
		r = -1;
		err = errno;
	}
	if (r < 0) {
		if (fd >= 0)
			unlink(tmp);
		snprintf(why, whylen, "%s: %s", fd < 0 ? dir : path, strerror(err));
	}
	return r;
}

int kernel_cache_get(const uint8_t *img, size_t len, char *out, size_t outlen, bool *made,
		     char *why, size_t whylen)
{
	char dir[4096];
	*made = false;
	if (cache_dir(dir, sizeof(dir), why, whylen) < 0)
		return -1;
	uLong crc = crc32(0L, Z_NULL, 0), adler = adler32(0L, Z_NULL, 0);
	for (size_t off = 0; off < len;) {
		uInt n = len - off > (1u << 30) ? (1u << 30) : (uInt)(len - off);
		crc = crc32(crc, img + off, n);
		adler = adler32(adler, img + off, n);
		off += n;
	}
	int n = snprintf(out, outlen, "%s/vmlinux-%zx-%08lx%08lx", dir, len, crc, adler);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(why, whylen, "%s: path too long", dir);
		return -1;
	}
	struct stat st;
	if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		return 0;
	if (make_entry(img, len, dir, out, why, whylen) < 0)
		return -1;
	*made = true;
	return 0;
}
