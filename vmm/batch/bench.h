/* bench.h - `minnow bench`: boot-time distributions of one config, next to
 * other commands (README.md, "minnow bench"). */
#ifndef MINNOW_BENCH_H
#define MINNOW_BENCH_H

/* Runs `minnow bench` with its arguments (argv[0] is "bench"): each run is
 * `minnow run CONFIG --timings=json` in a child process, one at a time.
 * Returns 0 when every counted run of minnow exited 0, 1 otherwise, 2 for
 * bad input (nothing run). */
int bench_main(int argc, char **argv);

#endif
