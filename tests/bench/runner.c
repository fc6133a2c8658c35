/* runner.c - make bench: boots minnow and QEMU alternately, times exec to exit, prints medians. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS    64
#define MAX_METRICS 32
#define KEY_MAX	    48
#define REASON_MAX  48
#define WHY_MAX	    512

/* The programs timed, in the order each round runs them. */
enum { T_MINNOW, T_QEMU, T_MINNOW2, T_BASELINE, T_NTOOLS };

struct metric {
	char name[KEY_MAX];
	double *v;  /* one per run */
	bool *have; /* false: not measured, or null in minnow's JSON */
};

struct tool {
	const char *key;   /* in results.json */
	const char *label; /* in messages */
	const char *cmd;   /* the command line as given (split at blanks) */
	char *argv[MAX_ARGS + 1];
	char path[PATH_MAX]; /* argv[0] resolved through PATH */
	bool json;	     /* prints minnow's --timings=json object on stderr */
	bool must_succeed;   /* a failure fails the benchmark */
	bool enabled;
	char skip[WHY_MAX]; /* why it was not run, or stopped; "" otherwise */
	int out_fd, err_fd; /* memfds for the child's stdout and stderr */
	posix_spawn_file_actions_t fa;
	struct metric m[MAX_METRICS];
	size_t nm;
	char (*reason)[REASON_MAX]; /* minnow's exit_reason, one per run */
	size_t ok;		    /* recorded runs */
};

static struct tool tools[T_NTOOLS] = {
    [T_MINNOW] = {.key = "minnow", .label = "minnow", .json = true, .must_succeed = true},
    [T_QEMU] = {.key = "qemu", .label = "qemu microvm"},
    [T_MINNOW2] = {.key = "minnow_vcpus2",
		   .label = "minnow vcpus=2",
		   .json = true,
		   .must_succeed = true},
    [T_BASELINE] = {.key = "baseline", .label = "baseline"},
};

static size_t runs = 50;
static unsigned timeout_s = 20;
static volatile sig_atomic_t timed_out;

