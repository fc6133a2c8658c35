/* test_jail.c - [jail] in the config (values, defaults, names looked up,
 * errors, the --jail/--uid/--gid spellings, the print round trip) and the
 * list of bind mounts a jailed VM gets (jail_binds.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "jail_binds.h"
#include "test_util.h"

#define CDIR   "tests/unit/configs/"
#define KSECT  "[kernel]\npath = " CDIR "vmlinuz\n"
#define JAIL_A KSECT "[jail]\ndir = /\n"

static struct vm_config cfg, cfg2;
static struct config_error err;

static void in_source_tree(void)
{
	cr_assert_eq(access(CDIR "vmlinuz", R_OK), 0, "run from the top of the source tree");
}

TestSuite(jail_config, .init = in_source_tree);

static void ok(const char *text)
{
	cr_assert_eq(config_parse_string(&cfg, "vm.ini", text, &err), 0, "%s", err.msg);
}

Test(jail_config, defaults)
{
	ok(KSECT);
	cr_expect(!cfg.jailed);
	ok(JAIL_A);
	cr_expect(cfg.jailed);
	cr_expect_str_eq(cfg.jail.dir.path, "/");
	cr_expect_eq(cfg.jail.uid, 65534);
	cr_expect_eq(cfg.jail.gid, 65534);
	cr_expect_eq(cfg.jail.netns, NETNS_INHERIT);
	cr_expect_eq(cfg.jail.nofile, 0);
	cr_expect_eq(cfg.jail.nproc, 0);
	cr_expect_eq(cfg.jail.fsize, 0);
	cr_expect_str_eq(cfg.jail.cgroup, "minnow");
	cr_expect_str_empty(cfg.jail.cpu_max);
	cr_expect_eq(cfg.jail.memory_max, 0);
	cr_expect_eq(cfg.jail.pids_max, 0);
}

Test(jail_config, every_key)
{
	ok(JAIL_A "uid = 4242\ngid = 4243\nnetns = new\nnofile = 256\nnproc = 8\nfsize = 2G\n"
		  "cgroup = vms/minnow\ncpu_max = 50000\nmemory_max = 512M\npids_max = 32\n");
	cr_expect_eq(cfg.jail.uid, 4242);
	cr_expect_eq(cfg.jail.gid, 4243);
	cr_expect_eq(cfg.jail.netns, NETNS_NEW);
	cr_expect_eq(cfg.jail.nofile, 256);
	cr_expect_eq(cfg.jail.nproc, 8);
	cr_expect_eq(cfg.jail.fsize, 2ULL << 30);
	cr_expect_str_eq(cfg.jail.cgroup, "vms/minnow");
	cr_expect_str_eq(cfg.jail.cpu_max, "50000 100000");
	cr_expect_eq(cfg.jail.memory_max, 512ULL << 20);
	cr_expect_eq(cfg.jail.pids_max, 32);
	ok(JAIL_A "cpu_max = max 20000\nnofile = auto\nfsize = auto\n");
	cr_expect_str_eq(cfg.jail.cpu_max, "max 20000");
}

/* A user named in /etc/passwd brings its group, unless gid is given. */
Test(jail_config, names)
{
	uint32_t id, gid = 12345;
	cr_assert_eq(config_lookup_user(NULL, "nobody", &id, &gid), 0, "no nobody in /etc/passwd");
	ok(JAIL_A "uid = nobody\n");
	cr_expect_eq(cfg.jail.uid, id);
	cr_expect_eq(cfg.jail.gid, gid);
	ok(JAIL_A "gid = 4243\nuid = nobody\n");
	cr_expect_eq(cfg.jail.gid, 4243, "a gid given wins over the user's group");
	ok(JAIL_A "uid = 4242\n");
	cr_expect_eq(cfg.jail.gid, 65534, "a bare number brings no group");
}

