/* cmdline.c - the kernel command line as minnow passes it on (cmdline.h). */
#include "cmdline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The length of the word at p (blanks outside double quotes end it). */
static size_t word_len(const char *p)
{
	bool quoted = false;
	size_t n = 0;
	for (; p[n] && (quoted || (p[n] != ' ' && p[n] != '\t' && p[n] != '\n')); n++)
		if (p[n] == '"')
			quoted = !quoted;
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

static bool starts(const char *w, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && !memcmp(w, prefix, n);
}

static bool is_init_args_mark(const char *w, size_t len)
{
	return len == 2 && !memcmp(w, "--", 2);
}

/* The first of the kernel's own words at or after p (NULL at the end of
 * the line or at "--", after which the words are init's), its length in
 * *len. */
static const char *kernel_word(const char *p, size_t *len)
{
	while (is_blank(*p))
		p++;
	*len = word_len(p);
	return *p && !is_init_args_mark(p, *len) ? p : NULL;
}

/* Whether the kernel's own words decide the early console. */
static bool decides(const char *in)
{
	size_t len;
	for (const char *p = kernel_word(in, &len); p; p = kernel_word(p + len, &len))
		if (starts(p, len, "earlycon") || starts(p, len, "console=uart"))
			return true;
	return false;
}

/* The word minnow rewrites, with or without ",OPTIONS" after it. */
static const char ttys0[] = "console=ttyS0";
#define TTYS0_LEN (sizeof(ttys0) - 1)

static bool is_ttys0(const char *w, size_t len)
{
	return starts(w, len, ttys0) && (len == TTYS0_LEN || w[TTYS0_LEN] == ',');
}

/* Words that set the console's log level: the early console prints the
 * whole log so far at the level in force when it starts. */
static bool sets_loglevel(const char *w, size_t len)
{
	return (len == 5 && (!memcmp(w, "quiet", 5) || !memcmp(w, "debug", 5))) ||
	       starts(w, len, "loglevel=");
}

/* Appends n bytes of src to out (o bytes used of size). */
static int put(char *out, size_t size, size_t *o, const char *src, size_t n)
{
	if (*o + n >= size)
		return -ENOSPC;
	memcpy(out + *o, src, n);
	*o += n;
	return 0;
}

/* Appends, each with a blank after it, the kernel's words after `p` that
 * set the log level. */
static int put_loglevel_words(char *out, size_t size, size_t *o, const char *p)
{
	size_t len;
	for (p = kernel_word(p, &len); p; p = kernel_word(p + len, &len))
		if (sets_loglevel(p, len) &&
		    (put(out, size, o, p, len) < 0 || put(out, size, o, " ", 1) < 0))
			return -ENOSPC;
	return 0;
}

int cmdline_early_console(const char *in, char *out, size_t size, uint64_t uart_base)
{
	if (size == 0)
		return -ENOSPC;
	bool keep = decides(in);
	bool rewrote = false; /* the first console=ttyS0 has been rewritten */
	size_t o = 0, word_end = 0;
	for (const char *p = in; *p;) {
		size_t len = is_blank(*p) ? 1 : word_len(p);
		char word[256];
		const char *src = p;
		size_t n = len;
		if (!keep && is_init_args_mark(p, len)) {
			keep = true; /* the rest is init's */
		} else if (!keep && is_ttys0(p, len)) {
			if (!rewrote && put_loglevel_words(out, size, &o, p + len) < 0)
				return -ENOSPC;
			int w =
			    snprintf(word, sizeof(word), "console=uart8250,mmio,0x%" PRIx64 "%.*s",
				     uart_base, (int)(len - TTYS0_LEN), p + TTYS0_LEN);
			if (w < 0 || (size_t)w >= sizeof(word))
				return -ENOSPC;
			src = word;
			n = (size_t)w;
			rewrote = true;
		} else if (!keep && rewrote && sets_loglevel(p, len)) {
			o = word_end; /* moved before the console: drop it and the blanks before */
			p += len;
			continue;
		}
		if (put(out, size, &o, src, n) < 0)
			return -ENOSPC;
		if (!is_blank(*p))
			word_end = o;
		p += len;
	}
	out[o] = '\0';
	return 0;
}
