/* config_values.c - scalar values of the config as text: sizes and numbers parsed, sizes
 * formatted, names and control characters checked. */
#include "config_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
	       c == '_' || c == '-';
}

bool cfg_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

bool cfg_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= CONFIG_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!is_name_char(*s))
			return false;
	return true;
}

/* ---- value parsers ------------------------------------------------------ */

int cfg_parse_size_why(const char *text, uint64_t *out, char *why, size_t n)
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
	return cfg_parse_size_why(text, out, why, sizeof(why));
}

/* Decimal, or hexadecimal after 0x. */
int cfg_parse_u64(const char *text, uint64_t *out, char *why, size_t n)
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
const char *cfg_fmt_size(uint64_t v, char *buf, size_t n)
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

bool config_valid_fs_tag(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > CONFIG_FS_TAG_MAX)
		return false;
	for (const char *c = tag; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f || *c == ',' || *c == ':')
			return false;
	return true;
}

const char *config_virtiofsd(void)
{
	const char *e = getenv("MINNOW_VIRTIOFSD");
	return e && *e ? e : CONFIG_VIRTIOFSD;
}

int config_check_share_dir(const char *dir, bool readonly, char *why, size_t n)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		snprintf(why, n, "%s: %s", strerror(errno), dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, n, "not a directory: %s", dir);
		return -1;
	}
	if (access(dir, R_OK | X_OK) != 0) {
		snprintf(why, n, "%s: %s", strerror(errno), dir);
		return -1;
	}
	if (!readonly && access(dir, W_OK) != 0) {
		snprintf(why, n, "not writable (%s; share it read-only instead): %s",
			 strerror(errno), dir);
		return -1;
	}
	return 0;
}
