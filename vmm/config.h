/* config.h - the VM description read from an ini file (inih) plus --set
 * overrides, validated, with the file and line of every key kept for errors. */
#ifndef MINNOW_CONFIG_H
#define MINNOW_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_NAME_MAX 64
#define CONFIG_CMDLINE_MAX 4096
#define CONFIG_MAX_VCPUS 64
#define CONFIG_MAX_DRIVES 8
#define CONFIG_MAX_NETS 4

/* Where a key's value came from: an ini file and line, or a --set option
 * (file "--set", line = 1-based position of the option). line 0: default. */
struct config_origin {
	const char *file;
	int line;
};

enum kernel_format { KERNEL_AUTO, KERNEL_BZIMAGE, KERNEL_ELF, KERNEL_PVH };
enum console_target { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE };
enum drive_cache { CACHE_WRITEBACK, CACHE_NONE };

struct config_path {
	char path[PATH_MAX]; /* empty when not set */
	struct config_origin at;
};

struct drive_config {
	char name[CONFIG_NAME_MAX];
	struct config_path path;
	bool readonly;
	enum drive_cache cache;
	char serial[21]; /* virtio-blk GET_ID: at most 20 bytes */
	struct config_origin at; /* the section header */
};

struct net_config {
	char name[CONFIG_NAME_MAX];
	char tap[16]; /* IFNAMSIZ */
	uint8_t mac[6];
	bool mac_set;
	struct config_origin at;
};

struct vm_config {
	const char *file; /* the ini file's path as given */

	/* [vm] */
	char name[CONFIG_NAME_MAX]; /* default: "minnow" */
	unsigned vcpus;             /* 1..CONFIG_MAX_VCPUS, default 1 */
	uint64_t memory;            /* bytes, GUEST_MEM_MIN..MAX, MiB multiple; default 128M */
	bool prefault;              /* populate guest RAM at start; default false */
	bool acpi;                  /* default true */
	unsigned boot_timeout_ms;   /* 0 = none (default) */

	/* [kernel] */
	struct config_path kernel;  /* required, must be a readable file */
	struct config_path initrd;  /* optional, must be a readable file */
	char cmdline[CONFIG_CMDLINE_MAX];
	enum kernel_format format;  /* default auto */
	bool cmdline_devices;       /* append virtio_mmio.device=...; default true */

	/* [console] output = stdio | file | none; path for file; input = on|off */
	enum console_target console;
	struct config_path console_path;
	bool console_input;         /* stdin feeds the UART; default true */

	/* devices: [drive.NAME] [net.NAME] [vsock] [rng] [vconsole] */
	struct drive_config drives[CONFIG_MAX_DRIVES];
	size_t n_drives;
	struct net_config nets[CONFIG_MAX_NETS];
	size_t n_nets;
	bool vsock;
	uint32_t vsock_cid;         /* >= 3 */
	struct config_path vsock_uds;
	bool rng;
	bool vconsole;
	enum console_target vconsole_output;
	struct config_path vconsole_path;
};

/* What went wrong, already formatted as "FILE:LINE: [section] key: problem". */
struct config_error {
	char msg[PATH_MAX + 256];
};

/* Sets every field to its default. */
void config_defaults(struct vm_config *cfg);

/* Reads `path` into `cfg` (after config_defaults()), then applies the
 * overrides, each "section.key=value" (a dotted section such as
 * drive.root.path splits at the last dot), then validates the whole (kernel
 * present and readable, initrd readable, ranges, cross-key rules). Returns 0,
 * or -1 with `err` filled. `path` must outlive `cfg` (origins point to it). */
int config_load(struct vm_config *cfg, const char *path, const char *const *overrides,
		size_t n_overrides, struct config_error *err);

/* Parses ini text held in memory as if read from file `name` (no overrides,
 * same validation). For tests and fuzzing. */
int config_parse_string(struct vm_config *cfg, const char *name, const char *text,
			struct config_error *err);

/* Prints the resolved configuration as ini text that config_load() accepts. */
void config_print(const struct vm_config *cfg, FILE *out);

/* Parses a size with an optional K, M, G or T suffix (powers of 1024).
 * Returns 0 or -1 (empty, junk, overflow). */
int config_parse_size(const char *text, uint64_t *out);

#endif
