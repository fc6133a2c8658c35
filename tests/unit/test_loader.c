/* test_loader.c - load_kernel() and the bzImage / ELF / PVH loaders against
 * synthetic good and malformed images, and the Debian bzImage when present. */
#include <criterion/criterion.h>
#include <elf.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asm/bootparam.h>

#include "boot_params.h"
#include "guest_mem.h"
#include "loader.h"
#include "loader_bzimage.h"
#include "loader_elf.h"
#include "platform.h"
#include "pvh_info.h"
#include "test_util.h"
#include "virtio_driver.h"

#define MiB (1ULL << 20)

static char err[1024];
static struct boot_entry entry;
static char tmp_paths[24][128];
static int n_tmp;

static void setup(void)
{
	ram_map(64 * MiB);
}

static void teardown(void)
{
	for (int i = 0; i < n_tmp; i++)
		unlink(tmp_paths[i]);
	n_tmp = 0;
	ram_unmap();
}

static const char *tmp_name(void)
{
	cr_assert_lt(n_tmp, 24);
	char *p = tmp_paths[n_tmp++];
	close(make_tmp_file(p, sizeof(tmp_paths[0]), NULL, "loader"));
	return p;
}

static const char *write_tmp(const void *data, size_t len)
{
	const char *p = tmp_name();
	FILE *f = fopen(p, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return p;
}

/* A file of `size` bytes, sparse except for its first bytes. */
static const char *write_sparse(uint64_t size)
{
	const char *p = tmp_name();
	cr_assert_eq(truncate(p, (off_t)size), 0);
	return p;
}

static int load_with(const char *kernel, const char *initrd, const char *cmdline,
		     enum kernel_format fmt, uint64_t rsdp)
{
	struct boot_request req = {kernel, initrd, cmdline, fmt, rsdp, DECOMPRESS_GUEST};
	memset(err, 0, sizeof(err));
	memset(&entry, 0, sizeof(entry));
	return load_kernel(&guest_ram, &req, &entry, err, sizeof(err));
}

static int load(const char *kernel, const char *initrd, const char *cmdline, enum kernel_format fmt)
{
	return load_with(kernel, initrd, cmdline, fmt, 0);
}

/* The last error is one line that names `path` and says `text`; `what` (e.g. "case: ")
 * starts each failure message. */
#define expect_error_for(what, path, text)                                                         \
	do {                                                                                       \
		cr_assert(strstr(err, text), "%serror \"%s\" lacks \"%s\"", what, err, text);      \
		cr_assert(strstr(err, path), "%serror \"%s\" does not name %s", what, err, path);  \
		cr_assert_null(strchr(err, '\n'), "%serror spans lines: %s", what, err);           \
	} while (0)
#define expect_error(path, text) expect_error_for("", path, text)

static const struct boot_params *zero_page(void)
{
	return (const struct boot_params *)gp(BOOT_ZERO_PAGE_ADDR, sizeof(struct boot_params));
}

/* ---- synthetic bzImage -------------------------------------------------- */

#define BZ_SECTS 4
#define BZ_SETUP ((BZ_SECTS + 1) * 512)
#define BZ_CODE	 0x4000

static struct setup_header *bz_hdr(uint8_t *img)
{
	return (struct setup_header *)(img + 0x1F1);
}

/* A minimal valid 2.15 bzImage: relocatable, pref_address 16 MiB,
 * init_size 1 MiB, BZ_CODE bytes of patterned protected-mode code. */
static uint8_t *make_bzimage(size_t *len)
{
	*len = BZ_SETUP + BZ_CODE;
	uint8_t *img = calloc(1, *len);
	cr_assert_not_null(img);
	struct setup_header *h = bz_hdr(img);
	h->setup_sects = BZ_SECTS;
	h->syssize = BZ_CODE / 16;
	h->boot_flag = 0xAA55;
	img[0x200] = 0xEB; /* jmp over the header: ends at 0x202 + img[0x201] */
	img[0x201] = (uint8_t)(0x1F1 + sizeof(struct setup_header) - 0x202);
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020F;
	h->loadflags = LOADED_HIGH;
	h->heap_end_ptr = 0x1234;
	h->initrd_addr_max = 0x7FFFFFFF;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->min_alignment = 21;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 0x7FF;
	h->pref_address = 16 * MiB;
	h->init_size = 1 * MiB;
	for (size_t i = 0; i < BZ_CODE; i++)
		img[BZ_SETUP + i] = (uint8_t)(i * 7 + 3);
	return img;
}

static const char *bz_file(void (*tweak)(uint8_t *img), size_t *len_out)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	if (tweak)
		tweak(img);
	const char *p = write_tmp(img, len);
	free(img);
	if (len_out)
		*len_out = len;
	return p;
}

TestSuite(bzimage, .init = setup, .fini = teardown);

