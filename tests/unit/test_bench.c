/* test_bench.c - minnow bench's arguments, its timeline (Trace Event
 * Format) and its box plot. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch_stats.h"
#include "bench_args.h"
#include "bench_out.h"

static int parse(struct bench_options *o, char *err, const char *const *args)
{
	char *argv[20];
	int argc = 0;
	argv[argc++] = (char *)"bench";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return bench_parse_args(argc, argv, o, err, 256);
}

Test(bench_args, defaults_and_values)
{
	struct bench_options o;
	char err[256];
	const char *a[] = {"vm.ini", NULL};
	cr_assert_eq(parse(&o, err, a), 0, "%s", err);
	cr_assert_eq(o.runs, 20);
	cr_assert_eq(o.warmup, 1);
	cr_assert_eq(o.timeout_s, 60);
	const char *b[] = {"vm.ini",	"-n",	     "5",	  "--warmup",  "0",
			   "--compare", "qemu -M x", "--compare", "/bin/true", "--trace",
			   "t.json",	"--timeout", "3",	  NULL};
	cr_assert_eq(parse(&o, err, b), 0, "%s", err);
	cr_assert_eq(o.runs, 5);
	cr_assert_eq(o.warmup, 0);
	cr_assert_eq(o.n_compares, 2);
	cr_assert_str_eq(o.compare[0], "qemu -M x");
	cr_assert_str_eq(o.trace, "t.json");
	cr_assert_eq(o.timeout_s, 3);
}

Test(bench_args, refuses)
{
	static const struct {
		const char *args[8];
		const char *msg;
	} bad[] = {
	    {{"vm.ini", "-n", "0", NULL}, "-n takes a number from 1 to 100000, not '0'"},
	    {{"vm.ini", "--warmup", "-1", NULL},
	     "--warmup takes a number from 0 to 100000, not '-1'"},
	    {{"vm.ini", "--timeout", "0", NULL},
	     "--timeout takes seconds from 1 to 86400, not '0'"},
	    {{"vm.ini", "--compare", "  ", NULL}, "--compare needs a command"},
	    {{"-n", "3", NULL}, "no config file (minnow bench CONFIG.ini [-n N])"},
	    {{"vm.ini", "--plot", NULL}, "--plot needs a value"},
	    {{"vm.ini", "--frob", NULL}, "unknown option '--frob' (minnow bench --help)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bench_options o;
		char err[256] = "";
		cr_assert_eq(parse(&o, err, bad[i].args), -1, "row %zu accepted", i);
		cr_assert_str_eq(err, bad[i].msg, "row %zu", i);
	}
}

static const char run_line[] =
    "{\"run\":3,\"wall_us\":5000,\"config_parsed_us\":300,\"vm_created_us\":700,"
    "\"memory_ready_us\":800,\"kernel_loaded_us\":1000,\"first_run_us\":1200,"
    "\"boot_complete_us\":2000,\"vm_end_us\":3000,\"torn_down_us\":3100,"
    "\"guest_init_us\":1800,\"guest_command_us\":2100,\"exit_status\":0,"
    "\"exit_reason\":\"guest_exit\",\"vcpu_us\":[[1150,1300,2990],[1160,2500,2995]]}";

Test(bench_out, json_number)
{
	uint64_t v;
	cr_assert(json_number(run_line, "boot_complete_us", &v));
	cr_assert_eq(v, 2000);
	cr_assert_not(json_number("{\"a_us\":null}", "a_us", &v));
	cr_assert_not(json_number(run_line, "nothing_us", &v));
}

Test(bench_out, trace_has_phases_guest_and_vcpus)
{
	char buf[8192];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	bench_trace(run_line, "vm.ini", f);
	fclose(f);
	static const char *const want[] = {
	    "\"traceEvents\":[",
	    "{\"name\":\"read config\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":0,\"dur\":300}",
	    "{\"name\":\"boot\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":1200,\"dur\":800}",
	    "{\"name\":\"tear down\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":3000,\"dur\":100}",
	    "{\"name\":\"kernel\",\"ph\":\"X\",\"pid\":1,\"tid\":2,\"ts\":1200,\"dur\":600}",
	    "{\"name\":\"command\",\"ph\":\"X\",\"pid\":1,\"tid\":2,\"ts\":2100,\"dur\":900}",
	    "{\"name\":\"guest_command_us\",\"ph\":\"i\"",
	    "\"tid\":11,\"args\":{\"name\":\"vCPU 1\"}",
	    "{\"name\":\"guest\",\"ph\":\"X\",\"pid\":1,\"tid\":11,\"ts\":2500,\"dur\":495}",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert(strstr(buf, want[i]), "no %s in %s", want[i], buf);
	cr_assert(strstr(buf, "\n]}\n"), "%s", buf);
	/* Every event is an object on its own line between the brackets. */
	unsigned events = 0;
	for (const char *p = buf; (p = strstr(p, "\n{\"name\"")); p++)
		events++;
	cr_assert_eq(
	    events, 23, "%s",
	    buf); /* 1 process, 8 phases, 3 guest spans, 3 marks, 2 vCPUs x 2, 4 thread names */
}

Test(bench_out, plot_writes_an_svg)
{
	if (!in_path("gnuplot"))
		cr_skip_test("gnuplot is not installed (Debian package gnuplot-nox)");
	struct batch_stats s;
	memset(&s, 0, sizeof(s));
	for (int i = 1; i <= 30; i++) {
		char line[160];
		snprintf(line, sizeof(line),
			 "{\"wall_us\":%d,\"boot_complete_us\":%d,\"peak_rss_kib\":3000,"
			 "\"exit_status\":0}",
			 4000 + 37 * (i % 7), 1500 + 11 * i);
		cr_assert_eq(batch_stats_add(&s, line), 0);
	}
	char svg[] = "/tmp/minnow-test-plot-XXXXXX";
	int fd = mkstemp(svg);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(bench_plot(&s, "test", svg), 0);
	FILE *f = fopen(svg, "r");
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(svg);
	buf[n] = '\0';
	cr_assert(strstr(buf, "<svg"), "not an SVG: %.200s", buf);
	cr_assert(strstr(buf, "boot_complete_us"), "no phase label");
	cr_assert_null(strstr(buf, "peak_rss_kib"), "memory is not a time");
	batch_stats_free(&s);
}
