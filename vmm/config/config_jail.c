/* config_jail.c - the values of [jail]: users and groups by name or number (looked up in
 * /etc/passwd and /etc/group), the network namespace, limits that may be "auto", cgroup
 * names and cpu.max. */
#include "config_internal.h"

#include <stdlib.h>
#include <strings.h>

/* Whether `s` is a decimal number up to 2^32 - 2 (-1 is no id); stores it. */
static bool decimal_id(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!is_digit(*s))
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v >= UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* Finds `name` in a colon-separated database: field 3 (the id) and, for
 * passwd, field 4 (the primary group). */
static int lookup(const char *db, const char *name, uint32_t *id, uint32_t *gid)
{
	FILE *f = fopen(db, "re");
	if (!f)
		return -1;
	char line[1024];
	int r = -1;
	size_t len = strlen(name);
	while (r < 0 && fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, len) != 0 || line[len] != ':')
			continue;
		char *p = strchr(line + len + 1, ':'); /* after the password field */
		uint32_t v, g;
		char *end = p ? strchr(p + 1, ':') : NULL;
		if (!end)
			continue;
		*end = '\0';
		if (!decimal_id(p + 1, &v))
			continue;
		char *gend = strchr(end + 1, ':');
		if (gend)
			*gend = '\0';
		*id = v;
		if (gid && gend && decimal_id(end + 1, &g))
			*gid = g;
		r = 0;
	}
	fclose(f);
	return r;
}

int config_lookup_user(const char *db, const char *name, uint32_t *id, uint32_t *gid)
{
	if (decimal_id(name, id))
		return 0;
	return lookup(db ? db : "/etc/passwd", name, id, gid);
}

int config_lookup_group(const char *db, const char *name, uint32_t *id)
{
	if (decimal_id(name, id))
		return 0;
	return lookup(db ? db : "/etc/group", name, id, NULL);
}

int cfg_set_jail_user(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	struct vm_config *cfg = obj;
	uint32_t id = 0, gid = 0;
	bool has_gid = false;
	if (!strcmp(k->name, "uid")) {
		gid = UINT32_MAX;
		if (config_lookup_user(NULL, v, &id, &gid) < 0) {
			snprintf(why, n, "unknown user " QFMT " (not a number, not in /etc/passwd)",
				 QARG(v));
			return -1;
		}
		has_gid = gid != UINT32_MAX;
	} else if (config_lookup_group(NULL, v, &id) < 0) {
		snprintf(why, n, "unknown group " QFMT " (not a number, not in /etc/group)",
			 QARG(v));
		return -1;
	}
	if (id == 0) {
		snprintf(why, n, "%s 0 is root: the jail needs another", k->name);
		return -1;
	}
	if (!strcmp(k->name, "uid")) {
		cfg->jail.uid = id;
		if (has_gid && !cfg->jail.gid_set && gid != 0)
			cfg->jail.gid = gid;
	} else {
		cfg->jail.gid = id;
		cfg->jail.gid_set = true;
	}
	return 0;
}

const char *const cfg_netns_names[] = {"inherit", "new", NULL};

/* "auto" (0) or a number in k->min..k->max. */
int cfg_set_auto_uint(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	uint64_t x;
	if (!strcasecmp(v, "auto")) {
		*FIELD(unsigned, obj, k) = 0;
		return 0;
	}
	if (cfg_parse_u64(v, &x, why, n))
		return -1;
	if (x < k->min || x > k->max) {
		snprintf(why, n, "out of range: " QFMT " (allowed %llu..%llu, or auto)", QARG(v),
			 (unsigned long long)k->min, (unsigned long long)k->max);
		return -1;
	}
	*FIELD(unsigned, obj, k) = (unsigned)x;
	return 0;
}

/* "auto" (0) or a size of at least 1M. */
int cfg_set_auto_size(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	uint64_t x;
	if (!strcasecmp(v, "auto")) {
		*FIELD(uint64_t, obj, k) = 0;
		return 0;
	}
	if (cfg_parse_size_why(v, &x, why, n))
		return -1;
	if (x < k->min) {
		char lo[32];
		snprintf(why, n, "too small: " QFMT " (at least %s, or auto)", QARG(v),
			 cfg_fmt_size(k->min, lo, sizeof(lo)));
		return -1;
	}
	*FIELD(uint64_t, obj, k) = x;
	return 0;
}

/* A cgroup path relative to the cgroup2 mount: names of A-Z a-z 0-9 . _ - separated by
 * single '/', no "." or ".." component. */
int cfg_set_cgroup(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	bool ok = *v && strlen(v) < k->len;
	for (const char *s = v; ok;) {
		size_t len = strcspn(s, "/");
		ok = len > 0 && !(len == 1 && s[0] == '.') && !(len == 2 && !strncmp(s, "..", 2));
		for (size_t i = 0; ok && i < len; i++)
			ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			     is_digit(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-';
		if (!s[len])
			break;
		s += len + 1;
	}
	if (!ok) {
		snprintf(why, n,
			 "bad cgroup " QFMT
			 " (a path under the cgroup2 mount: names of A-Z a-z 0-9 . _ - and '/')",
			 QARG(v));
		return -1;
	}
	snprintf(FIELD(char, obj, k), k->len, "%s", v);
	return 0;
}

/* cpu.max as the kernel takes it: "QUOTA [PERIOD]" or "max [PERIOD]", in microseconds,
 * QUOTA 1000 or more, PERIOD 1000 to 1000000. */
int cfg_set_cpu_max(const struct key_def *k, void *obj, const char *v, char *why, size_t n)
{
	char quota[24] = "", period[24] = "", extra[2] = "";
	uint64_t q = 0, p = 100000;
	int got = sscanf(v, "%23s %23s %1s", quota, period, extra);
	bool ok = got == 1 || got == 2;
	if (ok && strcmp(quota, "max") != 0)
		ok = !cfg_parse_u64(quota, &q, why, n) && q >= 1000 && q <= UINT32_MAX;
	if (ok && got == 2)
		ok = !cfg_parse_u64(period, &p, why, n) && p >= 1000 && p <= 1000000;
	if (!ok) {
		snprintf(why, n,
			 "bad cpu_max " QFMT " (expected \"QUOTA PERIOD\" in microseconds, e.g. "
			 "\"50000 100000\" for half a CPU, or \"max\")",
			 QARG(v));
		return -1;
	}
	snprintf(FIELD(char, obj, k), k->len, "%s %llu", quota, (unsigned long long)p);
	return 0;
}
