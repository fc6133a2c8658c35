/* aml.c - AML byte-code encoding (ACPI 6.5 section 20) for generated DSDTs. */
#include "aml.h"

#include <stdlib.h>
#include <string.h>

enum {
	ZERO_OP = 0x00,
	ONE_OP = 0x01,
	NAME_OP = 0x08,
	BYTE_PREFIX = 0x0A,
	WORD_PREFIX = 0x0B,
	DWORD_PREFIX = 0x0C,
	STRING_PREFIX = 0x0D,
	QWORD_PREFIX = 0x0E,
	SCOPE_OP = 0x10,
	BUFFER_OP = 0x11,
	PACKAGE_OP = 0x12,
	DUAL_NAME_PREFIX = 0x2E,
	MULTI_NAME_PREFIX = 0x2F,
	EXT_OP_PREFIX = 0x5B,
	METHOD_OP = 0x14,
	ROOT_CHAR = 0x5C,
	LOCAL0_OP = 0x60,
	ARG0_OP = 0x68,
	STORE_OP = 0x70,
	AND_OP = 0x7B,
	NOTIFY_OP = 0x86,
	IF_OP = 0xA0,
	RETURN_OP = 0xA4,
	/* after EXT_OP_PREFIX */
	OP_REGION_OP = 0x80,
	FIELD_OP = 0x81,
	DEVICE_OP = 0x82,
};

#define REGION_SYSTEM_MEMORY 0x00
#define LOCALS		     8
#define ARGS		     7
#define METHOD_ARGS_MAX	     7

/* Resource descriptor tags (ACPI 6.5 section 6.4). */
enum {
	RES_END_TAG = 0x79,	      /* small item, 1 byte of checksum */
	RES_MEMORY32_FIXED = 0x86,    /* large item, 9 bytes of data */
	RES_EXTENDED_INTERRUPT = 0x89 /* large item */
};

#define NAME_SEGS_MAX 255

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->data);
	aml_init(a);
}

/* Makes room for `n` more bytes; false (and `failed`) when it cannot. */
static bool reserve(struct aml *a, size_t n)
{
	if (a->failed)
		return false;
	if (n > AML_PKG_LENGTH_MAX || a->len > AML_PKG_LENGTH_MAX - n) {
		a->failed = true;
		return false;
	}
	if (a->len + n <= a->cap)
		return true;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	uint8_t *p = realloc(a->data, cap);
	if (!p) {
		a->failed = true;
		return false;
	}
	a->data = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (n == 0 || !reserve(a, n))
		return;
	memcpy(a->data + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Appends `v` as `n` little-endian bytes. */
static void put_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

size_t aml_pkg_length(uint32_t content_len, uint8_t out[4])
{
	/* One byte holds 6 bits; with 1-3 follow bytes the lead byte keeps 4
	 * bits and each follow byte adds 8. */
	for (size_t n = 1; n <= 4; n++) {
		uint64_t total = (uint64_t)content_len + n;
		uint64_t max = n == 1 ? 0x3F : (1ULL << (4 + 8 * (n - 1))) - 1;
		if (total > max)
			continue;
		if (n == 1) {
			out[0] = (uint8_t)total;
			return 1;
		}
		out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0F));
		for (size_t i = 1; i < n; i++)
			out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		return n;
	}
	return 0;
}

size_t aml_pkg_begin(const struct aml *a)
{
	return a->len;
}

void aml_pkg_end(struct aml *a, size_t start)
{
	if (a->failed)
		return;
	if (start > a->len || a->len - start > AML_PKG_LENGTH_MAX) {
		a->failed = true;
		return;
	}
	uint8_t enc[4];
	size_t n = aml_pkg_length((uint32_t)(a->len - start), enc);
	if (n == 0 || !reserve(a, n)) {
		a->failed = true;
		return;
	}
	memmove(a->data + start + n, a->data + start, a->len - start);
	memcpy(a->data + start, enc, n);
	a->len += n;
}

