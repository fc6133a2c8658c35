/* test_batch.c - minnow batch's arguments and summary arithmetic. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batch_args.h"
#include "batch_slurm.h"
#include "batch_stats.h"
#include "subcommand_args.h"

static int parse(struct batch_options *o, char *err, long cpus, const char *const *args)
{
	char *argv[16];
	int argc = 0;
	argv[argc++] = (char *)"batch";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return batch_parse_args(argc, argv, cpus, o, err, 256);
}

Test(batch_args, defaults_and_values)
{
	struct batch_options o;
	char err[256];
	const char *a[] = {"vm.ini", "-n", "10", NULL};
	cr_assert_eq(parse(&o, err, 4, a), 0, "%s", err);
	cr_assert_str_eq(o.config, "vm.ini");
	cr_assert_eq(o.n, 10);
	cr_assert_eq(o.jobs, 4, "-j defaults to the CPUs");
	const char *b[] = {"-n", "3", "vm.ini", NULL};
	cr_assert_eq(parse(&o, err, 8, b), 0, "%s", err);
	cr_assert_eq(o.jobs, 3, "-j never above -n");
	const char *c[] = {"vm.ini",	   "-n",	  "5",	    "-j",     "2", "--set",
			   "vm.name=a{i}", "--fail-fast", "--json", "x.json", NULL};
	cr_assert_eq(parse(&o, err, 8, c), 0, "%s", err);
	cr_assert_eq(o.jobs, 2);
	cr_assert_eq(o.n_sets, 1);
	cr_assert_str_eq(o.sets[0], "vm.name=a{i}");
	cr_assert(o.fail_fast);
	cr_assert_str_eq(o.json, "x.json");
}

Test(batch_args, refuses)
{
	static const struct {
		const char *args[8];
		const char *msg;
	} bad[] = {
	    {{"vm.ini", "-n", "1000001", NULL},
	     "-n takes a number from 1 to 1000000, not '1000001'"},
	    {{"vm.ini", "-n", "2x", NULL}, "-n takes a number from 1 to 1000000, not '2x'"},
	    {{"vm.ini", "-n", "4", "-j", "0", NULL},
	     "-j takes a number from 1 to 1000000, not '0'"},
	    {{"vm.ini", "other.ini", "-n", "4", NULL}, "unexpected argument 'other.ini'"},
	    {{"vm.ini", "-n", "4", "--json", NULL}, "--json needs a value"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct batch_options o;
		char err[256] = "";
		cr_assert_eq(parse(&o, err, 2, bad[i].args), -1, "row %zu accepted", i);
		cr_assert_str_eq(err, bad[i].msg, "row %zu", i);
	}
}

Test(subcommand_args, refuses_an_unknown_option_and_a_full_list)
{
	struct batch_options o;
	char err[256] = "";
	static const char *const unknown[] = {"vm.ini", "-n", "2", "--frob", NULL};
	cr_assert_eq(parse(&o, err, 2, unknown), -1);
	cr_assert_str_eq(err, "unknown option '--frob' (minnow batch --help)");

	const char *list[2];
	size_t n = 0;
	cr_assert(args_append("--set", list, &n, 2, "a=1", err, sizeof(err)));
	cr_assert(args_append("--set", list, &n, 2, "b=2", err, sizeof(err)));
	cr_assert_not(args_append("--set", list, &n, 2, "c=3", err, sizeof(err)));
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[1], "b=2");
	cr_assert_str_eq(err, "too many --set options (max 2)");

	long v = 7;
	cr_assert_not(args_number("--first", "-1", 0, 9, &v, err, sizeof(err)));
	cr_assert_eq(v, 7, "a refused number leaves the value alone");
	cr_assert_str_eq(err, "--first takes a number from 0 to 9, not '-1'");
}

Test(batch_stats, percentiles_by_nearest_rank)
{
	struct batch_stats s;
	memset(&s, 0, sizeof(s));
	char line[128];
	for (int v = 100; v >= 1; v--) { /* 1..100, added in reverse */
		snprintf(line, sizeof(line),
			 "{\"index\":%d,\"boot_complete_us\":%d,\"exit_status\":0}", v, v);
		cr_assert_eq(batch_stats_add(&s, line), 0);
	}
	cr_assert_eq(s.n_phases, 1);
	struct batch_phase *ph = &s.phases[0];
	cr_assert_str_eq(ph->name, "boot_complete_us");
	cr_assert_eq(batch_phase_percentile(ph, 0), 1);
	cr_assert_eq(batch_phase_percentile(ph, 50), 50);
	cr_assert_eq(batch_phase_percentile(ph, 90), 90);
	cr_assert_eq(batch_phase_percentile(ph, 99), 99);
	cr_assert_eq(batch_phase_percentile(ph, 100), 100);
	cr_assert_eq(s.vms, 100);
	cr_assert_eq(s.ok, 100);
	batch_stats_free(&s);
}

