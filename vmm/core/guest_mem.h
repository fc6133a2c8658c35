/* guest_mem.h - guest RAM and the one gate through which host code reaches it. */
#ifndef MINNOW_GUEST_MEM_H
#define MINNOW_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A guest physical address. Never dereferenced: turn it into a host pointer
 * with guest_ptr(), which checks the whole range. */
typedef uint64_t gpa_t;

/* Guest RAM: one host mapping of `size` bytes. Guest physical
 * [0, low_size) is host[0, low_size); [HIGH_RAM_START, HIGH_RAM_START +
 * high_size) is host[low_size, size). */
struct guest_mem {
	uint8_t *host;
	uint64_t size;
	uint64_t low_size;
	uint64_t high_size;
	bool shared;  /* guest_mem_map_shared(): host maps `fd` (a memfd) */
	int fd;	      /* the memfd, host offset = file offset; meaningful when shared */
	int smaps_fd; /* guest_mem_map_file(): /proc/self/smaps, opened then (or -1) */
};

/* One contiguous range of guest RAM. */
struct guest_region {
	gpa_t gpa;
	uint64_t size;
};

/* Lays out `size` bytes of RAM around the MMIO gap without mapping anything
 * (for tests and for code that only needs the layout). */
void guest_mem_layout(struct guest_mem *mem, uint64_t size);

/* Maps `size` bytes of anonymous, MAP_NORESERVE guest RAM laid out as
 * guest_mem_layout() says; `prefault` populates it up front. Returns 0 or
 * -errno; on failure `mem` is left unmapped. */
int guest_mem_map(struct guest_mem *mem, uint64_t size, bool prefault);

/* guest_mem_map() for RAM that another process must map too (vhost-user
 * back ends): a memfd of `size` bytes mapped MAP_SHARED; mem->fd is the
 * memfd (close-on-exec), host offset x is file offset x. Returns 0 or
 * -errno; on failure `mem` is left unmapped. */
int guest_mem_map_shared(struct guest_mem *mem, uint64_t size, bool prefault);

/* Maps `size` bytes of guest RAM from file `path` (a snapshot's memory
 * file, exactly `size` bytes), MAP_PRIVATE: pages are read on first touch
 * and the guest's writes never reach the file. Returns 0, -EINVAL when the
 * file is not a regular file of that size, or -errno. */
int guest_mem_map_file(struct guest_mem *mem, uint64_t size, const char *path);

/* Unmaps guest RAM mapped by guest_mem_map(), _shared() or _file()
 * (closing the memfd); safe on an unmapped `mem`. */
void guest_mem_unmap(struct guest_mem *mem);

/* Returns a host pointer to [gpa, gpa + len) when the whole range is guest
 * RAM inside one region, else NULL. len == 0 is valid when gpa lies inside
 * a region or at its end. Overflow of gpa + len is detected. */
void *guest_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len);

/* Fills `out` with the RAM regions (at most 2) and returns how many. */
size_t guest_mem_regions(const struct guest_mem *mem, struct guest_region out[2]);

/* Bytes of guest RAM this process has touched, or 0: pages resident in
 * it (mincore), or for RAM mapped from a file the mapping's Rss from
 * smaps (mincore would count the file's pages in the page cache that the
 * guest never touched). */
uint64_t guest_mem_resident(const struct guest_mem *mem);

#endif