Test(bzimage, loads_at_pref_address)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	const char *k = write_tmp(img, len);
	cr_assert_eq(load(k, NULL, "console=ttyS0", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(entry.format, KERNEL_BZIMAGE);
	cr_assert_eq(entry.mode, BOOT_LONG64);
	cr_assert_eq(entry.rip, 16 * MiB + 0x200);
	cr_assert_eq(entry.info, BOOT_ZERO_PAGE_ADDR);
	cr_assert_eq(memcmp(gp(16 * MiB, BZ_CODE), img + BZ_SETUP, BZ_CODE), 0);
	cr_assert_str_eq((const char *)gp(BOOT_CMDLINE_ADDR, 14), "console=ttyS0");

	const struct boot_params *bp = zero_page();
	cr_assert_eq(bp->hdr.boot_flag, 0xAA55);
	cr_assert_eq(memcmp(&bp->hdr.header, "HdrS", 4), 0);
	cr_assert_eq(bp->hdr.version, 0x020F);
	cr_assert_eq(bp->hdr.type_of_loader, 0xFF);
	cr_assert_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	cr_assert_eq(bp->hdr.heap_end_ptr, 0xFE00);
	cr_assert_eq(bp->hdr.vid_mode, 0xFFFF);
	cr_assert_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(bp->ext_cmd_line_ptr, 0);
	cr_assert_eq(bp->hdr.ramdisk_image, 0);
	cr_assert_eq(bp->hdr.ramdisk_size, 0);
	cr_assert_eq(bp->hdr.code32_start, 16 * MiB);
	cr_assert_eq(bp->hdr.pref_address, 16 * MiB);
	cr_assert_eq(bp->hdr.init_size, 1 * MiB);
	cr_assert_eq(bp->acpi_rsdp_addr, 0);
	cr_assert_eq(bp->e820_entries, 3);
	cr_assert_eq(bp->e820_table[2].addr, HIGH_MEMORY_START);
	cr_assert_eq(bp->e820_table[2].addr + bp->e820_table[2].size, 64 * MiB);
	free(img);
}

Test(bzimage, rsdp_in_zero_page)
{
	const char *k = bz_file(NULL, NULL);
	cr_assert_eq(load_with(k, NULL, "", KERNEL_BZIMAGE, 0xE0000), 0, "%s", err);
	cr_assert_eq(zero_page()->acpi_rsdp_addr, 0xE0000);
}

static void not_relocatable(uint8_t *img)
{
	bz_hdr(img)->relocatable_kernel = 0;
}

Test(bzimage, non_relocatable_loads_at_1m)
{
	size_t len;
	const char *k = bz_file(not_relocatable, &len);
	cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(entry.rip, KERNEL_DEFAULT_ADDR + 0x200);
	cr_assert_eq(zero_page()->hdr.code32_start, KERNEL_DEFAULT_ADDR);

	/* It runs at pref_address: the initrd must avoid [1 MiB, 17 MiB). */
	struct bzimage_info bi;
	size_t blen;
	uint8_t *img = make_bzimage(&blen);
	not_relocatable(img);
	cr_assert_eq(bzimage_load("k", &guest_ram, img, blen, &bi, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(bi.load_addr, KERNEL_DEFAULT_ADDR);
	cr_assert_eq(bi.runtime_start, 16 * MiB);
	cr_assert_eq(bi.range_start, KERNEL_DEFAULT_ADDR);
	cr_assert_eq(bi.range_end, 17 * MiB);
	free(img);
}

static void huge_init_size(uint8_t *img)
{
	bz_hdr(img)->init_size = 60 * MiB; /* 16 MiB + 60 MiB > 64 MiB of RAM */
}

static void unaligned_pref(uint8_t *img)
{
	bz_hdr(img)->pref_address = 16 * MiB + 0x1000;
}

Test(bzimage, runtime_start_aligned)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	unaligned_pref(img);
	struct bzimage_info bi;
	cr_assert_eq(bzimage_load("k", &guest_ram, img, len, &bi, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(bi.load_addr, 16 * MiB + 0x1000);
	cr_assert_eq(bi.runtime_start, 18 * MiB);
	cr_assert_eq(bi.range_end, 19 * MiB);
	free(img);
}

static void sects_zero(uint8_t *img)
{
	bz_hdr(img)->setup_sects = 0; /* means 4, which is what the image has */
}

Test(bzimage, setup_sects_zero_means_four)
{
	const char *k = bz_file(sects_zero, NULL);
	cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(*(uint8_t *)gp(16 * MiB, 1), 3);
}

static void short_header(uint8_t *img)
{
	/* A 2.12-style header that ends after handover_offset: the bytes
	 * after it are code and must not reach the zero page. */
	img[0x201] = (uint8_t)(0x1F1 + offsetof(struct setup_header, kernel_info_offset) - 0x202);
	bz_hdr(img)->version = 0x020C;
	bz_hdr(img)->kernel_info_offset = 0xDEADBEEF;
}

Test(bzimage, header_length_from_jump)
{
	const char *k = bz_file(short_header, NULL);
	cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(zero_page()->hdr.kernel_info_offset, 0);
	cr_assert_eq(zero_page()->hdr.version, 0x020C);
	cr_assert_eq(zero_page()->hdr.init_size, 1 * MiB);
}

static void tiny_header(uint8_t *img)
{
	img[0x201] = 0x10;
}

static void old_protocol(uint8_t *img)
{
	bz_hdr(img)->version = 0x020B;
}

static void no_kernel64(uint8_t *img)
{
	bz_hdr(img)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
}

static void bad_boot_flag(uint8_t *img)
{
	bz_hdr(img)->boot_flag = 0x55AA;
}

static void bad_hdrs(uint8_t *img)
{
	memcpy(&bz_hdr(img)->header, "HdrX", 4);
}

static void zimage(uint8_t *img)
{
	bz_hdr(img)->loadflags = 0;
}

static void no_syssize(uint8_t *img)
{
	bz_hdr(img)->syssize = 0;
}

static void small_init_size(uint8_t *img)
{
	bz_hdr(img)->init_size = BZ_CODE - 16;
}

static void bad_alignment(uint8_t *img)
{
	bz_hdr(img)->kernel_alignment = 0x300000;
}

static void low_pref(uint8_t *img)
{
	bz_hdr(img)->relocatable_kernel = 0;
	bz_hdr(img)->pref_address = 0x80000;
}

static void big_syssize(uint8_t *img)
{
	bz_hdr(img)->syssize = BZ_CODE / 16 + 1;
}

/* bzImages load_kernel() refuses: the synthetic image changed by `tweak`, loaded as `format`.
 * The error is one line naming the file and saying `msg`. */
static const struct {
	const char *name;
	void (*tweak)(uint8_t *img);
	enum kernel_format format;
	const char *msg;
} bz_refusals[] = {
    {"init_size beyond RAM", huge_init_size, KERNEL_AUTO, "init_size"},
    {"header too short", tiny_header, KERNEL_AUTO, "too short"},
    {"protocol 2.11", old_protocol, KERNEL_AUTO, "kernel has no 64-bit entry (boot protocol 2.11)"},
    {"no XLF_KERNEL_64", no_kernel64, KERNEL_AUTO,
     "kernel has no 64-bit entry (boot protocol 2.15)"},
    {"bad boot_flag, probed", bad_boot_flag, KERNEL_AUTO, "not a bzImage or ELF kernel"},
    {"bad boot_flag, forced", bad_boot_flag, KERNEL_BZIMAGE, "boot_flag"},
    {"bad HdrS, probed", bad_hdrs, KERNEL_AUTO, "not a bzImage or ELF kernel"},
    {"bad HdrS, forced", bad_hdrs, KERNEL_BZIMAGE, "HdrS"},
    {"zImage (no LOADED_HIGH)", zimage, KERNEL_AUTO, "LOADED_HIGH"},
    {"syssize 0", no_syssize, KERNEL_AUTO, "syssize is 0"},
    {"init_size below the code", small_init_size, KERNEL_AUTO, "init_size"},
    {"kernel_alignment not a power of two", bad_alignment, KERNEL_AUTO, "kernel_alignment"},
    {"syssize beyond the file", big_syssize, KERNEL_AUTO, "truncated: protected-mode code"},
    {"pref_address below 1 MiB", low_pref, KERNEL_AUTO, "below 1 MiB"},
    {"ELF loader forced on a bzImage", NULL, KERNEL_ELF, "not an ELF file"},
};

TABLE_TEST(bzimage, refused, bz_refusals, c)
{
	char what[96];
	snprintf(what, sizeof(what), "%s: ", c->name);
	const char *k = bz_file(c->tweak, NULL);
	cr_assert_eq(load(k, NULL, "", c->format), -1, "%s: loaded", c->name);
	expect_error_for(what, k, c->msg);
}

Test(bzimage, truncated_everywhere)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	const size_t cuts[] = {1,	0x100,	      0x1F0,	0x1FF,	      0x201,
			       0x205,	0x206,	      0x210,	0x250,	      0x267,
			       0x300,	BZ_SETUP - 1, BZ_SETUP, BZ_SETUP + 1, BZ_SETUP + 0x200,
			       len - 16};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t cut = cuts[i];
		const char *k = write_tmp(img, cut);
		cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), -1, "cut at 0x%zx loaded", cut);
		if (cut < 0x206)
			expect_error(k, "not a bzImage or ELF kernel");
		else
			expect_error(k, "truncated");
		cr_assert_eq(load(k, NULL, "", KERNEL_BZIMAGE), -1);
		expect_error(k, "truncated");
		unlink(k);
		n_tmp--;
	}
	free(img);
}