Test(jail_config, lookup_files)
{
	char path[] = "/tmp/minnow-passwd-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	static const char db[] = "root:x:0:0:root:/root:/bin/sh\n"
				 "vm:x:1234:5678::/:/bin/false\n"
				 "vmx:x:99:99::/:/bin/false\n"
				 "bad:x:notanumber:1::/:\n";
	cr_assert_eq(write(fd, db, sizeof(db) - 1), (ssize_t)sizeof(db) - 1);
	close(fd);
	uint32_t id = 0, gid = 0;
	cr_expect_eq(config_lookup_user(path, "vm", &id, &gid), 0);
	cr_expect_eq(id, 1234);
	cr_expect_eq(gid, 5678);
	cr_expect_eq(config_lookup_user(path, "vmx", &id, &gid), 0);
	cr_expect_eq(id, 99, "a name is matched whole, not as a prefix");
	cr_expect_eq(config_lookup_user(path, "v", &id, &gid), -1);
	cr_expect_eq(config_lookup_user(path, "bad", &id, &gid), -1);
	cr_expect_eq(config_lookup_user(path, "777", &id, &gid), 0);
	cr_expect_eq(id, 777);
	cr_expect_eq(config_lookup_user(path, "4294967295", &id, &gid), -1, "-1 is no id");
	cr_expect_eq(config_lookup_group(path, "vm", &id), 0);
	cr_expect_eq(id, 1234);
	cr_expect_eq(config_lookup_group("/nonexistent", "vm", &id), -1);
	unlink(path);
}

struct bad {
	const char *text, *msg;
};

static const struct bad bads[] = {
    {KSECT "[jail]\nuid = 4242\n", "vm.ini:3: [jail] dir: missing (required)"},
    {KSECT "[jail]\ndir = /nonexistent\n",
     "vm.ini:4: [jail] dir: No such file or directory: /nonexistent"},
    {KSECT "[jail]\ndir = " CDIR "vmlinuz\n",
     "vm.ini:4: [jail] dir: not a directory: " CDIR "vmlinuz"},
    {KSECT "[jail]\ndir = /tmp\n",
     "vm.ini:4: [jail] dir: must be owned by root and writable by no one else: /tmp"},
    {JAIL_A "uid = no-such-user-here\n",
     "vm.ini:5: [jail] uid: unknown user 'no-such-user-here' (not a number, not in /etc/passwd)"},
    {JAIL_A "gid = no-such-group-here\n",
     "vm.ini:5: [jail] gid: unknown group 'no-such-group-here' (not a number, not in /etc/group)"},
    {JAIL_A "uid = root\n", "vm.ini:5: [jail] uid: uid 0 is root: the jail needs another"},
    {JAIL_A "gid = 0\n", "vm.ini:5: [jail] gid: gid 0 is root: the jail needs another"},
    {JAIL_A "netns = host\n",
     "vm.ini:5: [jail] netns: bad value 'host' (expected one of: inherit, new)"},
    {JAIL_A "nproc = 1\n",
     "vm.ini:5: [jail] nproc: out of range: '1' (allowed 2..1048576, or auto)"},
    {JAIL_A "fsize = 1K\n", "vm.ini:5: [jail] fsize: too small: '1K' (at least 1M, or auto)"},
    {JAIL_A "cgroup = ../x\n",
     "vm.ini:5: [jail] cgroup: bad cgroup '../x' (a path under the cgroup2 mount: names of A-Z "
     "a-z 0-9 . _ - and '/')"},
    {JAIL_A "cgroup = a//b\n",
     "vm.ini:5: [jail] cgroup: bad cgroup 'a//b' (a path under the cgroup2 mount: names of A-Z "
     "a-z 0-9 . _ - and '/')"},
    {JAIL_A "cpu_max = 10\n",
     "vm.ini:5: [jail] cpu_max: bad cpu_max '10' (expected \"QUOTA PERIOD\" in microseconds, "
     "e.g. \"50000 100000\" for half a CPU, or \"max\")"},
    {JAIL_A "[vsock]\nuds_path = /vm.sock\n",
     "vm.ini:6: [vsock] uds_path: in / with [jail]: the jail binds the socket's directory, and "
     "/ would be the whole host; use a directory of its own"},
};

