/* test_exec_args.c - `minnow exec`'s command line: where CONFIG, options and the command go, both
 * option spellings, durations, and each mistake's exact message. */
#include <string.h>

#include "exec_args.h"
#include "test_util.h"

/* Parses a NULL-terminated argument list (without "exec", added here). */
static int parse(struct exec_options *o, char *err, size_t errlen, const char *const *args)
{
	static char *argv[64];
	int argc = 0;
	argv[argc++] = "exec";
	while (args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	argv[argc] = NULL;
	return exec_parse_args(argc, argv, o, err, errlen);
}

Test(exec_args, everything)
{
	static struct exec_options o;
	char err[256];
	const char *args[] = {
	    "--env",	"A=1",	     "my.ini",	  "--env=B=x y",    "--cwd",
	    "/tmp",	"--timeout", "90s",	  "--log",	    "l.txt",
	    "--memory", "1G",	     "--vcpus=2", "--kernel",	    "k",
	    "--initrd", "i",	     "--set",	  "vm.prefault=on", "--timings=json",
	    "-v",	"--",	     "echo",	  "--env",	    "--",
	    NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), args), 0, "%s", err);
	cr_expect_str_eq(o.config, "my.ini");
	cr_expect_eq(o.n_env, 2);
	cr_expect_str_eq(o.env[0], "A=1");
	cr_expect_str_eq(o.env[1], "B=x y");
	cr_expect_str_eq(o.cwd, "/tmp");
	cr_expect_eq(o.timeout_ms, 90000);
	cr_expect_str_eq(o.log_path, "l.txt");
	cr_expect_str_eq(o.memory, "1G");
	cr_expect_eq(o.vcpus, 2);
	cr_expect_str_eq(o.kernel, "k");
	cr_expect_str_eq(o.initrd, "i");
	cr_expect_eq(o.n_overrides, 1);
	cr_expect_str_eq(o.overrides[0], "vm.prefault=on");
	cr_expect_eq(o.timings, 2);
	cr_expect_eq(o.verbose, 1);
	/* Everything after the first "--" is the command's, options and "--" too. */
	cr_assert_eq(o.cmd_argc, 3);
	cr_expect_str_eq(o.cmd[0], "echo");
	cr_expect_str_eq(o.cmd[1], "--env");
	cr_expect_str_eq(o.cmd[2], "--");
	cr_expect_null(o.cmd[3]);
}

Test(exec_args, minimal)
{
	static struct exec_options o;
	char err[256];
	const char *args[] = {"--", "true", NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), args), 0, "%s", err);
	cr_expect_null(o.config);
	cr_expect_null(o.log_path);
	cr_expect_null(o.cwd);
	cr_expect_eq(o.timeout_ms, 0);
	cr_expect_eq(o.n_env, 0);
	cr_expect_eq(o.cmd_argc, 1);
}

/* A warm start's two halves: saving needs no command, restoring one. */
Test(exec_args, snapshots)
{
	static struct exec_options o;
	char err[256];
	const char *save[] = {"x.ini", "--memory", "512M", "--save-snapshot", "/s/ready", NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), save), 0, "%s", err);
	cr_expect_str_eq(o.save_snapshot, "/s/ready");
	cr_expect_null(o.cmd);
	cr_expect_str_eq(o.memory, "512M");
	const char *run[] = {"--snapshot=/s/ready", "--env", "A=1", "--timeout", "5s", "--set",
			     "drive.d.path=c.img",  "--",    "cat", NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), run), 0, "%s", err);
	cr_expect_str_eq(o.snapshot, "/s/ready");
	cr_expect_null(o.save_snapshot);
	cr_expect_eq(o.n_env, 1);
	cr_expect_eq(o.n_overrides, 1);
	cr_expect_eq(o.cmd_argc, 1);
}

