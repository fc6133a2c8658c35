/* control_client.h - a guest test's side of the control socket: a socket
 * path of the test's own, requests sent and answers parsed (Jansson), the
 * guest's counters read from its output. Failures are Criterion asserts. */
#ifndef MINNOW_TEST_CONTROL_CLIENT_H
#define MINNOW_TEST_CONTROL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "harness.h"

/* A directory for the socket (short enough for sun_path) and the --set
 * option naming it (sets, NULL-terminated, for guest_opts). */
struct ctl_env {
	char dir[4096], sock[4200], set[4300];
	const char *sets[2];
};

/* Makes the directory and the option. */
void ctl_env(struct ctl_env *e);

/* Removes the directory and what the run left in it (socket, snapshots). */
void ctl_env_free(struct ctl_env *e);

/* Connects to the socket, waiting up to 10 s for it to accept. */
int ctl_connect(const struct ctl_env *e);

/* Sends `line` (a newline is added) on fd and returns the parsed answer. */
json_t *ctl_ask_on(int fd, const char *line);

/* One request on a connection of its own. */
json_t *ctl_ask(const struct ctl_env *e, const char *line);

/* Whether an answer says "ok":true. */
bool is_ok(json_t *v);

/* The string member `key` of v, or "". */
const char *str_of(json_t *v, const char *key);

/* The highest K of "PREFIX K" in the guest's output so far. */
unsigned last_count(struct guest_result *r, const char *prefix);

/* Stops the VM through the socket and waits for minnow's end. */
void ctl_stop(const struct ctl_env *e, struct guest_result *r);

/* Snapshots the running VM r to DIR/s with then = stop (its path in
 * state), waits for minnow's end with status 0 and returns the answer
 * (json_decref it). */
json_t *ctl_snapshot_stop(const struct ctl_env *e, struct guest_result *r, char *state, size_t len);

#endif
