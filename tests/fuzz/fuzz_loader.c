/* fuzz_loader.c - libFuzzer harness: load_kernel() on arbitrary images, with and without initrd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <asm/bootparam.h>

#include "fuzz.h"
#include "guest_mem.h"
#include "loader.h"
#include "platform.h"
#include "pvh_info.h"

/* The image bytes go to a memfd, loaded as bzImage, ELF, PVH or AUTO into 64 MiB of guest
 * RAM; what a successful load reports is checked against guest memory. */

#define RAM_SIZE   (64ULL << 20)
#define INITRD_MAX (80ULL << 20) /* larger than RAM: "does not fit" is reachable */

/* Input header (7 bytes), then the kernel image. */
#define F_FORMAT_MASK 0x03 /* enum kernel_format */
#define F_INITRD      0x04 /* load an initrd of the size given */
#define F_RSDP	      0x08 /* pass an RSDP address */
#define F_EMPTY_PATH  0x10 /* kernel path "" (refused before any I/O) */

static struct guest_mem mem;
static int kernel_fd = -1, initrd_fd = -1;
static char kernel_path[32], initrd_path[32];
static char cmdline[BOOT_CMDLINE_MAX + 1];

/* The initrd: a short header at the start and a marker byte at the end,
 * holes in between (sparse memfd), so that sizes up to INITRD_MAX are cheap. */
static const uint8_t initrd_head[16] = "minnow-initrd-00";
#define INITRD_TAIL 0xA5

