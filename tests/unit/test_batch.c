/* test_batch.c - minnow batch's arguments and summary arithmetic. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "batch_args.h"
#include "batch_stats.h"

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
