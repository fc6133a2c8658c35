/* config.h - the VM description read from an ini file (inih) plus --set
 * overrides, validated, with the file and line of every key kept for errors. */
#ifndef MINNOW_CONFIG_H
#define MINNOW_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_NAME_MAX	   64
#define CONFIG_CMDLINE_MAX 4096
#define CONFIG_MAX_VCPUS   64
#define CONFIG_MAX_DRIVES  8
#define CONFIG_MAX_NETS	   4
#define CONFIG_MAX_FS	   8
#define CONFIG_FS_TAG_MAX  36	/* virtio-fs config space: the tag, not NUL-terminated */
#define CONFIG_LINE_MAX	   8192 /* longest ini line, without its newline */

/* Where a key's value came from: an ini file and line, or a --set option
 * (file "--set", line = 1-based position of the option). line 0: default. */
struct config_origin {
	const char *file;
	int line;
};

enum kernel_format { KERNEL_AUTO, KERNEL_BZIMAGE, KERNEL_ELF, KERNEL_PVH };
/* [kernel] decompress: where a compressed bzImage's kernel is decompressed
 * (kernel_cache.h). */
enum kernel_decompress { DECOMPRESS_AUTO, DECOMPRESS_GUEST, DECOMPRESS_HOST };
/* Where a console goes. CONSOLE_SOCKET (for [vconsole] only): minnow connects
 * to the Unix stream socket at the path; output and input both use it. */
enum console_target { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE, CONSOLE_SOCKET };
enum drive_cache { CACHE_WRITEBACK, CACHE_NONE };
/* [drive.X] io: how the drive's thread does its I/O (auto: io_uring when the host allows it). */
enum drive_io { DRIVE_IO_AUTO, DRIVE_IO_URING, DRIVE_IO_SYNC };
/* virtiofsd's -o cache=: auto (its default), always, none. */
enum fs_cache { FS_CACHE_AUTO, FS_CACHE_ALWAYS, FS_CACHE_NONE };

struct config_path {
	char path[PATH_MAX]; /* empty when not set */
	struct config_origin at;
};

/* A device's rate limits (rate_limiter.h): bytes and operations per
 * second, 0 = unlimited, each with an optional one-time burst of extra
 * tokens spent before the bucket (needs its rate). */
struct rate_limit_config {
	uint64_t bandwidth;	  /* bytes per second */
	uint64_t bandwidth_burst; /* one-time extra bytes */
	unsigned ops;		  /* operations (requests, packets) per second */
	unsigned ops_burst;	  /* one-time extra operations */
};

struct drive_config {
	char name[CONFIG_NAME_MAX];
	struct config_path path;	/* required: a regular file or block device */
	bool readonly;			/* default off: path must open read-write */
	enum drive_cache cache;		/* default writeback */
	enum drive_io io;		/* default auto */
	char serial[21];		/* virtio-blk GET_ID: at most 20 bytes */
	struct rate_limit_config limit; /* bandwidth, iops and their bursts */
	struct config_origin at;	/* the section header */
};

struct net_config {
	char name[CONFIG_NAME_MAX];
	char tap[16];			 /* IFNAMSIZ; required */
	uint8_t mac[6];			 /* unicast */
	bool mac_set;			 /* false: the VMM picks one */
	struct rate_limit_config rx, tx; /* rx_bandwidth, rx_pps, tx_... */
	struct config_origin at;
};

/* [fs.NAME]: a virtio-fs device whose back end is a vhost-user daemon
 * (virtiofsd): one minnow starts on host_dir, or one already listening on
 * socket (exactly one of the two). */
struct fs_config {
	char name[CONFIG_NAME_MAX];
	char tag[CONFIG_FS_TAG_MAX + 1]; /* what the guest mounts; default: name */
	struct config_path host_dir;	 /* a directory; minnow runs virtiofsd on it */
	struct config_path socket;	 /* or: a running back end's vhost-user socket */
	bool readonly;			 /* virtiofsd sees host_dir read-only (not with socket) */
	enum fs_cache cache;		 /* virtiofsd -o cache=; default auto */
	struct config_path virtiofsd;	 /* the daemon; default: config_virtiofsd() */
	struct config_origin at;
};

/* [jail] netns: stay in minnow's network namespace, or a new empty one. */
enum jail_netns { NETNS_INHERIT, NETNS_NEW };

/* [security] seccomp: a forbidden system call ends minnow (kill), is only
 * logged by the kernel (log), or no filter is installed (off). */
enum seccomp_mode { SECCOMP_KILL, SECCOMP_LOG, SECCOMP_OFF };

