/* config.c - loads the VM description: entry points, sections and keys opened into struct
 * vm_config, --set overrides and file:line error messages; the ini reading, the key tables and
 * the final checks live in config_ini.c, config_keys.c and config_validate.c. */
#include "config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char SET_FILE[] = "--set";

/* ---- error messages ----------------------------------------------------- */

void cfg_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
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

/* The command-line options that stand for an override ("--jail DIR"). */
static const struct {
	const char *option, *key;
} option_keys[] = {{"--jail ", "jail.dir="},
		   {"--uid ", "jail.uid="},
		   {"--gid ", "jail.gid="},
		   {"--control ", "vm.control_socket="},
		   {"--restore ", "vm.restore="}};

/* Is override `t` one of those options, as typed? */
static bool option_spelling(const char *t)
{
	for (size_t k = 0; k < sizeof(option_keys) / sizeof(option_keys[0]); k++)
		if (!strncmp(t, option_keys[k].option, strlen(option_keys[k].option)))
			return true;
	return false;
}

void cfg_fail(struct parser *p, struct config_origin at, const char *section, const char *key,
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
		cfg_appendf(buf, size, &len, "%s%.*s%s", option_spelling(t) ? "" : "--set ",
			    qlen(t), t, strlen(t) > QUOTE_MAX ? "..." : "");
	} else if (at.line > 0) {
		cfg_appendf(buf, size, &len, "%s:%d", at.file, at.line);
	} else {
		cfg_appendf(buf, size, &len, "%s", at.file ? at.file : p->cfg->file);
	}
	if (section)
		cfg_appendf(buf, size, &len, ": [%s]", section);
	if (key)
		cfg_appendf(buf, size, &len, "%s%.*s%s", section ? " " : ": ", qlen(key), key,
			    strlen(key) > QUOTE_MAX ? "..." : "");
	cfg_appendf(buf, size, &len, ": ");
	if (len < size - 1) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf + len, size - len, fmt, ap);
		va_end(ap);
	}
}

/* ---- sections and keys --------------------------------------------------- */

struct section *cfg_find_section(struct parser *p, const char *name)
{
	for (size_t i = 0; i < p->n_sections; i++)
		if (!strcmp(p->sections[i].name, name))
			return &p->sections[i];
	return NULL;
}

struct section *cfg_first_of(struct parser *p, const struct section_def *def)
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
	case OBJ_FS: {
		if (cfg->n_fs == CONFIG_MAX_FS)
			return NULL;
		struct fs_config *fs = &cfg->fs[cfg->n_fs++];
		memset(fs, 0, sizeof(*fs));
		snprintf(fs->name, sizeof(fs->name), "%s", name);
		fs->at = at;
		return fs;
	}
	case OBJ_CFG:
		break;
	}
	return cfg;
}

/* Opens section `name` (`len` bytes, not NUL-terminated). From the file a second header of
 * the same name is an error; an override reuses the section. */
struct section *cfg_open_section(struct parser *p, const char *text, size_t len,
				 struct config_origin at, bool override)
{
	char name[SECTION_NAME_MAX];
	const struct section_def *def = NULL;

