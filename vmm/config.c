/* config.c - reads the VM description from an ini file (inih) and --set overrides into
 * struct vm_config through tables of sections and keys, and validates it with file:line errors. */
#include "config.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WHY_MAX		 (PATH_MAX + 128) /* one problem description */
#define SECTION_NAME_MAX 80		  /* "vconsole." + a 63-byte name fits */
#define MAX_KEYS	 8		  /* keys in the largest section table */
#define MAX_SECTIONS	 (8 + CONFIG_MAX_DRIVES + CONFIG_MAX_NETS)
#define QUOTE_MAX	 64 /* longest piece of user text quoted in a message */
#define UNIX_PATH_MAX	 sizeof(((struct sockaddr_un *)0)->sun_path)

/* Quoting user text in messages, cut at QUOTE_MAX bytes: "'%.*s%s'" + QARG(s). */
#define QFMT	"'%.*s%s'"
#define QARG(s) qlen(s), (s), (strlen(s) > QUOTE_MAX ? "..." : "")

static const char SET_FILE[] = "--set";

_Static_assert(sizeof(enum kernel_format) == sizeof(int), "enum kernel_format is an int");
_Static_assert(sizeof(enum console_target) == sizeof(int), "enum console_target is an int");
_Static_assert(sizeof(enum drive_cache) == sizeof(int), "enum drive_cache is an int");
_Static_assert(sizeof(((struct vm_config *)0)->vsock_cid) == sizeof(unsigned), "cid is unsigned");

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
enum section_obj { OBJ_CFG, OBJ_DRIVE, OBJ_NET };

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

static int qlen(const char *s)
{
	size_t n = strlen(s);
	return n > QUOTE_MAX ? QUOTE_MAX : (int)n;
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
	       c == '_' || c == '-';
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= CONFIG_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!is_name_char(*s))
			return false;
	return true;
}

/* ---- error messages ----------------------------------------------------- */

static void appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	if (*len >= size - 1)
		return;
	va_start(ap, fmt);
	int r = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (r > 0)
		*len = (size_t)r >= size - *len ? size - 1 : *len + (size_t)r;
}

/* Records the first error: "ORIGIN: [section] key: problem" (section and key optional). */
static void fail(struct parser *p, struct config_origin at, const char *section, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(struct parser *p, struct config_origin at, const char *section, const char *key,
		 const char *fmt, ...)
{
	char *buf = p->err->msg;
	size_t size = sizeof(p->err->msg), len = 0;

	if (p->failed)
		return;
	p->failed = true;
	buf[0] = '\0';
	if (at.file == SET_FILE && at.line > 0 && (size_t)at.line <= p->n_overrides) {
		const char *t = p->overrides[at.line - 1];
		appendf(buf, size, &len, "--set %.*s%s", qlen(t), t,
			strlen(t) > QUOTE_MAX ? "..." : "");
	} else if (at.line > 0) {
		appendf(buf, size, &len, "%s:%d", at.file, at.line);
	} else {
		appendf(buf, size, &len, "%s", at.file ? at.file : p->cfg->file);
	}
	if (section)
		appendf(buf, size, &len, ": [%s]", section);
	if (key)
		appendf(buf, size, &len, "%s%.*s%s", section ? " " : ": ", qlen(key), key,
			strlen(key) > QUOTE_MAX ? "..." : "");
	appendf(buf, size, &len, ": ");
	if (len < size - 1) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf + len, size - len, fmt, ap);
		va_end(ap);
	}
}

/* ---- value parsers ------------------------------------------------------ */

static int parse_size_why(const char *text, uint64_t *out, char *why, size_t n)
{
	const char *s = text;
	uint64_t v = 0;
	unsigned shift = 0;

	if (!is_digit(*s)) {
		snprintf(why, n,
			 "bad size " QFMT
			 " (expected a number with an optional K, M, G or T suffix)",
			 QARG(text));
		return -1;
	}
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			snprintf(why, n, "size " QFMT " is too large", QARG(text));
			return -1;
		}
		v = v * 10 + d;
	}
	if (*s) {
		const char *units = "KMGT", *u = strchr(units, *s >= 'a' ? *s - 'a' + 'A' : *s);
		if (u && *u && s[1] == '\0') {
			shift = 10 * (unsigned)(u - units + 1);
		} else if (strpbrk(s, " \t")) {
			snprintf(why, n, "bad size " QFMT " (no spaces allowed)", QARG(text));
			return -1;
		} else {
			snprintf(why, n, "bad size suffix " QFMT " (expected K, M, G or T)",
				 QARG(s));
			return -1;
		}
	}
	if (shift && v > (UINT64_MAX >> shift)) {
		snprintf(why, n, "size " QFMT " is too large", QARG(text));
		return -1;
	}
	*out = v << shift;
	return 0;
}

