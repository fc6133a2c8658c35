/* boot.c - turns the PVH hvm_start_info or the Linux zero page into one
 * struct fw_boot_info and enters the common main. */
#include "fw.h"
#include "io.h"

/* Xen public/arch-x86/hvm/start_info.h, version 1. */
#define HVM_START_MAGIC 0x336ec578U

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
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
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry");

/* Offsets in struct boot_params (Linux asm/bootparam.h). */
#define ZP_EXT_RAMDISK_IMAGE 0x0C0
#define ZP_EXT_RAMDISK_SIZE  0x0C4
#define ZP_EXT_CMD_LINE_PTR  0x0C8
#define ZP_E820_ENTRIES	     0x1E8
#define ZP_RAMDISK_IMAGE     0x218
#define ZP_RAMDISK_SIZE	     0x21C
#define ZP_CMD_LINE_PTR	     0x228
#define ZP_E820_TABLE	     0x2D0
#define ZP_E820_ENTRY_SIZE   20
#define ZP_E820_MAX	     128

/* Not in .bss: every field used is set below (zeroing costs time here). */
static struct fw_boot_info info __attribute__((section(".noinit")));

static void info_reset(const char *entry)
{
	info.entry = entry;
	info.error = 0;
	info.cmdline = "";
	info.n_mem = 0;
	info.initrd_addr = 0;
	info.initrd_size = 0;
}

static uint32_t zp32(uint64_t zp, unsigned off)
{
	return *(const volatile uint32_t *)(uintptr_t)(zp + off);
}

static uint64_t zp64(uint64_t zp, unsigned off)
{
	return (uint64_t)zp32(zp, off) | (uint64_t)zp32(zp, off + 4) << 32;
}

void pvh_main(uint32_t start_info)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;
	info_reset("pvh");
	if (si->magic != HVM_START_MAGIC) {
		info.error = "hvm_start_info has a bad magic";
		fw_main(&info);
	}
	if (si->cmdline_paddr)
		info.cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
	if (si->nr_modules && si->modlist_paddr) {
		const struct hvm_modlist_entry *m = (const void *)(uintptr_t)si->modlist_paddr;
		info.initrd_addr = m->paddr;
		info.initrd_size = m->size;
	}
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_table_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
		unsigned n = si->memmap_entries;
		if (n > FW_MAX_MEM)
			n = FW_MAX_MEM;
		for (unsigned i = 0; i < n; i++) {
			info.mem[i].addr = e[i].addr;
			info.mem[i].size = e[i].size;
			info.mem[i].type = e[i].type;
		}
		info.n_mem = n;
	}
	fw_main(&info);
}

void linux_main(uint64_t zp)
{
	info_reset("bzimage");
	uint64_t cmd = zp32(zp, ZP_CMD_LINE_PTR) | (uint64_t)zp32(zp, ZP_EXT_CMD_LINE_PTR) << 32;
	info.cmdline = cmd ? (const char *)(uintptr_t)cmd : "";
	info.initrd_addr = zp32(zp, ZP_RAMDISK_IMAGE) | (uint64_t)zp32(zp, ZP_EXT_RAMDISK_IMAGE)
							    << 32;
	info.initrd_size = zp32(zp, ZP_RAMDISK_SIZE) | (uint64_t)zp32(zp, ZP_EXT_RAMDISK_SIZE)
							   << 32;
	unsigned n = *(const volatile uint8_t *)(uintptr_t)(zp + ZP_E820_ENTRIES);
	if (n > ZP_E820_MAX)
		n = ZP_E820_MAX;
	if (n > FW_MAX_MEM)
		n = FW_MAX_MEM;
	for (unsigned i = 0; i < n; i++) {
		uint64_t e = zp + ZP_E820_TABLE + (uint64_t)i * ZP_E820_ENTRY_SIZE;
		info.mem[i].addr = zp64(e, 0);
		info.mem[i].size = zp64(e, 8);
		info.mem[i].type = zp32(e, 16);
	}
	info.n_mem = n;
	fw_main(&info);
}
