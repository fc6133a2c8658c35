/* test_kernel_unpack.c - a bzImage's compressed kernel decompressed on the
 * host (kernel_unpack.h) and kept by content (kernel_cache.h): LZ4 legacy
 * frames and gzip as the kernel's build writes them, every way a payload
 * can be wrong, and the cache's entries made once and found again. */
#include <criterion/criterion.h>
#ifdef HAVE_LZ4
#include <lz4.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "kernel_cache.h"
#include "kernel_unpack.h"
#include "test_util.h"

#define SETUP_SECTS 4
#define PM_START    ((SETUP_SECTS + 1) * 512)
#define LZ4_BLOCK   (8u << 20)

static char why[512];

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A kernel to pack: an ELF header, then bytes that compress somewhat. */
static uint8_t *kernel_bytes(size_t n)
{
	uint8_t *k = malloc(n);
	cr_assert(k);
	for (size_t i = 0; i < n; i++)
		k[i] = (uint8_t)((i * 7) ^ (i >> 9));
	memcpy(k, (const uint8_t[]){0x7f, 'E', 'L', 'F'}, 4);
	return k;
}

#ifdef HAVE_LZ4
/* The kernel build's LZ4: `lz4 -l` (legacy frames, 8 MiB blocks), then the
 * size, 32 bits little-endian. */
static uint8_t *lz4_payload(const uint8_t *k, size_t n, size_t *plen)
{
	size_t cap = 8 + n + n / 100 + 1024 * (n / LZ4_BLOCK + 1);
	uint8_t *p = malloc(cap);
	cr_assert(p);
	put32(p, 0x184C2102u);
	size_t len = 4;
	for (size_t off = 0; off < n; off += LZ4_BLOCK) {
		int in = (int)(n - off < LZ4_BLOCK ? n - off : LZ4_BLOCK);
		int c = LZ4_compress_default((const char *)k + off, (char *)p + len + 4, in,
					     (int)(cap - len - 8));
		cr_assert_gt(c, 0);
		put32(p + len, (uint32_t)c);
		len += 4 + (size_t)c;
	}
	put32(p + len, (uint32_t)n);
	*plen = len + 4;
	return p;
}

#endif

/* gzip -9 of the kernel (its trailer's ISIZE is the size). */
static uint8_t *gzip_payload(const uint8_t *k, size_t n, size_t *plen)
{
	z_stream z = {0};
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, n);
	uint8_t *p = malloc(cap);
	z.next_in = (Bytef *)k;
	z.avail_in = (uInt)n;
	z.next_out = p;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*plen = cap - z.avail_out;
	deflateEnd(&z);
	return p;
}

/* A bzImage around `payload`: setup sectors with the 2.08+ header fields. */
static uint8_t *bzimage(const uint8_t *payload, size_t plen, size_t *len)
{
	size_t off = 0x100; /* payload_offset: after some "decompressor" */
	*len = PM_START + off + plen;
	uint8_t *b = calloc(1, *len);
	cr_assert(b);
	b[0x1f1] = SETUP_SECTS;
	memcpy(b + 0x202, "HdrS", 4);
	b[0x206] = 0x0f;
	b[0x207] = 0x02;
	put32(b + 0x248, (uint32_t)off);
	put32(b + 0x24c, (uint32_t)plen);
	memcpy(b + PM_START + off, payload, plen);
	return b;
}

