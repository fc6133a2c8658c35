/* loader.c - load_kernel(): picks the boot protocol, runs its loader, places
 * the initrd and command line, and writes the boot information. */
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_params.h"
#include "kernel_cache.h"
#include "loader_bzimage.h"
#include "loader_elf.h"
#include "log.h"
#include "platform.h"
#include "pvh_info.h"

#define PAGE_SIZE_4K 0x1000ULL
#define FOUR_GIB     0x100000000ULL

/* A kernel image mapped read-only. */
struct image {
	const uint8_t *data;
	size_t len;
};

/* What the format loader leaves for the common steps. */
struct loaded_kernel {
	struct boot_entry entry;
	uint64_t range_start;	/* guest memory the kernel uses; the initrd */
	uint64_t range_end;	/* must stay out of it */
	uint64_t initrd_limit;	/* the initrd must end at or below this */
	uint64_t cmdline_max;	/* longest command line, without the NUL */
	struct bzimage_info bz; /* bzImage only */
};

/* The initrd as placed in guest RAM. */
struct initrd {
	uint64_t addr;
	uint64_t size; /* 0: none */
};

int loader_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Opens `path` as a non-empty regular file; returns the fd and its size. */
static int open_file(const char *path, uint64_t *size, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return loader_fail(err, errlen, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return loader_fail(err, errlen, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return loader_fail(err, errlen, "%s: not a regular file", path);
	}
	if (st.st_size <= 0) {
		close(fd);
		return loader_fail(err, errlen, "%s: empty file", path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static int map_image(const char *path, struct image *img, char *err, size_t errlen)
{
	uint64_t size;
	int fd = open_file(path, &size, err, errlen);
	if (fd < 0)
		return -1;
	if (size > SIZE_MAX) {
		close(fd);
		return loader_fail(err, errlen, "%s: file too large", path);
	}
	void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED)
		return loader_fail(err, errlen, "%s: %s", path, strerror(e));
	img->data = p;
	img->len = (size_t)size;
	return 0;
}

static void unmap_image(struct image *img)
{
	if (img->data)
		munmap((void *)img->data, img->len);
	img->data = NULL;
}

static enum kernel_format detect_format(const char *path, const struct image *img, char *err,
					size_t errlen)
{
	if (bzimage_probe(img->data, img->len))
		return KERNEL_BZIMAGE;
	if (elf_probe(img->data, img->len)) {
		struct elf_info ei;
		if (elf_parse(path, img->data, img->len, &ei, err, errlen) < 0)
			return KERNEL_AUTO;
		return ei.has_pvh ? KERNEL_PVH : KERNEL_ELF;
	}
	loader_fail(err, errlen, "%s: not a bzImage or ELF kernel", path);
	return KERNEL_AUTO;
}

static int load_bzimage(const struct guest_mem *mem, const char *path, const struct image *img,
			struct loaded_kernel *k, char *err, size_t errlen)
{
	if (bzimage_load(path, mem, img->data, img->len, &k->bz, err, errlen) < 0)
		return -1;
	k->entry = (struct boot_entry){.mode = BOOT_LONG64,
				       .rip = k->bz.load_addr + BZIMAGE_ENTRY64_OFFSET,
				       .info = BOOT_ZERO_PAGE_ADDR,
				       .format = KERNEL_BZIMAGE};
	k->range_start = k->bz.range_start;
	k->range_end = k->bz.range_end;
	k->initrd_limit = min_u64((uint64_t)k->bz.initrd_addr_max + 1, mem->low_size);
	k->cmdline_max = min_u64(k->bz.cmdline_size, BOOT_CMDLINE_MAX - 1);
	return 0;
}

static int load_elf(const struct guest_mem *mem, const char *path, const struct image *img,
		    bool pvh, struct loaded_kernel *k, char *err, size_t errlen)
{
	struct elf_info ei;
	if (elf_load(path, mem, img->data, img->len, pvh, &ei, err, errlen) < 0)
		return -1;
	k->entry = (struct boot_entry){.mode = pvh ? BOOT_PVH32 : BOOT_LONG64,
				       .rip = ei.entry,
				       .info = pvh ? BOOT_PVH_INFO_ADDR : BOOT_ZERO_PAGE_ADDR,
				       .format = pvh ? KERNEL_PVH : KERNEL_ELF};
	k->range_start = ei.range_start;
	k->range_end = ei.range_end;
	k->initrd_limit = min_u64(FOUR_GIB, mem->low_size);
	k->cmdline_max = BOOT_CMDLINE_MAX - 1;
	return 0;
}

static int write_cmdline(const struct guest_mem *mem, const char *path, const char *cmdline,
			 uint64_t max, char *err, size_t errlen)
{
	size_t len = strlen(cmdline);
	if (len > max)
		return loader_fail(
		    err, errlen, "%s: command line is %zu bytes, this kernel accepts at most %llu",
		    path, len, (unsigned long long)max);
	char *dst = guest_ptr(mem, BOOT_CMDLINE_ADDR, (uint64_t)len + 1);
	if (!dst)
		return loader_fail(err, errlen, "%s: command line address 0x%llx is not guest RAM",
				   path, (unsigned long long)BOOT_CMDLINE_ADDR);
	memcpy(dst, cmdline, len + 1);
	return 0;
}

/* Picks the highest page-aligned address for `size` bytes ending at or below
 * `limit`, at or above 1 MiB, outside [kstart, kend). Returns 0 or -1. */
static int place_initrd(uint64_t size, uint64_t limit, uint64_t kstart, uint64_t kend,
			uint64_t *addr)
{
	if (size > limit)
		return -1;
	uint64_t a = (limit - size) & ~(PAGE_SIZE_4K - 1);
	if (a < kend && a + size > kstart) {
		/* Nothing aligned fits above the kernel: try just below it. */
		if (size > kstart)
			return -1;
		a = (kstart - size) & ~(PAGE_SIZE_4K - 1);
	}
	if (a < HIGH_MEMORY_START)
		return -1;
	*addr = a;
	return 0;
}

static int load_initrd(const struct guest_mem *mem, const char *path, const struct loaded_kernel *k,
		       struct initrd *rd, char *err, size_t errlen)
{
	uint64_t size;
	int fd = open_file(path, &size, err, errlen);
	if (fd < 0)
		return -1;
	uint64_t addr;
	if (place_initrd(size, k->initrd_limit, k->range_start, k->range_end, &addr) < 0) {
		close(fd);
		return loader_fail(
		    err, errlen,
		    "%s: initrd of %llu bytes does not fit in guest RAM between 1 MiB and "
		    "0x%llx outside the kernel [0x%llx, 0x%llx)",
		    path, (unsigned long long)size, (unsigned long long)k->initrd_limit,
		    (unsigned long long)k->range_start, (unsigned long long)k->range_end);
	}
	uint8_t *dst = guest_ptr(mem, addr, size);
	if (!dst) {
		close(fd);
		return loader_fail(err, errlen, "%s: initrd address 0x%llx is not guest RAM", path,
				   (unsigned long long)addr);
	}
	uint64_t done = 0;
	while (done < size) {
		size_t chunk = (size_t)min_u64(size - done, 1U << 30);
		ssize_t n = pread(fd, dst + done, chunk, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : 0;
			close(fd);
			if (e)
				return loader_fail(err, errlen, "%s: %s", path, strerror(e));
			return loader_fail(
			    err, errlen, "%s: file shrank while reading (%llu of %llu bytes)", path,
			    (unsigned long long)done, (unsigned long long)size);
		}
		done += (uint64_t)n;
	}
	close(fd);
	rd->addr = addr;
	rd->size = size;
	return 0;
}

static int write_boot_info(const struct guest_mem *mem, const struct boot_request *req,
			   const struct image *img, const struct loaded_kernel *k,
			   const struct initrd *rd, char *err, size_t errlen)
{
	if (k->entry.format == KERNEL_PVH) {
		struct pvh_setup ps = {.cmdline_addr = BOOT_CMDLINE_ADDR,
				       .initrd_addr = rd->addr,
				       .initrd_size = rd->size,
				       .rsdp = req->rsdp};
		if (pvh_info_write(mem, &ps) < 0)
			return loader_fail(
			    err, errlen, "%s: PVH start info address 0x%llx is not guest RAM",
			    req->kernel_path, (unsigned long long)BOOT_PVH_INFO_ADDR);
		return 0;
	}
	struct zero_page_setup zs = {.cmdline_addr = BOOT_CMDLINE_ADDR,
				     .cmdline_size = (uint32_t)k->cmdline_max,
				     .initrd_addr = rd->addr,
				     .initrd_size = rd->size,
				     .rsdp = req->rsdp};
	if (k->entry.format == KERNEL_BZIMAGE) {
		zs.setup_hdr = img->data + BZIMAGE_HDR_OFFSET;
		zs.setup_hdr_len = k->bz.hdr_len;
		zs.kernel_addr = k->bz.load_addr;
	}
	if (boot_params_write(mem, &zs) < 0)
		return loader_fail(err, errlen, "%s: zero page address 0x%llx is not guest RAM",
				   req->kernel_path, (unsigned long long)BOOT_ZERO_PAGE_ADDR);
	return 0;
}

static int load_all(const struct guest_mem *mem, const struct boot_request *req,
		    const struct image *img, struct loaded_kernel *k, char *err, size_t errlen)
{
	const char *path = req->kernel_path;
	enum kernel_format fmt = req->format;
	if (fmt == KERNEL_AUTO) {
		fmt = detect_format(path, img, err, errlen);
		if (fmt == KERNEL_AUTO)
			return -1;
	}

	int rc;
	switch (fmt) {
	case KERNEL_BZIMAGE:
		rc = load_bzimage(mem, path, img, k, err, errlen);
		break;
	case KERNEL_ELF:
	case KERNEL_PVH:
		rc = load_elf(mem, path, img, fmt == KERNEL_PVH, k, err, errlen);
		break;
	default:
		return loader_fail(err, errlen, "%s: unknown kernel format %d", path, (int)fmt);
	}
	if (rc < 0)
		return -1;

	const char *cmdline = req->cmdline ? req->cmdline : "";
	if (write_cmdline(mem, path, cmdline, k->cmdline_max, err, errlen) < 0)
		return -1;

	struct initrd rd = {0, 0};
	if (req->initrd_path && req->initrd_path[0] &&
	    load_initrd(mem, req->initrd_path, k, &rd, err, errlen) < 0)
		return -1;

	return write_boot_info(mem, req, img, k, &rd, err, errlen);
}

/* [kernel] decompress: a compressed bzImage's kernel from the host's cache,
 * mapped into *elf with its request in *as_elf; 1 when it is, 0 when the
 * bzImage boots as it is, -1 (err) when `host` was asked for and failed. */
static int host_decompressed(const struct boot_request *req, const struct image *img,
			     struct boot_request *as_elf, char *path, size_t pathlen,
			     struct image *elf, char *err, size_t errlen)
{
	/* auto is the guest's decompressor: the host's measured no faster
	 * (README, "Kernels decompressed once"). */
	if (req->decompress != DECOMPRESS_HOST || req->format == KERNEL_ELF ||
	    req->format == KERNEL_PVH || !bzimage_probe(img->data, img->len))
		return 0;
	char why[4400];
	bool made;
	int r = kernel_cache_get(img->data, img->len, path, pathlen, &made, why, sizeof(why));
	if (r == 0 && map_image(path, elf, why, sizeof(why)) == 0) {
		log_debug("kernel: %s decompressed on the host%s: %s", req->kernel_path,
			  made ? " (first time)" : "", path);
		*as_elf = *req;
		as_elf->kernel_path = path;
		as_elf->format = KERNEL_ELF;
		return 1;
	}
	return loader_fail(err, errlen, "%s: cannot decompress it on the host: %s",
			   req->kernel_path, why);
}

int load_kernel(const struct guest_mem *mem, const struct boot_request *req,
		struct boot_entry *entry, char *err, size_t errlen)
{
	if (!req->kernel_path || !req->kernel_path[0])
		return loader_fail(err, errlen, "no kernel file given");
	struct image img = {NULL, 0}, elf = {NULL, 0};
	if (map_image(req->kernel_path, &img, err, errlen) < 0)
		return -1;
	struct boot_request as_elf;
	static char cached[4400];
	int host = host_decompressed(req, &img, &as_elf, cached, sizeof(cached), &elf, err, errlen);
	struct loaded_kernel k;
	memset(&k, 0, sizeof(k));
	int rc = host < 0    ? -1
		 : host == 1 ? load_all(mem, &as_elf, &elf, &k, err, errlen)
			     : load_all(mem, req, &img, &k, err, errlen);
	unmap_image(&elf);
	unmap_image(&img);
	if (rc < 0)
		return -1;
	*entry = k.entry;
	return 0;
}