static void die(const char *what)
{
	fprintf(stderr, "bench-runner: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		die("calloc");
	return p;
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/* ---- metrics ---- */

static struct metric *metric(struct tool *t, const char *name)
{
	for (size_t i = 0; i < t->nm; i++)
		if (strcmp(t->m[i].name, name) == 0)
			return &t->m[i];
	if (t->nm == MAX_METRICS)
		return NULL;
	struct metric *m = &t->m[t->nm++];
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->v = xcalloc(runs, sizeof(*m->v));
	m->have = xcalloc(runs, sizeof(*m->have));
	return m;
}

static struct metric *find_metric(const struct tool *t, const char *name)
{
	for (size_t i = 0; i < t->nm; i++)
		if (strcmp(t->m[i].name, name) == 0)
			return (struct metric *)&t->m[i];
	return NULL;
}

/* Records a value of run `run`; run < 0 (a warm-up run) records nothing. */
static void record(struct tool *t, long run, const char *name, double v)
{
	if (run < 0)
		return;
	struct metric *m = metric(t, name);
	if (m) {
		m->v[run] = v;
		m->have[run] = true;
	}
}

static bool value(const struct tool *t, long run, const char *name, double *v)
{
	const struct metric *m = find_metric(t, name);
	if (!m || run < 0 || !m->have[run])
		return false;
	*v = m->v[run];
	return true;
}

struct summary {
	size_t n;
	double median, min, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static struct summary summarize(const struct tool *t, const char *name)
{
	struct summary s = {0};
	const struct metric *m = find_metric(t, name);
	if (!m)
		return s;
	double *a = xcalloc(runs, sizeof(*a));
	for (size_t i = 0; i < runs; i++)
		if (m->have[i])
			a[s.n++] = m->v[i];
	if (s.n) {
		qsort(a, s.n, sizeof(*a), cmp_double);
		s.min = a[0];
		s.max = a[s.n - 1];
		s.median = s.n % 2 ? a[s.n / 2] : (a[s.n / 2 - 1] + a[s.n / 2]) / 2;
	}
	free(a);
	return s;
}

/* ---- minnow's --timings=json: one flat object of numbers, null and strings ---- */

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n')
		(*p)++;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses a JSON string into buf (truncated to len - 1; \u escapes beyond
 * ASCII become '?'). Returns 0, or -1 when malformed. */
static int parse_string(const char **p, char *buf, size_t len)
{
	size_t n = 0;
	if (**p != '"')
		return -1;
	(*p)++;
	for (;;) {
		unsigned char c = (unsigned char)**p;
		if (c == '\0' || c < 0x20)
			return -1;
		(*p)++;
		if (c == '"')
			break;
		if (c == '\\') {
			c = (unsigned char)**p;
			(*p)++;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u': {
				unsigned u = 0;
				for (int i = 0; i < 4; i++) {
					int d = hex_digit((*p)[i]);
					if (d < 0)
						return -1;
					u = u << 4 | (unsigned)d;
				}
				*p += 4;
				c = (u > 0 && u < 0x80) ? (unsigned char)u : '?';
				break;
			}
			default:
				return -1;
			}
		}
		if (n + 1 < len)
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return 0;
}

/* Parses a JSON number (the grammar, not strtod's wider one). */
static int parse_number(const char **p, double *v)
{
	const char *s = *p, *q = s;
	if (*q == '-')
		q++;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (*q >= '0' && *q <= '9')
			q++;
	else
		return -1;
	if (*q == '.') {
		q++;
		if (!(*q >= '0' && *q <= '9'))
			return -1;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!(*q >= '0' && *q <= '9'))
			return -1;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	char tmp[64];
	if ((size_t)(q - s) >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, (size_t)(q - s));
	tmp[q - s] = '\0';
	*v = strtod(tmp, NULL);
	*p = q;
	return 0;
}

/* Parses the object at p into run `run` of t (numbers and booleans as
 * metrics, null as missing, exit_reason kept as text). Only whitespace may
 * follow it on its line. Returns 0 or -1. */
static int parse_timings(struct tool *t, long run, const char *p)
{
	skip_ws(&p);
	if (*p++ != '{')
		return -1;
	skip_ws(&p);
	if (*p == '}')
		return -1; /* nothing in it: not minnow's object */
	for (;;) {
		char key[KEY_MAX], str[REASON_MAX];
		double v;
		skip_ws(&p);
		if (parse_string(&p, key, sizeof(key)) < 0)
			return -1;
		skip_ws(&p);
		if (*p++ != ':')
			return -1;
		skip_ws(&p);
		if (*p == '"') {
			if (parse_string(&p, str, sizeof(str)) < 0)
				return -1;
			if (run >= 0 && strcmp(key, "exit_reason") == 0)
				memcpy(t->reason[run], str, sizeof(str));
		} else if (strncmp(p, "null", 4) == 0) {
			p += 4;
			if (run >= 0)
				metric(t, key); /* present in the table, no value */
		} else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
			record(t, run, key, *p == 't');
			p += *p == 't' ? 4 : 5;
		} else if (parse_number(&p, &v) == 0) {
			record(t, run, key, v);
		} else {
			return -1;
		}
		skip_ws(&p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}')
			return -1;
		break;
	}
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	return (*p == '\0' || *p == '\n') ? 0 : -1;
}

/* The last line of `text` that starts with '{'. */
static const char *last_object_line(const char *text)
{
	const char *found = NULL;
	for (const char *line = text; line && *line;) {
		const char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '{')
			found = s;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return found;
}

/* ---- running one program ---- */

static int make_memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		die("memfd_create");
	return fd;
}

/* Reads the whole memfd and empties it for the next run. */
static char *slurp(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		die("fstat");
	size_t len = (size_t)st.st_size, got = 0;
	char *buf = xcalloc(len + 1, 1);
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		die("resetting a capture file");
	return buf;
}

static int resolve(const char *name, char *out, size_t len)
{
	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK);
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(out, len, "%.*s/%s", (int)(n ? n : 1), n ? path : ".", name);
		if (access(out, X_OK) == 0)
			return 0;
		path += n;
		if (*path == ':')
			path++;
	}
	return -1;
}