static bool lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

void aml_name_string(struct aml *a, const char *path)
{
	uint8_t segs[NAME_SEGS_MAX][4];
	size_t nsegs = 0;
	bool root = false;
	const char *p = path;
	if (*p == '\\') {
		root = true;
		p++;
	}
	while (*p) {
		if (nsegs == NAME_SEGS_MAX || !lead_char(*p)) {
			a->failed = true;
			return;
		}
		size_t n = 0;
		while (n < 4 && name_char(p[n]))
			n++;
		memset(segs[nsegs], '_', 4);
		memcpy(segs[nsegs], p, n);
		nsegs++;
		p += n;
		if (*p == '.' && p[1] != '\0')
			p++;
		else if (*p != '\0') {
			a->failed = true;
			return;
		}
	}
	if (root)
		aml_byte(a, ROOT_CHAR);
	if (nsegs == 0) {
		aml_byte(a, 0x00); /* NullName */
		return;
	}
	if (nsegs == 2)
		aml_byte(a, DUAL_NAME_PREFIX);
	else if (nsegs > 2) {
		aml_byte(a, MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nsegs);
	}
	aml_bytes(a, segs, 4 * nsegs);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, ONE_OP);
	} else if (v <= 0xFF) {
		aml_byte(a, BYTE_PREFIX);
		put_le(a, v, 1);
	} else if (v <= 0xFFFF) {
		aml_byte(a, WORD_PREFIX);
		put_le(a, v, 2);
	} else if (v <= 0xFFFFFFFFu) {
		aml_byte(a, DWORD_PREFIX);
		put_le(a, v, 4);
	} else {
		aml_byte(a, QWORD_PREFIX);
		put_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7E) {
			a->failed = true;
			return;
		}
	}
	aml_byte(a, STRING_PREFIX);
	aml_bytes(a, s, n + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	if (strlen(id) != 7) {
		a->failed = true;
		return;
	}
	uint32_t v = 0;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			a->failed = true;
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 0x40);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);
		if (d < 0) {
			a->failed = true;
			return;
		}
		v = (v << 4) | (uint32_t)d;
	}
	/* The 32-bit ID is stored most significant byte first. */
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	aml_byte(a, DWORD_PREFIX);
	aml_bytes(a, be, 4);
}

void aml_name_decl(struct aml *a, const char *path)
{
	aml_byte(a, NAME_OP);
	aml_name_string(a, path);
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, SCOPE_OP);
	size_t start = aml_pkg_begin(a);
	aml_name_string(a, path);
	return start;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, DEVICE_OP);
	size_t start = aml_pkg_begin(a);
	aml_name_string(a, path);
	return start;
}

size_t aml_package_begin(struct aml *a, uint8_t n)
{
	aml_byte(a, PACKAGE_OP);
	size_t start = aml_pkg_begin(a);
	aml_byte(a, n);
	return start;
}

void aml_buffer(struct aml *a, const void *bytes, size_t n)
{
	aml_byte(a, BUFFER_OP);
	size_t start = aml_pkg_begin(a);
	aml_integer(a, n);
	aml_bytes(a, bytes, n);
	aml_pkg_end(a, start);
}

size_t aml_method_begin(struct aml *a, const char *path, unsigned nargs, bool serialized)
{
	if (nargs > METHOD_ARGS_MAX)
		a->failed = true;
	aml_byte(a, METHOD_OP);
	size_t start = aml_pkg_begin(a);
	aml_name_string(a, path);
	/* MethodFlags: ArgCount bits 0-2, SerializeFlag bit 3, SyncLevel 0. */
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return start;
}

void aml_region_memory(struct aml *a, const char *path, uint64_t base, uint64_t len)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, OP_REGION_OP);
	aml_name_string(a, path);
	aml_byte(a, REGION_SYSTEM_MEMORY);
	aml_integer(a, base);
	aml_integer(a, len);
}

