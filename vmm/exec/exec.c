/* exec.c - `minnow exec`: the command line (exec_args.h) becomes a VM
 * configuration (a CONFIG, or the defaults of exec_guest.h), the command a
 * spec (exec_proto.h) that minnow-init fetches over virtio-vsock, and
 * CMD's streams are served by exec_io.h while the VM runs. A warm start:
 * --save-snapshot saves the VM when minnow-init asks for its command, and
 * --snapshot restores that VM, whose minnow-init asks again (the restore
 * resets its vsock connections) and gets CMD. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "config.h"
#include "exec_args.h"
#include "exec_guest.h"
#include "exec_io.h"
#include "exec_proto.h"
#include "log.h"
#include "run.h"
#include "snapshot.h"
#include "term.h"
#include "timing.h"
#include "vm.h"

#define DEFAULT_MEMORY "256M"
/* Without a CONFIG. cryptomgr.notests skips the crypto self-tests that Linux
 * runs on every algorithm it registers (a sixth of a boot in the L1 host;
 * Kata Containers' guests skip them too; fips=1 still runs them). */
#define DEFAULT_CMDLINE "console=ttyS0 quiet panic=-1 cryptomgr.notests"
#define DRAIN_MS	1000  /* how long output may still be written after an abnormal end */
#define ASK_LIMIT_MS	60000 /* default wait for minnow-init to ask for the command */

struct exec_run {
	const struct exec_options *o;
	struct vm *vm;
	struct exec_io io;
	uint8_t *spec;
	size_t spec_len;
	char uds[PATH_MAX];
	bool tty;	       /* CMD runs on a pty in the guest; stdin is a terminal */
	unsigned ask_limit_ms; /* minnow-init must ask for the command within this */
	int timer_fd;	       /* --timeout */
	int ask_fd;	       /* ask_limit_ms */
	int keepalive_fd;      /* every EXEC_KEEPALIVE_MS */
	int winch_fd;	       /* SIGWINCH, with tty */
};

