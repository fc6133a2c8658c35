/* virtiofsd.c - one virtiofsd per virtio-fs device: started on a pre-connected socket,
 * stopped and reaped (virtiofsd.h). */
#include "virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_FD 3 /* the listening socket, in the daemon */

/* Whether "/" is the initial ramfs ("rootfs" in /proc/self/mounts): pivot_root(2) cannot
 * leave it, so virtiofsd's namespace sandbox fails there. */
static bool root_is_initramfs(void)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	if (!f)
		return false;
	char line[512], dev[128], dir[256], type[64];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%127s %255s %63s", dev, dir, type) == 3 &&
			!strcmp(dir, "/") && !strcmp(type, "rootfs");
	fclose(f);
	return found;
}

/* A listening socket with a kernel-chosen abstract name, and a connection to it waiting in its
 * backlog. 0, or -errno. */
static int socket_pair(int *listen_fd, int *conn_fd)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	socklen_t len = sizeof(sa_family_t);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	/* bind() with only the family: autobind to an abstract name. */
	if (bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 1) < 0)
		goto fail_l;
	len = sizeof(a);
	if (getsockname(l, (struct sockaddr *)&a, &len) < 0)
		goto fail_l;
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		goto fail_l;
	if (connect(c, (struct sockaddr *)&a, len) < 0) {
		int e = errno;
		close(c);
		close(l);
		return -e;
	}
	*listen_fd = l;
	*conn_fd = c;
	return 0;
fail_l : {
	int e = errno;
	close(l);
	return -e;
}
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In the child: a user namespace where this user is root. */
static int enter_userns(uid_t uid, gid_t gid)
{
	char map[64];
	if (unshare(CLONE_NEWUSER) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return -1;
	(void)write_file("/proc/self/setgroups", "deny\n");
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

/* In the child: `dir` read-only in a mount namespace of its own. The flags a user namespace
 * may not drop (nosuid, nodev, noexec of the mount underneath) are kept. */
static int make_readonly(const char *dir)
{
	struct statvfs sv;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0 || statvfs(dir, &sv) < 0)
		return -1;
	unsigned long keep = MS_BIND | MS_REMOUNT | MS_RDONLY;
	if (sv.f_flag & ST_NOSUID)
		keep |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		keep |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		keep |= MS_NOEXEC;
	return mount(NULL, dir, NULL, keep, NULL);
}

static void __attribute__((noreturn))
child(const struct virtiofsd_options *o, int listen_fd, int log_fd, bool user, bool initramfs)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	setpgid(0, 0); /* the terminal's ^C is minnow's to handle, not the daemon's */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	const char *step = NULL;
	if (user && enter_userns(uid, gid) < 0)
		step = "user namespace";
	else if (o->readonly && make_readonly(o->dir) < 0)
		step = "read-only bind mount";
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (log_fd >= 0) {
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
	} else if (null >= 0) {
		dup2(null, STDOUT_FILENO);
	}
	if (step) {
		dprintf(STDERR_FILENO, "minnow: virtiofsd: %s: %s\n", step, strerror(errno));
		_exit(126);
	}
	if (listen_fd == CHILD_FD)
		fcntl(CHILD_FD, F_SETFD, 0);
	else if (dup2(listen_fd, CHILD_FD) < 0)
		_exit(126);
	char source[PATH_MAX + 16], cache[32];
	snprintf(source, sizeof(source), "source=%s", o->dir);
	snprintf(cache, sizeof(cache), "cache=%s", o->cache ? o->cache : "auto");
	const char *argv[24];
	int n = 0;
	argv[n++] = o->path;
	argv[n++] = "--fd=3";
	argv[n++] = "-o";
	argv[n++] = source;
	argv[n++] = "-o";
	argv[n++] = cache;
	argv[n++] = "-o";
	argv[n++] = initramfs ? "sandbox=chroot" : "sandbox=namespace";
	argv[n++] = "-o";
	argv[n++] = o->debug ? "log_level=debug" : "log_level=warn";
	if (user)
		argv[n++] = "--rlimit-nofile=0";
	argv[n] = NULL;
	execv(o->path, (char *const *)argv);
	dprintf(STDERR_FILENO, "minnow: cannot run %s: %s\n", o->path, strerror(errno));
	_exit(127);
}

int virtiofsd_start(struct virtiofsd *d, const struct virtiofsd_options *o, char *err,
		    size_t errlen)
{
	d->pid = 0;
	d->log_fd = -1;
	int l = -1, c = -1;
	int r = socket_pair(&l, &c);
	if (r < 0) {
		snprintf(err, errlen, "vhost-user socket: %s", strerror(-r));
		return r;
	}
	if (!o->debug)
		d->log_fd = memfd_create("virtiofsd-log", MFD_CLOEXEC);
	bool user = geteuid() != 0, initramfs = root_is_initramfs();
	pid_t pid = fork();
	if (pid == 0)
		child(o, l, d->log_fd, user, initramfs);
	int e = errno;
	close(l);
	if (pid < 0) {
		close(c);
		if (d->log_fd >= 0)
			close(d->log_fd);
		d->log_fd = -1;
		snprintf(err, errlen, "fork: %s", strerror(e));
		return -e;
	}
	d->pid = pid;
	return c;
}

void virtiofsd_tail(const struct virtiofsd *d, char *out, size_t n)
{
	out[0] = '\0';
	if (d->log_fd < 0 || n == 0)
		return;
	char buf[4096];
	off_t end = lseek(d->log_fd, 0, SEEK_END);
	off_t start = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
	ssize_t got = end > 0 ? pread(d->log_fd, buf, (size_t)(end - start), start) : 0;
	if (got <= 0)
		return;
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	char *last = strrchr(buf, '\n');
	snprintf(out, n, "%s", last ? last + 1 : buf);
}

int virtiofsd_stop(struct virtiofsd *d, int timeout_ms)
{
	int status = -1;
	if (d->pid > 0) {
		struct timespec tick = {0, 1000000};
		pid_t w = 0;
		for (int waited = 0; waited < timeout_ms; waited++) {
			w = waitpid(d->pid, &status, WNOHANG);
			if (w != 0)
				break;
			nanosleep(&tick, NULL);
		}
		if (w == 0) {
			kill(d->pid, SIGKILL);
			(void)waitpid(d->pid, NULL, 0);
			status = -1;
		} else if (w < 0) {
			status = -1;
		}
		d->pid = 0;
	}
	if (d->log_fd >= 0)
		close(d->log_fd);
	d->log_fd = -1;
	return status;
}
