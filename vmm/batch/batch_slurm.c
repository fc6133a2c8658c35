/* batch_slurm.c - `minnow batch --slurm` (batch_slurm.h): writes the array
 * task script into the job directory, submits it with sbatch, follows the
 * tasks with squeue, and as each task ends takes its VMs' lines from its
 * output file (tasks that Slurm killed: every VM without a line gets one
 * saying so, from scontrol's task state), then prints the summary. */
#include "batch_slurm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_stats.h"
#include "timing.h"
#include "vm_child.h"

#define POLL_MS		  1000 /* how often squeue is asked */
#define TOOL_TIMEOUT_MS	  60000
#define SQUEUE_GIVE_UP	  60  /* failed squeue calls in a row before giving up */
#define CANCEL_WAIT_POLLS 120 /* polls after scancel before giving up */
#define SCRIPT_MAX	  (64 * 1024)
#define LINE_MAX_BYTES	  (VM_CHILD_REPORT_MAX + 3 * VM_CHILD_ERROR_MAX + 256)
#define STATE_NONE	  ""

struct slurm_batch {
	const struct batch_options *o;
	FILE *out;
	char dir[PATH_MAX];
	bool own_dir; /* made here: removed at the end */
	char job[32];
	bool *reported;	 /* per VM (index - first): its line was printed */
	bool *task_done; /* per array task */
	long tasks_done;
	char (*state)[24]; /* per task: Slurm's state, lower case, once ended */
	long started;	   /* VMs whose line came from their task */
	bool cancelled;	   /* scancel sent */
	bool failed;	   /* a VM did not exit 0 (for --fail-fast) */
	bool host_failed;
	int signal;
	struct batch_stats stats;
};

/* ---- Small helpers -------------------------------------------------------- */

long batch_slurm_task_first(const struct batch_options *o, long t)
{
	return o->first + (long)((int64_t)t * o->n / o->tasks);
}

/* Appends `s` to buf as one single-quoted shell word. Returns false when
 * it does not fit. */
static bool put_quoted(char *buf, size_t size, size_t *len, const char *s)
{
	if (*len + 3 > size)
		return false;
	buf[(*len)++] = ' ';
	buf[(*len)++] = '\'';
	for (; *s; s++) {
		const char *piece = *s == '\'' ? "'\\''" : NULL;
		size_t n = piece ? 4 : 1;
		if (*len + n + 2 > size)
			return false;
		if (piece)
			memcpy(buf + *len, piece, n);
		else
			buf[*len] = *s;
		*len += n;
	}
	buf[(*len)++] = '\'';
	buf[*len] = '\0';
	return true;
}

static bool put_text(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > size)
		return false;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return true;
}

int batch_slurm_script(const struct batch_options *o, const char *exe, const char *config,
		       char *buf, size_t size)
{
	char head[768];
	snprintf(head, sizeof(head),
		 "#!/bin/sh\n"
		 "# minnow batch --slurm: array task t runs VMs %ld + t*%ld/%ld up to\n"
		 "# %ld + (t+1)*%ld/%ld - 1 of the batch, at most %ld at once.\n"
		 "t=${SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}\n"
		 "lo=$((%ld + t * %ld / %ld))\n"
		 "hi=$((%ld + (t + 1) * %ld / %ld))\n"
		 "j=%ld\n"
		 "[ $((hi - lo)) -ge $j ] || j=$((hi - lo))\n"
		 "exec",
		 o->first, o->n, o->tasks, o->first, o->n, o->tasks, o->jobs, o->first, o->n,
		 o->tasks, o->first, o->n, o->tasks, o->jobs);
	size_t len = 0;
	buf[0] = '\0';
	bool ok = put_text(buf, size, &len, head) && put_quoted(buf, size, &len, exe) &&
		  put_text(buf, size, &len, " batch") && put_quoted(buf, size, &len, config) &&
		  put_text(buf, size, &len, " -n $((hi - lo)) --first $lo -j $j");
	for (size_t i = 0; ok && i < o->n_sets; i++)
		ok = put_text(buf, size, &len, " --set") && put_quoted(buf, size, &len, o->sets[i]);
	if (ok && o->logs)
		ok = put_text(buf, size, &len, " --logs") && put_quoted(buf, size, &len, o->logs);
	if (ok && o->fail_fast)
		ok = put_text(buf, size, &len, " --fail-fast");
	ok = ok && put_text(buf, size, &len, "\n");
	return ok ? (int)len : -1;
}