Test(batch_stats, reasons_failures_nulls_and_strings)
{
	struct batch_stats s;
	memset(&s, 0, sizeof(s));
	const char *lines[] = {
	    "{\"index\":0,\"wall_us\":10,\"boot_complete_us\":null,\"exit_status\":124,"
	    "\"exit_reason\":\"boot_timeout\",\"error\":\"a \\\"quoted\\\" _us\\\":5 line\"}",
	    "{\"index\":1,\"wall_us\":20,\"boot_complete_us\":7,\"exit_status\":0,"
	    "\"exit_reason\":\"guest_exit\"}",
	    "{\"index\":2,\"wall_us\":30,\"exit_status\":0,\"exit_reason\":\"guest_exit\"}",
	    "{\"index\":3,\"wall_us\":40,\"exit_status\":137,\"exit_reason\":\"minnow_killed\"}",
	};
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(batch_stats_add(&s, lines[i]), 0);
	cr_assert_eq(s.vms, 4);
	cr_assert_eq(s.ok, 2);
	cr_assert_eq(s.failed, 2);
	cr_assert_eq(s.n_phases, 2, "wall_us and boot_complete_us, nothing from strings");
	cr_assert_eq(s.phases[0].n, 4);
	cr_assert_eq(s.phases[1].n, 1, "null is not a value");
	cr_assert_eq(s.n_reasons, 3);
	cr_assert_str_eq(s.reasons[1].name, "guest_exit");
	cr_assert_eq(s.reasons[1].count, 2);
	char buf[2048];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	batch_stats_print_json(&s, 2.0, "\"started\":4", f);
	fclose(f);
	cr_assert(strstr(buf, "{\"summary\":{\"vms\":4,\"ok\":2,\"failed\":2,\"wall_s\":2.000,"
			      "\"vms_per_s\":2.0,"),
		  "%s", buf);
	cr_assert(strstr(buf, "\"wall_us\":{\"n\":4,\"min\":10,\"p50\":20,\"p90\":40,\"p99\":40,"
			      "\"max\":40}"),
		  "%s", buf);
	cr_assert(strstr(buf, "\"exit_reasons\":{\"boot_timeout\":1,\"guest_exit\":2,"
			      "\"minnow_killed\":1},\"started\":4}}\n"),
		  "%s", buf);
	batch_stats_free(&s);
}

/* ---- --slurm ---- */

