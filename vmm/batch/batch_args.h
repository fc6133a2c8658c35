/* batch_args.h - the command line of `minnow batch`. */
#ifndef MINNOW_BATCH_ARGS_H
#define MINNOW_BATCH_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define BATCH_MAX_VMS	      1000000
#define BATCH_MAX_SETS	      128
#define BATCH_SLURM_MAX_TASKS 1000 /* Slurm's default MaxArraySize is 1001 */

struct batch_options {
	const char *config;
	long n;	   /* -n: VMs to run, 1..BATCH_MAX_VMS */
	long jobs; /* -j: at most this many at once, 1..n; default min(online CPUs, n) */
	const char *sets[BATCH_MAX_SETS]; /* --set values, passed to every VM */
	size_t n_sets;
	const char *json; /* --json FILE: the JSON lines go there, not to stdout */
	const char *logs; /* --logs DIR: VM i's stdout and stderr in DIR/i.out, DIR/i.err */
	bool fail_fast;	  /* stop at the first VM that does not exit 0 */
	bool help;	  /* --help: print the usage and exit 0 */
	long first;	  /* --first: the VMs are first..first+n-1 (a slice of a batch) */
	/* --slurm: the batch runs as one Slurm array job (batch_slurm.h). */
	bool slurm;
	long tasks;		/* --tasks: array tasks, 1..n; default ceil(n / jobs) */
	const char *partition;	/* --partition P, or NULL */
	const char *time_limit; /* --time LIMIT, or NULL */
	const char *slurm_dir;	/* --slurm-dir DIR (kept), or NULL (a temporary one) */
	const char *sbatch_args[BATCH_MAX_SETS]; /* --sbatch-arg values */
	size_t n_sbatch_args;
};

/* Parses `minnow batch` arguments (argv[0] is "batch"). Returns 0, or -1
 * with a one-line reason in `err` ("-n takes ..."). `cpus` is the default
 * for -j (clamped to -n); with --slurm the default is 1 (this host's CPUs
 * say nothing of the compute nodes'). */
int batch_parse_args(int argc, char **argv, long cpus, struct batch_options *o, char *err,
		     size_t errlen);

/* Prints the usage of `minnow batch`. */
void batch_usage(void *stream);

#endif
