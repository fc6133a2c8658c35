/* test_cli.c - the minnow command line run as a program: the exit status and the exact stdout and
 * stderr for each kind of mistake (options, commands, arguments, --set, over-long values, configs),
 * --help and --version, the resolved config `minnow check` prints, and `minnow run` without
 * /dev/kvm. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "test_util.h"

#define DIR	"tests/unit/configs/"
#define MINIMAL DIR "minimal.ini"

/* vmm/core/main.c's usage(), word for word. */
#define USAGE                                                                                      \
	"Usage: minnow run CONFIG.ini [options]   boot the VM the file describes\n"                \
	"       minnow check CONFIG.ini [options] validate it and print the resolved config\n"     \
	"       minnow restore STATE [options]    start a VM from a snapshot, with the\n"          \
	"                                         configuration saved in it\n"                     \
	"       minnow batch CONFIG.ini -n N [-j J] [options]\n"                                   \
	"                                         boot N VMs of it, J at once; JSON lines\n"       \
	"                                         (minnow batch --help)\n"                         \
	"       minnow bench CONFIG.ini [-n N] [options]\n"                                        \
	"                                         boot-time distributions, comparisons\n"          \
	"                                         (minnow bench --help)\n"                         \
	"       minnow exec [CONFIG.ini] [options] -- CMD [ARGS...]\n"                             \
	"                                         run CMD in a fresh Linux VM, as if here\n"       \
	"                                         (minnow exec --help)\n"                          \
	"       minnow --help | --version\n"                                                       \
	"Options:\n"                                                                               \
	"  --set SECTION.KEY=VALUE  override a config key (repeatable)\n"                          \
	"  --index N                the instance number {i} stands for in values\n"                \
	"  --timings[=json]         print boot-phase timings to stderr at exit\n"                  \
	"  --jail DIR               run jailed in DIR ([jail] dir; README.md, \"Jail\")\n"         \
	"  --uid U, --gid G         the jail's user and group ([jail] uid, gid)\n"                 \
	"  --control PATH           serve the control socket at PATH ([vm] control_socket;\n"      \
	"                           README.md, \"Control socket\")\n"                              \
	"  --restore STATE          start from a snapshot instead of booting ([vm] restore)\n"     \
	"  -v, --verbose            log more\n"                                                    \
	"Exit status: the guest's own (control device), 0 on power-off, 2 for a bad\n"             \
	"config or image, 1 for a host failure, 120 reset, 121 triple fault,\n"                    \
	"122 emulation failure, 123 entry failure, 124 boot timeout, 126 guest crash,\n"           \
	"128+N on signal N; 0 after the control socket's stop. See README.md.\n"

/* What `minnow run` says when there is no /dev/kvm (vmm/core/kvm.c). */
#define NO_KVM                                                                                     \
	"minnow: /dev/kvm: No such file or directory (load the kvm module: modprobe kvm_intel or " \
	"kvm_amd, or run where /dev/kvm exists)\n"

/* The child's exit status and stderr when its set-up (run_minnow's `in_child`) failed. */
#define CHILD_SKIP	125
#define CHILD_SKIP_MARK "minnow-test-skip: "

struct result {
	int status; /* exit status, or -1 when minnow did not exit normally */
	char out[16384];
	char err[16384];
};

static const char *minnow_path(void)
{
	const char *m = getenv("MINNOW");
	return m && *m ? m : "./minnow";
}

