/* config_index.c - "{i}" in config values: the instance number of a VM in a
 * batch (minnow batch, or minnow run --index N), so that one file describes
 * many VMs with their own paths, TAPs, CIDs and sockets. */
#include "config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses "{i}" or "{i+K}" at s; on success stores K and the length of the
 * form. */
static bool parse_form(const char *s, long *add, size_t *len)
{
	if (strncmp(s, "{i", 2) != 0)
		return false;
	const char *p = s + 2;
	*add = 0;
	if (*p == '+') {
		if (p[1] < '0' || p[1] > '9')
			return false;
		char *end;
		errno = 0;
		*add = strtol(p + 1, &end, 10);
		if (errno || *add > INT32_MAX)
			return false;
		p = end;
	}
	if (*p != '}')
		return false;
	*len = (size_t)(p + 1 - s);
	return true;
}

int cfg_expand_index(const char *value, long index, char *out, size_t size, char *why,
		     size_t whylen)
{
	size_t n = 0;
	for (const char *s = value; *s;) {
		long add;
		size_t len;
		if (s[0] != '{' || s[1] != 'i') {
			if (n + 1 >= size)
				goto too_long;
			out[n++] = *s++;
			continue;
		}
		if (!parse_form(s, &add, &len)) {
			snprintf(why, whylen,
				 "'%.16s': the instance number is written {i} or {i+N}", s);
			return -1;
		}
		if (index < 0) {
			snprintf(why, whylen,
				 "%.*s needs an instance number (minnow batch, or minnow run "
				 "--index N)",
				 (int)len, s);
			return -1;
		}
		int w = snprintf(out + n, size - n, "%ld", index + add);
		if (w < 0 || (size_t)w >= size - n)
			goto too_long;
		n += (size_t)w;
		s += len;
	}
	out[n] = '\0';
	return 0;
too_long:
	snprintf(why, whylen, "value too long once {i} is replaced (at most %zu bytes)", size - 1);
	return -1;
}
