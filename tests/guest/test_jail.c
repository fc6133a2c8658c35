/* test_jail.c - minnow run in its jail ([jail], --jail): the VMM process
 * seen from outside (only DIR and its binds, no capabilities, no_new_privs,
 * its uid and gid, new namespaces, rlimits), what it can try from inside
 * (MINNOW_JAIL_PROBE), every virtio device working in the jail, exit
 * statuses and signals through the supervisor (a seccomp kill too, its
 * filter on after the jail), DIR left as it was, both
 * ways into DIR (pivot_root, and the move over an initramfs root), cgroup
 * v2 limits, and bad input. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"

#define JAIL_UID  4242
#define JAIL_GID  4243
#define WAIT_MS	  20000
#define SUN_MAX	  sizeof(((struct sockaddr_un *)0)->sun_path)
#define PROBE_TAG "minnow: jail probe: "

/* A scratch directory (0755, for the jail's uid to cross) with DIR in it. */
struct jail_dirs {
	char dir[4096];
	char root[4200]; /* DIR: root-owned, 0755, empty */
};

static void jail_dirs(struct jail_dirs *d)
{
	cr_assert_eq(harness_mkdtemp("jail", d->dir, sizeof(d->dir)), 0, "mkdtemp: %s",
		     strerror(errno));
	cr_assert_eq(chmod(d->dir, 0755), 0);
	snprintf(d->root, sizeof(d->root), "%s/root", d->dir);
	cr_assert_eq(mkdir(d->root, 0755), 0, "mkdir %s: %s", d->root, strerror(errno));
	cr_assert_eq(chmod(d->root, 0755), 0);
}

/* Whether DIR is empty again (minnow removed its mount points). */
static bool dir_empty(const char *path, char *first, size_t len)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool empty = true;
	for (struct dirent *e; empty && (e = readdir(d));) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(first, len, "%s", e->d_name);
			empty = false;
		}
	}
	closedir(d);
	return empty;
}

/* The jailed VMM: the child of minnow's supervisor (pid), 0 if none. */
static pid_t vmm_of(pid_t pid)
{
	char want[32];
	snprintf(want, sizeof(want), "PPid:\t%d\n", (int)pid);
	for (int tries = 0; tries < 200; tries++) {
		DIR *proc = opendir("/proc");
		pid_t found = 0;
		for (struct dirent *e; proc && !found && (e = readdir(proc));) {
			char path[300], buf[2048];
			snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
			int fd = e->d_name[0] >= '1' && e->d_name[0] <= '9'
				     ? open(path, O_RDONLY | O_CLOEXEC)
				     : -1;
			if (fd < 0)
				continue;
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			if (strstr(buf, want))
				found = (pid_t)atoi(e->d_name);
		}
		if (proc)
			closedir(proc);
		if (found)
			return found;
		usleep(10000);
	}
	return 0;
}

/* The line of /proc/PID/status starting with `key` (e.g. "CapEff:"), value only. */
static char *status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *text = (char *)harness_read_file(path, NULL);
	out[0] = '\0';
	const char *p = text ? strstr(text, key) : NULL;
	if (p) {
		p += strlen(key);
		while (*p == '\t' || *p == ' ')
			p++;
		size_t n = strcspn(p, "\n");
		while (n > 0 && p[n - 1] == ' ') /* Groups: ends with one */
			n--;
		snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
	}
	free(text);
	return out;
}

static bool same_ns(pid_t pid, const char *ns)
{
	char a[64], b[64], la[128] = "", lb[128] = "";
	snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, ns);
	snprintf(b, sizeof(b), "/proc/self/ns/%s", ns);
	ssize_t na = readlink(a, la, sizeof(la) - 1), nb = readlink(b, lb, sizeof(lb) - 1);
	cr_assert(na > 0 && nb > 0, "readlink %s / %s: %s", a, b, strerror(errno));
	return !strcmp(la, lb);
}

/* Every stderr line of the probe says the attempt failed; returns how many. */
static unsigned probes_failed(struct guest_result *r, const char *must_have)
{
	unsigned n = 0;
	cr_expect(strstr(r->err, must_have), "no probe line '%s': %s", must_have, guest_ctx(r));
	for (const char *p = r->err; (p = strstr(p, PROBE_TAG)); p++) {
		size_t len = strcspn(p, "\n");
		cr_expect(len < 4 || strncmp(p + len - 4, ": ok", 4) != 0,
			  "the jailed VMM could do this: %.*s", (int)len, p);
		n++;
	}
	return n;
}