Test(exec_args, tty_rootfs_net)
{
	static struct exec_options o;
	char err[256];
	const char *args[] = {"--no-tty",
			      "--rootfs",
			      "/img/a:b.ext4:ro",
			      "--net=tap0,ip=172.30.0.2/24,gw=172.30.0.1",
			      "--",
			      "true",
			      NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), args), 0, "%s", err);
	cr_expect(o.no_tty);
	cr_expect_str_eq(o.rootfs, "/img/a:b.ext4");
	cr_expect(o.rootfs_ro);
	cr_expect_str_eq(o.net_tap, "tap0");
	cr_expect_str_eq(o.net_ip, "172.30.0.2/24");
	cr_expect_str_eq(o.net_gw, "172.30.0.1");
	const char *args2[] = {"--rootfs=r.img:rw", "--net", "mytap", "--", "true", NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), args2), 0, "%s", err);
	cr_expect_not(o.no_tty);
	cr_expect_str_eq(o.rootfs, "r.img");
	cr_expect_not(o.rootfs_ro);
	cr_expect_str_eq(o.net_tap, "mytap");
	cr_expect_str_eq(o.net_ip, "");
	cr_expect_str_eq(o.net_gw, "");
	const char *args3[] = {"--rootfs", "plain.img", "--", "true", NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), args3), 0, "%s", err);
	cr_expect_str_eq(o.rootfs, "plain.img");
	cr_expect_not(o.rootfs_ro);
}

Test(exec_args, help_wins)
{
	static struct exec_options o;
	char err[256];
	const char *args[] = {"--help", "--frob", NULL};
	cr_expect_eq(parse(&o, err, sizeof(err), args), 1);
	const char *args2[] = {"x.ini", "-h", NULL};
	cr_expect_eq(parse(&o, err, sizeof(err), args2), 1);
}

