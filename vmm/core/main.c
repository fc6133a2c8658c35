/* main.c - the minnow command line: run or check a VM described by an ini file;
 * `minnow exec` is dispatched to vmm/exec/exec.c. */
#include <getopt.h>
#include <stdint.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "bench.h"
#include "cli_number.h"
#include "config.h"
#include "exec.h"
#include "jail.h"
#include "log.h"
#include "timing.h"
#include "run.h"
#include "snapshot.h"
#include "vm.h"
#include "vm_control.h"

#define MAX_OVERRIDES 128
#define MAX_JAIL_ARGS 5 /* --jail, --uid, --gid, --control, --restore: overrides as options */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: minnow run CONFIG.ini [options]   boot the VM the file describes\n"
	    "       minnow check CONFIG.ini [options] validate it and print the resolved config\n"
	    "       minnow restore STATE [options]    start a VM from a snapshot, with the\n"
	    "                                         configuration saved in it\n"
	    "       minnow batch CONFIG.ini -n N [-j J] [options]\n"
	    "                                         boot N VMs of it, J at once; JSON lines\n"
	    "                                         (minnow batch --help)\n"
	    "       minnow bench CONFIG.ini [-n N] [options]\n"
	    "                                         boot-time distributions, comparisons\n"
	    "                                         (minnow bench --help)\n"
	    "       minnow exec [CONFIG.ini] [options] -- CMD [ARGS...]\n"
	    "                                         run CMD in a fresh Linux VM, as if here\n"
	    "                                         (minnow exec --help)\n"
	    "       minnow --help | --version\n"
	    "Options:\n"
	    "  --set SECTION.KEY=VALUE  override a config key (repeatable)\n"
	    "  --index N                the instance number {i} stands for in values\n"
	    "  --timings[=json]         print boot-phase timings to stderr at exit\n"
	    "  --jail DIR               run jailed in DIR ([jail] dir; README.md, \"Jail\")\n"
	    "  --uid U, --gid G         the jail's user and group ([jail] uid, gid)\n"
	    "  --control PATH           serve the control socket at PATH ([vm] control_socket;\n"
	    "                           README.md, \"Control socket\")\n"
	    "  --restore STATE          start from a snapshot instead of booting ([vm] restore)\n"
	    "  -v, --verbose            log more\n"
	    "Exit status: the guest's own (control device), 0 on power-off, 2 for a bad\n"
	    "config or image, 1 for a host failure, 120 reset, 121 triple fault,\n"
	    "122 emulation failure, 123 entry failure, 124 boot timeout, 126 guest crash,\n"
	    "128+N on signal N; 0 after the control socket's stop. See README.md.\n");
}

struct options {
	const char *command;
	const char *config;
	const char *overrides[MAX_OVERRIDES + MAX_JAIL_ARGS];
	size_t n_overrides;
	char jail_args[MAX_JAIL_ARGS][PATH_MAX + 16];
	size_t n_jail_args;
	int timings; /* 0 off, 1 text, 2 json */
	long index;  /* --index, -1 when not given */
};

