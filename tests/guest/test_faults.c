/* test_faults.c - faults lose nothing: data the guest wrote and flushed is
 * in the image after minnow is killed with SIGKILL (cache = writeback and
 * none); the image lock: a second writer is refused in one line with status
 * 2 before any VM starts, readers share an image; an image truncated, a TAP
 * deleted and a vsock peer vanishing under a running VM: one line, an error
 * or a reset for the guest, the VM runs on. (A full host file system:
 * virtio/blk_ioerr; the device-level cases and a deleted image: the unit
 * tests, README.md "Faults".) */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define SECTOR	   512u
#define IMAGE_SIZE (1u << 20) /* 2048 sectors */

/* The firmware's pattern for word i of sector s (firmware/virtio_blk.c). */
static uint64_t blk_pattern(uint64_t s, unsigned i)
{
	return (s * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)i * 0xC2B2AE3D27D4EB4Full) ^
	       0x6d696e6e6f772121ull;
}

/* What test=blk-flush writes (firmware/blk_flush.c): sectors [first,
 * first + n), first -1 the last sector. */
static const struct {
	long long first;
	unsigned n;
} flush_writes[] = {{0, 1}, {8, 64}, {1024, 64}, {-1, 1}};

/* `img` as test=blk-flush leaves it: its pattern over flush_writes. */
static void apply_flush_writes(uint8_t *img, uint64_t sectors)
{
	for (size_t w = 0; w < HARNESS_N(flush_writes); w++) {
		uint64_t first =
		    flush_writes[w].first < 0 ? sectors - 1 : (uint64_t)flush_writes[w].first;
		for (uint64_t s = first; s < first + flush_writes[w].n; s++)
			for (unsigned i = 0; i < SECTOR / 8; i++) {
				uint64_t v = blk_pattern(s, i);
				memcpy(img + s * SECTOR + i * 8, &v, 8); /* little endian host */
			}
	}
}

/* Asserts that image `img` holds exactly `want` (IMAGE_SIZE bytes); `what`
 * begins the message. */
static void expect_image(const char *img, const uint8_t *want, const char *what,
			 struct guest_result *r)
{
	size_t len = 0;
	uint8_t *got = harness_read_file(img, &len);
	cr_assert(got && len == IMAGE_SIZE, "%s: image %s is %zu bytes, want %u", what, img, len,
		  IMAGE_SIZE);
	size_t diff = 0;
	while (diff < IMAGE_SIZE && got[diff] == want[diff])
		diff++;
	cr_expect_eq(diff, IMAGE_SIZE,
		     "%s: the image differs at byte %zu (sector %zu): got 0x%02x want 0x%02x: %s",
		     what, diff, diff / SECTOR, diff < IMAGE_SIZE ? got[diff] : 0,
		     diff < IMAGE_SIZE ? want[diff] : 0, guest_ctx(r));
	free(got);
}

/* ---- Durability: FLUSH acknowledged, then SIGKILL ---- */

struct durable_case {
	const char *cache;
	bool direct; /* the image must lie where O_DIRECT works */
};

static const struct durable_case durable_cases[] = {
    {"writeback", false},
    {"none", true},
};

ParameterizedTestParameters(faults, flushed_writes_survive_sigkill)
{
	HARNESS_ROWS(durable_cases);
}

/* The guest writes, FLUSHes and, once the flush is acknowledged, says
 * "flushed"; the test kills minnow with SIGKILL at once and the image must
 * hold every acknowledged write, byte for byte, and nothing else changed.
 * (SIGKILL leaves no chance to write anything back at exit: what is not in
 * the kernel when the flush completes is lost. That the flush itself waits
 * for fdatasync(): unit test virtio_blk/flush_completes_after_the_sync.) */
