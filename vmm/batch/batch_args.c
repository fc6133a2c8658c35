/* batch_args.c - the command line of `minnow batch`. */
#include "batch_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subcommand_args.h"

void batch_usage(void *stream)
{
	fprintf(stream,
		"Usage: minnow batch CONFIG.ini -n N [options]\n"
		"Boots N VMs of CONFIG.ini, at most J at once; {i} in any value of the file or\n"
		"of --set is the VM's number (0..N-1), {i+K} adds K. One JSON line per VM when\n"
		"it ends, then a summary line; a table of the phases on stderr.\n"
		"Options:\n"
		"  -n N                     how many VMs (1..%d)\n"
		"  -j J                     at most J at once (default: the CPUs, at most N)\n"
		"  --set SECTION.KEY=VALUE  override a config key of every VM (repeatable)\n"
		"  --json FILE              write the JSON lines to FILE instead of stdout\n"
		"  --logs DIR               keep VM i's stdout and stderr in DIR/i.out, DIR/i.err\n"
		"  --fail-fast              stop the batch at the first VM that does not exit 0\n"
		"  --first I                number the VMs from I (I..I+N-1: a slice of a batch)\n"
		"Slurm (README.md, \"Batches on Slurm\"):\n"
		"  --slurm                  run the batch as one Slurm array job and wait for it;\n"
		"                           each task runs a slice of the VMs, J at once\n"
		"  --tasks T                array tasks (default: N/J rounded up, at most 1000)\n"
		"  --partition P, --time LIMIT, --sbatch-arg ARG (repeatable): passed to sbatch\n"
		"  --slurm-dir DIR          the job's files (script, task output) in DIR, kept;\n"
		"                           default: a new directory here, removed at the end\n"
		"Exit status: 0 when every VM exited 0, 1 when one did not, 2 for bad input\n"
		"(no VM started), 128+N when stopped by signal N.\n",
		BATCH_MAX_VMS);
}

int batch_parse_args(int argc, char **argv, long cpus, struct batch_options *o, char *err,
		     size_t errlen)
{
	static const struct option longopts[] = {
	    {"set", required_argument, NULL, 's'},
	    {"json", required_argument, NULL, 'J'},
	    {"logs", required_argument, NULL, 'L'},
	    {"fail-fast", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {"first", required_argument, NULL, 'F'},
	    {"slurm", no_argument, NULL, 'S'},
	    {"tasks", required_argument, NULL, 'T'},
	    {"partition", required_argument, NULL, 'p'},
	    {"time", required_argument, NULL, 't'},
	    {"slurm-dir", required_argument, NULL, 'D'},
	    {"sbatch-arg", required_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	const char *slurm_only = NULL; /* a Slurm option given, for the check below */
	memset(o, 0, sizeof(*o));
	optind = 1;
	int c;
	while ((c = args_next(argc, argv, "+:n:j:h", longopts, "minnow batch", &o->config, err,
			      errlen)) > 0) {
		bool ok = true;
		switch (c) {
		case 'n':
			ok = args_number("-n", optarg, 1, BATCH_MAX_VMS, &o->n, err, errlen);
			break;
		case 'j':
			ok = args_number("-j", optarg, 1, BATCH_MAX_VMS, &o->jobs, err, errlen);
			break;
		case 's':
			ok = args_append("--set", o->sets, &o->n_sets, BATCH_MAX_SETS, optarg, err,
					 errlen);
			break;
		case 'J':
			o->json = optarg;
			break;
		case 'L':
			o->logs = optarg;
			break;
		case 'f':
			o->fail_fast = true;
			break;
		case 'F':
			ok = args_number("--first", optarg, 0, BATCH_MAX_VMS - 1, &o->first, err,
					 errlen);
			break;
		case 'S':
			o->slurm = true;
			break;
		case 'T':
			ok = args_number("--tasks", optarg, 1, BATCH_SLURM_MAX_TASKS, &o->tasks,
					 err, errlen);
			slurm_only = "--tasks";
			break;
		case 'p':
			o->partition = optarg;
			slurm_only = "--partition";
			break;
		case 't':
			o->time_limit = optarg;
			slurm_only = "--time";
			break;
		case 'D':
			o->slurm_dir = optarg;
			slurm_only = "--slurm-dir";
			break;
		case 'a':
			ok = args_append("--sbatch-arg", o->sbatch_args, &o->n_sbatch_args,
					 BATCH_MAX_SETS, optarg, err, errlen);
			slurm_only = "--sbatch-arg";
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
		snprintf(err, errlen, "no config file (minnow batch CONFIG.ini -n N)");
		return -1;
	}
	if (!o->n) {
		snprintf(err, errlen, "how many VMs? (-n N)");
		return -1;
	}
	if (o->jobs > o->n) {
		snprintf(err, errlen, "-j %ld is more than the %ld VMs of -n", o->jobs, o->n);
		return -1;
	}
	if (o->first > BATCH_MAX_VMS - o->n) {
		snprintf(err, errlen, "--first %ld -n %ld goes past VM %d", o->first, o->n,
			 BATCH_MAX_VMS - 1);
		return -1;
	}
	if (slurm_only && !o->slurm) {
		snprintf(err, errlen, "%s is an option of --slurm", slurm_only);
		return -1;
	}
	if (o->slurm)
		cpus = 1;
	if (!o->jobs)
		o->jobs = cpus < 1 ? 1 : cpus > o->n ? o->n : cpus;
	if (o->slurm && o->tasks > o->n) {
		snprintf(err, errlen, "--tasks %ld is more than the %ld VMs of -n", o->tasks, o->n);
		return -1;
	}
	if (o->slurm && !o->tasks) {
		long t = (o->n + o->jobs - 1) / o->jobs;
		o->tasks = t > BATCH_SLURM_MAX_TASKS ? BATCH_SLURM_MAX_TASKS : t;
	}
	return 0;
}
