/* bench_out.c - minnow bench's plot and trace. */
#include "bench_out.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm_child.h"

bool json_number(const char *line, const char *key, uint64_t *v)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(line, k);
	if (!p)
		return false;
	p += strlen(k);
	if (*p < '0' || *p > '9')
		return false;
	*v = strtoull(p, NULL, 10);
	return true;
}

bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		char full[PATH_MAX];
		if (len &&
		    snprintf(full, sizeof(full), "%.*s/%s", (int)len, path, prog) <
			(int)sizeof(full) &&
		    access(full, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

/* ---- Plot ------------------------------------------------------------------ */

/* A temporary file for gnuplot, from a template; NULL after saying why. */
static FILE *temp_file(char *path, size_t len, const char *what)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, len, "%s/minnow-bench-%s-XXXXXX", dir && *dir ? dir : "/tmp", what);
	int fd = mkstemp(path);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		fprintf(stderr, "minnow bench: %s: %s\n", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
	}
	return f;
}

int bench_plot(struct batch_stats *s, const char *title, const char *svg)
{
	char data[PATH_MAX], script[PATH_MAX];
	struct batch_phase *cols[BATCH_MAX_PHASES];
	size_t k = 0, rows = 0;
	for (size_t i = 0; i < s->n_phases; i++) {
		size_t len = strlen(s->phases[i].name);
		if (len > 3 && !strcmp(s->phases[i].name + len - 3, "_us") && s->phases[i].n) {
			cols[k++] = &s->phases[i];
			rows = s->phases[i].n > rows ? s->phases[i].n : rows;
			(void)batch_phase_percentile(&s->phases[i], 50); /* sorts */
		}
	}
	if (k == 0) {
		fprintf(stderr, "minnow bench: --plot: no phase was measured\n");
		return -1;
	}
	FILE *d = temp_file(data, sizeof(data), "data");
	if (!d)
		return -1;
	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < k; c++)
			if (r < cols[c]->n)
				fprintf(d, "%llu%c", (unsigned long long)cols[c]->values[r],
					c + 1 < k ? ' ' : '\n');
			else
				fprintf(d, "NaN%c", c + 1 < k ? ' ' : '\n');
	fclose(d);
	FILE *g = temp_file(script, sizeof(script), "plot");
	if (!g) {
		unlink(data);
		return -1;
	}
	fprintf(g, "set terminal svg size 1000,560 dynamic\nset output '%s'\n", svg);
	fprintf(g, "set title \"%s\" noenhanced\nset ylabel 'microseconds'\n", title);
	fprintf(g, "set style data boxplot\nset style fill solid 0.3\nunset key\nset grid y\n");
	fprintf(g, "set xtics rotate by -30 noenhanced (");
	for (size_t c = 0; c < k; c++)
		fprintf(g, "%s\"%s\" %zu", c ? ", " : "", cols[c]->name, c + 1);
	fprintf(g, ")\nplot for [i=1:%zu] '%s' using (i):i\n", k, data);
	fclose(g);
	const char *argv[] = {"gnuplot", script, NULL};
	struct vm_child c;
	int r = vm_child_start(&c, argv, -1, -1);
	if (r == 0) {
		vm_child_wait(&c, 60000);
		if (c.status != 0) {
			fprintf(stderr, "minnow bench: gnuplot failed (status %d): %s\n", c.status,
				c.error);
			r = -1;
		}
	}
	unlink(data);
	unlink(script);
	return r < 0 ? -1 : 0;
}

/* ---- Trace ----------------------------------------------------------------- */

/* A complete event ("ph":"X") from key `from` to key `to` of `line`, when
 * both are there; from NULL means time zero. */
static void span(FILE *out, bool *first, const char *line, int tid, const char *name,
		 const char *from, const char *to)
{
	uint64_t a = 0, b;
	if ((from && !json_number(line, from, &a)) || !json_number(line, to, &b) || b < a)
		return;
	fprintf(out,
		"%s\n{\"name\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%llu,\"dur\":%llu}",
		*first ? "" : ",", name, tid, (unsigned long long)a, (unsigned long long)(b - a));
	*first = false;
}

static void thread_name(FILE *out, bool *first, int tid, const char *name)
{
	fprintf(
	    out,
	    "%s\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":"
	    "\"%s\"}}",
	    *first ? "" : ",", tid, name);
	*first = false;
}

/* vCPU threads from "vcpu_us":[[started,first_exit,ended],...]. */
static void vcpu_tracks(FILE *out, bool *first, const char *line)
{
	const char *p = strstr(line, "\"vcpu_us\":[");
	if (!p)
		return;
	p += strlen("\"vcpu_us\":[");
	for (int i = 0; *p == '['; i++) {
		unsigned long long t[3];
		if (sscanf(p, "[%llu,%llu,%llu]", &t[0], &t[1], &t[2]) != 3)
			return;
		char name[32];
		snprintf(name, sizeof(name), "vCPU %d", i);
		thread_name(out, first, 10 + i, name);
		const char *what[2] = {"start", "guest"};
		for (int k = 0; k < 2; k++)
			if (t[k + 1] >= t[k])
				fprintf(out,
					",\n{\"name\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,"
					"\"ts\":%llu,"
					"\"dur\":%llu}",
					what[k], 10 + i, t[k], t[k + 1] - t[k]);
		p = strchr(p, ']');
		if (!p)
			return;
		p++;
		if (*p == ',')
			p++;
	}
}

void bench_trace(const char *line, const char *title, FILE *out)
{
	bool first = true;
	fprintf(out,
		"{\"displayTimeUnit\":\"ms\",\"otherData\":{\"title\":\"%s\"},\"traceEvents\":[",
		title);
	fprintf(out, "\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":"
		     "\"minnow\"}}");
	first = false;
	thread_name(out, &first, 1, "minnow phases");
	span(out, &first, line, 1, "read config", NULL, "config_parsed_us");
	span(out, &first, line, 1, "create VM", "config_parsed_us", "vm_created_us");
	span(out, &first, line, 1, "guest memory", "vm_created_us", "memory_ready_us");
	span(out, &first, line, 1, "load kernel", "memory_ready_us", "kernel_loaded_us");
	span(out, &first, line, 1, "start vCPUs", "kernel_loaded_us", "first_run_us");
	span(out, &first, line, 1, "boot", "first_run_us", "boot_complete_us");
	span(out, &first, line, 1, "run", "boot_complete_us", "vm_end_us");
	span(out, &first, line, 1, "tear down", "vm_end_us", "torn_down_us");
	thread_name(out, &first, 2, "guest");
	span(out, &first, line, 2, "kernel", "first_run_us", "guest_init_us");
	span(out, &first, line, 2, "init", "guest_init_us", "guest_command_us");
	span(out, &first, line, 2, "command", "guest_command_us", "vm_end_us");
	static const char *const marks[] = {"guest_init_us", "boot_complete_us",
					    "guest_command_us"};
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		uint64_t t;
		if (json_number(line, marks[i], &t))
			fprintf(out,
				",\n{\"name\":\"%s\",\"ph\":\"i\",\"s\":\"p\",\"pid\":1,\"tid\":2,"
				"\"ts\":%llu}",
				marks[i], (unsigned long long)t);
	}
	vcpu_tracks(out, &first, line);
	fprintf(out, "\n]}\n");
}