static void setup_tool(struct tool *t, const char *cmd)
{
	t->cmd = cmd;
	char *copy = strdup(cmd), *save = NULL;
	if (!copy)
		die("strdup");
	size_t n = 0;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_ARGS) {
			fprintf(stderr, "bench-runner: more than %d words in '%s'\n", MAX_ARGS,
				cmd);
			exit(2);
		}
		t->argv[n++] = w;
	}
	t->argv[n] = NULL;
	if (n == 0) {
		fprintf(stderr, "bench-runner: empty command for %s\n", t->label);
		exit(2);
	}
	t->enabled = true;
	if (resolve(t->argv[0], t->path, sizeof(t->path)) < 0) {
		t->enabled = false;
		snprintf(t->skip, sizeof(t->skip), "%s: not found or not executable", t->argv[0]);
		return;
	}
	t->out_fd = make_memfd("bench-stdout");
	t->err_fd = make_memfd("bench-stderr");
	if (posix_spawn_file_actions_init(&t->fa) ||
	    posix_spawn_file_actions_addopen(&t->fa, 0, "/dev/null", O_RDONLY, 0) ||
	    posix_spawn_file_actions_adddup2(&t->fa, t->out_fd, 1) ||
	    posix_spawn_file_actions_adddup2(&t->fa, t->err_fd, 2))
		die("posix_spawn_file_actions");
	t->reason = xcalloc(runs, sizeof(*t->reason));
}

static void print_capture(const char *what, const char *text, size_t tail)
{
	size_t len = strlen(text);
	if (len == 0) {
		fprintf(stderr, "--- %s: empty\n", what);
		return;
	}
	if (len > tail) {
		fprintf(stderr, "--- %s (last %zu of %zu bytes) ---\n", what, tail, len);
		text += len - tail;
	} else {
		fprintf(stderr, "--- %s ---\n", what);
	}
	fprintf(stderr, "%s%s", text, text[strlen(text) - 1] == '\n' ? "" : "\n");
	fprintf(stderr, "---\n");
}

/* Runs t once; records its samples as run `run` (none when run < 0).
 * Returns 0, or -1 with `why` filled and the captured output printed. */
static int run_once(struct tool *t, long run, char *why, size_t why_len)
{
	struct itimerval it = {.it_value = {.tv_sec = timeout_s}};
	struct timespec t0, t1;
	struct rusage ru;
	int status = 0;
	bool killed = false;
	pid_t pid;

	timed_out = 0;
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		die("setitimer");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int err = posix_spawn(&pid, t->path, &t->fa, NULL, t->argv, environ);
	if (err == 0) {
		for (;;) {
			pid_t r = wait4(pid, &status, 0, &ru);
			if (r == pid)
				break;
			if (r < 0 && errno == EINTR) {
				if (timed_out && !killed) {
					kill(pid, SIGKILL);
					killed = true;
				}
				continue;
			}
			die("wait4");
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	it.it_value.tv_sec = 0;
	setitimer(ITIMER_REAL, &it, NULL);

	char *out = slurp(t->out_fd), *errs = slurp(t->err_fd);
	int ret = 0;
	if (err) {
		snprintf(why, why_len, "cannot run %s: %s", t->path, strerror(err));
		ret = -1;
	} else if (killed) {
		snprintf(why, why_len, "still running after %u s, killed (BENCH_TIMEOUT)",
			 timeout_s);
		ret = -1;
	} else if (WIFSIGNALED(status)) {
		snprintf(why, why_len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
		ret = -1;
	} else if (WEXITSTATUS(status) != 0) {
		snprintf(why, why_len, "exit status %d", WEXITSTATUS(status));
		ret = -1;
	} else if (t->json) {
		const char *obj = last_object_line(errs);
		if (!obj || parse_timings(t, run, obj) < 0) {
			snprintf(why, why_len, "no --timings=json object on stderr");
			ret = -1;
		}
	}
	if (ret == 0) {
		int64_t ns =
		    (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
		record(t, run, "exec_to_exit_us", (double)ns / 1000.0);
		record(t, run, "ru_maxrss_kib", (double)ru.ru_maxrss);
		double end, rss, touched;
		if (value(t, run, "vm_end_us", &end))
			record(t, run, "outside_vm_us", (double)ns / 1000.0 - end);
		if (value(t, run, "peak_rss_kib", &rss) &&
		    value(t, run, "guest_touched_kib", &touched))
			record(t, run, "rss_beyond_guest_kib", rss - touched);
		if (run >= 0)
			t->ok++;
	} else {
		fflush(stdout);
		if (run < 0)
			fprintf(stderr, "bench: %s failed in the warm-up run: %s\n", t->label, why);
		else
			fprintf(stderr, "bench: %s failed on run %ld: %s\n", t->label, run + 1,
				why);
		fprintf(stderr, "  command: %s\n", t->cmd);
		print_capture("its stderr", errs, 4000);
		print_capture("its stdout", out, 2000);
	}
	free(out);
	free(errs);
	return ret;
}

/* ---- checks ---- */

/* NULL when /dev/kvm can create a VM, else why not. */
static const char *kvm_unusable(void)
{
	static char why[256];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot open /dev/kvm: %s", strerror(errno));
		return why;
	}
	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(why, sizeof(why), "/dev/kvm: KVM API version %d, expected %d", api,
			 KVM_API_VERSION);
		close(fd);
		return why;
	}
	int vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(why, sizeof(why), "/dev/kvm: KVM_CREATE_VM: %s", strerror(errno));
		close(fd);
		return why;
	}
	close(vm);
	close(fd);
	return NULL;
}

static const char *kvm_module(void)
{
	static const char *const mods[] = {"kvm_pvm", "kvm_intel", "kvm_amd"};
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/sys/module/%s", mods[i]);
		if (access(p, F_OK) == 0)
			return mods[i];
	}
	return "unknown";
}

