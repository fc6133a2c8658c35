/* test_boot_params.c - the shared memory map, the Linux zero page and the PVH
 * hvm_start_info, checked against boot.rst offsets and Xen's layout. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

#include <asm/bootparam.h>
#include <asm/e820.h>

#include "boot_params.h"
#include "guest_mem.h"
#include "platform.h"
#include "pvh_info.h"
#include "test_util.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* ---- layouts the code relies on ----------------------------------------- */

#define HDR(field) (0x1F1 + offsetof(struct setup_header, field))

Test(layout, boot_params_offsets_match_boot_rst)
{
	cr_assert_eq(sizeof(struct boot_params), 4096);
	cr_assert_eq(offsetof(struct boot_params, acpi_rsdp_addr), 0x070);
	cr_assert_eq(offsetof(struct boot_params, ext_ramdisk_image), 0x0C0);
	cr_assert_eq(offsetof(struct boot_params, ext_ramdisk_size), 0x0C4);
	cr_assert_eq(offsetof(struct boot_params, ext_cmd_line_ptr), 0x0C8);
	cr_assert_eq(offsetof(struct boot_params, e820_entries), 0x1E8);
	cr_assert_eq(offsetof(struct boot_params, hdr), 0x1F1);
	cr_assert_eq(offsetof(struct boot_params, e820_table), 0x2D0);
	cr_assert_eq(sizeof(struct boot_e820_entry), 20);

	cr_assert_eq(HDR(setup_sects), 0x1F1);
	cr_assert_eq(HDR(syssize), 0x1F4);
	cr_assert_eq(HDR(vid_mode), 0x1FA);
	cr_assert_eq(HDR(boot_flag), 0x1FE);
	cr_assert_eq(HDR(jump), 0x200);
	cr_assert_eq(HDR(header), 0x202);
	cr_assert_eq(HDR(version), 0x206);
	cr_assert_eq(HDR(type_of_loader), 0x210);
	cr_assert_eq(HDR(loadflags), 0x211);
	cr_assert_eq(HDR(code32_start), 0x214);
	cr_assert_eq(HDR(ramdisk_image), 0x218);
	cr_assert_eq(HDR(ramdisk_size), 0x21C);
	cr_assert_eq(HDR(heap_end_ptr), 0x224);
	cr_assert_eq(HDR(cmd_line_ptr), 0x228);
	cr_assert_eq(HDR(initrd_addr_max), 0x22C);
	cr_assert_eq(HDR(kernel_alignment), 0x230);
	cr_assert_eq(HDR(relocatable_kernel), 0x234);
	cr_assert_eq(HDR(xloadflags), 0x236);
	cr_assert_eq(HDR(cmdline_size), 0x238);
	cr_assert_eq(HDR(pref_address), 0x258);
	cr_assert_eq(HDR(init_size), 0x260);
	cr_assert_eq(HDR(handover_offset), 0x264);
}

Test(layout, hvm_start_info_matches_xen)
{
	cr_assert_eq(sizeof(struct hvm_start_info), 56);
	cr_assert_eq(offsetof(struct hvm_start_info, magic), 0);
	cr_assert_eq(offsetof(struct hvm_start_info, version), 4);
	cr_assert_eq(offsetof(struct hvm_start_info, flags), 8);
	cr_assert_eq(offsetof(struct hvm_start_info, nr_modules), 12);
	cr_assert_eq(offsetof(struct hvm_start_info, modlist_paddr), 16);
	cr_assert_eq(offsetof(struct hvm_start_info, cmdline_paddr), 24);
	cr_assert_eq(offsetof(struct hvm_start_info, rsdp_paddr), 32);
	cr_assert_eq(offsetof(struct hvm_start_info, memmap_paddr), 40);
	cr_assert_eq(offsetof(struct hvm_start_info, memmap_entries), 48);
	cr_assert_eq(sizeof(struct hvm_modlist_entry), 32);
	cr_assert_eq(offsetof(struct hvm_modlist_entry, cmdline_paddr), 16);
	cr_assert_eq(sizeof(struct hvm_memmap_table_entry), 24);
	cr_assert_eq(offsetof(struct hvm_memmap_table_entry, type), 16);
	cr_assert_eq(XEN_HVM_START_MAGIC_VALUE, 0x336ec578);
	cr_assert_eq(BOOT_MEM_RAM, E820_RAM);
	cr_assert_eq(BOOT_MEM_RESERVED, E820_RESERVED);
}

