/* config_internal.h - what the pieces of the config reader share: the section and key tables,
 * the parser state, error reporting and value helpers. Not for the rest of the VMM. */
#ifndef MINNOW_CONFIG_INTERNAL_H
#define MINNOW_CONFIG_INTERNAL_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WHY_MAX		 (PATH_MAX + 128) /* one problem description */
#define SECTION_NAME_MAX 80		  /* "vconsole." + a 63-byte name fits */
#define MAX_KEYS	 12		  /* keys in the largest section table */
#define MAX_SECTIONS	 (8 + CONFIG_MAX_DRIVES + CONFIG_MAX_NETS + CONFIG_MAX_FS)
#define QUOTE_MAX	 64 /* longest piece of user text quoted in a message */

/* Quoting user text in messages, cut at QUOTE_MAX bytes: "'%.*s%s'" + QARG(s). */
#define QFMT	"'%.*s%s'"
#define QARG(s) qlen(s), (s), (strlen(s) > QUOTE_MAX ? "..." : "")

/* The field a key writes: `obj` + k->off, as a `type` *. */
#define FIELD(type, obj, k) ((type *)(void *)((char *)(obj) + (k)->off))

#define NO_FLAG SIZE_MAX
#define KNOWN_SECTIONS                                                                             \
	"vm, kernel, console, drive.NAME, net.NAME, fs.NAME, vsock, rng, vconsole, jail, security"

struct key_def;

/* Stores `v` into the field at `obj` + k->off; 0, or -1 with `why` filled. */
typedef int (*setter_fn)(const struct key_def *k, void *obj, const char *v, char *why, size_t n);

struct key_def {
	const char *name;
	setter_fn set;
	size_t off;		  /* the field's offset in the section's object */
	uint64_t min, max;	  /* numbers and sizes: inclusive range */
	uint64_t align;		  /* sizes: required multiple */
	size_t len;		  /* strings: size of the destination buffer */
	const char *const *names; /* enums: value names, in enum order, NULL-terminated */
	bool required;
};

/* What a section's keys write into. */
enum section_obj { OBJ_CFG, OBJ_DRIVE, OBJ_NET, OBJ_FS };

struct section_def {
	const char *name; /* "vm", or "drive" for [drive.NAME] */
	bool named;
	bool required;
	const struct key_def *keys;
	size_t n_keys;
	enum section_obj obj;
	size_t present; /* offset of a bool in vm_config set when the section exists, or NO_FLAG */
};

/* One section present in the file or created by --set. */
struct section {
	const struct section_def *def;
	char name[SECTION_NAME_MAX];
	void *obj;
	struct config_origin at;
	struct config_origin keys[MAX_KEYS]; /* where each key was set; file NULL: not set */
};

struct parser {
	struct vm_config *cfg;
	struct config_error *err;
	const char *const *overrides;
	size_t n_overrides;
	long index; /* what {i} stands for in values; -1: nothing (an error) */
	struct section sections[MAX_SECTIONS];
	size_t n_sections;
	struct section *cur; /* the section the current line belongs to */
	int lineno;
	bool failed;
};

/* Feeds inih one physical line at a time (in chunks when inih's buffer is smaller), keeping
 * the line number and the real section name, which inih cuts at 50 bytes. */
struct source {
	struct parser *p;
	FILE *f;       /* read from this file, or */
	const char *s; /* from this string */
	char line[CONFIG_LINE_MAX + 2];
	size_t len, pos;
};

/* ---- character helpers ---------------------------------------------------- */

static inline int qlen(const char *s)
{
	size_t n = strlen(s);
	return n > QUOTE_MAX ? QUOTE_MAX : (int)n;
}

static inline bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static inline bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* ---- the tables (config_keys.c) -------------------------------------------- */

/* Value names of the enums, in enum order, NULL-terminated. */
extern const char *const cfg_format_names[];	      /* enum kernel_format */
extern const char *const cfg_decompress_names[];      /* enum kernel_decompress */
extern const char *const cfg_target_names[];	      /* enum console_target, [console] */
extern const char *const cfg_vconsole_target_names[]; /* the same plus "socket" */
extern const char *const cfg_cache_names[];	      /* enum drive_cache */
extern const char *const cfg_drive_io_names[];	      /* enum drive_io */
extern const char *const cfg_fs_cache_names[];	      /* enum fs_cache */
extern const char *const cfg_seccomp_names[];	      /* enum seccomp_mode */
extern const char *const cfg_netns_names[];	      /* enum jail_netns */

/* Every known section with its keys; config_n_sections entries. */
extern const struct section_def config_sections[];
extern const size_t config_n_sections;