int config_parse_size(const char *text, uint64_t *out)
{
	char why[256];
	return parse_size_why(text, out, why, sizeof(why));
}

/* Decimal, or hexadecimal after 0x. */
static int parse_u64(const char *text, uint64_t *out, char *why, size_t n)
{
	const char *s = text;
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		goto bad;
	for (; *s; s++) {
		unsigned d;
		if (is_digit(*s))
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			goto bad;
		if (v > (UINT64_MAX - d) / base) {
			snprintf(why, n, "number " QFMT " is too large", QARG(text));
			return -1;
		}
		v = v * base + d;
	}
	*out = v;
	return 0;
bad:
	snprintf(why, n, "bad number " QFMT, QARG(text));
	return -1;
}

/* "128M" for exact multiples of a unit, else bytes. */
static const char *fmt_size(uint64_t v, char *buf, size_t n)
{
	static const char units[] = "TGMK";
	for (unsigned i = 0; i < 4; i++) {
		unsigned shift = 10 * (4 - i);
		if (v && v % (1ULL << shift) == 0) {
			snprintf(buf, n, "%llu%c", (unsigned long long)(v >> shift), units[i]);
			return buf;
		}
	}
	snprintf(buf, n, "%llu", (unsigned long long)v);
	return buf;
}

/* ---- setters ------------------------------------------------------------ */

#define FIELD(type, obj, k) ((type *)(void *)((char *)(obj) + (k)->off))

static int set_name(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	if (!valid_name(v)) {
		snprintf(why, n, "bad name " QFMT " (1-63 characters of A-Z a-z 0-9 . _ -)",
			 QARG(v));
		return -1;
	}
	snprintf(FIELD(char, obj, k), k->len, "%s", v);
	return 0;
}

static int set_uint(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	uint64_t x;
	if (parse_u64(v, &x, why, n))
		return -1;
	if (x < k->min || x > k->max) {
		snprintf(why, n, "out of range: %.*s%s (allowed %llu..%llu)", QARG(v),
			 (unsigned long long)k->min, (unsigned long long)k->max);
		return -1;
	}
	*FIELD(unsigned, obj, k) = (unsigned)x;
	return 0;
}

static int set_size(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	uint64_t x;
	if (parse_size_why(v, &x, why, n))
		return -1;
	if (x < k->min || x > k->max) {
		char lo[32], hi[32];
		snprintf(why, n, "out of range: %.*s%s (allowed %s..%s)", QARG(v),
			 fmt_size(k->min, lo, sizeof(lo)), fmt_size(k->max, hi, sizeof(hi)));
		return -1;
	}
	if (k->align && x % k->align) {
		char al[32];
		snprintf(why, n, "%.*s%s is not a multiple of %s", QARG(v),
			 fmt_size(k->align, al, sizeof(al)));
		return -1;
	}
	*FIELD(uint64_t, obj, k) = x;
	return 0;
}

static int set_bool(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	static const char *const no[] = {"off", "false", "no", "0"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
			*FIELD(bool, obj, k) = !strcasecmp(v, yes[i]);
			return 0;
		}
	}
	snprintf(why, n, "bad boolean " QFMT " (expected on/off, true/false, yes/no or 1/0)",
		 QARG(v));
	return -1;
}

/* Milliseconds: "1500", "1500ms", "2s". */
static int set_duration(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	uint64_t x = 0, scale = 1;
	const char *s = v;

	for (; is_digit(*s); s++) {
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > UINT_MAX)
			goto range;
	}
	if (s == v || (*s && strcmp(s, "ms") && strcmp(s, "s"))) {
		snprintf(why, n,
			 "bad duration " QFMT
			 " (expected milliseconds, or a number with suffix ms or s)",
			 QARG(v));
		return -1;
	}
	if (!strcmp(s, "s"))
		scale = 1000;
	if (x * scale > UINT_MAX)
		goto range;
	*FIELD(unsigned, obj, k) = (unsigned)(x * scale);
	return 0;
range:
	snprintf(why, n, "out of range: " QFMT " (at most %ums)", QARG(v), UINT_MAX);
	return -1;
}

static int set_enum(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	size_t len = 0;
	for (int i = 0; k->names[i]; i++) {
		if (!strcasecmp(v, k->names[i])) {
			*FIELD(int, obj, k) = i;
			return 0;
		}
	}
	appendf(why, n, &len, "bad value " QFMT " (expected one of:", QARG(v));
	for (int i = 0; k->names[i]; i++)
		appendf(why, n, &len, "%s %s", i ? "," : "", k->names[i]);
	appendf(why, n, &len, ")");
	return -1;
}

