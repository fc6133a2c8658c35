/* kernel_unpack.h - a bzImage's compressed kernel, decompressed on the host.
 *
 * A bzImage (boot protocol 2.08 and later) says where its payload is
 * (payload_offset, payload_length, from the start of the protected-mode
 * code) and the payload is the kernel ELF (vmlinux, with relocations
 * appended when the kernel relocates itself) compressed with the method
 * the kernel was built with; its last 4 bytes are the decompressed size,
 * little-endian. minnow reads LZ4 (the kernel's "legacy" LZ4 frames, as
 * Debian's kernels are built) with liblz4 when it was built with it, and
 * gzip with zlib; other methods (xz, zstd, bzip2, lzma, lzo) are left to
 * the kernel's own decompressor. */
#ifndef MINNOW_KERNEL_UNPACK_H
#define MINNOW_KERNEL_UNPACK_H

#include <stddef.h>
#include <stdint.h>

/* The payload of bzImage `img`: 0 with *payload and *len, or -1 with a
 * one-line reason (not a bzImage, a protocol before 2.08, a payload
 * outside the file). */
int kernel_payload(const uint8_t *img, size_t len, const uint8_t **payload, size_t *plen, char *why,
		   size_t whylen);

/* Decompresses `payload` into a new buffer (*out, to be freed; *outlen
 * bytes, the size the payload's last 4 bytes give). Returns 0, or -1 with
 * a one-line reason: a method minnow does not read ("xz", ...: the
 * kernel's decompressor handles it), damaged data, a size that does not
 * match, out of memory. */
int kernel_unpack(const uint8_t *payload, size_t plen, uint8_t **out, size_t *outlen, char *why,
		  size_t whylen);

#endif
