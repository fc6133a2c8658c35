/* guest_mem.c - guest RAM mapping and the checked gpa -> host pointer gate. */
#include "guest_mem.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "platform.h"

void guest_mem_layout(struct guest_mem *mem, uint64_t size)
{
	mem->host = NULL;
	mem->size = size;
	mem->low_size = size < MMIO_GAP_START ? size : MMIO_GAP_START;
	mem->high_size = size - mem->low_size;
	mem->shared = false;
	mem->fd = -1;
	mem->smaps_fd = -1;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Makes every page of [p, p + size) resident and writable. */
static void populate(uint8_t *p, uint64_t size)
{
	if (madvise(p, size, MADV_POPULATE_WRITE) == 0)
		return;
	/* Older kernels: one write per page. */
	long page = sysconf(_SC_PAGESIZE);
	for (uint64_t off = 0; off < size; off += (uint64_t)page)
		((volatile uint8_t *)p)[off] = 0;
}

#define HUGE_PAGE (2ULL << 20)

/* mmap() of `size` bytes (`flags`, `fd`) at an address aligned to 2 MiB.
 * Guest RAM starts 2 MiB aligned in the guest's physical space; KVM maps a
 * huge page only where the host address is aligned the same way, and each
 * page it cannot map large is one more nested page fault per 4 KiB the
 * guest first touches (a Debian kernel's boot took 25,317 of them
 * unaligned, QEMU 1,432). Reserves size + 2 MiB, maps into the aligned
 * part and gives back the rest. */
static void *mmap_aligned(uint64_t size, int flags, int fd)
{
	uint8_t *area = mmap(NULL, size + HUGE_PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	uint8_t *p = (uint8_t *)(((uintptr_t)area + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (mmap(p, size, PROT_READ | PROT_WRITE, flags | MAP_NORESERVE | MAP_FIXED, fd, 0) ==
	    MAP_FAILED) {
		int err = errno;
		munmap(area, size + HUGE_PAGE);
		errno = err;
		return MAP_FAILED;
	}
	if (p > area)
		munmap(area, (size_t)(p - area));
	uint8_t *end = area + size + HUGE_PAGE;
	if (end > p + size)
		munmap(p + size, (size_t)(end - (p + size)));
	return p;
}

/* Maps the RAM: anonymous and private, or the memfd `fd` shared. */
static int map_ram(struct guest_mem *mem, uint64_t size, bool prefault, int fd)
{
	guest_mem_layout(mem, size);
	int flags = fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS;
	void *p = mmap_aligned(size, flags, fd);
	if (p == MAP_FAILED) {
		int err = errno;
		guest_mem_layout(mem, 0);
		return -err;
	}
	/* Transparent huge pages make first touches cheaper; advisory only.
	 * Before populating, so that prefaulted RAM gets them too. */
	(void)madvise(p, size, MADV_HUGEPAGE);
	if (prefault)
		populate(p, size);
	mem->host = p;
	mem->shared = fd >= 0;
	mem->fd = fd;
	return 0;
}

int guest_mem_map(struct guest_mem *mem, uint64_t size, bool prefault)
{
	return map_ram(mem, size, prefault, -1);
}

int guest_mem_map_shared(struct guest_mem *mem, uint64_t size, bool prefault)
{
	int fd = memfd_create("minnow-guest-ram", MFD_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		guest_mem_layout(mem, 0);
		return -err;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = errno;
		close(fd);
		guest_mem_layout(mem, 0);
		return -err;
	}
	int r = map_ram(mem, size, prefault, fd);
	if (r < 0)
		close(fd);
	return r;
}

int guest_mem_map_file(struct guest_mem *mem, uint64_t size, const char *path)
{
	guest_mem_layout(mem, 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return -err;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		close(fd);
		return -EINVAL;
	}
	/* Private: the guest's writes stay in this process, the file is never written. */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	int err = errno;
	close(fd); /* the mapping keeps the file */
	if (p == MAP_FAILED)
		return -err;
	guest_mem_layout(mem, size);
	mem->host = p;
	/* Now: once the VM runs, seccomp lets minnow read it but not open it. */
	mem->smaps_fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	return 0;
}

void guest_mem_unmap(struct guest_mem *mem)
{
	if (mem->host)
		munmap(mem->host, mem->size);
	if (mem->host && mem->shared)
		close(mem->fd);
	if (mem->host && mem->smaps_fd >= 0)
		close(mem->smaps_fd);
	guest_mem_layout(mem, 0);
}

static void *region_ptr(uint8_t *host, gpa_t start, uint64_t size, gpa_t gpa, uint64_t len)
{
	if (gpa < start || gpa - start > size)
		return NULL;
	if (len > size - (gpa - start))
		return NULL;
	return host + (gpa - start);
}

void *guest_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
	if (!mem->host)
		return NULL;
	if (gpa + len < gpa)
		return NULL;
	void *p = region_ptr(mem->host, 0, mem->low_size, gpa, len);
	if (p)
		return p;
	if (mem->high_size == 0)
		return NULL;
	return region_ptr(mem->host + mem->low_size, HIGH_RAM_START, mem->high_size, gpa, len);
}

size_t guest_mem_regions(const struct guest_mem *mem, struct guest_region out[2])
{
	size_t n = 0;
	if (mem->low_size)
		out[n++] = (struct guest_region){0, mem->low_size};
	if (mem->high_size)
		out[n++] = (struct guest_region){HIGH_RAM_START, mem->high_size};
	return n;
}

/* The Rss of the mapping that starts at `host`, from smaps (fd), in
 * bytes; 0 when it cannot be read. */
static uint64_t mapping_rss(int fd, const void *host)
{
	static char buf[256 << 10]; /* smaps of a VMM: tens of KiB */
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 &&
	       (n = pread(fd, buf + len, sizeof(buf) - 1 - len, (off_t)len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	char start[32];
	snprintf(start, sizeof(start), "%lx-", (unsigned long)(uintptr_t)host);
	size_t n_start = strlen(start);
	for (char *line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, start, n_start) != 0)
			continue;
		char *rss = strstr(line, "\nRss:");
		unsigned long long kib = 0;
		return rss && sscanf(rss + 5, "%llu", &kib) == 1 ? kib * 1024 : 0;
	}
	return 0;
}

uint64_t guest_mem_resident(const struct guest_mem *mem)
{
	if (!mem->host)
		return 0;
	if (mem->smaps_fd >= 0)
		return mapping_rss(mem->smaps_fd, mem->host);
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = (mem->size + (uint64_t)page - 1) / (uint64_t)page;
	unsigned char *vec = malloc(pages);
	if (!vec)
		return 0;
	uint64_t resident = 0;
	if (mincore(mem->host, mem->size, vec) == 0) {
		for (size_t i = 0; i < pages; i++)
			resident += vec[i] & 1;
	}
	free(vec);
	return resident * (uint64_t)page;
}
