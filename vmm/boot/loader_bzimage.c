/* loader_bzimage.c - checks a Linux bzImage's setup header and copies its
 * protected-mode part into guest RAM for the 64-bit boot protocol. */
#include "loader_bzimage.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <asm/bootparam.h>

#include "loader.h"
#include "platform.h"

#define BOOT_FLAG_OFFSET    0x1FE
#define JUMP_OFFSET	    0x200
#define HDRS_OFFSET	    0x202
#define VERSION_OFFSET	    0x206
#define BOOT_FLAG_MAGIC	    0xAA55
#define SETUP_SECTOR	    512
#define DEFAULT_SETUP_SECTS 4
#define MIB		    0x100000ULL
#define OLD_INITRD_ADDR_MAX 0x37FFFFFF /* boot.rst: when the field is 0 */

/* Header bytes a 2.12+ kernel must declare: everything up to and including
 * handover_offset (2.11); later fields are optional. */
#define MIN_HDR_LEN (offsetof(struct setup_header, handover_offset) + sizeof(uint32_t))

_Static_assert(BZIMAGE_HDR_OFFSET + sizeof(struct setup_header) <=
		   (DEFAULT_SETUP_SECTS + 1) * SETUP_SECTOR,
	       "setup header inside the smallest setup code");
_Static_assert(BZIMAGE_HDR_OFFSET + offsetof(struct setup_header, header) == HDRS_OFFSET,
	       "HdrS offset");
_Static_assert(BZIMAGE_HDR_OFFSET + offsetof(struct setup_header, boot_flag) == BOOT_FLAG_OFFSET,
	       "boot_flag offset");
_Static_assert(BZIMAGE_HDR_OFFSET + offsetof(struct setup_header, version) == VERSION_OFFSET,
	       "version offset");

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

bool bzimage_probe(const uint8_t *img, size_t len)
{
	if (len < HDRS_OFFSET + 4)
		return false;
	return le16(img + BOOT_FLAG_OFFSET) == BOOT_FLAG_MAGIC &&
	       memcmp(img + HDRS_OFFSET, "HdrS", 4) == 0;
}

int bzimage_parse(const char *name, const uint8_t *img, size_t len, struct bzimage_info *info,
		  char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	if (len < BZIMAGE_HDR_OFFSET + sizeof(struct setup_header))
		return loader_fail(err, errlen, "%s: truncated setup header (file is %zu bytes)",
				   name, len);
	if (le16(img + BOOT_FLAG_OFFSET) != BOOT_FLAG_MAGIC)
		return loader_fail(err, errlen,
				   "%s: not a bzImage (boot_flag 0x%04x, expected 0xaa55)", name,
				   le16(img + BOOT_FLAG_OFFSET));
	if (memcmp(img + HDRS_OFFSET, "HdrS", 4) != 0)
		return loader_fail(err, errlen,
				   "%s: not a bzImage (no \"HdrS\" signature at 0x202)", name);

	uint16_t version = le16(img + VERSION_OFFSET);
	info->version = version;
	if (version < BZIMAGE_MIN_VERSION)
		return loader_fail(err, errlen,
				   "%s: kernel has no 64-bit entry (boot protocol %u.%u)", name,
				   version >> 8, version & 0xFF);

	/* boot.rst: the header ends at 0x202 + the byte at 0x201 (the jump);
	 * bytes past it are setup code, not header fields. */
	size_t hdr_len = HDRS_OFFSET + (size_t)img[JUMP_OFFSET + 1] - BZIMAGE_HDR_OFFSET;
	if (hdr_len > sizeof(struct setup_header))
		hdr_len = sizeof(struct setup_header);
	if (hdr_len < MIN_HDR_LEN)
		return loader_fail(
		    err, errlen, "%s: setup header is %zu bytes, too short for boot protocol %u.%u",
		    name, hdr_len, version >> 8, version & 0xFF);
	struct setup_header hdr;
	memset(&hdr, 0, sizeof(hdr));
	memcpy(&hdr, img + BZIMAGE_HDR_OFFSET, hdr_len);

	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return loader_fail(err, errlen,
				   "%s: kernel has no 64-bit entry (boot protocol %u.%u)", name,
				   version >> 8, version & 0xFF);
	if (!(hdr.loadflags & LOADED_HIGH))
		return loader_fail(err, errlen, "%s: not a bzImage (LOADED_HIGH clear: a zImage)",
				   name);

	unsigned sects = hdr.setup_sects ? hdr.setup_sects : DEFAULT_SETUP_SECTS;
	uint64_t setup_size = ((uint64_t)sects + 1) * SETUP_SECTOR;
	if (setup_size > len)
		return loader_fail(err, errlen,
				   "%s: truncated: setup code is %llu bytes, file is %zu", name,
				   (unsigned long long)setup_size, len);
	uint64_t code_size = (uint64_t)hdr.syssize * 16;
	uint64_t have = len - setup_size;
	if (code_size == 0)
		return loader_fail(err, errlen, "%s: syssize is 0 (no protected-mode code)", name);
	/* syssize counts 16-byte paragraphs rounded up, so the file may end up
	 * to 15 bytes before syssize * 16 (Linux's own build does this). */
	if (code_size > have && code_size - have < 16)
		code_size = have;
	if (code_size > have)
		return loader_fail(
		    err, errlen,
		    "%s: truncated: protected-mode code is %llu bytes (syssize), file has "
		    "%llu after the setup code",
		    name, (unsigned long long)code_size, (unsigned long long)have);
	if (code_size <= BZIMAGE_ENTRY64_OFFSET)
		return loader_fail(
		    err, errlen,
		    "%s: protected-mode code is %llu bytes, too small for the 64-bit entry", name,
		    (unsigned long long)code_size);
	if (hdr.init_size < code_size)
		return loader_fail(
		    err, errlen,
		    "%s: init_size 0x%x is smaller than the protected-mode code (0x%llx)", name,
		    hdr.init_size, (unsigned long long)code_size);
	if (hdr.relocatable_kernel &&
	    (hdr.kernel_alignment == 0 || (hdr.kernel_alignment & (hdr.kernel_alignment - 1))))
		return loader_fail(err, errlen, "%s: kernel_alignment 0x%x is not a power of two",
				   name, hdr.kernel_alignment);

	info->relocatable = hdr.relocatable_kernel != 0;
	info->setup_size = setup_size;
	info->code_size = code_size;
	info->hdr_len = hdr_len;
	info->pref_address = hdr.pref_address;
	info->kernel_alignment = hdr.kernel_alignment;
	info->init_size = hdr.init_size;
	info->initrd_addr_max = hdr.initrd_addr_max ? hdr.initrd_addr_max : OLD_INITRD_ADDR_MAX;
	info->cmdline_size = hdr.cmdline_size;
	return 0;
}

