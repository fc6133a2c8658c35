/* loader_bzimage.h - the Linux bzImage loader (64-bit boot protocol, boot.rst),
 * shared by loader.c and the unit tests. */
#ifndef MINNOW_LOADER_BZIMAGE_H
#define MINNOW_LOADER_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/* Offsets into the image (boot.rst, "The real-mode kernel header"). */
#define BZIMAGE_HDR_OFFSET     0x1F1  /* struct setup_header */
#define BZIMAGE_ENTRY64_OFFSET 0x200  /* 64-bit entry, from the load address */
#define BZIMAGE_MIN_VERSION    0x020C /* 2.12: xloadflags */

/* What the setup header says and where the kernel goes. */
struct bzimage_info {
	uint16_t version;      /* boot protocol, 0x020F is 2.15 */
	bool relocatable;      /* relocatable_kernel */
	uint64_t setup_size;   /* real-mode part: (setup_sects + 1) * 512 bytes */
	uint64_t code_size;    /* protected-mode part copied: syssize * 16 bytes */
	size_t hdr_len;	       /* setup header bytes from BZIMAGE_HDR_OFFSET (boot.rst:
				* 0x202 + byte at 0x201 - 0x1F1, capped to the struct) */
	uint64_t pref_address; /* preferred load address */
	uint32_t kernel_alignment;
	uint32_t init_size;	  /* memory needed from the runtime start */
	uint32_t initrd_addr_max; /* highest byte address the initrd may use */
	uint32_t cmdline_size;	  /* longest command line, without the NUL */
	/* Filled by bzimage_load(): */
	uint64_t load_addr;	/* where the protected-mode part was copied */
	uint64_t runtime_start; /* where the kernel runs (boot.rst algorithm) */
	uint64_t range_start;	/* [range_start, range_end): all memory the */
	uint64_t range_end;	/* kernel uses before it reads the memory map */
};

/* True when `img` has the bzImage signatures: boot_flag 0xAA55 at 0x1FE and
 * "HdrS" at 0x202. Reads nothing beyond `len`. */
bool bzimage_probe(const uint8_t *img, size_t len);

/* Checks the setup header of `img` (len bytes, `name` for messages): size,
 * boot_flag, "HdrS", protocol >= 2.12 with XLF_KERNEL_64, LOADED_HIGH,
 * setup_sects, syssize against the file size, init_size, kernel_alignment.
 * Fills `info` except the placement fields. Returns 0, or -1 with a one-line
 * message naming the file in `err`. */
int bzimage_parse(const char *name, const uint8_t *img, size_t len, struct bzimage_info *info,
		  char *err, size_t errlen);

/* Parses `img` as bzimage_parse() does, places the protected-mode part (at
 * pref_address when relocatable and at or above 1 MiB, else at 1 MiB), checks
 * that it and [runtime_start, runtime_start + init_size) lie in low RAM, and
 * copies it into `mem`. The 64-bit entry is load_addr + BZIMAGE_ENTRY64_OFFSET.
 * Returns 0, or -1 with `err` filled (guest RAM untouched on error). */
int bzimage_load(const char *name, const struct guest_mem *mem, const uint8_t *img, size_t len,
		 struct bzimage_info *info, char *err, size_t errlen);

#endif
