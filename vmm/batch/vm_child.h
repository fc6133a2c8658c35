/* vm_child.h - one VM run as a child process (`minnow run ... --timings=json`,
 * or another program for comparison): started with posix_spawn, its stderr
 * read for minnow's JSON report and its last error line, reaped with its
 * exit status, wall time and peak RSS. Used by minnow batch and minnow
 * bench. */
#ifndef MINNOW_VM_CHILD_H
#define MINNOW_VM_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VM_CHILD_REPORT_MAX 2048 /* minnow's JSON report line */
#define VM_CHILD_ERROR_MAX  256	 /* the last other line on stderr */

struct vm_child {
	pid_t pid;  /* 0: not running */
	int fd;	    /* the read end of its stderr */
	int log_fd; /* where its other stderr lines are kept, or -1 */
	uint64_t started_us;
	/* After vm_child_reap(): */
	uint64_t wall_us;  /* spawn to reaped */
	int status;	   /* exit status, or 128 + the signal that killed it */
	bool signaled;	   /* killed by a signal */
	long peak_rss_kib; /* of the child (wait4): never below this process's
			    * own peak when it spawned it (peak_rss.h) */
	/* Private: the stderr line being read. */
	char line[VM_CHILD_REPORT_MAX];
	size_t len;
	bool overflow;
	char report[VM_CHILD_REPORT_MAX]; /* minnow's JSON report, or "" */
	char error[VM_CHILD_ERROR_MAX];	  /* the last other stderr line, or "" */
};

/* Starts `argv` (argv[0] looked up in PATH when it has no '/') with stdin
 * /dev/null, stdout `out_fd` (-1: /dev/null) and stderr a pipe read here;
 * other stderr lines than the report also go to `log_fd` when >= 0. The
 * child gets SIGINT, SIGTERM and SIGPIPE at their defaults, unblocked.
 * log_fd becomes the child's (vm_child_reap() closes it); out_fd stays the
 * caller's. Returns 0, or -errno after one line on stderr naming the
 * program (log_fd then closed too). */
int vm_child_start(struct vm_child *c, const char *const *argv, int out_fd, int log_fd);

/* Reads what the child wrote on stderr (call when its fd is readable).
 * Returns false at the end (EOF): then call vm_child_reap(). */
bool vm_child_read(struct vm_child *c);

/* Waits for the child to exit and fills wall_us, status, signaled and
 * peak_rss_kib; closes its fds. */
void vm_child_reap(struct vm_child *c);

/* Runs a started child to its end, reading its stderr; after `timeout_ms`
 * (0: none) it is killed with SIGKILL. Then reaps it. */
void vm_child_wait(struct vm_child *c, unsigned timeout_ms);

/* Formats the child's JSON line: "{" + `fields` (e.g. "\"index\":3,", may
 * be "") + "\"wall_us\":N," + minnow's report, or for a child that printed
 * none exit_status, exit_reason ("minnow_killed" or "no_report") and
 * peak_rss_kib; plus "error" (its last stderr line) when it did not exit
 * 0. */
void vm_child_json(const struct vm_child *c, const char *fields, char *out, size_t size);

/* Writes the JSON string contents for `s` to `out` (at most size - 1
 * bytes and a NUL): quotes, backslashes and control bytes escaped; a text
 * too long is cut at a whole character. */
void json_escape(const char *s, char *out, size_t size);

#endif
