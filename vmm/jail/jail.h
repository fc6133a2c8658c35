/* jail.h - `minnow run` in a jail ([jail], --jail DIR): minnow opens every host
 * resource first, then confines itself before the guest runs. README.md, "Jail". */
#ifndef MINNOW_JAIL_H
#define MINNOW_JAIL_H

#include "config.h"

/* Runs the VM of `cfg` (cfg->jailed) jailed, as run_vm() would run it free, and
 * returns the same exit status. As root only; checks DIR, computes the bind mounts
 * (jail_binds.h), makes their mount points in DIR, makes the cgroup (jail_cgroup.h),
 * then forks into a new PID namespace. The child (its PID 1) creates the VM (every
 * file, device and socket opened as usual), then enters new mount, IPC and UTS
 * namespaces (and network with netns = new), bind-mounts what the VM uses into DIR,
 * pivots into DIR, sets the rlimits, drops every capability, sets no_new_privs and
 * becomes uid/gid, and only then runs the guest. This process stays outside: it
 * forwards SIGINT, SIGTERM and SIGHUP, waits, removes what it made in DIR, the
 * cgroup and the vsock socket, and exits with the child's status (or dies of the
 * child's signal). Bad input: one line on stderr and 2. */
int jail_run(const struct vm_config *cfg, int timings);

#endif
