/* test_util.h - unit-test helpers: case tables, deadlines, loop barriers, temp files, bytes. */
#ifndef MINNOW_TEST_UTIL_H
#define MINNOW_TEST_UTIL_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "acpi.h"
#include "bus.h"
#include "event_loop.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Tables of cases --------------------------------------------------------------------------
 * TABLE_TEST(suite, name, table, c) { ... } defines a Criterion parameterized test that runs its
 * body once per entry of the file-scope array `table`, each run a test of its own, with
 * `const typeof(table[0]) *c` pointing at the entry. Criterion copies parameters into the process
 * that runs the test, where pointers inside them (strings, functions) would not hold, so the
 * parameter is only the index and the body reads the table in its own process. Criterion names a
 * failed case only by its test, so each entry should carry a name the body's messages show. */
#define TABLE_TEST(suite, name, table, c)                                                          \
	ParameterizedTestParameters(suite, name)                                                   \
	{                                                                                          \
		static size_t idx[ARRAY_SIZE(table)];                                              \
		for (size_t i = 0; i < ARRAY_SIZE(table); i++)                                     \
			idx[i] = i;                                                                \
		return cr_make_param_array(size_t, idx, ARRAY_SIZE(table));                        \
	}                                                                                          \
	static void suite##_##name##_case(const __typeof__((table)[0]) *c);                        \
	ParameterizedTest(size_t *i, suite, name)                                                  \
	{                                                                                          \
		suite##_##name##_case(&(table)[*i]);                                               \
	}                                                                                          \
	static void suite##_##name##_case(const __typeof__((table)[0]) *c)

/* ---- Time and waiting ------------------------------------------------------------------------ */

/* Milliseconds on the monotonic clock. */
uint64_t now_ms(void);

/* Seconds this process's threads have spent runnable but waiting for a CPU so far: the sum over
 * /proc/self/task/<tid>/schedstat of the second field; 0 where the kernel does not keep it. */
double cpu_wait_s(void);

/* Asserts that `units` (packets, requests, bytes) done in `secs` of wall time are within 10% of
 * `rate` per second, logging the figures under `what`. Too fast is judged on the wall time;
 * too slow on the wall time less `waited`, the seconds the host kept the process's threads off a
 * CPU meanwhile (a cpu_wait_s() difference): a busy host can slow a rate limiter down, never
 * speed it up. When that wait covers the whole run, the test is skipped, saying why. */
void expect_rate(const char *what, double units, double secs, double waited, double rate);

/* Evaluates `cond` until it holds, sleeping 200 us between tries, for at most `ms` milliseconds
 * (`cond` is evaluated at least once); the value of the last evaluation. */
#define WAIT_UNTIL(cond, ms)                                                                       \
	__extension__({                                                                            \
		uint64_t wait_end_ = now_ms() + (ms);                                              \
		bool wait_ok_;                                                                     \
		while (!(wait_ok_ = (cond)) && now_ms() < wait_end_)                               \
			usleep(200);                                                               \
		wait_ok_;                                                                          \
	})

/* Makes sure the running loop `l` has dealt with everything that was ready when it was called:
 * `rounds` times, adds an eventfd to the loop, signals it and waits (asserted, 5 s) for its
 * callback. epoll hands out ready fds in order, so every fd ready before the barrier had its
 * callback first; a callback that makes more work (a new fd, a level-triggered fd with data left)
 * is caught by the next round. This is how a test waits for "nothing happened" without a sleep. */
void loop_settle(struct event_loop *l, unsigned rounds);

/* ---- Temporary files ------------------------------------------------------------------------- */

/* The directory for temporary files: $TMPDIR when it is an absolute path of a directory short
 * enough to hold a Unix socket path below it (at most 64 bytes), else /tmp. */
const char *tmp_dir(void);

/* Makes a fresh directory "tmp_dir()/minnow-PREFIX-XXXXXX" (mkdtemp) and writes its path into
 * `out` (`size` bytes). Asserts. */
void make_tmp_dir(char *out, size_t size, const char *prefix);

/* Makes a fresh empty file "DIR/minnow-PREFIX-XXXXXX" (mkstemp; DIR NULL: tmp_dir()), writes its
 * path into `out` (`size` bytes) and returns the open fd. Asserts. */
int make_tmp_file(char *out, size_t size, const char *dir, const char *prefix);

/* Removes the files directly inside `dir`, then `dir`. Quiet: for teardown. */
void remove_tmp_dir(const char *dir);

/* make_tmp_dir() into dir (dir_size bytes), then a sparse file of `size`
 * bytes named "img" in it, whose path goes to img (img_size bytes): a disk
 * image for a test. Asserts on failure; remove_tmp_dir(dir) removes both. */
void make_tmp_image(char *dir, size_t dir_size, char *img, size_t img_size, const char *prefix,
		    off_t size);

/* ---- What minnow logs ------------------------------------------------------------------------ */

/* Sends this process's stderr (where minnow logs) to a fresh temporary file, named in `path`,
 * until stderr_capture_end(); returns the saved stderr. Asserts. */
int stderr_capture_begin(char *path, size_t len);

/* Restores stderr from `saved`, removes the file and returns what was logged meanwhile
 * (malloc'd, NUL-terminated, at most 64 KiB). Asserts. */
char *stderr_capture_end(int saved, const char *path);

/* The number of newlines in `text`. */
unsigned count_lines(const char *text);

/* ---- MMIO devices ---------------------------------------------------------------------------- */

/* A guest's `len`-byte write of `value` at `offset` into device `dev` through its ops. */
void mmio_wr(const struct mmio_ops *ops, void *dev, uint64_t offset, uint64_t value, unsigned len);

/* A guest's `len`-byte read at `offset` from device `dev` through its ops, zero-extended. */
uint64_t mmio_rd(const struct mmio_ops *ops, void *dev, uint64_t offset, unsigned len);

/* ---- Bytes ----------------------------------------------------------------------------------- */

/* The 8-bit sum of `n` bytes (ACPI and MP table checksums make it 0). */
uint8_t byte_sum(const void *p, size_t n);

/* Whether all `n` bytes at `p` are `v`. */
bool all_bytes(const void *p, size_t n, uint8_t v);

/* ---- Platform descriptions ------------------------------------------------------------------- */

/* An ACPI / MP table description: `vcpus` CPUs, `virtio` virtio-mmio slots at their standard
 * bases and GSIs, the UART when `uart`, and the pvpanic device. */
struct acpi_config test_acpi_config(unsigned vcpus, unsigned virtio, bool uart);

#endif
