/* fuzz.h - what the libFuzzer harnesses share: entry points, an input cursor, checks. */
#ifndef MINNOW_FUZZ_H
#define MINNOW_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry points (LLVMFuzzerInitialize is optional). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of minnow that must hold whatever the input: on failure it
 * prints where and why, then aborts so that libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Reads fixed-size little-endian fields; past the end every read is 0. */
struct fuzz_input {
	const uint8_t *data;
	size_t len;
	size_t pos;
};

static inline struct fuzz_input fuzz_input(const uint8_t *data, size_t len)
{
	return (struct fuzz_input){data, len, 0};
}

static inline bool fuzz_more(const struct fuzz_input *in)
{
	return in->pos < in->len;
}

static inline size_t fuzz_left(const struct fuzz_input *in)
{
	return in->len - in->pos;
}

static inline uint8_t fuzz_u8(struct fuzz_input *in)
{
	return in->pos < in->len ? in->data[in->pos++] : 0;
}

static inline uint16_t fuzz_u16(struct fuzz_input *in)
{
	uint16_t lo = fuzz_u8(in);
	return (uint16_t)(lo | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_input *in)
{
	uint32_t lo = fuzz_u16(in);
	return lo | (uint32_t)fuzz_u16(in) << 16;
}

static inline uint64_t fuzz_u64(struct fuzz_input *in)
{
	uint64_t lo = fuzz_u32(in);
	return lo | (uint64_t)fuzz_u32(in) << 32;
}

/* Takes up to `n` bytes; returns a pointer to them and sets *got. */
static inline const uint8_t *fuzz_take(struct fuzz_input *in, size_t n, size_t *got)
{
	const uint8_t *p = in->data + in->pos;
	*got = n < fuzz_left(in) ? n : fuzz_left(in);
	in->pos += *got;
	return p;
}

#endif