/* Prints "minnow exec: " + the message + newline; returns EXIT_CONFIG. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "minnow exec: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_CONFIG;
}

/* Prints a duration in the unit it was most likely given in. */
static void say_ms(char *out, size_t n, uint64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(out, n, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(out, n, "%llums", (unsigned long long)ms);
}

static void on_timeout(void *opaque, uint32_t events)
{
	struct exec_run *x = opaque;
	uint64_t n;
	char d[32];
	(void)events;
	(void)!read(x->timer_fd, &n, sizeof(n));
	say_ms(d, sizeof(d), x->o->timeout_ms);
	log_error("timeout: the command did not finish within %s; VM stopped (status %d)", d,
		  EXIT_TIMEOUT);
	vm_end(x->vm, END_TIMEOUT, EXIT_TIMEOUT);
}

/* minnow-init has not asked for the command in time: not a minnow-init
 * with exec support, or a boot slower than the limit. */
static void on_ask_limit(void *opaque, uint32_t events)
{
	struct exec_run *x = opaque;
	uint64_t n;
	char d[32];
	(void)events;
	(void)!read(x->ask_fd, &n, sizeof(n));
	if (exec_io_asked(&x->io))
		return;
	say_ms(d, sizeof(d), x->ask_limit_ms);
	log_error(
	    "exec: the guest did not ask for the command within %s: is its /init minnow-init "
	    "with exec support? (see --log; a slower boot needs --set vm.boot_timeout=...); VM "
	    "stopped (status %d)",
	    d, EXIT_BOOT_TIMEOUT);
	vm_end(x->vm, END_BOOT_TIMEOUT, EXIT_BOOT_TIMEOUT);
}

/* --save-snapshot: the vCPUs have parked (vm->pause_fd): the VM is saved
 * and ends (status 0, exit_reason "stopped"). */
static void on_paused_save(void *opaque, uint32_t events)
{
	struct exec_run *x = opaque;
	eventfd_t value;
	(void)events;
	(void)eventfd_read(x->vm->pause_fd, &value);
	if (!vm_paused(x->vm))
		return;
	(void)event_loop_remove(&x->vm->loop, x->vm->pause_fd);
	char why[PATH_MAX + 200];
	if (snapshot_save(x->vm, x->o->save_snapshot, why, sizeof(why)) < 0) {
		log_error("exec: --save-snapshot %s: %s", x->o->save_snapshot, why);
		vm_end(x->vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
		return;
	}
	vm_end(x->vm, END_STOPPED, EXIT_OK);
}

/* --save-snapshot: minnow-init waits for its command; pause to save. */
static void on_asked(void *opaque)
{
	struct exec_run *x = opaque;
	int r = x->vm->msr_list
		    ? event_loop_add(&x->vm->loop, x->vm->pause_fd, EPOLLIN, on_paused_save, x)
		    : -ENOTSUP;
	if (r < 0) {
		log_error("exec: --save-snapshot: %s",
			  r == -ENOTSUP ? "snapshots are not available on this host's KVM"
					: strerror(-r));
		vm_end(x->vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
		return;
	}
	vm_pause(x->vm);
}

static void on_keepalive(void *opaque, uint32_t events)
{
	struct exec_run *x = opaque;
	uint64_t n;
	(void)events;
	(void)!read(x->keepalive_fd, &n, sizeof(n));
	struct exec_ctl c = {EXEC_CTL_KEEPALIVE, 0, 0};
	exec_io_control(&x->io, &c);
}

/* The terminal's size, from stdin (a terminal whenever tty is set). */
static void term_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws = {0};
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0)
		memset(&ws, 0, sizeof(ws));
	*rows = ws.ws_row;
	*cols = ws.ws_col;
}

static void on_winch(void *opaque, uint32_t events)
{
	struct exec_run *x = opaque;
	struct signalfd_siginfo si;
	(void)events;
	while (read(x->winch_fd, &si, sizeof(si)) == sizeof(si))
		;
	struct exec_ctl c = {EXEC_CTL_WINSIZE, 0, 0};
	term_size(&c.rows, &c.cols);
	exec_io_control(&x->io, &c);
}

static void on_quit(void *opaque)
{
	struct exec_run *x = opaque;
	log_error("quit requested (Ctrl-A x)");
	vm_end(x->vm, END_SIGNAL, EXIT_SIGNAL_BASE + SIGINT);
}

/* A timerfd on the loop: first after ms, then every `every` ms (0: once). */
static int add_timer(struct exec_run *x, int *fd, uint64_t ms, uint64_t every,
		     void (*fn)(void *, uint32_t))
{
	*fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = {
	    .it_interval = {(time_t)(every / 1000), (long)(every % 1000) * 1000000L},
	    .it_value = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L},
	};
	if (*fd < 0 || timerfd_settime(*fd, 0, &its, NULL) < 0)
		return -errno;
	return event_loop_add(&x->vm->loop, *fd, EPOLLIN, fn, x);
}

/* SIGWINCH through a signalfd (blocked before the vCPU threads start, so
 * that they inherit the mask). */
static int add_winch(struct exec_run *x)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	x->winch_fd = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
	if (x->winch_fd < 0)
		return -errno;
	return event_loop_add(&x->vm->loop, x->winch_fd, EPOLLIN, on_winch, x);
}

static void remove_fd(struct exec_run *x, int *fd)
{
	if (*fd < 0)
		return;
	(void)event_loop_remove(&x->vm->loop, *fd);
	close(*fd);
	*fd = -1;
}

