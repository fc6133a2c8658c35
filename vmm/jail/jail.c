/* jail.c - the jailed `minnow run` (jail.h): the supervisor outside, and the
 * confinement of the VMM between vm_create() and vm_run(). */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "disk_uring.h"
#include "jail_binds.h"
#include "jail_cgroup.h"
#include "log.h"
#include "run.h"
#include "vm.h"
#include "vm_control.h"

#define MAX_CREATED (JAIL_MAX_BINDS * 16)

struct jail {
	const struct vm_config *cfg;
	char root[PATH_MAX]; /* DIR, resolved */
	char cwd[PATH_MAX];
	int root_fd; /* DIR, flock()ed while the VM runs (one VM per DIR) */
	struct jail_binds binds;
	char *created[MAX_CREATED]; /* mount points made in DIR, in order */
	size_t n_created;
	struct jail_cgroup cg;
	rlim_t nofile, nproc, fsize;
};

/* ---- outside: DIR, its mount points, the limits ---------------------------------- */

/* Whether directory fd `fd` is owned by root and writable by no one else. */
static int root_only(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_uid == 0 && !(st.st_mode & 022);
}

/* Makes the mount point for `b` under DIR: each missing directory on the way (0755)
 * and the last as a directory or an empty file; never through a symlink, and only
 * through directories that only root can write. Records what it made. 0, or -1 after
 * one line (status 2). */
static int make_mount_point(struct jail *j, const struct jail_bind *b)
{
	int dfd = dup(j->root_fd);
	char sub[PATH_MAX];
	size_t sublen = 0;
	int r = -1;
	for (const char *s = b->path + 1; dfd >= 0 && *s;) {
		size_t n = strcspn(s, "/");
		char name[NAME_MAX + 1];
		snprintf(name, sizeof(name), "%.*s", (int)n, s);
		bool last = s[n] == '\0';
		snprintf(sub + sublen, sizeof(sub) - sublen, "/%s", name);
		sublen += n + 1;
		bool made = false;
		if (!last || b->dir) {
			if (mkdirat(dfd, name, 0755) == 0)
				made = true;
			else if (errno != EEXIST)
				goto fail;
			int next =
			    openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				goto fail;
			if (made)
				(void)fchmod(next, 0755); /* whatever the umask */
			close(dfd);
			dfd = next;
			if (!made && !root_only(dfd)) {
				log_error(
				    "[jail] dir: %s%s must be owned by root and writable by no "
				    "one else",
				    j->root, sub);
				goto out;
			}
		} else {
			int fd = openat(dfd, name,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (fd >= 0) {
				made = true;
				close(fd);
			} else if (errno == EEXIST) {
				struct stat st;
				if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
					goto fail;
				if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) {
					errno = S_ISDIR(st.st_mode) ? EISDIR : ELOOP;
					goto fail;
				}
			} else {
				goto fail;
			}
		}
		if (made) {
			if (j->n_created == MAX_CREATED ||
			    !(j->created[j->n_created] = strdup(sub)))
				goto fail;
			j->n_created++;
		}
		s += n + !last;
	}
	r = 0;
	goto out;
fail:
	log_error("[jail] dir: cannot make the mount point %s%s for %s: %s", j->root, sub, b->what,
		  strerror(errno));
out:
	if (dfd >= 0)
		close(dfd);
	return r;
}

/* Removes the mount points made in DIR, last first, as long as they are still
 * empty. */
static void remove_mount_points(struct jail *j)
{
	while (j->n_created > 0) {
		char *p = j->created[--j->n_created];
		const char *rel = p + 1;
		struct stat st;
		if (fstatat(j->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode))
				(void)unlinkat(j->root_fd, rel, AT_REMOVEDIR);
			else if (S_ISREG(st.st_mode) && st.st_size == 0)
				(void)unlinkat(j->root_fd, rel, 0);
		}
		free(p);
	}
}

/* The rlimits: [jail] values, or auto: NOFILE the current soft limit up to 1024,
 * NPROC the main thread, one per vCPU plus two, and per drive its thread and
 * its ring's workers, FSIZE the largest writable drive
 * and at least 1 GiB (console files grow). */