Test(bzimage, syssize_rounding_tolerated)
{
	/* syssize is rounded up to whole paragraphs: a file ending up to 15
	 * bytes before syssize * 16 is complete (Linux's build makes these). */
	size_t len;
	uint8_t *img = make_bzimage(&len);
	const char *k = write_tmp(img, len - 15);
	cr_assert_eq(load(k, NULL, "", KERNEL_BZIMAGE), 0);
	unlink(k);
	n_tmp--;
	free(img);
}

Test(bzimage, trailing_bytes_ignored)
{
	/* Signed kernels carry a signature after syssize * 16 bytes. */
	size_t len;
	uint8_t *img = make_bzimage(&len);
	uint8_t *big = calloc(1, len + 1472);
	memcpy(big, img, len);
	memset(big + len, 0xEE, 1472);
	const char *k = write_tmp(big, len + 1472);
	cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(*(uint8_t *)gp(16 * MiB + BZ_CODE, 1), 0);
	free(img);
	free(big);
}

Test(bzimage, cmdline_limits)
{
	const char *k = bz_file(NULL, NULL);
	char *line = malloc(0x800 + 1);
	memset(line, 'a', 0x7FF);
	line[0x7FF] = '\0';
	cr_assert_eq(load(k, NULL, line, KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(strlen((const char *)gp(BOOT_CMDLINE_ADDR, 0x800)), 0x7FF);
	line[0x7FF] = 'a';
	line[0x800] = '\0';
	cr_assert_eq(load(k, NULL, line, KERNEL_AUTO), -1);
	expect_error(k, "command line is 2048 bytes, this kernel accepts at most 2047");
	free(line);
}

Test(bzimage, initrd_at_top_of_ram)
{
	const char *k = bz_file(NULL, NULL);
	uint8_t rd[10000];
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i ^ 0x5A);
	const char *r = write_tmp(rd, sizeof(rd));
	cr_assert_eq(load(k, r, "", KERNEL_AUTO), 0, "%s", err);
	const struct boot_params *bp = zero_page();
	uint64_t addr = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
	cr_assert_eq(addr, (64 * MiB - sizeof(rd)) & ~0xFFFULL);
	cr_assert_eq(bp->hdr.ramdisk_size, sizeof(rd));
	cr_assert_eq(bp->ext_ramdisk_size, 0);
	cr_assert_eq(memcmp(gp(addr, sizeof(rd)), rd, sizeof(rd)), 0);
}

static void low_initrd_max(uint8_t *img)
{
	bz_hdr(img)->initrd_addr_max = 32 * MiB - 1;
}

Test(bzimage, initrd_below_initrd_addr_max)
{
	const char *k = bz_file(low_initrd_max, NULL);
	const char *r = write_sparse(3 * MiB + 5);
	cr_assert_eq(load(k, r, "", KERNEL_AUTO), 0, "%s", err);
	uint64_t addr = zero_page()->hdr.ramdisk_image;
	cr_assert_eq(addr, (32 * MiB - (3 * MiB + 5)) & ~0xFFFULL);
	cr_assert_leq(addr + 3 * MiB + 5, 32 * MiB);
}

static void initrd_max_in_kernel(uint8_t *img)
{
	bz_hdr(img)->initrd_addr_max = 16 * MiB + 512 * 1024 - 1;
}

Test(bzimage, initrd_avoids_kernel)
{
	const char *k = bz_file(initrd_max_in_kernel, NULL);
	const char *r = write_sparse(64 * 1024);
	cr_assert_eq(load(k, r, "", KERNEL_AUTO), 0, "%s", err);
	uint64_t addr = zero_page()->hdr.ramdisk_image;
	cr_assert_eq(addr, 16 * MiB - 64 * 1024);
}

Test(bzimage, initrd_too_big)
{
	const char *k = bz_file(NULL, NULL);
	const char *r = write_sparse(70 * MiB);
	cr_assert_eq(load(k, r, "", KERNEL_AUTO), -1);
	expect_error(r, "does not fit");
	/* 48 MiB fits neither above the kernel (17..64) nor below it (1..16). */
	r = write_sparse(48 * MiB);
	cr_assert_eq(load(k, r, "", KERNEL_AUTO), -1);
	expect_error(r, "does not fit");
	/* 47 MiB does, just above the kernel. */
	r = write_sparse(47 * MiB);
	cr_assert_eq(load(k, r, "", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(zero_page()->hdr.ramdisk_image, 17 * MiB);
}

Test(bzimage, probe_and_parse)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	cr_assert(bzimage_probe(img, len));
	cr_assert_not(bzimage_probe(img, 0x205));
	struct bzimage_info bi;
	cr_assert_eq(bzimage_parse("k", img, len, &bi, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(bi.version, 0x020F);
	cr_assert(bi.relocatable);
	cr_assert_eq(bi.setup_size, BZ_SETUP);
	cr_assert_eq(bi.code_size, BZ_CODE);
	cr_assert_eq(bi.hdr_len, sizeof(struct setup_header));
	cr_assert_eq(bi.cmdline_size, 0x7FF);
	cr_assert_eq(bi.initrd_addr_max, 0x7FFFFFFF);
	free(img);
}

/* ---- synthetic ELF ------------------------------------------------------ */

struct elf_opts {
	bool is64;
	uint16_t machine;
	uint16_t type;
	uint64_t paddr, vaddr, entry;
	uint64_t filesz, memsz;
	unsigned note_size;   /* 0: no PVH note, else 4 or 8 */
	bool note_in_section; /* SHT_NOTE section instead of PT_NOTE */
	uint64_t pvh_entry;
};

#define ELF_DATA_OFF 0x1000
#define ELF_NOTE_OFF 0x100
#define ELF_SHDR_OFF 0x180

static struct elf_opts elf64_opts(void)
{
	return (struct elf_opts){.is64 = true,
				 .machine = EM_X86_64,
				 .type = ET_EXEC,
				 .paddr = 16 * MiB,
				 .vaddr = 0xFFFFFFFF81000000ULL,
				 .entry = 16 * MiB,
				 .filesz = 0x3000,
				 .memsz = 0x5000,
				 .pvh_entry = 16 * MiB + 0x10};
}

static struct elf_opts elf32_pvh_opts(void)
{
	return (struct elf_opts){.is64 = false,
				 .machine = EM_386,
				 .type = ET_EXEC,
				 .paddr = 1 * MiB,
				 .vaddr = 1 * MiB,
				 .entry = 1 * MiB,
				 .filesz = 0x2000,
				 .memsz = 0x2800,
				 .note_size = 4,
				 .pvh_entry = 1 * MiB + 0x40};
}

static size_t write_note(uint8_t *p, const struct elf_opts *o)
{
	Elf32_Nhdr n = {.n_namesz = 4, .n_descsz = o->note_size, .n_type = 18};
	memcpy(p, &n, sizeof(n));
	memcpy(p + 12, "Xen", 4);
	memcpy(p + 16, &o->pvh_entry, o->note_size);
	return 16 + o->note_size;
}

static uint8_t *make_elf(const struct elf_opts *o, size_t *len)
{
	*len = ELF_DATA_OFF + o->filesz;
	uint8_t *img = calloc(1, *len);
	cr_assert_not_null(img);
	bool pt_note = o->note_size && !o->note_in_section;
	size_t note_len = o->note_size ? write_note(img + ELF_NOTE_OFF, o) : 0;
	unsigned char ident[EI_NIDENT] = {
	    ELFMAG0,	 ELFMAG1,   ELFMAG2, ELFMAG3, o->is64 ? ELFCLASS64 : ELFCLASS32,
	    ELFDATA2LSB, EV_CURRENT};
	if (o->is64) {
		Elf64_Ehdr e = {.e_type = o->type,
				.e_machine = o->machine,
				.e_version = EV_CURRENT,
				.e_entry = o->entry,
				.e_phoff = sizeof(Elf64_Ehdr),
				.e_ehsize = sizeof(Elf64_Ehdr),
				.e_phentsize = sizeof(Elf64_Phdr),
				.e_phnum = pt_note ? 2 : 1};
		memcpy(e.e_ident, ident, EI_NIDENT);
		Elf64_Phdr ph[2] = {{.p_type = PT_LOAD,
				     .p_offset = ELF_DATA_OFF,
				     .p_vaddr = o->vaddr,
				     .p_paddr = o->paddr,
				     .p_filesz = o->filesz,
				     .p_memsz = o->memsz,
				     .p_align = 0x1000},
				    {.p_type = PT_NOTE,
				     .p_offset = ELF_NOTE_OFF,
				     .p_filesz = note_len,
				     .p_memsz = note_len,
				     .p_align = 4}};
		if (o->note_in_section) {
			e.e_shoff = ELF_SHDR_OFF;
			e.e_shentsize = sizeof(Elf64_Shdr);
			e.e_shnum = 2;
			Elf64_Shdr sh[2] = {{0},
					    {.sh_type = SHT_NOTE,
					     .sh_offset = ELF_NOTE_OFF,
					     .sh_size = note_len,
					     .sh_addralign = 4}};
			memcpy(img + ELF_SHDR_OFF, sh, sizeof(sh));
		}
		memcpy(img, &e, sizeof(e));
		memcpy(img + e.e_phoff, ph, e.e_phnum * sizeof(ph[0]));
	} else {
		Elf32_Ehdr e = {.e_type = o->type,
				.e_machine = o->machine,
				.e_version = EV_CURRENT,
				.e_entry = (Elf32_Addr)o->entry,
				.e_phoff = sizeof(Elf32_Ehdr),
				.e_ehsize = sizeof(Elf32_Ehdr),
				.e_phentsize = sizeof(Elf32_Phdr),
				.e_phnum = pt_note ? 2 : 1};
		memcpy(e.e_ident, ident, EI_NIDENT);
		Elf32_Phdr ph[2] = {{.p_type = PT_LOAD,
				     .p_offset = ELF_DATA_OFF,
				     .p_vaddr = (Elf32_Addr)o->vaddr,
				     .p_paddr = (Elf32_Addr)o->paddr,
				     .p_filesz = (Elf32_Word)o->filesz,
				     .p_memsz = (Elf32_Word)o->memsz,
				     .p_align = 0x1000},
				    {.p_type = PT_NOTE,
				     .p_offset = ELF_NOTE_OFF,
				     .p_filesz = (Elf32_Word)note_len,
				     .p_memsz = (Elf32_Word)note_len,
				     .p_align = 4}};
		if (o->note_in_section) {
			e.e_shoff = ELF_SHDR_OFF;
			e.e_shentsize = sizeof(Elf32_Shdr);
			e.e_shnum = 2;
			Elf32_Shdr sh[2] = {{0},
					    {.sh_type = SHT_NOTE,
					     .sh_offset = ELF_NOTE_OFF,
					     .sh_size = (Elf32_Word)note_len,
					     .sh_addralign = 4}};
			memcpy(img + ELF_SHDR_OFF, sh, sizeof(sh));
		}
		memcpy(img, &e, sizeof(e));
		memcpy(img + e.e_phoff, ph, e.e_phnum * sizeof(ph[0]));
	}
	for (uint64_t i = 0; i < o->filesz; i++)
		img[ELF_DATA_OFF + i] = (uint8_t)(i * 13 + 1);
	return img;
}

static const char *elf_file(const struct elf_opts *o)
{
	size_t len;
	uint8_t *img = make_elf(o, &len);
	const char *p = write_tmp(img, len);
	free(img);
	return p;
}

/* Fields of the first program header, patched in place. */
static Elf64_Phdr *ph64(uint8_t *img)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));
}

static Elf64_Ehdr *eh64(uint8_t *img)
{
	return (Elf64_Ehdr *)img;
}

TestSuite(elf, .init = setup, .fini = teardown);

Test(elf, vmlinux_64bit_entry)
{
	struct elf_opts o = elf64_opts();
	size_t len;
	uint8_t *img = make_elf(&o, &len);
	const char *k = write_tmp(img, len);
	memset(gp(16 * MiB, 0x5000), 0xCC, 0x5000);
	cr_assert_eq(load(k, NULL, "root=/dev/vda", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(entry.format, KERNEL_ELF);
	cr_assert_eq(entry.mode, BOOT_LONG64);
	cr_assert_eq(entry.rip, 16 * MiB);
	cr_assert_eq(entry.info, BOOT_ZERO_PAGE_ADDR);
	cr_assert_eq(memcmp(gp(16 * MiB, 0x3000), img + ELF_DATA_OFF, 0x3000), 0);
	const uint8_t *bss = gp(16 * MiB + 0x3000, 0x2000);
	for (size_t i = 0; i < 0x2000; i++)
		cr_assert_eq(bss[i], 0, "bss byte %zu not zeroed", i);

	const struct boot_params *bp = zero_page();
	cr_assert_eq(bp->hdr.boot_flag, 0xAA55);
	cr_assert_eq(memcmp(&bp->hdr.header, "HdrS", 4), 0);
	cr_assert_eq(bp->hdr.version, 0x020F);
	cr_assert_eq(bp->hdr.type_of_loader, 0xFF);
	cr_assert_eq(bp->hdr.kernel_alignment, 0x1000000);
	cr_assert_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(bp->hdr.cmdline_size, BOOT_CMDLINE_MAX - 1);
	cr_assert_str_eq((const char *)gp(BOOT_CMDLINE_ADDR, 14), "root=/dev/vda");
	cr_assert_eq(bp->e820_entries, 3);
	free(img);
}

Test(elf, virtual_entry_translated)
{
	struct elf_opts o = elf64_opts();
	o.entry = o.vaddr + 0x40;
	const char *k = elf_file(&o);
	cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(entry.rip, 16 * MiB + 0x40);
}

Test(elf, pvh_note_elf64)
{
	for (unsigned size = 4; size <= 8; size += 4) {
		struct elf_opts o = elf64_opts();
		o.note_size = size;
		const char *k = elf_file(&o);
		cr_assert_eq(load(k, NULL, "quiet", KERNEL_AUTO), 0, "%s", err);
		cr_assert_eq(entry.format, KERNEL_PVH);
		cr_assert_eq(entry.mode, BOOT_PVH32);
		cr_assert_eq(entry.rip, 16 * MiB + 0x10);
		cr_assert_eq(entry.info, BOOT_PVH_INFO_ADDR);
		const struct hvm_start_info *si = (const void *)gp(BOOT_PVH_INFO_ADDR, sizeof(*si));
		cr_assert_eq(si->magic, XEN_HVM_START_MAGIC_VALUE);
		cr_assert_eq(si->cmdline_paddr, BOOT_CMDLINE_ADDR);
		cr_assert_eq(si->nr_modules, 0);

		/* The same image forced through its 64-bit entry. */
		cr_assert_eq(load(k, NULL, "", KERNEL_ELF), 0, "%s", err);
		cr_assert_eq(entry.format, KERNEL_ELF);
		cr_assert_eq(entry.mode, BOOT_LONG64);
		cr_assert_eq(entry.rip, 16 * MiB);
	}
}

Test(elf, pvh_note_in_section_only)
{
	struct elf_opts o = elf64_opts();
	o.note_size = 4;
	o.note_in_section = true;
	const char *k = elf_file(&o);
	cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(entry.format, KERNEL_PVH);
	cr_assert_eq(entry.rip, 16 * MiB + 0x10);
}

Test(elf, pvh_elf32_with_initrd)
{
	struct elf_opts o = elf32_pvh_opts();
	const char *k = elf_file(&o);
	uint8_t rd[5000];
	memset(rd, 0xA5, sizeof(rd));
	const char *r = write_tmp(rd, sizeof(rd));
	cr_assert_eq(load_with(k, r, "init=/bin/sh", KERNEL_AUTO, 0xE0000), 0, "%s", err);
	cr_assert_eq(entry.format, KERNEL_PVH);
	cr_assert_eq(entry.mode, BOOT_PVH32);
	cr_assert_eq(entry.rip, 1 * MiB + 0x40);
	cr_assert_eq(entry.info, BOOT_PVH_INFO_ADDR);

	const struct hvm_start_info *si = (const void *)gp(BOOT_PVH_INFO_ADDR, sizeof(*si));
	cr_assert_eq(si->magic, XEN_HVM_START_MAGIC_VALUE);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->rsdp_paddr, 0xE0000);
	cr_assert_eq(si->nr_modules, 1);
	const struct hvm_modlist_entry *m = (const void *)gp(si->modlist_paddr, sizeof(*m));
	cr_assert_eq(m->paddr, (64 * MiB - sizeof(rd)) & ~0xFFFULL);
	cr_assert_eq(m->size, sizeof(rd));
	cr_assert_eq(memcmp(gp(m->paddr, sizeof(rd)), rd, sizeof(rd)), 0);
	cr_assert_str_eq((const char *)gp(si->cmdline_paddr, 13), "init=/bin/sh");
	cr_assert_eq(si->memmap_entries, 3);
}

static void set_machine_arm(uint8_t *img)
{
	eh64(img)->e_machine = EM_ARM;
}

static void set_big_endian(uint8_t *img)
{
	img[EI_DATA] = ELFDATA2MSB;
}

static void set_bad_class(uint8_t *img)
{
	img[EI_CLASS] = 7;
}

static void set_dyn(uint8_t *img)
{
	eh64(img)->e_type = ET_DYN;
}

static void set_bad_phentsize(uint8_t *img)
{
	eh64(img)->e_phentsize = sizeof(Elf64_Phdr) - 1;
}

static void set_phdrs_beyond(uint8_t *img)
{
	eh64(img)->e_phnum = 0x1000;
}

static void set_phoff_huge(uint8_t *img)
{
	eh64(img)->e_phoff = 0xFFFFFFFFFFFFFFF0ULL;
}

static void set_segment_beyond(uint8_t *img)
{
	ph64(img)->p_filesz = 0x3001;
	ph64(img)->p_memsz = 0x5000;
}

static void set_offset_huge(uint8_t *img)
{
	ph64(img)->p_offset = 0xFFFFFFFFFFFFF000ULL;
}

static void set_filesz_gt_memsz(uint8_t *img)
{
	ph64(img)->p_memsz = 0x2000;
}

static void set_no_load(uint8_t *img)
{
	ph64(img)->p_type = PT_DYNAMIC;
}

static void set_zero_phnum(uint8_t *img)
{
	eh64(img)->e_phnum = 0;
}

static void set_bad_version(uint8_t *img)
{
	img[EI_VERSION] = 0;
}

static void entry_far(struct elf_opts *o)
{
	o->entry = 0x7000000;
}

static void pvh_entry_far(struct elf_opts *o)
{
	o->note_size = 8;
	o->pvh_entry = 0x7000000;
}

static void no_note(struct elf_opts *o)
{
	o->note_size = 0;
}

static void machine_arm(struct elf_opts *o)
{
	o->machine = EM_ARM;
}

static void note4(struct elf_opts *o)
{
	o->note_size = 4;
}

static void set_note_descsz(uint8_t *img, uint32_t descsz)
{
	Elf32_Nhdr n = {.n_namesz = 4, .n_descsz = descsz, .n_type = 18};
	memcpy(img + ELF_NOTE_OFF, &n, sizeof(n));
}

static void set_note_too_long(uint8_t *img)
{
	set_note_descsz(img, 0x1000);
}

static void set_note_2_bytes(uint8_t *img)
{
	set_note_descsz(img, 2); /* a PVH note with a 2-byte value */
}

/* ELF images load_kernel() refuses: elf64_opts() (elf32_pvh_opts() with elf32), changed by
 * `opts`, with the segment moved to [paddr, paddr + memsz) and the entry at its start when memsz
 * is set, built, the image changed by `tweak`, and loaded as `format`. The error is one line
 * naming the file and saying `msg`. */
static const struct {
	const char *name;
	bool elf32;
	void (*opts)(struct elf_opts *o);
	uint64_t paddr, memsz;
	void (*tweak)(uint8_t *img);
	enum kernel_format format;
	const char *msg;
} elf_refusals[] = {
    {.name = "entry outside the segments",
     .opts = entry_far,
     .msg = "entry point 0x7000000 is not inside a loaded segment"},
    {.name = "PVH forced without a note", .format = KERNEL_PVH, .msg = "no PVH entry note"},
    {.name = "32-bit without a note",
     .elf32 = true,
     .opts = no_note,
     .msg = "32-bit ELF without a PVH entry note"},
    {.name = "PVH entry outside the segments",
     .opts = pvh_entry_far,
     .msg = "PVH entry 0x7000000 is not inside a loaded segment"},
    {.name = "bzImage forced on an ELF", .format = KERNEL_BZIMAGE, .msg = "not a bzImage"},
    {.name = "32-bit for ARM",
     .elf32 = true,
     .opts = machine_arm,
     .msg = "32-bit ELF for machine 40, not i386"},
    {.name = "note longer than its segment",
     .opts = note4,
     .tweak = set_note_too_long,
     .msg = "malformed ELF note"},
    {.name = "PVH note of 2 bytes",
     .opts = note4,
     .tweak = set_note_2_bytes,
     .msg = "2-byte value"},
    {.name = "segment above RAM", .paddr = 0x10000000, .memsz = 0x5000, .msg = "outside guest RAM"},
    {.name = "segment across the end of RAM",
     .paddr = 64 * MiB - 0x1000,
     .memsz = 0x5000,
     .msg = "outside guest RAM"},
    {.name = "segment on the command line",
     .paddr = 0x20000,
     .memsz = 0x5000,
     .msg = "boot area below 1 MiB"},
    {.name = "segment into the boot area",
     .paddr = HIGH_MEMORY_START - 0x1000,
     .memsz = 0x5000,
     .msg = "boot area below 1 MiB"},
    {.name = "segment wrapping around",
     .paddr = 0xFFFFFFFFFFFFF000ULL,
     .memsz = 0x5000,
     .msg = "overflows"},
    {.name = "machine ARM", .tweak = set_machine_arm, .msg = "ELF for machine 40, not x86-64"},
    {.name = "big-endian", .tweak = set_big_endian, .msg = "not little-endian"},
    {.name = "bad class", .tweak = set_bad_class, .msg = "bad ELF class"},
    {.name = "bad version", .tweak = set_bad_version, .msg = "bad ELF version"},
    {.name = "ET_DYN", .tweak = set_dyn, .msg = "not an executable"},
    {.name = "bad e_phentsize", .tweak = set_bad_phentsize, .msg = "bad e_phentsize"},
    {.name = "program headers beyond the file",
     .tweak = set_phdrs_beyond,
     .msg = "program headers"},
    {.name = "huge e_phoff", .tweak = set_phoff_huge, .msg = "program headers"},
    {.name = "segment beyond the file",
     .tweak = set_segment_beyond,
     .msg = "beyond the end of the file"},
    {.name = "huge p_offset", .tweak = set_offset_huge, .msg = "beyond the end of the file"},
    {.name = "p_filesz > p_memsz",
     .tweak = set_filesz_gt_memsz,
     .msg = "p_filesz 0x3000 > p_memsz 0x2000"},
    {.name = "no PT_LOAD", .tweak = set_no_load, .msg = "no PT_LOAD segment"},
    {.name = "no program headers", .tweak = set_zero_phnum, .msg = "no PT_LOAD segment"},
};

TABLE_TEST(elf, refused, elf_refusals, c)
{
	char what[96];
	snprintf(what, sizeof(what), "%s: ", c->name);
	struct elf_opts o = c->elf32 ? elf32_pvh_opts() : elf64_opts();
	if (c->opts)
		c->opts(&o);
	if (c->memsz) {
		o.paddr = c->paddr;
		o.memsz = c->memsz;
		o.entry = o.vaddr;
	}
	size_t len;
	uint8_t *img = make_elf(&o, &len);
	if (c->tweak)
		c->tweak(img);
	const char *k = write_tmp(img, len);
	free(img);
	cr_assert_eq(load(k, NULL, "", c->format), -1, "%s: loaded", c->name);
	expect_error_for(what, k, c->msg);
}

Test(elf, truncated_everywhere)
{
	struct elf_opts o = elf64_opts();
	o.note_size = 4;
	size_t len;
	uint8_t *img = make_elf(&o, &len);
	const size_t cuts[] = {2,
			       16,
			       40,
			       63,
			       64,
			       64 + 30,
			       64 + 56,
			       64 + 111,
			       ELF_NOTE_OFF + 8,
			       ELF_DATA_OFF,
			       ELF_DATA_OFF + 1,
			       len - 1};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		const char *k = write_tmp(img, cuts[i]);
		cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), -1, "cut at %zu loaded", cuts[i]);
		if (cuts[i] < SELFMAG)
			expect_error(k, "not a bzImage or ELF kernel");
		else if (cuts[i] < 64)
			expect_error(k, "truncated ELF header");
		else if (cuts[i] < 64 + 2 * 56)
			expect_error(k, "program headers");
		else
			expect_error(k, "beyond the end of the file");
		unlink(k);
		n_tmp--;
	}
	free(img);
}

