/* config_keys.c - the schema of the ini file: every section and key, and the setters that
 * check a key's value and store it into struct vm_config, a drive or a net. */
#include "config_internal.h"
#include "platform.h"

#include <limits.h>
#include <strings.h>

_Static_assert(sizeof(enum kernel_format) == sizeof(int), "enum kernel_format is an int");
_Static_assert(sizeof(enum kernel_decompress) == sizeof(int), "enum kernel_decompress is an int");
_Static_assert(sizeof(enum console_target) == sizeof(int), "enum console_target is an int");
_Static_assert(sizeof(enum drive_cache) == sizeof(int), "enum drive_cache is an int");
_Static_assert(sizeof(enum fs_cache) == sizeof(int), "enum fs_cache is an int");
_Static_assert(sizeof(enum drive_io) == sizeof(int), "enum drive_io is an int");
_Static_assert(sizeof(enum jail_netns) == sizeof(int), "enum jail_netns is an int");
_Static_assert(sizeof(enum seccomp_mode) == sizeof(int), "enum seccomp_mode is an int");
_Static_assert(sizeof(((struct vm_config *)0)->vsock_cid) == sizeof(unsigned), "cid is unsigned");

/* ---- setters ------------------------------------------------------------ */

static int set_name(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	if (!cfg_valid_name(v)) {
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
	if (cfg_parse_u64(v, &x, why, n))
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
	if (cfg_parse_size_why(v, &x, why, n))
		return -1;
	if (x < k->min || x > k->max) {
		char lo[32], hi[32];
		snprintf(why, n, "out of range: %.*s%s (allowed %s..%s)", QARG(v),
			 cfg_fmt_size(k->min, lo, sizeof(lo)),
			 cfg_fmt_size(k->max, hi, sizeof(hi)));
		return -1;
	}
	if (k->align && x % k->align) {
		char al[32];
		snprintf(why, n, "%.*s%s is not a multiple of %s", QARG(v),
			 cfg_fmt_size(k->align, al, sizeof(al)));
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
	if (x && x * scale < k->min) {
		snprintf(why, n, "too short: " QFMT " (at least %llums, or 0)", QARG(v),
			 (unsigned long long)k->min);
		return -1;
	}
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
	cfg_appendf(why, n, &len, "bad value " QFMT " (expected one of:", QARG(v));
	for (int i = 0; k->names[i]; i++)
		cfg_appendf(why, n, &len, "%s %s", i ? "," : "", k->names[i]);
	cfg_appendf(why, n, &len, ")");
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
	if (cfg_has_control(v)) {
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

static int set_fs_tag(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	if (!config_valid_fs_tag(v)) {
		snprintf(why, n,
			 "bad tag " QFMT " (1-%d bytes of printable ASCII, no blank, ',' or ':')",
			 QARG(v), CONFIG_FS_TAG_MAX);
		return -1;
	}
	snprintf(FIELD(char, obj, k), k->len, "%s", v);
	return 0;
}

int cfg_set_path(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
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
	if (cfg_has_control(v)) {
		snprintf(why, n, "contains a control character");
		return -1;
	}
	snprintf(p->path, sizeof(p->path), "%s", v); /* cfg_set_key() records the origin */
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
		if (ok)
			mac[i] = (uint8_t)((unsigned)hi << 4 | (unsigned)lo);
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

const char *const cfg_format_names[] = {"auto", "bzimage", "elf", "pvh", NULL};
const char *const cfg_decompress_names[] = {"auto", "guest", "host", NULL};
const char *const cfg_target_names[] = {"stdio", "file", "none", NULL};
const char *const cfg_vconsole_target_names[] = {"stdio", "file", "none", "socket", NULL};
const char *const cfg_cache_names[] = {"writeback", "none", NULL};
const char *const cfg_drive_io_names[] = {"auto", "io_uring", "sync", NULL};
const char *const cfg_fs_cache_names[] = {"auto", "always", "none", NULL};
const char *const cfg_seccomp_names[] = {"kill", "log", "off", NULL};

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
    {.name = "pvpanic", .set = set_bool, .off = VM(pvpanic)},
    {.name = "boot_timeout", .set = set_duration, .off = VM(boot_timeout_ms)},
    {.name = "control_socket", .set = cfg_set_path, .off = VM(control_socket)},
    {.name = "metrics_file", .set = cfg_set_path, .off = VM(metrics_file)},
    {.name = "metrics_interval", .set = set_duration, .off = VM(metrics_interval_ms), .min = 100},
    {.name = "restore", .set = cfg_set_path, .off = VM(restore)},
};

static const struct key_def kernel_keys[] = {
    {.name = "path", .set = cfg_set_path, .off = VM(kernel), .required = true},
    {.name = "initrd", .set = cfg_set_path, .off = VM(initrd)},
    {.name = "cmdline", .set = set_string, .off = VM(cmdline), .len = CONFIG_CMDLINE_MAX},
    {.name = "format", .set = set_enum, .off = VM(format), .names = cfg_format_names},
    {.name = "decompress", .set = set_enum, .off = VM(decompress), .names = cfg_decompress_names},
    {.name = "cmdline_devices", .set = set_bool, .off = VM(cmdline_devices)},
};

static const struct key_def console_keys[] = {
    {.name = "output", .set = set_enum, .off = VM(console), .names = cfg_target_names},
    {.name = "path", .set = cfg_set_path, .off = VM(console_path)},
    {.name = "input", .set = set_bool, .off = VM(console_input)},
    {.name = "coalesce", .set = set_bool, .off = VM(console_coalesce)},
};

#define DRV(f)	 offsetof(struct drive_config, f)
#define NET(f)	 offsetof(struct net_config, f)
#define RATE_MAX (1ULL << 50) /* 1 PiB/s: far beyond any device, no overflow */
#define OPS_MAX	 1000000000u

static const struct key_def drive_keys[] = {
    {.name = "path",
     .set = cfg_set_path,
     .off = offsetof(struct drive_config, path),
     .required = true},
    {.name = "readonly", .set = set_bool, .off = offsetof(struct drive_config, readonly)},
    {.name = "cache",
     .set = set_enum,
     .off = offsetof(struct drive_config, cache),
     .names = cfg_cache_names},
    {.name = "io", .set = set_enum, .off = DRV(io), .names = cfg_drive_io_names},
    {.name = "serial",
     .set = set_serial,
     .off = offsetof(struct drive_config, serial),
     .len = sizeof(((struct drive_config *)0)->serial)},
    {.name = "bandwidth", .set = set_size, .off = DRV(limit.bandwidth), .max = RATE_MAX},
    {.name = "bandwidth_burst",
     .set = set_size,
     .off = DRV(limit.bandwidth_burst),
     .max = RATE_MAX},
    {.name = "iops", .set = set_uint, .off = DRV(limit.ops), .max = OPS_MAX},
    {.name = "iops_burst", .set = set_uint, .off = DRV(limit.ops_burst), .max = OPS_MAX},
};

static const struct key_def net_keys[] = {
    {.name = "tap",
     .set = set_tap,
     .off = offsetof(struct net_config, tap),
     .len = sizeof(((struct net_config *)0)->tap),
     .required = true},
    {.name = "mac", .set = set_mac},
    {.name = "rx_bandwidth", .set = set_size, .off = NET(rx.bandwidth), .max = RATE_MAX},
    {.name = "rx_bandwidth_burst",
     .set = set_size,
     .off = NET(rx.bandwidth_burst),
     .max = RATE_MAX},
    {.name = "rx_pps", .set = set_uint, .off = NET(rx.ops), .max = OPS_MAX},
    {.name = "rx_pps_burst", .set = set_uint, .off = NET(rx.ops_burst), .max = OPS_MAX},
    {.name = "tx_bandwidth", .set = set_size, .off = NET(tx.bandwidth), .max = RATE_MAX},
    {.name = "tx_bandwidth_burst",
     .set = set_size,
     .off = NET(tx.bandwidth_burst),
     .max = RATE_MAX},
    {.name = "tx_pps", .set = set_uint, .off = NET(tx.ops), .max = OPS_MAX},
    {.name = "tx_pps_burst", .set = set_uint, .off = NET(tx.ops_burst), .max = OPS_MAX},
};

#define FS(f) offsetof(struct fs_config, f)

static const struct key_def fs_keys[] = {
    {.name = "host_dir", .set = cfg_set_path, .off = FS(host_dir)},
    {.name = "tag", .set = set_fs_tag, .off = FS(tag), .len = CONFIG_FS_TAG_MAX + 1},
    {.name = "readonly", .set = set_bool, .off = FS(readonly)},
    {.name = "socket", .set = cfg_set_path, .off = FS(socket)},
    {.name = "cache", .set = set_enum, .off = FS(cache), .names = cfg_fs_cache_names},
    {.name = "virtiofsd", .set = cfg_set_path, .off = FS(virtiofsd)},
};

static const struct key_def vsock_keys[] = {
    {.name = "cid", .set = set_uint, .off = VM(vsock_cid), .min = 3, .max = 0xFFFFFFFEu},
    {.name = "uds_path", .set = cfg_set_path, .off = VM(vsock_uds), .required = true},
};

static const struct key_def rng_keys[] = {
    {.name = "enabled", .set = set_bool, .off = VM(rng)},
};

static const struct key_def vconsole_keys[] = {
    {.name = "output",
     .set = set_enum,
     .off = VM(vconsole_output),
     .names = cfg_vconsole_target_names},
    {.name = "path", .set = cfg_set_path, .off = VM(vconsole_path)},
};

static const struct key_def jail_keys[] = {
    {.name = "dir", .set = cfg_set_path, .off = VM(jail.dir), .required = true},
    {.name = "uid", .set = cfg_set_jail_user},
    {.name = "gid", .set = cfg_set_jail_user},
    {.name = "netns", .set = set_enum, .off = VM(jail.netns), .names = cfg_netns_names},
    {.name = "nofile", .set = cfg_set_auto_uint, .off = VM(jail.nofile), .min = 16, .max = 1 << 20},
    {.name = "nproc", .set = cfg_set_auto_uint, .off = VM(jail.nproc), .min = 2, .max = 1 << 20},
    {.name = "fsize", .set = cfg_set_auto_size, .off = VM(jail.fsize), .min = 1ULL << 20},
    {.name = "cgroup",
     .set = cfg_set_cgroup,
     .off = VM(jail.cgroup),
     .len = sizeof(((struct jail_config *)0)->cgroup)},
    {.name = "cpu_max",
     .set = cfg_set_cpu_max,
     .off = VM(jail.cpu_max),
     .len = sizeof(((struct jail_config *)0)->cpu_max)},
    {.name = "memory_max",
     .set = set_size,
     .off = VM(jail.memory_max),
     .min = 1ULL << 20,
     .max = UINT64_MAX},
    {.name = "pids_max", .set = set_uint, .off = VM(jail.pids_max), .min = 1, .max = 1 << 22},
};

static const struct key_def security_keys[] = {
    {.name = "seccomp", .set = set_enum, .off = VM(seccomp), .names = cfg_seccomp_names},
};

#define KEYS(t) t, sizeof(t) / sizeof(t[0])

const struct section_def config_sections[] = {
    {"vm", false, false, KEYS(vm_keys), OBJ_CFG, NO_FLAG},
    {"kernel", false, true, KEYS(kernel_keys), OBJ_CFG, NO_FLAG},
    {"console", false, false, KEYS(console_keys), OBJ_CFG, NO_FLAG},
    {"drive", true, false, KEYS(drive_keys), OBJ_DRIVE, NO_FLAG},
    {"net", true, false, KEYS(net_keys), OBJ_NET, NO_FLAG},
    {"fs", true, false, KEYS(fs_keys), OBJ_FS, NO_FLAG},
    {"share", true, false, KEYS(fs_keys), OBJ_FS, NO_FLAG}, /* another name for [fs.NAME] */
    {"vsock", false, false, KEYS(vsock_keys), OBJ_CFG, VM(vsock)},
    {"rng", false, false, KEYS(rng_keys), OBJ_CFG, VM(rng)},
    {"vconsole", false, false, KEYS(vconsole_keys), OBJ_CFG, VM(vconsole)},
    {"jail", false, false, KEYS(jail_keys), OBJ_CFG, VM(jailed)},
    {"security", false, false, KEYS(security_keys), OBJ_CFG, NO_FLAG},
};

const size_t config_n_sections = sizeof(config_sections) / sizeof(config_sections[0]);
