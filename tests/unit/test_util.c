/* test_util.c - shared unit-test helpers: deadlines, loop barriers, temp files, bytes, configs. */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>

#include "platform.h"

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double cpu_wait_s(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	double sum = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%.16s/schedstat", e->d_name);
		FILE *f = fopen(path, "re");
		unsigned long long waiting;
		if (f && fscanf(f, "%*s %llu", &waiting) == 1)
			sum += (double)waiting / 1e9;
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

void expect_rate(const char *what, double units, double secs, double waited, double rate)
{
	double busy = secs - waited;
	cr_log_info(
	    "%s: %.0f in %.3f s (%.3f s of it waiting for a CPU): %.1f/s; configured %.1f/s", what,
	    units, secs, waited, units / secs, rate);
	cr_assert(units / secs <= 1.1 * rate, "%s: achieved %.1f/s, configured %.1f/s (+10%%)",
		  what, units / secs, rate);
	/* Waits summed over threads can exceed the wall time on a host busy enough that no
	 * slowness can be pinned on the limiter: say so rather than pass. */
	if (busy <= 0)
		cr_skip_test(
		    "%s: the threads waited %.3f s for a CPU in a %.3f s run: too busy a host "
		    "to judge a rate",
		    what, waited, secs);
	cr_assert(units / busy >= 0.9 * rate,
		  "%s: achieved %.1f/s (%.1f/s less %.3f s waiting for a CPU), configured %.1f/s "
		  "(-10%%)",
		  what, units / secs, units / busy, waited, rate);
}

/* ---- MMIO devices ---------------------------------------------------------------------------- */

void mmio_wr(const struct mmio_ops *ops, void *dev, uint64_t offset, uint64_t value, unsigned len)
{
	ops->write(dev, offset, &value, len);
}

uint64_t mmio_rd(const struct mmio_ops *ops, void *dev, uint64_t offset, unsigned len)
{
	uint64_t value = 0;
	ops->read(dev, offset, &value, len);
	return value;
}

/* ---- Event-loop barrier ---------------------------------------------------------------------- */

struct barrier {
	int fd;
	_Atomic bool reached;
};

static void barrier_reached(void *opaque, uint32_t events)
{
	struct barrier *b = opaque;
	eventfd_t v;
	(void)events;
	(void)eventfd_read(b->fd, &v);
	atomic_store(&b->reached, true);
}

void loop_settle(struct event_loop *l, unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++) {
		struct barrier b = {.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
		cr_assert_geq(b.fd, 0, "eventfd: %s", strerror(errno));
		cr_assert_eq(event_loop_add(l, b.fd, EPOLLIN, barrier_reached, &b), 0);
		cr_assert_eq(eventfd_write(b.fd, 1), 0);
		bool ok = WAIT_UNTIL(atomic_load(&b.reached), 5000);
		cr_assert_eq(event_loop_remove(l, b.fd), 0);
		close(b.fd);
		cr_assert(ok, "the event loop did not reach a barrier within 5 s (round %u)",
			  i + 1);
	}
}

/* ---- Temporary files ------------------------------------------------------------------------- */

const char *tmp_dir(void)
{
	const char *d = getenv("TMPDIR");
	struct stat st;
	if (d && d[0] == '/' && strlen(d) <= 64 && stat(d, &st) == 0 && S_ISDIR(st.st_mode))
		return d;
	return "/tmp";
}

void make_tmp_dir(char *out, size_t size, const char *prefix)
{
	int n = snprintf(out, size, "%s/minnow-%s-XXXXXX", tmp_dir(), prefix);
	cr_assert(n > 0 && (size_t)n < size, "temporary directory name too long");
	cr_assert_not_null(mkdtemp(out), "mkdtemp %s: %s", out, strerror(errno));
}

void make_tmp_image(char *dir, size_t dir_size, char *img, size_t img_size, const char *prefix,
		    off_t size)
{
	make_tmp_dir(dir, dir_size, prefix);
	int n = snprintf(img, img_size, "%s/img", dir);
	cr_assert(n > 0 && (size_t)n < img_size, "image name too long");
	FILE *f = fopen(img, "we");
	cr_assert(f && ftruncate(fileno(f), size) == 0, "image %s: %s", img, strerror(errno));
	fclose(f);
}

int make_tmp_file(char *out, size_t size, const char *dir, const char *prefix)
{
	int n = snprintf(out, size, "%s/minnow-%s-XXXXXX", dir ? dir : tmp_dir(), prefix);
	cr_assert(n > 0 && (size_t)n < size, "temporary file name too long");
	int fd = mkstemp(out);
	cr_assert_geq(fd, 0, "mkstemp %s: %s", out, strerror(errno));
	return fd;
}

void remove_tmp_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char p[PATH_MAX];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* ---- Bytes ----------------------------------------------------------------------------------- */

uint8_t byte_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

bool all_bytes(const void *p, size_t n, uint8_t v)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		if (b[i] != v)
			return false;
	}
	return true;
}

/* ---- Platform descriptions ------------------------------------------------------------------- */

struct acpi_config test_acpi_config(unsigned vcpus, unsigned virtio, bool uart)
{
	struct acpi_config c;
	memset(&c, 0, sizeof(c));
	c.n_vcpus = vcpus;
	c.n_virtio = virtio;
	c.uart = uart;
	c.pvpanic = true; /* minnow's default ([vm] pvpanic = on) */
	c.ged = true;	  /* always there with ACPI */
	c.vmgenid = true; /* likewise */
	for (unsigned i = 0; i < virtio; i++) {
		c.virtio[i].base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE;
		c.virtio[i].gsi = VIRTIO_GSI_BASE + i;
	}
	return c;
}

int stderr_capture_begin(char *path, size_t len)
{
	int fd = make_tmp_file(path, len, NULL, "stderr");
	int saved = dup(STDERR_FILENO);
	cr_assert(saved >= 0 && dup2(fd, STDERR_FILENO) == STDERR_FILENO, "%s", strerror(errno));
	close(fd);
	return saved;
}

char *stderr_capture_end(int saved, const char *path)
{
	cr_assert_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	FILE *f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	char *text = calloc(1, 65536);
	cr_assert_not_null(text);
	size_t n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	unlink(path);
	return text;
}

unsigned count_lines(const char *text)
{
	unsigned n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}