/* The ini for a jailed VM: [jail] plus `extra`. */
static void jail_ini(char *out, size_t len, const struct jail_dirs *d, const char *extra)
{
	snprintf(out, len, "[jail]\ndir = %s\nuid = %d\ngid = %d\n\n%s", d->root, JAIL_UID,
		 JAIL_GID, extra ? extra : "");
}

/* ---- the process in the jail, seen from outside and tried from inside ---- */

/* A sanitized minnow's LeakSanitizer reads /proc/PID/task at exit, which the
 * jail hides: it would end every jailed run with a fatal error. Leaks are
 * checked by the sanitizer tier's other tests; here only ASan's memory
 * errors count. */
static void no_leak_check(void)
{
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
}

TestSuite(jail, .init = no_leak_check);

Test(jail, confined)
{
	harness_require_kvm();
	struct jail_dirs d;
	jail_dirs(&d);
	char rw[4400], ro[4400], uds[SUN_MAX], extra[16384], ini[24576];
	uint8_t *data;
	harness_temp_file(d.dir, "rw", 1 << 20, rw, sizeof(rw), &data);
	free(data);
	harness_temp_file(d.dir, "ro", 1 << 20, ro, sizeof(ro), NULL);
	cr_assert(strlen(d.dir) + 12 < SUN_MAX, "TMPDIR too long for a socket: %s", d.dir);
	snprintf(uds, sizeof(uds), "%s/vm.vsock", d.dir);
	snprintf(extra, sizeof(extra),
		 "[drive.rw]\npath = %s\n\n[drive.ro]\npath = %s\nreadonly = on\n\n"
		 "[vsock]\nuds_path = %s\n",
		 rw, ro, uds);
	jail_ini(ini, sizeof(ini), &d, extra);
	setenv("MINNOW_JAIL_PROBE", "1", 1);
	struct guest_opts o = {.cmdline = "test=idle", .extra_ini = ini, .timings = TIMINGS_JSON};
	const char *args[] = {"-v", NULL};
	o.args = args;
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool idle = guest_wait_output(&r, "minnow-test: idle", WAIT_MS);
	pid_t c = idle ? vmm_of(r.pid) : 0;
	if (!idle || !c) {
		kill(r.pid, SIGKILL);
		guest_wait(&r);
		cr_assert_fail("the jailed guest never idled (vmm pid %d): %s", (int)c,
			       guest_ctx(&r));
	}
	char v[256];
	static const char *const caps[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
	for (size_t i = 0; i < HARNESS_N(caps); i++)
		cr_expect_str_eq(status_field(c, caps[i], v, sizeof(v)), "0000000000000000",
				 "%s of the jailed VMM", caps[i]);
	cr_expect_str_eq(status_field(c, "NoNewPrivs:", v, sizeof(v)), "1", "no_new_privs (%s)", v);
	cr_expect_str_eq(status_field(c, "Uid:", v, sizeof(v)), "4242\t4242\t4242\t4242",
			 "uids (%s)", v);
	cr_expect_str_eq(status_field(c, "Gid:", v, sizeof(v)), "4243\t4243\t4243\t4243",
			 "gids (%s)", v);
	cr_expect_str_eq(status_field(c, "Groups:", v, sizeof(v)), "4243", "groups (%s)", v);
	status_field(c, "NSpid:", v, sizeof(v));
	char want[64];
	snprintf(want, sizeof(want), "%d\t1", (int)c);
	cr_expect_str_eq(v, want, "the VMM must be PID 1 of a new PID namespace");
	static const char *const fresh[] = {"mnt", "pid", "ipc", "uts"};
	for (size_t i = 0; i < HARNESS_N(fresh); i++)
		cr_expect(!same_ns(c, fresh[i]), "the VMM must have a %s namespace of its own",
			  fresh[i]);
	cr_expect(same_ns(c, "net"), "netns = inherit keeps the network namespace");

	/* Its mounts: / (DIR, read-only) and the binds at their host paths. */
	char path[4600];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)c);
	char *mi = (char *)harness_read_file(path, NULL);
	cr_assert(mi, "cannot read %s", path);
	unsigned mounts = 0;
	bool root_ro = false, rw_rw = false, ro_ro = false, dir_ro = false;
	for (char *line = strtok(mi, "\n"); line; line = strtok(NULL, "\n")) {
		char mnt[4400], opts[256];
		cr_assert(sscanf(line, "%*s %*s %*s %*s %4399s %255s", mnt, opts) == 2, "%s", line);
		bool ro_opt = !strncmp(opts, "ro", 2);
		mounts++;
		if (!strcmp(mnt, "/"))
			root_ro = ro_opt && strstr(opts, "nosuid") && strstr(opts, "nodev");
		else if (!strcmp(mnt, rw))
			rw_rw = !ro_opt;
		else if (!strcmp(mnt, ro))
			ro_ro = ro_opt;
		else if (!strcmp(mnt, d.dir))
			dir_ro = ro_opt;
		else if (strcmp(mnt, harness_firmware(FW_PVH)) != 0)
			cr_expect_fail("unexpected mount in the jail: %s", line);
	}
	free(mi);
	cr_expect_eq(mounts, 5, "/, kernel, two drives and the vsock directory: %u mounts", mounts);
	cr_expect(root_ro, "DIR must be the read-only, nosuid, nodev root");
	cr_expect(rw_rw && ro_ro, "the drives bound read-write and read-only as configured");
	cr_expect(dir_ro, "the vsock directory bound read-only");
	/* Its root: DIR, with nothing of the host's /. */
	snprintf(path, sizeof(path), "/proc/%d/root/etc/passwd", (int)c);
	errno = 0;
	cr_expect(access(path, F_OK) < 0 && errno == ENOENT, "%s must not exist", path);
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)c, rw);
	cr_expect_eq(access(path, F_OK), 0, "the drive %s must be seen in the jail", rw);
	/* Its limits. */
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)c);
	char *lim = (char *)harness_read_file(path, NULL);
	cr_assert(lim);
	cr_expect(strstr(lim, "Max core file size        0                    0 "), "%s", lim);
	/* 1 vCPU + 3, and 6 for each of the two drives (jail.c choose_limits). */
	cr_expect(strstr(lim, "Max processes             16                   16 "), "%s", lim);
	cr_expect(strstr(lim, "Max open files            "), "%s", lim);
	cr_expect(strstr(lim, "Max file size             1073741824           1073741824 "), "%s",
		  lim);
	free(lim);

	kill(r.pid, SIGTERM);
	guest_wait(&r);
	cr_assert(r.ran && !r.timed_out && r.signal == 0, "%s", guest_ctx(&r));
	cr_expect_eq(r.status, 128 + SIGTERM, "SIGTERM through the supervisor: %s", guest_ctx(&r));
	cr_log_info("jail: %s",
		    strstr(r.err, "pivot_root into") ? "pivot_root" : "moved over the initramfs");
	/* From inside: no host file, nothing created. */
	unsigned n = probes_failed(&r, PROBE_TAG "read /etc/passwd: No such file or directory");
	cr_expect_geq(n, 8, "want every probe line: %s", guest_ctx(&r));
	cr_expect(strstr(r.err, PROBE_TAG "create /minnow-probe: Read-only file system"), "%s",
		  guest_ctx(&r));
	char first[256] = "";
	cr_expect(dir_empty(d.root, first, sizeof(first)), "DIR must be left empty, has %s", first);
	struct stat st;
	cr_expect(lstat(uds, &st) < 0, "the vsock socket %s must be gone", uds);
	unlink(rw);
	unlink(ro);
	rmdir(d.root);
	rmdir(d.dir);
	guest_result_free(&r);
}

