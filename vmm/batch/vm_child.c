/* vm_child.c - a VM (or a program to compare with) as a child process. */
#include "vm_child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timing.h"

extern char **environ;

int vm_child_start(struct vm_child *c, const char *const *argv, int out_fd, int log_fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->log_fd = log_fd;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		int r = -errno;
		fprintf(stderr, "minnow: pipe: %s\n", strerror(-r));
		if (log_fd >= 0)
			close(log_fd);
		c->log_fd = -1;
		return r;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	sigset_t none, dflt;
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	c->started_us = timing_now_us();
	int r = -posix_spawnp(&c->pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(p[1]);
	if (r < 0) {
		fprintf(stderr, "minnow: %s: %s\n", argv[0], strerror(-r));
		close(p[0]);
		if (log_fd >= 0)
			close(log_fd);
		c->log_fd = -1;
		c->pid = 0;
		return r;
	}
	c->fd = p[0];
	return 0;
}

/* A whole stderr line: minnow's JSON report, or a log line (kept in
 * log_fd, and the last one for the JSON line). */
static void take_line(struct vm_child *c, const char *line, size_t len)
{
	if (len && line[0] == '{' && line[len - 1] == '}' && len < sizeof(c->report)) {
		memcpy(c->report, line, len);
		c->report[len] = '\0';
		return;
	}
	if (c->log_fd >= 0) {
		(void)!write(c->log_fd, line, len);
		(void)!write(c->log_fd, "\n", 1);
	}
	size_t n = len < sizeof(c->error) - 1 ? len : sizeof(c->error) - 1;
	memcpy(c->error, line, n);
	c->error[n] = '\0';
}

bool vm_child_read(struct vm_child *c)
{
	char buf[4096];
	ssize_t n = read(c->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		if (c->len && !c->overflow)
			take_line(c, c->line, c->len);
		c->len = 0;
		return false;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (!c->overflow)
				take_line(c, c->line, c->len);
			c->len = 0;
			c->overflow = false;
		} else if (c->len < sizeof(c->line) - 1) {
			c->line[c->len++] = buf[i];
		} else {
			/* Longer than any report: a log line, kept as far as it went. */
			if (!c->overflow && c->log_fd >= 0)
				(void)!write(c->log_fd, c->line, c->len);
			c->overflow = true;
		}
	}
	return true;
}

void vm_child_reap(struct vm_child *c)
{
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	while (wait4(c->pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	c->wall_us = timing_now_us() - c->started_us;
	c->signaled = WIFSIGNALED(st);
	c->status = c->signaled ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	c->peak_rss_kib = ru.ru_maxrss;
	c->pid = 0;
	if (c->fd >= 0)
		close(c->fd);
	if (c->log_fd >= 0)
		close(c->log_fd);
	c->fd = c->log_fd = -1;
}

void vm_child_wait(struct vm_child *c, unsigned timeout_ms)
{
	uint64_t deadline = timeout_ms ? c->started_us + (uint64_t)timeout_ms * 1000 : 0;
	bool killed = false;
	for (;;) {
		int wait_ms = -1;
		if (deadline && !killed) {
			uint64_t now = timing_now_us();
			wait_ms = now >= deadline ? 0 : (int)((deadline - now) / 1000 + 1);
		}
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int n = poll(&p, 1, wait_ms);
		if (n == 0 && !killed) {
			kill(c->pid, SIGKILL);
			killed = true;
			continue;
		}
		if (n > 0 && !vm_child_read(c))
			break;
	}
	vm_child_reap(c);
}

void json_escape(const char *s, char *out, size_t size)
{
	size_t n = 0;
	for (; *s && n + 7 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n] = '\0';
}

void vm_child_json(const struct vm_child *c, const char *fields, char *out, size_t size)
{
	int n = snprintf(out, size, "{%s\"wall_us\":%llu,", fields, (unsigned long long)c->wall_us);
	if (n < 0 || (size_t)n >= size)
		return;
	if (c->report[0])
		snprintf(out + n, size - (size_t)n, "%s", c->report + 1);
	else
		snprintf(out + n, size - (size_t)n,
			 "\"exit_status\":%d,\"exit_reason\":\"%s\",\"peak_rss_kib\":%ld}",
			 c->status, c->signaled ? "minnow_killed" : "no_report", c->peak_rss_kib);
	size_t len = strlen(out);
	if (c->status != 0 && c->error[0] && len > 0 && out[len - 1] == '}') {
		char err[VM_CHILD_ERROR_MAX * 2];
		json_escape(c->error, err, sizeof(err));
		snprintf(out + len - 1, size - len + 1, ",\"error\":\"%s\"}", err);
	}
}
