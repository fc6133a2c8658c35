/* minnow-init.c - /init of minnow's Linux initrds: mounts the pseudo file
 * systems, loads the initrd's modules, optionally switches to a root file
 * system, signals boot complete to minnow's control device, runs the
 * minnow.exec command and hands its exit status to minnow, then powers off.
 *
 * Kernel command line (read from /proc/cmdline: the kernel does not pass
 * dotted parameters to init):
 *   minnow.exec=CMD          run CMD with /bin/sh -c (default: an interactive
 *                            /bin/sh). A value with spaces is double-quoted:
 *                            minnow.exec="echo hi; exit 7" (no '"' inside).
 *   minnow.root=DEV          mount DEV (waits up to 10 s for it to appear) and
 *                            switch to it before running the command
 *   minnow.rootfstype=TYPE   default ext4
 *   minnow.rootflags=ro      mount the root read-only (default read-write)
 *   minnow.debug             log each step on the console
 *   minnow.exec_vsock=PORT   `minnow exec`: fetch the command (argv, env,
 *                            working directory, virtio-fs shares to mount
 *                            first and unmount after) over virtio-vsock from the
 *                            host's PORT and give it the host's stdin, stdout
 *                            and stderr as vsock streams (vmm/exec/exec_proto.h);
 *                            wins over minnow.exec
 * Without minnow's control device (e.g. under QEMU) it prints
 * "minnow-init: ready" when the command starts and "minnow-init: exit status N"
 * when it ends, then powers off. Built static (see firmware/linux.mk). */
#include "exec_proto.h"
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MODULE_LIST   "/etc/minnow-modules"
#define MODULE_LIST_FS "/etc/minnow-modules-virtiofs" /* only with a virtio-fs device */
#define CMDLINE_MAX   4096
#define ROOT_WAIT_MS  10000
#define NEWROOT	      "/newroot"
#define DEFAULT_SHELL "/bin/sh"
#define VSOCK_WAIT_MS 5000
#define DEFAULT_PATH  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool debug;
static volatile uint32_t *control; /* the control device's registers, or NULL */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* The console may be gone or absent: nothing better to do than drop it. */
	if (write(STDERR_FILENO, "minnow-init: ", 13) == 13 &&
	    write(STDERR_FILENO, line, (size_t)n) == n)
		return;
}

#define DEBUG(...)                                                                                 \
	do {                                                                                       \
		if (debug)                                                                         \
			say(__VA_ARGS__);                                                          \
	} while (0)

/* ---- kernel command line ------------------------------------------------ */

static char cmdline[CMDLINE_MAX];

/* Finds parameter `name` in the command line, split like the kernel does
 * (blanks outside double quotes separate parameters; the quotes themselves are
 * dropped). Returns its value ("" for a bare flag) in `out`, or NULL when it is
 * absent. The last occurrence wins. */
static const char *param(const char *name, char *out, size_t len)
{
	const char *found = NULL;
	size_t nlen = strlen(name);
	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		/* One parameter: up to a blank outside quotes. */
		char tok[CMDLINE_MAX];
		size_t n = 0;
		bool quoted = false;
		for (; *p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (n + 1 < sizeof(tok))
				tok[n++] = *p;
		}
		tok[n] = '\0';
		if (strncmp(tok, name, nlen) || (tok[nlen] != '=' && tok[nlen] != '\0'))
			continue;
		snprintf(out, len, "%s", tok[nlen] == '=' ? tok + nlen + 1 : "");
		found = out;
	}
	return found;
}

static void read_cmdline(void)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	while (n > 0 && (cmdline[n - 1] == '\n' || cmdline[n - 1] == ' '))
		n--;
	cmdline[n > 0 ? n : 0] = '\0';
}

/* ---- set-up steps ------------------------------------------------------- */

static void mount_one(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, MS_NOSUID | (strcmp(type, "devtmpfs") ? MS_NODEV : 0), NULL) &&
	    errno != EBUSY)
		say("mount %s on %s: %s", type, dir, strerror(errno));
}

/* Makes fds 0, 1 and 2 the console. The kernel opens /dev/console for init
 * when it exists at boot; when the console driver is a module (hvc0 from
 * virtio_console) it only works after the module is loaded, so try again,
 * then the last console= device by name. */
static void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		char name[64], path[80];
		if (param("console", name, sizeof(name))) {
			name[strcspn(name, ",")] = '\0';
			snprintf(path, sizeof(path), "/dev/%s", name);
			fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		}
	}
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
}