static int make_memfd(const char *name, char *proc, size_t proclen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		abort();
	snprintf(proc, proclen, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* malloc'd rather than guest_mem_map()'d: ASan then catches any write
	 * past the end of guest RAM. Same layout (all of it low RAM). */
	guest_mem_layout(&mem, RAM_SIZE);
	mem.host = malloc(RAM_SIZE);
	if (!mem.host)
		abort();
	memset(mem.host, 0, RAM_SIZE);
	kernel_fd = make_memfd("vmlinuz", kernel_path, sizeof(kernel_path));
	initrd_fd = make_memfd("initrd", initrd_path, sizeof(initrd_path));
	memset(cmdline, 'c', sizeof(cmdline));
	return 0;
}

static void set_file(int fd, const uint8_t *data, size_t len)
{
	if (ftruncate(fd, 0) < 0 || (len && pwrite(fd, data, len, 0) != (ssize_t)len))
		abort();
}

static void set_initrd(uint64_t size)
{
	uint8_t tail = INITRD_TAIL;
	size_t head = size < sizeof(initrd_head) ? (size_t)size : sizeof(initrd_head);
	if (ftruncate(initrd_fd, 0) < 0 || ftruncate(initrd_fd, (off_t)size) < 0 ||
	    pwrite(initrd_fd, initrd_head, head, 0) != (ssize_t)head ||
	    (size > head && pwrite(initrd_fd, &tail, 1, (off_t)size - 1) != 1))
		abort();
}

static const uint8_t *ram(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_ptr(&mem, gpa, len);
	FUZZ_CHECK(p, "[0x%llx, +0x%llx) is not guest RAM", (unsigned long long)gpa,
		   (unsigned long long)len);
	return p;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The initrd as the boot information describes it. */
static void check_initrd(uint64_t addr, uint64_t size, uint64_t want, uint64_t limit)
{
	FUZZ_CHECK(size == want, "initrd size %llu, file has %llu", (unsigned long long)size,
		   (unsigned long long)want);
	if (!want) {
		FUZZ_CHECK(addr == 0, "initrd address without an initrd");
		return;
	}
	FUZZ_CHECK(addr % 4096 == 0 && addr >= HIGH_MEMORY_START && addr + size <= limit,
		   "initrd at 0x%llx (+0x%llx), limit 0x%llx", (unsigned long long)addr,
		   (unsigned long long)size, (unsigned long long)limit);
	const uint8_t *p = ram(addr, size);
	size_t head = size < sizeof(initrd_head) ? (size_t)size : sizeof(initrd_head);
	FUZZ_CHECK(memcmp(p, initrd_head, head) == 0, "initrd contents");
	FUZZ_CHECK(size <= head || p[size - 1] == INITRD_TAIL, "initrd tail");
}

/* The protected-mode code of a bzImage, as bzimage_parse() sizes it. */
static void bzimage_code(const uint8_t *img, size_t len, uint64_t *off, uint64_t *code)
{
	struct setup_header h;
	memcpy(&h, img + 0x1F1, sizeof(h));
	uint64_t sects = h.setup_sects ? h.setup_sects : 4;
	*off = (sects + 1) * 512;
	*code = (uint64_t)h.syssize * 16;
	if (*code > len - *off)
		*code = len - *off; /* at most 15 bytes short, or the load failed */
}

static void check_loaded(const uint8_t *img, size_t len, const struct boot_entry *e,
			 enum kernel_format want, size_t cmdline_len, uint64_t initrd_size)
{
	FUZZ_CHECK(e->format != KERNEL_AUTO && (want == KERNEL_AUTO || e->format == want),
		   "format %d loaded for %d", e->format, want);
	FUZZ_CHECK((e->mode == BOOT_PVH32) == (e->format == KERNEL_PVH), "mode %d for format %d",
		   e->mode, e->format);
	FUZZ_CHECK(e->rip < (1ULL << 32) && guest_ptr(&mem, e->rip, 1), "entry 0x%llx",
		   (unsigned long long)e->rip);
	const char *cl = (const char *)ram(BOOT_CMDLINE_ADDR, cmdline_len + 1);
	FUZZ_CHECK(memcmp(cl, cmdline, cmdline_len) == 0 && cl[cmdline_len] == '\0', "cmdline");

	if (e->format == KERNEL_PVH) {
		FUZZ_CHECK(e->info == BOOT_PVH_INFO_ADDR, "PVH info at 0x%llx",
			   (unsigned long long)e->info);
		struct hvm_start_info si;
		memcpy(&si, ram(BOOT_PVH_INFO_ADDR, sizeof(si)), sizeof(si));
		FUZZ_CHECK(si.magic == XEN_HVM_START_MAGIC_VALUE, "hvm_start_info magic");
		FUZZ_CHECK(si.cmdline_paddr == BOOT_CMDLINE_ADDR, "PVH cmdline_paddr");
		FUZZ_CHECK(si.nr_modules == (initrd_size != 0), "nr_modules %u", si.nr_modules);
		if (si.nr_modules) {
			struct hvm_modlist_entry m;
			memcpy(&m, ram(si.modlist_paddr, sizeof(m)), sizeof(m));
			check_initrd(m.paddr, m.size, initrd_size, RAM_SIZE);
		}
		return;
	}

	FUZZ_CHECK(e->mode == BOOT_LONG64 && e->info == BOOT_ZERO_PAGE_ADDR, "zero page");
	struct boot_params bp;
	memcpy(&bp, ram(BOOT_ZERO_PAGE_ADDR, sizeof(bp)), sizeof(bp));
	FUZZ_CHECK(bp.hdr.cmd_line_ptr == BOOT_CMDLINE_ADDR && bp.ext_cmd_line_ptr == 0,
		   "cmd_line_ptr");
	uint64_t rd = bp.hdr.ramdisk_image | (uint64_t)bp.ext_ramdisk_image << 32;
	uint64_t rd_size = bp.hdr.ramdisk_size | (uint64_t)bp.ext_ramdisk_size << 32;
	if (e->format == KERNEL_ELF) {
		check_initrd(rd, rd_size, initrd_size, RAM_SIZE);
		return;
	}

	/* bzImage: the code at load_addr, the initrd below initrd_addr_max and
	 * clear of the code, and the command line no longer than cmdline_size. */
	struct setup_header h;
	memcpy(&h, img + 0x1F1, sizeof(h));
	uint64_t off, code, load = e->rip - 0x200;
	bzimage_code(img, len, &off, &code);
	FUZZ_CHECK(memcmp(ram(load, code), img + off, code) == 0,
		   "kernel code at 0x%llx differs from the image", (unsigned long long)load);
	FUZZ_CHECK(bp.hdr.code32_start == load, "code32_start");
	uint64_t max = h.initrd_addr_max ? h.initrd_addr_max : 0x37FFFFFF;
	check_initrd(rd, rd_size, initrd_size, max + 1 < RAM_SIZE ? max + 1 : RAM_SIZE);
	/* boot.rst: the kernel runs at pref_address, aligned up for a
	 * relocatable one, and needs init_size bytes there. */
	uint64_t run = h.pref_address ? h.pref_address : load;
	if (h.relocatable_kernel) {
		run = load > h.pref_address ? load : h.pref_address;
		run = (run + h.kernel_alignment - 1) & ~((uint64_t)h.kernel_alignment - 1);
	}
	FUZZ_CHECK(!rd_size || !overlaps(rd, rd_size, load, code), "initrd over the kernel code");
	FUZZ_CHECK(!rd_size || !overlaps(rd, rd_size, run, h.init_size),
		   "initrd [0x%llx, +0x%llx) inside the kernel's init_size area [0x%llx, +0x%x)",
		   (unsigned long long)rd, (unsigned long long)rd_size, (unsigned long long)run,
		   h.init_size);
	FUZZ_CHECK(cmdline_len <= h.cmdline_size, "cmdline of %zu bytes, cmdline_size %u",
		   cmdline_len, h.cmdline_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	uint8_t flags = fuzz_u8(&in);
	size_t cmdline_len = fuzz_u16(&in);
	uint64_t initrd_size = fuzz_u32(&in) % INITRD_MAX + 1;
	if (!(flags & F_INITRD))
		initrd_size = 0;
	size_t len;
	const uint8_t *img = fuzz_take(&in, SIZE_MAX, &len);

	set_file(kernel_fd, img, len);
	if (initrd_size)
		set_initrd(initrd_size);
	/* The boot structures must be written afresh by every load. */
	memset(mem.host, 0, HIGH_MEMORY_START);
	cmdline[cmdline_len] = '\0';

	enum kernel_format format = (enum kernel_format)(flags & F_FORMAT_MASK);
	struct boot_request req = {
	    .kernel_path = flags & F_EMPTY_PATH ? "" : kernel_path,
	    .initrd_path = initrd_size ? initrd_path : NULL,
	    .cmdline = cmdline,
	    .format = format,
	    .rsdp = flags & F_RSDP ? ACPI_TABLES_ADDR : 0,
	    .decompress = DECOMPRESS_GUEST, /* no cache files from fuzzing */
	};
	struct boot_entry entry;
	char err[512];
	err[0] = '\0';
	int r = load_kernel(&mem, &req, &entry, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -1, "load_kernel returned %d", r);
	if (getenv("MINNOW_FUZZ_LOG"))
		fprintf(stderr, "load_kernel: %s\n", r < 0 ? err : "loaded");
	if (r < 0) {
		size_t n = strnlen(err, sizeof(err));
		FUZZ_CHECK(n > 0 && n < sizeof(err) && !strchr(err, '\n'), "error message '%s'",
			   err);
		FUZZ_CHECK(!strncmp(err, req.kernel_path, strlen(req.kernel_path)) ||
			       (initrd_size && !strncmp(err, initrd_path, strlen(initrd_path))),
			   "error does not name the file: %s", err);
	} else {
		FUZZ_CHECK(!(flags & F_EMPTY_PATH), "loaded without a kernel path");
		check_loaded(img, len, &entry, format, cmdline_len, initrd_size);
	}
	cmdline[cmdline_len] = 'c';
	return 0;
}