static int check_length(const struct key_def *k, const char *v, char *why, size_t n)
{
	size_t len = strlen(v);
	if (len >= k->len) {
		snprintf(why, n, "value too long (%zu bytes, at most %zu)", len, k->len - 1);
		return -1;
	}
	return 0;
}

static int set_string(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	if (check_length(k, v, why, n))
		return -1;
	if (has_control(v)) {
		snprintf(why, n, "contains a control character");
		return -1;
	}
	snprintf(FIELD(char, obj, k), k->len, "%s", v);
	return 0;
}

static int set_serial(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	if (check_length(k, v, why, n))
		return -1;
	for (const char *s = v; *s; s++) {
		if (*s < 0x20 || *s > 0x7e) {
			snprintf(why, n, "not printable ASCII");
			return -1;
		}
	}
	snprintf(FIELD(char, obj, k), k->len, "%s", v);
	return 0;
}

/* A Linux interface name: 1-15 bytes, not "." or "..", no '/', ':' or white space. */
static int set_tap(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	bool ok = *v && strcmp(v, ".") && strcmp(v, "..") && strlen(v) < k->len;
	for (const char *s = v; ok && *s; s++)
		ok = *s > 0x20 && *s < 0x7f && *s != '/' && *s != ':';
	if (!ok) {
		snprintf(why, n,
			 "bad interface name " QFMT " (1-15 characters, no '/', ':' or spaces)",
			 QARG(v));
		return -1;
	}
	snprintf(FIELD(char, obj, k), k->len, "%s", v);
	return 0;
}

static int set_path(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	struct config_path *p = FIELD(struct config_path, obj, k);
	if (!*v) {
		snprintf(why, n, "empty path");
		return -1;
	}
	if (strlen(v) >= sizeof(p->path)) {
		snprintf(why, n, "value too long (%zu bytes, at most %zu)", strlen(v),
			 sizeof(p->path) - 1);
		return -1;
	}
	if (has_control(v)) {
		snprintf(why, n, "contains a control character");
		return -1;
	}
	snprintf(p->path, sizeof(p->path), "%s", v); /* set_key() records the origin */
	return 0;
}

static int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int set_mac(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	struct net_config *net = FIELD(struct net_config, obj, k);
	uint8_t mac[6];
	bool ok = strlen(v) == 17;

	for (int i = 0; ok && i < 6; i++) {
		int hi = hexval(v[3 * i]), lo = hexval(v[3 * i + 1]);
		ok = hi >= 0 && lo >= 0 && (i == 5 || v[3 * i + 2] == ':');
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!ok) {
		snprintf(why, n, "bad MAC address " QFMT " (expected xx:xx:xx:xx:xx:xx)", QARG(v));
		return -1;
	}
	if (mac[0] & 1) {
		snprintf(why, n,
			 "multicast MAC address " QFMT
			 " (the low bit of the first octet must be 0)",
			 QARG(v));
		return -1;
	}
	memcpy(net->mac, mac, sizeof(mac));
	net->mac_set = true;
	return 0;
}

/* ---- the tables ---------------------------------------------------------- */

static const char *const format_names[] = {"auto", "bzimage", "elf", "pvh", NULL};
static const char *const target_names[] = {"stdio", "file", "none", NULL};
static const char *const cache_names[] = {"writeback", "none", NULL};

#define VM(f) offsetof(struct vm_config, f)

static const struct key_def vm_keys[] = {
    {.name = "name", .set = set_name, .off = VM(name), .len = CONFIG_NAME_MAX},
    {.name = "vcpus", .set = set_uint, .off = VM(vcpus), .min = 1, .max = CONFIG_MAX_VCPUS},
    {.name = "memory",
     .set = set_size,
     .off = VM(memory),
     .min = GUEST_MEM_MIN,
     .max = GUEST_MEM_MAX,
     .align = 1ULL << 20},
    {.name = "prefault", .set = set_bool, .off = VM(prefault)},
    {.name = "acpi", .set = set_bool, .off = VM(acpi)},
    {.name = "boot_timeout", .set = set_duration, .off = VM(boot_timeout_ms)},
};

static const struct key_def kernel_keys[] = {
    {.name = "path", .set = set_path, .off = VM(kernel), .required = true},
    {.name = "initrd", .set = set_path, .off = VM(initrd)},
    {.name = "cmdline", .set = set_string, .off = VM(cmdline), .len = CONFIG_CMDLINE_MAX},
    {.name = "format", .set = set_enum, .off = VM(format), .names = format_names},
    {.name = "cmdline_devices", .set = set_bool, .off = VM(cmdline_devices)},
};

static const struct key_def console_keys[] = {
    {.name = "output", .set = set_enum, .off = VM(console), .names = target_names},
    {.name = "path", .set = set_path, .off = VM(console_path)},
    {.name = "input", .set = set_bool, .off = VM(console_input)},
};