TABLE_TEST(jail_config, errors, bads, c)
{
	in_source_tree();
	cr_assert_eq(config_parse_string(&cfg, "vm.ini", c->text, &err), -1, "accepted: %s",
		     c->text);
	cr_expect_str_eq(err.msg, c->msg);
}

/* --jail, --uid and --gid are overrides named as the user typed them. */
Test(jail_config, options)
{
	const char *sets[] = {"--jail /", "--uid 4242", "--gid 4243"};
	cr_assert_eq(config_load(&cfg, CDIR "minimal.ini", sets, 3, &err), 0, "%s", err.msg);
	cr_expect(cfg.jailed);
	cr_expect_str_eq(cfg.jail.dir.path, "/");
	cr_expect_eq(cfg.jail.uid, 4242);
	cr_expect_eq(cfg.jail.gid, 4243);
	const char *bad[] = {"--jail /nonexistent"};
	cr_assert_eq(config_load(&cfg, CDIR "minimal.ini", bad, 1, &err), -1);
	cr_expect_str_eq(
	    err.msg, "--jail /nonexistent: [jail] dir: No such file or directory: /nonexistent");
	const char *bad_uid[] = {"--jail /", "--uid 0"};
	cr_assert_eq(config_load(&cfg, CDIR "minimal.ini", bad_uid, 2, &err), -1);
	cr_expect_str_eq(err.msg, "--uid 0: [jail] uid: uid 0 is root: the jail needs another");
}

Test(jail_config, print_round_trip)
{
	ok(JAIL_A "uid = 4242\ngid = 4243\nnetns = new\nnproc = 8\nfsize = 2G\n"
		  "cpu_max = 50000 200000\nmemory_max = 512M\npids_max = 32\n");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_print(&cfg, f);
	fclose(f);
	cr_assert(strstr(text, "\n[jail]\ndir = /\nuid = 4242\ngid = 4243\nnetns = new\n"
			       "nofile = auto\nnproc = 8\nfsize = 2G\ncgroup = minnow\n"
			       "cpu_max = 50000 200000\nmemory_max = 512M\npids_max = 32\n"),
		  "%s", text);
	cr_assert_eq(config_parse_string(&cfg2, "printed.ini", text, &err), 0, "%s", err.msg);
	cr_expect(!memcmp(&cfg.jail.uid, &cfg2.jail.uid,
			  sizeof(cfg.jail) - offsetof(struct jail_config, uid)),
		  "the printed [jail] reads back the same");
	free(text);
}

/* ---- the bind mounts ---- */

struct abs_case {
	const char *cwd, *path, *want;
};

static const struct abs_case abs_cases[] = {
    {"/w", "k", "/w/k"},      {"/w", "/a//b/./c/", "/a/b/c"},
    {"/w/x", "../k", "/w/k"}, {"/", "../../k", "/k"},
    {"/w", "..", "/"},	      {"/w", "./a/../b", "/w/b"},
};

TABLE_TEST(jail_binds, abspath, abs_cases, c)
{
	char out[PATH_MAX];
	cr_assert_eq(jail_abspath(c->cwd, c->path, out), 0);
	cr_expect_str_eq(out, c->want, "%s against %s", c->path, c->cwd);
}

static void base(struct vm_config *c)
{
	config_defaults(c);
	snprintf(c->kernel.path, sizeof(c->kernel.path), "images/vmlinuz");
}

static void drive(struct vm_config *c, const char *path, bool ro)
{
	struct drive_config *d = &c->drives[c->n_drives++];
	snprintf(d->name, sizeof(d->name), "d%zu", c->n_drives);
	snprintf(d->path.path, sizeof(d->path.path), "%s", path);
	d->readonly = ro;
}

