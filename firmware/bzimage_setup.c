/* bzimage_setup.c - host tool: wraps the linked minnow-test ELF into a Linux
 * bzImage (boot protocol 2.15, 64-bit entry, not relocatable): a boot sector
 * and one setup sector holding the setup header, then the image as a flat
 * binary meant for physical 1 MiB. Usage: bzimage_setup IN.elf OUT.bzimage */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_ADDR	   0x100000u
#define SETUP_SECTS	   1
#define SECTOR		   512
#define SETUP_SIZE	   ((SETUP_SECTS + 1) * SECTOR)
#define KERNEL_INFO_OFFSET 0x1C0 /* see entry.S */
#define MAX_IMAGE	   (16u << 20)

static int die(const char *what, const char *path)
{
	fprintf(stderr, "bzimage_setup: %s: %s\n", path, what);
	return 1;
}

static void put16(uint8_t *p, unsigned off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, unsigned off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, unsigned off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Builds the flat image from the PT_LOAD segments; returns its file size
 * and the memory size (including bss) through the pointers. */
static int flatten(const uint8_t *elf, size_t len, uint8_t *flat, uint64_t *file_size,
		   uint64_t *mem_size, const char *path)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return die("too short for an ELF header", path);
	memcpy(&eh, elf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr))
		return die("not an x86-64 ELF64 file", path);
	if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return die("program headers outside the file", path);
	*file_size = 0;
	*mem_size = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, elf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_paddr < LOAD_ADDR || ph.p_filesz > ph.p_memsz ||
		    ph.p_paddr + ph.p_memsz - LOAD_ADDR > MAX_IMAGE)
			return die("PT_LOAD outside [1 MiB, 1 MiB + 16 MiB)", path);
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return die("PT_LOAD outside the file", path);
		uint64_t off = ph.p_paddr - LOAD_ADDR;
		memcpy(flat + off, elf + ph.p_offset, ph.p_filesz);
		if (ph.p_filesz && off + ph.p_filesz > *file_size)
			*file_size = off + ph.p_filesz;
		if (off + ph.p_memsz > *mem_size)
			*mem_size = off + ph.p_memsz;
	}
	if (!*file_size)
		return die("no loadable bytes", path);
	if (eh.e_entry != LOAD_ADDR)
		return die("entry is not at 1 MiB (link.ld)", path);
	return 0;
}

static void fill_setup(uint8_t *s, uint64_t file_size, uint64_t mem_size)
{
	static const char version[] = "minnow-test";
	const unsigned version_at = 0x280; /* inside the setup sector */
	const unsigned stub_at = 0x270;	   /* real-mode code: cli; hlt; jmp . */

	s[0x1F1] = SETUP_SECTS;
	put32(s, 0x1F4, (uint32_t)((file_size + 15) / 16)); /* syssize */
	put16(s, 0x1FA, 0xFFFF);			    /* vid_mode: normal */
	put16(s, 0x1FE, 0xAA55);			    /* boot_flag */
	s[0x200] = 0xEB;				    /* jump to the stub */
	s[0x201] = (uint8_t)(stub_at - 0x202);
	memcpy(s + 0x202, "HdrS", 4);
	put16(s, 0x206, 0x020F);				     /* protocol 2.15 */
	put16(s, 0x20C, 0x1000);				     /* start_sys_seg */
	put16(s, 0x20E, version_at - 0x200);			     /* kernel_version */
	s[0x211] = 0x01;					     /* loadflags: LOADED_HIGH */
	put32(s, 0x214, LOAD_ADDR);				     /* code32_start */
	put32(s, 0x22C, 0x7FFFFFFF);				     /* initrd_addr_max */
	put32(s, 0x230, 0x100000);				     /* kernel_alignment */
	s[0x234] = 0;						     /* relocatable_kernel */
	s[0x235] = 12;						     /* min_alignment (log2) */
	put16(s, 0x236, 0x0001);				     /* xloadflags: XLF_KERNEL_64 */
	put32(s, 0x238, 0xFFFF);				     /* cmdline_size */
	put64(s, 0x258, LOAD_ADDR);				     /* pref_address */
	put32(s, 0x260, (uint32_t)((mem_size + 0xFFF) & ~0xFFFull)); /* init_size */
	put32(s, 0x268, KERNEL_INFO_OFFSET);			     /* kernel_info_offset */
	s[stub_at] = 0xFA;					     /* cli */
	s[stub_at + 1] = 0xF4;					     /* hlt */
	s[stub_at + 2] = 0xEB;					     /* jmp hlt */
	s[stub_at + 3] = 0xFD;
	memcpy(s + version_at, version, sizeof(version));
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bzimage_setup IN.elf OUT.bzimage\n");
		return 2;
	}
	size_t len;
	uint8_t *elf = read_file(argv[1], &len);
	if (!elf)
		return die(strerror(errno), argv[1]);
	uint8_t *out = calloc(1, SETUP_SIZE + MAX_IMAGE);
	if (!out)
		return die("out of memory", argv[1]);
	uint64_t file_size, mem_size;
	if (flatten(elf, len, out + SETUP_SIZE, &file_size, &mem_size, argv[1]))
		return 1;
	if (memcmp(out + SETUP_SIZE + KERNEL_INFO_OFFSET, "LToP", 4))
		return die("no kernel_info at offset 0x1C0 (entry.S)", argv[1]);
	fill_setup(out, file_size, mem_size);

	FILE *f = fopen(argv[2], "wb");
	if (!f)
		return die(strerror(errno), argv[2]);
	size_t total = SETUP_SIZE + (size_t)file_size;
	if (fwrite(out, 1, total, f) != total || fclose(f))
		return die("write failed", argv[2]);
	free(out);
	free(elf);
	return 0;
}