static const struct key_def drive_keys[] = {
    {.name = "path", .set = set_path, .off = offsetof(struct drive_config, path), .required = true},
    {.name = "readonly", .set = set_bool, .off = offsetof(struct drive_config, readonly)},
    {.name = "cache",
     .set = set_enum,
     .off = offsetof(struct drive_config, cache),
     .names = cache_names},
    {.name = "serial",
     .set = set_serial,
     .off = offsetof(struct drive_config, serial),
     .len = sizeof(((struct drive_config *)0)->serial)},
};

static const struct key_def net_keys[] = {
    {.name = "tap",
     .set = set_tap,
     .off = offsetof(struct net_config, tap),
     .len = sizeof(((struct net_config *)0)->tap),
     .required = true},
    {.name = "mac", .set = set_mac},
};

static const struct key_def vsock_keys[] = {
    {.name = "cid", .set = set_uint, .off = VM(vsock_cid), .min = 3, .max = 0xFFFFFFFEu},
    {.name = "uds_path", .set = set_path, .off = VM(vsock_uds), .required = true},
};

static const struct key_def rng_keys[] = {
    {.name = "enabled", .set = set_bool, .off = VM(rng)},
};

static const struct key_def vconsole_keys[] = {
    {.name = "output", .set = set_enum, .off = VM(vconsole_output), .names = target_names},
    {.name = "path", .set = set_path, .off = VM(vconsole_path)},
};

#define KEYS(t) t, sizeof(t) / sizeof(t[0])

#define NO_FLAG SIZE_MAX

static const struct section_def sections[] = {
    {"vm", false, false, KEYS(vm_keys), OBJ_CFG, NO_FLAG},
    {"kernel", false, true, KEYS(kernel_keys), OBJ_CFG, NO_FLAG},
    {"console", false, false, KEYS(console_keys), OBJ_CFG, NO_FLAG},
    {"drive", true, false, KEYS(drive_keys), OBJ_DRIVE, NO_FLAG},
    {"net", true, false, KEYS(net_keys), OBJ_NET, NO_FLAG},
    {"vsock", false, false, KEYS(vsock_keys), OBJ_CFG, VM(vsock)},
    {"rng", false, false, KEYS(rng_keys), OBJ_CFG, VM(rng)},
    {"vconsole", false, false, KEYS(vconsole_keys), OBJ_CFG, VM(vconsole)},
};

#define N_SECTIONS     (sizeof(sections) / sizeof(sections[0]))
#define KNOWN_SECTIONS "vm, kernel, console, drive.NAME, net.NAME, vsock, rng, vconsole"

/* ---- sections and keys --------------------------------------------------- */

static struct section *find_section(struct parser *p, const char *name)
{
	for (size_t i = 0; i < p->n_sections; i++)
		if (!strcmp(p->sections[i].name, name))
			return &p->sections[i];
	return NULL;
}

static struct section *first_of(struct parser *p, const struct section_def *def)
{
	for (size_t i = 0; i < p->n_sections; i++)
		if (p->sections[i].def == def)
			return &p->sections[i];
	return NULL;
}

/* The object the keys of a new section write into: the vm_config, or a new drive or net
 * (NULL when there are too many). */
static void *open_object(struct parser *p, const struct section_def *def, const char *name,
			 struct config_origin at)
{
	struct vm_config *cfg = p->cfg;

	if (def->present != NO_FLAG)
		*(bool *)(void *)((char *)cfg + def->present) = true;
	switch (def->obj) {
	case OBJ_DRIVE: {
		if (cfg->n_drives == CONFIG_MAX_DRIVES)
			return NULL;
		struct drive_config *d = &cfg->drives[cfg->n_drives++];
		memset(d, 0, sizeof(*d));
		snprintf(d->name, sizeof(d->name), "%s", name);
		d->cache = CACHE_WRITEBACK;
		d->at = at;
		return d;
	}
	case OBJ_NET: {
		if (cfg->n_nets == CONFIG_MAX_NETS)
			return NULL;
		struct net_config *net = &cfg->nets[cfg->n_nets++];
		memset(net, 0, sizeof(*net));
		snprintf(net->name, sizeof(net->name), "%s", name);
		net->at = at;
		return net;
	}
	case OBJ_CFG:
		break;
	}
	return cfg;
}

/* Opens section `name` (`len` bytes, not NUL-terminated). From the file a second header of
 * the same name is an error; an override reuses the section. */
static struct section *open_section(struct parser *p, const char *text, size_t len,
				    struct config_origin at, bool override)
{
	char name[SECTION_NAME_MAX];
	const struct section_def *def = NULL;