/* The setter of path keys: fills a struct config_path's path (cfg_set_key() then records the
 * key's origin in it). Refuses empty, too long and control characters. */
int cfg_set_path(const struct key_def *k, void *obj, const char *v, char *why, size_t n);

/* ---- [jail] values (config_jail.c) ------------------------------------------ */

/* uid and gid: a name (looked up) or a number, not 0; a uid's primary group becomes
 * the gid unless gid is set. obj is the vm_config. */
int cfg_set_jail_user(const struct key_def *k, void *obj, const char *v, char *why, size_t n);
/* "auto" (stored as 0) or a number in k->min..k->max (unsigned). */
int cfg_set_auto_uint(const struct key_def *k, void *obj, const char *v, char *why, size_t n);
/* "auto" (stored as 0) or a size of at least k->min (uint64_t). */
int cfg_set_auto_size(const struct key_def *k, void *obj, const char *v, char *why, size_t n);
/* A cgroup path relative to the cgroup2 mount (k->len bytes). */
int cfg_set_cgroup(const struct key_def *k, void *obj, const char *v, char *why, size_t n);
/* cgroup v2 cpu.max: "QUOTA [PERIOD]" or "max [PERIOD]", stored with the period. */
int cfg_set_cpu_max(const struct key_def *k, void *obj, const char *v, char *why, size_t n);

/* ---- values (config_values.c) ---------------------------------------------- */

/* Whether `s` holds a byte below 0x20 or DEL. */
bool cfg_has_control(const char *s);

/* Whether `s` is a section or VM name: 1-63 characters of A-Z a-z 0-9 . _ - */
bool cfg_valid_name(const char *s);

/* config_parse_size() with the reason for a refusal in `why` (`n` bytes). */
int cfg_parse_size_why(const char *text, uint64_t *out, char *why, size_t n);

/* Parses a number, decimal or hexadecimal after 0x, into `out`; 0, or -1 with `why` filled
 * (empty, junk, overflow of 64 bits). */
int cfg_parse_u64(const char *text, uint64_t *out, char *why, size_t n);

/* Formats `v` into `buf` (`n` bytes) as "128M" for exact multiples of a unit (K, M, G, T),
 * else in bytes; returns `buf`. */
const char *cfg_fmt_size(uint64_t v, char *buf, size_t n);

/* ---- the parser (config.c) ------------------------------------------------- */

/* Appends printf output at buf + *len (buffer of `size` bytes), advancing *len, cut at the
 * end of the buffer, which stays NUL-terminated. Does nothing once the buffer is full. */
void cfg_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records the first error: "ORIGIN: [section] key: problem" (section and key optional) in
 * p->err and sets p->failed; later errors are dropped. */
void cfg_fail(struct parser *p, struct config_origin at, const char *section, const char *key,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The open section named `name` (e.g. "drive.root"), or NULL. */
struct section *cfg_find_section(struct parser *p, const char *name);

/* The first open section of kind `def`, or NULL. */
struct section *cfg_first_of(struct parser *p, const struct section_def *def);

/* Opens section `name` (`len` bytes, not NUL-terminated). From the file a second header of
 * the same name is an error; an override reuses the section. NULL after cfg_fail(). */
struct section *cfg_open_section(struct parser *p, const char *text, size_t len,
				 struct config_origin at, bool override);

/* Sets `key` of section `s` to `value` through its setter, recording origin `at`. From the
 * file a key already set is an error; an override replaces it. 0, or -1 after cfg_fail(). */
int cfg_set_key(struct parser *p, struct section *s, const char *key, const char *value,
		struct config_origin at, bool override);

/* ---- instance numbers (config_index.c) -------------------------------------- */

/* Copies `value` to `out` (`size` bytes) with every "{i}" replaced by `index` and every
 * "{i+K}" by index + K (K a decimal number). 0, or -1 with a one-line reason in `why`: a
 * malformed form, a form while index < 0 (no instance number given), or a result that does
 * not fit. */
int cfg_expand_index(const char *value, long index, char *out, size_t size, char *why,
		     size_t whylen);

/* ---- the ini file (config_ini.c) ------------------------------------------- */

/* Reads the ini text of src->f or src->s through inih into p, section by section and key by
 * key; errors through cfg_fail(). Sets inih's run-time options. */
void cfg_parse_source(struct parser *p, struct source *src);

/* ---- validation (config_validate.c) ---------------------------------------- */

/* Checks the whole configuration once it is read: required sections and keys, outputs and
 * their paths, cross-key rules, and opens the kernel, initrd and drives as the VMM will.
 * Errors through cfg_fail(); the files are only opened when everything else is right. */
void cfg_validate(struct parser *p);

#endif
