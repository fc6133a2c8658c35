/* batch_slurm.h - `minnow batch --slurm`: the batch as one Slurm array job.
 * Each array task runs a slice of the VMs with a local `minnow batch
 * --first`; this process submits the job, waits for it, and prints every
 * VM's JSON line and the summary as a local batch does (README.md,
 * "Batches on Slurm"). */
#ifndef MINNOW_BATCH_SLURM_H
#define MINNOW_BATCH_SLURM_H

#include <stddef.h>
#include <stdio.h>

#include "batch_args.h"

/* Runs the batch `o` (o->slurm set, configs already checked) on Slurm:
 * `exe` is this minnow (the compute nodes run it at the same path), `out`
 * gets the JSON lines and the summary, `sig_fd` is a signalfd of the
 * signals that stop the batch (the job is then cancelled with scancel).
 * Returns the exit status of `minnow batch` (batch.h); 2 when Slurm
 * refused the job (its message said in one line, nothing queued). */
int batch_slurm_run(const struct batch_options *o, const char *exe, FILE *out, int sig_fd);

/* Writes the array task script for the batch `o` into `buf`: task t runs
 * VMs first + t*n/T .. first + (t+1)*n/T - 1 with `exe batch config`,
 * every --set, --logs and --fail-fast passed on. `config` is the config's
 * absolute path. Returns the script's length, or -1 when it does not fit. */
int batch_slurm_script(const struct batch_options *o, const char *exe, const char *config,
		       char *buf, size_t size);

/* The first VM of array task `t` of the batch `o` (task t's VMs are
 * batch_slurm_task_first(o, t) .. batch_slurm_task_first(o, t + 1) - 1). */
long batch_slurm_task_first(const struct batch_options *o, long t);

/* Sets state[t] (for t < tasks) from `scontrol -o show job` output: one
 * line per task or range of tasks, with "ArrayTaskId=3" or "=2-5,7"
 * (perhaps "%N" after it) and "JobState=TIMEOUT". Each state is copied
 * lower-cased (at most 23 bytes); tasks not named are left alone. */
void batch_slurm_parse_states(const char *scontrol, long tasks, char (*state)[24]);

#endif