static struct jail_binds binds;

Test(jail_binds, every_kind)
{
	base(&cfg);
	snprintf(cfg.initrd.path, sizeof(cfg.initrd.path), "/boot/initrd.img");
	drive(&cfg, "/vms/root.ext4", false);
	drive(&cfg, "/vms/base.img", true);
	cfg.console = CONSOLE_FILE;
	snprintf(cfg.console_path.path, sizeof(cfg.console_path.path), "logs/uart.log");
	cfg.vconsole = true;
	cfg.vconsole_output = CONSOLE_SOCKET;
	snprintf(cfg.vconsole_path.path, sizeof(cfg.vconsole_path.path), "/run/vm/console.sock");
	cfg.vsock = true;
	snprintf(cfg.vsock_uds.path, sizeof(cfg.vsock_uds.path), "/run/vm/vsock");
	char e[512] = "";
	cr_assert_eq(jail_binds_compute(&cfg, "/srv", &binds, e, sizeof(e)), 0, "%s", e);
	static const struct {
		const char *path;
		bool dir, rw;
	} want[] = {
	    {"/boot/initrd.img", false, false},	    {"/run/vm", true, false},
	    {"/run/vm/console.sock", false, false}, {"/srv/images/vmlinuz", false, false},
	    {"/srv/logs/uart.log", false, true},    {"/vms/base.img", false, false},
	    {"/vms/root.ext4", false, true},
	};
	cr_assert_eq(binds.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		cr_expect_str_eq(binds.b[i].path, want[i].path, "entry %zu", i);
		cr_expect_eq(binds.b[i].dir, want[i].dir, "%s", want[i].path);
		cr_expect_eq(binds.b[i].rw, want[i].rw, "%s", want[i].path);
	}
	cr_expect_str_eq(binds.b[6].what, "[drive.d1] path", "names follow their entries");
	cr_expect_str_eq(binds.b[1].what, "[vsock] uds_path's directory");
}

Test(jail_binds, minimal_and_merged)
{
	base(&cfg);
	char e[512] = "";
	cr_assert_eq(jail_binds_compute(&cfg, "/", &binds, e, sizeof(e)), 0, "%s", e);
	cr_expect_eq(binds.n, 1, "the kernel alone");
	cr_expect_str_eq(binds.b[0].path, "/images/vmlinuz");
	/* One image twice, read-only and read-write: one bind, writable. */
	drive(&cfg, "/vms/a.img", true);
	drive(&cfg, "/vms/../vms/a.img", false);
	cr_assert_eq(jail_binds_compute(&cfg, "/", &binds, e, sizeof(e)), 0, "%s", e);
	cr_expect_eq(binds.n, 2);
	cr_expect_str_eq(binds.b[1].path, "/vms/a.img");
	cr_expect(binds.b[1].rw);
}

Test(jail_binds, refused)
{
	base(&cfg);
	cfg.vsock = true;
	snprintf(cfg.vsock_uds.path, sizeof(cfg.vsock_uds.path), "/x/../v.sock");
	char e[512] = "";
	cr_expect_eq(jail_binds_compute(&cfg, "/", &binds, e, sizeof(e)), -1);
	cr_expect_str_eq(e, "[vsock] uds_path's directory: would bind the host's whole / into the "
			    "jail");
	base(&cfg);
	cfg.vsock = true;
	snprintf(cfg.vsock_uds.path, sizeof(cfg.vsock_uds.path), "/vms/v.sock");
	snprintf(cfg.kernel.path, sizeof(cfg.kernel.path), "/vms");
	cr_expect_eq(jail_binds_compute(&cfg, "/", &binds, e, sizeof(e)), -1);
	cr_expect_str_eq(e, "[vsock] uds_path's directory: /vms is also [kernel] path, as a file");
}
