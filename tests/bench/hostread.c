/* hostread.c - make bench: the blk-bench reads (random and sequential) done by a host process with
 * pread, page cache warm. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECTOR	   512u
#define MAX_BYTES  (16u << 20) /* largest request taken */
#define WARM_CHUNK (1u << 20)

/* One timed phase: `ops` reads of `bytes` each, random (the firmware's
 * xorshift over request-aligned slots) or sequential (wrapping before the
 * end of the image, as the firmware does). */
struct phase {
	const char *name;
	uint64_t ops;
	uint32_t bytes;
	int random;
	uint64_t ns, errors;
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: bench-hostread IMAGE RAND_OPS RAND_BYTES SEQ_OPS SEQ_BYTES\n"
		"Reads IMAGE once (page cache warm), then RAND_OPS preads of RAND_BYTES at\n"
		"random aligned offsets and SEQ_OPS sequential preads of SEQ_BYTES, one at a\n"
		"time; prints 'hostread: iops=N seq_mib_s=M' like blk-bench does.\n");
	exit(2);
}

static uint64_t number(const char *s, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *s < '0' || *s > '9' || *end || v > max) {
		fprintf(stderr, "bench-hostread: '%s' is not a number in 0..%llu\n", s,
			(unsigned long long)max);
		exit(2);
	}
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Reads the whole image once, untimed, as the guest's image is warm too. */
static int warm(int fd, uint64_t size, char *buf)
{
	for (uint64_t off = 0; off < size;) {
		ssize_t n = pread(fd, buf, WARM_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (uint64_t)n;
	}
	return 0;
}

static void run(int fd, uint64_t sectors, struct phase *p, char *buf, uint64_t seed)
{
	uint64_t per = p->bytes / SECTOR, next = 0, x = seed;
	uint64_t slots = sectors / per;
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < p->ops; i++) {
		uint64_t s;
		if (p->random) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s = (x % slots) * per;
		} else {
			s = next;
			next += per;
			if (next + per > sectors)
				next = 0;
		}
		ssize_t n = pread(fd, buf, p->bytes, (off_t)(s * SECTOR));
		if (n != (ssize_t)p->bytes)
			p->errors++;
	}
	p->ns = now_ns() - t0;
}

int main(int argc, char **argv)
{
	if (argc != 6)
		usage();
	struct phase ph[2] = {
	    {.name = "rand", .ops = number(argv[2], UINT32_MAX), .random = 1},
	    {.name = "seq", .ops = number(argv[4], UINT32_MAX)},
	};
	ph[0].bytes = (uint32_t)number(argv[3], MAX_BYTES);
	ph[1].bytes = (uint32_t)number(argv[5], MAX_BYTES);
	for (int i = 0; i < 2; i++) {
		if (ph[i].bytes == 0 || ph[i].bytes % SECTOR) {
			fprintf(stderr, "bench-hostread: request size %u is not a multiple of %u\n",
				ph[i].bytes, SECTOR);
			return 2;
		}
	}

	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "bench-hostread: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	uint64_t sectors = (uint64_t)st.st_size / SECTOR;
	for (int i = 0; i < 2; i++) {
		if (sectors < 2 * (ph[i].bytes / SECTOR)) {
			fprintf(stderr,
				"bench-hostread: %s: %llu bytes, too small for %u-byte reads\n",
				argv[1], (unsigned long long)st.st_size, ph[i].bytes);
			return 1;
		}
	}
	uint32_t len = WARM_CHUNK;
	for (int i = 0; i < 2; i++)
		if (ph[i].bytes > len)
			len = ph[i].bytes;
	char *buf = aligned_alloc(4096, len);
	if (!buf) {
		fprintf(stderr, "bench-hostread: out of memory\n");
		return 1;
	}
	if (warm(fd, (uint64_t)st.st_size, buf) < 0) {
		fprintf(stderr, "bench-hostread: reading %s: %s\n", argv[1],
			errno ? strerror(errno) : "short read");
		return 1;
	}
	uint64_t seed = 0x9E3779B97F4A7C15ull ^ now_ns();
	run(fd, sectors, &ph[0], buf, seed ? seed : 1);
	run(fd, sectors, &ph[1], buf, 0);

	uint64_t iops = 0, mib_s = 0;
	for (int i = 0; i < 2; i++) {
		struct phase *p = &ph[i];
		uint64_t us = p->ns / 1000 ? p->ns / 1000 : 1;
		printf("hostread: %s bytes_per_req=%u ops=%llu errors=%llu us=%llu\n", p->name,
		       p->bytes, (unsigned long long)p->ops, (unsigned long long)p->errors,
		       (unsigned long long)us);
		if (p->errors) {
			fprintf(stderr, "bench-hostread: %llu short or failed reads\n",
				(unsigned long long)p->errors);
			return 1;
		}
		/* the firmware's formulas: whole IOPS, whole MiB/s */
		if (p->random)
			iops = p->ops * 1000000 / us;
		else
			mib_s = (p->ops * (uint64_t)p->bytes * 1000000 / us) >> 20;
	}
	printf("hostread: iops=%llu seq_mib_s=%llu\n", (unsigned long long)iops,
	       (unsigned long long)mib_s);
	free(buf);
	close(fd);
	return 0;
}
