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
 * Without minnow's control device (e.g. under QEMU) it prints
 * "minnow-init: ready" when the command starts and "minnow-init: exit status N"
 * when it ends, then powers off. Built static (see firmware/linux.mk). */
#include "platform.h"

#include <errno.h>
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MODULE_LIST   "/etc/minnow-modules"
#define CMDLINE_MAX   4096
#define ROOT_WAIT_MS  10000
#define NEWROOT	      "/newroot"
#define DEFAULT_SHELL "/bin/sh"

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

/* Loads every module named in MODULE_LIST (one absolute path per line, in
 * dependency order). A module already present (built in or loaded) is fine;
 * any other failure is reported and the rest are still tried. */
static void load_modules(void)
{
	FILE *f = fopen(MODULE_LIST, "re");
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
	signal(SIGTTOU, SIG_DFL);
	signal(SIGTTIN, SIG_DFL);
	signal(SIGTSTP, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	static char *const envp[] = {
	    "HOME=/", "TERM=linux",
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
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

int main(void)
{
	/* PID 1 must not die on a stray signal from its children's terminal. */
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	mount_one("proc", "/proc", "proc");
	mount_one("sysfs", "/sys", "sysfs");
	mount_one("devtmpfs", "/dev", "devtmpfs");
	read_cmdline();
	char val[CMDLINE_MAX];
	debug = param("minnow.debug", val, sizeof(val)) != NULL;
	open_console();
	DEBUG("command line: %s", cmdline);
	load_modules();
	open_console();
	find_control();

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

	const char *cmd = param("minnow.exec", val, sizeof(val));
	if (cmd && !cmd[0])
		cmd = NULL;
	if (control)
		control[CONTROL_REG_BOOT_DONE / 4] = 1;
	else
		say("ready");
	DEBUG("running %s", cmd ? cmd : DEFAULT_SHELL);

	int tty = console_session();
	pid_t pid = start(cmd, tty);
	int status = 1;
	if (pid < 0)
		say("fork: %s", strerror(errno));
	else
		status = wait_for(pid);

	/* Let the console finish sending what the command wrote: minnow ends
	 * the VM at the EXIT write, and the UART sends at its own pace. */
	tcdrain(tty >= 0 ? tty : STDOUT_FILENO);
	sync();
	/* A read-only remount checkpoints ext4's journal: the image is then
	 * readable by tools that do not replay it. */
	if (root[0] && mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL))
		DEBUG("remount / read-only: %s", strerror(errno));
	if (control)
		control[CONTROL_REG_EXIT / 4] = (uint32_t)status;
	else
		say("exit status %d", status);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}
