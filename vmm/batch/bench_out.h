/* bench_out.h - what minnow bench writes besides its table: a box plot of
 * the distributions (through gnuplot) and a Trace Event Format timeline of
 * one run. */
#ifndef MINNOW_BENCH_OUT_H
#define MINNOW_BENCH_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "batch_stats.h"

/* The number under "key" in a flat JSON line; false when absent or null. */
bool json_number(const char *line, const char *key, uint64_t *v);

/* Whether `prog` is an executable file in one of $PATH's directories. */
bool in_path(const char *prog);

/* Writes a box plot of every "_us" phase of `s` to `svg` through gnuplot,
 * titled `title`. Returns 0, or -1 after one line on stderr. */
int bench_plot(struct batch_stats *s, const char *title, const char *svg);

/* Writes the run `line` (minnow's JSON report for one run) as Trace Event
 * Format JSON to `out`: a track of minnow's phases, a track of what the
 * guest did between its marks, instant events for the marks, and a track
 * per vCPU thread when the report has "vcpu_us". Times are microseconds
 * since minnow started. */
void bench_trace(const char *line, const char *title, FILE *out);

#endif
