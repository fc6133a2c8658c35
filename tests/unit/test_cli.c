/* test_cli.c - `minnow check`: exit status 2 and one "minnow: FILE:LINE: problem" line on stderr
 * for bad configs, exit status 0 and the resolved config (config_print) on stdout for good ones. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

#define DIR "tests/unit/configs/"

struct result {
	int status; /* exit status, or -1 when the binary did not exit normally */
	char out[16384];
	char err[4096];
};

static const char *minnow_path(void)
{
	const char *m = getenv("MINNOW");
	return m && *m ? m : "./minnow";
}

static void slurp(FILE *f, char *buf, size_t size)
{
	rewind(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs `minnow check ARGS...` (NULL-terminated), from the top of the source tree. */
static void run_check(struct result *r, const char *const *args)
{
	const char *bin = minnow_path();
	const char *argv[16] = {bin, "check"};
	size_t n = 2;

	if (access(bin, X_OK))
		cr_skip_test("no minnow binary at %s: build it (make minnow) or set MINNOW", bin);
	cr_assert_eq(access(DIR "vmlinuz", R_OK), 0,
		     "run the unit tests from the top of the source tree");
	for (; *args; args++) {
		cr_assert_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
		argv[n++] = *args;
	}
	argv[n] = NULL;

	FILE *out = tmpfile(), *err = tmpfile();
	cr_assert(out && err);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int ws;
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

/* Exit status 2, nothing on stdout, stderr exactly "minnow: " + `msg` + newline. */
static void expect_rejected(const char *const *args, const char *msg)
{
	static struct result r;
	run_check(&r, args);
	cr_assert_eq(r.status, 2, "exit status %d, stderr: %s", r.status, r.err);
	cr_assert_str_empty(r.out);
	char *nl = strchr(r.err, '\n');
	cr_assert(nl && nl[1] == '\0', "stderr is not a single line: %s", r.err);
	*nl = '\0';
	cr_assert(!strncmp(r.err, "minnow: ", 8), "stderr: %s", r.err);
	cr_assert_str_eq(r.err + 8, msg);
}

Test(cli, bad_size_suffix)
{
	const char *args[] = {DIR "bad-memory.ini", NULL};
	expect_rejected(args, DIR "bad-memory.ini:3: [vm] memory: bad size suffix 'Q' (expected K, "
				  "M, G or T)");
}

Test(cli, unknown_key)
{
	const char *args[] = {DIR "bad-unknown-key.ini", NULL};
	expect_rejected(args,
			DIR "bad-unknown-key.ini:5: [kernel] kernal: unknown key (known: path, "
			    "initrd, cmdline, format, cmdline_devices)");
}

Test(cli, kernel_not_found)
{
	const char *args[] = {DIR "bad-kernel-missing.ini", NULL};
	expect_rejected(args, DIR "bad-kernel-missing.ini:5: [kernel] path: No such file or "
				  "directory: " DIR "no-such-vmlinuz");
}

Test(cli, syntax_error)
{
	const char *args[] = {DIR "bad-syntax.ini", NULL};
	expect_rejected(args,
			DIR "bad-syntax.ini:2: syntax error: expected [section] or key = value");
}

Test(cli, no_kernel_section)
{
	const char *args[] = {DIR "bad-no-kernel.ini", NULL};
	expect_rejected(args, DIR "bad-no-kernel.ini: [kernel] path: missing (required)");
}

Test(cli, missing_file)
{
	const char *args[] = {DIR "no-such.ini", NULL};
	expect_rejected(args, DIR "no-such.ini: cannot open: No such file or directory");
}

Test(cli, bad_override)
{
	const char *args[] = {DIR "minimal.ini", "--set",	  "vm.vcpus=2",
			      "--set",		 "vm.memory=12Q", NULL};
	expect_rejected(
	    args, "--set vm.memory=12Q: [vm] memory: bad size suffix 'Q' (expected K, M, G or T)");
}

/* stdout is exactly config_print() of the same load, and reads back as the same config. */
static void expect_accepted(const char *file, const char *const *args, const char *const *sets,
			    size_t n_sets)
{
	static struct result r;
	static struct vm_config cfg, back;
	struct config_error err;
	char *text = NULL;
	size_t len = 0;

	run_check(&r, args);
	cr_assert_eq(r.status, 0, "exit status %d, stderr: %s", r.status, r.err);
	cr_assert_str_empty(r.err);
	cr_assert_eq(config_load(&cfg, file, sets, n_sets, &err), 0, "%s", err.msg);
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	config_print(&cfg, f);
	fclose(f);
	cr_assert_str_eq(r.out, text);
	free(text);
	cr_assert_eq(config_parse_string(&back, "stdout", r.out, &err), 0, "%s", err.msg);
	cr_assert_eq(back.memory, cfg.memory);
	cr_assert_eq(back.n_drives, cfg.n_drives);
}

Test(cli, good_full)
{
	const char *args[] = {DIR "full.ini", NULL};
	expect_accepted(DIR "full.ini", args, NULL, 0);
}

Test(cli, good_minimal_with_overrides)
{
	const char *sets[] = {"vm.memory=512M", "rng.enabled=on"};
	const char *args[] = {DIR "minimal.ini", "--set", sets[0], "--set", sets[1], NULL};
	expect_accepted(DIR "minimal.ini", args, sets, 2);
}
