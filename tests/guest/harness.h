/* harness.h - runs minnow on a generated ini file with the minnow-test
 * firmware, feeding stdin and capturing stdout, stderr and the exit status,
 * under a timeout; plus helpers to read the guest's "minnow-test:" lines. */
#ifndef MINNOW_GUEST_HARNESS_H
#define MINNOW_GUEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which image of the firmware to boot. */
enum fw_image { FW_PVH, FW_BZIMAGE };

/* One VM to run. Zero-initialise, then set what matters. */
struct guest_opts {
	enum fw_image image;
	const char *cmdline;	 /* [kernel] cmdline (NULL: none) */
	const char *memory;	 /* [vm] memory, e.g. "64M" (NULL: 64M) */
	unsigned vcpus;		 /* [vm] vcpus (0: 1) */
	const char *initrd;	 /* [kernel] initrd path (NULL: none) */
	bool console_input;	 /* [console] input = on (else off) */
	const char *extra_ini;	 /* appended verbatim to the ini (NULL: nothing) */
	const char *const *sets; /* --set options, NULL-terminated (NULL: none) */
	bool timings_json;	 /* pass --timings=json */
	const char *stdin_data;	 /* written to minnow's stdin, then closed */
	size_t stdin_len;
	unsigned timeout_ms; /* 0: 30 s */
};

/* What came back. */
struct guest_result {
	bool ran;	/* the child was started and reaped */
	bool timed_out; /* killed with SIGKILL after the timeout */
	int status;	/* exit status 0..255, or -1 when killed by a signal */
	int signal;	/* the terminating signal, else 0 */
	char *out;	/* stdout, NUL-terminated (never NULL after guest_run) */
	size_t out_len;
	char *err; /* stderr, NUL-terminated (never NULL after guest_run) */
	size_t err_len;
	double wall_ms; /* exec to exit */
	char ini[256];	/* the ini file used (deleted after the run) */
	char desc[512]; /* one line for failure messages: ini settings + outcome */
};

/* Skips the current Criterion test (cr_skip_test) when /dev/kvm cannot be
 * opened read-write; must be called from a test body. */
void harness_require_kvm(void);

/* Absolute path of the firmware image: $FIRMWARE_DIR (default
 * build/firmware) + minnow-test.elf or .bzimage. Static buffer. */
const char *harness_firmware(enum fw_image image);

/* Path of the minnow binary: $MINNOW, default ./minnow. */
const char *harness_minnow(void);

/* Writes a temporary ini file for `o`, runs `minnow run INI [--set ...]
 * [--timings=json]`, feeds stdin, collects stdout and stderr until the child
 * exits or the timeout passes (then SIGKILL). Returns 0 when the child ran,
 * -1 with `r->desc` explaining when it could not be started. Free with
 * guest_result_free(). */
int guest_run(const struct guest_opts *o, struct guest_result *r);

void guest_result_free(struct guest_result *r);

/* The text after "minnow-test: " + prefix on the first output line that
 * starts so, up to the end of that line, copied into buf (NUL-terminated).
 * Returns buf, or NULL when no line matches. */
char *guest_line(const char *out, const char *prefix, char *buf, size_t len);

/* How many output lines start with "minnow-test: " + prefix. */
unsigned guest_count_lines(const char *out, const char *prefix);

/* Writes `len` random bytes to a new temporary file; returns its path in
 * path (size >= 64) and the bytes in data. Returns 0 or -1. */
int harness_temp_random_file(size_t len, char *path, uint8_t *data);

/* FNV-1a, 32 bits, as the firmware computes it. */
uint32_t harness_fnv1a(const uint8_t *p, size_t n);

#endif
