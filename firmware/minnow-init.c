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
 *                            switch to it before running the command; DEV may
 *                            be serial:S, the virtio-blk disk whose serial is S
 *   minnow.rootfstype=TYPE   default ext4
 *   minnow.rootflags=ro      mount the root read-only (default read-write)
 *   minnow.net=MAC[,ADDR/PREFIX[,GW]]  bring lo and the interface with this MAC
 *                            up (waits up to 10 s for it), with an IPv4
 *                            address and a default route through GW
 *   minnow.debug             log each step on the console
 *   minnow.exec_vsock=PORT   `minnow exec`: fetch the command (argv, env,
 *                            working directory, virtio-fs shares to mount
 *                            first and unmount after) over virtio-vsock from the
 *                            host's PORT and give it the host's stdin, stdout
 *                            and stderr as vsock streams, or a pty when the
 *                            host has a terminal (vmm/exec/exec_proto.h);
 *                            wins over minnow.exec
 * The power button (minnow's ACPI GED, Linux's button and evdev drivers) is
 * an orderly power-off: a child watches the input devices that have
 * KEY_POWER and signals init (SIGUSR2, as busybox init's poweroff), which
 * ends every process (SIGTERM, then SIGKILL), syncs and powers off: minnow
 * sees ACPI S5 (status 0, exit_reason poweroff), not the command's status.
 * Without minnow's control device (e.g. under QEMU) it prints
 * "minnow-init: ready" when the command starts and "minnow-init: exit status N"
 * when it ends, then powers off. Built static (see firmware/linux.mk). */
#include "exec_proto.h"
#include "platform.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/input.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <linux/vm_sockets.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MODULE_LIST	   "/etc/minnow-modules"
#define MODULE_LIST_ACPI   "/etc/minnow-modules-acpi-%.8s" /* only with a device of that _HID */
#define MODULE_LIST_DEVICE "/etc/minnow-modules-virtio-%u" /* only with a device of that ID */
#define VIRTIO_MMIO_HID	   "LNRO0005" /* also for virtio_mmio.device= on the command line */
#define CMDLINE_MAX	   4096
#define ROOT_WAIT_MS	   10000
#define NEWROOT		   "/newroot"
#define DEFAULT_SHELL	   "/bin/sh"
#define VSOCK_WAIT_MS	   5000
#define CONSOLE_WAIT_MS	   2000
#define DEFAULT_PATH	   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define TERM_WAIT_MS	   3000 /* between SIGTERM and SIGKILL at a power-off */

static bool debug;
static volatile uint32_t *control;	   /* the control device's registers, or NULL */
static volatile sig_atomic_t power_button; /* SIGUSR2: the button was pressed */
static bool root_switched;		   /* "/" is minnow.root: remount it read-only */

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

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* /dev/console, else /dev/NAME (NAME may be empty): an fd, or -1. */
static int console_fd(const char *name)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && name[0]) {
		char path[80];
		snprintf(path, sizeof(path), "/dev/%s", name);
		fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	}
	return fd;
}

/* Makes fds 0, 1 and 2 the console. The kernel opens /dev/console for init
 * when it exists at boot; when the console driver is a module (hvc0 from
 * virtio_console) it only works after the module is loaded, so try again,
 * then the last console= device by name. With `wait` (the modules are
 * loaded) a console= hvcN gets up to CONSOLE_WAIT_MS to appear: a multiport
 * virtio console (QEMU's virtio-serial) adds its ports only after its
 * driver has loaded. */