ParameterizedTest(int *row, faults, flushed_writes_survive_sigkill)
{
	const struct durable_case *c = &durable_cases[*row];
	harness_require_kvm();
	const char *dir = NULL;
	char why[1024];
	if (c->direct) {
		dir = harness_direct_dir(why, sizeof(why));
		if (!dir)
			cr_skip_test("cache = none: no directory with O_DIRECT here (%s)", why);
	}
	char img[4096], ini[4300];
	uint8_t *want;
	harness_temp_file(dir, "durable", IMAGE_SIZE, img, sizeof(img), &want);
	snprintf(ini, sizeof(ini), "[drive.d0]\npath = %s\ncache = %s\n", img, c->cache);
	struct guest_opts o = {.cmdline = "test=blk-flush", .extra_ini = ini};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "cache = %s: %s", c->cache, r.desc);
	bool flushed = guest_wait_output(&r, "minnow-test: blk-flush flushed", 20000);
	if (flushed)
		cr_assert_eq(kill(r.pid, SIGKILL), 0, "kill: %s", strerror(errno));
	guest_wait(&r);
	cr_assert(flushed, "cache = %s: the guest never saw its flush acknowledged: %s", c->cache,
		  guest_ctx(&r));
	cr_assert_eq(r.signal, SIGKILL, "cache = %s: minnow must have died of the SIGKILL: %s",
		     c->cache, guest_ctx(&r));

	apply_flush_writes(want, IMAGE_SIZE / SECTOR);
	char what[64];
	snprintf(what, sizeof(what), "cache = %s: after SIGKILL", c->cache);
	expect_image(img, want, what, &r);
	free(want);
	unlink(img);
	guest_result_free(&r);
}

/* ---- A guest's last requests: kicked, then the guest exits at once ---- */

/* The guest queues the blk-flush writes, kicks once and exits without
 * waiting: the exit may reach minnow's event loop before the doorbell does,
 * and minnow must still serve the writes before it ends. Several rounds,
 * since an unserved doorbell is a race (one an idle host rarely loses: the
 * doorbell usually wakes the loop first; a loaded one, as in L1, does). */
Test(faults, last_requests_before_exit_are_served, .timeout = 120)
{
	harness_require_kvm();
	for (int round = 0; round < 10; round++) {
		char img[4096], ini[4300];
		uint8_t *want;
		harness_temp_file(NULL, "lastwords", IMAGE_SIZE, img, sizeof(img), &want);
		snprintf(ini, sizeof(ini), "[drive.d0]\npath = %s\n", img);
		struct guest_opts o = {.cmdline = "test=blk-last-words", .extra_ini = ini};
		struct guest_result r;
		guest_run_ok(&o, &r);
		cr_assert_eq(r.status, 0, "round %d: %s", round, guest_ctx(&r));
		cr_assert(guest_has_line(&r, "blk-last-words kicking"), "round %d: %s", round,
			  guest_ctx(&r));
		apply_flush_writes(want, IMAGE_SIZE / SECTOR);
		char what[64];
		snprintf(what, sizeof(what), "round %d: after the guest's exit", round);
		expect_image(img, want, what, &r);
		free(want);
		unlink(img);
		guest_result_free(&r);
	}
}

/* ---- The image lock ---- */

/* Starts minnow with `img` as its drive (read-only or not) and a guest
 * that idles; returns once the guest runs (the drive is open and locked
 * before the VM starts). */
static void start_holder(struct guest_result *r, struct guest_opts *o, char *ini, size_t len,
			 const char *img, bool readonly)
{
	snprintf(ini, len, "[drive.d0]\npath = %s\nreadonly = %s\n", img, readonly ? "on" : "off");
	*o = (struct guest_opts){.cmdline = "test=idle", .extra_ini = ini, .timeout_ms = 60000};
	cr_assert_eq(guest_start(o, r), 0, "%s", r->desc);
	cr_assert(guest_wait_output(r, "minnow-test: idle", 20000),
		  "the first minnow (readonly = %s) did not start: %s", readonly ? "on" : "off",
		  guest_ctx(r));
}

/* Ends the holder with SIGTERM and checks that it ran until then. */
static void stop_holder(struct guest_result *r)
{
	cr_assert_eq(kill(r->pid, SIGTERM), 0);
	guest_wait(r);
	cr_expect(!r->timed_out && r->status == 128 + SIGTERM,
		  "the first minnow must end by the SIGTERM (status 143): %s", guest_ctx(r));
	guest_result_free(r);
}

/* Runs a second minnow on `img` (read-only or not) and checks the answer:
 * refused (status 2, one line naming the ini's line, no guest) or a guest
 * that reads the drive and exits 0. */