/* ---- the memory map ------------------------------------------------------ */

struct range {
	uint64_t addr, size;
	uint32_t type;
};

/* The maps of a few RAM sizes, entry by entry. */
static const struct {
	const char *name;
	uint64_t ram;
	struct range want[4];
	size_t n;
} maps[] = {
    {"64 MiB",
     64 * MiB,
     {{0, EBDA_START, E820_RAM},
      {EBDA_START, HIGH_MEMORY_START - EBDA_START, E820_RESERVED},
      {HIGH_MEMORY_START, 64 * MiB - HIGH_MEMORY_START, E820_RAM}},
     3},
    {"3 GiB fills low RAM",
     3 * GiB,
     {{0, EBDA_START, E820_RAM},
      {EBDA_START, HIGH_MEMORY_START - EBDA_START, E820_RESERVED},
      {HIGH_MEMORY_START, MMIO_GAP_START - HIGH_MEMORY_START, E820_RAM}},
     3},
    {"4 GiB skips the hole",
     4 * GiB,
     {{0, EBDA_START, E820_RAM},
      {EBDA_START, HIGH_MEMORY_START - EBDA_START, E820_RESERVED},
      {HIGH_MEMORY_START, MMIO_GAP_START - HIGH_MEMORY_START, E820_RAM},
      {4 * GiB, 4 * GiB - MMIO_GAP_START, E820_RAM}},
     4},
};

/* boot_memory_map() gives the case's map, and the zero page carries the same. */
TABLE_TEST(memory_map, each_size, maps, c)
{
	struct guest_mem mem;
	guest_mem_layout(&mem, c->ram);
	struct boot_mem_entry map[BOOT_MEM_MAP_MAX];
	cr_assert_eq(boot_memory_map(&mem, map, BOOT_MEM_MAP_MAX), c->n, "%s", c->name);
	for (size_t i = 0; i < c->n; i++) {
		cr_assert_eq(map[i].addr, c->want[i].addr, "%s: entry %zu addr 0x%llx", c->name, i,
			     (unsigned long long)map[i].addr);
		cr_assert_eq(map[i].size, c->want[i].size, "%s: entry %zu size 0x%llx", c->name, i,
			     (unsigned long long)map[i].size);
		cr_assert_eq(map[i].type, c->want[i].type, "%s: entry %zu type", c->name, i);
	}

	struct boot_params bp;
	struct zero_page_setup zs = {.cmdline_addr = BOOT_CMDLINE_ADDR};
	boot_params_build(&bp, &mem, &zs);
	cr_assert_eq(bp.e820_entries, c->n, "%s: zero page", c->name);
	for (size_t i = 0; i < c->n; i++) {
		cr_assert_eq(bp.e820_table[i].addr, c->want[i].addr, "%s: e820 %zu", c->name, i);
		cr_assert_eq(bp.e820_table[i].size, c->want[i].size, "%s: e820 %zu", c->name, i);
		cr_assert_eq(bp.e820_table[i].type, c->want[i].type, "%s: e820 %zu", c->name, i);
	}
}

Test(memory_map, nothing_in_the_hole)
{
	struct guest_mem mem;
	guest_mem_layout(&mem, 6 * GiB);
	struct boot_mem_entry map[BOOT_MEM_MAP_MAX];
	size_t n = boot_memory_map(&mem, map, BOOT_MEM_MAP_MAX);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t end = map[i].addr + map[i].size;
		cr_assert(end <= MMIO_GAP_START || map[i].addr >= MMIO_GAP_END);
		if (map[i].type == BOOT_MEM_RAM)
			total += map[i].size;
		if (i)
			cr_assert_geq(map[i].addr, map[i - 1].addr + map[i - 1].size);
	}
	cr_assert_eq(total + (HIGH_MEMORY_START - EBDA_START), 6 * GiB);
}