/* ---- the tables ---- */

enum unit { U_MS, U_MIB, U_COUNT };

static void fmt(char *buf, size_t len, enum unit u, double v)
{
	switch (u) {
	case U_MS:
		snprintf(buf, len, "%.3f", v / 1000.0);
		break;
	case U_MIB:
		snprintf(buf, len, "%.2f", v / 1024.0);
		break;
	case U_COUNT:
		snprintf(buf, len, v == (double)(long long)v ? "%.0f" : "%.1f", v);
		break;
	}
}

static void cells(const struct tool *t, const char *name, enum unit u)
{
	struct summary s = summarize(t, name);
	char a[32], b[32], c[32];
	if (s.n == 0) {
		printf(" | %9s %9s %9s", "-", "-", "-");
		return;
	}
	fmt(a, sizeof(a), u, s.median);
	fmt(b, sizeof(b), u, s.min);
	fmt(c, sizeof(c), u, s.max);
	printf(" | %9s %9s %9s", a, b, c);
}

static void row(const char *label, const char *name, enum unit u)
{
	const struct tool *m = &tools[T_MINNOW], *q = &tools[T_QEMU];
	printf("%-32s", label);
	cells(m, name, u);
	cells(q, name, u);
	struct summary sm = summarize(m, name), sq = summarize(q, name);
	if (sm.n && sq.n && sm.median > 0)
		printf(" | %10.1fx\n", sq.median / sm.median);
	else
		printf(" | %11s\n", "-");
}

static const char *const unit_names[] = {[U_MS] = "ms", [U_MIB] = "MiB", [U_COUNT] = ""};

/* The rows after the phases: metric, label, unit. */
static const struct {
	const char *name, *label;
	enum unit unit;
} extra_rows[] = {
    {"exec_to_exit_us", "exec -> exit", U_MS},
    {"outside_vm_us", "exec -> exit minus vm_end", U_MS},
    {"ru_maxrss_kib", "peak RSS (wait4)", U_MIB},
    {"guest_touched_kib", "guest RAM touched", U_MIB},
    {"rss_beyond_guest_kib", "RSS beyond guest memory", U_MIB},
    {"pio_exits", "port I/O exits", U_COUNT},
    {"mmio_unclaimed", "unclaimed MMIO accesses", U_COUNT},
};