/* netns = new: a network namespace of its own (empty: no TAP here). */
Test(jail, netns_new)
{
	harness_require_kvm();
	struct jail_dirs d;
	jail_dirs(&d);
	char ini[8400];
	jail_ini(ini, sizeof(ini), &d, NULL);
	strcat(ini, "netns = new\n");
	struct guest_opts o = {.cmdline = "test=idle", .extra_ini = ini};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool idle = guest_wait_output(&r, "minnow-test: idle", WAIT_MS);
	pid_t c = idle ? vmm_of(r.pid) : 0;
	bool own_net = c && !same_ns(c, "net"), own_mnt = c && !same_ns(c, "mnt");
	kill(r.pid, SIGTERM);
	guest_wait(&r);
	cr_assert(idle && c, "the jailed guest never idled: %s", guest_ctx(&r));
	cr_expect(own_net && own_mnt, "netns = new: the VMM must have its own network namespace");
	cr_expect_eq(r.status, 128 + SIGTERM, "%s", guest_ctx(&r));
	rmdir(d.root);
	rmdir(d.dir);
	guest_result_free(&r);
}

/* The control socket and the metrics file of a jailed VM: both lie
 * outside the jail, opened before it; requests are answered from inside,
 * the socket is removed at the end and the metrics file has its last line. */
