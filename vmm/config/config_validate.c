/* config_validate.c - the checks made once the whole configuration is read: required keys,
 * outputs and their paths, rules across keys, and the files the VM will open. */
#include "config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define UNIX_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

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
	const struct section *s = cfg_find_section(p, name);
	if (!s)
		return;
	bool wants_path = target == CONSOLE_FILE || target == CONSOLE_SOCKET;
	if (wants_path && !path->path[0])
		cfg_fail(p, s->at, name, "path", "missing (required with output = %s)",
			 cfg_vconsole_target_names[target]);
	else if (!wants_path && path->path[0])
		cfg_fail(p, path->at, name, "path",
			 "only allowed with output = file%s (output is %s)",
			 strcmp(name, "vconsole") == 0 ? " or socket" : "",
			 cfg_vconsole_target_names[target]);
}

/* Opens `path` like the VMM will and checks its type. */
static void check_file(struct parser *p, const char *section, const char *key,
		       const struct config_path *path, bool rw, bool block_ok)
{
	struct stat st;
	int fd = open(path->path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		cfg_fail(p, path->at, section, key, "%s: %s", strerror(errno), path->path);
		return;
	}
	if (fstat(fd, &st)) {
		cfg_fail(p, path->at, section, key, "%s: %s", strerror(errno), path->path);
	} else if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode))) {
		cfg_fail(p, path->at, section, key, "not a regular file%s: %s",
			 block_ok ? " or block device" : "", path->path);
	}
	close(fd);
}

static bool key_set(const struct section *s, const char *key)
{
	return key_at(s, key).file != NULL;
}

/* A one-time burst needs the rate of its bucket: without one the bucket
 * limits nothing and the burst would be silently ignored. */
static void check_burst(struct parser *p, const struct section *s, const char *burst_key,
			uint64_t burst, const char *rate_key, uint64_t rate)
{
	if (burst && !rate)
		cfg_fail(p, key_at(s, burst_key), s->name, burst_key,
			 "needs %s (a burst of a bucket "
			 "with no rate limits nothing)",
			 rate_key);
}

static void check_rate_limits(struct parser *p, const struct section *s, const char *prefix,
			      const struct rate_limit_config *l, const char *ops_name)
{
	char bw[32], bwb[40], ops[32], opsb[40];
	snprintf(bw, sizeof(bw), "%sbandwidth", prefix);
	snprintf(bwb, sizeof(bwb), "%sbandwidth_burst", prefix);
	snprintf(ops, sizeof(ops), "%s%s", prefix, ops_name);
	snprintf(opsb, sizeof(opsb), "%s%s_burst", prefix, ops_name);
	check_burst(p, s, bwb, l->bandwidth_burst, bw, l->bandwidth);
	check_burst(p, s, opsb, l->ops_burst, ops, l->ops);
}

/* [fs.NAME] (or [share.NAME]) `s` with its keys, before any file is looked at: one back end,
 * a tag, the options that go with minnow starting virtiofsd. */
static void check_fs_keys(struct parser *p, const struct section *s, struct fs_config *f)
{
	bool dir = f->host_dir.path[0], sock = f->socket.path[0];
	if (!dir && !sock)
		cfg_fail(p, s->at, s->name, NULL,
			 "host_dir (minnow starts virtiofsd on it) or socket (a running "
			 "vhost-user back end) is required");
	if (dir && sock)
		cfg_fail(
		    p, f->socket.at, s->name, "socket",
		    "not with host_dir (either minnow starts virtiofsd on host_dir, or it uses "
		    "the back end listening on socket)");
	static const char *const own[] = {"readonly", "cache", "virtiofsd"};
	for (size_t i = 0; sock && i < sizeof(own) / sizeof(own[0]); i++)
		if (key_set(s, own[i]))
			cfg_fail(p, key_at(s, own[i]), s->name, own[i],
				 "only with host_dir (a back end given by socket runs with its own "
				 "options)");
	if (sock && strlen(f->socket.path) >= UNIX_PATH_MAX)
		cfg_fail(p, f->socket.at, s->name, "socket",
			 "too long for a unix socket (%zu bytes, at most %zu)",
			 strlen(f->socket.path), UNIX_PATH_MAX - 1);
	if (!f->tag[0]) {
		if (strlen(f->name) > CONFIG_FS_TAG_MAX)
			cfg_fail(
			    p, s->at, s->name, "tag",
			    "the default, the section's name, is longer than %d bytes: set one",
			    CONFIG_FS_TAG_MAX);
		snprintf(f->tag, sizeof(f->tag), "%.*s", CONFIG_FS_TAG_MAX, f->name);
	}
	if (dir && !f->virtiofsd.path[0])
		snprintf(f->virtiofsd.path, sizeof(f->virtiofsd.path), "%s", config_virtiofsd());
}

