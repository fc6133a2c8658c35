/* kernel_unpack.c - a bzImage's payload found and decompressed (kernel_unpack.h). */
#include "kernel_unpack.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_LZ4
#include <lz4.h>
#endif

#define HDR_SETUP_SECTS	   0x1f1
#define HDR_MAGIC	   0x202 /* "HdrS" */
#define HDR_VERSION	   0x206
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define UNPACKED_MAX	   (1u << 30) /* no kernel is near this */
#define LZ4_LEGACY_MAGIC   0x184C2102u
#define LZ4_LEGACY_BLOCK   (8u << 20) /* each frame block decompresses to at most this */

static int fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int kernel_payload(const uint8_t *img, size_t len, const uint8_t **payload, size_t *plen, char *why,
		   size_t whylen)
{
	if (len < HDR_PAYLOAD_LENGTH + 4 || memcmp(img + HDR_MAGIC, "HdrS", 4) != 0)
		return fail(why, whylen, "not a bzImage");
	unsigned version = (unsigned)img[HDR_VERSION] | (unsigned)img[HDR_VERSION + 1] << 8;
	if (version < 0x208)
		return fail(why, whylen, "boot protocol %u.%02u has no payload fields (2.08 does)",
			    version >> 8, version & 0xff);
	size_t sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	size_t start = (sects + 1) * 512;
	uint64_t off = le32(img + HDR_PAYLOAD_OFFSET), n = le32(img + HDR_PAYLOAD_LENGTH);
	if (n == 0)
		return fail(why, whylen, "it carries no compressed kernel (payload_length 0)");
	if (n < 8 || start + off + n > len)
		return fail(why, whylen, "its payload (%llu bytes at %llu) is not inside the file",
			    (unsigned long long)n, (unsigned long long)(start + off));
	*payload = img + start + off;
	*plen = (size_t)n;
	return 0;
}

/* The kernel's LZ4: "legacy" frames (magic, then blocks of a 32-bit
 * compressed length and data, each block at most 8 MiB decompressed; a
 * magic between blocks starts another frame); `end` excludes the size the
 * build appends. */
static int unpack_lz4(const uint8_t *p, size_t end, uint8_t *out, size_t outlen, char *why,
		      size_t whylen)
{
#ifdef HAVE_LZ4
	size_t pos = 4, done = 0;
	while (pos + 4 <= end) {
		uint32_t n = le32(p + pos);
		pos += 4;
		if (n == LZ4_LEGACY_MAGIC)
			continue;
		if (n > end - pos || n > (uint32_t)LZ4_compressBound((int)LZ4_LEGACY_BLOCK))
			return fail(why, whylen,
				    "LZ4 block of %u bytes at %zu runs past the payload", n,
				    pos - 4);
		size_t room = outlen - done < LZ4_LEGACY_BLOCK ? outlen - done : LZ4_LEGACY_BLOCK;
		int got = LZ4_decompress_safe((const char *)p + pos, (char *)out + done, (int)n,
					      (int)room);
		if (got < 0)
			return fail(why, whylen, "damaged LZ4 block at %zu", pos - 4);
		done += (size_t)got;
		pos += n;
	}
	if (pos != end || done != outlen)
		return fail(why, whylen, "LZ4 data gives %zu bytes, the payload says %zu", done,
			    outlen);
	return 0;
#else
	(void)p, (void)end, (void)out, (void)outlen;
	return fail(why, whylen, "LZ4, and this minnow was built without liblz4");
#endif
}

static int unpack_gzip(const uint8_t *p, size_t plen, uint8_t *out, size_t outlen, char *why,
		       size_t whylen)
{
	z_stream z = {.next_in = (Bytef *)p,
		      .avail_in = (uInt)plen,
		      .next_out = out,
		      .avail_out = (uInt)outlen};
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return fail(why, whylen, "zlib: cannot start inflating");
	int r = inflate(&z, Z_FINISH);
	size_t done = outlen - z.avail_out;
	inflateEnd(&z);
	if (r != Z_STREAM_END || done != outlen)
		return fail(why, whylen, "damaged gzip data (%zu of %zu bytes)", done, outlen);
	return 0;
}

/* The compression method by its magic, for the message when minnow cannot read it. */
static const char *method_name(const uint8_t *p, size_t n)
{
	static const struct {
		const char *name;
		const char *magic;
		size_t len;
	} methods[] = {
	    {"xz", "\xfd\x37\x7a\x58\x5a", 5},
	    {"zstd", "\x28\xb5\x2f\xfd", 4},
	    {"bzip2", "BZh", 3},
	    {"lzo", "\x89LZO", 4},
	    {"lzma", "\x5d\x00\x00", 3},
	};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (n >= methods[i].len && !memcmp(p, methods[i].magic, methods[i].len))
			return methods[i].name;
	return NULL;
}

int kernel_unpack(const uint8_t *payload, size_t plen, uint8_t **out, size_t *outlen, char *why,
		  size_t whylen)
{
	bool lz4 = le32(payload) == LZ4_LEGACY_MAGIC;
	bool gzip = payload[0] == 0x1f && payload[1] == 0x8b;
	if (!lz4 && !gzip) {
		const char *m = method_name(payload, plen);
		return m ? fail(why, whylen, "compressed with %s, which minnow does not read", m)
			 : fail(why, whylen, "compressed with a method minnow does not know");
	}
	size_t size = le32(payload + plen - 4);
	if (size == 0 || size > UNPACKED_MAX)
		return fail(why, whylen, "the payload says it unpacks to %zu bytes", size);
	uint8_t *buf = malloc(size);
	if (!buf)
		return fail(why, whylen, "out of memory for %zu bytes", size);
	int r = lz4 ? unpack_lz4(payload, plen - 4, buf, size, why, whylen)
		    : unpack_gzip(payload, plen, buf, size, why, whylen);
	if (r < 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = size;
	return 0;
}