static void choose_limits(struct jail *j)
{
	const struct vm_config *cfg = j->cfg;
	struct rlimit cur;
	j->nofile = cfg->jail.nofile;
	if (!j->nofile)
		j->nofile = getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_cur < 1024
				? cur.rlim_cur
				: 1024;
	/* main thread, vCPUs, KVM's NX-huge-page worker (a thread of ours on
	 * some kernels), one spare; each drive's thread and its io_uring's
	 * kernel workers */
	j->nproc = cfg->jail.nproc ? cfg->jail.nproc
				   : cfg->vcpus + 3 + cfg->n_drives * (1 + DISK_URING_THREADS);
	j->fsize = cfg->jail.fsize;
	if (!j->fsize) {
		j->fsize = 1ULL << 30;
		for (size_t i = 0; i < cfg->n_drives; i++) {
			struct stat st;
			if (!cfg->drives[i].readonly && stat(cfg->drives[i].path.path, &st) == 0 &&
			    (rlim_t)st.st_size > j->fsize)
				j->fsize = (rlim_t)st.st_size;
		}
	}
}

/* Everything done as root outside before the fork. 0, or an exit status. */
static int prepare(struct jail *j)
{
	const struct vm_config *cfg = j->cfg;
	if (geteuid() != 0) {
		log_error("[jail] needs root (it mounts, makes namespaces and switches to uid %u)",
			  cfg->jail.uid);
		return EXIT_CONFIG;
	}
	if (!getcwd(j->cwd, sizeof(j->cwd))) {
		log_error("[jail]: the current directory: %s", strerror(errno));
		return EXIT_HOST_FAILURE;
	}
	if (!realpath(cfg->jail.dir.path, j->root)) {
		log_error("[jail] dir: %s: %s", strerror(errno), cfg->jail.dir.path);
		return EXIT_CONFIG;
	}
	j->root_fd = open(j->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->root_fd < 0 || !root_only(j->root_fd)) {
		log_error("[jail] dir: %s: %s", j->root,
			  j->root_fd < 0 ? strerror(errno)
					 : "must be owned by root and writable by no one else");
		return EXIT_CONFIG;
	}
	if (flock(j->root_fd, LOCK_EX | LOCK_NB) < 0) {
		log_error("[jail] dir: %s: in use by another jailed minnow", j->root);
		return EXIT_CONFIG;
	}
	char err[PATH_MAX + 200];
	if (jail_binds_compute(cfg, j->cwd, &j->binds, err, sizeof(err)) < 0) {
		log_error("[jail]: %s", err);
		return EXIT_CONFIG;
	}
	for (size_t i = 0; i < j->binds.n; i++)
		if (make_mount_point(j, &j->binds.b[i]) < 0)
			return EXIT_CONFIG;
	choose_limits(j);
	if (jail_cgroup_wanted(&cfg->jail) &&
	    jail_cgroup_create(&cfg->jail, cfg->name, getpid(), &j->cg, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_CONFIG;
	}
	return 0;
}

/* After the VMM: its mount points, cgroup, and the vsock socket it could not remove
 * from inside (its directory is read-only there) when nothing listens on it. */
static void cleanup(struct jail *j)
{
	remove_mount_points(j);
	jail_cgroup_remove(&j->cg);
	const struct vm_config *cfg = j->cfg;
	const char *uds = cfg->vsock_uds.path; /* this process kept its directory */
	struct stat st;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (!cfg->vsock || strlen(uds) >= sizeof(a.sun_path) || lstat(uds, &st) < 0 ||
	    !S_ISSOCK(st.st_mode))
		return;
	memcpy(a.sun_path, uds, strlen(uds) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == ECONNREFUSED)
		(void)unlink(uds);
	if (s >= 0)
		close(s);
}

/* ---- inside: the VMM confines itself --------------------------------------------- */

static int sys_fail(const char *what)
{
	log_error("jail: %s: %s", what, strerror(errno));
	return -1;
}

static int enter_namespaces(struct jail *j)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
	if (j->cfg->jail.netns == NETNS_NEW)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0)
		return sys_fail("unshare (mount, IPC, UTS, network namespaces)");
	(void)sethostname(j->cfg->name, strlen(j->cfg->name));
	return 0;
}