static const struct {
	const char *name;
	const char *args[8];
	const char *err;
} mistakes[] = {
    {"nothing",
     {NULL},
     "no '--' before the command (minnow exec [CONFIG] [options] -- CMD [ARGS...])"},
    {"no --",
     {"echo", "hi", NULL},
     "unexpected argument 'hi' (one CONFIG at most; the command goes after '--')"},
    {"no -- after config",
     {"x.ini", NULL},
     "no '--' before the command (minnow exec [CONFIG] [options] -- CMD [ARGS...])"},
    {"no command", {"--", NULL}, "no command after '--'"},
    {"empty command", {"--", "", NULL}, "no command after '--'"},
    {"unknown option", {"--frob", "--", "x", NULL}, "unknown option '--frob' (minnow exec --help)"},
    {"unknown option with value",
     {"--frob=1", "--", "x", NULL},
     "unknown option '--frob' (minnow exec --help)"},
    {"prefix is not an option",
     {"--time", "1", "--", "x", NULL},
     "unknown option '--time' (minnow exec --help)"},
    {"unknown short", {"-x", "--", "x", NULL}, "unknown option '-x' (minnow exec --help)"},
    {"missing value", {"--env", NULL}, "option '--env' needs a value"},
    {"value is --", {"--cwd", "--", "x", NULL}, "option '--cwd' needs a value"},
    {"flag with value", {"--verbose=1", "--", "x", NULL}, "option '--verbose' takes no value"},
    {"env without =", {"--env", "FOO", "--", "x", NULL}, "--env 'FOO': expected NAME=VALUE"},
    {"env with empty name", {"--env", "=v", "--", "x", NULL}, "--env '=v': expected NAME=VALUE"},
    {"bad duration",
     {"--timeout", "5x", "--", "x", NULL},
     "--timeout: bad duration '5x' (e.g. 30, 30s, 500ms, 2m, 1h; more than 0)"},
    {"zero duration",
     {"--timeout=0", "--", "x", NULL},
     "--timeout: bad duration '0' (e.g. 30, 30s, 500ms, 2m, 1h; more than 0)"},
    {"empty duration",
     {"--timeout=", "--", "x", NULL},
     "--timeout: bad duration '' (e.g. 30, 30s, 500ms, 2m, 1h; more than 0)"},
    {"bad memory",
     {"--memory", "lots", "--", "x", NULL},
     "--memory: bad size 'lots' (e.g. 256M, 1G)"},
    {"bad vcpus", {"--vcpus", "0", "--", "x", NULL}, "--vcpus: bad count '0' (1 to 64)"},
    {"too many vcpus", {"--vcpus", "65", "--", "x", NULL}, "--vcpus: bad count '65' (1 to 64)"},
    {"empty cwd", {"--cwd=", "--", "x", NULL}, "--cwd: empty directory"},
    {"empty log", {"--log", "", "--", "x", NULL}, "--log: empty file name"},
    {"bad timings",
     {"--timings=xml", "--", "x", NULL},
     "--timings takes 'text' or 'json', not 'xml'"},
    {"empty rootfs",
     {"--rootfs=", "--", "x", NULL},
     "--rootfs: expected IMAGE[:ro] (a file system image)"},
    {"rootfs only :ro",
     {"--rootfs", ":ro", "--", "x", NULL},
     "--rootfs: expected IMAGE[:ro] (a file system image)"},
    {"no-tty with value", {"--no-tty=1", "--", "x", NULL}, "option '--no-tty' takes no value"},
    {"net without tap",
     {"--net", ",ip=1.2.3.4/24", "--", "x", NULL},
     "--net ',ip=1.2.3.4/24': expected TAP[,ip=ADDR/PREFIX][,gw=GW] (TAP: an interface name, at "
     "most 15 characters)"},
    {"net tap too long",
     {"--net", "a234567890123456", "--", "x", NULL},
     "--net 'a234567890123456': expected TAP[,ip=ADDR/PREFIX][,gw=GW] (TAP: an interface name, "
     "at most 15 characters)"},
    {"net no prefix",
     {"--net", "tap0,ip=10.0.0.2", "--", "x", NULL},
     "--net: bad address 'ip=10.0.0.2' (expected ip=A.B.C.D/PREFIX, e.g. ip=172.30.0.2/24)"},
    {"net prefix 33",
     {"--net", "tap0,ip=10.0.0.2/33", "--", "x", NULL},
     "--net: bad address 'ip=10.0.0.2/33' (expected ip=A.B.C.D/PREFIX, e.g. ip=172.30.0.2/24)"},
    {"net bad address",
     {"--net", "tap0,ip=10.0.0.256/24", "--", "x", NULL},
     "--net: bad address 'ip=10.0.0.256/24' (expected ip=A.B.C.D/PREFIX, e.g. ip=172.30.0.2/24)"},
    {"net bad gateway",
     {"--net", "tap0,ip=10.0.0.2/24,gw=x", "--", "x", NULL},
     "--net: bad gateway 'gw=x' (expected gw=A.B.C.D)"},
    {"net gw without ip",
     {"--net", "tap0,gw=10.0.0.1", "--", "x", NULL},
     "--net: gw= needs ip= too"},
    {"net unknown setting",
     {"--net", "tap0,mtu=9000", "--", "x", NULL},
     "--net: unknown setting 'mtu=9000' (ip=ADDR/PREFIX or gw=GW)"},
    {"two configs",
     {"a.ini", "b.ini", "--", "x", NULL},
     "unexpected argument 'b.ini' (one CONFIG at most; the command goes after '--')"},
    {"save with a command",
     {"--save-snapshot", "s", "--", "x", NULL},
     "--save-snapshot takes no command: it saves the VM before one runs (then: minnow exec "
     "--snapshot STATE -- CMD)"},
    {"save with a share",
     {"--save-snapshot", "s", "--share", "/tmp:/mnt", NULL},
     "--save-snapshot: a VM with --share cannot be snapshotted (virtiofsd holds the share's "
     "state)"},
    {"snapshot with a config",
     {"--snapshot", "s", "a.ini", "--", "x", NULL},
     "--snapshot: the VM is the snapshot's, a CONFIG cannot change it (--set can change a "
     "device's host side)"},
    {"snapshot with memory",
     {"--snapshot", "s", "--memory", "1G", "--", "x", NULL},
     "--snapshot: the VM is the snapshot's, --memory cannot change it (--set can change a "
     "device's host side)"},
    {"snapshot with rootfs",
     {"--rootfs", "r.img", "--snapshot", "s", "--", "x", NULL},
     "--snapshot: the VM is the snapshot's, --rootfs cannot change it (--set can change a "
     "device's host side)"},
    {"snapshot and save",
     {"--snapshot", "s", "--save-snapshot", "t", "--", "x", NULL},
     "--snapshot: the VM is the snapshot's, --save-snapshot cannot change it (--set can "
     "change a device's host side)"},
    {"snapshot empty", {"--snapshot=", "--", "x", NULL}, "--snapshot: empty path"},
    {"snapshot without a command",
     {"--snapshot", "s", NULL},
     "no '--' before the command (minnow exec [CONFIG] [options] -- CMD [ARGS...])"},
};

TABLE_TEST(exec_args, mistakes, mistakes, c)
{
	static struct exec_options o;
	char err[256];
	cr_assert_eq(parse(&o, err, sizeof(err), c->args), -1, "%s: accepted", c->name);
	cr_expect_str_eq(err, c->err, "%s", c->name);
}