	if (len >= sizeof(name)) {
		fail(p, at, NULL, NULL, "[%.*s...]: section name too long (at most %zu bytes)",
		     QUOTE_MAX, text, sizeof(name) - 1);
		return NULL;
	}
	memcpy(name, text, len);
	name[len] = '\0';
	const char *dot = strchr(name, '.');
	size_t plen = dot ? (size_t)(dot - name) : len;
	for (size_t i = 0; i < N_SECTIONS; i++)
		if (strlen(sections[i].name) == plen && !strncmp(sections[i].name, name, plen))
			def = &sections[i];
	if (!def || (dot && !def->named)) {
		fail(p, at, name, NULL, "unknown section (known: " KNOWN_SECTIONS ")");
		return NULL;
	}
	if (def->named && !dot) {
		fail(p, at, name, NULL, "needs a name, as in [%s.NAME]", def->name);
		return NULL;
	}
	if (dot && !valid_name(dot + 1)) {
		fail(p, at, name, NULL, "bad name " QFMT " (1-63 characters of A-Z a-z 0-9 . _ -)",
		     QARG(dot + 1));
		return NULL;
	}
	struct section *s = find_section(p, name);
	if (s && override)
		return s;
	if (s) {
		fail(p, at, name, NULL, "duplicate section (first at line %d)", s->at.line);
		return NULL;
	}
	if (p->n_sections == MAX_SECTIONS) {
		fail(p, at, name, NULL, "too many sections");
		return NULL;
	}
	void *obj = open_object(p, def, dot ? dot + 1 : NULL, at);
	if (!obj) {
		fail(p, at, name, NULL, "too many [%s.NAME] sections (at most %d)", def->name,
		     def->obj == OBJ_DRIVE ? CONFIG_MAX_DRIVES : CONFIG_MAX_NETS);
		return NULL;
	}
	s = &p->sections[p->n_sections++];
	memset(s, 0, sizeof(*s));
	s->def = def;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->obj = obj;
	s->at = at;
	return s;
}

static int set_key(struct parser *p, struct section *s, const char *key, const char *value,
		   struct config_origin at, bool override)
{
	const struct section_def *def = s->def;
	char why[WHY_MAX];
	size_t i;

	if (!*key) {
		fail(p, at, s->name, NULL, "no key name before '='");
		return -1;
	}
	for (i = 0; i < def->n_keys; i++)
		if (!strcmp(def->keys[i].name, key))
			break;
	if (i == def->n_keys) {
		size_t len = 0;
		for (size_t j = 0; j < def->n_keys; j++)
			appendf(why, sizeof(why), &len, "%s%s", j ? ", " : "", def->keys[j].name);
		fail(p, at, s->name, key, "unknown key (known: %s)", why);
		return -1;
	}
	if (!override && s->keys[i].file) {
		fail(p, at, s->name, key, "duplicate key (first at line %d)", s->keys[i].line);
		return -1;
	}
	const struct key_def *k = &def->keys[i];
	if (k->set(k, s->obj, value, why, sizeof(why))) {
		fail(p, at, s->name, key, "%s", why);
		return -1;
	}
	if (k->set == set_path)
		FIELD(struct config_path, s->obj, k)->at = at;
	s->keys[i] = at;
	return 0;
}

/* ---- the ini file through inih ------------------------------------------- */

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	struct config_origin at = {p->cfg->file, p->lineno};

	(void)section; /* inih cuts section names at 50 bytes: the reader tracks the real one */
	if (p->failed)
		return 0;
	if (!p->cur) {
		fail(p, at, NULL, name, "key before the first [section]");
		return 0;
	}
	/* inih keeps "key = ; note" as the value "; note": read it as an empty value and a
	 * comment, as a user would (config_print() relies on it, too). */
	if (value[0] == ';')
		value = "";
	return set_key(p, p->cur, name, value, at, false) == 0;
}

/* Looks at a new physical line the way inih will: opens sections, rejects lines that are
 * neither blank, comment, [section] nor key = value. */
