/* jail_cgroup.h - a cgroup v2 of its own for a jailed VM: created under [jail] cgroup
 * with cpu.max, memory.max and pids.max, joined by the VMM, removed after it. */
#ifndef MINNOW_JAIL_CGROUP_H
#define MINNOW_JAIL_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct jail_cgroup {
	char path[PATH_MAX]; /* the VM's cgroup directory; empty: none */
	int procs_fd;	     /* its cgroup.procs, open for writing; -1: none */
};

/* Whether `j` asks for any cgroup limit. */
int jail_cgroup_wanted(const struct jail_config *j);

/* Finds the cgroup2 mount (/proc/self/mountinfo), makes the parent [jail] cgroup under
 * it if missing with the controllers the limits need enabled on the way down, then
 * the VM's cgroup NAME-ID in it, writes the limits and opens its cgroup.procs.
 * Returns 0, or -1 with one line in err (no cgroup2 mount, a controller that cgroup v2
 * does not have here, no permission, ...); what it made is removed again. */
int jail_cgroup_create(const struct jail_config *j, const char *name, pid_t id,
		       struct jail_cgroup *cg, char *err, size_t errlen);

/* Moves the calling process into the cgroup and closes procs_fd. 0 or -errno. */
int jail_cgroup_join(struct jail_cgroup *cg);

/* Removes the VM's cgroup (once nothing runs in it); closes procs_fd. */
void jail_cgroup_remove(struct jail_cgroup *cg);

#endif