void batch_slurm_parse_states(const char *text, long tasks, char (*state)[24])
{
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t llen = end ? (size_t)(end - line) : strlen(line);
		const char *ids = memmem(line, llen, "ArrayTaskId=", 12);
		const char *st = memmem(line, llen, " JobState=", 10);
		if (ids && st) {
			char name[24];
			size_t n = 0;
			for (const char *p = st + 10;
			     n + 1 < sizeof(name) && *p && !isspace((unsigned char)*p); p++)
				name[n++] = (char)tolower((unsigned char)*p);
			name[n] = '\0';
			/* "3", "2-5", "1,3-5", perhaps "%4" after them */
			const char *p = ids + 12;
			while (isdigit((unsigned char)*p)) {
				char *q;
				long lo = strtol(p, &q, 10), hi = lo;
				if (*q == '-' && isdigit((unsigned char)q[1]))
					hi = strtol(q + 1, &q, 10);
				for (long t = lo; t <= hi && t < tasks; t++)
					if (t >= 0)
						memcpy(state[t], name, n + 1);
				p = *q == ',' ? q + 1 : q;
			}
		}
		line = end ? end + 1 : NULL;
	}
}

/* Runs a Slurm command to its end (at most TOOL_TIMEOUT_MS). Returns its
 * exit status (-1 when it could not start) and its stdout in *text (malloc'd,
 * NUL-terminated; NULL when it could not be had); `err` gets its last
 * stderr line. */
static int run_tool(const char *const *argv, char **text, char *err, size_t errlen)
{
	*text = NULL;
	err[0] = '\0';
	int out = memfd_create("minnow-slurm-out", MFD_CLOEXEC);
	if (out < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	static struct vm_child c;
	if (vm_child_start(&c, argv, out, -1) < 0) {
		snprintf(err, errlen, "%s could not be started", argv[0]);
		close(out);
		return -1;
	}
	vm_child_wait(&c, TOOL_TIMEOUT_MS);
	snprintf(err, errlen, "%s", c.error);
	off_t size = lseek(out, 0, SEEK_END);
	char *t = size >= 0 ? malloc((size_t)size + 1) : NULL;
	if (t && pread(out, t, (size_t)size, 0) == size) {
		t[size] = '\0';
		*text = t;
	} else {
		free(t);
	}
	close(out);
	return c.status;
}

/* Is `name` an executable file in a directory of $PATH? */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX];
	for (const char *p = path ? path : ""; *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0 &&
		    snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, p, name) < (int)sizeof(dir) &&
		    access(dir, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static void task_file(const struct slurm_batch *s, long t, const char *ext, char *path, size_t size)
{
	snprintf(path, size, "%s/task-%ld.%s", s->dir, t, ext);
}

/* The last non-empty line of a file (at most `size` - 1 bytes of it). */
static void last_line(const char *path, char *buf, size_t size)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");
		if (n == 0)
			continue;
		if (n >= size)
			n = size - 1;
		memcpy(buf, line, n);
		buf[n] = '\0';
	}
	fclose(f);
}

/* ---- The job ---------------------------------------------------------------- */

static void scancel(struct slurm_batch *s)
{
	if (s->cancelled || !s->job[0])
		return;
	s->cancelled = true;
	const char *argv[] = {"scancel", s->job, NULL};
	char *text, err[VM_CHILD_ERROR_MAX];
	if (run_tool(argv, &text, err, sizeof(err)) != 0)
		fprintf(stderr, "minnow batch: scancel %s: %s\n", s->job, err[0] ? err : "failed");
	free(text);
}

/* Prints one VM line and counts it. */
static void emit(struct slurm_batch *s, const char *line)
{
	fprintf(s->out, "%s\n", line);
	fflush(s->out);
	if (batch_stats_add(&s->stats, line) < 0)
		s->host_failed = true;
	if (!strstr(line, "\"exit_status\":0,") && !strstr(line, "\"exit_status\":0}"))
		s->failed = true;
}

/* Did Slurm end the task before its VMs did (time limit, node failure,
 * scancel...)? */
static bool killed_by_slurm(const char *state)
{
	static const char *const ended[] = {"timeout",	     "node_fail", "cancelled", "preempted",
					    "out_of_memory", "deadline",  "boot_fail"};
	for (size_t i = 0; i < sizeof(ended) / sizeof(ended[0]); i++)
		if (!strcmp(state, ended[i]))
			return true;
	return false;
}