static int before_run(struct vm *vm, void *opaque)
{
	struct exec_run *x = opaque;
	char err[PATH_MAX + 64];
	x->vm = vm;
	vm->io_threads = true; /* exec_io's output threads start as the guest connects */
	int r = exec_io_init(&x->io, &vm->loop, x->uds, x->spec, x->spec_len, vm_console_gone, vm,
			     err, sizeof(err));
	x->spec = NULL; /* exec_io's now */
	if (x->o->save_snapshot) {
		x->io.on_asked = on_asked;
		x->io.asked_opaque = x;
	}
	if (r == 0 && x->o->timeout_ms &&
	    (r = add_timer(x, &x->timer_fd, x->o->timeout_ms, 0, on_timeout)) < 0)
		snprintf(err, sizeof(err), "timer: %s", strerror(-r));
	if (r == 0 && (r = add_timer(x, &x->ask_fd, x->ask_limit_ms, 0, on_ask_limit)) < 0)
		snprintf(err, sizeof(err), "timer: %s", strerror(-r));
	if (r == 0 && (r = add_timer(x, &x->keepalive_fd, EXEC_KEEPALIVE_MS, EXEC_KEEPALIVE_MS,
				     on_keepalive)) < 0)
		snprintf(err, sizeof(err), "timer: %s", strerror(-r));
	if (r == 0 && x->tty && (r = add_winch(x)) < 0)
		snprintf(err, sizeof(err), "SIGWINCH: %s", strerror(-r));
	if (r < 0) {
		log_error("exec: %s", err);
		exec_io_fini(&x->io, 0);
		return EXIT_HOST_FAILURE;
	}
	if (x->tty) {
		/* Keys go to CMD's pty (^C is CMD's); Ctrl-A x still quits. */
		x->io.escapes = term_raw(STDIN_FILENO) == 1;
		x->io.on_quit = on_quit;
		x->io.quit_opaque = x;
	}
	return 0;
}

static void after_run(struct vm *vm, void *opaque, struct run_report *rep)
{
	struct exec_run *x = opaque;
	bool clean = vm->end_reason == END_GUEST_EXIT || vm->end_reason == END_POWEROFF;
	bool started = exec_io_started(&x->io);
	term_restore(); /* vm_run() did; exec's own raw mode too */
	exec_io_fini(&x->io, clean ? 10 * DRAIN_MS : DRAIN_MS);
	remove_fd(x, &x->timer_fd);
	remove_fd(x, &x->ask_fd);
	remove_fd(x, &x->keepalive_fd);
	remove_fd(x, &x->winch_fd);
	if (clean && !started) {
		log_error(
		    "exec: the guest never started the command (an initrd without minnow exec "
		    "support, or init failed: see --log)");
		rep->exit_status = EXIT_HOST_FAILURE;
		rep->exit_reason = "startup_failed";
	}
}

/* --share: each HOST_DIR as minnow will use it (a directory, writable unless :ro), and the
 * daemon that serves it. Before anything else is done: bad input starts nothing. */
static int check_shares(const struct exec_options *o, char *err, size_t errlen)
{
	char why[PATH_MAX + 128];
	for (size_t i = 0; i < o->n_shares; i++) {
		const struct exec_share *sh = &o->shares[i];
		if (config_check_share_dir(sh->host, sh->readonly, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "--share %.200s:%.200s: %.1000s", sh->host, sh->guest,
				 why);
			return -1;
		}
	}
	const char *d = config_virtiofsd();
	if (o->n_shares && access(d, X_OK) != 0) {
		snprintf(err, errlen,
			 "--share needs virtiofsd: %s: %s (apt-get install qemu-system-common, or "
			 "MINNOW_VIRTIOFSD=PATH)",
			 d, strerror(errno));
		return -1;
	}
	return 0;
}

/* The shares as the guest mounts them: "ro:TAG:DIR" (exec_proto.h). */
static char share_mounts[EXEC_MAX_SHARES][EXEC_SHARE_PATH + 48];
static const char *share_mount_list[EXEC_MAX_SHARES];

static void share_tag(size_t i, char *tag, size_t n)
{
	snprintf(tag, n, "minnow-exec-%zu", i);
}

/* Adds one [fs.exec-share-N] per --share to the configuration (virtio-fs devices whose
 * virtiofsd minnow starts on HOST_DIR). */
