/* test_virtio.c - the minnow-test firmware driving minnow's virtio-mmio
 * devices on /dev/kvm: rng, blk (image checked byte for byte), net (TAP in
 * a network namespace, ARP + ping), console, vsock (both directions through
 * the Unix-socket protocol), several devices with reset, malicious drivers,
 * and the CPL3 blk benchmark. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SECTOR 512u

/* Set when a failure message has carried the whole output once. */
static bool ctx_shown;

/* The run, the outcome and the output, for assertion messages; after the
 * first call for a run only the outcome (the output was printed above).
 * Only ever evaluated for failing assertions. */
static const char *ctx(const struct guest_result *r)
{
	static char buf[12288];
	if (ctx_shown) {
		snprintf(buf, sizeof(buf), "%s (output above)", r->desc);
		return buf;
	}
	ctx_shown = true;
	snprintf(buf, sizeof(buf), "%s\n--- stdout ---\n%.5000s\n--- stderr ---\n%.4000s", r->desc,
		 r->out ? r->out : "", r->err ? r->err : "");
	return buf;
}

/* Runs the VM (skipping without /dev/kvm) and insists that it ran and
 * finished in time. */
static void run(const struct guest_opts *o, struct guest_result *r)
{
	harness_require_kvm();
	int rc = guest_run(o, r);
	cr_assert_eq(rc, 0, "could not run minnow: %s", r->desc);
	cr_assert(!r->timed_out, "minnow did not finish: %s", ctx(r));
	cr_assert_eq(r->signal, 0, "minnow died: %s", ctx(r));
	cr_assert(strstr(r->out, "minnow-test: ") != NULL,
		  "the guest never ran (configuration refused?): %s", ctx(r));
}

static bool has_line(const struct guest_result *r, const char *prefix)
{
	char line[8];
	return guest_line(r->out, prefix, line, sizeof(line)) != NULL;
}

/* A temporary file of `len` bytes: random (pattern = false) or a cheap
 * non-zero pattern. Contents returned in *data (malloc'd) when data. */
static void temp_file(const char *tag, size_t len, char *path, size_t path_len, uint8_t **data)
{
	snprintf(path, path_len, "/tmp/minnow-%s-XXXXXX", tag);
	int fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	uint8_t *buf = malloc(len);
	cr_assert(buf != NULL);
	uint64_t x = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() ^ len;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)(x >> 24);
	}
	cr_assert_eq(write(fd, buf, len), (ssize_t)len, "write %s", path);
	close(fd);
	if (data)
		*data = buf;
	else
		free(buf);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	*len = n;
	return buf;
}

/* The firmware's pattern for word i of sector s (firmware/virtio_blk.c). */
static uint64_t blk_pattern(uint64_t s, unsigned i)
{
	return (s * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)i * 0xC2B2AE3D27D4EB4Full) ^
	       0x6d696e6e6f772121ull;
}

static void apply_pattern(uint8_t *img, uint64_t first, uint64_t n)
{
	for (uint64_t s = first; s < first + n; s++)
		for (unsigned i = 0; i < SECTOR / 8; i++) {
			uint64_t v = blk_pattern(s, i);
			memcpy(img + s * SECTOR + i * 8, &v, 8); /* little endian host */
		}
}

/* First differing byte, or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* Lines of stderr about virtio-mmio slot `slot`: naming "slot N" (N not
 * followed by another digit) or "blk". */