/* A VM line of a task Slurm killed: a VM stopped by that (its own reason
 * "signal", "minnow_killed" or "no_report") gets "slurm_<state>" instead. */
static void relabel(char *line, size_t size, const char *state)
{
	static const char *const stopped[] = {"\"exit_reason\":\"signal\"",
					      "\"exit_reason\":\"minnow_killed\"",
					      "\"exit_reason\":\"no_report\""};
	for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++) {
		char *p = strstr(line, stopped[i]);
		if (!p)
			continue;
		char rest[LINE_MAX_BYTES];
		snprintf(rest, sizeof(rest), "%s", p + strlen(stopped[i]));
		snprintf(p, size - (size_t)(p - line), "\"exit_reason\":\"slurm_%s\"%s", state,
			 rest);
		return;
	}
}

/* Task t ended in `state`: prints its VMs' lines from its output file, and
 * one line for each of its VMs that has none. */
static void finish_task(struct slurm_batch *s, long t, const char *state)
{
	const struct batch_options *o = s->o;
	long lo = batch_slurm_task_first(o, t), hi = batch_slurm_task_first(o, t + 1);
	char path[PATH_MAX + 32];
	task_file(s, t, "out", path, sizeof(path));
	FILE *f = fopen(path, "re");
	static char line[LINE_MAX_BYTES];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "{\"index\":", 9) != 0)
			continue; /* the task's summary */
		long i = strtol(line + 9, NULL, 10);
		if (i < lo || i >= hi || s->reported[i - o->first])
			continue;
		if (killed_by_slurm(state))
			relabel(line, sizeof(line), state);
		s->reported[i - o->first] = true;
		s->started++;
		emit(s, line);
	}
	if (f)
		fclose(f);
	char err[VM_CHILD_ERROR_MAX], esc[2 * VM_CHILD_ERROR_MAX];
	task_file(s, t, "err", path, sizeof(path));
	last_line(path, err, sizeof(err));
	json_escape(err, esc, sizeof(esc));
	for (long i = lo; i < hi; i++) {
		if (s->reported[i - o->first])
			continue;
		s->reported[i - o->first] = true;
		snprintf(line, sizeof(line),
			 "{\"index\":%ld,\"exit_status\":1,\"exit_reason\":\"slurm_%s\","
			 "\"slurm_task\":%ld%s%s%s}",
			 i, state[0] ? state : "unknown", t, esc[0] ? ",\"error\":\"" : "", esc,
			 esc[0] ? "\"" : "");
		emit(s, line);
	}
	s->task_done[t] = true;
	s->tasks_done++;
}

/* Tasks that squeue no longer lists have ended: finishes each, with the
 * state scontrol gives. `queued` is squeue's list of task ids, or NULL
 * when the job is gone from the queue altogether. */
static void finish_ended(struct slurm_batch *s, const char *queued)
{
	long tasks = s->o->tasks;
	bool *listed = calloc((size_t)tasks, sizeof(*listed));
	if (!listed) {
		s->host_failed = true;
		return;
	}
	for (const char *p = queued; p && *p;) {
		char *q;
		long t = strtol(p, &q, 10);
		if (q != p && t >= 0 && t < tasks)
			listed[t] = true;
		p = q != p ? q : p + 1;
	}
	long ended = 0;
	for (long t = 0; t < tasks; t++)
		ended += !s->task_done[t] && !listed[t];
	if (ended) {
		const char *argv[] = {"scontrol", "-o", "show", "job", s->job, NULL};
		char *text, err[VM_CHILD_ERROR_MAX];
		run_tool(argv, &text, err, sizeof(err));
		if (text)
			batch_slurm_parse_states(text, tasks, s->state);
		free(text);
		for (long t = 0; t < tasks; t++)
			if (!s->task_done[t] && !listed[t])
				finish_task(s, t, s->state[t]);
	}
	free(listed);
}

/* Asks squeue which tasks are still queued or running. Returns 1 (some
 * are; their ids in *text), 0 (none), -1 (squeue failed). */
