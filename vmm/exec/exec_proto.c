/* exec_proto.c - encoding and decoding of the command minnow exec sends to
 * minnow-init (exec_proto.h). */
#include "exec_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int env_ok(const char *e)
{
	const char *eq = strchr(e, '=');
	return eq && eq != e;
}

int exec_mount_split(const char *entry, int *ro, const char **tag, size_t *taglen, const char **dir)
{
	if (strncmp(entry, "ro:", 3) != 0 && strncmp(entry, "rw:", 3) != 0)
		return -EINVAL;
	const char *t = entry + 3, *colon = strchr(t, ':');
	if (!colon || colon == t || colon[1] != '/')
		return -EINVAL;
	*ro = entry[1] == 'o';
	*tag = t;
	*taglen = (size_t)(colon - t);
	*dir = colon + 1;
	return 0;
}

static int mount_ok(const char *m)
{
	int ro;
	const char *tag, *dir;
	size_t taglen;
	return exec_mount_split(m, &ro, &tag, &taglen, &dir) == 0;
}

/* Appends tag, the string and its NUL at *pos. */
static void put(uint8_t *buf, size_t *pos, char tag, const char *str)
{
	size_t n = strlen(str) + 1;
	buf[(*pos)++] = (uint8_t)tag;
	memcpy(buf + *pos, str, n);
	*pos += n;
}

/* Parses "M ROWS COLS" (decimal, single blanks) into s; 0 or -1. */
static int tty_parse(const char *t, struct exec_spec *s)
{
	unsigned v[3];
	for (int i = 0; i < 3; i++) {
		if (i > 0 && *t++ != ' ')
			return -1;
		if (*t < '0' || *t > '9')
			return -1;
		unsigned x = 0;
		for (; *t >= '0' && *t <= '9'; t++)
			if ((x = x * 10 + (unsigned)(*t - '0')) > 65535)
				return -1;
		v[i] = x;
	}
	if (*t || v[0] == 0 || v[0] > 3)
		return -1;
	s->tty = v[0];
	s->rows = v[1];
	s->cols = v[2];
	return 0;
}

int exec_spec_encode(const struct exec_spec *s, uint8_t **out, size_t *len)
{
	if (s->argc == 0 || !s->argv[0][0] || s->argc > EXEC_SPEC_MAX_ARGS ||
	    s->envc > EXEC_SPEC_MAX_ARGS || s->tty > 3 || s->rows > 65535 || s->cols > 65535)
		return -EINVAL;
	char tty[32];
	snprintf(tty, sizeof(tty), "%u %u %u", s->tty, s->rows, s->cols);
	size_t payload = 0;
	for (size_t i = 0; i < s->argc; i++)
		payload += strlen(s->argv[i]) + 2;
	for (size_t i = 0; i < s->envc; i++) {
		if (!env_ok(s->envp[i]))
			return -EINVAL;
		payload += strlen(s->envp[i]) + 2;
	}
	if (s->cwd)
		payload += strlen(s->cwd) + 2;
	if (s->tty)
		payload += strlen(tty) + 2;
	if (s->mountc > EXEC_SPEC_MAX_ARGS)
		return -EINVAL;
	for (size_t i = 0; i < s->mountc; i++) {
		if (!mount_ok(s->mounts[i]))
			return -EINVAL;
		payload += strlen(s->mounts[i]) + 2;
	}
	if (payload > EXEC_SPEC_MAX)
		return -EINVAL;
	uint8_t *buf = malloc(EXEC_SPEC_HDR + payload);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, EXEC_SPEC_MAGIC, 4);
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)(payload >> (8 * i));
	size_t pos = EXEC_SPEC_HDR;
	for (size_t i = 0; i < s->argc; i++)
		put(buf, &pos, 'A', s->argv[i]);
	for (size_t i = 0; i < s->envc; i++)
		put(buf, &pos, 'E', s->envp[i]);
	if (s->cwd)
		put(buf, &pos, 'C', s->cwd);
	if (s->tty)
		put(buf, &pos, 'T', tty);
	for (size_t i = 0; i < s->mountc; i++)
		put(buf, &pos, 'M', s->mounts[i]);
	*out = buf;
	*len = pos;
	return 0;
}

