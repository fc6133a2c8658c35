/* batch.h - `minnow batch`: N VMs of one config, J at once, one JSON line
 * each and a summary (README.md, "minnow batch"). */
#ifndef MINNOW_BATCH_H
#define MINNOW_BATCH_H

/* Runs `minnow batch` with its arguments (argv[0] is "batch"). Each VM is
 * `minnow run CONFIG --index i --timings=json` in a child process, started
 * from this executable. Returns the exit status: 0 when every VM exited 0,
 * 1 when one did not (or the host failed), 2 for bad input (no VM started),
 * 128+N when signal N stopped the batch. */
int batch_main(int argc, char **argv);

#endif
