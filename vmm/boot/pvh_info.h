/* pvh_info.h - the PVH boot information (Xen's hvm_start_info, version 1)
 * that a kernel entered through XEN_ELFNOTE_PHYS32_ENTRY finds in %ebx. */
#ifndef MINNOW_PVH_INFO_H
#define MINNOW_PVH_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/* Layout from Xen's public/arch-x86/hvm/start_info.h (not in the uapi
 * headers). All fields little-endian; addresses are guest physical. */
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578U
#define XEN_HVM_START_VERSION	  1U

#define XEN_HVM_MEMMAP_TYPE_RAM	     1
#define XEN_HVM_MEMMAP_TYPE_RESERVED 2

struct hvm_start_info {
	uint32_t magic;		/* XEN_HVM_START_MAGIC_VALUE */
	uint32_t version;	/* 1: memmap fields present */
	uint32_t flags;		/* SIF_xxx; 0 */
	uint32_t nr_modules;	/* entries at modlist_paddr */
	uint64_t modlist_paddr; /* array of struct hvm_modlist_entry */
	uint64_t cmdline_paddr; /* NUL-terminated command line, 0 for none */
	uint64_t rsdp_paddr;	/* ACPI RSDP, 0 for none */
	uint64_t memmap_paddr;	/* array of struct hvm_memmap_table_entry */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* XEN_HVM_MEMMAP_TYPE_* (same numbers as e820) */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 0x38, "hvm_start_info size");
_Static_assert(offsetof(struct hvm_start_info, nr_modules) == 0x0C, "nr_modules");
_Static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 0x10, "modlist_paddr");
_Static_assert(offsetof(struct hvm_start_info, cmdline_paddr) == 0x18, "cmdline_paddr");
_Static_assert(offsetof(struct hvm_start_info, rsdp_paddr) == 0x20, "rsdp_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 0x28, "memmap_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 0x30, "memmap_entries");
_Static_assert(sizeof(struct hvm_modlist_entry) == 0x20, "hvm_modlist_entry size");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 0x18, "hvm_memmap_table_entry size");
_Static_assert(offsetof(struct hvm_memmap_table_entry, type) == 0x10, "memmap type");

/* Where the pieces sit inside the BOOT_PVH_INFO_ADDR page (offsets). */
#define PVH_START_INFO_OFFSET 0x0
#define PVH_MODLIST_OFFSET    0x40
#define PVH_MEMMAP_OFFSET     0x80

/* What the PVH boot information describes. */
struct pvh_setup {
	uint64_t cmdline_addr; /* gpa of the NUL-terminated command line */
	uint64_t initrd_addr;  /* module 0; initrd_size 0 means no module */
	uint64_t initrd_size;
	uint64_t rsdp; /* ACPI RSDP gpa, 0 for none */
};

/* Writes hvm_start_info, the module list (the initrd as module 0, nr_modules
 * 0 when there is none) and the memory map from boot_memory_map() into the
 * page at BOOT_PVH_INFO_ADDR, all inside BOOT_PVH_INFO_SIZE. Returns 0, or -1
 * when that page is not guest RAM. */
int pvh_info_write(const struct guest_mem *mem, const struct pvh_setup *s);

#endif
