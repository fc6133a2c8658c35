/* batch_stats.c - a batch's per-phase distributions and exit reasons. */
#include "batch_stats.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The phase named by the `len` bytes at `name`, or NULL. */
static struct batch_phase *find(struct batch_stats *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n_phases; i++)
		if (strlen(s->phases[i].name) == len && !strncmp(s->phases[i].name, name, len))
			return &s->phases[i];
	return NULL;
}

struct batch_phase *batch_stats_find(struct batch_stats *s, const char *name)
{
	return find(s, name, strlen(name));
}

/* The phase named so, made when new; NULL when the table is full. */
static struct batch_phase *phase(struct batch_stats *s, const char *name, size_t len)
{
	struct batch_phase *found = find(s, name, len);
	if (found)
		return found;
	if (s->n_phases == BATCH_MAX_PHASES || len >= BATCH_NAME_MAX)
		return NULL;
	struct batch_phase *ph = &s->phases[s->n_phases++];
	memcpy(ph->name, name, len);
	ph->name[len] = '\0';
	return ph;
}

static int phase_add(struct batch_phase *ph, uint64_t v)
{
	if (ph->n == ph->cap) {
		size_t cap = ph->cap ? ph->cap * 2 : 64;
		uint64_t *nv = realloc(ph->values, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		ph->values = nv;
		ph->cap = cap;
	}
	ph->values[ph->n++] = v;
	return 0;
}

static void reason_add(struct batch_stats *s, const char *name, size_t len)
{
	if (len >= BATCH_NAME_MAX)
		len = BATCH_NAME_MAX - 1;
	for (size_t i = 0; i < s->n_reasons; i++) {
		if (strlen(s->reasons[i].name) == len && !strncmp(s->reasons[i].name, name, len)) {
			s->reasons[i].count++;
			return;
		}
	}
	if (s->n_reasons == BATCH_MAX_REASONS)
		return;
	memcpy(s->reasons[s->n_reasons].name, name, len);
	s->reasons[s->n_reasons].name[len] = '\0';
	s->reasons[s->n_reasons++].count = 1;
}

/* Skips a JSON string body starting after its opening quote; returns the
 * closing quote or NULL. */
static const char *string_end(const char *p)
{
	for (; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p : NULL;
}

int batch_stats_add(struct batch_stats *s, const char *line)
{
	const char *p = strchr(line, '{');
	bool have_status = false;
	long status = 0;
	while (p && (p = strchr(p, '"'))) {
		const char *key = p + 1, *key_end = string_end(key);
		if (!key_end || key_end[1] != ':')
			return 0;
		size_t klen = (size_t)(key_end - key);
		const char *v = key_end + 2;
		if (*v == '"') {
			const char *v_end = string_end(v + 1);
			if (!v_end)
				return 0;
			if (klen == 11 && !strncmp(key, "exit_reason", klen))
				reason_add(s, v + 1, (size_t)(v_end - v - 1));
			p = v_end + 1;
			continue;
		}
		char *end;
		if (*v >= '0' && *v <= '9') {
			unsigned long long n = strtoull(v, &end, 10);
			if ((klen > 3 && !strncmp(key + klen - 3, "_us", 3)) ||
			    (klen > 4 && !strncmp(key + klen - 4, "_kib", 4))) {
				struct batch_phase *ph = phase(s, key, klen);
				if (ph && phase_add(ph, n) < 0)
					return -ENOMEM;
			}
			if (klen == 11 && !strncmp(key, "exit_status", klen)) {
				have_status = true;
				status = (long)n;
			}
			p = end;
			continue;
		}
		if (*v == '-' && klen == 11 && !strncmp(key, "exit_status", klen)) {
			have_status = true;
			status = strtol(v, &end, 10);
			p = end;
			continue;
		}
		p = v; /* null, true, false: on to the next key */
	}
	s->vms++;
	if (have_status && status == 0)
		s->ok++;
	else
		s->failed++;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t batch_phase_percentile(struct batch_phase *ph, double p)
{
	if (ph->n == 0)
		return UINT64_MAX;
	qsort(ph->values, ph->n, sizeof(*ph->values), cmp_u64);
	double exact = p / 100.0 * (double)ph->n;
	size_t rank = (size_t)exact;
	if ((double)rank < exact)
		rank++; /* the nearest rank rounds up */
	if (rank < 1)
		rank = 1;
	if (rank > ph->n)
		rank = ph->n;
	return ph->values[rank - 1];
}

static const double pcts[] = {50, 90, 99};

void batch_stats_print_json(struct batch_stats *s, double wall_s, const char *extra, FILE *out)
{
	fprintf(out, "{\"summary\":{\"vms\":%lu,\"ok\":%lu,\"failed\":%lu,\"wall_s\":%.3f,", s->vms,
		s->ok, s->failed, wall_s);
	fprintf(out, "\"vms_per_s\":%.1f,\"phases\":{", wall_s > 0 ? (double)s->vms / wall_s : 0.0);
	for (size_t i = 0; i < s->n_phases; i++) {
		struct batch_phase *ph = &s->phases[i];
		fprintf(out, "%s\"%s\":{\"n\":%zu,\"min\":%llu", i ? "," : "", ph->name, ph->n,
			(unsigned long long)batch_phase_percentile(ph, 0));
		for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
			fprintf(out, ",\"p%.0f\":%llu", pcts[k],
				(unsigned long long)batch_phase_percentile(ph, pcts[k]));
		fprintf(out, ",\"max\":%llu}", (unsigned long long)batch_phase_percentile(ph, 100));
	}
	fprintf(out, "},\"exit_reasons\":{");
	for (size_t i = 0; i < s->n_reasons; i++)
		fprintf(out, "%s\"%s\":%lu", i ? "," : "", s->reasons[i].name, s->reasons[i].count);
	fprintf(out, "}%s%s}}\n", extra && *extra ? "," : "", extra ? extra : "");
}

void batch_stats_print_text(struct batch_stats *s, double wall_s, FILE *out)
{
	fprintf(out, "minnow batch: %lu VMs in %.3f s (%.1f VMs/s): %lu exited 0, %lu did not\n",
		s->vms, wall_s, wall_s > 0 ? (double)s->vms / wall_s : 0.0, s->ok, s->failed);
	if (s->n_phases)
		fprintf(out, "  %-22s %6s %10s %10s %10s %10s %10s\n", "phase", "n", "min", "p50",
			"p90", "p99", "max");
	for (size_t i = 0; i < s->n_phases; i++) {
		struct batch_phase *ph = &s->phases[i];
		fprintf(out, "  %-22s %6zu %10llu", ph->name, ph->n,
			(unsigned long long)batch_phase_percentile(ph, 0));
		for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
			fprintf(out, " %10llu",
				(unsigned long long)batch_phase_percentile(ph, pcts[k]));
		fprintf(out, " %10llu\n", (unsigned long long)batch_phase_percentile(ph, 100));
	}
	fprintf(out, "  exit reasons:");
	for (size_t i = 0; i < s->n_reasons; i++)
		fprintf(out, " %s %lu", s->reasons[i].name, s->reasons[i].count);
	fprintf(out, "%s\n", s->n_reasons ? "" : " none");
}

void batch_stats_free(struct batch_stats *s)
{
	for (size_t i = 0; i < s->n_phases; i++)
		free(s->phases[i].values);
	memset(s, 0, sizeof(*s));
}