static const struct {
	const char *text;
	long long ms; /* -1: refused */
} durations[] = {
    {"1", 1000},
    {"30s", 30000},
    {"500ms", 500},
    {"2m", 120000},
    {"1h", 3600000},
    {"720h", 2592000000},
    {"721h", -1},
    {"0", -1},
    {"0ms", -1},
    {"", -1},
    {"s", -1},
    {"1.5s", -1},
    {"-1", -1},
    {"1 s", -1},
    {"1S", -1},
    {"10d", -1},
    {"99999999999999999999", -1},
};

TABLE_TEST(exec_args, durations, durations, c)
{
	uint64_t ms = 0;
	int r = exec_parse_duration(c->text, &ms);
	if (c->ms < 0) {
		cr_expect_eq(r, -1, "'%s' accepted as %llu ms", c->text, (unsigned long long)ms);
	} else {
		cr_assert_eq(r, 0, "'%s' refused", c->text);
		cr_expect_eq(ms, (uint64_t)c->ms, "'%s': %llu ms", c->text, (unsigned long long)ms);
	}
}

/* --share HOST_DIR:GUEST_DIR[:ro], repeatable. */
Test(exec_args, share)
{
	static struct exec_options o;
	char err[256];
	const char *args[] = {"--share",
			      "/srv/data:/data",
			      "--share=rel/dir:/mnt/x y/:ro",
			      "--share",
			      "/a:/b/c",
			      "--",
			      "ls",
			      NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), args), 0, "%s", err);
	cr_assert_eq(o.n_shares, 3);
	cr_expect_str_eq(o.shares[0].host, "/srv/data");
	cr_expect_str_eq(o.shares[0].guest, "/data");
	cr_expect_not(o.shares[0].readonly);
	cr_expect_str_eq(o.shares[1].host, "rel/dir");
	cr_expect_str_eq(o.shares[1].guest, "/mnt/x y", "trailing slashes dropped");
	cr_expect(o.shares[1].readonly);
	cr_expect_str_eq(o.shares[2].guest, "/b/c");
}

static const struct {
	const char *name;
	const char *spec;
	const char *err;
} share_mistakes[] = {
    {"no colon", "/srv", "--share '/srv': expected HOST_DIR:GUEST_DIR[:ro]"},
    {"empty host", ":/x", "--share ':/x': empty HOST_DIR"},
    {"empty guest", "/srv:", "--share '/srv:': empty GUEST_DIR"},
    {"relative guest", "/srv:data",
     "--share '/srv:data': GUEST_DIR must be absolute (start with /)"},
    {"guest root", "/srv:/", "--share '/srv:/': GUEST_DIR cannot be / itself"},
    {"guest root slashes", "/srv://", "--share '/srv://': GUEST_DIR cannot be / itself"},
    {"rw suffix", "/srv:/x:rw",
     "--share '/srv:/x:rw': one ':' too many (HOST_DIR:GUEST_DIR[:ro]; neither directory may hold "
     "':')"},
    {"colon in guest", "/srv:/x:y:ro",
     "--share '/srv:/x:y:ro': one ':' too many (HOST_DIR:GUEST_DIR[:ro]; neither directory may "
     "hold ':')"},
    {"ro then more", "/srv:/x:ro:",
     "--share '/srv:/x:ro:': one ':' too many (HOST_DIR:GUEST_DIR[:ro]; neither directory may "
     "hold ':')"},
    {"empty guest before ro", "/srv::ro", "--share '/srv::ro': empty GUEST_DIR"},
};

TABLE_TEST(exec_args, share_mistakes, share_mistakes, c)
{
	static struct exec_options o;
	char err[256];
	const char *args[] = {"--share", c->spec, "--", "true", NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), args), -1, "%s: accepted", c->name);
	cr_expect_str_eq(err, c->err, "%s", c->name);
}

Test(exec_args, share_twice_and_too_many)
{
	static struct exec_options o;
	char err[256];
	const char *twice[] = {"--share", "/a:/x", "--share", "/b:/x/", "--", "true", NULL};
	cr_assert_eq(parse(&o, err, sizeof(err), twice), -1);
	cr_expect_str_eq(err, "--share '/b:/x/': /x is already shared");
	const char *many[24] = {NULL};
	static char specs[9][16];
	int n = 0;
	for (int i = 0; i < 9; i++) {
		snprintf(specs[i], sizeof(specs[i]), "/h:/g%d", i);
		many[n++] = "--share";
		many[n++] = specs[i];
	}
	many[n++] = "--";
	many[n++] = "true";
	cr_assert_eq(parse(&o, err, sizeof(err), many), -1);
	cr_expect_str_eq(err, "too many --share options (at most 8)");
}