/* [jail] (vmm/jail/jail.h): where and as whom the VMM runs once every host
 * resource is open. */
struct jail_config {
	struct config_path dir; /* required: the new root, a directory owned by root */
	uint32_t uid, gid;	/* default 65534; gid default: uid's group in /etc/passwd */
	bool gid_set;
	enum jail_netns netns; /* default inherit */
	unsigned nofile;       /* RLIMIT_NOFILE; 0: auto */
	unsigned nproc;	       /* RLIMIT_NPROC; 0: auto (vcpus + 3) */
	uint64_t fsize;	       /* RLIMIT_FSIZE in bytes; 0: auto */
	char cgroup[256];      /* cgroup v2 parent, under the cgroup2 mount; default "minnow" */
	char cpu_max[48];      /* cgroup cpu.max, e.g. "50000 100000"; empty: no limit */
	uint64_t memory_max;   /* bytes; 0: no limit */
	unsigned pids_max;     /* 0: no limit */
};

struct vm_config {
	const char *file; /* the ini file's path as given */

	/* [vm] */
	char name[CONFIG_NAME_MAX]; /* default: "minnow" */
	unsigned vcpus;		    /* 1..CONFIG_MAX_VCPUS, default 1 */
	uint64_t memory;	    /* bytes, GUEST_MEM_MIN..MAX, MiB multiple; default 128M */
	bool prefault;		    /* populate guest RAM at start; default false */
	bool acpi;		    /* default true */
	bool pvpanic;		    /* the pvpanic device (in the DSDT); default true */
	unsigned boot_timeout_ms;   /* 0 = none (default) */
	struct config_path control_socket; /* the control socket (vm_control.h); empty: none */
	struct config_path metrics_file;   /* metrics appended as JSON lines; empty: none */
	unsigned metrics_interval_ms; /* between metrics lines; 0: only at exit; default 60 s */
	struct config_path restore;   /* a snapshot's state file to start from; empty: boot */
	bool snapshots; /* not in the ini: prepare for snapshots without a control socket
			 * (minnow exec --save-snapshot) */

	/* [kernel] */
	struct config_path kernel; /* required, must be a readable file */
	struct config_path initrd; /* optional, must be a readable file */
	char cmdline[CONFIG_CMDLINE_MAX];
	enum kernel_format format;	   /* default auto */
	enum kernel_decompress decompress; /* default auto */
	bool cmdline_devices;		   /* append virtio_mmio.device=...; default true */

	/* [console] output = stdio | file | none (default stdio); path required with
	 * file and refused otherwise; input = on|off */
	enum console_target console;
	struct config_path console_path;
	bool console_input; /* stdin feeds the UART; default true */
	/* [console] coalesce: the UART's transmit writes go through KVM's
	 * coalesced MMIO ring (coalesced_mmio.h) when it has one; default true */
	bool console_coalesce;

	/* devices: [drive.NAME] [net.NAME] [fs.NAME] [vsock] [rng] [vconsole] */
	struct drive_config drives[CONFIG_MAX_DRIVES];
	size_t n_drives;
	struct net_config nets[CONFIG_MAX_NETS];
	size_t n_nets;
	struct fs_config fs[CONFIG_MAX_FS]; /* [fs.NAME] (also [share.NAME]) */
	size_t n_fs;
	bool vsock;			     /* [vsock] present */
	uint32_t vsock_cid;		     /* 3..0xFFFFFFFE, default 3 */
	struct config_path vsock_uds;	     /* required with [vsock]; < 108 bytes */
	bool rng;			     /* [rng] present and enabled (default on) */
	bool vconsole;			     /* [vconsole] present */
	enum console_target vconsole_output; /* default stdio; not stdio if console is */
	struct config_path vconsole_path;    /* required with output = file */

	bool jailed; /* [jail] present (or --jail) */
	struct jail_config jail;

	/* [security] */
	enum seccomp_mode seccomp; /* default kill (vmm/core/seccomp_filter.h) */
};

/* What went wrong, one line, no trailing newline:
 *   "FILE:LINE: [section] key: problem"   a key's value, or a rule involving it
 *   "FILE:LINE: [section]: problem"       a section header (unknown, duplicate, ...)
 *   "FILE:LINE: problem"                  syntax (no '=', no ']', line too long)
 *   "FILE: [kernel] path: missing (required)"  no [kernel] section at all
 *   "FILE: cannot open: <strerror>"
 * A value that came from an override reads "--set TEXT: [section] key: problem",
 * TEXT being the override as given (cut at 64 bytes). A missing required key
 * points at its section's header. Files named by the config are reported as
 * "<strerror>: PATH" or "not a regular file: PATH". Only the first error is kept. */