Test(jail, control_socket)
{
	harness_require_kvm();
	struct jail_dirs d;
	jail_dirs(&d);
	char ini[8400], sock[4300], metrics[4300], set_sock[4400], set_metrics[4400];
	jail_ini(ini, sizeof(ini), &d, NULL);
	snprintf(sock, sizeof(sock), "%s/c.sock", d.dir);
	snprintf(metrics, sizeof(metrics), "%s/m.jsonl", d.dir);
	cr_assert_lt(strlen(sock), SUN_MAX, "%s: set a shorter TMPDIR", sock);
	snprintf(set_sock, sizeof(set_sock), "vm.control_socket=%s", sock);
	snprintf(set_metrics, sizeof(set_metrics), "vm.metrics_file=%s", metrics);
	const char *sets[] = {set_sock, set_metrics, NULL};
	struct guest_opts o = {.cmdline = "test=idle", .extra_ini = ini, .sets = sets};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool idle = guest_wait_output(&r, "minnow-test: idle", WAIT_MS);
	char status[512] = "", stop[512] = "";
	int fd = idle ? harness_connect_unix(sock) : -1;
	if (fd >= 0) {
		static const char both[] = "{\"request\":\"status\"}\n{\"request\":\"stop\"}\n";
		(void)!write(fd, both, sizeof(both) - 1);
		(void)harness_read_line(fd, status, sizeof(status), 10000);
		(void)harness_read_line(fd, stop, sizeof(stop), 10000);
		close(fd);
	}
	guest_wait(&r);
	cr_assert(idle, "the jailed guest never idled: %s", guest_ctx(&r));
	cr_expect(fd >= 0, "cannot connect to %s: %s", sock, strerror(errno));
	cr_expect(strstr(status, "\"ok\":true,\"state\":\"running\""), "status: '%s'", status);
	cr_expect_str_eq(stop, "{\"ok\":true}");
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	cr_expect(access(sock, F_OK) != 0 && errno == ENOENT, "%s still there", sock);
	size_t len = 0;
	char *text = (char *)harness_read_file(metrics, &len);
	cr_expect(text && strstr(text, "\"state\":\"ended\""), "%s: no line at exit: %s", metrics,
		  text ? text : "(missing)");
	free(text);
	unlink(metrics);
	rmdir(d.root);
	rmdir(d.dir);
	guest_result_free(&r);
}

/* ---- every device in the jail ---- */

/* A TAP `tap` at 10.0.0.1/24 in a network namespace of this test's own. */
static const char *tap_setup(const char *tap, char *why, size_t len)
{
	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return why;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && s >= 0 && ioctl(fd, TUNSETIFF, &ifr) == 0 &&
		  ioctl(fd, TUNSETPERSIST, 1) == 0;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	for (int i = 0; ok && i < 2; i++) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i ? tap : "lo");
		ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
		ifr.ifr_flags |= IFF_UP;
		ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	}
	if (ok) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, "10.0.0.1", &sin->sin_addr);
		ok = ioctl(s, SIOCSIFADDR, &ifr) == 0;
		inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
		ok = ok && ioctl(s, SIOCSIFNETMASK, &ifr) == 0;
	}
	if (!ok)
		snprintf(why, len, "cannot set up the TAP %s: %s", tap, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (s >= 0)
		close(s);
	return ok ? NULL : why;
}

/* The host side of test=virtio-vsock: CONNECT 1234 and an echo, then the
 * guest's connection to host port 5678. */
struct vsock_peer {
	char uds[SUN_MAX];
	int listen_fd;
	char echo[128], from_guest[128];
};

static bool line_in(int fd, char *buf, size_t len)
{
	size_t n = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (n + 1 < len && poll(&p, 1, 15000) > 0) {
		char ch;
		if (read(fd, &ch, 1) != 1)
			break;
		if (ch == '\n')
			break;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return n > 0;
}

static void *vsock_peer_main(void *arg)
{
	struct vsock_peer *h = arg;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, h->uds, strlen(h->uds) + 1);
	int fd = -1;
	for (int i = 0; i < 2000 && fd < 0; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(fd);
			fd = -1;
			usleep(10000);
		}
	}
	char ok[64];
	if (fd < 0 || write(fd, "CONNECT 1234\n", 13) != 13 || !line_in(fd, ok, sizeof(ok)) ||
	    write(fd, "hello vsock\n", 12) != 12 || !line_in(fd, h->echo, sizeof(h->echo))) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	struct pollfd p = {.fd = h->listen_fd, .events = POLLIN};
	if (poll(&p, 1, 20000) <= 0)
		return NULL;
	int c = accept(h->listen_fd, NULL, NULL);
	if (c >= 0 && line_in(c, h->from_guest, sizeof(h->from_guest)))
		(void)!write(c, "reply from host\n", 16);
	if (c >= 0) {
		char tmp[64];
		struct pollfd q = {.fd = c, .events = POLLIN};
		if (poll(&q, 1, 15000) > 0)
			(void)!read(c, tmp, sizeof(tmp));
		close(c);
	}
	return NULL;
}

