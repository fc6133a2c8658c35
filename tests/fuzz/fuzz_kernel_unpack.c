/* fuzz_kernel_unpack.c - libFuzzer harness: a bzImage's payload found and
 * decompressed on the host (kernel_unpack.h), from any bytes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kernel_unpack.h"

/* Input: a bzImage (or anything). What kernel_payload() accepts lies inside
 * the input; what kernel_unpack() returns has the size the payload's last 4
 * bytes give; a refusal is one line. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256] = "";
	const uint8_t *payload;
	size_t plen;
	if (kernel_payload(data, size, &payload, &plen, why, sizeof(why)) < 0) {
		FUZZ_CHECK(why[0] && !strchr(why, '\n'), "refusal not one line: '%s'", why);
		return 0;
	}
	FUZZ_CHECK(payload >= data && plen >= 8 && (size_t)(payload - data) + plen <= size,
		   "payload [%zu, +%zu) outside the %zu-byte input", (size_t)(payload - data), plen,
		   size);
	uint8_t *out = NULL;
	size_t outlen = 0;
	why[0] = '\0';
	if (kernel_unpack(payload, plen, &out, &outlen, why, sizeof(why)) < 0) {
		FUZZ_CHECK(why[0] && !strchr(why, '\n') && !out, "refusal: '%s'", why);
		return 0;
	}
	const uint8_t *t = payload + plen - 4;
	size_t want = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
	FUZZ_CHECK(out && outlen == want, "%zu bytes out, the payload says %zu", outlen, want);
	out[outlen - 1] ^= 1; /* all of it is ours (ASan) */
	free(out);
	return 0;
}