struct config_error {
	char msg[PATH_MAX + 256];
};

/* Sets every field to its default. */
void config_defaults(struct vm_config *cfg);

/* Looks `name` up in an /etc/passwd-style file (`db`, NULL: /etc/passwd): a
 * decimal number is taken as it is (primary group unknown: *gid left alone);
 * a name must be listed. Returns 0 with *id (and *gid when listed), or -1. */
int config_lookup_user(const char *db, const char *name, uint32_t *id, uint32_t *gid);

/* The same for groups in an /etc/group-style file (NULL: /etc/group). */
int config_lookup_group(const char *db, const char *name, uint32_t *id);

/* Resets `cfg` to the defaults, reads the ini file `path` into it, applies the
 * overrides in order, each "section.key=value" (the section may contain dots:
 * drive.root.path is key "path" of [drive.root]; an override may create a
 * section, and a later override of a key wins over the file and over earlier
 * ones; section, key and value are trimmed, and the value may not hold ';' at
 * its start or after a space, which the ini file could not say; the
 * command-line forms "--jail DIR", "--uid U" and "--gid G" stand for
 * jail.dir=DIR, jail.uid=U and jail.gid=G and are named so in errors), then
 * validates the whole (kernel present and readable, initrd
 * readable, drives openable read-only or read-write as configured, ranges,
 * cross-key rules). Returns 0, or -1 with `err` filled.
 * `path` must outlive `cfg` (origins point to it).
 *
 * The ini dialect (inih): "key = value" or "key: value", values trimmed, ';' or
 * '#' starts a comment line, " ;" starts an inline comment (so does ';' as
 * the first character of a value: "key = ; note" is empty), lines at most
 * CONFIG_LINE_MAX bytes, no continuation lines, a UTF-8 BOM is skipped. A
 * section header may appear only once; a key only once per section. Relative
 * paths are kept as given (relative to the current directory). Sets inih's
 * run-time options (Debian's libinih), so it is not thread-safe. */
int config_load(struct vm_config *cfg, const char *path, const char *const *overrides,
		size_t n_overrides, struct config_error *err);

/* config_load() for VM number `index` of a batch: "{i}" in any value (from
 * the file or an override) stands for index, and "{i+K}" for index + K
 * (e.g. vsock cid = {i+3}). With index -1, as config_load() passes, such a
 * value is an error that says how to give the number. */
int config_load_index(struct vm_config *cfg, const char *path, const char *const *overrides,
		      size_t n_overrides, long index, struct config_error *err);

/* config_load() of ini text held in memory, named `name` in errors (e.g.
 * the state file whose configuration it is: `minnow restore`). */
int config_load_text(struct vm_config *cfg, const char *name, const char *text,
		     const char *const *overrides, size_t n_overrides, struct config_error *err);

/* Parses ini text held in memory as if read from file `name` (no overrides,
 * same validation). For tests and fuzzing. */
int config_parse_string(struct vm_config *cfg, const char *name, const char *text,
			struct config_error *err);

/* Prints the resolved configuration, every section with its effective values
 * (sizes in the largest exact unit, e.g. 128M), as ini text that config_load()
 * reads back into the same configuration (origins aside). */
void config_print(const struct vm_config *cfg, FILE *out);

/* Checks a host directory to share as minnow will use it: it exists, is a
 * directory, and (unless readonly) is writable. Returns 0, or -1 with a
 * one-line reason ("<strerror>: DIR", "not a directory: DIR", "not
 * writable (...): DIR") in `why`. */
int config_check_share_dir(const char *dir, bool readonly, char *why, size_t n);

/* The virtiofsd minnow runs when [fs.NAME] names none: $MINNOW_VIRTIOFSD
 * when set and not empty, else CONFIG_VIRTIOFSD (Debian's, in
 * qemu-system-common). */
#define CONFIG_VIRTIOFSD "/usr/lib/qemu/virtiofsd"
const char *config_virtiofsd(void);

/* Whether `tag` is a usable virtio-fs tag: 1 to CONFIG_FS_TAG_MAX bytes,
 * printable ASCII, no blank, ',' or ':' (mount options would split it). */
bool config_valid_fs_tag(const char *tag);

/* Parses a size: decimal digits with an optional K, M, G or T suffix (powers
 * of 1024, either case), no sign and no spaces. Returns 0 or -1 (empty, junk,
 * bad suffix, overflow of 64 bits). */
int config_parse_size(const char *text, uint64_t *out);

#endif