static void open_console(bool wait)
{
	char name[64] = "";
	if (param("console", name, sizeof(name)))
		name[strcspn(name, ",")] = '\0';
	wait = wait && !strncmp(name, "hvc", 3);
	int fd;
	for (long end = now_ms() + CONSOLE_WAIT_MS;
	     (fd = console_fd(name)) < 0 && wait && now_ms() < end;)
		sleep_ms(10);
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

/* Whether `name` is an ACPI hardware ID as sysfs spells one: 7 or 8 upper-case
 * letters and digits (PNP0C0C, QEMU0001). */
static bool is_hid(const char *name)
{
	size_t n = strlen(name);
	if (n < 7 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9')))
			return false;
	return true;
}

/* Loads the modules of each kind of platform device the guest has: those
 * listed for an ACPI _HID that /sys/bus/acpi/devices names (the ACPI scan
 * lists a device before its driver is there), once per _HID; and the
 * virtio-mmio transport's when the command line names virtio-mmio devices
 * instead (virtio_mmio.device=, which the module itself parses). A VM
 * without a pvpanic device, a power button or virtio devices loads no
 * driver for them. */
static void load_platform_modules(void)
{
	char seen[32][9];
	unsigned n = 0;
	char val[64];
	if (param("virtio_mmio.device", val, sizeof(val)))
		snprintf(seen[n++], sizeof(seen[0]), "%s", VIRTIO_MMIO_HID);
	DIR *d = opendir("/sys/bus/acpi/devices");
	for (struct dirent *e; d && (e = readdir(d));) {
		char hid[16];
		snprintf(hid, sizeof(hid), "%.*s", (int)strcspn(e->d_name, ":"), e->d_name);
		if (!is_hid(hid))
			continue;
		bool dup = false;
		for (unsigned i = 0; i < n && !dup; i++)
			dup = !strcmp(seen[i], hid);
		if (!dup && n < sizeof(seen) / sizeof(seen[0]))
			snprintf(seen[n++], sizeof(seen[0]), "%s", hid);
	}
	if (d)
		closedir(d);
	for (unsigned i = 0; i < n; i++) {
		char list[64];
		snprintf(list, sizeof(list), MODULE_LIST_ACPI, seen[i]);
		load_modules(list);
	}
}

/* Loads the modules of each kind of virtio device the guest has (the
 * virtio bus is there once the transport's modules are loaded): a driver
 * for a device the VM does not have would only cost boot time. */
static void load_device_modules(void)
{
	DIR *d = opendir("/sys/bus/virtio/devices");
	if (!d)
		return;
	bool seen[100] = {false}; /* IDs 1..99, as mkinitrd.sh allows */
	for (struct dirent *e; (e = readdir(d));) {
		char path[320], id[16] = "";
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, id, sizeof(id) - 1);
		close(fd);
		unsigned long v = n > 0 ? strtoul(id, NULL, 16) : 0;
		if (v == 0 || v >= sizeof(seen) / sizeof(seen[0]) || seen[v])
			continue;
		seen[v] = true;
		char list[64];
		snprintf(list, sizeof(list), MODULE_LIST_DEVICE, (unsigned)v);
		load_modules(list);
	}
	closedir(d);
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

/* Mounts the root device on NEWROOT and makes it "/", moving /proc, /sys and
 * /dev along. init keeps running from memory (it is static), so the initrd's
 * files are not needed afterwards. Returns 0 or -1 (reported). */
/* The first line of a small file into buf (newline cut); 0 or -1. */
static int read_line(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The /sys/class/X entry whose file `attr` reads `want` (e.g. a disk's
 * serial, an interface's address) into name. Returns 0 or -1. */
static int find_by_attr(const char *cls, const char *attr, const char *want, char *name, size_t n)
{
	char dir[64], path[400], val[128];
	snprintf(dir, sizeof(dir), "/sys/class/%s", cls);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	int r = -1;
	while (r < 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", dir, e->d_name, attr);
		if (read_line(path, val, sizeof(val)) == 0 && !strcasecmp(val, want)) {
			snprintf(name, n, "%s", e->d_name);
			r = 0;
		}
	}
	closedir(d);
	return r;
}

static int switch_root(const char *dev, const char *type, bool ro)
{
	struct stat st;
	int waited = 0;
	char path[300];
	if (!strncmp(dev, "serial:", 7)) {
		char name[256] = "";
		while (find_by_attr("block", "serial", dev + 7, name, sizeof(name)) &&
		       waited < ROOT_WAIT_MS) {
			sleep_ms(10);
			waited += 10;
		}
		snprintf(path, sizeof(path), "/dev/%s", name);
		if (waited >= ROOT_WAIT_MS)
			snprintf(path, sizeof(path), "(no disk with serial %s)", dev + 7);
		dev = path;
	}
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

/* ---- the network (minnow.net) ------------------------------------------ */

static int if_up(int s, const char *ifname)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", IFNAMSIZ - 1, ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void set_sin(struct sockaddr *sa, in_addr_t a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = a};
	memcpy(sa, &sin, sizeof(sin));
}

/* minnow.net=MAC[,ADDR/PREFIX[,GW]]: lo up, then the interface with MAC up,
 * its address and a default route. Returns 0 or -1 (reported). */
static int setup_net(char *spec)
{
	char *mac = strtok(spec, ","), *addr = strtok(NULL, ","), *gw = strtok(NULL, ",");
	char ifname[IFNAMSIZ];
	int waited = 0;
	while (find_by_attr("net", "address", mac ? mac : "", ifname, sizeof(ifname))) {
		if (waited >= ROOT_WAIT_MS) {
			say("net: no interface with address %s", mac ? mac : "(none)");
			return -1;
		}
		sleep_ms(10);
		waited += 10;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		say("net: socket: %s", strerror(errno));
		return -1;
	}
	const char *what = NULL;
	(void)if_up(s, "lo");
	if (if_up(s, ifname) != 0)
		what = "up";
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", IFNAMSIZ - 1, ifname);
	if (!what && addr) {
		char *slash = strchr(addr, '/');
		unsigned prefix = slash ? (unsigned)atoi(slash + 1) : 32;
		if (slash)
			*slash = '\0';
		in_addr_t a = inet_addr(addr);
		in_addr_t mask = prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
		set_sin(&ifr.ifr_addr, a);
		if (ioctl(s, SIOCSIFADDR, &ifr) != 0)
			what = "address";
		set_sin(&ifr.ifr_netmask, mask);
		if (!what && ioctl(s, SIOCSIFNETMASK, &ifr) != 0)
			what = "netmask";
	}
	if (!what && addr && gw) {
		struct rtentry rt = {0};
		set_sin(&rt.rt_dst, INADDR_ANY);
		set_sin(&rt.rt_genmask, INADDR_ANY);
		set_sin(&rt.rt_gateway, inet_addr(gw));
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = ifname;
		if (ioctl(s, SIOCADDRT, &rt) != 0)
			what = "default route";
	}
	int e = errno;
	close(s);
	if (what) {
		say("net: %s: %s: %s", ifname, what, strerror(e));
		return -1;
	}
	DEBUG("net: %s up%s%s%s%s", ifname, addr ? " " : "", addr ? addr : "", gw ? " via " : "",
	      gw ? gw : "");
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

/* ---- the power button ---------------------------------------------------- */

static void on_power_button(int sig)
{
	(void)sig;
	power_button = 1;
}

/* Whether input device `fd` reports KEY_POWER (the ACPI power button). */
static bool has_power_key(int fd)
{
	uint8_t keys[KEY_MAX / 8 + 1];
	memset(keys, 0, sizeof(keys));
	return ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) >= 0 &&
	       (keys[KEY_POWER / 8] & (1u << (KEY_POWER % 8)));
}

/* The child that watches the power button: on a press on any of the `n`
 * input devices in `p`, signals init, again every second until init ends
 * it (init may be between its check of the flag and a wait). */
static void __attribute__((noreturn)) watch_button(struct pollfd *p, nfds_t n)
{
	for (;;) {
		if (poll(p, n, -1) < 0 && errno != EINTR)
			_exit(1);
		for (nfds_t i = 0; i < n; i++) {
			struct input_event ev;
			if (!(p[i].revents & POLLIN) ||
			    read(p[i].fd, &ev, sizeof(ev)) != sizeof(ev))
				continue;
			if (ev.type == EV_KEY && ev.code == KEY_POWER && ev.value == 1)
				for (;;) {
					kill(1, SIGUSR2);
					sleep_ms(1000);
				}
		}
	}
}

/* Opens every /dev/input/event* that has KEY_POWER (the drivers probed
 * them as their modules loaded, so they are there now: a press from this
 * point on is seen) and starts the watcher on them, init's SIGUSR2 handler
 * first. Nothing without such a device (no ACPI, another VMM). */
static void start_button_watch(void)
{
	struct pollfd p[8];
	nfds_t n = 0;
	DIR *d = opendir("/dev/input");
	for (struct dirent *e; d && n < 8 && (e = readdir(d));) {
		char path[300];
		if (strncmp(e->d_name, "event", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && has_power_key(fd))
			p[n++] = (struct pollfd){fd, POLLIN, 0};
		else if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	DEBUG("power button: %u input device(s) with KEY_POWER", (unsigned)n);
	if (n == 0)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_power_button; /* no SA_RESTART: waits return EINTR */
	sigaction(SIGUSR2, &sa, NULL);
	pid_t pid = fork();
	if (pid == 0)
		watch_button(p, n);
	if (pid < 0)
		say("power button: fork: %s", strerror(errno));
	for (nfds_t i = 0; i < n; i++)
		close(p[i].fd);
}

/* The power button was pressed: ends every other process (SIGTERM, then
 * SIGKILL after TERM_WAIT_MS), syncs and powers off without reporting a
 * status, so that minnow sees the guest power off (ACPI S5). */
static void __attribute__((noreturn)) power_off(void)
{
	say("power button: powering off");
	kill(-1, SIGTERM);
	long deadline = now_ms() + TERM_WAIT_MS;
	while (waitpid(-1, NULL, WNOHANG) >= 0 && now_ms() < deadline)
		sleep_ms(20);
	kill(-1, SIGKILL);
	deadline = now_ms() + TERM_WAIT_MS;
	while (waitpid(-1, NULL, WNOHANG) >= 0 && now_ms() < deadline)
		sleep_ms(20);
	tcdrain(STDERR_FILENO);
	sync();
	if (root_switched && mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL))
		DEBUG("remount / read-only: %s", strerror(errno));
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/* Reaps children (orphans re-parent to init) until `main` ends; returns its
 * status as a shell would: the exit code, or 128 + the signal. A press of
 * the power button powers off instead. */
static int wait_for(pid_t main)
{
	for (;;) {
		if (power_button)
			power_off();
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
		if (r == 0)
			errno = 0; /* end of stream */
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

#define SPEC_ASK_AGAIN (-2)

/* Receives the spec; its strings live in *payload (malloc'd). Returns 0,
 * -1 (reported), or SPEC_ASK_AGAIN when the connection was reset before
 * the spec came: the VM was restored from a snapshot taken while this
 * waited (the restore resets every vsock connection), and the host that
 * restored it has the command. */
static int read_spec(int fd, struct exec_spec *spec, uint8_t **payload)
{
	uint8_t hdr[EXEC_SPEC_HDR];
	if (read_full(fd, hdr, sizeof(hdr)) < 0) {
		if (errno == ECONNRESET || errno == ENOTCONN)
			return SPEC_ASK_AGAIN;
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

/* What the child gets: the host's streams, and with a terminal the pty. */
struct exec_fds {
	int sock[3]; /* the vsock streams of exec_proto.h */
	int slave;   /* the pty's slave side, or -1 */
};

/* The child: the streams (or the pty) as fds 0, 1 and 2, a session of its
 * own (with the pty as its controlling terminal: its process group is the
 * foreground one, so ^C and ^Z reach it), the working directory, then the
 * program found on the spec's PATH. Failures are told on CMD's stderr
 * with env(1)'s statuses: 125 (cannot change directory), 126 (cannot
 * run), 127 (not found). */
static void exec_child(const struct exec_spec *spec, char **env, const struct exec_fds *f)
{
	setsid();
	if (f->slave >= 0 && ioctl(f->slave, TIOCSCTTY, 0) != 0)
		_exit(125);
	for (int i = 0; i < 3; i++) {
		bool on_pty =
		    f->slave >= 0 && (i == 0 || (i == 1 && (spec->tty & EXEC_TTY_STDOUT)) ||
				      (i == 2 && (spec->tty & EXEC_TTY_STDERR)));
		if (dup2(on_pty ? f->slave : f->sock[i], i) < 0)
			_exit(125);
	}
	default_signals();
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
			dprintf(err_fd, "minnow-init: cannot mount the share %s on %s: %s\n", t,
				dir, strerror(errno));
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

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Opens a pty (devpts mounted on /dev/pts first) with the given size.
 * Returns the master (non-blocking) and *slave, or -1 (reported). */
static int open_pty(unsigned rows, unsigned cols, int *slave)
{
	mkdir("/dev/pts", 0755);
	/* Not mount_one(): devpts must allow its device nodes. */
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "gid=5,mode=620,ptmxmode=666") != 0 &&
	    errno != EBUSY)
		say("mount devpts on /dev/pts: %s", strerror(errno));
	int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	char name[64];
	int unlock = 0;
	if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) != 0 || ptsname_r(m, name, sizeof(name)) != 0 ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		say("exec: cannot open a pty: %s", strerror(errno));
		if (m >= 0)
			close(m);
		return -1;
	}
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	(void)ioctl(m, TIOCSWINSZ, &ws);
	DEBUG("exec: %s, %ux%u", name, rows, cols);
	return m;
}

/* With a terminal: the host's stdin (sock 0) copied to the pty's master,
 * what the pty prints copied to `out` (sock 1 or 2); all non-blocking. */
struct relay {
	int master, in, out;
	bool in_eof, master_gone;
	uint8_t in_buf[4096], out_buf[4096];
	size_t in_len, in_off, out_len, out_off;
};

/* The control connection: reads whole records; applies window sizes to
 * the pty. Returns 1 when something came (the host is alive), 0 when
 * nothing was there, -1 at its end. */
static int ctl_read(int ctl, int master)
{
	static uint8_t rec[EXEC_CTL_LEN];
	static size_t have;
	int got = 0;
	for (;;) {
		ssize_t n = read(ctl, rec + have, sizeof(rec) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return got;
		if (n <= 0)
			return -1;
		got = 1;
		have += (size_t)n;
		if (have < sizeof(rec))
			continue;
		have = 0;
		struct exec_ctl c;
		if (exec_ctl_decode(rec, &c) == 0 && c.type == EXEC_CTL_WINSIZE && master >= 0) {
			struct winsize ws = {.ws_row = (unsigned short)c.rows,
					     .ws_col = (unsigned short)c.cols};
			(void)ioctl(master, TIOCSWINSZ, &ws); /* SIGWINCH to CMD */
		}
	}
}

/* Moves what can move without waiting, both ways. */
static void relay_pump(struct relay *r)
{
	for (bool moved = true; moved;) {
		moved = false;
		if (r->in_off == r->in_len && !r->in_eof) {
			ssize_t n = read(r->in, r->in_buf, sizeof(r->in_buf));
			if (n > 0) {
				r->in_len = (size_t)n;
				r->in_off = 0;
				moved = true;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				r->in_eof = true; /* the host's stdin ended: nothing to do */
			}
		}
		if (r->in_off < r->in_len && !r->master_gone) {
			ssize_t n = write(r->master, r->in_buf + r->in_off, r->in_len - r->in_off);
			if (n > 0) {
				r->in_off += (size_t)n;
				moved = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				r->in_off = r->in_len;
			}
		}
		if (r->out_off == r->out_len && !r->master_gone) {
			ssize_t n = read(r->master, r->out_buf, sizeof(r->out_buf));
			if (n > 0) {
				r->out_len = (size_t)n;
				r->out_off = 0;
				moved = true;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				r->master_gone = true;
			}
		}
		if (r->out_off < r->out_len) {
			ssize_t n = send(r->out, r->out_buf + r->out_off, r->out_len - r->out_off,
					 MSG_NOSIGNAL);
			if (n > 0) {
				r->out_off += (size_t)n;
				moved = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				r->out_off = r->out_len; /* the host is gone: drop */
				r->master_gone = true;
			}
		}
	}
}

/* After CMD's exit: what the pty still holds goes to the host, waiting as
 * long as the host takes it. */
static void relay_flush(struct relay *r)
{
	r->in_eof = true;
	for (;;) {
		relay_pump(r);
		if (r->out_off < r->out_len) {
			struct pollfd p = {r->out, POLLOUT, 0};
			(void)poll(&p, 1, 1000);
			continue;
		}
		if (r->master_gone)
			return;
		/* A read that finds nothing flushes the tty's pending work first:
		 * EAGAIN here means everything CMD wrote has been read. */
		ssize_t n = read(r->master, r->out_buf, sizeof(r->out_buf));
		if (n <= 0)
			return;
		r->out_len = (size_t)n;
		r->out_off = 0;
	}
}

/* Reaps children (orphans re-parent to init) after a SIGCHLD; sets *status
 * (as a shell reports it) when `main` is among them. */
static void reap(int sfd, pid_t main, int *status)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		;
	int ws;
	pid_t w;
	while ((w = waitpid(-1, &ws, WNOHANG)) > 0) {
		if (w != main)
			continue;
		if (WIFEXITED(ws))
			*status = WEXITSTATUS(ws);
		else if (WIFSIGNALED(ws))
			*status = 128 + WTERMSIG(ws);
	}
}

/* Serves CMD until it exits: the control connection, and with a terminal
 * the relay. Returns CMD's status. */
static int exec_serve(pid_t pid, int sfd, int *ctl, struct relay *r)
{
	int status = -1;
	while (status < 0) {
		if (power_button)
			power_off();
		struct pollfd p[5];
		int n = 0;
		p[n++] = (struct pollfd){sfd, POLLIN, 0};
		if (*ctl >= 0)
			p[n++] = (struct pollfd){*ctl, POLLIN, 0};
		if (r) {
			relay_pump(r);
			if (r->in_off == r->in_len && !r->in_eof)
				p[n++] = (struct pollfd){r->in, POLLIN, 0};
			short me = 0;
			if (!r->master_gone && r->in_off < r->in_len)
				me |= POLLOUT;
			if (!r->master_gone && r->out_off == r->out_len)
				me |= POLLIN;
			if (me)
				p[n++] = (struct pollfd){r->master, me, 0};
			if (r->out_off < r->out_len)
				p[n++] = (struct pollfd){r->out, POLLOUT, 0};
		}
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR) {
			say("exec: poll: %s", strerror(errno));
			sleep_ms(100);
		}
		if (p[0].revents)
			reap(sfd, pid, &status);
		if (*ctl >= 0 && p[1].revents && ctl_read(*ctl, r ? r->master : -1) < 0) {
			close(*ctl);
			*ctl = -1;
		}
	}
	if (r)
		relay_flush(r);
	return status;
}

/* Half-closes CMD's output streams and waits for the host to close them:
 * it has then written every byte to its own stdout and stderr. It waits
 * while the host's keepalives come (a slow reader on the host is no
 * reason to cut anything), and at most EXEC_ACK_IDLE_MS after the last. */
static void exec_ack(int out[2], int ctl)
{
	for (int i = 0; i < 2; i++)
		if (out[i] >= 0 && shutdown(out[i], SHUT_WR) != 0) {
			close(out[i]);
			out[i] = -1;
		}
	if (ctl >= 0)
		set_nonblock(ctl);
	long deadline = now_ms() + EXEC_ACK_IDLE_MS;
	while (out[0] >= 0 || out[1] >= 0) {
		struct pollfd p[3];
		int n = 0, at[3];
		for (int i = 0; i < 2; i++)
			if (out[i] >= 0) {
				at[n] = i;
				p[n++] = (struct pollfd){out[i], POLLIN, 0};
			}
		if (ctl >= 0) {
			at[n] = 2;
			p[n++] = (struct pollfd){ctl, POLLIN, 0};
		}
		long left = deadline - now_ms();
		if (left <= 0) {
			say("exec: no word from the host for %u s: reporting the status without "
			    "its acknowledgement",
			    EXEC_ACK_IDLE_MS / 1000);
			break;
		}
		if (poll(p, (nfds_t)n, (int)left) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			if (at[k] == 2) {
				int r = ctl_read(ctl, -1);
				if (r > 0)
					deadline = now_ms() + EXEC_ACK_IDLE_MS;
				if (r < 0) {
					close(ctl);
					ctl = -1;
				}
				continue;
			}
			char buf[256];
			ssize_t got = read(out[at[k]], buf, sizeof(buf));
			if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
				close(out[at[k]]);
				out[at[k]] = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (out[i] >= 0)
			close(out[i]);
}

/* Runs the host's command with the vsock streams from `base`; returns its
 * status as a shell would, 1 when the channel failed. */
static int run_exec(unsigned base)
{
	struct exec_fds f = {{-1, -1, -1}, -1};
	int ctl = -1, master = -1, sfd = -1;
	uint8_t *payload = NULL;
	struct exec_spec spec = {0};
	char **env = NULL;
	int status = 1;
	size_t mounted = 0;
	for (;;) {
		f.sock[0] = vsock_connect(base);
		int r = f.sock[0] < 0 ? -1 : read_spec(f.sock[0], &spec, &payload);
		if (r == 0)
			break;
		if (r != SPEC_ASK_AGAIN)
			goto out;
		DEBUG("exec: connection reset before the command (a restore): asking again");
		close(f.sock[0]);
		f.sock[0] = -1;
	}
	for (int i = 1; i < 3; i++)
		if ((f.sock[i] = vsock_connect(base + (unsigned)i)) < 0)
			goto out;
	if ((ctl = vsock_connect(base + 3)) < 0)
		goto out;
	set_nonblock(ctl);
	if (mount_shares(&spec, f.sock[2], &mounted) < 0) {
		status = 125; /* as env(1) when it cannot start the command */
		goto report;
	}
	if (spec.tty && (master = open_pty(spec.rows, spec.cols, &f.slave)) < 0)
		goto out;
	if (!(env = exec_env(&spec)))
		goto out;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		say("exec: signalfd: %s", strerror(errno));
		goto out;
	}
	DEBUG("exec: running %s%s", spec.argv[0], spec.tty ? " on a pty" : "");
	pid_t pid = fork();
	if (pid == 0)
		exec_child(&spec, env, &f);
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		goto out;
	}
	struct relay r = {.master = master, .in = f.sock[0]};
	if (master >= 0) {
		/* The pty's output goes out on stdout's stream if CMD's stdout is
		 * the pty, else on stderr's; the other stream is CMD's own. */
		r.out = f.sock[spec.tty & EXEC_TTY_STDOUT ? 1 : 2];
		set_nonblock(r.in);
		set_nonblock(r.out);
		/* The slave stays open here too: reads of the master never see a
		 * hangup, whatever CMD does with its terminal. */
	} else {
		close(f.sock[0]); /* CMD's alone: the host sees when it is gone */
		f.sock[0] = -1;
	}
	status = exec_serve(pid, sfd, &ctl, master >= 0 ? &r : NULL);
	if (master >= 0) {
		int fl = fcntl(r.out, F_GETFL);
		(void)fcntl(r.out, F_SETFL, fl & ~O_NONBLOCK);
	}
report:
	/* Shares first: the host's files are complete before CMD's status is. */
	unmount_shares(&spec, mounted);
	mounted = 0;
	if (f.sock[0] >= 0 && master < 0) {
		close(f.sock[0]);
		f.sock[0] = -1;
	}
	exec_ack(f.sock + 1, ctl);
	f.sock[1] = f.sock[2] = -1;
	ctl = -1;
out:
	unmount_shares(&spec, mounted);
	for (int i = 0; i < 3; i++)
		if (f.sock[i] >= 0)
			close(f.sock[i]);
	if (ctl >= 0)
		close(ctl);
	if (f.slave >= 0)
		close(f.slave);
	if (master >= 0)
		close(master);
	if (sfd >= 0)
		close(sfd);
	free(env);
	exec_spec_free(&spec);
	free(payload);
	return status;
}

/* Reports `status` to minnow (or on the console) and powers off. */
static void __attribute__((noreturn)) finish(int status, bool remount_ro)
{
	/* What init said on the console last (e.g. why the exec channel
	 * failed) must leave the UART before minnow ends the VM. */
	tcdrain(STDERR_FILENO);
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
	open_console(false);
	DEBUG("command line: %s", cmdline);
	load_modules(MODULE_LIST);
	load_platform_modules();
	load_device_modules();
	open_console(true);

	char root[256], type[64], flags[64];
	if (param("minnow.root", root, sizeof(root)) && root[0]) {
		if (!param("minnow.rootfstype", type, sizeof(type)) || !type[0])
			snprintf(type, sizeof(type), "ext4");
		bool ro = param("minnow.rootflags", flags, sizeof(flags)) && !strcmp(flags, "ro");
		root_switched = true;
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

	char net[128];
	if (param("minnow.net", net, sizeof(net)) && setup_net(net) != 0)
		finish(1, root[0] != '\0');

	start_button_watch(); /* before boot complete: a press after it is seen */
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