static int add_shares(struct vm_config *cfg, const struct exec_options *o)
{
	for (size_t i = 0; i < o->n_shares; i++) {
		const struct exec_share *sh = &o->shares[i];
		if (cfg->n_fs == CONFIG_MAX_FS)
			return usage_error("--share: too many virtio-fs devices (at most %d with "
					   "the CONFIG's)",
					   CONFIG_MAX_FS);
		struct fs_config *f = &cfg->fs[cfg->n_fs];
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "exec-share-%zu", i);
		share_tag(i, f->tag, sizeof(f->tag));
		for (size_t k = 0; k < cfg->n_fs; k++)
			if (!strcmp(cfg->fs[k].tag, f->tag))
				return usage_error("--share: tag %s is taken by [fs.%s]", f->tag,
						   cfg->fs[k].name);
		if (!realpath(sh->host, f->host_dir.path))
			return usage_error("--share %s: %s", sh->host, strerror(errno));
		f->host_dir.at = (struct config_origin){"--share", 0};
		f->readonly = sh->readonly;
		f->cache = FS_CACHE_AUTO;
		snprintf(f->virtiofsd.path, sizeof(f->virtiofsd.path), "%s", config_virtiofsd());
		f->at = f->host_dir.at;
		cfg->n_fs++;
	}
	return 0;
}

/* Appends the overrides that make the defaults, and the user's options. */
static int build_overrides(const struct exec_options *o, const char **ov, size_t *n, char *err,
			   size_t errlen)
{
	static char kernel_ov[PATH_MAX + 16], initrd_ov[PATH_MAX + 16], mem_ov[64], cpu_ov[32],
	    restore_ov[PATH_MAX + 16];
	char kernel[PATH_MAX], initrd[PATH_MAX], kver[256];
	*n = 0;
	if (o->snapshot) {
		/* The machine is the snapshot's (exec_args.h refuses what would change it). */
		for (size_t i = 0; i < o->n_overrides; i++)
			ov[(*n)++] = o->overrides[i];
		snprintf(restore_ov, sizeof(restore_ov), "vm.restore=%s", o->snapshot);
		ov[(*n)++] = restore_ov;
		return 0;
	}
	if (!o->config || o->kernel) {
		if (o->kernel)
			snprintf(kernel, sizeof(kernel), "%s", o->kernel);
		else if (exec_default_kernel(kernel, sizeof(kernel), err, errlen) < 0)
			return -1;
		snprintf(kernel_ov, sizeof(kernel_ov), "kernel.path=%s", kernel);
		ov[(*n)++] = kernel_ov;
	}
	if (o->initrd) {
		snprintf(initrd_ov, sizeof(initrd_ov), "kernel.initrd=%s", o->initrd);
		ov[(*n)++] = initrd_ov;
	} else if (!o->config) {
		if (exec_kernel_version(kernel, kver, sizeof(kver)) < 0) {
			snprintf(err, errlen,
				 "--kernel %.200s: not named vmlinuz-VERSION, so which modules "
				 "the initrd needs is unknown: pass --initrd too",
				 kernel);
			return -1;
		}
		if (exec_default_initrd(kver, initrd, sizeof(initrd), err, errlen) < 0)
			return -1;
		snprintf(initrd_ov, sizeof(initrd_ov), "kernel.initrd=%s", initrd);
		ov[(*n)++] = initrd_ov;
	}
	if (!o->config) {
		ov[(*n)++] = "kernel.cmdline=" DEFAULT_CMDLINE;
		ov[(*n)++] = "vm.memory=" DEFAULT_MEMORY;
	}
	if (o->memory) {
		snprintf(mem_ov, sizeof(mem_ov), "vm.memory=%s", o->memory);
		ov[(*n)++] = mem_ov;
	}
	if (o->vcpus) {
		snprintf(cpu_ov, sizeof(cpu_ov), "vm.vcpus=%u", o->vcpus);
		ov[(*n)++] = cpu_ov;
	}
	for (size_t i = 0; i < o->n_overrides; i++)
		ov[(*n)++] = o->overrides[i];
	return 0;
}

/* Appends a blank and the formatted parameter to the kernel command line;
 * 0, or -1 when it does not fit. */
static int append_cmdline(struct vm_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int append_cmdline(struct vm_config *cfg, const char *fmt, ...)
{
	size_t len = strlen(cfg->cmdline);
	if (len + 2 >= sizeof(cfg->cmdline))
		return -1;
	if (len)
		cfg->cmdline[len++] = ' ';
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cfg->cmdline + len, sizeof(cfg->cmdline) - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cfg->cmdline) - len) {
		cfg->cmdline[len ? len - 1 : 0] = '\0';
		return -1;
	}
	return 0;
}

#define ROOTFS_SERIAL "minnow-exec-root"