static void slurp(FILE *f, char *buf, size_t size)
{
	rewind(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs `minnow ARGS...` (NULL-terminated) as a user would type it (argv[0] "minnow"), from the
 * top of the source tree, stdin /dev/null. `in_child`, when set, runs in the child before the
 * exec and returns NULL or why it could not do its part: the test is then skipped with that. */
static void run_minnow(struct result *r, const char *const *args, const char *(*in_child)(void))
{
	const char *bin = minnow_path();
	size_t n = 0;

	if (access(bin, X_OK))
		cr_skip_test("no minnow binary at %s: build it (make minnow) or set MINNOW", bin);
	cr_assert_eq(access(DIR "vmlinuz", R_OK), 0,
		     "run the unit tests from the top of the source tree");
	while (args[n])
		n++;
	const char **argv = calloc(n + 2, sizeof(*argv));
	cr_assert_not_null(argv);
	argv[0] = "minnow";
	memcpy(argv + 1, args, n * sizeof(*argv));

	FILE *out = tmpfile(), *err = tmpfile();
	cr_assert(out && err);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, STDIN_FILENO);
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		const char *why = in_child ? in_child() : NULL;
		if (why) {
			dprintf(STDERR_FILENO, CHILD_SKIP_MARK "%s", why);
			_exit(CHILD_SKIP);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	free(argv);
	int ws;
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	if (r->status == CHILD_SKIP && !strncmp(r->err, CHILD_SKIP_MARK, strlen(CHILD_SKIP_MARK)))
		cr_skip_test("%s", r->err + strlen(CHILD_SKIP_MARK));
}

/* Exit status `status`, nothing on stdout, stderr exactly `err`. `what` names the case. */
static void expect_error(const char *what, const char *const *args, int status, const char *err)
{
	static struct result r;
	run_minnow(&r, args, NULL);
	cr_assert_eq(r.status, status, "%s: exit status %d, stderr: %s", what, r.status, r.err);
	cr_assert_str_empty(r.out, "%s: stdout: %s", what, r.out);
	cr_assert_str_eq(r.err, err, "%s", what);
}

/* ---- Mistakes, each with its exact message --------------------------------------------------- */

static const struct {
	const char *name;
	const char *args[8];
	int status;
	const char *err;
} mistakes[] = {
    /* The command line itself. */
    {"no arguments", {NULL}, 2, USAGE},
    {"no config file", {"check", NULL}, 2, USAGE},
    {"unknown long option",
     {"--frobnicate", "check", MINIMAL, NULL},
     2,
     "minnow: unrecognized option '--frobnicate'\n" USAGE},
    {"unknown short option",
     {"-x", "check", MINIMAL, NULL},
     2,
     "minnow: invalid option -- 'x'\n" USAGE},
    {"--set without its argument",
     {"check", MINIMAL, "--set", NULL},
     2,
     "minnow: option '--set' requires an argument\n" USAGE},
    {"unknown command",
     {"frob", MINIMAL, NULL},
     2,
     "minnow: unknown command 'frob' (run, check, restore, exec, batch or bench)\n"},
    /* minnow exec: one "minnow exec: ..." line, status 2, before any VM. */
    {"exec without '--'",
     {"exec", "true", NULL},
     2,
     "minnow exec: no '--' before the command (minnow exec [CONFIG] [options] -- CMD "
     "[ARGS...])\n"},
    {"exec without a command", {"exec", "--", NULL}, 2, "minnow exec: no command after '--'\n"},
    {"exec unknown option",
     {"exec", "--frob", "--", "true", NULL},
     2,
     "minnow exec: unknown option '--frob' (minnow exec --help)\n"},
    {"exec bad duration",
     {"exec", "--timeout", "5x", "--", "true", NULL},
     2,
     "minnow exec: --timeout: bad duration '5x' (e.g. 30, 30s, 500ms, 2m, 1h; more than 0)\n"},
    {"exec --env without '='",
     {"exec", "--env", "FOO", "--", "true", NULL},
     2,
     "minnow exec: --env 'FOO': expected NAME=VALUE\n"},
    {"exec missing config",
     {"exec", DIR "no-such.ini", "--", "true", NULL},
     2,
     "minnow exec: " DIR "no-such.ini: cannot open: No such file or directory\n"},
    {"exec unwritable --log",
     {"exec", MINIMAL, "--log", "/no/such/dir/log", "--", "true", NULL},
     2,
     "minnow exec: --log /no/such/dir/log: No such file or directory\n"},
    {"too many arguments",
     {"check", MINIMAL, "extra", NULL},
     2,
     "minnow: unexpected argument 'extra'\n"},
    {"bad --timings",
     {"check", MINIMAL, "--timings=xml", NULL},
     2,
     "minnow: --timings takes 'text' or 'json', not 'xml'\n"},
    /* minnow batch: bad input starts no VM. */
    {"batch without -n", {"batch", MINIMAL, NULL}, 2, "minnow batch: how many VMs? (-n N)\n"},
    {"batch -n 0",
     {"batch", MINIMAL, "-n", "0", NULL},
     2,
     "minnow batch: -n takes a number from 1 to 1000000, not '0'\n"},
    {"batch -j above -n",
     {"batch", MINIMAL, "-n", "2", "-j", "3", NULL},
     2,
     "minnow batch: -j 3 is more than the 2 VMs of -n\n"},
    {"batch without a config",
     {"batch", "-n", "2", NULL},
     2,
     "minnow batch: no config file (minnow batch CONFIG.ini -n N)\n"},
    {"batch -n without a value",
     {"batch", MINIMAL, "-n", NULL},
     2,
     "minnow batch: -n needs a value\n"},
    {"batch unknown option",
     {"batch", MINIMAL, "-n", "2", "--frob", NULL},
     2,
     "minnow batch: unknown option '--frob' (minnow batch --help)\n"},
    {"batch unwritable --json",
     {"batch", MINIMAL, "-n", "2", "--json", "/nonexistent/x.json", NULL},
     2,
     "minnow batch: --json /nonexistent/x.json: No such file or directory\n"},
    {"batch missing --logs",
     {"batch", MINIMAL, "-n", "2", "--logs", "/nonexistent", NULL},
     2,
     "minnow batch: --logs /nonexistent: No such file or directory\n"},
    {"batch bad {i}",
     {"batch", MINIMAL, "-n", "2", "--set", "vm.name={ix}", NULL},
     2,
     "minnow: --set vm.name={ix}: [vm] name: '{ix}': the instance number is written {i} or "
     "{i+N} (VM 0)\n"},
    /* minnow bench: bad input runs nothing. */
    {"bench -n 0",
     {"bench", MINIMAL, "-n", "0", NULL},
     2,
     "minnow bench: -n takes a number from 1 to 100000, not '0'\n"},
    {"bench unwritable --trace",
     {"bench", MINIMAL, "--trace", "/nonexistent/t.json", NULL},
     2,
     "minnow bench: /nonexistent/t.json: No such file or directory\n"},
    {"bench bad config",
     {"bench", MINIMAL, "--set", "vm.memory=12Q", NULL},
     2,
     "minnow: --set vm.memory=12Q: [vm] memory: bad size suffix 'Q' (expected K, M, G or T)\n"},
    {"negative --index",
     {"check", MINIMAL, "--index", "-1", NULL},
     2,
     "minnow: --index takes a number from 0 to 2147483647, not '-1'\n"},
    {"--index not a number",
     {"check", MINIMAL, "--index=4x", NULL},
     2,
     "minnow: --index takes a number from 0 to 2147483647, not '4x'\n"},
    /* --set */
    {"--set without '='",
     {"check", MINIMAL, "--set", "vm.memory", NULL},
     2,
     "minnow: --set vm.memory: expected section.key=value\n"},
    {"--set without a section",
     {"check", MINIMAL, "--set", "=1", NULL},
     2,
     "minnow: --set =1: expected section.key=value\n"},
    {"--set of an unknown section",
     {"check", MINIMAL, "--set", "nosuch.key=1", NULL},
     2,
     "minnow: --set nosuch.key=1: [nosuch]: unknown section (known: vm, kernel, console, "
     "drive.NAME, net.NAME, fs.NAME, vsock, rng, vconsole, jail, security)\n"},
    {"--set of an unknown key",
     {"check", MINIMAL, "--set", "vm.nokey=1", NULL},
     2,
     "minnow: --set vm.nokey=1: [vm] nokey: unknown key (known: name, vcpus, memory, prefault, "
     "acpi, pvpanic, boot_timeout, control_socket, metrics_file, metrics_interval, restore)\n"},
    {"--set of a bad value",
     {"check", MINIMAL, "--set", "vm.vcpus=2", "--set", "vm.memory=12Q", NULL},
     2,
     "minnow: --set vm.memory=12Q: [vm] memory: bad size suffix 'Q' (expected K, M, G or T)\n"},
    /* Configs: one "minnow: FILE:LINE: problem" line. */
    {"missing config file",
     {"check", DIR "no-such.ini", NULL},
     2,
     "minnow: " DIR "no-such.ini: cannot open: No such file or directory\n"},
    {"bad size suffix",
     {"check", DIR "bad-memory.ini", NULL},
     2,
     "minnow: " DIR "bad-memory.ini:3: [vm] memory: bad size suffix 'Q' (expected K, M, G or "
     "T)\n"},
    {"unknown key",
     {"check", DIR "bad-unknown-key.ini", NULL},
     2,
     "minnow: " DIR "bad-unknown-key.ini:5: [kernel] kernal: unknown key (known: path, initrd, "
     "cmdline, format, decompress, cmdline_devices)\n"},
    {"kernel not found",
     {"check", DIR "bad-kernel-missing.ini", NULL},
     2,
     "minnow: " DIR "bad-kernel-missing.ini:5: [kernel] path: No such file or directory: " DIR
     "no-such-vmlinuz\n"},
    {"syntax error",
     {"check", DIR "bad-syntax.ini", NULL},
     2,
     "minnow: " DIR "bad-syntax.ini:2: syntax error: expected [section] or key = value\n"},
    {"no [kernel] section",
     {"check", DIR "bad-no-kernel.ini", NULL},
     2,
     "minnow: " DIR "bad-no-kernel.ini: [kernel] path: missing (required)\n"},
    {"run of a bad config",
     {"run", DIR "bad-memory.ini", NULL},
     2,
     "minnow: " DIR "bad-memory.ini:3: [vm] memory: bad size suffix 'Q' (expected K, M, G or "
     "T)\n"},
};

TABLE_TEST(cli, mistake, mistakes, c)
{
	expect_error(c->name, c->args, c->status, c->err);
}

/* ---- Over-long values: a clear message, never a cut one ------------------------------------ */

/* PREFIX, then `n` times `fill`, then SUFFIX, in a new string. */
static char *long_text(const char *prefix, char fill, size_t n, const char *suffix)
{
	size_t a = strlen(prefix), b = strlen(suffix);
	char *s = malloc(a + n + b + 1);
	cr_assert_not_null(s);
	memcpy(s, prefix, a);
	memset(s + a, fill, n);
	memcpy(s + a + n, suffix, b + 1);
	return s;
}

/* --set overrides of minimal.ini too long for what they set: "--set OVERRIDE: PROBLEM", the
 * override quoted as its first 64 bytes and "...". */
static const struct {
	const char *name;
	const char *prefix;
	size_t n;
	const char *suffix;
	const char *problem;
} long_sets[] = {
    {"command line longer than the config takes", "kernel.cmdline=", 5000, "",
     "[kernel] cmdline: value too long (5000 bytes, at most 4095)"},
    {"value longer than an ini line", "kernel.cmdline=", 9000, "",
     "[kernel] cmdline: value too long (at most 8192 bytes)"},
    {"path longer than PATH_MAX", "kernel.path=/", 5000, "",
     "[kernel] path: value too long (5001 bytes, at most 4095)"},
    {"key longer than any key", "vm.", 100, "=1", "[vm]: key too long"},
    {"name longer than a name", "vm.name=", 100, "",
     "[vm] name: bad name "
     "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (1-63 characters of "
     "A-Z a-z 0-9 . _ -)"},
    {"section name longer than any section", "drive.", 100, ".path=x",
     "[drive.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...]: section name too "
     "long (at most 79 bytes)"},
};

TABLE_TEST(cli, long_set, long_sets, c)
{
	char *set = long_text(c->prefix, 'x', c->n, c->suffix);
	char want[512];
	snprintf(want, sizeof(want), "minnow: --set %.64s...: %s\n", set, c->problem);
	const char *args[] = {"check", MINIMAL, "--set", set, NULL};
	expect_error(c->name, args, 2, want);
	free(set);
}

Test(cli, too_many_sets)
{
	enum { N = 129 };
	const char *args[2 * N + 3] = {"check", MINIMAL};
	for (size_t i = 0; i < N; i++) {
		args[2 + 2 * i] = "--set";
		args[3 + 2 * i] = "vm.vcpus=1";
	}
	expect_error("129 --set", args, 2, "minnow: too many --set options (max 128)\n");
}

Test(cli, config_path_longer_than_a_path)
{
	char *path = long_text("/", 'x', 5000, "");
	const char *args[] = {"check", path, NULL};
	char want[256];
	snprintf(want, sizeof(want),
		 "minnow: config file path too long (5001 bytes, at most 4095): '%.64s...'\n",
		 path);
	expect_error("a 5001-byte config path", args, 2, want);
	free(path);
}

/* A temporary ini file holding [kernel] with minimal.ini's kernel and then `line`. */
static void write_ini(char *path, size_t size, const char *line)
{
	int fd = make_tmp_file(path, size, NULL, "cli");
	FILE *f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fprintf(f, "[kernel]\npath = " DIR "vmlinuz\n%s\n", line);
	cr_assert_eq(fclose(f), 0);
}

Test(cli, ini_values_too_long)
{
	char path[PATH_MAX], want[PATH_MAX + 128];
	char *line = long_text("cmdline = ", 'x', 4096, "");
	write_ini(path, sizeof(path), line);
	const char *args[] = {"check", path, NULL};
	snprintf(want, sizeof(want),
		 "minnow: %s:3: [kernel] cmdline: value too long (4096 bytes, at most 4095)\n",
		 path);
	expect_error("a 4096-byte command line", args, 2, want);
	unlink(path);
	free(line);

	line = long_text("cmdline = ", 'x', 9000, "");
	write_ini(path, sizeof(path), line);
	snprintf(want, sizeof(want), "minnow: %s:3: line too long (at most 8192 bytes)\n", path);
	expect_error("a 9010-byte line", args, 2, want);
	unlink(path);
	free(line);
}

/* A Unix socket path one byte longer than sockaddr_un takes, in each key that names one:
 * `minnow run` refuses the config with "FILE:LINE: [SECTION] KEY: ..." and status 2 before it
 * opens /dev/kvm or starts anything. */
static const struct {
	const char *name;
	const char *before; /* the lines before the key, after [kernel] */
	const char *key;
	unsigned line;
	const char *section;
} long_sockets[] = {
    {"vsock uds_path", "[vsock]", "uds_path", 4, "vsock"},
    {"vconsole socket", "[vconsole]\noutput = socket", "path", 5, "vconsole"},
    {"virtio-fs back end socket", "[fs.share]", "socket", 4, "fs.share"},
};

TABLE_TEST(cli, unix_socket_path_too_long, long_sockets, c)
{
	char path[PATH_MAX], want[PATH_MAX + 256], *line, head[128];
	snprintf(head, sizeof(head), "%s\n%s = /", c->before, c->key);
	line = long_text(head, 's', 107, "");
	write_ini(path, sizeof(path), line);
	const char *args[] = {"run", path, NULL};
	snprintf(want, sizeof(want),
		 "minnow: %s:%u: [%s] %s: too long for a unix socket (108 bytes, at most 107)\n",
		 path, c->line, c->section, c->key);
	expect_error(c->name, args, 2, want);
	unlink(path);
	free(line);
}

/* ---- --help and --version -------------------------------------------------------------------- */

static const struct {
	const char *name;
	const char *arg;
	const char *out;
} informational[] = {
    {"--help", "--help", USAGE},
    {"-h", "-h", USAGE},
    {"--version", "--version", "minnow " MINNOW_VERSION "\n"},
};

/* Exit status 0, the text on stdout, nothing on stderr, even with a command line after. */
TABLE_TEST(cli, informational, informational, c)
{
	static struct result r;
	const char *args[] = {c->arg, "check", MINIMAL, NULL};
	run_minnow(&r, args, NULL);
	cr_assert_eq(r.status, 0, "%s: exit status %d, stderr: %s", c->name, r.status, r.err);
	cr_assert_str_eq(r.out, c->out, "%s", c->name);
	cr_assert_str_empty(r.err, "%s: stderr: %s", c->name, r.err);
}

/* ---- Good configs: `minnow check` prints the resolved config --------------------------------- */

/* stdout is exactly config_print() of the same load, and reads back as the same config. */
static void expect_accepted(const char *file, const char *const *args, const char *const *sets,
			    size_t n_sets)
{
	static struct result r;
	static struct vm_config cfg, back;
	struct config_error err;
	char *text = NULL;
	size_t len = 0;

	run_minnow(&r, args, NULL);
	cr_assert_eq(r.status, 0, "exit status %d, stderr: %s", r.status, r.err);
	cr_assert_str_empty(r.err);
	cr_assert_eq(config_load(&cfg, file, sets, n_sets, &err), 0, "%s", err.msg);
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	config_print(&cfg, f);
	fclose(f);
	cr_assert_str_eq(r.out, text);
	free(text);
	cr_assert_eq(config_parse_string(&back, "stdout", r.out, &err), 0, "%s", err.msg);
	cr_assert_eq(back.memory, cfg.memory);
	cr_assert_eq(back.n_drives, cfg.n_drives);
}

Test(cli, good_full)
{
	const char *args[] = {"check", DIR "full.ini", NULL};
	expect_accepted(DIR "full.ini", args, NULL, 0);
}

Test(cli, good_minimal_with_overrides)
{
	const char *sets[] = {"vm.memory=512M", "rng.enabled=on"};
	const char *args[] = {"check", MINIMAL, "--set", sets[0], "--set", sets[1], NULL};
	expect_accepted(MINIMAL, args, sets, 2);
}

/* ---- No /dev/kvm ----------------------------------------------------------------------------- */

/* In the child: a mount namespace of its own with an empty tmpfs over /dev. */
static const char *hide_dev(void)
{
	static char why[160];
	if (geteuid() != 0)
		return "hiding /dev/kvm needs root (a private mount namespace)";
	if (unshare(CLONE_NEWNS) != 0)
		snprintf(why, sizeof(why), "unshare(CLONE_NEWNS): %s", strerror(errno));
	else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		snprintf(why, sizeof(why), "making / private: %s", strerror(errno));
	else if (mount("none", "/dev", "tmpfs", 0, NULL) != 0)
		snprintf(why, sizeof(why), "tmpfs over /dev: %s", strerror(errno));
	else
		return NULL;
	return why;
}

/* `minnow run` of a good config exits 1 with exactly one line, which names /dev/kvm and says
 * what to do. */
static void expect_no_kvm(const char *(*in_child)(void))
{
	static struct result r;
	const char *args[] = {"run", MINIMAL, NULL};
	run_minnow(&r, args, in_child);
	cr_assert_eq(r.status, 1, "exit status %d, stderr: %s", r.status, r.err);
	cr_assert_str_empty(r.out);
	char *nl = strchr(r.err, '\n');
	cr_assert(nl && !nl[1], "stderr is not one line: %s", r.err);
	cr_assert_not_null(strstr(r.err, "/dev/kvm"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "modprobe kvm_intel or kvm_amd"), "%s", r.err);
	cr_assert_str_eq(r.err, NO_KVM);
}

Test(cli, run_without_dev_kvm)
{
	if (access("/dev/kvm", F_OK) == 0) {
		if (geteuid() != 0)
			cr_skip_test("/dev/kvm exists here and hiding it needs root");
		expect_no_kvm(hide_dev);
	} else {
		cr_assert_eq(errno, ENOENT, "/dev/kvm: %s", strerror(errno));
		expect_no_kvm(NULL);
	}
}

/* The same with /dev/kvm hidden, whether the host has one or not: the way the test above sees a
 * host that has one. */
Test(cli, run_with_dev_hidden)
{
	expect_no_kvm(hide_dev);
}
