/* test_snapshot_file.c - the snapshot state file's container
 * (snapshot_file.h): sections written come back as written; every way the
 * bytes can be wrong is refused with its reason. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot_file.h"
#include "test_util.h"

#define HEADER 32

static char why[256];

/* A file with sections (1,0) "abc", (2,5) 1000 bytes of 0x5a, (2,6) empty,
 * read back into a malloc'd buffer of *len bytes. */
static uint8_t *sample(size_t *len)
{
	struct snap_writer w = {0};
	static uint8_t big[1000];
	memset(big, 0x5a, sizeof(big));
	snap_add(&w, 1, 0, "abc", 3);
	snap_add(&w, 2, 5, big, sizeof(big));
	snap_add(&w, 2, 6, "", 0);
	FILE *f = tmpfile();
	cr_assert(f);
	cr_assert_eq(snap_write_fd(&w, fileno(f)), 0);
	cr_assert_null(w.buf, "the writer is freed");
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	uint8_t *buf = malloc(*len);
	cr_assert_eq(pread(fileno(f), buf, *len, 0), (ssize_t)*len);
	fclose(f);
	return buf;
}

Test(snapshot_file, sections_come_back_as_written)
{
	size_t len;
	uint8_t *buf = sample(&len);
	cr_assert_eq(len, HEADER + 3 * 16 + 8 + 1000, "\"abc\" is padded to 8 bytes");
	struct snap_reader r;
	cr_assert_eq(snap_read_bytes(&r, buf, len, why, sizeof(why)), 0, "%s", why);
	size_t n = 0;
	const char *a = snap_find(&r, 1, 0, &n);
	cr_expect(a && n == 3 && !memcmp(a, "abc", 3));
	const uint8_t *b = snap_find(&r, 2, 5, &n);
	cr_expect(b && n == 1000 && b[0] == 0x5a && b[999] == 0x5a);
	cr_expect_eq((uintptr_t)b % 8, 0, "a section after a short one is still 8-byte aligned");
	cr_expect_not_null(snap_find(&r, 2, 6, &n));
	cr_expect_eq(n, 0);
	cr_expect_null(snap_find(&r, 2, 7, &n), "no such index");
	cr_expect_null(snap_find(&r, 3, 0, &n), "no such tag");
	snap_reader_free(&r);
	free(buf);
}

/* Each byte of the header and a sample of the payload: changed, the file
 * must be refused (magic, version, length or checksum), never accepted
 * with different contents. */
Test(snapshot_file, any_damage_is_refused)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_reader r;
	for (size_t off = 0; off < len; off += off < HEADER + 64 ? 1 : 97) {
		if (off >= 12 && off < 16)
			continue; /* reserved */
		if (off >= 28 && off < 32)
			continue; /* padding */
		buf[off] ^= 0x01;
		cr_expect_eq(snap_read_bytes(&r, buf, len, why, sizeof(why)), -1,
			     "a flipped bit at byte %zu was accepted", off);
		buf[off] ^= 0x01;
	}
	free(buf);
}

Test(snapshot_file, each_reason)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_reader r;
	static const struct {
		size_t off;
		uint8_t x;
		const char *why;
	} cases[] = {
	    {0, 'X', "not a minnow snapshot (no magic)"},
	    {8, 1, "snapshot format version 3; this minnow reads version 2"},
	    {HEADER + 20, 1, "checksum mismatch: the file is damaged"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t old = buf[cases[i].off];
		buf[cases[i].off] ^= cases[i].x;
		cr_assert_eq(snap_read_bytes(&r, buf, len, why, sizeof(why)), -1);
		cr_expect_str_eq(why, cases[i].why);
		buf[cases[i].off] = old;
	}
	cr_assert_eq(snap_read_bytes(&r, buf, len - 1, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "truncated or padded: 1055 bytes of state, the header says 1056");
	cr_assert_eq(snap_read_bytes(&r, buf, 20, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "not a minnow snapshot (20 bytes, shorter than its header)");
	free(buf);
}

Test(snapshot_file, sections_must_tile_the_payload)
{
	/* A checksum-valid file whose section claims more than there is:
	 * built by hand through the writer with a lying length. */
	struct snap_writer w = {0};
	struct {
		uint32_t tag, index;
		uint64_t len;
	} lie = {1, 0, 4096};
	snap_add(&w, 1, 0, "x", 1);
	/* Append raw bytes: a section header that runs past the end. */
	snap_add(&w, 9, 9, &lie, sizeof(lie));
	w.len -= 16 + sizeof(lie); /* drop the honest wrapper... */
	memmove(w.buf + w.len, w.buf + w.len + 16, sizeof(lie));
	w.len += sizeof(lie); /* ...keep the lying header */
	FILE *f = tmpfile();
	cr_assert_eq(snap_write_fd(&w, fileno(f)), 0);
	fseek(f, 0, SEEK_END);
	size_t len = (size_t)ftell(f);
	uint8_t *buf = malloc(len);
	cr_assert_eq(pread(fileno(f), buf, len, 0), (ssize_t)len);
	fclose(f);
	struct snap_reader r;
	cr_assert_eq(snap_read_bytes(&r, buf, len, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "section 1.0 runs past the end");
	free(buf);
}

Test(snapshot_file, files_that_are_not_state_files)
{
	struct snap_reader r;
	cr_assert_eq(snap_read_file(&r, "/nonexistent/state", why, sizeof(why)), -1);
	cr_expect_str_eq(why, "No such file or directory");
	cr_assert_eq(snap_read_file(&r, "/", why, sizeof(why)), -1);
	cr_expect_str_eq(why, "not a regular file");
	cr_assert_eq(snap_read_file(&r, "/dev/null", why, sizeof(why)), -1);
	cr_expect_str_eq(why, "not a regular file");
}
