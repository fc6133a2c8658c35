/* bench.c - `minnow bench`: N runs of one config after W warm-up runs, each
 * followed by one run of every --compare command; per-phase percentiles,
 * the ratio of medians, and optionally the JSON lines, a box plot and the
 * median run's timeline. */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch_stats.h"
#include "bench_args.h"
#include "bench_out.h"
#include "config.h"
#include "vm_child.h"

#define MAX_WORDS    64
#define RUN_LINE_MAX (VM_CHILD_REPORT_MAX + 3 * VM_CHILD_ERROR_MAX)

/* A --compare command split at blanks. */
struct compare {
	char *copy;
	const char *argv[MAX_WORDS + 1];
	struct batch_stats stats;
};

struct bench {
	struct bench_options o;
	char exe[PATH_MAX];
	const char *argv[8 + 2 * BENCH_MAX_SETS];
	struct compare cmp[BENCH_MAX_COMPARES];
	struct batch_stats stats;
	char (*lines)[RUN_LINE_MAX]; /* minnow's run lines, for the trace */
	FILE *json, *trace;
	unsigned long failed;
};

static int split_words(struct compare *c, const char *cmd)
{
	c->copy = strdup(cmd);
	if (!c->copy)
		return -1;
	size_t n = 0;
	for (char *save, *w = strtok_r(c->copy, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS)
			return -1;
		c->argv[n++] = w;
	}
	c->argv[n] = NULL;
	return 0;
}

/* Everything checked and opened before the first run. */
static int prepare(struct bench *b)
{
	static struct vm_config cfg;
	struct config_error err;
	if (config_load(&cfg, b->o.config, b->o.sets, b->o.n_sets, &err) < 0) {
		fprintf(stderr, "minnow: %s\n", err.msg);
		return -1;
	}
	if (b->o.plot && !in_path("gnuplot")) {
		fprintf(stderr, "minnow bench: --plot needs gnuplot, which is not in PATH (Debian "
				"package gnuplot-nox)\n");
		return -1;
	}
	ssize_t len = readlink("/proc/self/exe", b->exe, sizeof(b->exe) - 1);
	if (len < 0) {
		fprintf(stderr, "minnow bench: /proc/self/exe: %s\n", strerror(errno));
		return -1;
	}
	b->exe[len] = '\0';
	for (size_t k = 0; k < b->o.n_compares; k++) {
		if (split_words(&b->cmp[k], b->o.compare[k]) < 0) {
			fprintf(stderr, "minnow bench: --compare '%s': more than %d words\n",
				b->o.compare[k], MAX_WORDS);
			return -1;
		}
	}
	const char *outs[] = {b->o.json, b->o.trace, b->o.plot};
	FILE **files[] = {&b->json, &b->trace, NULL};
	for (size_t i = 0; i < 3; i++) {
		if (!outs[i])
			continue;
		FILE *f = fopen(outs[i], "we");
		if (!f) {
			fprintf(stderr, "minnow bench: %s: %s\n", outs[i], strerror(errno));
			return -1;
		}
		if (files[i])
			*files[i] = f;
		else
			fclose(f); /* gnuplot writes it at the end */
	}
	b->lines = calloc((size_t)b->o.runs, sizeof(*b->lines));
	if (!b->lines) {
		fprintf(stderr, "minnow bench: out of memory\n");
		return -1;
	}
	size_t n = 0;
	b->argv[n++] = b->exe;
	b->argv[n++] = "run";
	b->argv[n++] = b->o.config;
	b->argv[n++] = "--timings=json";
	for (size_t i = 0; i < b->o.n_sets; i++) {
		b->argv[n++] = "--set";
		b->argv[n++] = b->o.sets[i];
	}
	b->argv[n] = NULL;
	return 0;
}

/* One run of minnow; run < 0 is a warm-up. */
static void run_minnow(struct bench *b, long run)
{
	struct vm_child c;
	char fields[32], line[RUN_LINE_MAX];
	if (vm_child_start(&c, b->argv, -1, -1) < 0) {
		b->failed++;
		return;
	}
	vm_child_wait(&c, b->o.timeout_s * 1000u);
	if (run < 0)
		return;
	snprintf(fields, sizeof(fields), "\"run\":%ld,", run);
	vm_child_json(&c, fields, line, sizeof(line));
	if (c.status != 0) {
		b->failed++;
		fprintf(stderr, "minnow bench: run %ld: exit status %d%s%s\n", run, c.status,
			c.error[0] ? ": " : "", c.error);
	}
	(void)batch_stats_add(&b->stats, line);
	snprintf(b->lines[run], sizeof(b->lines[run]), "%s", line);
	if (b->json)
		fprintf(b->json, "%s\n", line);
}

/* One run of --compare command k. */
static void run_compare(struct bench *b, size_t k, long run)
{
	struct vm_child c;
	if (vm_child_start(&c, b->cmp[k].argv, -1, -1) < 0)
		return;
	vm_child_wait(&c, b->o.timeout_s * 1000u);
	if (run < 0)
		return;
	char line[256];
	snprintf(line, sizeof(line),
		 "{\"compare\":%zu,\"run\":%ld,\"wall_us\":%llu,\"peak_rss_kib\":%ld,"
		 "\"exit_status\":%d}",
		 k, run, (unsigned long long)c.wall_us, c.peak_rss_kib, c.status);
	(void)batch_stats_add(&b->cmp[k].stats, line);
	if (b->json)
		fprintf(b->json, "%s\n", line);
}

