/* exec_args.c - parsing `minnow exec`'s command line (exec_args.h). */
#include "exec_args.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

#include "config.h"

#define MAX_DURATION_MS (30ULL * 24 * 3600 * 1000)

void exec_usage(FILE *out)
{
	fprintf(out,
		"Usage: minnow exec [CONFIG.ini] [options] -- CMD [ARGS...]\n"
		"       minnow exec [CONFIG.ini] [options] --save-snapshot STATE\n"
		"       minnow exec --snapshot STATE [options] -- CMD [ARGS...]\n"
		"Boots a Linux guest, runs CMD in it and exits with CMD's status; CMD's\n"
		"stdin, stdout and stderr are minnow's. Without CONFIG: the newest\n"
		"/boot/vmlinuz-*-cloud-amd64 and an initrd built once and cached.\n"
		"Options:\n"
		"  --env NAME=VALUE     set a variable in CMD's environment (repeatable)\n"
		"  --cwd DIR            CMD's working directory in the guest (default /)\n"
		"  --share HOST_DIR:GUEST_DIR[:ro]  HOST_DIR at GUEST_DIR in the guest\n"
		"                       (virtio-fs, virtiofsd; :ro read-only; repeatable)\n"
		"  --timeout DURATION   end the VM after DURATION (ms, s, m, h; default s):\n"
		"                       status 124\n"
		"  --log FILE           kernel and init messages (default: dropped)\n"
		"  --memory SIZE        guest RAM (default 256M), --vcpus N (default 1)\n"
		"  --kernel PATH        the kernel, --initrd PATH its initrd (with minnow-init)\n"
		"  --rootfs IMAGE[:ro]  run CMD in this file system image (ext4, a virtio-blk\n"
		"                       drive; writable unless :ro)\n"
		"  --net TAP[,ip=ADDR/PREFIX][,gw=GW]  a virtio-net device on this existing\n"
		"                       TAP; eth0 is up, with the address and default route\n"
		"  --no-tty             no pty for CMD even when stdin is a terminal\n"
		"  --save-snapshot STATE  boot until minnow-init waits for a command, save\n"
		"                       the VM to STATE and STATE.mem, exit 0\n"
		"  --snapshot STATE     run CMD in a VM restored from STATE instead of a boot\n"
		"  --set SECTION.KEY=VALUE  override a config key (repeatable)\n"
		"  --timings[=json]     print boot-phase timings to stderr at exit\n"
		"  -v, --verbose        log more\n"
		"When stdin is a terminal, CMD runs on a pty (job control, ^C, window size);\n"
		"Ctrl-A x quits (status 130), Ctrl-A Ctrl-A sends Ctrl-A.\n"
		"Exit status: CMD's (128+N when signal N killed it); minnow's own as for\n"
		"`minnow run` (1 host failure, 2 bad usage, 124 timeout or no minnow-init\n"
		"within [vm] boot_timeout (default 60s), 126 guest crash...);\n"
		"--timings=json's exit_reason tells them apart. See README.md.\n");
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int exec_parse_duration(const char *text, uint64_t *ms)
{
	uint64_t x = 0;
	const char *s = text;
	for (; *s >= '0' && *s <= '9'; s++) {
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > MAX_DURATION_MS)
			return -1;
	}
	if (s == text)
		return -1;
	uint64_t scale;
	if (!*s || !strcmp(s, "s"))
		scale = 1000;
	else if (!strcmp(s, "ms"))
		scale = 1;
	else if (!strcmp(s, "m"))
		scale = 60 * 1000;
	else if (!strcmp(s, "h"))
		scale = 3600 * 1000;
	else
		return -1;
	if (x == 0 || x > MAX_DURATION_MS / scale)
		return -1;
	*ms = x * scale;
	return 0;
}