/* minnow's phases: its *_us keys other than the runner's own. */
static bool is_phase(const struct metric *m)
{
	size_t n = strlen(m->name);
	if (n <= 3 || strcmp(m->name + n - 3, "_us") != 0)
		return false;
	for (size_t i = 0; i < sizeof(extra_rows) / sizeof(extra_rows[0]); i++)
		if (strcmp(m->name, extra_rows[i].name) == 0)
			return false;
	return true;
}

static void label_of(char *buf, size_t len, const char *label, enum unit u)
{
	if (unit_names[u][0])
		snprintf(buf, len, "%.40s (%s)", label, unit_names[u]);
	else
		snprintf(buf, len, "%s", label);
}

static void print_main_table(void)
{
	const struct tool *m = &tools[T_MINNOW];
	char label[64];
	printf("\n%-32s | %-29s | %-29s | %11s\n", "", "minnow, 1 vCPU", "qemu microvm, 1 vCPU",
	       "ratio");
	printf("%-32s | %9s %9s %9s | %9s %9s %9s | %11s\n", "phase", "median", "min", "max",
	       "median", "min", "max", "qemu/minnow");
	for (int i = 0; i < 32 + 2 * 32 + 14; i++)
		putchar('-');
	putchar('\n');
	printf("since minnow's main():\n");
	for (size_t i = 0; i < m->nm; i++) {
		if (!is_phase(&m->m[i]))
			continue;
		char name[KEY_MAX];
		snprintf(name, sizeof(name), "  %.*s", (int)strlen(m->m[i].name) - 3, m->m[i].name);
		label_of(label, sizeof(label), name, U_MS);
		row(label, m->m[i].name, U_MS);
	}
	printf("whole process:\n");
	for (size_t i = 0; i < sizeof(extra_rows) / sizeof(extra_rows[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "  %s", extra_rows[i].label);
		label_of(label, sizeof(label), name, extra_rows[i].unit);
		row(label, extra_rows[i].name, extra_rows[i].unit);
	}
}

static void print_vcpu_table(void)
{
	const struct tool *a = &tools[T_MINNOW], *b = &tools[T_MINNOW2];
	char label[64], x[32], y[32], d[32];
	printf("\nminnow per-vCPU cost (medians; the second vCPU waits for SIPI)\n");
	printf("%-32s | %9s | %9s | %9s\n", "phase", "vcpus=1", "vcpus=2", "delta");
	for (int i = 0; i < 32 + 3 * 12; i++)
		putchar('-');
	putchar('\n');
	for (size_t i = 0; i < a->nm + sizeof(extra_rows) / sizeof(extra_rows[0]); i++) {
		const char *name;
		enum unit u;
		char l[64];
		if (i < a->nm) {
			if (!is_phase(&a->m[i]))
				continue;
			name = a->m[i].name;
			u = U_MS;
			snprintf(l, sizeof(l), "%.*s", (int)strlen(name) - 3, name);
		} else {
			size_t k = i - a->nm;
			if (strcmp(extra_rows[k].name, "pio_exits") == 0 ||
			    strcmp(extra_rows[k].name, "mmio_unclaimed") == 0)
				continue;
			name = extra_rows[k].name;
			u = extra_rows[k].unit;
			snprintf(l, sizeof(l), "%s", extra_rows[k].label);
		}
		struct summary sa = summarize(a, name), sb = summarize(b, name);
		label_of(label, sizeof(label), l, u);
		snprintf(x, sizeof(x), "-");
		snprintf(y, sizeof(y), "-");
		snprintf(d, sizeof(d), "-");
		if (sa.n)
			fmt(x, sizeof(x), u, sa.median);
		if (sb.n)
			fmt(y, sizeof(y), u, sb.median);
		if (sa.n && sb.n) {
			fmt(d, sizeof(d), u, sb.median - sa.median);
			if (sb.median >= sa.median) {
				memmove(d + 1, d, strlen(d) + 1);
				d[0] = '+';
			}
		}
		printf("%-32s | %9s | %9s | %9s\n", label, x, y, d);
	}
}

/* ---- results.json ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (v == (double)(long long)v && v < 1e15 && v > -1e15)
		fprintf(f, "%lld", (long long)v);
	else
		fprintf(f, "%.3f", v);
}

static void json_tool(FILE *f, const struct tool *t)
{
	fprintf(f, "    ");
	json_str(f, t->key);
	fprintf(f, ": {\n      \"command\": ");
	json_str(f, t->cmd ? t->cmd : "");
	fprintf(f, ",\n      \"runs_ok\": %zu,\n      \"skipped\": ", t->ok);
	if (t->skip[0])
		json_str(f, t->skip);
	else
		fputs("null", f);
	fprintf(f, ",\n      \"samples\": {");
	for (size_t i = 0; i < t->nm; i++) {
		fprintf(f, "%s\n        ", i ? "," : "");
		json_str(f, t->m[i].name);
		fputs(": [", f);
		for (size_t r = 0; r < t->ok; r++) {
			if (r)
				fputs(", ", f);
			if (t->m[i].have[r])
				json_num(f, t->m[i].v[r]);
			else
				fputs("null", f);
		}
		fputc(']', f);
	}
	if (t->json && t->ok) {
		fprintf(f, "%s\n        \"exit_reason\": [", t->nm ? "," : "");
		for (size_t r = 0; r < t->ok; r++) {
			if (r)
				fputs(", ", f);
			json_str(f, t->reason[r]);
		}
		fputc(']', f);
	}
	fprintf(f, "\n      },\n      \"summary\": {");
	for (size_t i = 0; i < t->nm; i++) {
		struct summary s = summarize(t, t->m[i].name);
		fprintf(f, "%s\n        ", i ? "," : "");
		json_str(f, t->m[i].name);
		fprintf(f, ": {\"n\": %zu", s.n);
		if (s.n) {
			fputs(", \"median\": ", f);
			json_num(f, s.median);
			fputs(", \"min\": ", f);
			json_num(f, s.min);
			fputs(", \"max\": ", f);
			json_num(f, s.max);
		}
		fputc('}', f);
	}
	fprintf(f, "\n      }\n    }");
}

static int write_json(const char *path, const char *date)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench-runner: %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct utsname u;
	char kernel[4 * sizeof(u.release)] = "unknown";
	if (uname(&u) == 0)
		snprintf(kernel, sizeof(kernel), "%s %s %s %s", u.sysname, u.release, u.version,
			 u.machine);
	fprintf(f, "{\n  \"date\": ");
	json_str(f, date);
	fprintf(f, ",\n  \"host\": {\"kernel\": ");
	json_str(f, kernel);
	fprintf(f, ", \"kvm_module\": ");
	json_str(f, kvm_module());
	fprintf(f, ", \"cpus\": %ld},\n", sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "  \"runs\": %zu,\n  \"warmup_runs\": 1,\n  \"timeout_s\": %u,\n", runs,
		timeout_s);
	fprintf(f, "  \"units\": {\"*_us\": \"microseconds (minnow's phases: since its "
		   "main())\", \"*_kib\": \"KiB\"},\n");
	fprintf(f, "  \"order\": [");
	for (int i = 0; i < T_NTOOLS; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, tools[i].key);
	}
	fprintf(f, "],\n  \"commands\": {");
	for (int i = 0; i < T_NTOOLS; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, tools[i].key);
		fputs(": ", f);
		json_str(f, tools[i].cmd ? tools[i].cmd : "");
	}
	fprintf(f, "},\n  \"tools\": {\n");
	for (int i = 0; i < T_NTOOLS; i++) {
		json_tool(f, &tools[i]);
		fputs(i + 1 < T_NTOOLS ? ",\n" : "\n", f);
	}
	fprintf(f, "  }\n}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "bench-runner: writing %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(
	    stderr,
	    "Usage: bench-runner -m 'MINNOW CMD' [-2 'MINNOW CMD, vcpus=2'] [-q 'QEMU CMD' | -Q "
	    "WHY]\n"
	    "                    [-b 'BASELINE CMD'] [-n RUNS] [-t TIMEOUT_S] [-o RESULTS.json]\n"
	    "Commands are split at blanks (no quoting). Each round runs minnow, qemu,\n"
	    "minnow vcpus=2 and the baseline once, after one warm-up round. Exit status:\n"
	    "0 (also when /dev/kvm is unusable: nothing is measured), 1 when minnow fails,\n"
	    "2 for bad usage.\n");
	exit(2);
}

static unsigned long number(const char *s, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *s < '0' || *s > '9' || *end || v == 0 || v > max) {
		fprintf(stderr, "bench-runner: '%s' is not a number in 1..%lu\n", s, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *cmd[T_NTOOLS] = {0}, *qemu_skip = NULL, *out = NULL;
	int c;
	while ((c = getopt(argc, argv, "m:2:q:Q:b:n:t:o:")) != -1) {
		switch (c) {
		case 'm':
			cmd[T_MINNOW] = optarg;
			break;
		case '2':
			cmd[T_MINNOW2] = optarg;
			break;
		case 'q':
			cmd[T_QEMU] = optarg;
			break;
		case 'Q':
			qemu_skip = optarg;
			break;
		case 'b':
			cmd[T_BASELINE] = optarg;
			break;
		case 'n':
			runs = number(optarg, 100000);
			break;
		case 't':
			timeout_s = (unsigned)number(optarg, 86400);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !cmd[T_MINNOW])
		usage();

	const char *why = kvm_unusable();
	if (why) {
		printf("bench: /dev/kvm is unusable (%s): nothing measured.\n", why);
		return 0;
	}

	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: wait4 returns EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		die("sigaction");

	for (int i = 0; i < T_NTOOLS; i++) {
		if (cmd[i])
			setup_tool(&tools[i], cmd[i]);
		else if (i == T_QEMU && qemu_skip)
			snprintf(tools[i].skip, sizeof(tools[i].skip), "%s", qemu_skip);
		else
			snprintf(tools[i].skip, sizeof(tools[i].skip), "not asked for");
	}
	if (!tools[T_MINNOW].enabled) {
		fprintf(stderr, "bench: minnow: %s\n", tools[T_MINNOW].skip);
		return 1;
	}
	if (tools[T_MINNOW2].cmd && !tools[T_MINNOW2].enabled) {
		fprintf(stderr, "bench: minnow vcpus=2: %s\n", tools[T_MINNOW2].skip);
		return 1;
	}

	time_t now = time(NULL);
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("minnow bench: %zu runs each after 1 warm-up, alternating", runs);
	for (int i = 0; i < T_NTOOLS; i++)
		if (tools[i].enabled)
			printf(" %s%s", i ? "/ " : "", tools[i].label);
	printf("; %s\n", date);
	for (int i = 0; i < T_NTOOLS; i++)
		if (tools[i].cmd)
			printf("  %-14s %s\n", tools[i].label, tools[i].cmd);
	if (!tools[T_QEMU].enabled)
		printf("QEMU column skipped: %s\n", tools[T_QEMU].skip);
	fflush(stdout);

	for (long r = -1; r < (long)runs; r++) {
		for (int i = 0; i < T_NTOOLS; i++) {
			struct tool *t = &tools[i];
			char fail[WHY_MAX];
			if (!t->enabled || run_once(t, r, fail, sizeof(fail)) == 0)
				continue;
			if (t->must_succeed)
				return 1;
			t->enabled = false;
			if (r < 0)
				snprintf(t->skip, sizeof(t->skip),
					 "failed in the warm-up run: %.400s", fail);
			else
				snprintf(t->skip, sizeof(t->skip), "stopped at run %ld: %.400s",
					 r + 1, fail);
			printf("%s column skipped: %s\n", t->label, t->skip);
		}
	}

	print_main_table();
	if (tools[T_MINNOW2].ok)
		print_vcpu_table();
	if (tools[T_BASELINE].ok) {
		struct summary s = summarize(&tools[T_BASELINE], "exec_to_exit_us");
		printf("\nbaseline: %s exec -> exit median %.3f ms (min %.3f, max %.3f)\n",
		       tools[T_BASELINE].cmd, s.median / 1000, s.min / 1000, s.max / 1000);
	}
	if (out && write_json(out, date) == 0)
		printf("results: %s\n", out);
	return 0;
}
