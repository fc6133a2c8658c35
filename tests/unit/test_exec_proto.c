/* test_exec_proto.c - the command minnow exec sends minnow-init: every byte but NUL survives the
 * round trip, and hostile or truncated input from the wire is refused, never overrun. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec_proto.h"
#include "test_util.h"

/* Encodes, checks the header, decodes the payload in place; *buf must be freed. */
static void round_trip(const struct exec_spec *in, struct exec_spec *out, uint8_t **buf)
{
	size_t len;
	cr_assert_eq(exec_spec_encode(in, buf, &len), 0);
	cr_assert_geq(len, EXEC_SPEC_HDR);
	cr_assert_eq(exec_spec_header(*buf), (long)(len - EXEC_SPEC_HDR));
	cr_assert_eq(exec_spec_decode(*buf + EXEC_SPEC_HDR, len - EXEC_SPEC_HDR, out), 0);
}

Test(exec_proto, round_trip_every_byte)
{
	/* Every byte value from 1 to 255 in one argument; blanks, quotes, newlines in others. */
	char all[256];
	for (int i = 0; i < 255; i++)
		all[i] = (char)(i + 1);
	all[255] = '\0';
	const char *argv[] = {"printf", "a b", "\"'", "x\ny\n", "", all, "$HOME *"};
	const char *envp[] = {"A=1", "B=x=y", "C=", "D=\n\"'"};
	struct exec_spec in = {argv, 7, envp, 4, "/dir with space", 0, 0, 0, NULL, 0}, out;
	uint8_t *buf;
	round_trip(&in, &out, &buf);
	cr_assert_eq(out.argc, 7);
	for (size_t i = 0; i < 7; i++)
		cr_expect_str_eq(out.argv[i], argv[i], "argv[%zu]", i);
	cr_expect_null(out.argv[7]);
	cr_assert_eq(out.envc, 4);
	for (size_t i = 0; i < 4; i++)
		cr_expect_str_eq(out.envp[i], envp[i], "envp[%zu]", i);
	cr_expect_null(out.envp[4]);
	cr_expect_str_eq(out.cwd, "/dir with space");
	exec_spec_free(&out);
	free(buf);
}

Test(exec_proto, no_env_no_cwd)
{
	const char *argv[] = {"true"};
	struct exec_spec in = {argv, 1, NULL, 0, NULL, 0, 0, 0, NULL, 0}, out;
	uint8_t *buf;
	round_trip(&in, &out, &buf);
	cr_expect_eq(out.argc, 1);
	cr_expect_eq(out.envc, 0);
	cr_expect_null(out.cwd);
	cr_expect_null(out.envp[0]);
	exec_spec_free(&out);
	free(buf);
}

Test(exec_proto, tty_round_trip)
{
	const char *argv[] = {"sh"};
	struct exec_spec in = {argv, 1,	    NULL, 0, NULL, EXEC_TTY_STDOUT | EXEC_TTY_STDERR,
			       50,   65535, NULL, 0},
			 out;
	uint8_t *buf;
	round_trip(&in, &out, &buf);
	cr_expect_eq(out.tty, 3);
	cr_expect_eq(out.rows, 50);
	cr_expect_eq(out.cols, 65535);
	exec_spec_free(&out);
	free(buf);
	struct exec_spec plain = {argv, 1, NULL, 0, NULL, 0, 0, 0, NULL, 0}, out2;
	round_trip(&plain, &out2, &buf);
	cr_expect_eq(out2.tty, 0);
	exec_spec_free(&out2);
	free(buf);
}

