/* config_ini.c - the ini text through inih, one physical line at a time: line numbers,
 * section headers, syntax errors, and each key handed to cfg_set_key(). */
#include "config_internal.h"

#include <errno.h>
#include <ini.h>
#include <string.h>

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	struct config_origin at = {p->cfg->file, p->lineno};

	(void)section; /* inih cuts section names at 50 bytes: the reader tracks the real one */
	if (p->failed)
		return 0;
	if (!p->cur) {
		cfg_fail(p, at, NULL, name, "key before the first [section]");
		return 0;
	}
	/* inih keeps "key = ; note" as the value "; note": read it as an empty value and a
	 * comment, as a user would (config_print() relies on it, too). */
	if (value[0] == ';')
		value = "";
	return cfg_set_key(p, p->cur, name, value, at, false) == 0;
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
			cfg_fail(p, at, NULL, NULL, "syntax error: [section] header without ']'");
			return;
		}
		while (s < e && is_space(*s))
			s++;
		while (e > s && is_space(e[-1]))
			e--;
		p->cur = cfg_open_section(p, s, (size_t)(e - s), at, false);
		return;
	}
	for (e = s; *e && *e != '=' && *e != ':' && !(was_space && *e == ';'); e++)
		was_space = is_space(*e);
	if (*e != '=' && *e != ':')
		cfg_fail(p, at, NULL, NULL, "syntax error: expected [section] or key = value");
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
			cfg_fail(p, (struct config_origin){p->cfg->file, p->lineno + 1}, NULL, NULL,
				 "line too long (at most %d bytes)", CONFIG_LINE_MAX);
			return -1;
		}
		nul |= c == '\0';
		src->line[len++] = (char)c;
	}
	if (src->f && ferror(src->f)) {
		cfg_fail(p, (struct config_origin){p->cfg->file, 0}, NULL, NULL, "read error: %s",
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
		cfg_fail(p, (struct config_origin){p->cfg->file, p->lineno}, NULL, NULL,
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

void cfg_parse_source(struct parser *p, struct source *src)
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
		cfg_fail(p, (struct config_origin){p->cfg->file, 0}, NULL, NULL, "out of memory");
	else if (r > 0)
		cfg_fail(p, (struct config_origin){p->cfg->file, r}, NULL, NULL,
			 "syntax error: expected [section] or key = value");
}
