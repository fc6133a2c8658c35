/* fuzz_control_proto.c - libFuzzer harness: control socket request lines
 * (any bytes, as a local client may send) through control_parse(), and the
 * responses written for them. */
#include "control_proto.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	control_proto_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > CONTROL_LINE_MAX)
		return 0; /* the socket never passes a longer line */
	struct control_request req;
	char why[256], out[1024];
	int r = control_parse((const char *)data, size, &req, why, sizeof(why));
	FUZZ_CHECK(r == 0 || r == -1, "control_parse returned %d", r);
	FUZZ_CHECK(strlen(req.id) < sizeof(req.id), "id not terminated");
	int n;
	if (r == 0) {
		FUZZ_CHECK(req.kind <= CONTROL_METRICS, "kind %d", (int)req.kind);
		FUZZ_CHECK(req.kind != CONTROL_SNAPSHOT || req.path[0], "snapshot without a path");
		n = control_reply_ok(out, sizeof(out), &req, "");
	} else {
		FUZZ_CHECK(why[0], "an error without a reason");
		n = control_reply_error(out, sizeof(out), req.id, why);
	}
	/* One line, ending in its only newline. */
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(out), "reply length %d", n);
	FUZZ_CHECK(out[n - 1] == '\n' && strchr(out, '\n') == out + n - 1, "reply not one line: %s",
		   out);
	return 0;
}
