/* control_proto.c - parsing requests and writing responses (control_proto.h).
 * Requests come from any local process that can open the socket: Jansson
 * parses them, and anything but the documented shape is refused. */
#include "control_proto.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
    [CONTROL_PAUSE] = "pause",	     [CONTROL_RESUME] = "resume", [CONTROL_SNAPSHOT] = "snapshot",
    [CONTROL_SHUTDOWN] = "shutdown", [CONTROL_STOP] = "stop",	  [CONTROL_STATUS] = "status",
    [CONTROL_METRICS] = "metrics",
};
#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *control_kind_name(enum control_kind kind)
{
	return kind_names[kind];
}

void control_proto_init(void)
{
	json_object_seed(0);
}

/* Copies the "id" member's JSON text to req->id; false when it is not a
 * string or an integer, or too long to echo. */
static bool take_id(json_t *id, struct control_request *req)
{
	if (!json_is_string(id) && !json_is_integer(id))
		return false;
	char *text = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
	bool fits = text && strlen(text) < sizeof(req->id);
	if (fits)
		memcpy(req->id, text, strlen(text) + 1);
	free(text);
	return fits;
}

/* Reads the members of `obj` into req; -1 with why on anything unknown. */
static int take_members(json_t *obj, struct control_request *req, char *why, size_t whylen)
{
	const char *key;
	json_t *value;
	const char *request = NULL;
	const char *path = NULL;
	const char *then = NULL;
	json_object_foreach(obj, key, value)
	{
		if (!strcmp(key, "id")) {
			continue; /* taken first */
		} else if (!strcmp(key, "request") && json_is_string(value)) {
			request = json_string_value(value);
		} else if (!strcmp(key, "path") && json_is_string(value)) {
			path = json_string_value(value);
		} else if (!strcmp(key, "then") && json_is_string(value)) {
			then = json_string_value(value);
		} else if (!strcmp(key, "request") || !strcmp(key, "path") ||
			   !strcmp(key, "then")) {
			snprintf(why, whylen, "\"%s\" must be a string", key);
			return -1;
		} else {
			snprintf(why, whylen, "unknown member \"%.64s\"", key);
			return -1;
		}
	}
	if (!request) {
		snprintf(why, whylen, "no \"request\" member");
		return -1;
	}
	size_t k = 0;
	while (k < N_KINDS && strcmp(request, kind_names[k]))
		k++;
	if (k == N_KINDS) {
		snprintf(why, whylen,
			 "unknown request \"%.64s\" (pause, resume, snapshot, shutdown, stop, "
			 "status or metrics)",
			 request);
		return -1;
	}
	req->kind = (enum control_kind)k;
	if (req->kind == CONTROL_SNAPSHOT) {
		if (!path || !*path || strlen(path) >= sizeof(req->path)) {
			snprintf(why, whylen, "snapshot needs a \"path\" (a file name)");
			return -1;
		}
		memcpy(req->path, path, strlen(path) + 1);
		static const char *const thens[] = {"", "resume", "pause", "stop"};
		for (size_t i = 1; then && i < sizeof(thens) / sizeof(thens[0]); i++)
			if (!strcmp(then, thens[i]))
				req->then = (enum control_then)i;
		if (then && req->then == CONTROL_THEN_AS_BEFORE) {
			snprintf(why, whylen, "\"then\" is resume, pause or stop");
			return -1;
		}
	} else if (path || then) {
		snprintf(why, whylen, "\"%s\" belongs to snapshot only", path ? "path" : "then");
		return -1;
	}
	return 0;
}

int control_parse(const char *line, size_t len, struct control_request *req, char *why,
		  size_t whylen)
{
	memset(req, 0, sizeof(*req));
	json_error_t err;
	json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (!obj) {
		snprintf(why, whylen, "not JSON: %s (column %d)", err.text, err.column);
		return -1;
	}
	int r = -1;
	if (!json_is_object(obj)) {
		snprintf(why, whylen, "a request is a JSON object");
	} else {
		json_t *id = json_object_get(obj, "id");
		if (id && !take_id(id, req))
			snprintf(why, whylen,
				 "\"id\" must be a string or an integer (up to %zu bytes)",
				 sizeof(req->id) - 1);
		else
			r = take_members(obj, req, why, whylen);
	}
	json_decref(obj);
	return r;
}

/* Writes `{"id":ID,` or `{` to out; the length, or -1. */
static int open_reply(char *out, size_t size, const char *id)
{
	int n = *id ? snprintf(out, size, "{\"id\":%s,", id) : snprintf(out, size, "{");
	return n < 0 || (size_t)n >= size ? -1 : n;
}

int control_reply_ok(char *out, size_t size, const struct control_request *req, const char *members)
{
	int n = open_reply(out, size, req->id);
	if (n < 0)
		return -1;
	int m = snprintf(out + n, size - (size_t)n, "\"ok\":true%s}\n", members);
	return m < 0 || (size_t)m >= size - (size_t)n ? -1 : n + m;
}

int control_reply_error(char *out, size_t size, const char *id, const char *msg)
{
	int n = open_reply(out, size, id);
	json_t *s = json_string(msg);
	if (!s) /* not UTF-8 (a path's bytes, say) */
		s = json_string("(the error message is not valid UTF-8)");
	char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	json_decref(s);
	int m = n < 0 || !text
		    ? -1
		    : snprintf(out + n, size - (size_t)n, "\"ok\":false,\"error\":%s}\n", text);
	free(text);
	return m < 0 || (size_t)m >= size - (size_t)n ? -1 : n + m;
}

int control_json_string(const char *str, char *out, size_t size)
{
	json_t *s = json_string(str);
	char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	json_decref(s);
	int n = text ? snprintf(out, size, "%s", text) : -1;
	free(text);
	return n < 0 || (size_t)n >= size ? -1 : n;
}