static int job_queued(struct slurm_batch *s, char **text)
{
	const char *argv[] = {"squeue", "-h", "-r", "-j", s->job, "-o", "%K", NULL};
	char err[VM_CHILD_ERROR_MAX];
	int st = run_tool(argv, text, err, sizeof(err));
	if (st == 0)
		return *text && **text ? 1 : 0;
	if (strstr(err, "Invalid job id") || (*text && strstr(*text, "Invalid job id")))
		return 0;
	fprintf(stderr, "minnow batch: squeue: %s\n", err[0] ? err : "failed");
	return -1;
}

/* Follows the job until every task has ended, cancelling it on a signal
 * (and with --fail-fast at a failed VM). */
static void follow(struct slurm_batch *s, int sig_fd)
{
	int squeue_failures = 0, polls_since_cancel = 0;
	while (s->tasks_done < s->o->tasks) {
		struct pollfd p = {.fd = sig_fd, .events = POLLIN};
		if (poll(&p, 1, POLL_MS) > 0) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si) && !s->signal)
				s->signal = (int)si.ssi_signo;
		}
		if (s->signal || (s->failed && s->o->fail_fast))
			scancel(s);
		char *queued = NULL;
		int q = job_queued(s, &queued);
		if (q >= 0) {
			squeue_failures = 0;
			finish_ended(s, q ? queued : NULL);
		}
		free(queued);
		if (q < 0 && ++squeue_failures >= SQUEUE_GIVE_UP) {
			fprintf(stderr,
				"minnow batch: squeue failed %d times in a row: giving up on "
				"job %s\n",
				SQUEUE_GIVE_UP, s->job);
			s->host_failed = true;
			scancel(s);
			break;
		}
		if (s->cancelled && ++polls_since_cancel > CANCEL_WAIT_POLLS) {
			fprintf(stderr, "minnow batch: job %s still queued %d s after scancel\n",
				s->job, CANCEL_WAIT_POLLS * POLL_MS / 1000);
			s->host_failed = true;
			break;
		}
	}
	for (long t = 0; t < s->o->tasks; t++) /* given up: what there is */
		if (!s->task_done[t])
			finish_task(s, t, "unknown");
}

/* The job directory: --slurm-dir, or a new one under the current directory
 * (where the compute nodes are likeliest to see it). Returns 0, or -1
 * after saying why. */
