/* exec.c - `minnow exec`: the command line (exec_args.h) becomes a VM
 * configuration (a CONFIG, or the defaults of exec_guest.h), the command a
 * spec (exec_proto.h) that minnow-init fetches over virtio-vsock, and
 * CMD's streams are served by exec_io.h while the VM runs. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "config.h"
#include "exec_args.h"
#include "exec_guest.h"
#include "exec_io.h"
#include "exec_proto.h"
#include "log.h"
#include "run.h"
#include "timing.h"
#include "vm.h"

#define DEFAULT_MEMORY	"256M"
#define DEFAULT_CMDLINE "console=ttyS0 quiet panic=-1"
#define DRAIN_MS	1000 /* how long output may still be written after an abnormal end */

struct exec_run {
	const struct exec_options *o;
	struct vm *vm;
	struct exec_io io;
	uint8_t *spec;
	size_t spec_len;
	char uds[PATH_MAX];
	int timer_fd;
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

static void on_timeout(void *opaque, uint32_t events)
{
	struct exec_run *x = opaque;
	uint64_t n;
	(void)events;
	(void)!read(x->timer_fd, &n, sizeof(n));
	uint64_t ms = x->o->timeout_ms;
	if (ms % 1000 == 0)
		log_error(
		    "timeout: the command did not finish within %llus; VM stopped (status %d)",
		    (unsigned long long)(ms / 1000), EXIT_TIMEOUT);
	else
		log_error(
		    "timeout: the command did not finish within %llums; VM stopped (status %d)",
		    (unsigned long long)ms, EXIT_TIMEOUT);
	vm_end(x->vm, END_TIMEOUT, EXIT_TIMEOUT);
}

static int start_timer(struct exec_run *x)
{
	uint64_t ms = x->o->timeout_ms;
	x->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = {.it_value = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L}};
	if (x->timer_fd < 0 || timerfd_settime(x->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return event_loop_add(&x->vm->loop, x->timer_fd, EPOLLIN, on_timeout, x);
}

static int before_run(struct vm *vm, void *opaque)
{
	struct exec_run *x = opaque;
	char err[PATH_MAX + 64];
	x->vm = vm;
	int r = exec_io_init(&x->io, &vm->loop, x->uds, x->spec, x->spec_len, vm_console_gone, vm,
			     err, sizeof(err));
	x->spec = NULL; /* exec_io's now */
	if (r == 0 && x->o->timeout_ms && (r = start_timer(x)) < 0)
		snprintf(err, sizeof(err), "timer: %s", strerror(-r));
	if (r < 0) {
		log_error("exec: %s", err);
		exec_io_fini(&x->io, 0);
		return EXIT_HOST_FAILURE;
	}
	return 0;
}

static void after_run(struct vm *vm, void *opaque, struct run_report *rep)
{
	struct exec_run *x = opaque;
	bool clean = vm->end_reason == END_GUEST_EXIT || vm->end_reason == END_POWEROFF;
	bool started = exec_io_started(&x->io);
	exec_io_fini(&x->io, clean ? 10 * DRAIN_MS : DRAIN_MS);
	if (x->timer_fd >= 0) {
		(void)event_loop_remove(&vm->loop, x->timer_fd);
		close(x->timer_fd);
		x->timer_fd = -1;
	}
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
			snprintf(err, errlen, "--share %.200s:%.200s: %.1000s", sh->host, sh->guest, why);
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
	static char kernel_ov[PATH_MAX + 16], initrd_ov[PATH_MAX + 16], mem_ov[64], cpu_ov[32];
	char kernel[PATH_MAX], initrd[PATH_MAX], kver[256];
	*n = 0;
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
	size_t len = strlen(cfg->cmdline);
	int n = snprintf(cfg->cmdline + len, sizeof(cfg->cmdline) - len, "%s%s=%u", len ? " " : "",
			 EXEC_CMDLINE_PARAM, EXEC_VSOCK_PORT);
	if (n < 0 || (size_t)n >= sizeof(cfg->cmdline) - len)
		return usage_error("[kernel] cmdline: too long to add %s", EXEC_CMDLINE_PARAM);
	if (cfg->vsock) {
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
	cfg->vsock = true;
	cfg->vsock_cid = 3;
	snprintf(cfg->vsock_uds.path, sizeof(cfg->vsock_uds.path), "%s", x->uds);
	cfg->vsock_uds.at = (struct config_origin){"minnow exec", 0};
	return 0;
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
	if (o.log_path) {
		int fd = open(o.log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return usage_error("--log %s: %s", o.log_path, strerror(errno));
		close(fd);
	}

	static struct exec_run x;
	x.o = &o;
	x.timer_fd = -1;
	struct exec_spec spec = {
	    .argv = (const char *const *)o.cmd,
	    .argc = (size_t)o.cmd_argc,
	    .envp = o.env,
	    .envc = o.n_env,
	    .cwd = o.cwd,
	    .mounts = share_mount_list,
	    .mountc = o.n_shares,
	};
	for (size_t i = 0; i < o.n_shares; i++) {
		char tag[CONFIG_FS_TAG_MAX + 1];
		share_tag(i, tag, sizeof(tag));
		snprintf(share_mounts[i], sizeof(share_mounts[i]), "%s:%s:%s",
			 o.shares[i].readonly ? "ro" : "rw", tag, o.shares[i].guest);
		share_mount_list[i] = share_mounts[i];
	}
	if (exec_spec_encode(&spec, &x.spec, &x.spec_len) < 0)
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
	if (config_load(&cfg, o.config ? o.config : "/dev/null", ov, n_ov, &cerr) < 0) {
		free(x.spec);
		return usage_error("%s", cerr.msg);
	}
	r = add_shares(&cfg, &o);
	if (r != 0) {
		free(x.spec);
		return r;
	}
	char tmpdir[PATH_MAX] = "";
	r = adapt_config(&cfg, &o, &x, tmpdir, sizeof(tmpdir));
	if (r != 0) {
		free(x.spec);
		return r;
	}
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
