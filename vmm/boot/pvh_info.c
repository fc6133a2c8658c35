/* pvh_info.c - writes hvm_start_info, its module list and memory map. */
#include "pvh_info.h"

#include <string.h>

#include "boot_params.h"
#include "platform.h"

_Static_assert(PVH_START_INFO_OFFSET + sizeof(struct hvm_start_info) <= PVH_MODLIST_OFFSET,
	       "start info / modlist");
_Static_assert(PVH_MODLIST_OFFSET + sizeof(struct hvm_modlist_entry) <= PVH_MEMMAP_OFFSET,
	       "modlist / memmap");
_Static_assert(PVH_MEMMAP_OFFSET + BOOT_MEM_MAP_MAX * sizeof(struct hvm_memmap_table_entry) <=
		   BOOT_PVH_INFO_SIZE,
	       "memmap inside the PVH info page");
_Static_assert(PVH_MODLIST_OFFSET % 8 == 0 && PVH_MEMMAP_OFFSET % 8 == 0, "alignment");
_Static_assert(XEN_HVM_MEMMAP_TYPE_RAM == BOOT_MEM_RAM &&
		   XEN_HVM_MEMMAP_TYPE_RESERVED == BOOT_MEM_RESERVED,
	       "memory map types");

int pvh_info_write(const struct guest_mem *mem, const struct pvh_setup *s)
{
	uint8_t *page = guest_ptr(mem, BOOT_PVH_INFO_ADDR, BOOT_PVH_INFO_SIZE);
	if (!page)
		return -1;
	memset(page, 0, BOOT_PVH_INFO_SIZE);

	struct boot_mem_entry map[BOOT_MEM_MAP_MAX];
	size_t n = boot_memory_map(mem, map, BOOT_MEM_MAP_MAX);
	for (size_t i = 0; i < n; i++) {
		struct hvm_memmap_table_entry e = {
		    .addr = map[i].addr, .size = map[i].size, .type = map[i].type};
		memcpy(page + PVH_MEMMAP_OFFSET + i * sizeof(e), &e, sizeof(e));
	}

	struct hvm_start_info info = {
	    .magic = XEN_HVM_START_MAGIC_VALUE,
	    .version = XEN_HVM_START_VERSION,
	    .cmdline_paddr = s->cmdline_addr,
	    .rsdp_paddr = s->rsdp,
	    .memmap_paddr = BOOT_PVH_INFO_ADDR + PVH_MEMMAP_OFFSET,
	    .memmap_entries = (uint32_t)n,
	};
	if (s->initrd_size) {
		struct hvm_modlist_entry mod = {.paddr = s->initrd_addr, .size = s->initrd_size};
		memcpy(page + PVH_MODLIST_OFFSET, &mod, sizeof(mod));
		info.nr_modules = 1;
		info.modlist_paddr = BOOT_PVH_INFO_ADDR + PVH_MODLIST_OFFSET;
	}
	memcpy(page + PVH_START_INFO_OFFSET, &info, sizeof(info));
	return 0;
}
