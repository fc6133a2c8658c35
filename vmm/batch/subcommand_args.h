/* subcommand_args.h - what the command lines of `minnow batch` and `minnow
 * bench` share: one config file among getopt_long options, numbers in a
 * range, repeatable options, and one-line messages for each mistake. */
#ifndef MINNOW_SUBCOMMAND_ARGS_H
#define MINNOW_SUBCOMMAND_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* One step of a getopt_long loop over argv (argv[0] is the subcommand's
 * name, `shortopts` starts with "+:"; the caller sets optind = 1 first).
 * The one argument that is not an option goes to *config. Returns the next
 * option's character (optarg set, as by getopt_long), 0 when argv is done,
 * or -1 with a line in `err`: a second config ("unexpected argument"), an
 * option without its value, or an unknown one (naming `cmd`'s --help). */
int args_next(int argc, char **argv, const char *shortopts, const struct option *longopts,
	      const char *cmd, const char **config, char *err, size_t errlen);

/* Whether `s` is a whole number in [lo, hi], stored in *out; if not, false
 * with "OPT takes a number from LO to HI, not 'S'" in `err`. */
bool args_number(const char *opt, const char *s, long lo, long hi, long *out, char *err,
		 size_t errlen);

/* Appends `s` to list[*n] for the repeatable option `opt`; false, with
 * "too many OPT options (max MAX)" in `err`, when `max` are there. */
bool args_append(const char *opt, const char **list, size_t *n, size_t max, const char *s,
		 char *err, size_t errlen);

#endif