/* DIR bound on itself (a mount point, so that it can be the root), each bind under
 * it, then DIR made read-only: nothing in the jail is writable but the files the VM
 * writes. No set-uid, device or executable files anywhere. */
static int build_root(struct jail *j)
{
	const unsigned long hard = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return sys_fail("making / private");
	if (mount(j->root, j->root, NULL, MS_BIND, NULL) < 0)
		return sys_fail("binding DIR on itself");
	for (size_t i = 0; i < j->binds.n; i++) {
		const struct jail_bind *b = &j->binds.b[i];
		char target[2 * PATH_MAX];
		snprintf(target, sizeof(target), "%s%s", j->root, b->path);
		if (mount(b->path, target, NULL, MS_BIND, NULL) < 0 ||
		    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | hard | (b->rw ? 0 : MS_RDONLY),
			  NULL) < 0) {
			log_error("jail: binding %s (%s): %s", b->path, b->what, strerror(errno));
			return -1;
		}
	}
	if (mount(NULL, j->root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | hard, NULL) < 0)
		return sys_fail("making DIR read-only");
	return 0;
}

/* Into DIR: pivot_root, the old root detached. Where / is the initramfs (rootfs,
 * which pivot_root cannot move), DIR is moved over it and chrooted into, as
 * switch_root does: the old mounts stay in the namespace, under DIR, out of reach of
 * a process without capabilities. The working directory stays the same when it is
 * in the jail (relative paths of the config then still work), else /. */
static int switch_root(struct jail *j)
{
	if (chdir(j->root) < 0)
		return sys_fail("chdir DIR");
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return sys_fail("detaching the old root");
		log_debug("jail: pivot_root into %s", j->root);
	} else if (errno == EINVAL) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return sys_fail("moving DIR over / (the initramfs)");
		log_debug("jail: / is the initramfs: moved %s over it and chrooted", j->root);
	} else {
		return sys_fail("pivot_root");
	}
	if (chdir(j->cwd) < 0 && chdir("/") < 0)
		return sys_fail("chdir /");
	return 0;
}