enum dev { DEV_BLK, DEV_NET, DEV_VSOCK, DEV_CONSOLE, DEV_MULTI };

static const char *const dev_names[] = {"virtio-blk", "virtio-net", "virtio-vsock",
					"virtio-console", "virtio-multi"};

ParameterizedTestParameters(jail, devices)
{
	HARNESS_ROWS(dev_names);
}

ParameterizedTest(int *row, jail, devices)
{
	enum dev dev = (enum dev) * row;
	const char *name = dev_names[dev];
	harness_require_kvm();
	char why[256];
	if (dev == DEV_NET && access("/dev/net/tun", R_OK | W_OK) != 0)
		cr_skip_test("no usable /dev/net/tun: %s", strerror(errno));
	if (dev == DEV_NET && tap_setup("jtap0", why, sizeof(why)))
		cr_skip_test("%s", why);
	struct jail_dirs d;
	jail_dirs(&d);
	char a[4400] = "", b[4400] = "", extra[16384] = "", ini[24576], cmd[128];
	uint8_t *a_data = NULL, *b_data = NULL;
	struct vsock_peer peer = {.listen_fd = -1};
	pthread_t th;
	snprintf(cmd, sizeof(cmd), "test=%s", name);
	static const char input[] = "hello vconsole\n";
	struct guest_opts o = {.cmdline = cmd, .timeout_ms = 60000};
	switch (dev) {
	case DEV_BLK:
		harness_temp_file(d.dir, "rw", 4u << 20, a, sizeof(a), &a_data);
		harness_temp_file(d.dir, "ro", 1u << 20, b, sizeof(b), &b_data);
		snprintf(extra, sizeof(extra),
			 "[drive.rw]\npath = %s\nserial = minnow-serial-1\n\n"
			 "[drive.ro]\npath = %s\nreadonly = on\n",
			 a, b);
		break;
	case DEV_NET:
		snprintf(cmd, sizeof(cmd), "test=virtio-net hostip=10.0.0.1 guestip=10.0.0.2");
		snprintf(extra, sizeof(extra), "[net.n0]\ntap = jtap0\nmac = 52:54:00:12:34:56\n");
		break;
	case DEV_VSOCK: {
		cr_assert(strlen(d.dir) + 16 < SUN_MAX, "TMPDIR too long: %s", d.dir);
		snprintf(peer.uds, sizeof(peer.uds), "%s/vm.vsock", d.dir);
		char lp[SUN_MAX + 8];
		snprintf(lp, sizeof(lp), "%s_5678", peer.uds);
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		memcpy(sa.sun_path, lp, strlen(lp) + 1);
		peer.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(bind(peer.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			      listen(peer.listen_fd, 4) == 0,
			  "listen %s: %s", lp, strerror(errno));
		/* The jail's uid connects to it (README.md, "Jail"). */
		cr_assert_eq(chmod(lp, 0666), 0);
		snprintf(a, sizeof(a), "%s", lp);
		snprintf(extra, sizeof(extra), "[vsock]\ncid = 3\nuds_path = %s\n", peer.uds);
		cr_assert_eq(pthread_create(&th, NULL, vsock_peer_main, &peer), 0);
		break;
	}
	case DEV_CONSOLE:
		snprintf(a, sizeof(a), "%s/hvc0.log", d.dir);
		snprintf(extra, sizeof(extra), "[vconsole]\noutput = file\npath = %s\n", a);
		o.stdin_data = input;
		o.stdin_len = sizeof(input) - 1;
		break;
	case DEV_MULTI:
		harness_temp_file(d.dir, "multi", 1u << 20, a, sizeof(a), &a_data);
		snprintf(b, sizeof(b), "%s/hvc0.log", d.dir);
		snprintf(extra, sizeof(extra),
			 "[rng]\n\n[drive.d0]\npath = %s\n\n[vconsole]\noutput = file\npath = %s\n",
			 a, b);
		break;
	}
	jail_ini(ini, sizeof(ini), &d, extra);
	o.extra_ini = ini;
	struct guest_result r;
	guest_run(&o, &r);
	if (dev == DEV_VSOCK) {
		pthread_join(th, NULL);
		close(peer.listen_fd);
	}
	guest_assert_ran(&r);
	cr_expect_eq(r.status, 0, "%s must exit 0 in the jail: %s", name, guest_ctx(&r));
	size_t len = 0;
	uint8_t *after = a[0] && dev != DEV_VSOCK ? harness_read_file(a, &len) : NULL;
	switch (dev) {
	case DEV_BLK:
		cr_expect(guest_has_line(&r, "virtio-blk ok") &&
			      guest_has_line(&r, "virtio-blk drives rw=1 ro=1"),
			  "%s", guest_ctx(&r));
		cr_expect(after && len == 4u << 20 && memcmp(after, a_data, len) != 0,
			  "the guest's writes must reach the read-write image");
		break;
	case DEV_NET:
		cr_expect(guest_has_line(&r, "ping ok"), "no ICMP echo reply: %s", guest_ctx(&r));
		break;
	case DEV_VSOCK:
		cr_expect_str_eq(peer.echo, "echo:hello vsock", "host to guest: %s", guest_ctx(&r));
		cr_expect_str_eq(peer.from_guest, "hello from guest",
				 "guest to host (minnow connects to %s from the jail): %s", a,
				 guest_ctx(&r));
		break;
	case DEV_CONSOLE:
		cr_expect(guest_has_line(&r, "vconsole echo=hello vconsole"), "%s", guest_ctx(&r));
		cr_expect(after && strstr((char *)after, "echo:hello vconsole\n"),
			  "the output file written from the jail");
		break;
	case DEV_MULTI:
		cr_expect(guest_has_line(&r, "virtio-multi ok") &&
			      guest_has_line(&r, "virtio-multi reset ok"),
			  "%s", guest_ctx(&r));
		break;
	}
	char first[256] = "";
	cr_expect(dir_empty(d.root, first, sizeof(first)), "DIR must be left empty, has %s", first);
	free(after);
	free(a_data);
	free(b_data);
	if (a[0])
		unlink(a);
	if (b[0])
		unlink(b);
	if (peer.uds[0])
		unlink(peer.uds);
	rmdir(d.root);
	rmdir(d.dir);
	guest_result_free(&r);
}

/* ---- exit statuses and signals through the supervisor ---- */

struct end_case {
	const char *name;
	const char *cmdline;
	int sig;     /* sent to minnow once the guest idles; 0: none */
	bool escape; /* Ctrl-A x on the terminal */
	int status;
	const char *reason; /* "": no --timings report (minnow did not get to it) */
	/* Non-NULL: minnow-testhooks, whose thread of this kind makes a
	 * forbidden call once its seccomp filter is in (after the jail's). */
	const char *forbidden;
};

static const struct end_case end_cases[] = {
    {"guest exit 7", "test=exit:7", 0, false, 7, "guest_exit", NULL},
    {"triple fault", "test=triple-fault", 0, false, 121, "triple_fault", NULL},
    {"SIGTERM", "test=idle", SIGTERM, false, 128 + SIGTERM, "signal", NULL},
    {"SIGINT", "test=idle", SIGINT, false, 128 + SIGINT, "signal", NULL},
    {"SIGHUP", "test=idle", SIGHUP, false, 128 + SIGHUP, "signal", NULL},
    {"Ctrl-A x", "test=idle", 0, true, 128 + SIGINT, "signal", NULL},
    {"seccomp: forbidden call on a vCPU", "test=idle", 0, false, 159, "", "vcpu"},
    {"seccomp: forbidden call on main", "test=idle", 0, false, 159, "", "main"},
};

ParameterizedTestParameters(jail, ends)
{
	HARNESS_ROWS(end_cases);
}

ParameterizedTest(int *row, jail, ends)
{
	const struct end_case *c = &end_cases[*row];
	harness_require_kvm();
	struct jail_dirs d;
	jail_dirs(&d);
	char ini[8400];
	jail_ini(ini, sizeof(ini), &d, NULL);
	struct harness_pty pty;
	cr_assert_eq(harness_pty_open(&pty), 0, "pty: %s", strerror(errno));
	struct termios before, after;
	cr_assert_eq(tcgetattr(pty.slave, &before), 0);
	struct guest_opts o = {.cmdline = c->cmdline,
			       .extra_ini = ini,
			       .console_input = true,
			       .pty = &pty,
			       .timings = TIMINGS_JSON};
	if (c->forbidden) {
		o.minnow = harness_minnow_testhooks();
		setenv("MINNOW_TEST_FORBIDDEN_SYSCALL", c->forbidden, 1);
	}
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s: %s", c->name, r.desc);
	if (c->sig || c->escape) {
		bool idle = guest_wait_output(&r, "minnow-test: idle", WAIT_MS);
		cr_expect(idle, "%s: never idle", c->name);
		if (c->escape)
			cr_expect_eq(write(pty.master, "\x01x", 2), 2);
		else
			kill(r.pid, c->sig);
	}
	guest_wait(&r);
	cr_assert(r.ran && !r.timed_out && r.signal == 0, "%s: %s", c->name, guest_ctx(&r));
	char reason[32] = "";
	guest_json(r.err, "exit_reason", reason, sizeof(reason));
	cr_expect_eq(r.status, c->status, "%s: %s", c->name, guest_ctx(&r));
	cr_expect_str_eq(reason, c->reason, "%s: %s", c->name, guest_ctx(&r));
	if (c->forbidden) {
		char want[96];
		snprintf(want, sizeof(want), "seccomp: thread %s%s made forbidden syscall sysinfo",
			 c->forbidden, strcmp(c->forbidden, "vcpu") ? "" : " 0");
		cr_expect(strstr(r.err, want), "%s: stderr should say '%s': %s", c->name, want,
			  guest_ctx(&r));
	}
	cr_expect_eq(tcgetattr(pty.slave, &after), 0);
	cr_expect(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag,
		  "%s: terminal settings not restored", c->name);
	harness_pty_close(&pty);
	rmdir(d.root);
	rmdir(d.dir);
	guest_result_free(&r);
}

/* ---- pivot_root: minnow started where / is a bind mount, not an initramfs ---- */

static char pivot_base[4200];

/* In the harness's child: a mount namespace whose / is a bind of the host's. */
static void root_on_bind(void)
{
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)) || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("/", pivot_base, NULL, MS_BIND | MS_REC, NULL) < 0 || chdir(pivot_base) < 0 ||
	    chroot(".") < 0 || chdir(cwd) < 0)
		_exit(126);
}