size_t aml_field_begin(struct aml *a, const char *region, enum aml_access access)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, FIELD_OP);
	size_t start = aml_pkg_begin(a);
	aml_name_string(a, region);
	/* FieldFlags: AccessType bits 0-3, LockRule bit 4 (NoLock), UpdateRule
	 * bits 5-6 (Preserve). */
	aml_byte(a, (uint8_t)(access & 0x0F));
	return start;
}

void aml_field_unit(struct aml *a, const char *name, uint32_t bits)
{
	if (bits == 0 || bits > AML_PKG_LENGTH_MAX) {
		a->failed = true;
		return;
	}
	/* A NameSeg (a longer path fails: it encodes to more than 4 bytes),
	 * then the width in bits in PkgLength's encoding (the value itself:
	 * unlike an object's length it does not count its own bytes). */
	struct aml seg;
	aml_init(&seg);
	aml_name_string(&seg, name);
	if (seg.failed || seg.len != 4) {
		aml_free(&seg);
		a->failed = true;
		return;
	}
	aml_bytes(a, seg.data, 4);
	aml_free(&seg);
	uint8_t enc[4];
	size_t len;
	if (bits <= 0x3F) {
		enc[0] = (uint8_t)bits;
		len = 1;
	} else {
		len = bits <= 0xFFF ? 2 : bits <= 0xFFFFF ? 3 : 4;
		enc[0] = (uint8_t)(((len - 1) << 6) | (bits & 0x0F));
		for (size_t i = 1; i < len; i++)
			enc[i] = (uint8_t)(bits >> (4 + 8 * (i - 1)));
	}
	aml_bytes(a, enc, len);
}

void aml_local(struct aml *a, unsigned n)
{
	if (n >= LOCALS) {
		a->failed = true;
		return;
	}
	aml_byte(a, (uint8_t)(LOCAL0_OP + n));
}

void aml_arg(struct aml *a, unsigned n)
{
	if (n >= ARGS) {
		a->failed = true;
		return;
	}
	aml_byte(a, (uint8_t)(ARG0_OP + n));
}

void aml_store(struct aml *a)
{
	aml_byte(a, STORE_OP);
}

void aml_and(struct aml *a)
{
	aml_byte(a, AND_OP);
}

void aml_no_target(struct aml *a)
{
	aml_byte(a, 0x00); /* NullName */
}

size_t aml_if_begin(struct aml *a)
{
	aml_byte(a, IF_OP);
	return aml_pkg_begin(a);
}

void aml_notify(struct aml *a, const char *path, uint8_t value)
{
	aml_byte(a, NOTIFY_OP);
	aml_name_string(a, path);
	aml_integer(a, value);
}

void aml_return(struct aml *a)
{
	aml_byte(a, RETURN_OP);
}

void aml_res_memory32_fixed(struct aml *r, bool writable, uint32_t base, uint32_t len)
{
	aml_byte(r, RES_MEMORY32_FIXED);
	put_le(r, 9, 2);
	aml_byte(r, writable ? 1 : 0);
	put_le(r, base, 4);
	put_le(r, len, 4);
}

void aml_res_interrupt(struct aml *r, enum aml_trigger trigger, enum aml_polarity polarity,
		       uint32_t gsi)
{
	/* Flags: bit 0 consumer, bit 1 edge, bit 2 active-low, bit 3 shared. */
	uint8_t flags = (uint8_t)(1u | ((unsigned)trigger << 1) | ((unsigned)polarity << 2));
	aml_byte(r, RES_EXTENDED_INTERRUPT);
	put_le(r, 6, 2); /* flags, count, one 32-bit interrupt number */
	aml_byte(r, flags);
	aml_byte(r, 1);
	put_le(r, gsi, 4);
}

void aml_resource_template(struct aml *a, struct aml *r)
{
	aml_byte(r, RES_END_TAG);
	aml_byte(r, 0); /* checksum 0: "treat as correct" */
	if (r->failed) {
		a->failed = true;
		return;
	}
	aml_buffer(a, r->data, r->len);
}
