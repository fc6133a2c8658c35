/* control_proto.h - the control socket's protocol, apart from any socket:
 * one JSON object per line each way. A request names what it asks for and
 * may carry an "id" (a string or an integer) that its response echoes:
 *   {"request":"pause"}                {"id":7,"request":"metrics"}
 *   {"request":"snapshot","path":"/var/lib/vm/state","then":"stop"}
 * A response is {"ok":true,...} or {"ok":false,"error":"one line"}, with
 * the request's "id" first when it had one. README.md "Control socket"
 * documents each request. */
#ifndef MINNOW_CONTROL_PROTO_H
#define MINNOW_CONTROL_PROTO_H

#include <limits.h>
#include <stddef.h>

/* The longest request line, newline excluded. */
#define CONTROL_LINE_MAX 4096

enum control_kind {
	CONTROL_PAUSE,
	CONTROL_RESUME,
	CONTROL_SNAPSHOT,
	CONTROL_SHUTDOWN,
	CONTROL_STOP,
	CONTROL_STATUS,
	CONTROL_METRICS,
};

/* What a snapshot leaves the VM doing ("then"). */
enum control_then {
	CONTROL_THEN_AS_BEFORE, /* running if it ran, paused if it was */
	CONTROL_THEN_RESUME,
	CONTROL_THEN_PAUSE,
	CONTROL_THEN_STOP,
};

struct control_request {
	enum control_kind kind;
	char path[PATH_MAX];	/* snapshot's "path" */
	enum control_then then; /* snapshot's "then" */
	char id[96];		/* the "id" as JSON text ("\"a\"", "7"); empty: none */
};

/* Prepares the parser: Jansson seeds its hash tables from /dev/urandom on
 * first use, which the seccomp filters forbid later. Call once before
 * them. */
void control_proto_init(void);

/* Parses one request line of `len` bytes (no newline; need not be
 * NUL-terminated). Returns 0, or -1 with a one-line reason in `why`; even
 * then req->id holds the request's id when it could be read, so that the
 * error response carries it. */
int control_parse(const char *line, size_t len, struct control_request *req, char *why,
		  size_t whylen);

/* Writes the success response to `req` into out, newline-terminated:
 * {"id":...,"ok":true<members>} where `members` is "" or JSON members each
 * with a leading comma. Returns its length, or -1 when it does not fit. */
int control_reply_ok(char *out, size_t size, const struct control_request *req,
		     const char *members);

/* Writes {"id":...,"ok":false,"error":"<msg, escaped>"} and a newline; `id`
 * is req->id or "" (none). Returns its length, or -1 when it does not fit. */
int control_reply_error(char *out, size_t size, const char *id, const char *msg);

/* Writes `s` as a JSON string (quotes included) into out; the length, or
 * -1 when it does not fit or is not UTF-8. */
int control_json_string(const char *s, char *out, size_t size);

/* The request's name ("pause", ...). */
const char *control_kind_name(enum control_kind kind);

#endif