int exec_parse_share(const char *text, struct exec_share *sh, char *err, size_t errlen)
{
	const char *c1 = strchr(text, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	memset(sh, 0, sizeof(*sh));
	if (!c1)
		return fail(err, errlen, "--share '%.64s': expected HOST_DIR:GUEST_DIR[:ro]", text);
	if (c2 && (strcmp(c2 + 1, "ro") != 0))
		return fail(err, errlen,
			    "--share '%.64s': one ':' too many (HOST_DIR:GUEST_DIR[:ro]; neither "
			    "directory may hold ':')",
			    text);
	size_t hlen = (size_t)(c1 - text);
	size_t glen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (hlen == 0 || glen == 0)
		return fail(err, errlen, "--share '%.64s': empty %s", text,
			    hlen == 0 ? "HOST_DIR" : "GUEST_DIR");
	if (c1[1] != '/')
		return fail(err, errlen,
			    "--share '%.64s': GUEST_DIR must be absolute (start with /)", text);
	if (hlen >= sizeof(sh->host) || glen >= sizeof(sh->guest))
		return fail(err, errlen, "--share '%.64s...': path too long", text);
	memcpy(sh->host, text, hlen);
	memcpy(sh->guest, c1 + 1, glen);
	while (glen > 1 && sh->guest[glen - 1] == '/')
		sh->guest[--glen] = '\0';
	if (!strcmp(sh->guest, "/"))
		return fail(err, errlen, "--share '%.64s': GUEST_DIR cannot be / itself", text);
	sh->readonly = c2 != NULL;
	return 0;
}

enum opt_id {
	O_ENV,
	O_SHARE,
	O_CWD,
	O_TIMEOUT,
	O_LOG,
	O_MEMORY,
	O_VCPUS,
	O_KERNEL,
	O_INITRD,
	O_SET,
	O_TIMINGS,
	O_VERBOSE,
	O_HELP,
	O_NO_TTY,
	O_ROOTFS,
	O_NET,
	O_SNAPSHOT,
	O_SAVE_SNAPSHOT,
};

struct opt_def {
	const char *name;
	enum opt_id id;
	int arg; /* 0 none, 1 required, 2 optional (only after '=') */
};

static const struct opt_def opts[] = {
    {"--env", O_ENV, 1},	   {"--cwd", O_CWD, 1},
    {"--timeout", O_TIMEOUT, 1},   {"--log", O_LOG, 1},
    {"--memory", O_MEMORY, 1},	   {"--vcpus", O_VCPUS, 1},
    {"--kernel", O_KERNEL, 1},	   {"--initrd", O_INITRD, 1},
    {"--set", O_SET, 1},	   {"--timings", O_TIMINGS, 2},
    {"--verbose", O_VERBOSE, 0},   {"-v", O_VERBOSE, 0},
    {"--help", O_HELP, 0},	   {"-h", O_HELP, 0},
    {"--no-tty", O_NO_TTY, 0},	   {"--rootfs", O_ROOTFS, 1},
    {"--net", O_NET, 1},	   {"--share", O_SHARE, 1},
    {"--snapshot", O_SNAPSHOT, 1}, {"--save-snapshot", O_SAVE_SNAPSHOT, 1},
};

/* One dotted-quad IPv4 address of `len` bytes at s; 0 or -1. */
static int ipv4_ok(const char *s, size_t len)
{
	char buf[16];
	struct in_addr a;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1 ? 0 : -1;
}

int exec_parse_net(const char *v, struct exec_options *o, char *err, size_t errlen)
{
	size_t n = strcspn(v, ",");
	if (n == 0 || n >= sizeof(o->net_tap) || strcspn(v, "/ \t\n:") < n)
		return fail(err, errlen,
			    "--net '%.64s': expected TAP[,ip=ADDR/PREFIX][,gw=GW] (TAP: an "
			    "interface name, at most 15 characters)",
			    v);
	memcpy(o->net_tap, v, n);
	o->net_tap[n] = '\0';
	o->net_ip[0] = o->net_gw[0] = '\0';
	for (const char *p = v + n; *p == ',';) {
		p++;
		size_t len = strcspn(p, ",");
		if (!strncmp(p, "ip=", 3)) {
			const char *slash = memchr(p + 3, '/', len - 3);
			const char *d = slash ? slash + 1 : NULL;
			unsigned prefix = 0;
			size_t dl = slash ? len - (size_t)(d - p) : 0;
			for (size_t i = 0; i < dl && d[i] >= '0' && d[i] <= '9'; i++)
				prefix = prefix * 10 + (unsigned)(d[i] - '0');
			if (!slash || dl == 0 || dl > 2 || strspn(d, "0123456789") < dl ||
			    prefix > 32 || ipv4_ok(p + 3, (size_t)(slash - p) - 3) < 0)
				return fail(
				    err, errlen,
				    "--net: bad address '%.*s' (expected ip=A.B.C.D/PREFIX, "
				    "e.g. ip=172.30.0.2/24)",
				    (int)(len > 64 ? 64 : len), p);
			snprintf(o->net_ip, sizeof(o->net_ip), "%.*s", (int)len - 3, p + 3);
		} else if (!strncmp(p, "gw=", 3)) {
			if (ipv4_ok(p + 3, len - 3) < 0)
				return fail(err, errlen,
					    "--net: bad gateway '%.*s' (expected gw=A.B.C.D)",
					    (int)(len > 64 ? 64 : len), p);
			snprintf(o->net_gw, sizeof(o->net_gw), "%.*s", (int)len - 3, p + 3);
		} else {
			return fail(err, errlen,
				    "--net: unknown setting '%.*s' (ip=ADDR/PREFIX or gw=GW)",
				    (int)(len > 64 ? 64 : len), p);
		}
		p += len;
	}
	if (o->net_gw[0] && !o->net_ip[0])
		return fail(err, errlen, "--net: gw= needs ip= too");
	return 0;
}

/* Applies one option with its value (NULL when it has none). */
static int apply(struct exec_options *o, const struct opt_def *d, const char *v, char *err,
		 size_t errlen)
{
	uint64_t size;
	switch (d->id) {
	case O_ENV: {
		const char *eq = strchr(v, '=');
		if (!eq || eq == v)
			return fail(err, errlen, "--env '%.64s': expected NAME=VALUE", v);
		if (o->n_env == EXEC_MAX_ENV)
			return fail(err, errlen, "too many --env options (at most %d)",
				    EXEC_MAX_ENV);
		o->env[o->n_env++] = v;
		return 0;
	}
	case O_SHARE: {
		if (o->n_shares == EXEC_MAX_SHARES)
			return fail(err, errlen, "too many --share options (at most %d)",
				    EXEC_MAX_SHARES);
		struct exec_share *sh = &o->shares[o->n_shares];
		if (exec_parse_share(v, sh, err, errlen) < 0)
			return -1;
		for (size_t k = 0; k < o->n_shares; k++)
			if (!strcmp(o->shares[k].guest, sh->guest))
				return fail(err, errlen, "--share '%.64s': %.64s is already shared",
					    v, sh->guest);
		o->n_shares++;
		return 0;
	}
	case O_CWD:
		if (!*v)
			return fail(err, errlen, "--cwd: empty directory");
		o->cwd = v;
		return 0;
	case O_TIMEOUT:
		if (exec_parse_duration(v, &o->timeout_ms) < 0)
			return fail(err, errlen,
				    "--timeout: bad duration '%.64s' (e.g. 30, 30s, 500ms, 2m, 1h; "
				    "more than 0)",
				    v);
		return 0;
	case O_LOG:
		if (!*v)
			return fail(err, errlen, "--log: empty file name");
		o->log_path = v;
		return 0;
	case O_MEMORY:
		if (config_parse_size(v, &size) < 0 || size == 0)
			return fail(err, errlen, "--memory: bad size '%.64s' (e.g. 256M, 1G)", v);
		o->memory = v;
		return 0;
	case O_VCPUS: {
		unsigned n = 0;
		const char *s = v;
		for (; *s >= '0' && *s <= '9' && n <= CONFIG_MAX_VCPUS; s++)
			n = n * 10 + (unsigned)(*s - '0');
		if (s == v || *s || n == 0 || n > CONFIG_MAX_VCPUS)
			return fail(err, errlen, "--vcpus: bad count '%.64s' (1 to %d)", v,
				    CONFIG_MAX_VCPUS);
		o->vcpus = n;
		return 0;
	}
	case O_KERNEL:
	case O_INITRD:
		if (!*v)
			return fail(err, errlen, "%s: empty path", d->name);
		*(d->id == O_KERNEL ? &o->kernel : &o->initrd) = v;
		return 0;
	case O_SET:
		if (o->n_overrides == EXEC_MAX_OVERRIDES)
			return fail(err, errlen, "too many --set options (at most %d)",
				    EXEC_MAX_OVERRIDES);
		o->overrides[o->n_overrides++] = v;
		return 0;
	case O_TIMINGS:
		if (!v || !strcmp(v, "text"))
			o->timings = 1;
		else if (!strcmp(v, "json"))
			o->timings = 2;
		else
			return fail(err, errlen, "--timings takes 'text' or 'json', not '%.64s'",
				    v);
		return 0;
	case O_VERBOSE:
		o->verbose = 1;
		return 0;
	case O_HELP:
		return 1;
	case O_NO_TTY:
		o->no_tty = true;
		return 0;
	case O_ROOTFS: {
		size_t len = strlen(v);
		o->rootfs_ro = len >= 3 && !strcmp(v + len - 3, ":ro");
		if (o->rootfs_ro || (len >= 3 && !strcmp(v + len - 3, ":rw")))
			len -= 3;
		if (len == 0 || len >= sizeof(o->rootfs))
			return fail(err, errlen,
				    "--rootfs: expected IMAGE[:ro] (a file system image)");
		memcpy(o->rootfs, v, len);
		o->rootfs[len] = '\0';
		return 0;
	}
	case O_NET:
		return exec_parse_net(v, o, err, errlen);
	case O_SNAPSHOT:
	case O_SAVE_SNAPSHOT:
		if (!*v)
			return fail(err, errlen, "%s: empty path", d->name);
		*(d->id == O_SNAPSHOT ? &o->snapshot : &o->save_snapshot) = v;
		return 0;
	}
	return -1;
}

/* --snapshot runs in the snapshot's machine: what would change it is refused. */
static int check_snapshot_options(const struct exec_options *o, char *err, size_t errlen)
{
	const char *what = o->config	      ? "a CONFIG"
			   : o->memory	      ? "--memory"
			   : o->vcpus	      ? "--vcpus"
			   : o->kernel	      ? "--kernel"
			   : o->initrd	      ? "--initrd"
			   : o->rootfs[0]     ? "--rootfs"
			   : o->net_tap[0]    ? "--net"
			   : o->n_shares      ? "--share"
			   : o->save_snapshot ? "--save-snapshot"
					      : NULL;
	if (what)
		return fail(err, errlen,
			    "--snapshot: the VM is the snapshot's, %s cannot change it (--set "
			    "can change a device's host side)",
			    what);
	return 0;
}

int exec_parse_args(int argc, char **argv, struct exec_options *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	err[0] = '\0';
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1]) {
			if (o->config)
				return fail(err, errlen,
					    "unexpected argument '%.64s' (one CONFIG at most; the "
					    "command goes after '--')",
					    a);
			o->config = a;
			continue;
		}
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		const struct opt_def *d = NULL;
		for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strlen(opts[k].name) == nlen && !strncmp(opts[k].name, a, nlen))
				d = &opts[k];
		if (!d)
			return fail(err, errlen, "unknown option '%.*s' (minnow exec --help)",
				    (int)(nlen > 64 ? 64 : nlen), a);
		const char *v = eq ? eq + 1 : NULL;
		if (d->arg == 0 && v)
			return fail(err, errlen, "option '%s' takes no value", d->name);
		if (d->arg == 1 && !v) {
			if (i + 1 >= argc || !strcmp(argv[i + 1], "--"))
				return fail(err, errlen, "option '%s' needs a value", d->name);
			v = argv[++i];
		}
		int r = apply(o, d, v, err, errlen);
		if (r != 0)
			return r;
	}
	if (o->snapshot && check_snapshot_options(o, err, errlen) < 0)
		return -1;
	if (o->save_snapshot) {
		if (i < argc)
			return fail(err, errlen,
				    "--save-snapshot takes no command: it saves the VM before one "
				    "runs (then: minnow exec --snapshot STATE -- CMD)");
		if (o->n_shares)
			return fail(err, errlen,
				    "--save-snapshot: a VM with --share cannot be snapshotted "
				    "(virtiofsd holds the share's state)");
		return 0;
	}
	if (i >= argc)
		return fail(err, errlen,
			    "no '--' before the command (minnow exec [CONFIG] [options] -- CMD "
			    "[ARGS...])");
	if (i + 1 >= argc || !argv[i + 1][0])
		return fail(err, errlen, "no command after '--'");
	o->cmd = argv + i + 1;
	o->cmd_argc = argc - i - 1;
	return 0;
}