/* [start, start + size) lies in low RAM at or above 1 MiB, without overflow. */
static bool fits_low(const struct guest_mem *mem, uint64_t start, uint64_t size)
{
	return start >= HIGH_MEMORY_START && start <= mem->low_size &&
	       size <= mem->low_size - start;
}

int bzimage_load(const char *name, const struct guest_mem *mem, const uint8_t *img, size_t len,
		 struct bzimage_info *info, char *err, size_t errlen)
{
	if (bzimage_parse(name, img, len, info, err, errlen) < 0)
		return -1;

	/* Load address: the preferred one for a relocatable kernel, else the
	 * traditional 1 MiB. */
	uint64_t load = KERNEL_DEFAULT_ADDR;
	if (info->relocatable && info->pref_address >= HIGH_MEMORY_START &&
	    fits_low(mem, info->pref_address, info->init_size))
		load = info->pref_address;

	/* Runtime start (boot.rst, init_size): a relocatable kernel runs at
	 * max(load, pref_address) rounded up to kernel_alignment; any other
	 * kernel moves itself to pref_address. */
	uint64_t runtime;
	if (info->relocatable) {
		uint64_t a = info->kernel_alignment;
		runtime = load > info->pref_address ? load : info->pref_address;
		if (runtime > UINT64_MAX - (a - 1))
			return loader_fail(err, errlen, "%s: pref_address 0x%llx overflows", name,
					   (unsigned long long)info->pref_address);
		runtime = (runtime + a - 1) & ~(a - 1);
	} else {
		runtime = info->pref_address ? info->pref_address : load;
	}

	if (!fits_low(mem, load, info->code_size))
		return loader_fail(
		    err, errlen,
		    "%s: kernel code (%llu bytes at 0x%llx) does not fit in guest low RAM "
		    "(ends at 0x%llx)",
		    name, (unsigned long long)info->code_size, (unsigned long long)load,
		    (unsigned long long)mem->low_size);
	if (runtime < HIGH_MEMORY_START)
		return loader_fail(err, errlen, "%s: kernel would run at 0x%llx, below 1 MiB", name,
				   (unsigned long long)runtime);
	if (!fits_low(mem, runtime, info->init_size))
		return loader_fail(
		    err, errlen,
		    "%s: kernel needs RAM up to %llu MiB (init_size 0x%x at 0x%llx), guest "
		    "has %llu MiB of low RAM",
		    name, (unsigned long long)((runtime + info->init_size + MIB - 1) / MIB),
		    info->init_size, (unsigned long long)runtime,
		    (unsigned long long)(mem->low_size / MIB));

	uint8_t *dst = guest_ptr(mem, load, info->code_size);
	if (!dst) /* fits_low() said it is RAM; keep the gate anyway */
		return loader_fail(err, errlen, "%s: load address 0x%llx is not guest RAM", name,
				   (unsigned long long)load);
	memcpy(dst, img + info->setup_size, info->code_size);

	info->load_addr = load;
	info->runtime_start = runtime;
	info->range_start = load < runtime ? load : runtime;
	uint64_t load_end = load + info->code_size;
	uint64_t run_end = runtime + info->init_size;
	info->range_end = load_end > run_end ? load_end : run_end;
	return 0;
}
