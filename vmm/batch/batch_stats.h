/* batch_stats.h - what a batch's summary is made of: every VM's phase
 * timings and exit reason, taken from its JSON line, and the percentiles
 * of each phase. */
#ifndef MINNOW_BATCH_STATS_H
#define MINNOW_BATCH_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BATCH_MAX_PHASES  24
#define BATCH_MAX_REASONS 16
#define BATCH_NAME_MAX	  40

/* One phase's values over the VMs that reached it. */
struct batch_phase {
	char name[BATCH_NAME_MAX]; /* e.g. "boot_complete_us" */
	uint64_t *values;
	size_t n, cap;
};

struct batch_stats {
	struct batch_phase phases[BATCH_MAX_PHASES];
	size_t n_phases;
	struct {
		char name[BATCH_NAME_MAX];
		unsigned long count;
	} reasons[BATCH_MAX_REASONS];
	size_t n_reasons;
	unsigned long vms, ok, failed; /* VMs ended; exit status 0; not 0 */
};

/* Takes one VM's JSON line (a flat object): every "..._us" (time) and
 * "..._kib" (memory) number joins its phase, "exit_reason" its count,
 * "exit_status" the ok/failed count.
 * Unknown shapes are skipped. Returns 0, or -ENOMEM. */
int batch_stats_add(struct batch_stats *s, const char *json_line);

/* The phase (or "_kib" metric) called `name`, or NULL when no line had it. */
struct batch_phase *batch_stats_find(struct batch_stats *s, const char *name);

/* The p-th percentile (0 < p <= 100, nearest rank) of a phase's values,
 * sorting them first; UINT64_MAX when it has none. */
uint64_t batch_phase_percentile(struct batch_phase *ph, double p);

/* Prints the summary as one JSON object on one line ({"summary":{...}}):
 * counts, wall time and VMs per second, each phase's min/p50/p90/p99/max,
 * exit reasons, and the extra fields `extra` (already JSON, "k":v,...;
 * may be empty). */
void batch_stats_print_json(struct batch_stats *s, double wall_s, const char *extra, FILE *out);

/* Prints the same as a table for people. */
void batch_stats_print_text(struct batch_stats *s, double wall_s, FILE *out);

/* Frees the phases' values. */
void batch_stats_free(struct batch_stats *s);

#endif