static void round_trip(bool lz4, size_t n)
{
	uint8_t *k = kernel_bytes(n);
	size_t plen, len, outlen = 0;
#ifdef HAVE_LZ4
	uint8_t *p = lz4 ? lz4_payload(k, n, &plen) : gzip_payload(k, n, &plen);
#else
	uint8_t *p = gzip_payload(k, n, &plen);
#endif
	uint8_t *b = bzimage(p, plen, &len), *out = NULL;
	const uint8_t *got;
	size_t glen;
	cr_assert_eq(kernel_payload(b, len, &got, &glen, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(got, b + PM_START + 0x100);
	cr_expect_eq(glen, plen);
	cr_assert_eq(kernel_unpack(got, glen, &out, &outlen, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(outlen, n);
	cr_expect(memcmp(out, k, n) == 0, "%s of %zu bytes: not the kernel", lz4 ? "lz4" : "gzip",
		  n);
	free(out);
	free(b);
	free(p);
	free(k);
}

Test(kernel_unpack, lz4_legacy_frames_as_the_kernel_build_writes_them)
{
#ifndef HAVE_LZ4
	cr_skip_test("minnow was built without liblz4 (./configure found no liblz4-dev)");
#endif
	round_trip(true, 100000);
	round_trip(true, 2 * LZ4_BLOCK + 12345); /* three blocks */
}

Test(kernel_unpack, gzip)
{
	round_trip(false, 300000);
}

/* Unpacks a copy of `p` changed by `edit` and expects `reason`. */
static void expect_unpack_fails(const uint8_t *p, size_t plen, void (*edit)(uint8_t *, size_t),
				const char *reason)
{
	uint8_t *c = malloc(plen), *out = NULL;
	memcpy(c, p, plen);
	edit(c, plen);
	size_t outlen;
	cr_expect_eq(kernel_unpack(c, plen, &out, &outlen, why, sizeof(why)), -1, "%s: accepted",
		     reason);
	cr_expect(strstr(why, reason), "want '%s', got '%s'", reason, why);
	free(c);
}

static void to_xz(uint8_t *p, size_t n)
{
	memcpy(p,
	       "\xfd"
	       "7zXZ\0",
	       6);
}
static void to_unknown(uint8_t *p, size_t n)
{
	memcpy(p, "ABCD", 4);
}
static void size_plus_one(uint8_t *p, size_t n)
{
	p[n - 4]++;
}
static void size_zero(uint8_t *p, size_t n)
{
	memset(p + n - 4, 0, 4);
}
#ifdef HAVE_LZ4
static void block_too_long(uint8_t *p, size_t n)
{
	put32(p + 4, (uint32_t)n);
}
#endif
static void middle_flipped(uint8_t *p, size_t n)
{
	for (size_t i = n / 3; i < n / 3 + 16; i++)
		p[i] ^= 0xa5;
}

Test(kernel_unpack, each_reason)
{
	size_t n = 50000, plen, len;
	uint8_t *k = kernel_bytes(n);
	uint8_t *p = gzip_payload(k, n, &plen);
	expect_unpack_fails(p, plen, to_xz, "compressed with xz, which minnow does not read");
	expect_unpack_fails(p, plen, to_unknown, "compressed with a method minnow does not know");
	expect_unpack_fails(p, plen, size_zero, "the payload says it unpacks to 0 bytes");
	expect_unpack_fails(p, plen, size_plus_one, "damaged gzip data (50000 of 50001 bytes)");
	expect_unpack_fails(p, plen, middle_flipped, "damaged gzip data");
#ifdef HAVE_LZ4
	size_t llen;
	uint8_t *l = lz4_payload(k, n, &llen);
	expect_unpack_fails(l, llen, size_plus_one,
			    "LZ4 data gives 50000 bytes, the payload says 50001");
	expect_unpack_fails(l, llen, block_too_long, "runs past the payload");
	free(l);
#endif

	/* The container. */
	const uint8_t *got;
	size_t glen;
	uint8_t *b = bzimage(p, plen, &len);
	cr_expect_eq(kernel_payload(b, len - 1, &got, &glen, why, sizeof(why)), -1);
	cr_expect(strstr(why, "is not inside the file"), "%s", why);
	b[0x206] = 0x06;
	cr_expect_eq(kernel_payload(b, len, &got, &glen, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "boot protocol 2.06 has no payload fields (2.08 does)");
	b[0x202] = 'X';
	cr_expect_eq(kernel_payload(b, len, &got, &glen, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "not a bzImage");
	free(b);
	free(p);
	free(k);
}

/* The cache: made once, found the next time, one entry per content, whole
 * files only (no temporary left behind). */
Test(kernel_cache, made_once_then_found)
{
	char dir[4096];
	make_tmp_dir(dir, sizeof(dir), "kcache");
	setenv("XDG_CACHE_HOME", dir, 1);
	size_t n = 70000, plen, len;
	uint8_t *k = kernel_bytes(n), *p = gzip_payload(k, n, &plen), *b = bzimage(p, plen, &len);
	char path[4400], again[4400];
	bool made = false;
	cr_assert_eq(kernel_cache_get(b, len, path, sizeof(path), &made, why, sizeof(why)), 0, "%s",
		     why);
	cr_expect(made);
	cr_expect(strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "/minnow/kernels/vmlinux-"),
		  "%s", path);
	uint8_t *f = malloc(n + 1);
	FILE *in = fopen(path, "rb");
	size_t flen = in ? fread(f, 1, n + 1, in) : 0;
	if (in)
		fclose(in);
	cr_expect(flen == n && memcmp(f, k, n) == 0, "the entry is not the kernel");
	free(f);
	cr_assert_eq(kernel_cache_get(b, len, again, sizeof(again), &made, why, sizeof(why)), 0);
	cr_expect(!made, "found, not made again");
	cr_expect_str_eq(again, path);
	b[len - 100] ^= 1; /* other bytes: another entry (or a damaged payload) */
	kernel_cache_get(b, len, again, sizeof(again), &made, why, sizeof(why));
	cr_expect_str_neq(again, path);
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "ls -A %s/minnow/kernels | grep -c '^\\.'", dir);
	FILE *ls = popen(cmd, "r");
	int tmp = -1;
	cr_expect(ls && fscanf(ls, "%d", &tmp) == 1 && tmp == 0, "temporary files left: %d", tmp);
	if (ls)
		pclose(ls);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir); /* the cache's directories too */
	cr_expect_eq(system(cmd), 0);

	/* A cache directory that cannot be made. */
	setenv("XDG_CACHE_HOME", "/dev/null", 1);
	cr_expect_eq(kernel_cache_get(b, len, path, sizeof(path), &made, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "/dev/null/minnow: Not a directory");
	free(b);
	free(p);
	free(k);
}