/* --rootfs: the image as one more virtio-blk drive, found by minnow-init
 * through its serial and mounted as CMD's root. Checked here, so that a
 * missing or unreadable image is one line and status 2. */
static int add_rootfs(struct vm_config *cfg, const struct exec_options *o)
{
	int fd = open(o->rootfs, (o->rootfs_ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return usage_error(
		    "--rootfs %s: %s%s", o->rootfs, strerror(errno),
		    errno == EACCES || errno == EROFS ? (o->rootfs_ro ? "" : " (add :ro?)") : "");
	struct stat st;
	int r = fstat(fd, &st);
	close(fd);
	if (r != 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)))
		return usage_error(
		    "--rootfs %s: not a file system image (a regular file or a block "
		    "device)",
		    o->rootfs);
	if (cfg->n_drives == CONFIG_MAX_DRIVES)
		return usage_error("--rootfs: the configuration has %d drives already, the most",
				   CONFIG_MAX_DRIVES);
	struct drive_config *d = &cfg->drives[cfg->n_drives];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "exec-rootfs");
	snprintf(d->path.path, sizeof(d->path.path), "%s", o->rootfs);
	d->path.at = d->at =
	    (struct config_origin){NULL, 0}; /* messages: "[drive.exec-rootfs] ..." */
	d->readonly = o->rootfs_ro;
	d->cache = CACHE_WRITEBACK;
	snprintf(d->serial, sizeof(d->serial), ROOTFS_SERIAL);
	cfg->n_drives++;
	if (append_cmdline(cfg, "minnow.root=serial:" ROOTFS_SERIAL "%s",
			   o->rootfs_ro ? " minnow.rootflags=ro" : "") < 0)
		return usage_error("[kernel] cmdline: too long to add --rootfs");
	return 0;
}

/* --net: a virtio-net device on an existing TAP (exec never creates one),
 * with a MAC chosen here, by which minnow-init finds the interface. */
static int add_net(struct vm_config *cfg, const struct exec_options *o)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s", o->net_tap);
	if (access(path, F_OK) != 0)
		return usage_error("--net %s: no such network interface (make the TAP first, e.g. "
				   "ip tuntap add %s mode tap user $USER && ip link set %s up)",
				   o->net_tap, o->net_tap, o->net_tap);
	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", o->net_tap);
	if (access(path, F_OK) != 0)
		return usage_error("--net %s: not a TAP device", o->net_tap);
	if (cfg->n_nets == CONFIG_MAX_NETS)
		return usage_error("--net: the configuration has %d network devices already, the "
				   "most",
				   CONFIG_MAX_NETS);
	struct net_config *n = &cfg->nets[cfg->n_nets];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "exec-net");
	snprintf(n->tap, sizeof(n->tap), "%s", o->net_tap);
	n->at = (struct config_origin){NULL, 0}; /* messages: "[net.exec-net] TAP: ..." */
	if (getrandom(n->mac, sizeof(n->mac), 0) != (ssize_t)sizeof(n->mac))
		for (size_t i = 0; i < sizeof(n->mac); i++)
			n->mac[i] = (uint8_t)(rand() ^ getpid() >> (i * 3));
	n->mac[0] = (uint8_t)((n->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
	n->mac_set = true;
	cfg->n_nets++;
	const uint8_t *m = n->mac;
	if (append_cmdline(cfg, "minnow.net=%02x:%02x:%02x:%02x:%02x:%02x%s%s%s%s", m[0], m[1],
			   m[2], m[3], m[4], m[5], o->net_ip[0] ? "," : "", o->net_ip,
			   o->net_gw[0] ? "," : "", o->net_gw) < 0)
		return usage_error("[kernel] cmdline: too long to add --net");
	return 0;
}

/* What exec changes in the configuration: the console to --log or
 * nowhere, no console input (stdin is CMD's), the vsock device (a private
 * directory for its sockets unless the config has [vsock]), and the
 * command-line parameter that tells minnow-init to fetch the command. */
static int adapt_config(struct vm_config *cfg, const struct exec_options *o, struct exec_run *x,
			char *tmpdir, size_t tmplen)
{
	if (cfg->vconsole)
		return usage_error("[vconsole] cannot be used with exec (CMD's streams go over "
				   "vsock; the console is ttyS0, see --log)");
	cfg->console_input = false;
	if (o->log_path) {
		cfg->console = CONSOLE_FILE;
		snprintf(cfg->console_path.path, sizeof(cfg->console_path.path), "%s", o->log_path);
		cfg->console_path.at = (struct config_origin){"--log", 0};
	} else {
		cfg->console = CONSOLE_NONE;
	}
	int r;
	if (o->rootfs[0] && (r = add_rootfs(cfg, o)) != 0)
		return r;
	if (o->net_tap[0] && (r = add_net(cfg, o)) != 0)
		return r;
	/* A snapshot's guest has the parameter already, and its vsock device
	 * gets sockets here: the saved paths were another run's. */
	if (!o->snapshot && append_cmdline(cfg, "%s=%u", EXEC_CMDLINE_PARAM, EXEC_VSOCK_PORT) < 0)
		return usage_error("[kernel] cmdline: too long to add %s", EXEC_CMDLINE_PARAM);
	if (cfg->vsock && !o->snapshot) {
		snprintf(x->uds, sizeof(x->uds), "%s", cfg->vsock_uds.path);
		return 0;
	}
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, tmplen, "%s/minnow-exec.XXXXXX", t && *t == '/' ? t : "/tmp");
	if (strlen(tmpdir) > 80 || !mkdtemp(tmpdir)) {
		snprintf(tmpdir, tmplen, "/tmp/minnow-exec.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			tmpdir[0] = '\0';
			log_error("exec: temporary directory in /tmp: %s", strerror(errno));
			return EXIT_HOST_FAILURE;
		}
	}
	snprintf(x->uds, sizeof(x->uds), "%s/vsock", tmpdir);
	if (!cfg->vsock)
		cfg->vsock_cid = 3;
	cfg->vsock = true;
	snprintf(cfg->vsock_uds.path, sizeof(cfg->vsock_uds.path), "%s", x->uds);
	cfg->vsock_uds.at = (struct config_origin){"minnow exec", 0};
	return 0;
}

