/* loader_elf.c - parses ELF32/ELF64 kernels, finds the PVH entry note and
 * loads PT_LOAD segments at their physical addresses. */
#include "loader_elf.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "loader.h"
#include "platform.h"

#define FOUR_GIB 0x100000000ULL

/* A program header with the fields minnow uses, whatever the ELF class. */
struct elf_seg {
	uint32_t type;
	uint64_t offset;
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint64_t align;
};

/* The ELF header fields minnow uses. */
struct elf_hdr {
	bool is64;
	uint16_t type;
	uint16_t machine;
	uint64_t entry;
	uint64_t phoff;
	uint16_t phentsize;
	uint16_t phnum;
	uint64_t shoff;
	uint16_t shentsize;
	uint16_t shnum;
};

/* [off, off + size) lies inside a file of `len` bytes, without overflow. */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

bool elf_probe(const uint8_t *img, size_t len)
{
	return len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

static int read_ehdr(const char *name, const uint8_t *img, size_t len, struct elf_hdr *h, char *err,
		     size_t errlen)
{
	if (!elf_probe(img, len))
		return loader_fail(err, errlen, "%s: not an ELF file", name);
	if (len < EI_NIDENT)
		return loader_fail(err, errlen, "%s: truncated ELF header", name);
	unsigned cls = img[EI_CLASS];
	if (cls != ELFCLASS32 && cls != ELFCLASS64)
		return loader_fail(err, errlen, "%s: bad ELF class %u", name, cls);
	if (img[EI_DATA] != ELFDATA2LSB)
		return loader_fail(err, errlen, "%s: ELF is not little-endian (EI_DATA %u)", name,
				   img[EI_DATA]);
	if (img[EI_VERSION] != EV_CURRENT)
		return loader_fail(err, errlen, "%s: bad ELF version %u", name, img[EI_VERSION]);

	h->is64 = cls == ELFCLASS64;
	if (h->is64) {
		Elf64_Ehdr e;
		if (len < sizeof(e))
			return loader_fail(err, errlen, "%s: truncated ELF header", name);
		memcpy(&e, img, sizeof(e));
		*h = (struct elf_hdr){true,	     e.e_type,	    e.e_machine, e.e_entry,
				      e.e_phoff,     e.e_phentsize, e.e_phnum,	 e.e_shoff,
				      e.e_shentsize, e.e_shnum};
	} else {
		Elf32_Ehdr e;
		if (len < sizeof(e))
			return loader_fail(err, errlen, "%s: truncated ELF header", name);
		memcpy(&e, img, sizeof(e));
		*h = (struct elf_hdr){false,	     e.e_type,	    e.e_machine, e.e_entry,
				      e.e_phoff,     e.e_phentsize, e.e_phnum,	 e.e_shoff,
				      e.e_shentsize, e.e_shnum};
	}
	if (h->is64 && h->machine != EM_X86_64)
		return loader_fail(err, errlen, "%s: ELF for machine %u, not x86-64", name,
				   h->machine);
	if (!h->is64 && h->machine != EM_386)
		return loader_fail(err, errlen, "%s: 32-bit ELF for machine %u, not i386", name,
				   h->machine);
	if (h->type != ET_EXEC)
		return loader_fail(err, errlen, "%s: ELF type %u, not an executable (ET_EXEC)",
				   name, h->type);
	size_t want = h->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (h->phentsize != want)
		return loader_fail(err, errlen, "%s: bad e_phentsize %u (expected %zu)", name,
				   h->phentsize, want);
	if (!in_file(h->phoff, (uint64_t)h->phnum * h->phentsize, len))
		return loader_fail(
		    err, errlen,
		    "%s: program headers (%u at offset 0x%llx) beyond the end of the file", name,
		    h->phnum, (unsigned long long)h->phoff);
	return 0;
}

static void read_phdr(const uint8_t *img, const struct elf_hdr *h, unsigned i, struct elf_seg *s)
{
	uint64_t off = h->phoff + (uint64_t)i * h->phentsize;
	if (h->is64) {
		Elf64_Phdr p;
		memcpy(&p, img + off, sizeof(p));
		*s = (struct elf_seg){p.p_type,	  p.p_offset, p.p_vaddr, p.p_paddr,
				      p.p_filesz, p.p_memsz,  p.p_align};
	} else {
		Elf32_Phdr p;
		memcpy(&p, img + off, sizeof(p));
		*s = (struct elf_seg){p.p_type,	  p.p_offset, p.p_vaddr, p.p_paddr,
				      p.p_filesz, p.p_memsz,  p.p_align};
	}
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Walks the notes in file bytes [off, off + size) (already bounds-checked)
 * padded to `align` (4 or 8). Records a PVH entry note in `info`. Returns 0,
 * or -1 with `err` filled for a malformed note area. */
static int scan_notes(const char *name, const uint8_t *img, uint64_t off, uint64_t size,
		      uint64_t align, struct elf_info *info, char *err, size_t errlen)
{
	uint64_t end = off + size;
	while (end - off >= sizeof(Elf32_Nhdr)) {
		Elf32_Nhdr n; /* Elf64_Nhdr has the same 32-bit fields */
		memcpy(&n, img + off, sizeof(n));
		uint64_t name_off = off + sizeof(n);
		uint64_t name_sz = align_up(n.n_namesz, align);
		uint64_t desc_sz = align_up(n.n_descsz, align);
		if (name_sz > end - name_off || desc_sz > end - name_off - name_sz)
			return loader_fail(err, errlen, "%s: malformed ELF note at offset 0x%llx",
					   name, (unsigned long long)off);
		uint64_t desc_off = name_off + name_sz;
		if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 &&
		    memcmp(img + name_off, "Xen", 4) == 0) {
			if (n.n_descsz == 4) {
				uint32_t v;
				memcpy(&v, img + desc_off, sizeof(v));
				info->pvh_entry = v;
			} else if (n.n_descsz == 8) {
				uint64_t v;
				memcpy(&v, img + desc_off, sizeof(v));
				info->pvh_entry = v;
			} else {
				return loader_fail(
				    err, errlen,
				    "%s: PVH entry note has a %u-byte value, expected 4 or 8", name,
				    n.n_descsz);
			}
			info->has_pvh = true;
			return 0;
		}
		off = desc_off + desc_sz;
	}
	return 0;
}

/* Looks for the PVH note in SHT_NOTE sections. Section headers are optional
 * for loading, so a table that does not fit the file is ignored. */
static int scan_note_sections(const char *name, const uint8_t *img, size_t len,
			      const struct elf_hdr *h, struct elf_info *info, char *err,
			      size_t errlen)
{
	size_t want = h->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (h->shoff == 0 || h->shnum == 0 || h->shentsize != want ||
	    !in_file(h->shoff, (uint64_t)h->shnum * want, len))
		return 0;
	for (unsigned i = 0; i < h->shnum && !info->has_pvh; i++) {
		uint64_t at = h->shoff + (uint64_t)i * want;
		uint64_t off, size, align;
		uint32_t type;
		if (h->is64) {
			Elf64_Shdr s;
			memcpy(&s, img + at, sizeof(s));
			type = s.sh_type, off = s.sh_offset, size = s.sh_size;
			align = s.sh_addralign;
		} else {
			Elf32_Shdr s;
			memcpy(&s, img + at, sizeof(s));
			type = s.sh_type, off = s.sh_offset, size = s.sh_size;
			align = s.sh_addralign;
		}
		if (type != SHT_NOTE)
			continue;
		if (!in_file(off, size, len))
			return loader_fail(
			    err, errlen, "%s: note section %u beyond the end of the file", name, i);
		if (scan_notes(name, img, off, size, align == 8 ? 8 : 4, info, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int elf_parse(const char *name, const uint8_t *img, size_t len, struct elf_info *info, char *err,
	      size_t errlen)
{
	memset(info, 0, sizeof(*info));
	struct elf_hdr h;
	if (read_ehdr(name, img, len, &h, err, errlen) < 0)
		return -1;
	info->is64 = h.is64;
	info->e_entry = h.entry;

	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf_seg s;
		read_phdr(img, &h, i, &s);
		if (s.type != PT_LOAD && s.type != PT_NOTE)
			continue;
		if (!in_file(s.offset, s.filesz, len))
			return loader_fail(
			    err, errlen,
			    "%s: segment %u (offset 0x%llx, %llu bytes) beyond the end of "
			    "the file (%zu bytes)",
			    name, i, (unsigned long long)s.offset, (unsigned long long)s.filesz,
			    len);
		if (s.type == PT_NOTE) {
			if (!info->has_pvh &&
			    scan_notes(name, img, s.offset, s.filesz, s.align == 8 ? 8 : 4, info,
				       err, errlen) < 0)
				return -1;
			continue;
		}
		if (s.filesz > s.memsz)
			return loader_fail(
			    err, errlen, "%s: segment %u: p_filesz 0x%llx > p_memsz 0x%llx", name,
			    i, (unsigned long long)s.filesz, (unsigned long long)s.memsz);
		if (s.paddr + s.memsz < s.paddr)
			return loader_fail(
			    err, errlen,
			    "%s: segment %u: p_paddr 0x%llx + p_memsz 0x%llx overflows", name, i,
			    (unsigned long long)s.paddr, (unsigned long long)s.memsz);
		if (s.memsz == 0)
			continue;
		if (info->n_load == 0 || s.paddr < info->range_start)
			info->range_start = s.paddr;
		if (info->n_load == 0 || s.paddr + s.memsz > info->range_end)
			info->range_end = s.paddr + s.memsz;
		info->n_load++;
	}
	if (info->n_load == 0)
		return loader_fail(err, errlen, "%s: no PT_LOAD segment", name);
	if (!info->has_pvh && scan_note_sections(name, img, len, &h, info, err, errlen) < 0)
		return -1;
	return 0;
}

/* Finds the segment holding physical `addr`; with `by_vaddr`, the one holding
 * virtual `addr`, translated to physical. Returns false when none does. */
static bool find_entry(const uint8_t *img, const struct elf_hdr *h, uint64_t addr, bool by_vaddr,
		       uint64_t *phys)
{
	for (unsigned i = 0; i < h->phnum; i++) {
		struct elf_seg s;
		read_phdr(img, h, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		uint64_t base = by_vaddr ? s.vaddr : s.paddr;
		if (addr >= base && addr - base < s.memsz) {
			*phys = s.paddr + (addr - base);
			return true;
		}
	}
	return false;
}

int elf_load(const char *name, const struct guest_mem *mem, const uint8_t *img, size_t len,
	     bool pvh, struct elf_info *info, char *err, size_t errlen)
{
	if (elf_parse(name, img, len, info, err, errlen) < 0)
		return -1;
	struct elf_hdr h;
	if (read_ehdr(name, img, len, &h, err, errlen) < 0)
		return -1;

	if (pvh && !info->has_pvh)
		return loader_fail(err, errlen, "%s: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)",
				   name);
	if (!pvh && !info->is64)
		return loader_fail(
		    err, errlen,
		    "%s: 32-bit ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)", name);

	/* Check every segment before touching guest RAM. */
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf_seg s;
		read_phdr(img, &h, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		if (s.paddr < HIGH_MEMORY_START)
			return loader_fail(
			    err, errlen,
			    "%s: segment %u at 0x%llx overlaps the boot area below 1 MiB", name, i,
			    (unsigned long long)s.paddr);
		if (!guest_ptr(mem, s.paddr, s.memsz))
			return loader_fail(err, errlen,
					   "%s: segment %u [0x%llx, 0x%llx) is outside guest RAM",
					   name, i, (unsigned long long)s.paddr,
					   (unsigned long long)(s.paddr + s.memsz));
	}

	uint64_t entry;
	if (pvh) {
		entry = info->pvh_entry;
		if (!find_entry(img, &h, entry, false, &entry))
			return loader_fail(err, errlen,
					   "%s: PVH entry 0x%llx is not inside a loaded segment",
					   name, (unsigned long long)info->pvh_entry);
	} else if (!find_entry(img, &h, info->e_entry, false, &entry) &&
		   !find_entry(img, &h, info->e_entry, true, &entry)) {
		return loader_fail(err, errlen,
				   "%s: entry point 0x%llx is not inside a loaded segment", name,
				   (unsigned long long)info->e_entry);
	}
	if (entry >= FOUR_GIB)
		return loader_fail(err, errlen, "%s: entry point 0x%llx is above 4 GiB", name,
				   (unsigned long long)entry);
	info->entry = entry;

	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf_seg s;
		read_phdr(img, &h, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		uint8_t *dst = guest_ptr(mem, s.paddr, s.memsz);
		if (!dst) /* checked above */
			return loader_fail(err, errlen, "%s: segment %u is outside guest RAM", name,
					   i);
		memcpy(dst, img + s.offset, s.filesz);
		memset(dst + s.filesz, 0, s.memsz - s.filesz);
	}
	return 0;
}