Test(elf, initrd_and_cmdline_limit)
{
	struct elf_opts o = elf64_opts();
	const char *k = elf_file(&o);
	const char *r = write_sparse(8 * MiB);
	cr_assert_eq(load(k, r, "", KERNEL_AUTO), 0, "%s", err);
	const struct boot_params *bp = zero_page();
	cr_assert_eq(bp->hdr.ramdisk_image, 56 * MiB);
	cr_assert_eq(bp->hdr.ramdisk_size, 8 * MiB);

	char *line = malloc(BOOT_CMDLINE_MAX + 1);
	memset(line, 'x', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = '\0';
	cr_assert_eq(load(k, NULL, line, KERNEL_AUTO), -1);
	expect_error(k, "command line is 65536 bytes, this kernel accepts at most 65535");
	line[BOOT_CMDLINE_MAX - 1] = '\0';
	cr_assert_eq(load(k, NULL, line, KERNEL_AUTO), 0, "%s", err);
	free(line);
}

/* ---- files --------------------------------------------------------------- */

TestSuite(files, .init = setup, .fini = teardown);

Test(files, missing_kernel)
{
	cr_assert_eq(load("/nonexistent/vmlinuz", NULL, "", KERNEL_AUTO), -1);
	expect_error("/nonexistent/vmlinuz", "No such file or directory");
}

Test(files, empty_kernel)
{
	const char *k = write_tmp("", 0);
	cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), -1);
	expect_error(k, "empty file");
}