	if (len >= sizeof(name)) {
		cfg_fail(p, at, NULL, NULL, "[%.*s...]: section name too long (at most %zu bytes)",
			 QUOTE_MAX, text, sizeof(name) - 1);
		return NULL;
	}
	memcpy(name, text, len);
	name[len] = '\0';
	const char *dot = strchr(name, '.');
	size_t plen = dot ? (size_t)(dot - name) : len;
	for (size_t i = 0; i < config_n_sections; i++)
		if (strlen(config_sections[i].name) == plen &&
		    !strncmp(config_sections[i].name, name, plen))
			def = &config_sections[i];
	if (!def || (dot && !def->named)) {
		cfg_fail(p, at, name, NULL, "unknown section (known: " KNOWN_SECTIONS ")");
		return NULL;
	}
	if (def->named && !dot) {
		cfg_fail(p, at, name, NULL, "needs a name, as in [%s.NAME]", def->name);
		return NULL;
	}
	if (dot && !cfg_valid_name(dot + 1)) {
		cfg_fail(p, at, name, NULL,
			 "bad name " QFMT " (1-63 characters of A-Z a-z 0-9 . _ -)", QARG(dot + 1));
		return NULL;
	}
	struct section *s = cfg_find_section(p, name);
	if (s && override)
		return s;
	if (s) {
		cfg_fail(p, at, name, NULL, "duplicate section (first at line %d)", s->at.line);
		return NULL;
	}
	if (p->n_sections == MAX_SECTIONS) {
		cfg_fail(p, at, name, NULL, "too many sections");
		return NULL;
	}
	void *obj = open_object(p, def, dot ? dot + 1 : NULL, at);
	if (!obj) {
		cfg_fail(p, at, name, NULL, "too many [%s.NAME] sections (at most %d)", def->name,
			 def->obj == OBJ_DRIVE ? CONFIG_MAX_DRIVES
			 : def->obj == OBJ_NET ? CONFIG_MAX_NETS
					       : CONFIG_MAX_FS);
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

int cfg_set_key(struct parser *p, struct section *s, const char *key, const char *value,
		struct config_origin at, bool override)
{
	const struct section_def *def = s->def;
	char why[WHY_MAX];
	size_t i;

	if (!*key) {
		cfg_fail(p, at, s->name, NULL, "no key name before '='");
		return -1;
	}
	for (i = 0; i < def->n_keys; i++)
		if (!strcmp(def->keys[i].name, key))
			break;
	if (i == def->n_keys) {
		size_t len = 0;
		for (size_t j = 0; j < def->n_keys; j++)
			cfg_appendf(why, sizeof(why), &len, "%s%s", j ? ", " : "",
				    def->keys[j].name);
		cfg_fail(p, at, s->name, key, "unknown key (known: %s)", why);
		return -1;
	}
	if (!override && s->keys[i].file) {
		cfg_fail(p, at, s->name, key, "duplicate key (first at line %d)", s->keys[i].line);
		return -1;
	}
	const struct key_def *k = &def->keys[i];
	static char expanded[CONFIG_LINE_MAX + 1];
	if (strstr(value, "{i")) {
		if (cfg_expand_index(value, p->index, expanded, sizeof(expanded), why,
				     sizeof(why))) {
			cfg_fail(p, at, s->name, key, "%s", why);
			return -1;
		}
		value = expanded;
	}
	if (k->set(k, s->obj, value, why, sizeof(why))) {
		cfg_fail(p, at, s->name, key, "%s", why);
		return -1;
	}
	if (k->set == cfg_set_path)
		FIELD(struct config_path, s->obj, k)->at = at;
	s->keys[i] = at;
	return 0;
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
	char key[64], value[CONFIG_LINE_MAX + 1];
	static char spelled[CONFIG_LINE_MAX + 16];
	for (size_t k = 0; k < sizeof(option_keys) / sizeof(option_keys[0]); k++) {
		size_t len = strlen(option_keys[k].option);
		if (!strncmp(text, option_keys[k].option, len)) {
			snprintf(spelled, sizeof(spelled), "%s%s", option_keys[k].key, text + len);
			text = spelled;
		}
	}
	const char *eq = strchr(text, '='), *dot = NULL;

	if (eq)
		for (const char *c = text; c < eq; c++)
			if (*c == '.')
				dot = c;
	if (!eq || !dot) {
		cfg_fail(p, at, NULL, NULL, "expected section.key=value");
		return;
	}
	const char *ss = text, *se = dot, *ks = dot + 1, *ke = eq, *vs = eq + 1,
		   *ve = eq + 1 + strlen(eq + 1);
	trim(&ss, &se);
	trim(&ks, &ke);
	trim(&vs, &ve);
	if (ss == se || ks == ke) {
		cfg_fail(p, at, NULL, NULL, "expected section.key=value");
		return;
	}
	struct section *s = cfg_open_section(p, ss, (size_t)(se - ss), at, true);
	if (!s)
		return;
	if ((size_t)(ke - ks) >= sizeof(key)) {
		cfg_fail(p, at, s->name, NULL, "key too long");
		return;
	}
	memcpy(key, ks, (size_t)(ke - ks));
	key[ke - ks] = '\0';
	if ((size_t)(ve - vs) >= sizeof(value)) {
		cfg_fail(p, at, s->name, key, "value too long (at most %d bytes)", CONFIG_LINE_MAX);
		return;
	}
	memcpy(value, vs, (size_t)(ve - vs));
	value[ve - vs] = '\0';
	for (const char *c = value; *c; c++) {
		if (*c == ';' && (c == value || is_space(c[-1]))) {
			cfg_fail(
			    p, at, s->name, key,
			    "';' at the start or after a space would start a comment in an ini "
			    "file");
			return;
		}
	}
	cfg_set_key(p, s, key, value, at, true);
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
	cfg->pvpanic = true;
	cfg->boot_timeout_ms = 0;
	cfg->metrics_interval_ms = 60000;
	cfg->format = KERNEL_AUTO;
	cfg->cmdline_devices = true;
	cfg->console = CONSOLE_STDIO;
	cfg->console_input = true;
	cfg->console_coalesce = true;
	cfg->vsock_cid = 3;
	cfg->vconsole_output = CONSOLE_STDIO;
	cfg->jail.uid = cfg->jail.gid = 65534; /* nobody, nogroup */
	snprintf(cfg->jail.cgroup, sizeof(cfg->jail.cgroup), "minnow");
	cfg->seccomp = SECCOMP_KILL;
}

static int run(struct parser *p, struct source *src)
{
	if (!p->failed)
		cfg_parse_source(p, src);
	for (size_t i = 0; i < p->n_overrides && !p->failed; i++)
		apply_override(p, i);
	if (!p->failed)
		cfg_validate(p);
	return p->failed ? -1 : 0;
}

int config_load(struct vm_config *cfg, const char *path, const char *const *overrides,
		size_t n_overrides, struct config_error *err)
{
	return config_load_index(cfg, path, overrides, n_overrides, -1, err);
}

/* Reads the ini text of `name` (from the file of that name, or from `text`
 * when given), applies the overrides and validates. */
static int load(struct vm_config *cfg, const char *name, const char *text,
		const char *const *overrides, size_t n_overrides, long index,
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
		goto out;
	}
	p->cfg = cfg;
	p->err = err;
	p->overrides = overrides;
	p->n_overrides = n_overrides;
	p->index = index;
	if (text) {
		src->s = text;
	} else {
		src->f = fopen(name, "re");
		if (!src->f)
			cfg_fail(p, (struct config_origin){name, 0}, NULL, NULL, "cannot open: %s",
				 strerror(errno));
	}
	r = run(p, src);
	if (src->f)
		fclose(src->f);
out:
	free(p);
	free(src);
	return r;
}

int config_load_index(struct vm_config *cfg, const char *path, const char *const *overrides,
		      size_t n_overrides, long index, struct config_error *err)
{
	return load(cfg, path, NULL, overrides, n_overrides, index, err);
}

int config_load_text(struct vm_config *cfg, const char *name, const char *text,
		     const char *const *overrides, size_t n_overrides, struct config_error *err)
{
	return load(cfg, name, text, overrides, n_overrides, -1, err);
}

int config_parse_string(struct vm_config *cfg, const char *name, const char *text,
			struct config_error *err)
{
	return load(cfg, name, text, NULL, 0, -1, err);
}
