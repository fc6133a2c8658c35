/* test_peak_rss.c - the peak RSS of minnow's report: VmHWM taken from a
 * /proc/PID/status text, and read from this process. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "peak_rss.h"

Test(peak_rss, parses_vmhwm)
{
	const char *status = "Name:\tminnow\nVmPeak:\t  123456 kB\nVmSize:\t  120000 kB\n"
			     "VmHWM:\t    5912 kB\nVmRSS:\t    5100 kB\n";
	cr_assert_eq(peak_rss_parse(status), 5912);
	cr_assert_eq(peak_rss_parse("VmHWM:\t7 kB\n"), 7, "the first line");
	cr_assert_eq(peak_rss_parse("VmHWM:\t7 kB"), 7, "no final newline");
}

Test(peak_rss, no_figure_is_zero)
{
	cr_assert_eq(peak_rss_parse(""), 0);
	cr_assert_eq(peak_rss_parse("Name:\tkthreadd\nState:\tS (sleeping)\n"), 0,
		     "a kernel thread has no VmHWM line");
	cr_assert_eq(peak_rss_parse("VmHWM:\t kB\n"), 0, "no number");
	cr_assert_eq(peak_rss_parse("VmHWM:\t12 MB\n"), 0, "not in kB");
	cr_assert_eq(peak_rss_parse("XVmHWM:\t12 kB\n"), 0, "only at a line's start");
}

/* 64 MiB written here show in this process's own peak, read through the
 * file and through the getrusage fallback. */
Test(peak_rss, reads_this_process)
{
	size_t big = 64u << 20;
	char *ballast = malloc(big);
	cr_assert_not_null(ballast);
	memset(ballast, 1, big);
	__asm__ volatile("" : : "r"(ballast) : "memory"); /* the pages stay written */
	int fd = peak_rss_open();
	cr_assert_geq(fd, 0, "/proc/self/status");
	uint64_t kib = peak_rss_kib(fd);
	cr_expect_geq(kib, big / 1024, "VmHWM %llu KiB", (unsigned long long)kib);
	cr_expect_geq(peak_rss_kib(-1), big / 1024, "the getrusage fallback");
	free(ballast);
}