Test(exec_proto, ctl_records)
{
	uint8_t rec[EXEC_CTL_LEN];
	struct exec_ctl c = {EXEC_CTL_WINSIZE, 300, 1000}, d;
	exec_ctl_encode(&c, rec);
	const uint8_t want[EXEC_CTL_LEN] = {'W', 0, 44, 1, 232, 3, 0, 0};
	cr_expect_eq(memcmp(rec, want, sizeof(want)), 0);
	cr_expect_eq(exec_ctl_decode(rec, &d), 0);
	cr_expect_eq(d.type, EXEC_CTL_WINSIZE);
	cr_expect_eq(d.rows, 300);
	cr_expect_eq(d.cols, 1000);
	rec[0] = 'Z';
	cr_expect_eq(exec_ctl_decode(rec, &d), -EPROTO);
	struct exec_ctl k = {EXEC_CTL_KEEPALIVE, 0, 0};
	exec_ctl_encode(&k, rec);
	cr_expect_eq(exec_ctl_decode(rec, &d), 0);
	cr_expect_eq(d.type, EXEC_CTL_KEEPALIVE);
}

Test(exec_proto, header_layout)
{
	const char *argv[] = {"ab"};
	struct exec_spec in = {argv, 1, NULL, 0, NULL, 0, 0, 0, NULL, 0};
	uint8_t *buf;
	size_t len;
	cr_assert_eq(exec_spec_encode(&in, &buf, &len), 0);
	const uint8_t want[] = {'M', 'N', 'X', '1', 4, 0, 0, 0, 'A', 'a', 'b', 0};
	cr_assert_eq(len, sizeof(want));
	cr_expect_eq(memcmp(buf, want, len), 0);
	free(buf);
}

Test(exec_proto, encode_refuses)
{
	uint8_t *buf = NULL;
	size_t len;
	const char *empty[] = {""};
	const char *ok[] = {"x"};
	const char *bad_env[] = {"NOEQUALS"};
	const char *empty_name[] = {"=v"};
	struct exec_spec none = {ok, 0, NULL, 0, NULL, 0, 0, 0, NULL, 0};
	struct exec_spec empty0 = {empty, 1, NULL, 0, NULL, 0, 0, 0, NULL, 0};
	struct exec_spec env1 = {ok, 1, bad_env, 1, NULL, 0, 0, 0, NULL, 0};
	struct exec_spec env2 = {ok, 1, empty_name, 1, NULL, 0, 0, 0, NULL, 0};
	cr_expect_eq(exec_spec_encode(&none, &buf, &len), -EINVAL);
	cr_expect_eq(exec_spec_encode(&empty0, &buf, &len), -EINVAL);
	cr_expect_eq(exec_spec_encode(&env1, &buf, &len), -EINVAL);
	cr_expect_eq(exec_spec_encode(&env2, &buf, &len), -EINVAL);
	struct exec_spec tty4 = {ok, 1, NULL, 0, NULL, 4, 24, 80, NULL, 0};
	struct exec_spec big_rows = {ok, 1, NULL, 0, NULL, 1, 65536, 80, NULL, 0};
	cr_expect_eq(exec_spec_encode(&tty4, &buf, &len), -EINVAL);
	cr_expect_eq(exec_spec_encode(&big_rows, &buf, &len), -EINVAL);
	/* Over EXEC_SPEC_MAX. */
	char *huge = malloc(EXEC_SPEC_MAX + 1);
	cr_assert_not_null(huge);
	memset(huge, 'x', EXEC_SPEC_MAX);
	huge[EXEC_SPEC_MAX] = '\0';
	const char *big[] = {huge};
	struct exec_spec too_big = {big, 1, NULL, 0, NULL, 0, 0, 0, NULL, 0};
	cr_expect_eq(exec_spec_encode(&too_big, &buf, &len), -EINVAL);
	free(huge);
	cr_expect_null(buf);
}

Test(exec_proto, header_refuses)
{
	const uint8_t bad_magic[EXEC_SPEC_HDR] = {'M', 'N', 'X', '2', 1, 0, 0, 0};
	const uint8_t too_long[EXEC_SPEC_HDR] = {'M', 'N', 'X', '1', 0, 0, 0x41, 0};
	const uint8_t max[EXEC_SPEC_HDR] = {'M', 'N', 'X', '1', 0, 0, 0x40, 0};
	cr_expect_eq(exec_spec_header(bad_magic), -EPROTO);
	cr_expect_eq(exec_spec_header(too_long), -E2BIG);
	cr_expect_eq(exec_spec_header(max), (long)EXEC_SPEC_MAX);
}

