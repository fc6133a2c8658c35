/* bench_args.c - the command line of `minnow bench`. */
#include "bench_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_number.h"
#include "subcommand_args.h"

void bench_usage(void *stream)
{
	fprintf(stream,
		"Usage: minnow bench CONFIG.ini [options]\n"
		"Boots CONFIG.ini N times, one at a time, after W warm-up runs, and prints\n"
		"min, p50, p90, p99, max and spread (p90-p10) of every phase, the guest's\n"
		"marks, exec to exit (wall_us) and peak RSS; each --compare command runs\n"
		"once after each of minnow's runs, and its exec to exit and peak RSS are\n"
		"shown next to minnow's with the ratio of the medians.\n"
		"Options:\n"
		"  -n N                     runs (default 20, at most %d)\n"
		"  --warmup W               runs not counted, first (default 1)\n"
		"  --compare 'COMMAND'      a command to time the same way (words split at\n"
		"                           blanks, no quoting; repeatable, at most %d)\n"
		"  --set SECTION.KEY=VALUE  override a config key of minnow's runs\n"
		"  --timeout SECONDS        kill a run after this long (default 60)\n"
		"  --json FILE              every run's JSON line, then the summary\n"
		"  --plot FILE.svg          the distributions as a box plot (needs gnuplot)\n"
		"  --trace FILE.json        the median run as a Trace Event Format timeline\n"
		"                           (Perfetto, chrome://tracing)\n"
		"Exit status: 0 when every run of minnow exited 0, 1 otherwise, 2 for bad\n"
		"input (nothing run).\n",
		BENCH_MAX_RUNS, BENCH_MAX_COMPARES);
}

int bench_parse_args(int argc, char **argv, struct bench_options *o, char *err, size_t errlen)
{
	static const struct option longopts[] = {
	    {"warmup", required_argument, NULL, 'w'},
	    {"compare", required_argument, NULL, 'c'},
	    {"set", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"json", required_argument, NULL, 'J'},
	    {"plot", required_argument, NULL, 'P'},
	    {"trace", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->runs = 20;
	o->warmup = 1;
	o->timeout_s = 60;
	optind = 1;
	int c;
	long v;
	while ((c = args_next(argc, argv, "+:n:h", longopts, "minnow bench", &o->config, err,
			      errlen)) > 0) {
		bool ok = true;
		switch (c) {
		case 'n':
			ok = args_number("-n", optarg, 1, BENCH_MAX_RUNS, &o->runs, err, errlen);
			break;
		case 'w':
			ok = args_number("--warmup", optarg, 0, BENCH_MAX_RUNS, &o->warmup, err,
					 errlen);
			break;
		case 't':
			if (!cli_number(optarg, 1, 86400, &v)) {
				snprintf(err, errlen,
					 "--timeout takes seconds from 1 to 86400, not '%s'",
					 optarg);
				return -1;
			}
			o->timeout_s = (unsigned)v;
			break;
		case 'c':
			if (!optarg[strspn(optarg, " \t")]) {
				snprintf(err, errlen, "--compare needs a command");
				return -1;
			}
			ok = args_append("--compare", o->compare, &o->n_compares,
					 BENCH_MAX_COMPARES, optarg, err, errlen);
			break;
		case 's':
			ok = args_append("--set", o->sets, &o->n_sets, BENCH_MAX_SETS, optarg, err,
					 errlen);
			break;
		case 'J':
			o->json = optarg;
			break;
		case 'P':
			o->plot = optarg;
			break;
		case 'T':
			o->trace = optarg;
			break;
		case 'h':
			o->help = true;
			return 0;
		}
		if (!ok)
			return -1;
	}
	if (c < 0)
		return -1;
	if (!o->config) {
		snprintf(err, errlen, "no config file (minnow bench CONFIG.ini [-n N])");
		return -1;
	}
	return 0;
}