/* Parses argv; returns -1 after printing the problem (exit 2), 1 when
 * --help/--version was handled (exit 0), else 0. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"set", required_argument, NULL, 's'},     {"timings", optional_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},       {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},       {"index", required_argument, NULL, 'i'},
	    {"jail", required_argument, NULL, 'J'},    {"uid", required_argument, NULL, 'U'},
	    {"gid", required_argument, NULL, 'G'},     {"control", required_argument, NULL, 'C'},
	    {"restore", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->index = -1;
	int c;
	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) {
			/* A positional argument: command, then config file. */
			if (!o->command)
				o->command = argv[optind];
			else if (!o->config)
				o->config = argv[optind];
			else {
				fprintf(stderr, "minnow: unexpected argument '%s'\n", argv[optind]);
				return -1;
			}
			optind++;
			continue;
		}
		switch (c) {
		case 's':
			if (o->n_overrides == MAX_OVERRIDES) {
				fprintf(stderr, "minnow: too many --set options (max %d)\n",
					MAX_OVERRIDES);
				return -1;
			}
			o->overrides[o->n_overrides++] = optarg;
			break;
		case 't':
			if (!optarg || strcmp(optarg, "text") == 0)
				o->timings = 1;
			else if (strcmp(optarg, "json") == 0)
				o->timings = 2;
			else {
				fprintf(stderr,
					"minnow: --timings takes 'text' or 'json', not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'i':
			if (!cli_number(optarg, 0, INT32_MAX, &o->index)) {
				fprintf(stderr,
					"minnow: --index takes a number from 0 to %d, not '%s'\n",
					INT32_MAX, optarg);
				return -1;
			}
			break;
		case 'J':
		case 'U':
		case 'G':
		case 'C':
		case 'R': {
			/* config.h: "--jail DIR" is jail.dir=DIR, named so in errors. */
			const char *opt = c == 'J'   ? "--jail"
					  : c == 'U' ? "--uid"
					  : c == 'G' ? "--gid"
					  : c == 'C' ? "--control"
						     : "--restore";
			if (o->n_jail_args == MAX_JAIL_ARGS || strlen(optarg) >= PATH_MAX) {
				fprintf(stderr, "minnow: %s: given too often, or too long\n", opt);
				return -1;
			}
			char *a = o->jail_args[o->n_jail_args++];
			snprintf(a, sizeof(o->jail_args[0]), "%s %s", opt, optarg);
			o->overrides[o->n_overrides++] = a;
			break;
		}
		case 'v':
			log_set_verbose(1);
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("minnow %s\n", MINNOW_VERSION);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!o->command || !o->config) {
		usage(stderr);
		return -1;
	}
	if (strcmp(o->command, "run") != 0 && strcmp(o->command, "check") != 0 &&
	    strcmp(o->command, "restore") != 0) {
		fprintf(
		    stderr,
		    "minnow: unknown command '%s' (run, check, restore, exec, batch or bench)\n",
		    o->command);
		return -1;
	}
	/* Error messages name the file; one longer than a path can be would not fit them. */
	size_t len = strlen(o->config);
	if (len >= PATH_MAX) {
		fprintf(stderr,
			"minnow: config file path too long (%zu bytes, at most %d): '%.64s...'\n",
			len, PATH_MAX - 1, o->config);
		return -1;
	}
	return 0;
}

/* `minnow restore STATE`: the configuration saved in STATE, the options'
 * overrides, and STATE as the snapshot to start from. */
static int load_restore(struct vm_config *cfg, struct options *o, struct config_error *err)
{
	char why[PATH_MAX + 200];
	char *text = snapshot_config(o->config, why, sizeof(why));
	if (!text) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot restore: %s", o->config, why);
		return -1;
	}
	int r = -1;
	if (o->n_jail_args == MAX_JAIL_ARGS) {
		snprintf(err->msg, sizeof(err->msg), "too many options");
	} else {
		char *a = o->jail_args[o->n_jail_args++];
		snprintf(a, sizeof(o->jail_args[0]), "--restore %s", o->config);
		o->overrides[o->n_overrides++] = a;
		r = config_load_text(cfg, o->config, text, o->overrides, o->n_overrides, err);
	}
	free(text);
	return r;
}

int main(int argc, char **argv)
{
	timing_start();
	/* A closed stdout is an EPIPE the consoles handle (vm_console_gone),
	 * not a death that leaves the terminal raw. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && strcmp(argv[1], "batch") == 0)
		return batch_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "bench") == 0)
		return bench_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "exec") == 0)
		return exec_main(argc - 1, argv + 1);
	struct options opt;
	int r = parse_args(argc, argv, &opt);
	if (r != 0)
		return r < 0 ? EXIT_CONFIG : 0;

	static struct vm_config cfg;
	struct config_error err;
	config_defaults(&cfg);
	if (strcmp(opt.command, "restore") == 0
		? load_restore(&cfg, &opt, &err) < 0
		: config_load_index(&cfg, opt.config, opt.overrides, opt.n_overrides, opt.index,
				    &err) < 0) {
		fprintf(stderr, "minnow: %s\n", err.msg);
		return EXIT_CONFIG;
	}
	timing_mark(T_CONFIG_PARSED);
	if (strcmp(opt.command, "check") == 0) {
		config_print(&cfg, stdout);
		return 0;
	}

	/* Before the jail: the control socket and metrics file lie outside it. */
	r = vm_control_open(&cfg);
	if (r != 0)
		return r;
	r = cfg.jailed ? jail_run(&cfg, opt.timings) : run_vm(&cfg, opt.timings, NULL);
	vm_control_close();
	return r;
}