Test(jail, pivot_root)
{
	harness_require_kvm();
	struct jail_dirs d;
	jail_dirs(&d);
	snprintf(pivot_base, sizeof(pivot_base), "%s/base", d.dir);
	cr_assert_eq(mkdir(pivot_base, 0755), 0);
	char ini[8400];
	jail_ini(ini, sizeof(ini), &d, NULL);
	const char *args[] = {"-v", NULL};
	struct guest_opts o = {
	    .cmdline = "test=hello", .extra_ini = ini, .args = args, .in_child = root_on_bind};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	cr_expect(strstr(r.err, "jail: pivot_root into "), "want pivot_root: %s", guest_ctx(&r));
	rmdir(pivot_base);
	rmdir(d.root);
	rmdir(d.dir);
	guest_result_free(&r);
}

/* ---- cgroup v2 ---- */

/* A cgroup2 mount with the memory and pids controllers, into out: the
 * host's, or one this test mounts in a mount namespace of its own. NULL,
 * or why not. */
static const char *cgroup2(char *out, size_t len, char *why, size_t wlen)
{
	char *mi = (char *)harness_read_file("/proc/self/mountinfo", NULL);
	bool found = false;
	for (char *line = mi ? strtok(mi, "\n") : NULL; line && !found; line = strtok(NULL, "\n")) {
		char mnt[4096];
		if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1)
			found = snprintf(out, len, "%s", mnt) > 0;
	}
	free(mi);
	if (!found) {
		snprintf(out, len, "%s/minnow-cg2-XXXXXX", harness_tmpdir());
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    !mkdtemp(out) || mount("cgroup2", out, "cgroup2", 0, NULL) < 0) {
			snprintf(why, wlen, "no cgroup2 file system, and mounting one failed: %s",
				 strerror(errno));
			return why;
		}
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", out);
	char *ctl = (char *)harness_read_file(path, NULL);
	bool ok = ctl && strstr(ctl, "memory") && strstr(ctl, "pids");
	snprintf(why, wlen, "cgroup v2 at %s lacks memory or pids (controllers: %s)", out,
		 ctl ? ctl : "?");
	free(ctl);
	return ok ? NULL : why;
}

