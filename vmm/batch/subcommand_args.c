/* subcommand_args.c - the shared part of the batch and bench command lines
 * (subcommand_args.h). */
#include "subcommand_args.h"

#include <stdio.h>

#include "cli_number.h"

int args_next(int argc, char **argv, const char *shortopts, const struct option *longopts,
	      const char *cmd, const char **config, char *err, size_t errlen)
{
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shortopts, longopts, NULL);
		if (c == ':') {
			snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
			return -1;
		}
		if (c == '?') {
			snprintf(err, errlen, "unknown option '%s' (%s --help)", argv[optind - 1],
				 cmd);
			return -1;
		}
		if (c != -1)
			return c;
		if (optind >= argc)
			return 0;
		if (*config) {
			snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
			return -1;
		}
		*config = argv[optind++];
	}
}

bool args_number(const char *opt, const char *s, long lo, long hi, long *out, char *err,
		 size_t errlen)
{
	if (cli_number(s, lo, hi, out))
		return true;
	snprintf(err, errlen, "%s takes a number from %ld to %ld, not '%s'", opt, lo, hi, s);
	return false;
}

bool args_append(const char *opt, const char **list, size_t *n, size_t max, const char *s,
		 char *err, size_t errlen)
{
	if (*n == max) {
		snprintf(err, errlen, "too many %s options (max %zu)", opt, max);
		return false;
	}
	list[(*n)++] = s;
	return true;
}
