/* loader.h - loading a kernel image into guest RAM for one of the three
 * x86 boot protocols minnow speaks: Linux bzImage (64-bit entry), ELF
 * vmlinux (64-bit entry with a zero page) and PVH (hvm_start_info). */
#ifndef MINNOW_LOADER_H
#define MINNOW_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "guest_mem.h"

/* How the boot vCPU must be entered. */
enum boot_entry_mode {
	BOOT_LONG64, /* long mode, paging on (identity map of low 4 GiB), rsi = zero page */
	BOOT_PVH32,  /* 32-bit protected mode, paging off, ebx = hvm_start_info */
};

struct boot_entry {
	enum boot_entry_mode mode;
	uint64_t rip;
	uint64_t info;		   /* rsi (BOOT_LONG64) or ebx (BOOT_PVH32) */
	enum kernel_format format; /* the format actually loaded (never AUTO) */
};

/* Everything the loaders need to know about the VM. */
struct boot_request {
	const char *kernel_path;
	const char *initrd_path;   /* NULL or "" for none */
	const char *cmdline;	   /* final command line */
	enum kernel_format format; /* AUTO picks by content */
	uint64_t rsdp;		   /* ACPI RSDP gpa, 0 for none */
	/* A compressed bzImage: GUEST and AUTO boot it as it is; HOST loads its
	 * kernel decompressed on the host (kernel_cache.h) as an ELF vmlinux,
	 * or fails. */
	enum kernel_decompress decompress;
};

/* Loads kernel (and initrd, command line, boot information) into `mem` and
 * fills `entry` (whose format is ELF for a bzImage decompressed on the
 * host). Returns 0, or -1 with a one-line reason in err (for example
 * "vmlinuz: truncated setup header"), naming the file. Touches only guest RAM
 * at addresses given in platform.h and the ranges the images need. */
int load_kernel(const struct guest_mem *mem, const struct boot_request *req,
		struct boot_entry *entry, char *err, size_t errlen);

/* Formats a one-line loader error into err (errlen bytes) and returns -1;
 * shared by the format loaders. */
int loader_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