static int make_dir(struct slurm_batch *s)
{
	const char *d = s->o->slurm_dir;
	char tmpl[] = "minnow-slurm-XXXXXX";
	if (!d) {
		if (!mkdtemp(tmpl)) {
			fprintf(stderr, "minnow batch: cannot make a job directory here: %s\n",
				strerror(errno));
			return -1;
		}
		s->own_dir = true;
		d = tmpl;
	}
	if (!realpath(d, s->dir)) {
		fprintf(stderr, "minnow batch: --slurm-dir %s: %s\n", d, strerror(errno));
		return -1;
	}
	if (strchr(s->dir, '%')) {
		fprintf(stderr,
			"minnow batch: --slurm-dir %s: Slurm reads '%%' in a path as a "
			"pattern\n",
			s->dir);
		return -1;
	}
	if (access(s->dir, W_OK) < 0) {
		fprintf(stderr, "minnow batch: --slurm-dir %s: %s\n", s->dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void remove_dir(struct slurm_batch *s)
{
	if (!s->own_dir)
		return;
	char path[PATH_MAX + 32];
	for (long t = 0; t < s->o->tasks; t++) {
		task_file(s, t, "out", path, sizeof(path));
		unlink(path);
		task_file(s, t, "err", path, sizeof(path));
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/job.sh", s->dir);
	unlink(path);
	rmdir(s->dir);
}

/* Writes job.sh and submits it. Returns 0 (s->job set), 2 (refused: said
 * in one line) or 1 (could not ask). */
static int submit(struct slurm_batch *s, const char *exe)
{
	const struct batch_options *o = s->o;
	char config[PATH_MAX], script_path[PATH_MAX + 16];
	if (!realpath(o->config, config)) {
		fprintf(stderr, "minnow batch: %s: %s\n", o->config, strerror(errno));
		return 2;
	}
	static char script[SCRIPT_MAX];
	int len = batch_slurm_script(o, exe, config, script, sizeof(script));
	snprintf(script_path, sizeof(script_path), "%s/job.sh", s->dir);
	int fd = len < 0 ? -1 : open(script_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || write(fd, script, (size_t)len) != len) {
		fprintf(stderr, "minnow batch: %s: %s\n", script_path,
			len < 0 ? "the task script is too long" : strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	char array[48], cpus[48], outp[PATH_MAX + 32], errp[PATH_MAX + 32], part[300], tl[300];
	snprintf(array, sizeof(array), "--array=0-%ld", o->tasks - 1);
	snprintf(cpus, sizeof(cpus), "--cpus-per-task=%ld", o->jobs);
	snprintf(outp, sizeof(outp), "--output=%s/task-%%a.out", s->dir);
	snprintf(errp, sizeof(errp), "--error=%s/task-%%a.err", s->dir);
	const char *argv[16 + BATCH_MAX_SETS];
	size_t n = 0;
	argv[n++] = "sbatch";
	argv[n++] = "--parsable";
	argv[n++] = "--job-name=minnow-batch";
	argv[n++] = array;
	argv[n++] = cpus;
	argv[n++] = outp;
	argv[n++] = errp;
	if (o->partition) {
		snprintf(part, sizeof(part), "--partition=%s", o->partition);
		argv[n++] = part;
	}
	if (o->time_limit) {
		snprintf(tl, sizeof(tl), "--time=%s", o->time_limit);
		argv[n++] = tl;
	}
	for (size_t i = 0; i < o->n_sbatch_args; i++)
		argv[n++] = o->sbatch_args[i];
	argv[n++] = script_path;
	argv[n] = NULL;
	char *text, err[VM_CHILD_ERROR_MAX];
	int st = run_tool(argv, &text, err, sizeof(err));
	/* --parsable: "JOBID" or "JOBID;CLUSTER" on the last line */
	const char *id = text ? text + strlen(text) : NULL;
	while (id && id > text && (id[-1] == '\n' || id[-1] == ' '))
		id--;
	while (id && id > text && id[-1] != '\n')
		id--;
	if (st == 0 && id && isdigit((unsigned char)*id)) {
		snprintf(s->job, sizeof(s->job), "%.*s", (int)strspn(id, "0123456789"), id);
		free(text);
		return 0;
	}
	free(text);
	const char *why = err;
	if (!strncmp(why, "sbatch: error: ", 15))
		why += 15;
	fprintf(stderr, "minnow batch: sbatch: %s\n", why[0] ? why : "no job id");
	return st > 0 ? 2 : 1;
}

int batch_slurm_run(const struct batch_options *o, const char *exe, FILE *out, int sig_fd)
{
	static struct slurm_batch s;
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.out = out;
	if (!on_path("sbatch")) {
		fprintf(stderr,
			"minnow batch: --slurm: no sbatch on PATH (Slurm's client commands: "
			"Debian package slurm-client)\n");
		return 2;
	}
	if (make_dir(&s) < 0) {
		remove_dir(&s);
		return 2;
	}
	s.reported = calloc((size_t)o->n, sizeof(*s.reported));
	s.task_done = calloc((size_t)o->tasks, sizeof(*s.task_done));
	s.state = calloc((size_t)o->tasks, sizeof(*s.state));
	int status = 1;
	if (!s.reported || !s.task_done || !s.state) {
		fprintf(stderr, "minnow batch: out of memory\n");
		goto out;
	}
	uint64_t t0 = timing_now_us();
	status = submit(&s, exe);
	if (status != 0)
		goto out;
	fprintf(stderr, "minnow batch: Slurm job %s: %ld VMs in %ld array tasks (files in %s)\n",
		s.job, o->n, o->tasks, s.dir);
	follow(&s, sig_fd);
	double wall_s = (double)(timing_now_us() - t0) / 1e6;
	char extra[256];
	snprintf(extra, sizeof(extra),
		 "\"requested\":%ld,\"started\":%ld,\"stopped_by\":%s%s%s,\"slurm_job\":\"%s\","
		 "\"slurm_tasks\":%ld",
		 o->n, s.started, s.signal ? "\"" : "", s.signal ? strsignal(s.signal) : "null",
		 s.signal ? "\"" : "", s.job, o->tasks);
	batch_stats_print_json(&s.stats, wall_s, extra, out);
	fflush(out);
	batch_stats_print_text(&s.stats, wall_s, stderr);
	status = s.signal ? 128 + s.signal : s.host_failed || s.stats.failed ? 1 : 0;
out:
	remove_dir(&s);
	batch_stats_free(&s.stats);
	free(s.reported);
	free(s.task_done);
	free(s.state);
	return status;
}