/* --save-snapshot STATE: neither STATE nor STATE.mem may exist (a snapshot
 * never overwrites a file); 0, or -1 with one line in err. */
static int check_new_snapshot(const char *state, char *err, size_t errlen)
{
	char mem[PATH_MAX];
	if (snapshot_mem_path(state, mem, sizeof(mem)) < 0) {
		snprintf(err, errlen, "%s: path too long", state);
		return -1;
	}
	const char *there = access(state, F_OK) == 0 ? state : access(mem, F_OK) == 0 ? mem : NULL;
	if (there) {
		snprintf(err, errlen, "%s exists (a snapshot never overwrites a file)", there);
		return -1;
	}
	return 0;
}

/* The configuration: CONFIG (or none) with the overrides, or with
 * --snapshot the one saved in the state file. */
static int load_config(struct vm_config *cfg, const struct exec_options *o, const char **ov,
		       size_t n_ov, struct config_error *cerr)
{
	if (!o->snapshot)
		return config_load(cfg, o->config ? o->config : "/dev/null", ov, n_ov, cerr);
	char why[PATH_MAX + 200];
	char *text = snapshot_config(o->snapshot, why, sizeof(why));
	if (!text) {
		snprintf(cerr->msg, sizeof(cerr->msg), "--snapshot %s: %s", o->snapshot, why);
		return -1;
	}
	int r = config_load_text(cfg, o->snapshot, text, ov, n_ov, cerr);
	free(text);
	return r;
}

