/* bench_args.h - the command line of `minnow bench`. */
#ifndef MINNOW_BENCH_ARGS_H
#define MINNOW_BENCH_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define BENCH_MAX_RUNS	   100000
#define BENCH_MAX_COMPARES 4
#define BENCH_MAX_SETS	   128

struct bench_options {
	const char *config;
	long runs;				 /* -n, default 20 */
	long warmup;				 /* --warmup, default 1 */
	unsigned timeout_s;			 /* --timeout per run, default 60 */
	const char *compare[BENCH_MAX_COMPARES]; /* --compare commands */
	size_t n_compares;
	const char *sets[BENCH_MAX_SETS]; /* --set, for minnow's runs */
	size_t n_sets;
	const char *json;  /* --json FILE: every run's line and the summary */
	const char *plot;  /* --plot FILE.svg */
	const char *trace; /* --trace FILE.json */
	bool help;
};

/* Parses `minnow bench` arguments (argv[0] is "bench"). Returns 0, or -1
 * with a one-line reason in `err`. */
int bench_parse_args(int argc, char **argv, struct bench_options *o, char *err, size_t errlen);

/* Prints the usage of `minnow bench`. */
void bench_usage(void *stream);

#endif