long exec_spec_header(const uint8_t hdr[EXEC_SPEC_HDR])
{
	if (memcmp(hdr, EXEC_SPEC_MAGIC, 4) != 0)
		return -EPROTO;
	uint32_t n = 0;
	for (int i = 0; i < 4; i++)
		n |= (uint32_t)hdr[4 + i] << (8 * i);
	return n > EXEC_SPEC_MAX ? -E2BIG : (long)n;
}

int exec_spec_decode(uint8_t *payload, size_t len, struct exec_spec *s)
{
	memset(s, 0, sizeof(*s));
	/* Count first: one allocation per array. */
	size_t nargs = 0, nenv = 0, nmounts = 0;
	for (size_t pos = 0; pos < len;) {
		uint8_t tag = payload[pos++];
		const uint8_t *nul = memchr(payload + pos, 0, len - pos);
		if (!nul)
			return -EPROTO;
		if (tag == 'A')
			nargs++;
		else if (tag == 'E')
			nenv++;
		else if (tag == 'M')
			nmounts++;
		else if (tag != 'C' && tag != 'T')
			return -EPROTO;
		pos = (size_t)(nul - payload) + 1;
	}
	if (nargs == 0 || nargs > EXEC_SPEC_MAX_ARGS || nenv > EXEC_SPEC_MAX_ARGS ||
	    nmounts > EXEC_SPEC_MAX_ARGS)
		return -EPROTO;
	const char **argv = calloc(nargs + 1, sizeof(*argv));
	const char **envp = calloc(nenv + 1, sizeof(*envp));
	const char **mounts = calloc(nmounts + 1, sizeof(*mounts));
	if (!argv || !envp || !mounts) {
		free(argv);
		free(envp);
		free(mounts);
		return -ENOMEM;
	}
	s->argv = argv;
	s->envp = envp;
	s->mounts = mounts;
	for (size_t pos = 0; pos < len;) {
		char tag = (char)payload[pos++];
		const char *str = (const char *)payload + pos;
		pos += strlen(str) + 1;
		if (tag == 'A') {
			argv[s->argc++] = str;
		} else if (tag == 'E') {
			if (!env_ok(str))
				goto bad;
			envp[s->envc++] = str;
		} else if (tag == 'T') {
			if (s->tty || tty_parse(str, s) < 0)
				goto bad;
		} else if (tag == 'M') {
			if (!mount_ok(str))
				goto bad;
			mounts[s->mountc++] = str;
		} else {
			if (s->cwd)
				goto bad;
			s->cwd = str;
		}
	}
	if (!argv[0][0])
		goto bad;
	return 0;
bad:
	exec_spec_free(s);
	return -EPROTO;
}

void exec_spec_free(struct exec_spec *s)
{
	free((void *)s->argv);
	free((void *)s->envp);
	free((void *)s->mounts);
	memset(s, 0, sizeof(*s));
}

void exec_ctl_encode(const struct exec_ctl *c, uint8_t out[EXEC_CTL_LEN])
{
	memset(out, 0, EXEC_CTL_LEN);
	out[0] = (uint8_t)c->type;
	out[2] = (uint8_t)c->rows;
	out[3] = (uint8_t)(c->rows >> 8);
	out[4] = (uint8_t)c->cols;
	out[5] = (uint8_t)(c->cols >> 8);
}

int exec_ctl_decode(const uint8_t in[EXEC_CTL_LEN], struct exec_ctl *c)
{
	c->type = (char)in[0];
	c->rows = (unsigned)in[2] | (unsigned)in[3] << 8;
	c->cols = (unsigned)in[4] | (unsigned)in[5] << 8;
	return c->type == EXEC_CTL_KEEPALIVE || c->type == EXEC_CTL_WINSIZE ? 0 : -EPROTO;
}
