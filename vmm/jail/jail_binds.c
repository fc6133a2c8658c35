/* jail_binds.c - the list of bind mounts of a jailed VM (jail_binds.h). */
#include "jail_binds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jail_abspath(const char *cwd, const char *path, char *out)
{
	char joined[2 * PATH_MAX + 2];
	if (path[0] == '/')
		snprintf(joined, sizeof(joined), "%s", path);
	else
		snprintf(joined, sizeof(joined), "%s/%s", cwd, path);
	size_t len = 0;
	out[0] = '\0';
	for (const char *s = joined; *s;) {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if (n == 0)
			break;
		if (n == 1 && s[0] == '.') {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the '/' before the last component */
			out[len] = '\0';
		} else {
			if (len + 1 + n >= PATH_MAX)
				return -1;
			out[len++] = '/';
			memcpy(out + len, s, n);
			len += n;
			out[len] = '\0';
		}
		s += n;
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

/* Adds (or merges) one entry. */
static int add(struct jail_binds *o, const char *cwd, const char *path, bool dir, bool rw,
	       const char *what, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	if (jail_abspath(cwd, path, abs) < 0) {
		snprintf(err, errlen, "%s: path too long: %s", what, path);
		return -1;
	}
	if (!strcmp(abs, "/")) {
		snprintf(err, errlen, "%s: would bind the host's whole / into the jail", what);
		return -1;
	}
	for (size_t i = 0; i < o->n; i++) {
		struct jail_bind *b = &o->b[i];
		if (strcmp(b->path, abs) != 0)
			continue;
		if (b->dir != dir) {
			snprintf(err, errlen, "%s: %s is also %s, as a %s", what, abs, b->what,
				 b->dir ? "directory" : "file");
			return -1;
		}
		b->rw = b->rw || rw;
		return 0;
	}
	struct jail_bind *b = &o->b[o->n];
	snprintf(o->names[o->n], sizeof(o->names[o->n]), "%s", what);
	snprintf(b->path, sizeof(b->path), "%s", abs);
	b->dir = dir;
	b->rw = rw;
	b->what = o->names[o->n];
	o->n++;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct jail_bind *)a)->path, ((const struct jail_bind *)b)->path);
}

int jail_binds_compute(const struct vm_config *cfg, const char *cwd, struct jail_binds *out,
		       char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int r = add(out, cwd, cfg->kernel.path, false, false, "[kernel] path", err, errlen);
	if (!r && cfg->initrd.path[0])
		r = add(out, cwd, cfg->initrd.path, false, false, "[kernel] initrd", err, errlen);
	for (size_t i = 0; !r && i < cfg->n_drives; i++) {
		char what[CONFIG_NAME_MAX + 24];
		snprintf(what, sizeof(what), "[drive.%s] path", cfg->drives[i].name);
		r = add(out, cwd, cfg->drives[i].path.path, false, !cfg->drives[i].readonly, what,
			err, errlen);
	}
	if (!r && cfg->console == CONSOLE_FILE)
		r = add(out, cwd, cfg->console_path.path, false, true, "[console] path", err,
			errlen);
	if (!r && cfg->vconsole &&
	    (cfg->vconsole_output == CONSOLE_FILE || cfg->vconsole_output == CONSOLE_SOCKET))
		r = add(out, cwd, cfg->vconsole_path.path, false,
			cfg->vconsole_output == CONSOLE_FILE, "[vconsole] path", err, errlen);
	if (!r && cfg->vsock) {
		char dir[PATH_MAX];
		if (jail_abspath(cwd, cfg->vsock_uds.path, dir) < 0) {
			snprintf(err, errlen, "[vsock] uds_path: path too long");
			return -1;
		}
		*strrchr(dir, '/') = '\0'; /* its directory ("" for /) */
		r = add(out, cwd, dir[0] ? dir : "/", true, false, "[vsock] uds_path's directory",
			err, errlen);
	}
	if (r)
		return r;
	/* A parent sorts before what is under it ("/a" < "/a/b"); `what` points into
	 * names[], which does not move. */
	qsort(out->b, out->n, sizeof(out->b[0]), by_path);
	return 0;
}
