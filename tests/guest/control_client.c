/* control_client.c - a test's side of the control socket (control_client.h). */
#include "control_client.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void ctl_env(struct ctl_env *e)
{
	cr_assert_eq(harness_mkdtemp("ctl", e->dir, sizeof(e->dir)), 0, "mkdtemp: %s",
		     strerror(errno));
	snprintf(e->sock, sizeof(e->sock), "%s/c.sock", e->dir);
	cr_assert_lt(strlen(e->sock), sizeof(((struct sockaddr_un *)0)->sun_path),
		     "%s: too long for a socket: set a shorter TMPDIR", e->sock);
	snprintf(e->set, sizeof(e->set), "vm.control_socket=%s", e->sock);
	e->sets[0] = e->set;
	e->sets[1] = NULL;
}

void ctl_env_free(struct ctl_env *e)
{
	DIR *d = opendir(e->dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[4400];
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", e->dir, de->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	rmdir(e->dir);
}

int ctl_connect(const struct ctl_env *e)
{
	for (int i = 0; i < 1000; i++) {
		int fd = harness_connect_unix(e->sock);
		if (fd >= 0)
			return fd;
		usleep(10000);
	}
	cr_assert_fail("cannot connect to %s: %s", e->sock, strerror(errno));
	return -1;
}

/* Sends `line` (a newline is added) on fd and returns the parsed response. */
json_t *ctl_ask_on(int fd, const char *line)
{
	char buf[65536];
	size_t len = strlen(line);
	cr_assert_eq(write(fd, line, len), (ssize_t)len, "write: %s", strerror(errno));
	cr_assert_eq(write(fd, "\n", 1), 1);
	cr_assert(harness_read_line(fd, buf, sizeof(buf), 10000), "no response to %s (got '%s')",
		  line, buf);
	json_error_t err;
	json_t *v = json_loads(buf, 0, &err);
	cr_assert(v && json_is_object(v), "response to %s is not a JSON object: %s (%s)", line, buf,
		  err.text);
	return v;
}

/* One request on a connection of its own. */
json_t *ctl_ask(const struct ctl_env *e, const char *line)
{
	int fd = ctl_connect(e);
	json_t *v = ctl_ask_on(fd, line);
	close(fd);
	return v;
}

bool is_ok(json_t *v)
{
	return json_is_true(json_object_get(v, "ok"));
}

const char *str_of(json_t *v, const char *key)
{
	const char *s = json_string_value(json_object_get(v, key));
	return s ? s : "";
}

unsigned last_count(struct guest_result *r, const char *prefix)
{
	(void)guest_wait_output(r, NULL, 1);
	unsigned last = 0;
	for (const char *p = r->out; (p = strstr(p, prefix)); p++) {
		unsigned k = (unsigned)strtoul(p + strlen(prefix), NULL, 10);
		if (k > last)
			last = k;
	}
	return last;
}

/* Stops the VM through the socket and waits for minnow's end. */
void ctl_stop(const struct ctl_env *e, struct guest_result *r)
{
	json_t *v = ctl_ask(e, "{\"request\":\"stop\"}");
	cr_expect(is_ok(v), "stop refused: %s", str_of(v, "error"));
	json_decref(v);
	guest_wait(r);
}

json_t *ctl_snapshot_stop(const struct ctl_env *e, struct guest_result *r, char *state, size_t len)
{
	snprintf(state, len, "%s/s", e->dir);
	char req[4600];
	snprintf(req, sizeof(req), "{\"request\":\"snapshot\",\"path\":\"%s\",\"then\":\"stop\"}",
		 state);
	json_t *v = ctl_ask(e, req);
	cr_assert(is_ok(v), "snapshot: %s", json_dumps(v, 0));
	guest_wait(r);
	guest_assert_ran(r);
	cr_assert_eq(r->status, 0, "then = stop: %s", guest_ctx(r));
	return v;
}