static void scan_line(struct parser *p, const char *line)
{
	struct config_origin at = {p->cfg->file, p->lineno};
	const char *s = line, *e;
	bool was_space = false;

	if (p->lineno == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
		s += 3;
	while (is_space(*s))
		s++;
	if (!*s || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		for (e = ++s; *e && *e != ']' && !(was_space && *e == ';'); e++)
			was_space = is_space(*e);
		if (*e != ']') {
			fail(p, at, NULL, NULL, "syntax error: [section] header without ']'");
			return;
		}
		while (s < e && is_space(*s))
			s++;
		while (e > s && is_space(e[-1]))
			e--;
		p->cur = open_section(p, s, (size_t)(e - s), at, false);
		return;
	}
	for (e = s; *e && *e != '=' && *e != ':' && !(was_space && *e == ';'); e++)
		was_space = is_space(*e);
	if (*e != '=' && *e != ':')
		fail(p, at, NULL, NULL, "syntax error: expected [section] or key = value");
}

/* Reads the next physical line into src->line. 1: a line, 0: end, -1: error. */
static int next_line(struct source *src)
{
	struct parser *p = src->p;
	size_t len = 0;
	bool nul = false;
	int c;

	for (;;) {
		if (src->f) {
			c = getc(src->f);
			if (c == EOF)
				break;
		} else {
			if (!*src->s)
				break;
			c = (unsigned char)*src->s++;
		}
		if (c == '\n') {
			src->line[len++] = '\n';
			break;
		}
		if (len == CONFIG_LINE_MAX) {
			fail(p, (struct config_origin){p->cfg->file, p->lineno + 1}, NULL, NULL,
			     "line too long (at most %d bytes)", CONFIG_LINE_MAX);
			return -1;
		}
		nul |= c == '\0';
		src->line[len++] = (char)c;
	}
	if (src->f && ferror(src->f)) {
		fail(p, (struct config_origin){p->cfg->file, 0}, NULL, NULL, "read error: %s",
		     strerror(errno));
		return -1;
	}
	if (len == 0)
		return 0;
	src->line[len] = '\0';
	src->len = len;
	src->pos = 0;
	p->lineno++;
	if (nul) {
		fail(p, (struct config_origin){p->cfg->file, p->lineno}, NULL, NULL,
		     "NUL byte in line");
		return -1;
	}
	scan_line(p, src->line);
	return p->failed ? -1 : 1;
}

/* inih's fgets-like reader. */
static char *read_chunk(char *str, int num, void *stream)
{
	struct source *src = stream;

	if (num < 2 || src->p->failed)
		return NULL;
	if (src->pos == src->len && next_line(src) <= 0)
		return NULL;
	size_t n = src->len - src->pos;
	if (n > (size_t)num - 1)
		n = (size_t)num - 1;
	memcpy(str, src->line + src->pos, n);
	str[n] = '\0';
	src->pos += n;
	return str;
}

static void parse_source(struct parser *p, struct source *src)
{
	/* Debian's inih takes its options at run time: lines up to CONFIG_LINE_MAX bytes on the
	 * heap, no continuation lines, stop at the first error. */
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = CONFIG_LINE_MAX + 3;
	ini_allow_multiline = false;
	ini_allow_no_value = false;
	ini_allow_inline_comments = true;
	ini_allow_bom = true;
	ini_stop_on_first_error = true;

	src->p = p;
	src->len = src->pos = 0;
	int r = ini_parse_stream(read_chunk, src, on_key, p);
	if (r == -2)
		fail(p, (struct config_origin){p->cfg->file, 0}, NULL, NULL, "out of memory");
	else if (r > 0)
		fail(p, (struct config_origin){p->cfg->file, r}, NULL, NULL,
		     "syntax error: expected [section] or key = value");
}

/* ---- overrides ------------------------------------------------------------ */

static void trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

static void apply_override(struct parser *p, size_t i)
{
	const char *text = p->overrides[i];
	struct config_origin at = {SET_FILE, (int)i + 1};
	const char *eq = strchr(text, '='), *dot = NULL;
	char key[64], value[CONFIG_LINE_MAX + 1];

	if (eq)
		for (const char *c = text; c < eq; c++)
			if (*c == '.')
				dot = c;
	if (!eq || !dot) {
		fail(p, at, NULL, NULL, "expected section.key=value");
		return;
	}
	const char *ss = text, *se = dot, *ks = dot + 1, *ke = eq, *vs = eq + 1,
		   *ve = eq + 1 + strlen(eq + 1);
	trim(&ss, &se);
	trim(&ks, &ke);
	trim(&vs, &ve);
	if (ss == se || ks == ke) {
		fail(p, at, NULL, NULL, "expected section.key=value");
		return;
	}
	struct section *s = open_section(p, ss, (size_t)(se - ss), at, true);
	if (!s)
		return;
	if ((size_t)(ke - ks) >= sizeof(key)) {
		fail(p, at, s->name, NULL, "key too long");
		return;
	}
	memcpy(key, ks, (size_t)(ke - ks));
	key[ke - ks] = '\0';
	if ((size_t)(ve - vs) >= sizeof(value)) {
		fail(p, at, s->name, key, "value too long (at most %d bytes)", CONFIG_LINE_MAX);
		return;
	}
	memcpy(value, vs, (size_t)(ve - vs));
	value[ve - vs] = '\0';
	for (const char *c = value; *c; c++) {
		if (*c == ';' && (c == value || is_space(c[-1]))) {
			fail(p, at, s->name, key,
			     "';' at the start or after a space would start a comment in an ini "
			     "file");
			return;
		}
	}
	set_key(p, s, key, value, at, true);
}

/* ---- validation ----------------------------------------------------------- */

static struct config_origin key_at(const struct section *s, const char *key)
{
	for (size_t i = 0; i < s->def->n_keys; i++)
		if (!strcmp(s->def->keys[i].name, key))
			return s->keys[i];
	return (struct config_origin){NULL, 0};
}

/* An output (stdio|file|none) and its path. */
static void check_output(struct parser *p, const char *name, enum console_target target,
			 const struct config_path *path)
{
	const struct section *s = find_section(p, name);
	if (!s)
		return;
	if (target == CONSOLE_FILE && !path->path[0])
		fail(p, s->at, name, "path", "missing (required with output = file)");
	else if (target != CONSOLE_FILE && path->path[0])
		fail(p, path->at, name, "path", "only allowed with output = file (output is %s)",
		     target_names[target]);
}

/* Opens `path` like the VMM will and checks its type. */
static void check_file(struct parser *p, const char *section, const char *key,
		       const struct config_path *path, bool rw, bool block_ok)
{
	struct stat st;
	int fd = open(path->path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		fail(p, path->at, section, key, "%s: %s", strerror(errno), path->path);
		return;
	}
	if (fstat(fd, &st)) {
		fail(p, path->at, section, key, "%s: %s", strerror(errno), path->path);
	} else if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode))) {
		fail(p, path->at, section, key, "not a regular file%s: %s",
		     block_ok ? " or block device" : "", path->path);
	}
	close(fd);
}