static void second_user(const char *img, bool readonly, bool refused, const char *holder)
{
	char ini[4300];
	snprintf(ini, sizeof(ini), "[drive.d0]\npath = %s\nreadonly = %s\n", img,
		 readonly ? "on" : "off");
	struct guest_opts o = {.cmdline = "test=exit:0", .extra_ini = ini};
	struct guest_result r;
	cr_assert_eq(guest_run(&o, &r), 0, "%s", r.desc);
	const char *what = readonly ? "a read-only user" : "a second writer";
	if (!refused) {
		cr_expect(r.status == 0 && strstr(r.out, "minnow-test: exit:0"),
			  "%s must be allowed while %s holds the image: %s", what, holder,
			  guest_ctx(&r));
		guest_result_free(&r);
		return;
	}
	char want[4200];
	snprintf(want, sizeof(want), "[drive.d0] %s: in use by another process (flock)\n", img);
	cr_expect_eq(r.status, 2, "%s must be refused with status 2 while %s holds the image: %s",
		     what, holder, guest_ctx(&r));
	const char *line = strstr(r.err, want);
	cr_expect(line != NULL, "%s: want '%s' on stderr: %s", what, want, guest_ctx(&r));
	/* One line, which names the ini file and the line of the drive's path. */
	char head[4200];
	snprintf(head, sizeof(head), "minnow: %s:", r.ini);
	cr_expect(line && strchr(r.err, '\n') == line + strlen(want) - 1 &&
		      !strncmp(r.err, head, strlen(head)) &&
		      strtol(r.err + strlen(head), NULL, 10) > 0,
		  "%s: the refusal must be one line 'minnow: INI:LINE: [drive.d0] ...': %s", what,
		  guest_ctx(&r));
	cr_expect(strstr(r.out, "minnow-test:") == NULL, "%s: no VM may start when refused: %s",
		  what, guest_ctx(&r));
	guest_result_free(&r);
}

/* A running writer holds the image exclusively: a second writer and a
 * reader are refused. Readers share it: another reader runs, a writer is
 * refused. */
Test(faults, image_lock_refuses_a_second_writer_and_readers_share, .timeout = 120)
{
	harness_require_kvm();
	char img[4096], ini[4300];
	harness_temp_file(NULL, "lock", IMAGE_SIZE, img, sizeof(img), NULL);
	struct guest_opts o;
	struct guest_result holder;

	start_holder(&holder, &o, ini, sizeof(ini), img, false);
	second_user(img, false, true, "a writer");
	second_user(img, true, true, "a writer");
	stop_holder(&holder);

	start_holder(&holder, &o, ini, sizeof(ini), img, true);
	second_user(img, true, false, "a reader");
	second_user(img, false, true, "a reader");
	stop_holder(&holder);

	/* The lock goes with the process: a writer runs now. */
	second_user(img, false, false, "nobody");
	unlink(img);
}

/* ---- Faults under a running VM, end to end ---- */