Test(files, directory_kernel)
{
	char dir[PATH_MAX];
	make_tmp_dir(dir, sizeof(dir), "loaderdir");
	int r = load(dir, NULL, "", KERNEL_AUTO);
	rmdir(dir);
	cr_assert_eq(r, -1);
	expect_error(dir, "not a regular file");
}

Test(files, junk_kernel)
{
	char junk[4096];
	memset(junk, 0x90, sizeof(junk));
	const char *k = write_tmp(junk, sizeof(junk));
	cr_assert_eq(load(k, NULL, "", KERNEL_AUTO), -1);
	expect_error(k, "not a bzImage or ELF kernel");
}

Test(files, bad_initrd)
{
	const char *k = bz_file(NULL, NULL);
	const char *r = write_tmp("", 0);
	cr_assert_eq(load(k, r, "", KERNEL_AUTO), -1);
	expect_error(r, "empty file");
	cr_assert_eq(load(k, "/nonexistent/initrd", "", KERNEL_AUTO), -1);
	expect_error("/nonexistent/initrd", "No such file or directory");
	cr_assert_eq(load(k, "", "", KERNEL_AUTO), 0, "empty initrd path means none: %s", err);
}

Test(files, null_cmdline)
{
	const char *k = bz_file(NULL, NULL);
	cr_assert_eq(load(k, NULL, NULL, KERNEL_AUTO), 0, "%s", err);
	cr_assert_eq(*(uint8_t *)gp(BOOT_CMDLINE_ADDR, 1), 0);
}