static void validate(struct parser *p)
{
	struct vm_config *cfg = p->cfg;

	for (size_t i = 0; i < N_SECTIONS; i++) {
		const struct section_def *def = &sections[i];
		if (!def->required || first_of(p, def))
			continue;
		for (size_t k = 0; k < def->n_keys; k++)
			if (def->keys[k].required)
				fail(p, (struct config_origin){cfg->file, 0}, def->name,
				     def->keys[k].name, "missing (required)");
	}
	for (size_t i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];
		for (size_t k = 0; k < s->def->n_keys; k++)
			if (s->def->keys[k].required && !s->keys[k].file)
				fail(p, s->at, s->name, s->def->keys[k].name, "missing (required)");
	}

	check_output(p, "console", cfg->console, &cfg->console_path);
	if (cfg->vconsole) {
		check_output(p, "vconsole", cfg->vconsole_output, &cfg->vconsole_path);
		if (cfg->vconsole_output == CONSOLE_STDIO && cfg->console == CONSOLE_STDIO) {
			const struct section *s = find_section(p, "vconsole");
			struct config_origin at = key_at(s, "output");
			fail(p, at.file ? at : s->at, "vconsole", "output",
			     "stdio is already the output of [console]; set one of them to file or "
			     "none");
		}
	}
	for (size_t i = 0; i < cfg->n_nets; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->nets[i].tap, cfg->nets[j].tap))
				continue;
			char name[SECTION_NAME_MAX];
			snprintf(name, sizeof(name), "net.%s", cfg->nets[i].name);
			fail(p, key_at(find_section(p, name), "tap"), name, "tap",
			     "'%s' is already used by [net.%s]", cfg->nets[i].tap,
			     cfg->nets[j].name);
		}
	}
	if (cfg->vsock && strlen(cfg->vsock_uds.path) >= UNIX_PATH_MAX)
		fail(p, cfg->vsock_uds.at, "vsock", "uds_path",
		     "too long for a unix socket (%zu bytes, at most %zu)",
		     strlen(cfg->vsock_uds.path), UNIX_PATH_MAX - 1);

	if (p->failed)
		return;
	check_file(p, "kernel", "path", &cfg->kernel, false, false);
	if (cfg->initrd.path[0])
		check_file(p, "kernel", "initrd", &cfg->initrd, false, false);
	for (size_t i = 0; i < cfg->n_drives; i++) {
		char name[SECTION_NAME_MAX];
		snprintf(name, sizeof(name), "drive.%s", cfg->drives[i].name);
		check_file(p, name, "path", &cfg->drives[i].path, !cfg->drives[i].readonly, true);
	}
}

/* ---- entry points ---------------------------------------------------------- */

void config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "minnow");
	cfg->vcpus = 1;
	cfg->memory = 128ULL << 20;
	cfg->prefault = false;
	cfg->acpi = true;
	cfg->boot_timeout_ms = 0;
	cfg->format = KERNEL_AUTO;
	cfg->cmdline_devices = true;
	cfg->console = CONSOLE_STDIO;
	cfg->console_input = true;
	cfg->vsock_cid = 3;
	cfg->vconsole_output = CONSOLE_STDIO;
}