Test(jail, cgroup)
{
	harness_require_kvm();
	char mnt[4096], why[4400];
	if (cgroup2(mnt, sizeof(mnt), why, sizeof(why)))
		cr_skip_test("%s", why);
	struct jail_dirs d;
	jail_dirs(&d);
	char ini[8400];
	jail_ini(ini, sizeof(ini), &d, NULL);
	strcat(ini, "cgroup = minnow-test\nmemory_max = 512M\npids_max = 16\n");
	struct guest_opts o = {.cmdline = "test=idle", .extra_ini = ini};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool idle = guest_wait_output(&r, "minnow-test: idle", WAIT_MS);
	pid_t c = idle ? vmm_of(r.pid) : 0;
	char cg[4400], path[9000], want[128];
	snprintf(cg, sizeof(cg), "%s/minnow-test/minnow-%d", mnt, (int)r.pid);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)c);
	char *own = c ? (char *)harness_read_file(path, NULL) : NULL;
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	char *mem = (char *)harness_read_file(path, NULL);
	snprintf(path, sizeof(path), "%s/pids.max", cg);
	char *pids = (char *)harness_read_file(path, NULL);
	kill(r.pid, SIGTERM);
	guest_wait(&r);
	cr_assert(idle && c, "the jailed guest never idled: %s", guest_ctx(&r));
	snprintf(want, sizeof(want), "0::/minnow-test/minnow-%d\n", (int)r.pid);
	cr_expect(own && strstr(own, want), "the VMM's cgroup: want %s, got %s", want,
		  own ? own : "?");
	cr_expect(mem && !strcmp(mem, "536870912\n"), "memory.max: %s", mem ? mem : "?");
	cr_expect(pids && !strcmp(pids, "16\n"), "pids.max: %s", pids ? pids : "?");
	cr_expect_eq(r.status, 128 + SIGTERM, "%s", guest_ctx(&r));
	struct stat st;
	cr_expect(stat(cg, &st) < 0, "the VM's cgroup %s must be removed", cg);
	free(own);
	free(mem);
	free(pids);
	rmdir(d.root);
	rmdir(d.dir);
	guest_result_free(&r);
}