static int set_limits(struct jail *j)
{
	const struct {
		int resource;
		rlim_t value;
		const char *name;
	} lim[] = {{RLIMIT_NOFILE, j->nofile, "NOFILE"},
		   {RLIMIT_NPROC, j->nproc, "NPROC"},
		   {RLIMIT_FSIZE, j->fsize, "FSIZE"},
		   {RLIMIT_CORE, 0, "CORE"}};
	/* Past FSIZE a write fails with EFBIG (the guest sees an I/O error) instead of
	 * the VMM dying of SIGXFSZ. */
	signal(SIGXFSZ, SIG_IGN);
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		struct rlimit r = {lim[i].value, lim[i].value};
		if (setrlimit(lim[i].resource, &r) < 0) {
			log_error("jail: RLIMIT_%s %llu: %s", lim[i].name,
				  (unsigned long long)lim[i].value, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* No capability left in any set, the bounding set empty, uid and gid switched,
 * no_new_privs, not dumpable; checked afterwards. */
static int drop_privileges(struct jail *j)
{
	uid_t uid = j->cfg->jail.uid;
	gid_t gid = j->cfg->jail.gid;
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return sys_fail("dropping the bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return sys_fail("clearing the ambient capabilities");
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return sys_fail("switching to the jail's uid and gid");
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return sys_fail("capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sys_fail("no_new_privs");
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (syscall(SYS_capget, &hdr, data) < 0 || data[0].effective || data[0].permitted ||
	    data[0].inheritable || data[1].effective || data[1].permitted || data[1].inheritable ||
	    getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid ||
	    getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0) {
		log_error("jail: privileges still held after dropping them");
		return -1;
	}
	return 0;
}

/* MINNOW_JAIL_PROBE=1 (for the tests): what the jailed VMM can and cannot do, one
 * stderr line each, "jail probe: OP PATH: RESULT". */
static void probe_one(const char *op, const char *path, int r)
{
	fprintf(stderr, "minnow: jail probe: %s %s: %s\n", op, path,
		r < 0 ? strerror(errno) : "ok");
}

static void probe(struct jail *j)
{
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	probe_one("read", "/etc/passwd", fd);
	if (fd >= 0)
		close(fd);
	char dirs[JAIL_MAX_BINDS + 2][PATH_MAX];
	size_t n = 0;
	snprintf(dirs[n++], PATH_MAX, "/");
	snprintf(dirs[n++], PATH_MAX, "/tmp");
	for (size_t i = 0; i < j->binds.n; i++) {
		const struct jail_bind *b = &j->binds.b[i];
		snprintf(dirs[n], PATH_MAX, "%s", b->path);
		if (!b->dir)
			*strrchr(dirs[n], '/') = '\0';
		if (!dirs[n][0])
			snprintf(dirs[n], PATH_MAX, "/");
		n++;
		if (!b->dir) {
			int r = unlink(b->path);
			probe_one("unlink", b->path, r);
		}
	}
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX + 32];
		const char *d = strcmp(dirs[i], "/") ? dirs[i] : "";
		if (strlen(d) >= PATH_MAX)
			continue;
		snprintf(path, sizeof(path), "%.4095s/minnow-probe", d);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		probe_one("create", path, fd);
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
	}
	probe_one("mkdir", "/minnow-probe.d", mkdir("/minnow-probe.d", 0700));
}

static int enter(struct vm *vm, void *opaque)
{
	struct jail *j = opaque;
	(void)vm;
	if (enter_namespaces(j) < 0 || build_root(j) < 0 || switch_root(j) < 0 ||
	    set_limits(j) < 0 || drop_privileges(j) < 0)
		return EXIT_HOST_FAILURE;
	const char *p = getenv("MINNOW_JAIL_PROBE");
	if (p && !strcmp(p, "1"))
		probe(j);
	return 0;
}

/* ---- the supervisor -------------------------------------------------------------- */

/* Waits for the VMM, forwarding the stop signals sent to this process; returns its
 * wait status. A SIGINT or SIGTERM from the kernel (a terminal's Ctrl-C) reached the
 * whole process group, the VMM too, and is not sent twice; SIGHUP from a terminal
 * hang-up goes to the session leader only, which may be this process: forwarded. */
static int supervise(pid_t child, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			int ws;
			pid_t w = waitpid(child, &ws, WNOHANG);
			if (w == child)
				return ws;
			continue;
		}
		if (si.si_code != SI_KERNEL || sig == SIGHUP)
			(void)kill(child, sig);
	}
}

int jail_run(const struct vm_config *cfg, int timings)
{
	static struct jail j;
	memset(&j, 0, sizeof(j));
	j.cfg = cfg;
	j.root_fd = -1;
	j.cg.procs_fd = -1;
	int status = prepare(&j);
	if (status) {
		cleanup(&j);
		return status;
	}
	signal(SIGCHLD, SIG_DFL); /* not SIG_IGN from whoever started us: we wait */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	/* Blocked before the fork: the VMM, PID 1 of its namespace, would ignore
	 * these while they have no handler; blocked, they wait for its signalfd. */
	sigprocmask(SIG_BLOCK, &set, &old);
	struct termios tio;
	bool tty = tcgetattr(STDIN_FILENO, &tio) == 0;
	pid_t child = -1;
	if (unshare(CLONE_NEWPID) < 0 || (child = fork()) < 0) {
		log_error("[jail]: %s: %s", child < 0 ? "new PID namespace" : "fork",
			  strerror(errno));
		cleanup(&j);
		return EXIT_HOST_FAILURE;
	}
	if (child == 0) {
		/* The VM ends with minnow, as it would unjailed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(j.root_fd);
		int r = jail_cgroup_join(&j.cg);
		if (r < 0) {
			log_error("jail: joining cgroup %s: %s", j.cg.path, strerror(-r));
			return EXIT_HOST_FAILURE;
		}
		struct run_hooks hooks = {.before_run = enter, .opaque = &j};
		return run_vm(cfg, timings, &hooks);
	}
	vm_control_forget_fds(); /* the VMM serves them; the path is removed after it */
	int ws = supervise(child, &set);
	cleanup(&j);
	close(j.root_fd);
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	/* Killed: the terminal as it was, then the same death here. */
	int sig = WTERMSIG(ws);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &tio);
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);
	signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	return EXIT_SIGNAL_BASE + sig;
}