static int run(struct parser *p, struct source *src)
{
	if (!p->failed)
		parse_source(p, src);
	for (size_t i = 0; i < p->n_overrides && !p->failed; i++)
		apply_override(p, i);
	if (!p->failed)
		validate(p);
	return p->failed ? -1 : 0;
}

int config_load(struct vm_config *cfg, const char *path, const char *const *overrides,
		size_t n_overrides, struct config_error *err)
{
	struct parser *p = calloc(1, sizeof(*p));
	struct source *src = calloc(1, sizeof(*src));
	int r = -1;

	config_defaults(cfg);
	cfg->file = path;
	err->msg[0] = '\0';
	if (!p || !src) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
		goto out;
	}
	p->cfg = cfg;
	p->err = err;
	p->overrides = overrides;
	p->n_overrides = n_overrides;
	src->f = fopen(path, "re");
	if (!src->f)
		fail(p, (struct config_origin){path, 0}, NULL, NULL, "cannot open: %s",
		     strerror(errno));
	r = run(p, src);
	if (src->f)
		fclose(src->f);
out:
	free(p);
	free(src);
	return r;
}

int config_parse_string(struct vm_config *cfg, const char *name, const char *text,
			struct config_error *err)
{
	struct parser *p = calloc(1, sizeof(*p));
	struct source *src = calloc(1, sizeof(*src));
	int r = -1;

	config_defaults(cfg);
	cfg->file = name;
	err->msg[0] = '\0';
	if (!p || !src) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
	} else {
		p->cfg = cfg;
		p->err = err;
		src->s = text;
		r = run(p, src);
	}
	free(p);
	free(src);
	return r;
}

/* ---- printing ---------------------------------------------------------------- */

static const char *onoff(bool b)
{
	return b ? "on" : "off";
}

static void print_output(FILE *out, enum console_target target, const struct config_path *path)
{
	fprintf(out, "output = %s\n", target_names[target]);
	if (target == CONSOLE_FILE)
		fprintf(out, "path = %s\n", path->path);
}

void config_print(const struct vm_config *cfg, FILE *out)
{
	char size[32];

	fprintf(out, "[vm]\nname = %s\nvcpus = %u\nmemory = %s\nprefault = %s\nacpi = %s\n",
		cfg->name, cfg->vcpus, fmt_size(cfg->memory, size, sizeof(size)),
		onoff(cfg->prefault), onoff(cfg->acpi));
	if (cfg->boot_timeout_ms && cfg->boot_timeout_ms % 1000 == 0)
		fprintf(out, "boot_timeout = %us\n", cfg->boot_timeout_ms / 1000);
	else if (cfg->boot_timeout_ms)
		fprintf(out, "boot_timeout = %ums\n", cfg->boot_timeout_ms);
	else
		fprintf(out, "boot_timeout = 0\n");

	fprintf(out, "\n[kernel]\npath = %s\n", cfg->kernel.path);
	if (cfg->initrd.path[0])
		fprintf(out, "initrd = %s\n", cfg->initrd.path);
	fprintf(out, "cmdline = %s\nformat = %s\ncmdline_devices = %s\n", cfg->cmdline,
		format_names[cfg->format], onoff(cfg->cmdline_devices));

	fprintf(out, "\n[console]\n");
	print_output(out, cfg->console, &cfg->console_path);
	fprintf(out, "input = %s\n", onoff(cfg->console_input));

	for (size_t i = 0; i < cfg->n_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];
		fprintf(out, "\n[drive.%s]\npath = %s\nreadonly = %s\ncache = %s\n", d->name,
			d->path.path, onoff(d->readonly), cache_names[d->cache]);
		if (d->serial[0])
			fprintf(out, "serial = %s\n", d->serial);
	}
	for (size_t i = 0; i < cfg->n_nets; i++) {
		const struct net_config *n = &cfg->nets[i];
		fprintf(out, "\n[net.%s]\ntap = %s\n", n->name, n->tap);
		if (n->mac_set)
			fprintf(out, "mac = %02x:%02x:%02x:%02x:%02x:%02x\n", n->mac[0], n->mac[1],
				n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	}
	if (cfg->vsock)
		fprintf(out, "\n[vsock]\ncid = %u\nuds_path = %s\n", cfg->vsock_cid,
			cfg->vsock_uds.path);
	fprintf(out, "\n[rng]\nenabled = %s\n", onoff(cfg->rng));
	if (cfg->vconsole) {
		fprintf(out, "\n[vconsole]\n");
		print_output(out, cfg->vconsole_output, &cfg->vconsole_path);
	}
}