Test(memory_map, respects_max)
{
	struct guest_mem mem;
	guest_mem_layout(&mem, 4 * GiB);
	struct boot_mem_entry map[2];
	cr_assert_eq(boot_memory_map(&mem, map, 2), 2);
	cr_assert_eq(map[1].type, BOOT_MEM_RESERVED);
	cr_assert_eq(boot_memory_map(&mem, map, 0), 0);
}

/* ---- the zero page -------------------------------------------------------- */

Test(zero_page, bzimage_header_copied_and_patched)
{
	struct guest_mem mem;
	guest_mem_layout(&mem, 64 * MiB);
	struct setup_header img;
	memset(&img, 0, sizeof(img));
	img.setup_sects = 27;
	img.boot_flag = 0xAA55;
	memcpy(&img.header, "HdrS", 4);
	img.version = 0x020F;
	img.loadflags = LOADED_HIGH | KEEP_SEGMENTS;
	img.heap_end_ptr = 0x5BE0;
	img.vid_mode = 0x0301;
	img.cmdline_size = 0x7FF;
	img.pref_address = 0x1000000;
	img.init_size = 0x3378000;
	img.kernel_alignment = 0x200000;
	img.relocatable_kernel = 1;
	img.xloadflags = XLF_KERNEL_64;

	struct zero_page_setup zs = {
	    .setup_hdr = (const uint8_t *)&img,
	    .setup_hdr_len = sizeof(img),
	    .kernel_addr = 0x1000000,
	    .cmdline_addr = BOOT_CMDLINE_ADDR,
	    .initrd_addr = 0x3F00000,
	    .initrd_size = 0x100000,
	    .rsdp = 0xE0000,
	};
	struct boot_params bp;
	memset(&bp, 0xEE, sizeof(bp));
	boot_params_build(&bp, &mem, &zs);
	cr_assert_eq(bp.hdr.setup_sects, 27);
	cr_assert_eq(bp.hdr.boot_flag, 0xAA55);
	cr_assert_eq(bp.hdr.version, 0x020F);
	cr_assert_eq(bp.hdr.type_of_loader, 0xFF);
	cr_assert_eq(bp.hdr.loadflags, LOADED_HIGH | KEEP_SEGMENTS | CAN_USE_HEAP);
	cr_assert_eq(bp.hdr.heap_end_ptr, 0xFE00);
	cr_assert_eq(bp.hdr.vid_mode, 0xFFFF);
	cr_assert_eq(bp.hdr.code32_start, 0x1000000);
	cr_assert_eq(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(bp.hdr.cmdline_size, 0x7FF, "kernel's own limit kept");
	cr_assert_eq(bp.hdr.ramdisk_image, 0x3F00000);
	cr_assert_eq(bp.hdr.ramdisk_size, 0x100000);
	cr_assert_eq(bp.ext_ramdisk_image, 0);
	cr_assert_eq(bp.ext_ramdisk_size, 0);
	cr_assert_eq(bp.ext_cmd_line_ptr, 0);
	cr_assert_eq(bp.hdr.pref_address, 0x1000000);
	cr_assert_eq(bp.hdr.init_size, 0x3378000);
	cr_assert_eq(bp.acpi_rsdp_addr, 0xE0000);
	cr_assert_eq(bp.sentinel, 0, "the rest of the page is clean");
	cr_assert_eq(bp._pad9[0], 0);
	cr_assert_eq(bp.e820_entries, 3);
}

Test(zero_page, high_halves_go_to_ext_fields)
{
	struct guest_mem mem;
	guest_mem_layout(&mem, 8 * GiB);
	struct zero_page_setup zs = {
	    .cmdline_addr = 0x123456789ULL,
	    .initrd_addr = 0x180000000ULL,
	    .initrd_size = 0x100001000ULL,
	};
	struct boot_params bp;
	boot_params_build(&bp, &mem, &zs);
	cr_assert_eq(bp.hdr.cmd_line_ptr, 0x23456789);
	cr_assert_eq(bp.ext_cmd_line_ptr, 1);
	cr_assert_eq(bp.hdr.ramdisk_image, 0x80000000);
	cr_assert_eq(bp.ext_ramdisk_image, 1);
	cr_assert_eq(bp.hdr.ramdisk_size, 0x1000);
	cr_assert_eq(bp.ext_ramdisk_size, 1);
	cr_assert_eq(bp.acpi_rsdp_addr, 0, "no RSDP requested");
	cr_assert_eq(bp.e820_entries, 4);
}

Test(zero_page, short_header_copied_only_as_far_as_it_goes)
{
	struct guest_mem mem;
	guest_mem_layout(&mem, 64 * MiB);
	uint8_t img[sizeof(struct setup_header)];
	memset(img, 0xAB, sizeof(img));
	struct zero_page_setup zs = {.setup_hdr = img,
				     .setup_hdr_len = offsetof(struct setup_header, init_size)};
	struct boot_params bp;
	boot_params_build(&bp, &mem, &zs);
	cr_assert_eq(bp.hdr.init_size, 0);
	cr_assert_eq(bp.hdr.kernel_info_offset, 0);
	cr_assert_eq(bp.hdr.pref_address, 0xABABABABABABABABULL);
}

Test(zero_page, elf_fresh_header)
{
	struct guest_mem mem;
	guest_mem_layout(&mem, 3 * GiB);
	struct zero_page_setup zs = {.cmdline_addr = BOOT_CMDLINE_ADDR,
				     .cmdline_size = BOOT_CMDLINE_MAX - 1,
				     .initrd_addr = 0x8000000,
				     .initrd_size = 0x2000,
				     .rsdp = 0xE0000};
	struct boot_params bp;
	boot_params_build(&bp, &mem, &zs);
	cr_assert_eq(bp.hdr.boot_flag, 0xAA55);
	cr_assert_eq(memcmp(&bp.hdr.header, "HdrS", 4), 0);
	cr_assert_eq(bp.hdr.version, 0x020F);
	cr_assert_eq(bp.hdr.type_of_loader, 0xFF);
	cr_assert_eq(bp.hdr.kernel_alignment, 0x1000000);
	cr_assert_eq(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(bp.hdr.cmdline_size, BOOT_CMDLINE_MAX - 1);
	cr_assert_eq(bp.hdr.ramdisk_image, 0x8000000);
	cr_assert_eq(bp.hdr.ramdisk_size, 0x2000);
	cr_assert_eq(bp.acpi_rsdp_addr, 0xE0000);
	cr_assert_eq(bp.e820_entries, 3);
	cr_assert_eq(bp.e820_table[2].addr + bp.e820_table[2].size, MMIO_GAP_START);
}

Test(zero_page, written_at_its_address)
{
	struct guest_mem mem;
	cr_assert_eq(guest_mem_map(&mem, 64 * MiB, false), 0);
	struct zero_page_setup zs = {.cmdline_addr = BOOT_CMDLINE_ADDR};
	cr_assert_eq(boot_params_write(&mem, &zs), 0);
	const struct boot_params *bp = guest_ptr(&mem, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	cr_assert_not_null(bp);
	cr_assert_eq(bp->hdr.boot_flag, 0xAA55);
	cr_assert_eq(bp->e820_entries, 3);
	guest_mem_unmap(&mem);

	struct guest_mem none;
	guest_mem_layout(&none, 64 * MiB); /* not mapped: the gate refuses */
	cr_assert_eq(boot_params_write(&none, &zs), -1);
}

/* ---- PVH start info --------------------------------------------------------- */

static const struct hvm_start_info *start_info(const struct guest_mem *mem)
{
	const struct hvm_start_info *si =
	    guest_ptr(mem, BOOT_PVH_INFO_ADDR, sizeof(struct hvm_start_info));
	cr_assert_not_null(si);
	return si;
}

Test(pvh, start_info_with_initrd)
{
	struct guest_mem mem;
	cr_assert_eq(guest_mem_map(&mem, 64 * MiB, false), 0);
	memset(guest_ptr(&mem, BOOT_PVH_INFO_ADDR, BOOT_PVH_INFO_SIZE), 0xEE, BOOT_PVH_INFO_SIZE);
	struct pvh_setup ps = {.cmdline_addr = BOOT_CMDLINE_ADDR,
			       .initrd_addr = 0x3000000,
			       .initrd_size = 0x123456,
			       .rsdp = 0xE0000};
	cr_assert_eq(pvh_info_write(&mem, &ps), 0);

	const struct hvm_start_info *si = start_info(&mem);
	cr_assert_eq(si->magic, 0x336ec578);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->flags, 0);
	cr_assert_eq(si->cmdline_paddr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(si->rsdp_paddr, 0xE0000);
	cr_assert_eq(si->reserved, 0);
	cr_assert_eq(si->nr_modules, 1);
	cr_assert_geq(si->modlist_paddr, BOOT_PVH_INFO_ADDR + sizeof(*si));
	cr_assert_leq(si->modlist_paddr + sizeof(struct hvm_modlist_entry),
		      BOOT_PVH_INFO_ADDR + BOOT_PVH_INFO_SIZE);
	const struct hvm_modlist_entry *mod =
	    guest_ptr(&mem, si->modlist_paddr, sizeof(struct hvm_modlist_entry));
	cr_assert_not_null(mod);
	cr_assert_eq(mod->paddr, 0x3000000);
	cr_assert_eq(mod->size, 0x123456);
	cr_assert_eq(mod->cmdline_paddr, 0);
	cr_assert_eq(mod->reserved, 0);

	cr_assert_eq(si->memmap_entries, 3);
	cr_assert_leq(si->memmap_paddr + 3 * sizeof(struct hvm_memmap_table_entry),
		      BOOT_PVH_INFO_ADDR + BOOT_PVH_INFO_SIZE);
	const struct hvm_memmap_table_entry *mm =
	    guest_ptr(&mem, si->memmap_paddr, 3 * sizeof(struct hvm_memmap_table_entry));
	cr_assert_not_null(mm);
	cr_assert_eq(mm[0].addr, 0);
	cr_assert_eq(mm[0].size, EBDA_START);
	cr_assert_eq(mm[0].type, XEN_HVM_MEMMAP_TYPE_RAM);
	cr_assert_eq(mm[1].addr, EBDA_START);
	cr_assert_eq(mm[1].type, XEN_HVM_MEMMAP_TYPE_RESERVED);
	cr_assert_eq(mm[2].addr, HIGH_MEMORY_START);
	cr_assert_eq(mm[2].size, 64 * MiB - HIGH_MEMORY_START);
	cr_assert_eq(mm[2].type, XEN_HVM_MEMMAP_TYPE_RAM);
	cr_assert_eq(mm[2].reserved, 0);
	guest_mem_unmap(&mem);
}

Test(pvh, start_info_without_initrd_4g)
{
	struct guest_mem mem;
	cr_assert_eq(guest_mem_map(&mem, 4 * GiB, false), 0);
	struct pvh_setup ps = {.cmdline_addr = BOOT_CMDLINE_ADDR};
	cr_assert_eq(pvh_info_write(&mem, &ps), 0);
	const struct hvm_start_info *si = start_info(&mem);
	cr_assert_eq(si->nr_modules, 0);
	cr_assert_eq(si->modlist_paddr, 0);
	cr_assert_eq(si->rsdp_paddr, 0);
	cr_assert_eq(si->memmap_entries, 4);
	const struct hvm_memmap_table_entry *mm =
	    guest_ptr(&mem, si->memmap_paddr, 4 * sizeof(struct hvm_memmap_table_entry));
	cr_assert_not_null(mm);

	/* Same map as the zero page's e820. */
	struct boot_params bp;
	struct zero_page_setup zs = {0};
	boot_params_build(&bp, &mem, &zs);
	cr_assert_eq(bp.e820_entries, 4);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(mm[i].addr, bp.e820_table[i].addr);
		cr_assert_eq(mm[i].size, bp.e820_table[i].size);
		cr_assert_eq(mm[i].type, bp.e820_table[i].type);
	}
	cr_assert_eq(mm[3].addr, 4 * GiB);
	cr_assert_eq(mm[3].size, 4 * GiB - MMIO_GAP_START);
	guest_mem_unmap(&mem);
}
