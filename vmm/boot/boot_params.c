/* boot_params.c - the guest memory map and the Linux zero page (boot.rst). */
#include "boot_params.h"

#include <string.h>

#include <asm/e820.h>

#include "platform.h"

_Static_assert(sizeof(struct boot_params) == BOOT_ZERO_PAGE_SIZE, "zero page is one page");
_Static_assert(offsetof(struct boot_params, hdr) == 0x1F1, "setup header at 0x1F1");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2D0, "e820 table at 0x2D0");
_Static_assert(offsetof(struct boot_params, e820_entries) == 0x1E8, "e820_entries at 0x1E8");
_Static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr at 0x70");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0C0, "ext_ramdisk at 0xC0");
_Static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0x0C8, "ext_cmd_line at 0xC8");
_Static_assert(BOOT_MEM_RAM == E820_RAM && BOOT_MEM_RESERVED == E820_RESERVED, "e820 types");
_Static_assert(BOOT_MEM_MAP_MAX <= E820_MAX_ENTRIES_ZEROPAGE, "e820 table size");

#define SETUP_HDR_MAGIC	      0x53726448U /* "HdrS" */
#define BOOT_FLAG_MAGIC	      0xAA55
#define ELF_BOOT_PROTOCOL     0x020F
#define LOADER_TYPE_UNDEFINED 0xFF
#define HEAP_END_PTR	      0xFE00
#define VID_MODE_NORMAL	      0xFFFF
#define ELF_KERNEL_ALIGNMENT  0x1000000

static size_t add_entry(struct boot_mem_entry *out, size_t n, size_t max, uint64_t start,
			uint64_t end, uint32_t type)
{
	if (start >= end || n >= max)
		return n;
	out[n] = (struct boot_mem_entry){.addr = start, .size = end - start, .type = type};
	return n + 1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

size_t boot_memory_map(const struct guest_mem *mem, struct boot_mem_entry *out, size_t max)
{
	struct guest_region regions[2];
	size_t nregions = guest_mem_regions(mem, regions);
	size_t n = 0;

	for (size_t i = 0; i < nregions; i++) {
		uint64_t start = regions[i].gpa;
		uint64_t end = regions[i].gpa + regions[i].size;
		if (start == 0) {
			/* Low RAM: the EBDA / BIOS area below 1 MiB is reserved. */
			n = add_entry(out, n, max, 0, min_u64(EBDA_START, end), BOOT_MEM_RAM);
			n = add_entry(out, n, max, EBDA_START, min_u64(HIGH_MEMORY_START, end),
				      BOOT_MEM_RESERVED);
			n = add_entry(out, n, max, HIGH_MEMORY_START, end, BOOT_MEM_RAM);
		} else {
			n = add_entry(out, n, max, start, end, BOOT_MEM_RAM);
		}
	}
	return n;
}

static void fill_e820(struct boot_params *bp, const struct guest_mem *mem)
{
	struct boot_mem_entry map[BOOT_MEM_MAP_MAX];
	size_t n = boot_memory_map(mem, map, BOOT_MEM_MAP_MAX);

	for (size_t i = 0; i < n; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}
	bp->e820_entries = (uint8_t)n;
}

void boot_params_build(struct boot_params *bp, const struct guest_mem *mem,
		       const struct zero_page_setup *s)
{
	memset(bp, 0, sizeof(*bp));
	struct setup_header *hdr = &bp->hdr;

	if (s->setup_hdr) {
		size_t len = s->setup_hdr_len;
		if (len > sizeof(*hdr))
			len = sizeof(*hdr);
		memcpy(hdr, s->setup_hdr, len);
		hdr->loadflags |= CAN_USE_HEAP;
		hdr->heap_end_ptr = HEAP_END_PTR;
		hdr->vid_mode = VID_MODE_NORMAL;
		hdr->code32_start = (uint32_t)s->kernel_addr;
	} else {
		hdr->boot_flag = BOOT_FLAG_MAGIC;
		hdr->header = SETUP_HDR_MAGIC;
		hdr->version = ELF_BOOT_PROTOCOL;
		hdr->kernel_alignment = ELF_KERNEL_ALIGNMENT;
		hdr->cmdline_size = s->cmdline_size;
	}
	hdr->type_of_loader = LOADER_TYPE_UNDEFINED;

	hdr->cmd_line_ptr = (uint32_t)s->cmdline_addr;
	bp->ext_cmd_line_ptr = (uint32_t)(s->cmdline_addr >> 32);
	hdr->ramdisk_image = (uint32_t)s->initrd_addr;
	bp->ext_ramdisk_image = (uint32_t)(s->initrd_addr >> 32);
	hdr->ramdisk_size = (uint32_t)s->initrd_size;
	bp->ext_ramdisk_size = (uint32_t)(s->initrd_size >> 32);
	if (s->rsdp)
		bp->acpi_rsdp_addr = s->rsdp;

	fill_e820(bp, mem);
}

int boot_params_write(const struct guest_mem *mem, const struct zero_page_setup *s)
{
	struct boot_params bp;
	void *dst = guest_ptr(mem, BOOT_ZERO_PAGE_ADDR, sizeof(bp));
	if (!dst)
		return -1;
	boot_params_build(&bp, mem, s);
	memcpy(dst, &bp, sizeof(bp));
	return 0;
}