/* Loads every module named in `list` (one absolute path per line, in
 * dependency order). A module already present (built in or loaded) is fine;
 * any other failure is reported and the rest are still tried. */
static void load_modules(const char *list)
{
	FILE *f = fopen(list, "re");
	if (!f)
		return;
	char path[512];
	while (fgets(path, sizeof(path), f)) {
		path[strcspn(path, "\r\n")] = '\0';
		if (!path[0] || path[0] == '#')
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			say("module %s: %s", path, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)
			say("module %s: %s", path, strerror(errno));
		else
			DEBUG("loaded %s", path);
		close(fd);
	}
	fclose(f);
}

/* Whether the virtio bus has a virtio-fs device (id 26): only then are fuse
 * and virtiofs worth loading. */
static bool have_virtio_fs(void)
{
	DIR *d = opendir("/sys/bus/virtio/devices");
	if (!d)
		return false;
	bool found = false;
	for (struct dirent *e; !found && (e = readdir(d));) {
		char path[320], id[16] = "";
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, id, sizeof(id) - 1);
		close(fd);
		found = n > 0 && strtoul(id, NULL, 16) == 26;
	}
	closedir(d);
	return found;
}

/* Maps minnow's control device through /dev/mem. Leaves `control` NULL when
 * /dev/mem or the device is missing (another VMM): not an error. */
static void find_control(void)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		DEBUG("no /dev/mem: %s", strerror(errno));
		return;
	}
	void *p = mmap(NULL, CONTROL_MMIO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)CONTROL_MMIO_BASE);
	close(fd);
	if (p == MAP_FAILED) {
		DEBUG("cannot map the control device: %s", strerror(errno));
		return;
	}
	volatile uint32_t *regs = p;
	if (regs[CONTROL_REG_MAGIC / 4] != CONTROL_MAGIC) {
		DEBUG("no minnow control device");
		munmap(p, CONTROL_MMIO_SIZE);
		return;
	}
	control = regs;
	DEBUG("control device version %u", regs[CONTROL_REG_VERSION / 4]);
}

/* Tells minnow the guest reached `n` (CONTROL_MARK_*): timestamped for
 * --timings and minnow bench. Control devices before version 2 have no
 * MARK register. */
