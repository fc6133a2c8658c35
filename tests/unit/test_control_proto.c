/* test_control_proto.c - the control socket's requests and responses
 * (control_proto.h): every request kind, ids echoed as given, and each way
 * a request can be wrong refused with a reason. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "control_proto.h"

static struct control_request req;
static char why[256];

static int parse(const char *line)
{
	return control_parse(line, strlen(line), &req, why, sizeof(why));
}

Test(control_proto, every_request_kind)
{
	static const struct {
		const char *line;
		enum control_kind kind;
	} ok[] = {
	    {"{\"request\":\"pause\"}", CONTROL_PAUSE},
	    {"{\"request\":\"resume\"}", CONTROL_RESUME},
	    {"{\"request\":\"shutdown\"}", CONTROL_SHUTDOWN},
	    {"{\"request\":\"stop\"}", CONTROL_STOP},
	    {" { \"request\" : \"status\" } ", CONTROL_STATUS},
	    {"{\"request\":\"metrics\"}", CONTROL_METRICS},
	    {"{\"path\":\"/a b\",\"request\":\"snapshot\"}", CONTROL_SNAPSHOT},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(parse(ok[i].line), 0, "%s: %s", ok[i].line, why);
		cr_expect_eq(req.kind, ok[i].kind, "%s", ok[i].line);
		cr_expect_str_eq(control_kind_name(req.kind), strstr(ok[i].line, "\"request\"")
								  ? control_kind_name(ok[i].kind)
								  : "");
		cr_expect_str_eq(req.id, "", "%s: no id", ok[i].line);
	}
	cr_expect_str_eq(req.path, "/a b");
}

Test(control_proto, ids_are_echoed_as_given)
{
	char out[512];
	cr_assert_eq(parse("{\"id\":\"a\\\"b\",\"request\":\"stop\"}"), 0, "%s", why);
	cr_expect_str_eq(req.id, "\"a\\\"b\"");
	cr_assert_gt(control_reply_ok(out, sizeof(out), &req, ",\"state\":\"paused\""), 0);
	cr_expect_str_eq(out, "{\"id\":\"a\\\"b\",\"ok\":true,\"state\":\"paused\"}\n");
	cr_assert_eq(parse("{\"request\":\"status\",\"id\":-12}"), 0, "%s", why);
	cr_expect_str_eq(req.id, "-12");
	cr_assert_gt(control_reply_ok(out, sizeof(out), &req, ""), 0);
	cr_expect_str_eq(out, "{\"id\":-12,\"ok\":true}\n");
}

Test(control_proto, errors_are_one_escaped_line)
{
	char out[256];
	int n = control_reply_error(out, sizeof(out), "7", "bad \"x\"\nnext");
	cr_assert_gt(n, 0);
	cr_expect_str_eq(out, "{\"id\":7,\"ok\":false,\"error\":\"bad \\\"x\\\"\\nnext\"}\n");
	cr_expect_eq(strchr(out, '\n'), out + n - 1, "one line");
	cr_expect_eq(control_reply_error(out, 20, "", "a message too long for the buffer"), -1);
	n = control_reply_error(out, sizeof(out), "", "\xff\xfe");
	cr_expect(n > 0 && strstr(out, "not valid UTF-8"), "%s", out);
}

struct bad_case {
	const char *line, *why, *id;
};

static const struct bad_case bad_cases[] = {
    {"", "not JSON", ""},
    {"pause", "not JSON", ""},
    {"{\"request\":\"pause\"", "not JSON", ""},
    {"[\"pause\"]", "a request is a JSON object", ""},
    {"\"pause\"", "not JSON", ""},
    {"{}", "no \"request\" member", ""},
    {"{\"id\":3}", "no \"request\" member", "3"},
    {"{\"request\":\"reboot\",\"id\":\"r\"}", "unknown request \"reboot\"", "\"r\""},
    {"{\"request\":null}", "\"request\" must be a string", ""},
    {"{\"request\":\"stop\",\"force\":true}", "unknown member \"force\"", ""},
    {"{\"request\":\"snapshot\"}", "snapshot needs a \"path\"", ""},
    {"{\"request\":\"snapshot\",\"path\":\"\"}", "snapshot needs a \"path\"", ""},
    {"{\"request\":\"snapshot\",\"path\":1}", "\"path\" must be a string", ""},
    {"{\"request\":\"pause\",\"path\":\"/x\"}", "\"path\" belongs to snapshot only", ""},
    {"{\"request\":\"pause\",\"id\":1.5}", "\"id\" must be a string or an integer", ""},
    {"{\"request\":\"pause\",\"id\":{}}", "\"id\" must be a string or an integer", ""},
    {"{\"request\":\"pause\",\"request\":\"stop\"}", "duplicate", ""},
    {"{\"request\":\"pa\\u0000use\"}", "not JSON", ""},
    {"{\"request\":\"\xc3\x28\"}", "not JSON", ""},
};

ParameterizedTestParameters(control_proto, bad_requests_are_refused)
{
	static int rows[sizeof(bad_cases) / sizeof(bad_cases[0])];
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		rows[i] = (int)i;
	return cr_make_param_array(int, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(int *row, control_proto, bad_requests_are_refused)
{
	const struct bad_case *c = &bad_cases[*row];
	cr_assert_eq(parse(c->line), -1, "accepted: %s", c->line);
	cr_expect(strstr(why, c->why), "%s: want '%s' in '%s'", c->line, c->why, why);
	cr_expect_str_eq(req.id, c->id, "%s: the id for the error", c->line);
}

Test(control_proto, the_length_given_is_what_is_parsed)
{
	const char *line = "{\"request\":\"stop\"}{\"request\":\"pause\"}";
	cr_assert_eq(control_parse(line, 18, &req, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(req.kind, CONTROL_STOP);
	cr_expect_eq(parse(line), -1, "two objects on one line");
}