/* ---- the Debian cloud kernel, when installed ----------------------------- */

static bool find_boot_file(const char *pattern, char *out, size_t outlen)
{
	glob_t g;
	bool found = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0;
	if (found)
		snprintf(out, outlen, "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return found && access(out, R_OK) == 0;
}

TestSuite(debian, .init = setup, .fini = teardown);

Test(debian, cloud_bzimage)
{
	char kernel[256], initrd[256];
	if (!find_boot_file("/boot/vmlinuz-*-cloud-amd64", kernel, sizeof(kernel)))
		cr_skip_test("no readable /boot/vmlinuz-*-cloud-amd64 (linux-image-cloud-amd64 "
			     "not installed)");
	bool have_initrd = find_boot_file("/boot/initrd.img-*-cloud-amd64", initrd, sizeof(initrd));
	ram_map(256 * MiB);

	cr_assert_eq(load_with(kernel, have_initrd ? initrd : NULL, "console=ttyS0 quiet",
			       KERNEL_AUTO, 0xE0000),
		     0, "%s", err);
	cr_assert_eq(entry.format, KERNEL_BZIMAGE);
	cr_assert_eq(entry.mode, BOOT_LONG64);
	cr_assert_eq(entry.info, BOOT_ZERO_PAGE_ADDR);

	const struct boot_params *bp = zero_page();
	const struct setup_header *h = &bp->hdr;
	cr_assert_eq(h->boot_flag, 0xAA55);
	cr_assert_geq(h->version, 0x020C);
	cr_assert(h->xloadflags & XLF_KERNEL_64);
	cr_assert(h->relocatable_kernel);
	cr_assert_eq(entry.rip, h->pref_address + 0x200, "rip 0x%llx pref 0x%llx",
		     (unsigned long long)entry.rip, (unsigned long long)h->pref_address);
	cr_assert_eq(h->code32_start, h->pref_address);
	cr_assert_eq(h->type_of_loader, 0xFF);
	cr_assert_eq(h->loadflags & (LOADED_HIGH | CAN_USE_HEAP), LOADED_HIGH | CAN_USE_HEAP);
	cr_assert_eq(h->heap_end_ptr, 0xFE00);
	cr_assert_eq(h->vid_mode, 0xFFFF);
	cr_assert_eq(h->cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_str_eq((const char *)gp(BOOT_CMDLINE_ADDR, 20), "console=ttyS0 quiet");
	cr_assert_eq(bp->acpi_rsdp_addr, 0xE0000);
	cr_assert_eq(bp->e820_entries, 3);
	cr_assert_eq(bp->e820_table[2].addr + bp->e820_table[2].size, 256 * MiB);

	/* The protected-mode code is in place. */
	FILE *f = fopen(kernel, "rb");
	cr_assert_not_null(f);
	unsigned sects = h->setup_sects ? h->setup_sects : 4;
	uint8_t buf[4096];
	cr_assert_eq(fseek(f, (long)(sects + 1) * 512, SEEK_SET), 0);
	cr_assert_eq(fread(buf, 1, sizeof(buf), f), sizeof(buf));
	fclose(f);
	cr_assert_eq(memcmp(gp(h->pref_address, sizeof(buf)), buf, sizeof(buf)), 0);

	if (have_initrd) {
		struct stat st;
		cr_assert_eq(stat(initrd, &st), 0);
		uint64_t addr = h->ramdisk_image;
		cr_assert_eq(h->ramdisk_size, (uint64_t)st.st_size);
		cr_assert_eq(addr % 4096, 0);
		cr_assert_leq(addr + h->ramdisk_size, 256 * MiB);
		cr_assert_geq(addr, h->pref_address + h->init_size, "initrd inside the kernel");
		cr_assert_gt(addr + h->ramdisk_size + 4096, 256 * MiB, "initrd not at the top");
	}
}

Test(debian, cloud_bzimage_needs_ram)
{
	char kernel[256];
	if (!find_boot_file("/boot/vmlinuz-*-cloud-amd64", kernel, sizeof(kernel)))
		cr_skip_test("no readable /boot/vmlinuz-*-cloud-amd64 (linux-image-cloud-amd64 "
			     "not installed)");
	/* pref_address (16 MiB) + init_size (~50 MiB) does not fit in 32 MiB. */
	ram_map(32 * MiB);
	cr_assert_eq(load(kernel, NULL, "", KERNEL_AUTO), -1);
	expect_error(kernel, "init_size");
}
