/* loader_elf.h - ELF kernels: vmlinux through its 64-bit entry, and PVH
 * kernels (ELF32 or ELF64) through XEN_ELFNOTE_PHYS32_ENTRY. */
#ifndef MINNOW_LOADER_ELF_H
#define MINNOW_LOADER_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/* Xen's ELF note giving the 32-bit PVH entry point (public/elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* What the headers say, and where the kernel went. */
struct elf_info {
	bool is64;	      /* ELFCLASS64 (x86-64) or ELFCLASS32 (i386) */
	uint64_t e_entry;     /* as in the ELF header */
	bool has_pvh;	      /* a XEN_ELFNOTE_PHYS32_ENTRY note was found */
	uint64_t pvh_entry;   /* its value */
	size_t n_load;	      /* PT_LOAD segments with p_memsz > 0 */
	uint64_t range_start; /* hull of [p_paddr, p_paddr + p_memsz) over */
	uint64_t range_end;   /* the PT_LOAD segments */
	uint64_t entry;	      /* filled by elf_load(): physical entry point */
};

/* True when `img` starts with the ELF magic. */
bool elf_probe(const uint8_t *img, size_t len);

/* Checks the ELF header and program headers of `img` (little-endian; ELF64
 * for x86-64 or ELF32 for i386; ET_EXEC; e_phentsize; table and every
 * PT_LOAD / PT_NOTE inside the file; p_filesz <= p_memsz; p_paddr + p_memsz
 * without overflow; at least one PT_LOAD) and looks for the PVH note in
 * PT_NOTE segments, then in SHT_NOTE sections. Fills `info` except entry.
 * Returns 0, or -1 with a one-line message naming the file in `err`. */
int elf_parse(const char *name, const uint8_t *img, size_t len, struct elf_info *info, char *err,
	      size_t errlen);

/* Parses `img` as elf_parse() does and loads every PT_LOAD at p_paddr
 * (p_filesz bytes copied, the rest of p_memsz zeroed). Each segment must lie
 * in guest RAM at or above 1 MiB (below are the boot structures). With `pvh`
 * the entry is the PVH note's value, otherwise the 64-bit entry: e_entry
 * when it is a physical address inside a segment, else e_entry translated
 * from p_vaddr to p_paddr; ELF64 only. The entry must lie inside a loaded
 * segment and below 4 GiB. Returns 0, or -1 with `err` filled (guest RAM
 * untouched on error). */
int elf_load(const char *name, const struct guest_mem *mem, const uint8_t *img, size_t len,
	     bool pvh, struct elf_info *info, char *err, size_t errlen);

#endif