static void mark(uint32_t n)
{
	if (control && control[CONTROL_REG_VERSION / 4] >= 2)
		control[CONTROL_REG_MARK / 4] = n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Mounts the root device on NEWROOT and makes it "/", moving /proc, /sys and
 * /dev along. init keeps running from memory (it is static), so the initrd's
 * files are not needed afterwards. Returns 0 or -1 (reported). */
static int switch_root(const char *dev, const char *type, bool ro)
{
	struct stat st;
	int waited = 0;
	while (stat(dev, &st) && waited < ROOT_WAIT_MS) {
		sleep_ms(10);
		waited += 10;
	}
	mkdir(NEWROOT, 0755);
	if (mount(dev, NEWROOT, type, ro ? MS_RDONLY : 0, NULL)) {
		say("cannot mount %s (%s) as the root: %s", dev, type, strerror(errno));
		return -1;
	}
	DEBUG("mounted %s (%s) after %d ms", dev, type, waited);
	static const char *const moved[] = {"/proc", "/sys", "/dev"};
	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		char to[64];
		snprintf(to, sizeof(to), NEWROOT "%s", moved[i]);
		if (mkdir(to, 0755) && errno != EEXIST) {
			umount2(moved[i], MNT_DETACH);
			continue;
		}
		if (mount(moved[i], to, NULL, MS_MOVE, NULL))
			umount2(moved[i], MNT_DETACH);
	}
	if (chdir(NEWROOT) || mount(".", "/", NULL, MS_MOVE, NULL) || chroot(".") || chdir("/")) {
		say("cannot switch to the new root: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the command -------------------------------------------------------- */

/* Opens the device behind /dev/console (the last name in
 * /sys/class/tty/console/active, e.g. ttyS0 or hvc0) and makes it the
 * controlling terminal of init's own new session. init, not the command,
 * leads the session because a session leader's exit hangs its terminal up,
 * and a hangup throws away what the UART has not sent yet: the end of the
 * command's output. Returns the fd, or -1 when there is no such device. */
static int console_session(void)
{
	char names[128], path[160];
	int fd = open("/sys/class/tty/console/active", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, names, sizeof(names) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	names[n] = '\0';
	names[strcspn(names, "\n")] = '\0';
	char *last = strrchr(names, ' ');
	last = last ? last + 1 : names;
	if (!*last)
		return -1;
	snprintf(path, sizeof(path), "/dev/%s", last);
	setsid();
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, TIOCSCTTY, 0))
		DEBUG("%s as controlling terminal: %s", path, strerror(errno));
	return fd;
}

/* In a child about to exec the command: job-control signals back to their
 * defaults (init ignores them) and no signal blocked. */
static void default_signals(void)
{
	signal(SIGTTOU, SIG_DFL);
	signal(SIGTTIN, SIG_DFL);
	signal(SIGTSTP, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Runs cmd (NULL: an interactive shell) in a process group of its own, the
 * foreground one of tty (the console's real device, not /dev/console, which
 * cannot be a controlling terminal) so that a shell gets job control and ^C.
 * Returns the child's pid, or -1. */
static pid_t start(const char *cmd, int tty)
{
	pid_t pid = fork();
	if (pid != 0) {
		if (pid > 0)
			setpgid(pid, pid); /* whichever of the two runs first */
		return pid;
	}

	setpgid(0, 0);
	if (tty >= 0) {
		tcsetpgrp(tty, getpid()); /* SIGTTOU is still ignored here */
		for (int i = 0; i < 3; i++)
			dup2(tty, i);
	}
	default_signals();
	static char *const envp[] = {"HOME=/", "TERM=linux", DEFAULT_PATH, NULL};
	if (!cmd) {
		char *const argv[] = {"sh", NULL};
		execve(DEFAULT_SHELL, argv, envp);
		say("cannot run %s: %s", DEFAULT_SHELL, strerror(errno));
		_exit(127);
	}
	if (access(DEFAULT_SHELL, X_OK) == 0) {
		char *const argv[] = {"sh", "-c", (char *)cmd, NULL};
		execve(DEFAULT_SHELL, argv, envp);
	}
	/* No shell: split at blanks and run the program directly. */
	char buf[CMDLINE_MAX];
	char *argv[64];
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", cmd);
	for (char *s = strtok(buf, " \t"); s && n < 63; s = strtok(NULL, " \t"))
		argv[n++] = s;
	argv[n] = NULL;
	if (n) {
		execve(argv[0], argv, envp);
		say("cannot run %s: %s", argv[0], strerror(errno));
	}
	_exit(127);
}

/* Reaps children (orphans re-parent to init) until `main` ends; returns its
 * status as a shell would: the exit code, or 128 + the signal. */
static int wait_for(pid_t main)
{
	for (;;) {
		int ws;
		pid_t w = waitpid(-1, &ws, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			say("wait: %s", strerror(errno));
			return 1;
		}
		if (w != main)
			continue;
		if (WIFEXITED(ws))
			return WEXITSTATUS(ws);
		if (WIFSIGNALED(ws))
			return 128 + WTERMSIG(ws);
	}
}

/* ---- minnow exec: the command and its streams over vsock ---------------- */

/* Connects to the host's `port`, retrying while the vsock transport is
 * still coming up. Returns the socket or -1 (reported). */
static int vsock_connect(unsigned port)
{
	for (int waited = 0;; waited += 10) {
		int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			struct sockaddr_vm a = {
			    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
			if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
				return fd;
			int e = errno;
			close(fd);
			errno = e;
		}
		if (waited >= VSOCK_WAIT_MS) {
			say("exec: cannot connect to the host's vsock port %u: %s", port,
			    strerror(errno));
			return -1;
		}
		sleep_ms(10);
	}
}

/* Reads exactly n bytes (nothing beyond: what follows the spec is CMD's
 * stdin). Returns 0 or -1. */
static int read_full(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Receives the spec; its strings live in *payload (malloc'd). */
static int read_spec(int fd, struct exec_spec *spec, uint8_t **payload)
{
	uint8_t hdr[EXEC_SPEC_HDR];
	if (read_full(fd, hdr, sizeof(hdr)) < 0) {
		say("exec: no command from the host");
		return -1;
	}
	long len = exec_spec_header(hdr);
	if (len < 0) {
		say("exec: bad command header from the host");
		return -1;
	}
	*payload = malloc((size_t)len + 1);
	if (!*payload || read_full(fd, *payload, (size_t)len) < 0 ||
	    exec_spec_decode(*payload, (size_t)len, spec) < 0) {
		say("exec: bad command from the host");
		return -1;
	}
	return 0;
}

/* The environment: init's defaults, each replaced or extended by the
 * spec's entries in order. NULL without memory. */
static char **exec_env(const struct exec_spec *spec)
{
	static const char *const base[] = {"HOME=/", "TERM=linux", DEFAULT_PATH};
	size_t nbase = sizeof(base) / sizeof(base[0]), n = 0;
	char **env = calloc(nbase + spec->envc + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < nbase; i++)
		env[n++] = (char *)base[i];
	for (size_t i = 0; i < spec->envc; i++) {
		const char *e = spec->envp[i];
		size_t klen = (size_t)(strchr(e, '=') - e) + 1;
		size_t j = 0;
		while (j < n && strncmp(env[j], e, klen) != 0)
			j++;
		env[j] = (char *)e;
		if (j == n)
			n++;
	}
	return env;
}

/* The child: the streams as fds 0, 1 and 2, the working directory, then
 * the program found on the spec's PATH. Failures are told on CMD's stderr
 * with env(1)'s statuses: 125 (cannot change directory), 126 (cannot run),
 * 127 (not found). */
static void exec_child(const struct exec_spec *spec, char **env, const int fds[3])
{
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(125);
	default_signals();
	setsid();
	const char *cwd = spec->cwd ? spec->cwd : "/";
	if (chdir(cwd) != 0) {
		dprintf(STDERR_FILENO, "minnow-init: cannot change to %s: %s\n", cwd,
			strerror(errno));
		_exit(125);
	}
	environ = env; /* execvp searches this PATH */
	execvp(spec->argv[0], (char *const *)spec->argv);
	int e = errno;
	dprintf(STDERR_FILENO, "minnow-init: %s: %s\n", spec->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* mkdir -p: `dir` and its parents (absolute). */
static void make_dirs(const char *dir)
{
	char path[CMDLINE_MAX];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

/* minnow exec --share: mounts each virtio-fs share of the spec on its directory (made with
 * its parents) before CMD starts. Counts the mounted ones in *mounted; on a failure says so
 * on err_fd (the host's stderr) and returns -1. */
static int mount_shares(const struct exec_spec *spec, int err_fd, size_t *mounted)
{
	*mounted = 0;
	for (size_t i = 0; i < spec->mountc; i++) {
		int ro;
		const char *tag, *dir;
		size_t taglen;
		char t[64];
		if (exec_mount_split(spec->mounts[i], &ro, &tag, &taglen, &dir) < 0 ||
		    taglen >= sizeof(t))
			return -1;
		memcpy(t, tag, taglen);
		t[taglen] = '\0';
		make_dirs(dir);
		if (mount(t, dir, "virtiofs", ro ? MS_RDONLY : 0, NULL) != 0) {
			dprintf(err_fd, "minnow-init: cannot mount the share %s on %s: %s\n", t, dir,
				strerror(errno));
			return -1;
		}
		DEBUG("exec: share %s on %s%s", t, dir, ro ? " (read-only)" : "");
		(*mounted)++;
	}
	return 0;
}

/* After CMD: everything written to the shares reaches virtiofsd (sync), then each is
 * unmounted, which waits for virtiofsd's last replies. A share still in use (a process CMD
 * left behind) is detached instead, after the same sync. */
static void unmount_shares(const struct exec_spec *spec, size_t mounted)
{
	if (mounted == 0)
		return;
	sync();
	for (size_t i = mounted; i-- > 0;) {
		int ro;
		const char *tag, *dir;
		size_t taglen;
		if (exec_mount_split(spec->mounts[i], &ro, &tag, &taglen, &dir) < 0)
			continue;
		if (umount2(dir, 0) == 0)
			continue;
		DEBUG("exec: unmount %s: %s; detaching it", dir, strerror(errno));
		umount2(dir, MNT_DETACH);
	}
}

/* Half-closes an output stream and waits for the host to close it: the
 * host has then written every byte to its own stdout or stderr. */
static void exec_drain(int fd)
{
	char buf[256];
	if (shutdown(fd, SHUT_WR) != 0)
		return;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	close(fd);
}

/* Runs the host's command with the three vsock streams from `base`;
 * returns its status as a shell would, 1 when the channel failed. */
static int run_exec(unsigned base)
{
	int fds[3] = {-1, -1, -1};
	uint8_t *payload = NULL;
	struct exec_spec spec = {0};
	int status = 1;
	size_t mounted = 0;
	fds[0] = vsock_connect(base);
	if (fds[0] < 0 || read_spec(fds[0], &spec, &payload) < 0)
		goto out;
	for (int i = 1; i < 3; i++)
		if ((fds[i] = vsock_connect(base + (unsigned)i)) < 0)
			goto out;
	char **env = NULL;
	if (mount_shares(&spec, fds[2], &mounted) < 0) {
		status = 125; /* as env(1) when it cannot start the command */
	} else if ((env = exec_env(&spec)) == NULL) {
		say("exec: out of memory");
	} else {
		DEBUG("exec: running %s", spec.argv[0]);
		pid_t pid = fork();
		if (pid == 0)
			exec_child(&spec, env, fds);
		close(fds[0]); /* CMD's alone: the host sees when it is gone */
		fds[0] = -1;
		if (pid < 0)
			say("fork: %s", strerror(errno));
		else
			status = wait_for(pid);
		free(env);
	}
	if (fds[0] >= 0)
		close(fds[0]);
	fds[0] = -1;
	/* Shares first: the host's files are complete before CMD's status is. */
	unmount_shares(&spec, mounted);
	mounted = 0;
	exec_drain(fds[1]);
	exec_drain(fds[2]);
	fds[1] = fds[2] = -1;
out:
	unmount_shares(&spec, mounted);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	exec_spec_free(&spec);
	free(payload);
	return status;
}

/* Reports `status` to minnow (or on the console) and powers off. */
static void __attribute__((noreturn)) finish(int status, bool remount_ro)
{
	sync();
	/* A read-only remount checkpoints ext4's journal: the image is then
	 * readable by tools that do not replay it. */
	if (remount_ro && mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL))
		DEBUG("remount / read-only: %s", strerror(errno));
	if (control)
		control[CONTROL_REG_EXIT / 4] = (uint32_t)status;
	else
		say("exit status %d", status);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(void)
{
	/* PID 1 must not die on a stray signal from its children's terminal. */
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	mount_one("proc", "/proc", "proc");
	mount_one("sysfs", "/sys", "sysfs");
	mount_one("devtmpfs", "/dev", "devtmpfs");
	find_control();
	mark(CONTROL_MARK_INIT);
	read_cmdline();
	char val[CMDLINE_MAX];
	debug = param("minnow.debug", val, sizeof(val)) != NULL;
	open_console();
	DEBUG("command line: %s", cmdline);
	load_modules(MODULE_LIST);
	if (have_virtio_fs())
		load_modules(MODULE_LIST_FS);
	open_console();

	char root[256], type[64], flags[64];
	if (param("minnow.root", root, sizeof(root)) && root[0]) {
		if (!param("minnow.rootfstype", type, sizeof(type)) || !type[0])
			snprintf(type, sizeof(type), "ext4");
		bool ro = param("minnow.rootflags", flags, sizeof(flags)) && !strcmp(flags, "ro");
		if (switch_root(root, type, ro)) {
			root[0] = '\0';
			say("exit status 1");
			if (control)
				control[CONTROL_REG_EXIT / 4] = 1;
			reboot(RB_POWER_OFF);
			for (;;)
				pause();
		}
	} else {
		root[0] = '\0';
	}

	char port[16];
	if (param(EXEC_CMDLINE_PARAM, port, sizeof(port))) {
		if (control)
			control[CONTROL_REG_BOOT_DONE / 4] = 1;
		else
			say("ready");
		mark(CONTROL_MARK_COMMAND);
		finish(run_exec((unsigned)strtoul(port, NULL, 10)), root[0] != '\0');
	}

	const char *cmd = param("minnow.exec", val, sizeof(val));
	if (cmd && !cmd[0])
		cmd = NULL;
	if (control)
		control[CONTROL_REG_BOOT_DONE / 4] = 1;
	else
		say("ready");
	DEBUG("running %s", cmd ? cmd : DEFAULT_SHELL);

	int tty = console_session();
	mark(CONTROL_MARK_COMMAND);
	pid_t pid = start(cmd, tty);
	int status = 1;
	if (pid < 0)
		say("fork: %s", strerror(errno));
	else
		status = wait_for(pid);

	/* Let the console finish sending what the command wrote: minnow ends
	 * the VM at the EXIT write, and the UART sends at its own pace. */
	tcdrain(tty >= 0 ? tty : STDOUT_FILENO);
	finish(status, root[0] != '\0');
}
