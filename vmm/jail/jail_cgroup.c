/* jail_cgroup.c - the jailed VM's cgroup v2 (jail_cgroup.h). */
#include "jail_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jail_cgroup_wanted(const struct jail_config *j)
{
	return j->cpu_max[0] || j->memory_max || j->pids_max;
}

/* The mount point of the first cgroup2 file system in mountinfo, into out. */
static int find_cgroup2(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[4096];
	int r = -1;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *dash = strstr(line, " - ");
		char fstype[64];
		if (!dash || sscanf(dash, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < len) {
			snprintf(out, len, "%s", mnt);
			r = 0;
		}
	}
	fclose(f);
	return r;
}

/* Writes `text` to DIR/FILE; 0 or -errno. */
static int write_file(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int r = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return r;
}

/* Whether controller `c` is listed in DIR/cgroup.controllers. */
static int has_controller(const char *dir, const char *c)
{
	char path[PATH_MAX + 64], buf[512];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
		if (!strcmp(tok, c))
			return 1;
	return 0;
}

int jail_cgroup_create(const struct jail_config *j, const char *name, pid_t id,
		       struct jail_cgroup *cg, char *err, size_t errlen)
{
	cg->path[0] = '\0';
	cg->procs_fd = -1;
	char root[PATH_MAX];
	if (find_cgroup2(root, sizeof(root)) < 0) {
		snprintf(err, errlen,
			 "[jail] cgroup limits need cgroup v2, and no cgroup2 file system is "
			 "mounted here");
		return -1;
	}
	const char *ctl[3] = {j->cpu_max[0] ? "cpu" : NULL, j->memory_max ? "memory" : NULL,
			      j->pids_max ? "pids" : NULL};
	for (int i = 0; i < 3; i++) {
		if (ctl[i] && !has_controller(root, ctl[i])) {
			snprintf(err, errlen,
				 "[jail] cgroup v2 at %s has no %s controller (a cgroup v1 "
				 "hierarchy holds it on this host)",
				 root, ctl[i]);
			return -1;
		}
	}
	/* Down from the root to the parent: each level made, and the controllers
	 * enabled for its children. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", root);
	const char *rest = j->cgroup;
	for (;;) {
		char enable[64] = "";
		for (int i = 0; i < 3; i++)
			if (ctl[i])
				snprintf(enable + strlen(enable), sizeof(enable) - strlen(enable),
					 "%s+%s", enable[0] ? " " : "", ctl[i]);
		int r = enable[0] ? write_file(dir, "cgroup.subtree_control", enable) : 0;
		if (r < 0) {
			snprintf(err, errlen,
				 "[jail] cgroup %s: cannot enable %s for its children: %s", dir,
				 enable, strerror(-r));
			return -1;
		}
		if (!*rest)
			break;
		size_t n = strcspn(rest, "/");
		size_t len = strlen(dir);
		if (len + 1 + n >= sizeof(dir)) {
			snprintf(err, errlen, "[jail] cgroup path too long");
			return -1;
		}
		snprintf(dir + len, sizeof(dir) - len, "/%.*s", (int)n, rest);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "[jail] cgroup %s: %s", dir, strerror(errno));
			return -1;
		}
		rest += n + (rest[n] == '/');
	}
	int n = snprintf(cg->path, sizeof(cg->path), "%s/%s-%d", dir, name, (int)id);
	if (n < 0 || (size_t)n >= sizeof(cg->path) || mkdir(cg->path, 0755) < 0) {
		snprintf(err, errlen, "[jail] cgroup %s: %s", cg->path, strerror(errno));
		cg->path[0] = '\0';
		return -1;
	}
	char value[64];
	int r = 0;
	const char *file = "";
	if (!r && j->cpu_max[0])
		r = write_file(cg->path, file = "cpu.max", j->cpu_max);
	if (!r && j->memory_max) {
		snprintf(value, sizeof(value), "%llu", (unsigned long long)j->memory_max);
		r = write_file(cg->path, file = "memory.max", value);
	}
	if (!r && j->pids_max) {
		snprintf(value, sizeof(value), "%u", j->pids_max);
		r = write_file(cg->path, file = "pids.max", value);
	}
	if (!r) {
		char procs[PATH_MAX + 32];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->path);
		cg->procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (cg->procs_fd < 0)
			r = -errno, file = "cgroup.procs";
	}
	if (r < 0) {
		snprintf(err, errlen, "[jail] cgroup %s/%s: %s", cg->path, file, strerror(-r));
		jail_cgroup_remove(cg);
		return -1;
	}
	return 0;
}

int jail_cgroup_join(struct jail_cgroup *cg)
{
	if (cg->procs_fd < 0)
		return 0;
	int r = write(cg->procs_fd, "0", 1) == 1 ? 0 : -errno;
	close(cg->procs_fd);
	cg->procs_fd = -1;
	return r;
}

void jail_cgroup_remove(struct jail_cgroup *cg)
{
	if (cg->procs_fd >= 0)
		close(cg->procs_fd);
	cg->procs_fd = -1;
	if (cg->path[0])
		(void)rmdir(cg->path);
	cg->path[0] = '\0';
}