/* The files behind [fs.NAME]: the directory, the daemon, or the socket. */
static void check_fs_files(struct parser *p, const char *name, const struct fs_config *f)
{
	char why[WHY_MAX];
	struct stat st;
	if (f->host_dir.path[0]) {
		if (config_check_share_dir(f->host_dir.path, f->readonly, why, sizeof(why)))
			cfg_fail(p, f->host_dir.at, name, "host_dir", "%s", why);
		else if (access(f->virtiofsd.path, X_OK) != 0)
			cfg_fail(p, f->virtiofsd.at.file ? f->virtiofsd.at : f->host_dir.at, name,
				 "virtiofsd",
				 "%s: %s (apt-get install qemu-system-common, or name the daemon "
				 "with virtiofsd = PATH or MINNOW_VIRTIOFSD=PATH)",
				 strerror(errno), f->virtiofsd.path);
	} else if (stat(f->socket.path, &st) != 0) {
		cfg_fail(p, f->socket.at, name, "socket", "%s: %s", strerror(errno),
			 f->socket.path);
	} else if (!S_ISSOCK(st.st_mode)) {
		cfg_fail(p, f->socket.at, name, "socket", "not a unix socket: %s", f->socket.path);
	}
}

/* [jail] dir: an existing directory that only root can write, since it becomes the VM's
 * root and minnow makes its mount points in it as root. */
static void check_jail_dir(struct parser *p, const struct config_path *dir)
{
	struct stat st;
	if (stat(dir->path, &st) != 0)
		cfg_fail(p, dir->at, "jail", "dir", "%s: %s", strerror(errno), dir->path);
	else if (!S_ISDIR(st.st_mode))
		cfg_fail(p, dir->at, "jail", "dir", "not a directory: %s", dir->path);
	else if (st.st_uid != 0 || (st.st_mode & 022))
		cfg_fail(p, dir->at, "jail", "dir",
			 "must be owned by root and writable by no one else: %s", dir->path);
}