Test(batch_slurm, options_defaults_and_refusals)
{
	struct batch_options o;
	char err[256];
	const char *a[] = {"vm.ini",
			   "-n",
			   "10",
			   "-j",
			   "3",
			   "--slurm",
			   "--partition",
			   "p1",
			   "--time",
			   "5",
			   "--sbatch-arg=--qos=low",
			   NULL};
	cr_assert_eq(parse(&o, err, 8, a), 0, "%s", err);
	cr_assert(o.slurm);
	cr_assert_eq(o.tasks, 4, "ceil(10 / 3) tasks");
	cr_assert_str_eq(o.partition, "p1");
	cr_assert_str_eq(o.time_limit, "5");
	cr_assert_eq(o.n_sbatch_args, 1);
	cr_assert_str_eq(o.sbatch_args[0], "--qos=low");
	const char *b[] = {"vm.ini", "-n", "10", "--slurm", NULL};
	cr_assert_eq(parse(&o, err, 8, b), 0, "%s", err);
	cr_assert_eq(o.jobs, 1, "-j defaults to 1 on Slurm, not this host's CPUs");
	cr_assert_eq(o.tasks, 10);
	const char *c[] = {"vm.ini", "-n", "5000", "--slurm", NULL};
	cr_assert_eq(parse(&o, err, 8, c), 0, "%s", err);
	cr_assert_eq(o.tasks, 1000, "at most 1000 tasks");

	static const struct {
		const char *args[8];
		const char *msg;
	} bad[] = {
	    {{"vm.ini", "-n", "4", "--partition", "p", NULL},
	     "--partition is an option of --slurm"},
	    {{"vm.ini", "-n", "4", "--tasks", "2", NULL}, "--tasks is an option of --slurm"},
	    {{"vm.ini", "-n", "4", "--slurm", "--tasks", "5", NULL},
	     "--tasks 5 is more than the 4 VMs of -n"},
	    {{"vm.ini", "-n", "4", "--slurm", "--tasks", "0", NULL},
	     "--tasks takes a number from 1 to 1000, not '0'"},
	    {{"vm.ini", "-n", "4", "--first", "999999", NULL},
	     "--first 999999 -n 4 goes past VM 999999"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char e[256] = "";
		cr_assert_eq(parse(&o, e, 2, bad[i].args), -1, "row %zu accepted", i);
		cr_assert_str_eq(e, bad[i].msg, "row %zu", i);
	}
}

/* Runs the task script for array task `t` with /bin/echo as minnow: what
 * it would run, on one line. */
static void task_command(const char *script, long t, char *out, size_t size)
{
	char path[] = "/tmp/minnow-slurm-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, script, strlen(script)), (ssize_t)strlen(script));
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "SLURM_ARRAY_TASK_ID=%ld sh %s", t, path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	pclose(p);
	unlink(path);
}

Test(batch_slurm, task_script_slices_the_batch)
{
	struct batch_options o;
	char err[256];
	const char *a[] = {"vm.ini",  "-n",	      "10",	     "-j",	"3",
			   "--first", "100",	      "--slurm",     "--tasks", "3",
			   "--set",   "a.b=it's {i}", "--fail-fast", NULL};
	cr_assert_eq(parse(&o, err, 8, a), 0, "%s", err);
	static char script[8192];
	cr_assert_gt(batch_slurm_script(&o, "/bin/echo", "/abs/vm.ini", script, sizeof(script)), 0);
	/* 10 VMs from 100 in 3 tasks: 100..102, 103..105, 106..109 */
	static const char *const want[] = {
	    "batch /abs/vm.ini -n 3 --first 100 -j 3 --set a.b=it's {i} --fail-fast\n",
	    "batch /abs/vm.ini -n 3 --first 103 -j 3 --set a.b=it's {i} --fail-fast\n",
	    "batch /abs/vm.ini -n 4 --first 106 -j 3 --set a.b=it's {i} --fail-fast\n",
	};
	for (long t = 0; t < 3; t++) {
		char got[512];
		task_command(script, t, got, sizeof(got));
		cr_assert_str_eq(got, want[t], "task %ld", t);
		cr_assert_eq(batch_slurm_task_first(&o, t), 100 + 3 * t);
	}
	cr_assert_eq(batch_slurm_task_first(&o, 3), 110);
	cr_assert_eq(batch_slurm_script(&o, "/bin/echo", "/abs/vm.ini", script, 100), -1,
		     "a script that does not fit is refused");
}

Test(batch_slurm, task_states_from_scontrol)
{
	char state[8][24] = {{0}};
	const char *text =
	    "JobId=9 ArrayJobId=7 ArrayTaskId=0 JobName=x JobState=COMPLETED Reason=None\n"
	    "JobId=10 ArrayJobId=7 ArrayTaskId=1 JobName=x JobState=TIMEOUT Reason=None\n"
	    "JobId=7 ArrayJobId=7 ArrayTaskId=3-4,6%2 JobName=x JobState=CANCELLED\n"
	    "JobId=11 ArrayJobId=7 ArrayTaskId=99 JobState=NODE_FAIL\n"
	    "garbage line\n";
	batch_slurm_parse_states(text, 8, state);
	cr_assert_str_eq(state[0], "completed");
	cr_assert_str_eq(state[1], "timeout");
	cr_assert_str_eq(state[2], "", "task 2 is not named");
	cr_assert_str_eq(state[3], "cancelled");
	cr_assert_str_eq(state[4], "cancelled");
	cr_assert_str_eq(state[5], "");
	cr_assert_str_eq(state[6], "cancelled");
	cr_assert_str_eq(state[7], "");
}
