/* kernel_cache.h - a compressed bzImage's kernel decompressed once on the
 * host (kernel_unpack.h) and kept, so that later boots load the kernel
 * ELF directly and the guest does not decompress it.
 *
 * The cache is ${XDG_CACHE_HOME:-$HOME/.cache}/minnow/kernels/, one file per
 * bzImage content: "vmlinux-SIZE-CRC32ADLER32" (the bzImage's size and two
 * checksums of all its bytes, in hex). A file appears whole or not at all:
 * it is written under a temporary name in that directory and renamed, so
 * runs at once never read half of one (two may both write it; the second
 * rename replaces an identical file). */
#ifndef MINNOW_KERNEL_CACHE_H
#define MINNOW_KERNEL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The path of the decompressed kernel of bzImage `img` (len bytes) in the
 * cache, made first when it is not there (*made says so). Returns 0, or -1
 * with a one-line reason (kernel_unpack.h's, or the cache directory's). */
int kernel_cache_get(const uint8_t *img, size_t len, char *out, size_t outlen, bool *made,
		     char *why, size_t whylen);

#endif
