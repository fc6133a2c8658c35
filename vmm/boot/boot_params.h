/* boot_params.h - the guest memory map shared by every boot protocol, and the
 * Linux zero page (struct boot_params) for the bzImage and ELF 64-bit entries. */
#ifndef MINNOW_BOOT_PARAMS_H
#define MINNOW_BOOT_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "guest_mem.h"

/* Memory map entry types; the e820 and the PVH memmap use the same numbers. */
#define BOOT_MEM_RAM	  1
#define BOOT_MEM_RESERVED 2

/* The memory map never has more entries than this. */
#define BOOT_MEM_MAP_MAX 4

/* One range of the guest memory map. */
struct boot_mem_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* BOOT_MEM_RAM or BOOT_MEM_RESERVED */
};

/* Builds the guest memory map from guest_mem_regions(): [0, EBDA_START) RAM,
 * [EBDA_START, 1 MiB) reserved, [1 MiB, end of low RAM) RAM and, when there is
 * RAM above the MMIO gap, [4 GiB, 4 GiB + high) RAM. Ranges are clipped to the
 * RAM that exists; empty ones are left out. Writes at most `max` entries to
 * `out` and returns how many it wrote (at most BOOT_MEM_MAP_MAX). */
size_t boot_memory_map(const struct guest_mem *mem, struct boot_mem_entry *out, size_t max);

/* What goes into the zero page besides the memory map. */
struct zero_page_setup {
	/* bzImage: the setup header bytes as found in the image from offset
	 * 0x1F1, setup_hdr_len of them (at most sizeof(struct setup_header)).
	 * NULL for an ELF kernel, which gets a fresh header instead. */
	const uint8_t *setup_hdr;
	size_t setup_hdr_len;
	uint64_t kernel_addr;  /* bzImage: where the protected-mode code was loaded */
	uint64_t cmdline_addr; /* gpa of the NUL-terminated command line */
	uint32_t cmdline_size; /* ELF: the largest command line length advertised */
	uint64_t initrd_addr;  /* 0 with initrd_size 0 when there is no initrd */
	uint64_t initrd_size;
	uint64_t rsdp; /* ACPI RSDP gpa, 0 for none */
};

/* Fills `bp` (host memory) with the zero page for `s` and the memory map of
 * `mem`: for a bzImage the image's setup header with type_of_loader 0xFF,
 * CAN_USE_HEAP, heap_end_ptr 0xFE00, vid_mode 0xFFFF, code32_start,
 * command-line and ramdisk pointers (low and ext_ high halves); for an ELF
 * kernel a fresh header (boot_flag, "HdrS", version 2.15, kernel_alignment
 * 16 MiB) with the same pointers. acpi_rsdp_addr when s->rsdp != 0. */
void boot_params_build(struct boot_params *bp, const struct guest_mem *mem,
		       const struct zero_page_setup *s);

/* Builds the zero page as boot_params_build() does and copies it to
 * BOOT_ZERO_PAGE_ADDR. Returns 0, or -1 when that page is not guest RAM. */
int boot_params_write(const struct guest_mem *mem, const struct zero_page_setup *s);

#endif