int exec_main(int argc, char **argv)
{
	static struct exec_options o;
	char err[PATH_MAX + 256];
	int r = exec_parse_args(argc, argv, &o, err, sizeof(err));
	if (r > 0) {
		exec_usage(stdout);
		return 0;
	}
	if (r < 0)
		return usage_error("%s", err);
	if (o.verbose)
		log_set_verbose(1);
	if (check_shares(&o, err, sizeof(err)) < 0)
		return usage_error("%s", err);
	if (o.save_snapshot && check_new_snapshot(o.save_snapshot, err, sizeof(err)) < 0)
		return usage_error("--save-snapshot: %s", err);
	if (o.log_path) {
		int fd = open(o.log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return usage_error("--log %s: %s", o.log_path, strerror(errno));
		close(fd);
	}

	static struct exec_run x;
	x.o = &o;
	x.timer_fd = x.ask_fd = x.keepalive_fd = x.winch_fd = -1;
	/* A terminal on stdin: CMD gets a pty, which is also its stdout and
	 * stderr where those are terminals here; a redirected one stays apart.
	 * With neither a terminal, a pty would have nowhere to print. */
	unsigned tty = 0;
	if (!o.no_tty && !o.save_snapshot && isatty(STDIN_FILENO))
		tty = (isatty(STDOUT_FILENO) ? EXEC_TTY_STDOUT : 0) |
		      (isatty(STDERR_FILENO) ? EXEC_TTY_STDERR : 0);
	x.tty = tty != 0;
	/* TERM as ssh passes it; --env may still change it. */
	static const char *env[EXEC_MAX_ENV + 1];
	static char term_env[128];
	size_t n_env = 0;
	const char *term = getenv("TERM");
	if (tty && term && *term && strlen(term) < sizeof(term_env) - 6) {
		snprintf(term_env, sizeof(term_env), "TERM=%s", term);
		env[n_env++] = term_env;
	}
	for (size_t i = 0; i < o.n_env; i++)
		env[n_env++] = o.env[i];
	struct exec_spec spec = {
	    .argv = (const char *const *)o.cmd,
	    .argc = (size_t)o.cmd_argc,
	    .envp = env,
	    .envc = n_env,
	    .cwd = o.cwd,
	    .tty = tty,
	    .mounts = share_mount_list,
	    .mountc = o.n_shares,
	};
	if (tty)
		term_size(&spec.rows, &spec.cols);
	for (size_t i = 0; i < o.n_shares; i++) {
		char tag[CONFIG_FS_TAG_MAX + 1];
		share_tag(i, tag, sizeof(tag));
		snprintf(share_mounts[i], sizeof(share_mounts[i]), "%s:%s:%s",
			 o.shares[i].readonly ? "ro" : "rw", tag, o.shares[i].guest);
		share_mount_list[i] = share_mounts[i];
	}
	if (!o.save_snapshot && exec_spec_encode(&spec, &x.spec, &x.spec_len) < 0)
		return usage_error("the command and its environment are too large");

	static const char *ov[EXEC_MAX_OVERRIDES + 8];
	size_t n_ov;
	if (build_overrides(&o, ov, &n_ov, err, sizeof(err)) < 0) {
		free(x.spec);
		return usage_error("%s", err);
	}
	static struct vm_config cfg;
	struct config_error cerr;
	config_defaults(&cfg);
	if (load_config(&cfg, &o, ov, n_ov, &cerr) < 0) {
		free(x.spec);
		return usage_error("%s", cerr.msg);
	}
	cfg.snapshots = o.save_snapshot != NULL;
	r = add_shares(&cfg, &o);
	if (r != 0) {
		free(x.spec);
		return r;
	}
	if (cfg.jailed) {
		free(x.spec);
		return usage_error("[jail] is for minnow run, not minnow exec");
	}
	char tmpdir[PATH_MAX] = "";
	r = adapt_config(&cfg, &o, &x, tmpdir, sizeof(tmpdir));
	if (r != 0) {
		free(x.spec);
		return r;
	}
	/* [vm] boot_timeout bounds the wait for minnow-init to ask for the
	 * command (exec's timer, which also catches an init that signals boot
	 * complete but knows nothing of exec); unset, 60 s. */
	x.ask_limit_ms = cfg.boot_timeout_ms ? cfg.boot_timeout_ms : ASK_LIMIT_MS;
	cfg.boot_timeout_ms = 0;
	timing_mark(T_CONFIG_PARSED);

	struct run_hooks hooks = {before_run, after_run, &x};
	int status = run_vm(&cfg, o.timings, &hooks);
	free(x.spec); /* when before_run never took it */
	if (tmpdir[0]) {
		unlink(x.uds); /* the vsock device removes it; a failed start may not */
		rmdir(tmpdir);
	}
	return status;
}