/* ---- bad input: one line, status 2, nothing started ---- */

struct bad_case {
	const char *name;
	const char *dir; /* "ROOT": the good DIR; "FILE": a file; else as given */
	const char *uid;
	bool as_nobody;
	const char *line; /* the whole of stderr after "minnow: " */
};

static const struct bad_case bad_cases[] = {
    {"DIR missing", "/nonexistent/jail", "4242", false,
     "--jail /nonexistent/jail: [jail] dir: No such file or directory: /nonexistent/jail\n"},
    {"DIR a file", "FILE", "4242", false, "[jail] dir: not a directory: "},
    {"unknown user", "ROOT", "no-such-user-here", false,
     "--uid no-such-user-here: [jail] uid: unknown user 'no-such-user-here' (not a number, "
     "not in /etc/passwd)\n"},
    {"uid 0", "ROOT", "0", false, "--uid 0: [jail] uid: uid 0 is root: the jail needs another\n"},
    {"not root", "ROOT", "4242", true,
     "[jail] needs root (it mounts, makes namespaces and switches to uid 4242)\n"},
};

ParameterizedTestParameters(jail, bad_input)
{
	HARNESS_ROWS(bad_cases);
}

ParameterizedTest(int *row, jail, bad_input)
{
	const struct bad_case *c = &bad_cases[*row];
	struct jail_dirs d;
	jail_dirs(&d);
	char ini[4400], file[4400], dir[4400];
	snprintf(ini, sizeof(ini), "%s/vm.ini", d.dir);
	snprintf(file, sizeof(file), "%s/file", d.dir);
	FILE *f = fopen(ini, "we");
	cr_assert(f);
	fprintf(f, "[kernel]\npath = %s\n", harness_firmware(FW_PVH));
	fclose(f);
	cr_assert_eq(chmod(ini, 0644), 0);
	f = fopen(file, "we");
	cr_assert(f);
	fclose(f);
	snprintf(dir, sizeof(dir), "%s",
		 !strcmp(c->dir, "ROOT")   ? d.root
		 : !strcmp(c->dir, "FILE") ? file
					   : c->dir);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		if (c->as_nobody && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
				     setresuid(65534, 65534, 65534) < 0))
			_exit(125);
		execl(harness_minnow(), harness_minnow(), "run", ini, "--jail", dir, "--uid",
		      c->uid, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char err[4096];
	size_t n = 0;
	ssize_t got;
	while (n < sizeof(err) - 1 && (got = read(p[0], err + n, sizeof(err) - 1 - n)) > 0)
		n += (size_t)got;
	err[n] = '\0';
	close(p[0]);
	int ws;
	waitpid(pid, &ws, 0);
	cr_expect(WIFEXITED(ws) && WEXITSTATUS(ws) == 2, "%s: want status 2 (stderr: %s)", c->name,
		  err);
	cr_expect(!strncmp(err, "minnow: ", 8) && strstr(err, c->line) &&
		      strchr(err, '\n') == err + n - 1,
		  "%s: want one line with '%s', got '%s'", c->name, c->line, err);
	char first[256] = "";
	cr_expect(dir_empty(d.root, first, sizeof(first)), "%s: DIR changed: %s", c->name, first);
	unlink(ini);
	unlink(file);
	rmdir(d.root);
	rmdir(d.dir);
}