static const struct {
	const char *name;
	const char *bytes;
	size_t len;
} hostile[] = {
    {"empty", "", 0},
    {"no argument", "E=1\0", 4},
    {"unknown tag", "Aecho\0Xzz\0", 10},
    {"string without NUL", "Aecho", 5},
    {"tag alone", "Aecho\0A", 7},
    {"empty argv[0]", "A\0Ax\0", 5},
    {"two cwds", "Ax\0C/\0C/tmp\0", 12},
    {"env without =", "Ax\0EFOO\0", 8},
    {"env with empty name", "Ax\0E=1\0", 7},
    {"tty 0", "Ax\0T0 24 80\0", 12},
    {"tty 4", "Ax\0T4 24 80\0", 12},
    {"tty without size", "Ax\0T1\0", 6},
    {"tty rows too big", "Ax\0T1 65536 80\0", 15},
    {"tty two blanks", "Ax\0T1  24 80\0", 13},
    {"tty trailing junk", "Ax\0T1 24 80x\0", 13},
    {"two ttys", "Ax\0T1 2 3\0T1 2 3\0", 18},
};

TABLE_TEST(exec_proto, decode_refuses, hostile, c)
{
	/* A copy of exactly len bytes: an overrun shows under ASan. */
	uint8_t *p = malloc(c->len ? c->len : 1);
	cr_assert_not_null(p);
	memcpy(p, c->bytes, c->len);
	struct exec_spec s;
	cr_expect_eq(exec_spec_decode(p, c->len, &s), -EPROTO, "%s accepted", c->name);
	cr_expect_null(s.argv, "%s: arrays left allocated", c->name);
	free(p);
}

/* --share's mounts travel as 'M' entries, "ro:TAG:DIR", DIR with any bytes but NUL. */
Test(exec_proto, mounts)
{
	const char *argv[] = {"ls"};
	const char *mounts[] = {"rw:minnow-exec-0:/mnt/a b", "ro:t:/x:y"};
	struct exec_spec in = {argv, 1, NULL, 0, NULL, 0, 0, 0, mounts, 2}, out;
	uint8_t *buf;
	round_trip(&in, &out, &buf);
	cr_assert_eq(out.mountc, 2);
	cr_expect_str_eq(out.mounts[0], mounts[0]);
	cr_expect_str_eq(out.mounts[1], mounts[1]);
	cr_expect_null(out.mounts[2]);
	int ro;
	const char *tag, *dir;
	size_t taglen;
	cr_assert_eq(exec_mount_split(out.mounts[1], &ro, &tag, &taglen, &dir), 0);
	cr_expect_eq(ro, 1);
	cr_expect_eq(taglen, 1);
	cr_expect_eq(tag[0], 't');
	cr_expect_str_eq(dir, "/x:y");
	cr_assert_eq(exec_mount_split(out.mounts[0], &ro, &tag, &taglen, &dir), 0);
	cr_expect_eq(ro, 0);
	cr_expect_str_eq(dir, "/mnt/a b");
	exec_spec_free(&out);
	free(buf);

	static const char *const bad[] = {"rx:t:/d", "ro::/d", "ro:t:d", "ro:t", "ro", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *m[] = {bad[i]};
		struct exec_spec b = {argv, 1, NULL, 0, NULL, 0, 0, 0, m, 1};
		size_t blen;
		cr_expect_eq(exec_spec_encode(&b, &buf, &blen), -EINVAL, "%s", bad[i]);
		uint8_t payload[32] = "Als";
		size_t len = 4;
		payload[len++] = 'M';
		memcpy(payload + len, bad[i], strlen(bad[i]) + 1);
		len += strlen(bad[i]) + 1;
		cr_expect_eq(exec_spec_decode(payload, len, &out), -EPROTO, "decoded %s", bad[i]);
	}
}