static unsigned count_device_lines(const char *err, unsigned slot)
{
	char needle[32];
	snprintf(needle, sizeof(needle), "slot %u", slot);
	unsigned n = 0;
	for (const char *p = err; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[1024];
		snprintf(line, sizeof(line), "%.*s",
			 (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
		const char *m = strstr(line, needle);
		if ((m && !isdigit((unsigned char)m[strlen(needle)])) || strstr(line, "blk"))
			n++;
		p += len + (eol ? 1 : 0);
	}
	return n;
}

/* ---- rng ---- */

Test(virtio, rng)
{
	struct guest_opts o = {.cmdline = "test=virtio-rng", .extra_ini = "[rng]\n"};
	struct guest_result r;
	run(&o, &r);
	char a[256], b[256];
	cr_expect_eq(r.status, 0, "virtio-rng must exit 0: %s", ctx(&r));
	cr_expect(has_line(&r, "virtio-rng ok"), "no 'virtio-rng ok': %s", ctx(&r));
	cr_assert(guest_line(r.out, "virtio-rng read1 len=64 data=", a, sizeof(a)) &&
		      guest_line(r.out, "virtio-rng read2 len=64 data=", b, sizeof(b)),
		  "want two 64-byte reads: %s", ctx(&r));
	cr_expect_eq(strlen(a), 128, "read1 hex: %s", ctx(&r));
	cr_expect_eq(strlen(b), 128, "read2 hex: %s", ctx(&r));
	cr_expect_str_neq(a, b, "the two reads are equal: %s", ctx(&r));
	guest_result_free(&r);
}

/* ---- blk ---- */

#define BLK_RW_SIZE (4u << 20)
#define BLK_RO_SIZE (1u << 20)

struct range {
	uint64_t first, n;
};

Test(virtio, blk)
{
	harness_require_kvm();
	char rw[64], ro[64], ini[512];
	uint8_t *rw_data, *ro_data;
	temp_file("rw", BLK_RW_SIZE, rw, sizeof(rw), &rw_data);
	temp_file("ro", BLK_RO_SIZE, ro, sizeof(ro), &ro_data);
	snprintf(ini, sizeof(ini),
		 "[drive.rw]\npath = %s\nserial = minnow-serial-1\n\n"
		 "[drive.ro]\npath = %s\nreadonly = on\n",
		 rw, ro);
	struct guest_opts o = {.cmdline = "test=virtio-blk", .extra_ini = ini};
	struct guest_result r;
	run(&o, &r);
	size_t rw_len = 0, ro_len = 0;
	uint8_t *rw_after = read_file(rw, &rw_len), *ro_after = read_file(ro, &ro_len);
	unlink(rw);
	unlink(ro);

	char line[512];
	cr_expect_eq(r.status, 0, "virtio-blk must exit 0: %s", ctx(&r));
	cr_expect(has_line(&r, "virtio-blk ok"), "no 'virtio-blk ok': %s", ctx(&r));
	cr_expect(has_line(&r, "virtio-blk drives rw=1 ro=1"),
		  "want one rw and one ro drive (the readonly drive must offer "
		  "VIRTIO_BLK_F_RO): %s",
		  ctx(&r));
	cr_expect(guest_line(r.out, "virtio-blk slot=", line, sizeof(line)) != NULL &&
		      strstr(r.out, "capacity=8192 ") && strstr(r.out, "capacity=2048 "),
		  "capacities 8192 and 2048 sectors: %s", ctx(&r));
	cr_expect(strstr(r.out, "get_id status=ok serial=minnow-serial-1\n") != NULL,
		  "GET_ID must return the configured serial: %s", ctx(&r));
	cr_expect(guest_line(r.out, "virtio-blk beyond-capacity ", line, sizeof(line)) &&
		      !strcmp(line, "read=ioerr straddle=ioerr write=ioerr"),
		  "requests past the end must get VIRTIO_BLK_S_IOERR: %s", ctx(&r));

	/* Read-only drive: the write was refused, the file is unchanged, the
	 * guest read the right data. */
	cr_expect(guest_line(r.out, "virtio-blk ro write status=", line, sizeof(line)) &&
		      (!strcmp(line, "ioerr") || !strcmp(line, "unsupp")),
		  "a write to a read-only drive must get IOERR or UNSUPP: %s", ctx(&r));
	cr_log_info("virtio-blk: write to the read-only drive answered %s", line);
	cr_expect(ro_after && ro_len == BLK_RO_SIZE && !memcmp(ro_after, ro_data, BLK_RO_SIZE),
		  "the read-only image changed (first difference at %ld)",
		  ro_after && ro_len == BLK_RO_SIZE ? first_diff(ro_after, ro_data, BLK_RO_SIZE)
						    : -2L);
	char want[64];
	snprintf(want, sizeof(want), "sector0 fnv1a=0x%08x", harness_fnv1a(ro_data, SECTOR));
	cr_expect(strstr(r.out, want) != NULL, "read-only drive sector 0: want %s: %s", want,
		  ctx(&r));

	/* The read-write image, byte for byte. */
	uint64_t cap = BLK_RW_SIZE / SECTOR;
	const struct range written[] = {{0, 1},	   {5, 4},	 {33, 8},
					{200, 16}, {cap / 2, 1}, {cap - 1, 1}};
	for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
		apply_pattern(rw_data, written[i].first, written[i].n);
	static const struct {
		const char *name;
		uint64_t first;
	} zeroed[] = {{"discard", 64}, {"write-zeroes", 96}};
	for (size_t i = 0; i < 2; i++) {
		char key[64];
		snprintf(key, sizeof(key), "virtio-blk %s first=%llu n=16 status=", zeroed[i].name,
			 (unsigned long long)zeroed[i].first);
		if (guest_line(r.out, key, line, sizeof(line))) {
			cr_expect_str_eq(line, "ok", "%s: %s", zeroed[i].name, ctx(&r));
			memset(rw_data + zeroed[i].first * SECTOR, 0, 16 * SECTOR);
		} else {
			snprintf(key, sizeof(key), "virtio-blk %s not offered", zeroed[i].name);
			cr_expect(has_line(&r, key), "no %s result: %s", zeroed[i].name, ctx(&r));
			cr_log_warn("virtio-blk: %s not offered by the device", zeroed[i].name);
		}
	}
	cr_assert(rw_after != NULL && rw_len == BLK_RW_SIZE, "image size %zu, want %u", rw_len,
		  BLK_RW_SIZE);
	long d = first_diff(rw_after, rw_data, BLK_RW_SIZE);
	cr_expect_eq(d, -1,
		     "image differs from the expected contents at byte %ld (sector %ld): got "
		     "0x%02x want 0x%02x: %s",
		     d, d / (long)SECTOR, d >= 0 ? rw_after[d] : 0, d >= 0 ? rw_data[d] : 0,
		     ctx(&r));
	free(rw_after);
	free(ro_after);
	free(rw_data);
	free(ro_data);
	guest_result_free(&r);
}

/* ---- net: a TAP device in a network namespace of our own ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return rc;
}

Test(virtio, net)
{
	harness_require_kvm();
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		cr_skip_test("no usable /dev/net/tun: %s", strerror(errno));
	char ns[64];
	snprintf(ns, sizeof(ns), "minnow-test-%d", (int)getpid());
	if (sh("ip netns add %s 2>/dev/null", ns) != 0)
		cr_skip_test("cannot create a network namespace (ip netns add %s failed)", ns);
	int setup = sh("ip -n %s tuntap add dev mtap0 mode tap && "
		       "ip -n %s addr add 10.0.0.1/24 dev mtap0 && "
		       "ip -n %s link set mtap0 up && ip -n %s link set lo up",
		       ns, ns, ns, ns);
	if (setup != 0) {
		sh("ip netns del %s", ns);
		cr_skip_test("cannot create the TAP device mtap0 in %s", ns);
	}
	/* minnow runs inside the namespace: a wrapper takes its place. */
	char wrapper[64], minnow[4096];
	snprintf(wrapper, sizeof(wrapper), "/tmp/minnow-netns-XXXXXX");
	int fd = mkstemp(wrapper);
	cr_assert(fd >= 0);
	if (!realpath(harness_minnow(), minnow))
		snprintf(minnow, sizeof(minnow), "%s", harness_minnow());
	dprintf(fd, "#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n", ns, minnow);
	fchmod(fd, 0755);
	close(fd);
	setenv("MINNOW", wrapper, 1);

	struct guest_opts o = {.cmdline = "test=virtio-net hostip=10.0.0.1 guestip=10.0.0.2",
			       .extra_ini = "[net.n0]\ntap = mtap0\nmac = 52:54:00:12:34:56\n"};
	struct guest_result r;
	int rc = guest_run(&o, &r);
	sh("ip netns del %s", ns);
	unlink(wrapper);
	cr_assert_eq(rc, 0, "could not run minnow: %s", r.desc);
	cr_assert(!r.timed_out, "minnow did not finish: %s", ctx(&r));
	cr_assert(strstr(r.out, "minnow-test: ") != NULL,
		  "the guest never ran (configuration refused?): %s", ctx(&r));
	cr_expect_eq(r.status, 0, "virtio-net must exit 0: %s", ctx(&r));
	char line[128];
	cr_expect(guest_line(r.out, "virtio-net mac=", line, sizeof(line)) &&
		      !strcmp(line, "52:54:00:12:34:56"),
		  "the MAC in config space must be the configured one: %s", ctx(&r));
	cr_expect(has_line(&r, "virtio-net arp reply host mac="), "no ARP reply: %s", ctx(&r));
	cr_expect(has_line(&r, "ping ok"), "no ICMP echo reply: %s", ctx(&r));
	guest_result_free(&r);
}

/* ---- console: port 0 to a file, input from stdin ---- */

Test(virtio, console)
{
	harness_require_kvm();
	char out[64], ini[256];
	snprintf(out, sizeof(out), "/tmp/minnow-vcons-XXXXXX");
	int fd = mkstemp(out);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(ini, sizeof(ini), "[vconsole]\noutput = file\npath = %s\n", out);
	static const char input[] = "hello vconsole\n";
	struct guest_opts o = {.cmdline = "test=virtio-console",
			       .extra_ini = ini,
			       .stdin_data = input,
			       .stdin_len = sizeof(input) - 1};
	struct guest_result r;
	run(&o, &r);
	size_t len = 0;
	uint8_t *text = read_file(out, &len);
	unlink(out);
	char line[256];
	cr_expect_eq(r.status, 0, "virtio-console must exit 0: %s", ctx(&r));
	cr_expect(guest_line(r.out, "vconsole echo=", line, sizeof(line)) &&
		      !strcmp(line, "hello vconsole"),
		  "want 'vconsole echo=hello vconsole': %s", ctx(&r));
	cr_assert(text != NULL, "no vconsole output file");
	cr_expect(strstr((char *)text, "minnow-test vconsole hello\n") != NULL,
		  "port 0 output file lacks the hello line: '%s'", text);
	cr_expect(strstr((char *)text, "echo:hello vconsole\n") != NULL,
		  "port 0 output file lacks the echo line: '%s'", text);
	free(text);
	guest_result_free(&r);
}

/* [vconsole] output = socket: minnow connects to our Unix socket, which then
 * carries port 0 both ways. */
struct sock_peer {
	int listen_fd;
	char got[512];
};

static void *sock_peer_main(void *arg)
{
	struct sock_peer *p = arg;
	int fd = accept(p->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	static const char line[] = "hello socket\n";
	if (write(fd, line, sizeof(line) - 1) != (ssize_t)(sizeof(line) - 1)) {
		close(fd);
		return NULL;
	}
	size_t len = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	while (len < sizeof(p->got) - 1 && poll(&pfd, 1, 20000) > 0) {
		ssize_t n = read(fd, p->got + len, sizeof(p->got) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (strstr(p->got, "echo:hello socket\n"))
			break;
	}
	p->got[len] = '\0';
	close(fd);
	return NULL;
}

Test(virtio, console_socket)
{
	harness_require_kvm();
	char path[108];
	snprintf(path, sizeof(path), "/tmp/minnow-vcons-%d.sock", (int)getpid());
	unlink(path);
	struct sock_peer peer = {.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert(peer.listen_fd >= 0);
	cr_assert(bind(peer.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert(listen(peer.listen_fd, 1) == 0);
	pthread_t th;
	cr_assert(pthread_create(&th, NULL, sock_peer_main, &peer) == 0);
	char ini[256];
	snprintf(ini, sizeof(ini), "[vconsole]\noutput = socket\npath = %s\n", path);
	struct guest_opts o = {.cmdline = "test=virtio-console", .extra_ini = ini};
	struct guest_result r;
	run(&o, &r);
	pthread_join(th, NULL);
	close(peer.listen_fd);
	unlink(path);
	char line[256];
	cr_expect_eq(r.status, 0, "virtio-console over a socket must exit 0: %s", ctx(&r));
	cr_expect(guest_line(r.out, "vconsole echo=", line, sizeof(line)) &&
		      !strcmp(line, "hello socket"),
		  "want 'vconsole echo=hello socket': %s", ctx(&r));
	cr_expect(strstr(peer.got, "minnow-test vconsole hello\n") != NULL,
		  "socket lacks the hello line: '%s'", peer.got);
	cr_expect(strstr(peer.got, "echo:hello socket\n") != NULL,
		  "socket lacks the echo line: '%s'", peer.got);
	guest_result_free(&r);
}

/* ---- vsock: the host side runs in a thread while the VM runs ---- */

struct vsock_host {
	char uds[108];
	int listen_fd; /* on "<uds>_5678" */
	/* results */
	char ok_line[64];
	char echo[128];
	char from_guest[128];
	bool guest_closed;
	char error[256];
};

/* Reads up to and including '\n' (at most len - 1 bytes), NUL-terminated
 * without the newline, within timeout_ms. */
static bool read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		char c;
		ssize_t got = read(fd, &c, 1);
		if (got <= 0)
			break;
		if (c == '\n') {
			buf[n] = '\0';
			return true;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return false;
}

static void *vsock_host_thread(void *arg)
{
	struct vsock_host *h = arg;
	int fd = -1;
	/* Host -> guest port 1234, once minnow has created its socket. */
	for (int i = 0; i < 200 && fd < 0; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", h->uds);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(fd);
			fd = -1;
			usleep(50000);
		}
	}
	if (fd < 0) {
		snprintf(h->error, sizeof(h->error), "cannot connect to %s", h->uds);
		return NULL;
	}
	static const char connect_cmd[] = "CONNECT 1234\n", data[] = "hello vsock\n";
	if (write(fd, connect_cmd, sizeof(connect_cmd) - 1) != sizeof(connect_cmd) - 1 ||
	    !read_line(fd, h->ok_line, sizeof(h->ok_line), 15000)) {
		snprintf(h->error, sizeof(h->error), "no 'OK <port>' after CONNECT (got '%s')",
			 h->ok_line);
		close(fd);
		return NULL;
	}
	if (write(fd, data, sizeof(data) - 1) != sizeof(data) - 1 ||
	    !read_line(fd, h->echo, sizeof(h->echo), 15000)) {
		snprintf(h->error, sizeof(h->error), "no echo line (got '%s')", h->echo);
		close(fd);
		return NULL;
	}
	close(fd);
	/* Guest -> host port 5678. */
	struct pollfd p = {.fd = h->listen_fd, .events = POLLIN};
	if (poll(&p, 1, 20000) <= 0) {
		snprintf(h->error, sizeof(h->error), "no connection on %s_5678", h->uds);
		return NULL;
	}
	int c = accept(h->listen_fd, NULL, NULL);
	if (c < 0) {
		snprintf(h->error, sizeof(h->error), "accept: %s", strerror(errno));
		return NULL;
	}
	static const char reply[] = "reply from host\n";
	if (!read_line(c, h->from_guest, sizeof(h->from_guest), 15000) ||
	    write(c, reply, sizeof(reply) - 1) != sizeof(reply) - 1) {
		snprintf(h->error, sizeof(h->error), "guest line '%s' / reply failed",
			 h->from_guest);
		close(c);
		return NULL;
	}
	/* The guest shuts the connection down: EOF here. */
	char tmp[64];
	struct pollfd q = {.fd = c, .events = POLLIN};
	h->guest_closed = poll(&q, 1, 15000) > 0 && read(c, tmp, sizeof(tmp)) == 0;
	close(c);
	return NULL;
}

Test(virtio, vsock)
{
	harness_require_kvm();
	struct vsock_host h;
	memset(&h, 0, sizeof(h));
	snprintf(h.uds, sizeof(h.uds), "/tmp/minnow-vsock-%d.sock", (int)getpid());
	char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(listen_path, sizeof(listen_path), "%.90s_5678", h.uds);
	unlink(h.uds);
	unlink(listen_path);
	h.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", listen_path);
	cr_assert(bind(h.listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		      listen(h.listen_fd, 4) == 0,
		  "listen on %s: %s", listen_path, strerror(errno));
	char ini[256];
	snprintf(ini, sizeof(ini), "[vsock]\ncid = 3\nuds_path = %s\n", h.uds);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, vsock_host_thread, &h), 0);
	struct guest_opts o = {
	    .cmdline = "test=virtio-vsock", .extra_ini = ini, .timeout_ms = 60000};
	struct guest_result r;
	int rc = guest_run(&o, &r);
	pthread_join(th, NULL);
	close(h.listen_fd);
	unlink(listen_path);
	unlink(h.uds);
	cr_assert_eq(rc, 0, "could not run minnow: %s", r.desc);
	cr_assert(!r.timed_out, "minnow did not finish: %s", ctx(&r));
	cr_assert(strstr(r.out, "minnow-test: ") != NULL,
		  "the guest never ran (configuration refused?): %s", ctx(&r));
	cr_expect_str_empty(h.error, "host side: %s: %s", h.error, ctx(&r));
	unsigned port = 0;
	cr_expect(sscanf(h.ok_line, "OK %u", &port) == 1 && port > 0,
		  "want 'OK <port>' after CONNECT, got '%s'", h.ok_line);
	cr_expect_str_eq(h.echo, "echo:hello vsock", "echo from the guest's port 1234: %s",
			 ctx(&r));
	cr_expect_str_eq(h.from_guest, "hello from guest", "guest-initiated data: %s", ctx(&r));
	cr_expect(h.guest_closed, "the guest's shutdown did not reach the host socket: %s",
		  ctx(&r));
	char line[128];
	cr_expect(guest_line(r.out, "vsock guest_cid=", line, sizeof(line)) && !strcmp(line, "3"),
		  "guest_cid in config space: %s", ctx(&r));
	cr_expect(guest_line(r.out, "vsock reply=", line, sizeof(line)) &&
		      !strcmp(line, "reply from host"),
		  "the guest did not get the host's reply: %s", ctx(&r));
	cr_expect(has_line(&r, "vsock credit update buf_alloc="),
		  "no CREDIT_UPDATE answer to the guest's CREDIT_REQUEST: %s", ctx(&r));
	cr_expect(guest_line(r.out, "vsock shutdown rst_from_host=", line, sizeof(line)) &&
		      !strcmp(line, "1"),
		  "the host side must answer SHUTDOWN with RST: %s", ctx(&r));
	cr_expect_eq(r.status, 0, "virtio-vsock must exit 0: %s", ctx(&r));
	guest_result_free(&r);
}

/* ---- several devices at once, reset and re-initialisation ---- */

Test(virtio, multi)
{
	harness_require_kvm();
	char img[64], out[64], ini[512];
	uint8_t *data;
	temp_file("multi", 1u << 20, img, sizeof(img), &data);
	snprintf(out, sizeof(out), "/tmp/minnow-vcons-XXXXXX");
	int fd = mkstemp(out);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(ini, sizeof(ini),
		 "[rng]\n\n[drive.d0]\npath = %s\n\n[vconsole]\noutput = file\npath = %s\n", img,
		 out);
	struct guest_opts o = {.cmdline = "test=virtio-multi", .extra_ini = ini};
	struct guest_result r;
	run(&o, &r);
	size_t len = 0, tlen = 0;
	uint8_t *after = read_file(img, &len), *text = read_file(out, &tlen);
	unlink(img);
	unlink(out);
	cr_expect_eq(r.status, 0, "virtio-multi must exit 0: %s", ctx(&r));
	cr_expect(has_line(&r, "virtio-multi ok"), "no 'virtio-multi ok': %s", ctx(&r));
	cr_expect(has_line(&r, "virtio-multi reset ok"), "Status must read 0 after reset: %s",
		  ctx(&r));
	cr_expect(text && strstr((char *)text, "minnow-test vconsole multi round 0\n") &&
		      strstr((char *)text, "minnow-test vconsole multi round 1\n"),
		  "console output before and after reset: '%s'", text ? (char *)text : "");
	apply_pattern(data, 2, 1);
	cr_expect(after && len == (1u << 20) && !memcmp(after, data, len),
		  "image: only sector 2 may change, to the pattern (first difference %ld)",
		  after && len == (1u << 20) ? first_diff(after, data, len) : -2L);
	free(after);
	free(text);
	free(data);
	guest_result_free(&r);
}

/* ---- malicious drivers: the VM keeps running, the device says so ---- */

static void evil(const char *name)
{
	harness_require_kvm();
	char img[64], ini[256], cmdline[64];
	temp_file("evil", 1u << 20, img, sizeof(img), NULL);
	snprintf(ini, sizeof(ini), "[rng]\n\n[drive.victim]\npath = %s\n", img);
	snprintf(cmdline, sizeof(cmdline), "test=evil-%s", name);
	struct guest_opts o = {.cmdline = cmdline, .extra_ini = ini};
	struct guest_result r;
	run(&o, &r);
	unlink(img);
	char key[64];
	cr_expect_eq(r.status, 0, "evil-%s: minnow must keep the VM running and exit 0: %s", name,
		     ctx(&r));
	snprintf(key, sizeof(key), "evil-%s ok", name);
	cr_expect(has_line(&r, key), "no '%s': %s", key, ctx(&r));
	snprintf(key, sizeof(key), "evil-%s rng works", name);
	cr_expect(has_line(&r, key), "the rng device must still work: %s", ctx(&r));
	/* The victim's slot, from the discovery lines. */
	unsigned slot = ~0u;
	for (const char *p = r.out; (p = strstr(p, "minnow-test: virtio slot=")); p++) {
		unsigned s, id;
		if (sscanf(p, "minnow-test: virtio slot=%u id=%u", &s, &id) == 2 && id == 2)
			slot = s;
	}
	cr_assert_neq(slot, ~0u, "no virtio-blk found by the guest: %s", ctx(&r));
	unsigned about = count_device_lines(r.err, slot);
	cr_expect(about > 0, "stderr has no log line about the blk device (slot %u): %s", slot,
		  ctx(&r));
	/* 200 bad accesses in evil-access: the log must be rate-limited. */
	cr_expect(about <= 50, "%u log lines about the device: not rate-limited: %s", about,
		  ctx(&r));
	guest_result_free(&r);
}

Test(virtio_evil, loop)
{
	evil("loop");
}

Test(virtio_evil, head_out_of_range)
{
	evil("head");
}

Test(virtio_evil, next_out_of_range)
{
	evil("next");
}

Test(virtio_evil, addr_outside_ram)
{
	evil("addr");
}

Test(virtio_evil, addr_len_wrap)
{
	evil("wrap");
}

Test(virtio_evil, huge_len)
{
	evil("huge");
}

Test(virtio_evil, indirect_len)
{
	evil("indirect-len");
}

Test(virtio_evil, indirect_nested)
{
	evil("indirect-nested");
}

Test(virtio_evil, queue_addr_after_driver_ok)
{
	evil("late-addr");
}

Test(virtio_evil, bad_register_access)
{
	evil("access");
}

Test(virtio_evil, unoffered_features)
{
	evil("features");
}

Test(virtio_evil, queue_sel_out_of_range)
{
	evil("queuesel");
}

Test(virtio_evil, notify_not_ready)
{
	evil("notify");
}

/* ---- the blk benchmark (CPL3 loop); numbers, not pass/fail ---- */

Test(virtio_bench, blk, .timeout = 120)
{
	harness_require_kvm();
	char img[64], ini[256];
	temp_file("bench", 64u << 20, img, sizeof(img), NULL);
	snprintf(ini, sizeof(ini), "[drive.bench]\npath = %s\n", img);
	struct guest_opts o = {.cmdline = "test=blk-bench ms=2000",
			       .memory = "128M",
			       .extra_ini = ini,
			       .timeout_ms = 90000};
	struct guest_result r;
	run(&o, &r);
	unlink(img);
	char line[256];
	unsigned long long iops = 0, mib = 0;
	cr_expect_eq(r.status, 0, "blk-bench must exit 0: %s", ctx(&r));
	cr_expect(guest_line(r.out, "blk-bench iops=", line, sizeof(line)) &&
		      sscanf(line, "%llu seq_mib_s=%llu", &iops, &mib) == 2 && iops > 0 && mib > 0,
		  "want 'blk-bench iops=N seq_mib_s=M' with N, M > 0: %s", ctx(&r));
	cr_log_info("blk-bench: 4 KiB random reads %llu IOPS, 1 MiB sequential reads %llu MiB/s",
		    iops, mib);
	guest_result_free(&r);
}