/* Lines of stderr that hold `needle`, and lines in all. */
static unsigned lines_with(const char *err, const char *needle, unsigned *all)
{
	unsigned n = 0;
	*all = 0;
	for (const char *p = err; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[1024];
		snprintf(line, sizeof(line), "%.*s",
			 (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
		n += strstr(line, needle) != NULL;
		(*all)++;
		p += len + (eol ? 1 : 0);
	}
	return n;
}

/* The image is truncated to half while the guest runs: the guest's reads
 * past the new end get IOERR (every time), the rest still reads, no reset;
 * minnow says why in its lines (one per failed read, rate-limited) and
 * nothing else, and the VM runs to its end (status 0). */
Test(faults, image_truncated_under_a_running_vm)
{
	harness_require_kvm();
	char img[4096], ini[4300];
	harness_temp_file(NULL, "trunc", IMAGE_SIZE, img, sizeof(img), NULL);
	snprintf(ini, sizeof(ini), "[drive.d0]\npath = %s\n", img);
	struct guest_opts o = {.cmdline = "test=blk-truncated", .extra_ini = ini};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool ready = guest_wait_output(&r, "minnow-test: blk-truncated ready", 20000);
	int tr = ready ? truncate(img, IMAGE_SIZE / 2) : 0;
	int e = errno;
	guest_wait(&r);
	guest_assert_ran(&r);
	cr_assert(ready, "the guest never got ready: %s", guest_ctx(&r));
	cr_assert_eq(tr, 0, "truncate %s: %s", img, strerror(e));
	cr_expect_eq(r.status, 0, "minnow must run the VM to its end: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "blk-truncated ok"), "no 'blk-truncated ok': %s",
		  guest_ctx(&r));
	char want[256];
	snprintf(want, sizeof(want),
		 "the image is now %u bytes, shorter than the drive's %u sectors", IMAGE_SIZE / 2,
		 IMAGE_SIZE / SECTOR);
	unsigned all, about = lines_with(r.err, want, &all);
	cr_expect(about >= 1 && about == all, "want only lines saying '%s' (%u of %u): %s", want,
		  about, all, guest_ctx(&r));
	unlink(img);
	guest_result_free(&r);
}

/* The TAP is deleted (`ip link del`) while the guest drives the card:
 * minnow says so in one line, the guest sees DEVICE_NEEDS_RESET and, after
 * a reset, cannot bring the card up again; the VM runs to its end. */
Test(faults, tap_deleted_under_a_running_vm)
{
	harness_require_kvm();
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		cr_skip_test("no usable /dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("cannot make a network namespace (needs CAP_NET_ADMIN): %s",
			     strerror(errno));
	char tap[IFNAMSIZ], ini[128];
	snprintf(tap, sizeof(tap), "mfault%d", (int)getpid() % 100000);
	snprintf(ini, sizeof(ini), "[net.n0]\ntap = %s\n", tap);
	struct guest_opts o = {.cmdline = "test=net-gone", .extra_ini = ini};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool ready = guest_wait_output(&r, "minnow-test: net-gone ready", 20000);
	int del = ready ? harness_link_delete(tap) : 0;
	guest_wait(&r);
	guest_assert_ran(&r);
	cr_assert(ready, "the guest never got ready: %s", guest_ctx(&r));
	cr_assert_eq(del, 0, "RTM_DELLINK %s: %s", tap, strerror(-del));
	cr_expect_eq(r.status, 0, "minnow must run the VM to its end: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "net-gone ok"), "no 'net-gone ok': %s", guest_ctx(&r));
	unsigned all, about = lines_with(r.err, "the TAP device is gone", &all);
	unsigned refused = lines_with(r.err, "activation failed: No such device", &all);
	cr_expect(about == 1 && refused == 1 && all == 2,
		  "want one line saying the TAP device is gone and one for the refused "
		  "re-activation: %s",
		  guest_ctx(&r));
	guest_result_free(&r);
}

/* A Unix stream listener at `path`; asserts. */
static int listen_at(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	cr_assert_lt(strlen(path), sizeof(a.sun_path), "%s: too long: set a shorter TMPDIR", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0,
		  "listen on %s: %s", path, strerror(errno));
	return fd;
}

/* The next connection on listener `lfd`, waiting at most 10 s; -1 if none. */
static int accept_within(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	if (poll(&p, 1, 10000) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* The host program behind a guest's vsock connection vanishes: its end is
 * closed with the guest's line unread (what the kernel does for a crashed
 * program). The guest gets an RST for that connection, minnow logs one
 * line, and a new connection to the same port works; the VM runs to its
 * end. */
Test(faults, vsock_peer_vanishes_under_a_running_vm)
{
	harness_require_kvm();
	char dir[4096], uds[4200], port[4300], ini[4400];
	cr_assert_eq(harness_mkdtemp("vsock", dir, sizeof(dir)), 0, "mkdtemp: %s", strerror(errno));
	snprintf(uds, sizeof(uds), "%s/v", dir);
	snprintf(port, sizeof(port), "%s_5700", uds);
	int lfd = listen_at(port);
	snprintf(ini, sizeof(ini), "[vsock]\ncid = 3\nuds_path = %s\n", uds);
	struct guest_opts o = {.cmdline = "test=vsock-peer-gone", .extra_ini = ini};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool ready = guest_wait_output(&r, "minnow-test: vsock-peer-gone ready", 20000);
	int first = ready ? accept_within(lfd) : -1;
	if (first >= 0)
		close(first); /* the guest's line still unread */
	int second = first >= 0 ? accept_within(lfd) : -1;
	char line[64] = "";
	bool got = second >= 0 && harness_read_line(second, line, sizeof(line), 10000);
	if (got)
		cr_assert_eq(write(second, "alive\n", 6), 6);
	guest_wait(&r);
	if (second >= 0)
		close(second);
	close(lfd);
	unlink(port);
	rmdir(dir);
	guest_assert_ran(&r);
	cr_assert(ready, "the guest never got ready: %s", guest_ctx(&r));
	cr_assert_geq(first, 0, "the guest's connection never reached the host: %s", guest_ctx(&r));
	cr_expect(got && !strcmp(line, "again"), "the second connection's line: '%s': %s", line,
		  guest_ctx(&r));
	cr_expect_eq(r.status, 0, "minnow must run the VM to its end: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "vsock-peer-gone rst=1"),
		  "the guest must get an RST for the dead connection: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "vsock-peer-gone ok"), "no 'vsock-peer-gone ok': %s",
		  guest_ctx(&r));
	unsigned all, about = lines_with(r.err, "host port 5700: Connection reset by peer", &all);
	cr_expect(about == 1 && all == 1, "want one line about the reset connection: %s",
		  guest_ctx(&r));
	guest_result_free(&r);
}