static void print_table(struct bench *b)
{
	printf("minnow bench: %s, %ld runs after %ld warm-up%s\n", b->o.config, b->o.runs,
	       b->o.warmup, b->o.warmup == 1 ? "" : "s");
	printf("  %-22s %6s %10s %10s %10s %10s %10s %10s\n", "phase", "n", "min", "p50", "p90",
	       "p99", "max", "spread");
	for (size_t i = 0; i < b->stats.n_phases; i++) {
		struct batch_phase *ph = &b->stats.phases[i];
		uint64_t q[] = {batch_phase_percentile(ph, 0),	 batch_phase_percentile(ph, 50),
				batch_phase_percentile(ph, 90),	 batch_phase_percentile(ph, 99),
				batch_phase_percentile(ph, 100), batch_phase_percentile(ph, 10)};
		printf("  %-22s %6zu %10llu %10llu %10llu %10llu %10llu %10llu\n", ph->name, ph->n,
		       (unsigned long long)q[0], (unsigned long long)q[1], (unsigned long long)q[2],
		       (unsigned long long)q[3], (unsigned long long)q[4],
		       (unsigned long long)(q[2] - q[5]));
	}
	printf("  (microseconds since minnow started, wall_us from spawn to exit; _kib: KiB;\n"
	       "   spread: p90 - p10)\n");
	if (!b->o.n_compares)
		return;
	static const char *const keys[] = {"wall_us", "peak_rss_kib"};
	static const char *const labels[] = {"exec to exit, p50 (ms)", "peak RSS, p50 (MiB)"};
	for (size_t k = 0; k < b->o.n_compares; k++) {
		printf("\ncompared with: %s\n", b->o.compare[k]);
		printf("  %-24s %12s %12s %10s\n", "", "minnow", "other", "other/minnow");
		for (size_t m = 0; m < 2; m++) {
			struct batch_phase *x = batch_stats_find(&b->stats, keys[m]);
			struct batch_phase *y = batch_stats_find(&b->cmp[k].stats, keys[m]);
			if (!x || !y || !x->n || !y->n)
				continue;
			double a = (double)batch_phase_percentile(x, 50) / 1000.0;
			double c = (double)batch_phase_percentile(y, 50) / 1000.0;
			if (m == 1) {
				a /= 1.024;
				c /= 1.024;
			}
			printf("  %-24s %12.3f %12.3f %9.2fx\n", labels[m], a, c,
			       a > 0 ? c / a : 0);
		}
		printf("  (%lu of its runs exited 0)\n", b->cmp[k].stats.ok);
	}
}

/* The run whose exec-to-exit time is the median. */
static long median_run(struct bench *b)
{
	struct batch_phase *w = batch_stats_find(&b->stats, "wall_us");
	if (!w || !w->n)
		return -1;
	uint64_t med = batch_phase_percentile(w, 50), v;
	for (long r = 0; r < b->o.runs; r++)
		if (json_number(b->lines[r], "wall_us", &v) && v == med)
			return r;
	return -1;
}

static void finish(struct bench *b)
{
	if (b->json) {
		batch_stats_print_json(&b->stats, 0, "\"of\":\"minnow\"", b->json);
		for (size_t k = 0; k < b->o.n_compares; k++) {
			char extra[64];
			snprintf(extra, sizeof(extra), "\"of\":\"compare %zu\"", k);
			batch_stats_print_json(&b->cmp[k].stats, 0, extra, b->json);
		}
		fclose(b->json);
	}
	if (b->trace) {
		long r = median_run(b);
		if (r >= 0)
			bench_trace(b->lines[r], b->o.config, b->trace);
		fclose(b->trace);
	}
	if (b->o.plot && bench_plot(&b->stats, b->o.config, b->o.plot) == 0)
		printf("plot: %s\n", b->o.plot);
}

int bench_main(int argc, char **argv)
{
	static struct bench b;
	char err[256];
	if (bench_parse_args(argc, argv, &b.o, err, sizeof(err)) < 0) {
		fprintf(stderr, "minnow bench: %s\n", err);
		return 2;
	}
	if (b.o.help) {
		bench_usage(stdout);
		return 0;
	}
	if (prepare(&b) < 0)
		return 2;
	for (long r = -b.o.warmup; r < b.o.runs; r++) {
		run_minnow(&b, r);
		for (size_t k = 0; k < b.o.n_compares; k++)
			run_compare(&b, k, r);
	}
	print_table(&b);
	finish(&b);
	batch_stats_free(&b.stats);
	for (size_t k = 0; k < b.o.n_compares; k++) {
		batch_stats_free(&b.cmp[k].stats);
		free(b.cmp[k].copy);
	}
	free(b.lines);
	return b.failed ? 1 : 0;
}