void cfg_validate(struct parser *p)
{
	struct vm_config *cfg = p->cfg;

	for (size_t i = 0; i < config_n_sections; i++) {
		const struct section_def *def = &config_sections[i];
		if (!def->required || cfg_first_of(p, def))
			continue;
		for (size_t k = 0; k < def->n_keys; k++)
			if (def->keys[k].required)
				cfg_fail(p, (struct config_origin){cfg->file, 0}, def->name,
					 def->keys[k].name, "missing (required)");
	}
	for (size_t i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];
		for (size_t k = 0; k < s->def->n_keys; k++)
			if (s->def->keys[k].required && !s->keys[k].file)
				cfg_fail(p, s->at, s->name, s->def->keys[k].name,
					 "missing (required)");
		if (s->def->obj == OBJ_DRIVE)
			check_rate_limits(p, s, "", &((struct drive_config *)s->obj)->limit,
					  "iops");
		if (s->def->obj == OBJ_NET) {
			check_rate_limits(p, s, "rx_", &((struct net_config *)s->obj)->rx, "pps");
			check_rate_limits(p, s, "tx_", &((struct net_config *)s->obj)->tx, "pps");
		}
	}

	check_output(p, "console", cfg->console, &cfg->console_path);
	if (cfg->vconsole) {
		check_output(p, "vconsole", cfg->vconsole_output, &cfg->vconsole_path);
		if (cfg->vconsole_output == CONSOLE_SOCKET &&
		    strlen(cfg->vconsole_path.path) >= UNIX_PATH_MAX)
			cfg_fail(p, cfg->vconsole_path.at, "vconsole", "path",
				 "too long for a unix socket (%zu bytes, at most %zu)",
				 strlen(cfg->vconsole_path.path), UNIX_PATH_MAX - 1);
		if (cfg->vconsole_output == CONSOLE_STDIO && cfg->console == CONSOLE_STDIO) {
			const struct section *s = cfg_find_section(p, "vconsole");
			struct config_origin at = key_at(s, "output");
			cfg_fail(
			    p, at.file ? at : s->at, "vconsole", "output",
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
			cfg_fail(p, key_at(cfg_find_section(p, name), "tap"), name, "tap",
				 "'%s' is already used by [net.%s]", cfg->nets[i].tap,
				 cfg->nets[j].name);
		}
	}
	for (size_t i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];
		if (s->def->obj == OBJ_FS)
			check_fs_keys(p, s, s->obj);
	}
	for (size_t i = 0; i < cfg->n_fs; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->fs[i].tag, cfg->fs[j].tag))
				cfg_fail(p, cfg->fs[i].at, NULL, NULL,
					 "[fs.%s]: tag '%s' is already the tag of [fs.%s]",
					 cfg->fs[i].name, cfg->fs[i].tag, cfg->fs[j].name);
	if (cfg->vsock && strlen(cfg->vsock_uds.path) >= UNIX_PATH_MAX)
		cfg_fail(p, cfg->vsock_uds.at, "vsock", "uds_path",
			 "too long for a unix socket (%zu bytes, at most %zu)",
			 strlen(cfg->vsock_uds.path), UNIX_PATH_MAX - 1);

	if (strlen(cfg->control_socket.path) >= UNIX_PATH_MAX)
		cfg_fail(p, cfg->control_socket.at, "vm", "control_socket",
			 "too long for a unix socket (%zu bytes, at most %zu)",
			 strlen(cfg->control_socket.path), UNIX_PATH_MAX - 1);

	if (cfg->jailed && cfg->vsock && cfg->vsock_uds.path[0]) {
		const char *slash = strrchr(cfg->vsock_uds.path, '/');
		if (slash && slash == cfg->vsock_uds.path)
			cfg_fail(p, cfg->vsock_uds.at, "vsock", "uds_path",
				 "in / with [jail]: the jail binds the socket's directory, and / "
				 "would be the whole host; use a directory of its own");
	}

	if (p->failed)
		return;
	if (cfg->jailed)
		check_jail_dir(p, &cfg->jail.dir);
	/* A restored VM runs the kernel in its snapshot: the files need not be there. */
	if (!cfg->restore.path[0])
		check_file(p, "kernel", "path", &cfg->kernel, false, false);
	if (cfg->initrd.path[0] && !cfg->restore.path[0])
		check_file(p, "kernel", "initrd", &cfg->initrd, false, false);
	if (cfg->restore.path[0])
		check_file(p, "vm", "restore", &cfg->restore, false, false);
	for (size_t i = 0; i < cfg->n_drives; i++) {
		char name[SECTION_NAME_MAX];
		snprintf(name, sizeof(name), "drive.%s", cfg->drives[i].name);
		check_file(p, name, "path", &cfg->drives[i].path, !cfg->drives[i].readonly, true);
	}
	for (size_t i = 0; i < p->n_sections; i++) {
		const struct section *s = &p->sections[i];
		if (s->def->obj == OBJ_FS)
			check_fs_files(p, s->name, s->obj);
	}
}
