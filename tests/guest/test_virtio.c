/* test_virtio.c - the minnow-test firmware driving minnow's virtio-mmio
 * devices on /dev/kvm: rng, blk (image checked byte for byte; cache = none
 * bypassing the page cache; a full host file system), net (TAP in a network
 * namespace of the test's own, ARP + ping), console, vsock (both directions
 * through the Unix-socket protocol), several devices with reset, malicious
 * drivers, and the CPL3 blk benchmark. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SECTOR 512u

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
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

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* A Unix socket address for `path` (which socket_path() has checked). */
static struct sockaddr_un sun_addr(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	cr_assert(n < sizeof(a.sun_path), "socket path %s too long", path);
	memcpy(a.sun_path, path, n + 1);
	return a;
}

/* A socket path `name` in a new temporary directory (dir), with room for a
 * "_NNNN" port suffix (vsock); asserts that it fits sockaddr_un. */
static void socket_path(const char *tag, const char *name, char *dir, size_t dlen,
			char path[SUN_PATH_MAX])
{
	cr_assert_eq(harness_mkdtemp(tag, dir, dlen), 0, "mkdtemp in %s: %s", harness_tmpdir(),
		     strerror(errno));
	char full[4400];
	snprintf(full, sizeof(full), "%s/%s", dir, name);
	cr_assert(strlen(full) + 6 < SUN_PATH_MAX,
		  "socket path %s too long: set TMPDIR to a shorter directory", full);
	memcpy(path, full, strlen(full) + 1);
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
	guest_run_ok(&o, &r);
	char a[256], b[256];
	cr_expect_eq(r.status, 0, "virtio-rng must exit 0: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "virtio-rng ok"), "no 'virtio-rng ok': %s", guest_ctx(&r));
	cr_assert(guest_line(r.out, "virtio-rng read1 len=64 data=", a, sizeof(a)) &&
		      guest_line(r.out, "virtio-rng read2 len=64 data=", b, sizeof(b)),
		  "want two 64-byte reads: %s", guest_ctx(&r));
	cr_expect_eq(strlen(a), 128, "read1 hex: %s", guest_ctx(&r));
	cr_expect_eq(strlen(b), 128, "read2 hex: %s", guest_ctx(&r));
	cr_expect_str_neq(a, b, "the two reads are equal: %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- blk ---- */

#define BLK_RW_SIZE (4u << 20)
#define BLK_RO_SIZE (1u << 20)

struct range {
	uint64_t first, n;
};

/* The read-write drive after test=virtio-blk: `data` (its contents before)
 * with the firmware's pattern over what it wrote and zeros over what it
 * discarded or zeroed, compared byte for byte with the file. */
static void check_rw_image(struct guest_result *r, const char *path, uint8_t *data)
{
	size_t len = 0;
	uint8_t *after = harness_read_file(path, &len);
	uint64_t cap = BLK_RW_SIZE / SECTOR;
	const struct range written[] = {{0, 1},	   {5, 4},	 {33, 8},
					{200, 16}, {cap / 2, 1}, {cap - 1, 1}};
	for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
		apply_pattern(data, written[i].first, written[i].n);
	static const struct {
		const char *name;
		uint64_t first;
	} zeroed[] = {{"discard", 64}, {"write-zeroes", 96}};
	char line[512];
	for (size_t i = 0; i < 2; i++) {
		char key[64];
		snprintf(key, sizeof(key), "virtio-blk %s first=%llu n=16 status=", zeroed[i].name,
			 (unsigned long long)zeroed[i].first);
		if (guest_line(r->out, key, line, sizeof(line))) {
			cr_expect_str_eq(line, "ok", "%s: %s", zeroed[i].name, guest_ctx(r));
			memset(data + zeroed[i].first * SECTOR, 0, 16 * SECTOR);
		} else {
			snprintf(key, sizeof(key), "virtio-blk %s not offered", zeroed[i].name);
			cr_expect(guest_has_line(r, key), "no %s result: %s", zeroed[i].name,
				  guest_ctx(r));
			cr_log_warn("virtio-blk: %s not offered by the device", zeroed[i].name);
		}
	}
	cr_assert(after != NULL && len == BLK_RW_SIZE, "image size %zu, want %u", len, BLK_RW_SIZE);
	long d = first_diff(after, data, BLK_RW_SIZE);
	cr_expect_eq(d, -1,
		     "image differs from the expected contents at byte %ld (sector %ld): got "
		     "0x%02x want 0x%02x: %s",
		     d, d / (long)SECTOR, d >= 0 ? after[d] : 0, d >= 0 ? data[d] : 0,
		     guest_ctx(r));
	free(after);
}

Test(virtio, blk)
{
	harness_require_kvm();
	char rw[4096], ro[4096], ini[8400];
	uint8_t *rw_data, *ro_data;
	harness_temp_file(NULL, "rw", BLK_RW_SIZE, rw, sizeof(rw), &rw_data);
	harness_temp_file(NULL, "ro", BLK_RO_SIZE, ro, sizeof(ro), &ro_data);
	snprintf(ini, sizeof(ini),
		 "[drive.rw]\npath = %s\nserial = minnow-serial-1\n\n"
		 "[drive.ro]\npath = %s\nreadonly = on\n",
		 rw, ro);
	struct guest_opts o = {.cmdline = "test=virtio-blk", .extra_ini = ini};
	struct guest_result r;
	guest_run_ok(&o, &r);
	size_t ro_len = 0;
	uint8_t *ro_after = harness_read_file(ro, &ro_len);

	char line[512];
	cr_expect_eq(r.status, 0, "virtio-blk must exit 0: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "virtio-blk ok"), "no 'virtio-blk ok': %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "virtio-blk drives rw=1 ro=1"),
		  "want one rw and one ro drive (the readonly drive must offer "
		  "VIRTIO_BLK_F_RO): %s",
		  guest_ctx(&r));
	cr_expect(guest_line(r.out, "virtio-blk slot=", line, sizeof(line)) != NULL &&
		      strstr(r.out, "capacity=8192 ") && strstr(r.out, "capacity=2048 "),
		  "capacities 8192 and 2048 sectors: %s", guest_ctx(&r));
	cr_expect(strstr(r.out, "get_id status=ok serial=minnow-serial-1\n") != NULL,
		  "GET_ID must return the configured serial: %s", guest_ctx(&r));
	cr_expect(guest_line(r.out, "virtio-blk beyond-capacity ", line, sizeof(line)) &&
		      !strcmp(line, "read=ioerr straddle=ioerr write=ioerr"),
		  "requests past the end must get VIRTIO_BLK_S_IOERR: %s", guest_ctx(&r));

	/* Read-only drive: the write was refused, the file is unchanged, the
	 * guest read the right data. */
	cr_expect(guest_line(r.out, "virtio-blk ro write status=", line, sizeof(line)) &&
		      (!strcmp(line, "ioerr") || !strcmp(line, "unsupp")),
		  "a write to a read-only drive must get IOERR or UNSUPP: %s", guest_ctx(&r));
	cr_log_info("virtio-blk: write to the read-only drive answered %s", line);
	cr_expect(ro_after && ro_len == BLK_RO_SIZE && !memcmp(ro_after, ro_data, BLK_RO_SIZE),
		  "the read-only image changed (first difference at %ld)",
		  ro_after && ro_len == BLK_RO_SIZE ? first_diff(ro_after, ro_data, BLK_RO_SIZE)
						    : -2L);
	char want[64];
	snprintf(want, sizeof(want), "sector0 fnv1a=0x%08x", harness_fnv1a(ro_data, SECTOR));
	cr_expect(strstr(r.out, want) != NULL, "read-only drive sector 0: want %s: %s", want,
		  guest_ctx(&r));
	check_rw_image(&r, rw, rw_data);
	unlink(rw);
	unlink(ro);
	free(ro_after);
	free(rw_data);
	free(ro_data);
	guest_result_free(&r);
}

/* ---- blk with cache = none: O_DIRECT, the host's page cache untouched ---- */

/* Pages of the file in the host's page cache (mincore), or -1. */
static long cached_pages(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	unsigned char *vec = malloc(pages);
	long n = -1;
	if (map != MAP_FAILED && vec && mincore(map, (size_t)st.st_size, vec) == 0) {
		n = 0;
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	}
	free(vec);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return n;
}

/* Writes the file back and drops it from the page cache. */
static void drop_cached(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

Test(virtio, blk_cache_none)
{
	harness_require_kvm();
	char why[1024], img[4096], ini[4200];
	const char *dir = harness_direct_dir(why, sizeof(why));
	if (!dir)
		cr_skip_test("no directory with O_DIRECT for cache = none (%s)", why);
	uint8_t *data;
	harness_temp_file(dir, "direct", BLK_RW_SIZE, img, sizeof(img), &data);
	/* The measure works: reading caches the file, dropping empties it. */
	size_t len;
	drop_cached(img);
	free(harness_read_file(img, &len));
	long warm = cached_pages(img);
	drop_cached(img);
	long cold = cached_pages(img);
	cr_assert(warm > 0 && cold == 0,
		  "cannot see the page cache of %s here (%ld pages after reading it, %ld after "
		  "dropping it)",
		  img, warm, cold);

	snprintf(ini, sizeof(ini), "[drive.rw]\npath = %s\ncache = none\n", img);
	struct guest_opts o = {.cmdline = "test=virtio-blk", .extra_ini = ini};
	struct guest_result r;
	guest_run_ok(&o, &r);
	long after = cached_pages(img);
	cr_expect_eq(r.status, 0, "virtio-blk with cache = none must exit 0: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "virtio-blk ok"), "no 'virtio-blk ok': %s", guest_ctx(&r));
	cr_expect_eq(after, 0,
		     "%ld pages of %s in the page cache after the guest's reads and writes: "
		     "cache = none must use O_DIRECT: %s",
		     after, img, guest_ctx(&r));
	check_rw_image(&r, img, data);
	unlink(img);
	free(data);
	guest_result_free(&r);
}

/* ---- blk on a full host file system: VIRTIO_BLK_S_IOERR, then on ---- */

#define IOERR_IMAGE (4u << 20)
#define IOERR_HEAD  (64u << 10) /* the host's data, which the guest reads */

Test(virtio, blk_ioerr)
{
	harness_require_kvm();
	if (geteuid() != 0)
		cr_skip_test("needs root: mounts a 1 MiB tmpfs in a mount namespace of its own");
	if (unshare(CLONE_NEWNS) != 0)
		cr_skip_test("cannot make a mount namespace (unshare: %s)", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0,
		     "mount --make-rprivate /: %s", strerror(errno));
	char dir[4096], img[4200], ini[4300];
	cr_assert_eq(harness_mkdtemp("full", dir, sizeof(dir)), 0, "mkdtemp: %s", strerror(errno));
	cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=1M"), 0, "mount tmpfs on %s: %s", dir,
		     strerror(errno));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	uint8_t head[IOERR_HEAD];
	harness_random(head, sizeof(head));
	int fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert(fd >= 0 && write(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
		      ftruncate(fd, IOERR_IMAGE) == 0,
		  "%s: %s", img, strerror(errno));
	close(fd);
	snprintf(ini, sizeof(ini), "[drive.d0]\npath = %s\n", img);
	struct guest_opts o = {.cmdline = "test=blk-ioerr", .extra_ini = ini};
	struct guest_result r;
	guest_run_ok(&o, &r);
	umount2(dir, MNT_DETACH);
	rmdir(dir);

	char line[256], want[64];
	cr_expect_eq(r.status, 0, "minnow must go on after a host I/O error: %s", guest_ctx(&r));
	cr_expect(guest_line(r.out, "blk-ioerr write ", line, sizeof(line)) &&
		      strstr(line, " status=ioerr "),
		  "a write to the full file system must get VIRTIO_BLK_S_IOERR: %s", guest_ctx(&r));
	cr_expect(guest_line(r.out, "blk-ioerr device status=", line, sizeof(line)) &&
		      strstr(line, " needs_reset=0"),
		  "the device must not ask for a reset: %s", guest_ctx(&r));
	snprintf(want, sizeof(want), "status=ok fnv1a=0x%08x", harness_fnv1a(head, sizeof(head)));
	cr_expect(guest_line(r.out, "blk-ioerr before ", line, sizeof(line)) && !strcmp(line, want),
		  "the host's data before the error: want '%s': %s", want, guest_ctx(&r));
	cr_expect(guest_line(r.out, "blk-ioerr after ", line, sizeof(line)) && !strcmp(line, want),
		  "reads after the error: want '%s': %s", want, guest_ctx(&r));
	cr_expect(guest_line(r.out, "blk-ioerr first-write ", line, sizeof(line)) &&
		      !strcmp(line, "status=ok match"),
		  "the writes before the error must read back: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "blk-ioerr ok"), "no 'blk-ioerr ok': %s", guest_ctx(&r));
	cr_expect(strstr(r.err, "No space left on device"),
		  "minnow should log the host's error: %s", guest_ctx(&r));
	const char *eol = strchr(r.err, '\n');
	cr_expect(eol && eol[1] == '\0',
		  "one failed write, one line on stderr (and nothing else): %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- net: a TAP device in a network namespace of the test's own ---- */

static int if_up(int s, const char *name)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int if_addr(int s, const char *name, const char *addr, const char *mask)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		return -1;
	inet_pton(AF_INET, mask, &sin->sin_addr);
	return ioctl(s, SIOCSIFNETMASK, &ifr);
}

/* Moves this test process (and so minnow) into a new network namespace
 * with lo up and a persistent TAP `tap` at 10.0.0.1/24, up. No names are
 * shared with anything else on the host. NULL, or why not. */
static const char *net_setup(const char *tap, char *why, size_t len)
{
	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(why, len, "cannot make a network namespace (unshare: %s; needs root)",
			 strerror(errno));
		return why;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		snprintf(why, len, "cannot create the TAP %s: %s", tap, strerror(errno));
		if (fd >= 0)
			close(fd);
		return why;
	}
	close(fd);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || if_up(s, "lo") < 0 || if_addr(s, tap, "10.0.0.1", "255.255.255.0") < 0 ||
	    if_up(s, tap) < 0) {
		snprintf(why, len, "cannot configure lo and %s: %s", tap, strerror(errno));
		if (s >= 0)
			close(s);
		return why;
	}
	close(s);
	return NULL;
}

Test(virtio, net)
{
	harness_require_kvm();
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		cr_skip_test("no usable /dev/net/tun: %s", strerror(errno));
	char why[256];
	if (net_setup("mtap0", why, sizeof(why)))
		cr_skip_test("%s", why);
	struct guest_opts o = {.cmdline = "test=virtio-net hostip=10.0.0.1 guestip=10.0.0.2",
			       .extra_ini = "[net.n0]\ntap = mtap0\nmac = 52:54:00:12:34:56\n"};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "virtio-net must exit 0: %s", guest_ctx(&r));
	char line[128];
	cr_expect(guest_line(r.out, "virtio-net mac=", line, sizeof(line)) &&
		      !strcmp(line, "52:54:00:12:34:56"),
		  "the MAC in config space must be the configured one: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "virtio-net arp reply host mac="), "no ARP reply: %s",
		  guest_ctx(&r));
	cr_expect(guest_has_line(&r, "ping ok"), "no ICMP echo reply: %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- console: port 0 to a file, input from stdin ---- */

Test(virtio, console)
{
	harness_require_kvm();
	char out[4096], ini[4200];
	int fd = harness_mkstemp(NULL, "vcons", out, sizeof(out));
	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	close(fd);
	snprintf(ini, sizeof(ini), "[vconsole]\noutput = file\npath = %s\n", out);
	static const char input[] = "hello vconsole\n";
	struct guest_opts o = {.cmdline = "test=virtio-console",
			       .extra_ini = ini,
			       .stdin_data = input,
			       .stdin_len = sizeof(input) - 1};
	struct guest_result r;
	guest_run_ok(&o, &r);
	size_t len = 0;
	uint8_t *text = harness_read_file(out, &len);
	unlink(out);
	char line[256];
	cr_expect_eq(r.status, 0, "virtio-console must exit 0: %s", guest_ctx(&r));
	cr_expect(guest_line(r.out, "vconsole echo=", line, sizeof(line)) &&
		      !strcmp(line, "hello vconsole"),
		  "want 'vconsole echo=hello vconsole': %s", guest_ctx(&r));
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
	struct pollfd lp = {.fd = p->listen_fd, .events = POLLIN};
	if (poll(&lp, 1, 20000) <= 0)
		return NULL;
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
		p->got[len] = '\0';
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
	char dir[4096], path[SUN_PATH_MAX];
	socket_path("vcons", "console.sock", dir, sizeof(dir), path);
	struct sock_peer peer = {.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
	struct sockaddr_un sa = sun_addr(path);
	cr_assert(peer.listen_fd >= 0);
	cr_assert(bind(peer.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s",
		  path, strerror(errno));
	cr_assert(listen(peer.listen_fd, 1) == 0);
	pthread_t th;
	cr_assert(pthread_create(&th, NULL, sock_peer_main, &peer) == 0);
	char ini[4300];
	snprintf(ini, sizeof(ini), "[vconsole]\noutput = socket\npath = %s\n", path);
	struct guest_opts o = {.cmdline = "test=virtio-console", .extra_ini = ini};
	struct guest_result r;
	guest_run(&o, &r);
	pthread_join(th, NULL);
	close(peer.listen_fd);
	unlink(path);
	rmdir(dir);
	guest_assert_ran(&r);
	char line[256];
	cr_expect_eq(r.status, 0, "virtio-console over a socket must exit 0: %s", guest_ctx(&r));
	cr_expect(guest_line(r.out, "vconsole echo=", line, sizeof(line)) &&
		      !strcmp(line, "hello socket"),
		  "want 'vconsole echo=hello socket': %s", guest_ctx(&r));
	cr_expect(strstr(peer.got, "minnow-test vconsole hello\n") != NULL,
		  "socket lacks the hello line: '%s'", peer.got);
	cr_expect(strstr(peer.got, "echo:hello socket\n") != NULL,
		  "socket lacks the echo line: '%s'", peer.got);
	guest_result_free(&r);
}

/* ---- vsock: the host side runs in a thread while the VM runs ---- */

#define VSOCK_WAIT_MS 20000

struct vsock_host {
	char uds[SUN_PATH_MAX];
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
	double deadline = now_ms() + timeout_ms;
	while (n + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double left = deadline - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left + 1) <= 0)
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

/* Connects to minnow's listener once it is there (polling until the
 * deadline). */
static int connect_uds(const char *path, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, path, strlen(path) + 1); /* socket_path() checked the length */
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		if (now_ms() > deadline)
			return -1;
		usleep(10000);
	}
}

static void *vsock_host_thread(void *arg)
{
	struct vsock_host *h = arg;
	/* Host -> guest port 1234, once minnow has created its socket. */
	int fd = connect_uds(h->uds, VSOCK_WAIT_MS);
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
	if (poll(&p, 1, VSOCK_WAIT_MS) <= 0) {
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
	char dir[4096];
	socket_path("vsock", "vm.vsock", dir, sizeof(dir), h.uds);
	char listen_path[SUN_PATH_MAX + 8];
	snprintf(listen_path, sizeof(listen_path), "%s_5678", h.uds);
	h.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = sun_addr(listen_path);
	cr_assert(bind(h.listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		      listen(h.listen_fd, 4) == 0,
		  "listen on %s: %s", listen_path, strerror(errno));
	char ini[4300];
	snprintf(ini, sizeof(ini), "[vsock]\ncid = 3\nuds_path = %s\n", h.uds);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, vsock_host_thread, &h), 0);
	struct guest_opts o = {
	    .cmdline = "test=virtio-vsock", .extra_ini = ini, .timeout_ms = 60000};
	struct guest_result r;
	guest_run(&o, &r);
	pthread_join(th, NULL);
	close(h.listen_fd);
	unlink(listen_path);
	struct stat st;
	bool uds_left = lstat(h.uds, &st) == 0;
	unlink(h.uds);
	rmdir(dir);
	guest_assert_ran(&r);
	cr_expect_str_empty(h.error, "host side: %s: %s", h.error, guest_ctx(&r));
	unsigned port = 0;
	cr_expect(sscanf(h.ok_line, "OK %u", &port) == 1 && port > 0,
		  "want 'OK <port>' after CONNECT, got '%s'", h.ok_line);
	cr_expect_str_eq(h.echo, "echo:hello vsock", "echo from the guest's port 1234: %s",
			 guest_ctx(&r));
	cr_expect_str_eq(h.from_guest, "hello from guest", "guest-initiated data: %s",
			 guest_ctx(&r));
	cr_expect(h.guest_closed, "the guest's shutdown did not reach the host socket: %s",
		  guest_ctx(&r));
	char line[128];
	cr_expect(guest_line(r.out, "vsock guest_cid=", line, sizeof(line)) && !strcmp(line, "3"),
		  "guest_cid in config space: %s", guest_ctx(&r));
	cr_expect(guest_line(r.out, "vsock reply=", line, sizeof(line)) &&
		      !strcmp(line, "reply from host"),
		  "the guest did not get the host's reply: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "vsock credit update buf_alloc="),
		  "no CREDIT_UPDATE answer to the guest's CREDIT_REQUEST: %s", guest_ctx(&r));
	cr_expect(guest_line(r.out, "vsock shutdown rst_from_host=", line, sizeof(line)) &&
		      !strcmp(line, "1"),
		  "the host side must answer SHUTDOWN with RST: %s", guest_ctx(&r));
	cr_expect(!uds_left, "minnow left its socket %s behind: %s", h.uds, guest_ctx(&r));
	cr_expect_eq(r.status, 0, "virtio-vsock must exit 0: %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- several devices at once, reset and re-initialisation ---- */

Test(virtio, multi)
{
	harness_require_kvm();
	char img[4096], out[4096], ini[8400];
	uint8_t *data;
	harness_temp_file(NULL, "multi", 1u << 20, img, sizeof(img), &data);
	int fd = harness_mkstemp(NULL, "vcons", out, sizeof(out));
	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	close(fd);
	snprintf(ini, sizeof(ini),
		 "[rng]\n\n[drive.d0]\npath = %s\n\n[vconsole]\noutput = file\npath = %s\n", img,
		 out);
	struct guest_opts o = {.cmdline = "test=virtio-multi", .extra_ini = ini};
	struct guest_result r;
	guest_run_ok(&o, &r);
	size_t len = 0, tlen = 0;
	uint8_t *after = harness_read_file(img, &len), *text = harness_read_file(out, &tlen);
	unlink(img);
	unlink(out);
	cr_expect_eq(r.status, 0, "virtio-multi must exit 0: %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "virtio-multi ok"), "no 'virtio-multi ok': %s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "virtio-multi reset ok"), "Status must read 0 after reset: %s",
		  guest_ctx(&r));
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

/* test=evil-NAME (firmware/virtio_evil.c): what each driver does wrong. */
static const char *const evil_cases[] = {
    "loop",	    /* a descriptor chain that loops */
    "head",	    /* avail ring head index out of range */
    "next",	    /* next index out of range */
    "addr",	    /* buffer outside guest RAM */
    "wrap",	    /* address + length wraps */
    "huge",	    /* absurd length */
    "indirect-len", /* indirect table length not a multiple of 16 */
    "indirect-nested",
    "late-addr", /* queue address changed after DRIVER_OK */
    "access",	 /* 200 bad register accesses (the log must be rate-limited) */
    "features",	 /* features the device never offered */
    "queuesel",	 /* QueueSel out of range */
    "notify",	 /* notifying a queue that is not ready */
};

ParameterizedTestParameters(virtio_evil, driver)
{
	HARNESS_ROWS(evil_cases);
}

ParameterizedTest(int *row, virtio_evil, driver)
{
	const char *name = evil_cases[*row];
	harness_require_kvm();
	char img[4096], ini[4200], cmdline[64];
	harness_temp_file(NULL, "evil", 1u << 20, img, sizeof(img), NULL);
	snprintf(ini, sizeof(ini), "[rng]\n\n[drive.victim]\npath = %s\n", img);
	snprintf(cmdline, sizeof(cmdline), "test=evil-%s", name);
	struct guest_opts o = {.cmdline = cmdline, .extra_ini = ini};
	struct guest_result r;
	guest_run_ok(&o, &r);
	unlink(img);
	char key[64];
	cr_expect_eq(r.status, 0, "evil-%s: minnow must keep the VM running and exit 0: %s", name,
		     guest_ctx(&r));
	snprintf(key, sizeof(key), "evil-%s ok", name);
	cr_expect(guest_has_line(&r, key), "evil-%s: no '%s': %s", name, key, guest_ctx(&r));
	snprintf(key, sizeof(key), "evil-%s rng works", name);
	cr_expect(guest_has_line(&r, key), "evil-%s: the rng device must still work: %s", name,
		  guest_ctx(&r));
	/* The victim's slot, from the discovery lines. */
	unsigned slot = ~0u;
	for (const char *p = r.out; (p = strstr(p, "minnow-test: virtio slot=")); p++) {
		unsigned s, id;
		if (sscanf(p, "minnow-test: virtio slot=%u id=%u", &s, &id) == 2 && id == 2)
			slot = s;
	}
	cr_assert_neq(slot, ~0u, "evil-%s: no virtio-blk found by the guest: %s", name,
		      guest_ctx(&r));
	unsigned about = count_device_lines(r.err, slot);
	cr_expect(about > 0, "evil-%s: stderr has no log line about the blk device (slot %u): %s",
		  name, slot, guest_ctx(&r));
	cr_expect(about <= 50, "evil-%s: %u log lines about the device: not rate-limited: %s", name,
		  about, guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- the blk benchmark (CPL3 loop); numbers, not pass/fail ---- */

Test(virtio_bench, blk, .timeout = 120)
{
	harness_require_kvm();
	char img[4096], ini[4200];
	harness_temp_file(NULL, "bench", 64u << 20, img, sizeof(img), NULL);
	snprintf(ini, sizeof(ini), "[drive.bench]\npath = %s\n", img);
	struct guest_opts o = {.cmdline = "test=blk-bench ms=2000",
			       .memory = "128M",
			       .extra_ini = ini,
			       .timeout_ms = 90000};
	struct guest_result r;
	guest_run_ok(&o, &r);
	unlink(img);
	char line[256];
	unsigned long long iops = 0, mib = 0;
	cr_expect_eq(r.status, 0, "blk-bench must exit 0: %s", guest_ctx(&r));
	cr_expect(guest_line(r.out, "blk-bench iops=", line, sizeof(line)) &&
		      sscanf(line, "%llu seq_mib_s=%llu", &iops, &mib) == 2 && iops > 0 && mib > 0,
		  "want 'blk-bench iops=N seq_mib_s=M' with N, M > 0: %s", guest_ctx(&r));
	cr_log_info("blk-bench: 4 KiB random reads %llu IOPS, 1 MiB sequential reads %llu MiB/s",
		    iops, mib);
	guest_result_free(&r);
}

/* ---- blk rate limits: the CPL3 benchmark against a limited drive ----
 * The lower bound needs the guest to keep requests queued: a vCPU starved
 * for longer than the bucket's 100 ms (a host loaded well beyond its
 * cores) leaves tokens unused, and the achieved rate drops below it. */

/* Runs blk-bench on a drive with `limits` (ini lines) and reads back the
 * rand4k or seq line: ops and microseconds. */
static void bench_limited(const char *limits, const char *run, unsigned long long *ops,
			  unsigned long long *us, unsigned long long *bytes_per_req)
{
	harness_require_kvm();
	char img[4096], ini[4400], key[64], line[256];
	harness_temp_file(NULL, "bench", 64u << 20, img, sizeof(img), NULL);
	snprintf(ini, sizeof(ini), "[drive.bench]\npath = %s\n%s", img, limits);
	struct guest_opts o = {.cmdline = "test=blk-bench ms=2000",
			       .memory = "128M",
			       .extra_ini = ini,
			       .timeout_ms = 90000};
	struct guest_result r;
	guest_run_ok(&o, &r);
	unlink(img);
	cr_assert_eq(r.status, 0, "blk-bench must exit 0: %s", guest_ctx(&r));
	snprintf(key, sizeof(key), "blk-bench %s bytes_per_req=", run);
	cr_assert(guest_line(r.out, key, line, sizeof(line)) &&
		      sscanf(line, "%llu qd=%*u segs=%*u ops=%llu errors=0 kicks=%*u us=%llu",
			     bytes_per_req, ops, us) == 3 &&
		      *ops > 0 && *us > 0,
		  "want '%sN ... ops=N errors=0 ... us=N': %s", key, guest_ctx(&r));
	guest_result_free(&r);
}

Test(virtio_bench, blk_iops_limit, .timeout = 120)
{
	unsigned long long ops, us, bpr;
	bench_limited("iops = 500\n", "rand4k", &ops, &us, &bpr);
	/* Completed reads over the run: the bucket (50 requests, 100 ms) adds
	 * at most 25/s (5 %) on top of the rate. */
	double rate = (double)ops / ((double)us / 1e6);
	cr_log_info("blk iops = 500: %llu 4 KiB reads in %llu us: %.1f IOPS", ops, us, rate);
	cr_expect(rate >= 450 && rate <= 550, "achieved %.1f IOPS, configured 500 (+-10%%)", rate);
}

Test(virtio_bench, blk_bandwidth_limit, .timeout = 120)
{
	unsigned long long ops, us, bpr;
	/* The seq run follows the random one, which leaves the bucket empty. */
	bench_limited("bandwidth = 16M\n", "seq", &ops, &us, &bpr);
	double rate = (double)ops * (double)bpr / ((double)us / 1e6) / (1 << 20);
	cr_log_info("blk bandwidth = 16M: %llu reads of %llu bytes in %llu us: %.2f MiB/s", ops,
		    bpr, us, rate);
	cr_expect(rate >= 16 * 0.9 && rate <= 16 * 1.1,
		  "achieved %.2f MiB/s, configured 16 (+-10%%)", rate);
}

/* ---- exit-cost: what each way of serving a guest access costs ----
 * The scenario times n accesses of each kind. Whatever the host, a LAPIC
 * read served in KVM must cost less than a UART read served by minnow, and
 * the kicks must not reach minnow at all (the exit table); where KVM has
 * read-only memory, neither must the InterruptStatus reads (the register
 * page is mapped), which then cost less than a UART read. A kick is not
 * compared: its price includes waking the thread that serves the queue,
 * which on one CPU (the L1 host) costs more than an exit. */
Test(virtio_bench, exit_cost)
{
	harness_require_kvm();
	static const char *const kinds[] = {"kernel_mmio", "kick",	"isr_read",
					    "uart_read",   "unclaimed", "pio"};
	enum { N = 5000 };
	char img[4096], ini[4200], line[256], key[64];
	harness_temp_file(NULL, "exitcost", 1u << 20, img, sizeof(img), NULL);
	snprintf(ini, sizeof(ini), "[drive.d]\npath = %s\n", img);
	struct guest_opts o = {.cmdline = "test=exit-cost n=5000",
			       .extra_ini = ini,
			       .timings = TIMINGS_JSON,
			       .timeout_ms = 60000};
	struct guest_result r;
	guest_run_ok(&o, &r);
	unlink(img);
	cr_assert_eq(r.status, 0, "exit-cost must exit 0: %s", guest_ctx(&r));
	unsigned long long ns[6];
	for (size_t i = 0; i < 6; i++) {
		unsigned long long n;
		snprintf(key, sizeof(key), "exit-cost %s n=", kinds[i]);
		cr_assert(guest_line(r.out, key, line, sizeof(line)) &&
			      sscanf(line, "%llu ns=%llu", &n, &ns[i]) == 2 && n == N && ns[i] > 0,
			  "want '%sN ns=NS' with N = %d: %s", key, N, guest_ctx(&r));
		cr_log_info("exit-cost %s: %llu ns", kinds[i], ns[i]);
	}
	cr_expect_lt(ns[0], ns[3],
		     "a LAPIC read (%llu ns) must cost less than a UART read (%llu ns)", ns[0],
		     ns[3]);
	const char *blk = strstr(r.err, "{\"name\":\"virtio-blk\"");
	unsigned long long reads, writes;
	cr_assert(blk && sscanf(blk,
				"{\"name\":\"virtio-blk\",\"base\":%*u,\"reads\":%llu,"
				"\"writes\":%llu}",
				&reads, &writes) == 2,
		  "no virtio-blk in the exit table: %s", r.err);
	if (harness_kvm_has(KVM_CAP_READONLY_MEM)) {
		cr_expect_lt(reads, 100,
			     "%llu register reads reached minnow: the %d InterruptStatus "
			     "reads must not (read-only register page)",
			     reads, N);
		cr_expect_lt(ns[2], ns[3],
			     "an InterruptStatus read (%llu ns) must cost less than a "
			     "UART read (%llu ns)",
			     ns[2], ns[3]);
	} else {
		cr_expect_geq(reads, N, "without read-only memory each InterruptStatus read exits");
	}
	cr_expect_lt(writes, 100, "%llu register writes reached minnow: the %d kicks must not",
		     writes, N);
	guest_result_free(&r);
}
