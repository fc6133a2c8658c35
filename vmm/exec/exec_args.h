/* exec_args.h - the command line of `minnow exec`: options, the optional
 * CONFIG, and the command after "--", checked without touching the host
 * (paths are checked when the VM is built). */
#ifndef MINNOW_EXEC_ARGS_H
#define MINNOW_EXEC_ARGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EXEC_MAX_ENV	   256
#define EXEC_MAX_OVERRIDES 128
#define EXEC_MAX_SHARES	   8 /* CONFIG_MAX_FS */
#define EXEC_SHARE_PATH	   4096

/* --share HOST_DIR:GUEST_DIR[:ro] */
struct exec_share {
	char host[EXEC_SHARE_PATH];  /* as given; checked on the host by exec.c */
	char guest[EXEC_SHARE_PATH]; /* absolute, not "/" */
	int readonly;
};

struct exec_options {
	const char *config;	       /* CONFIG.ini, or NULL: the defaults (exec_guest.h) */
	const char *log_path;	       /* --log FILE: kernel and init messages; NULL: dropped */
	uint64_t timeout_ms;	       /* --timeout; 0: none */
	const char *env[EXEC_MAX_ENV]; /* --env K=V, in order */
	size_t n_env;
	const char *cwd;    /* --cwd DIR (in the guest), or NULL: "/" */
	const char *memory; /* --memory SIZE (checked with config_parse_size), or NULL */
	unsigned vcpus;	    /* --vcpus N, 0: unset */
	const char *kernel; /* --kernel PATH, or NULL */
	const char *initrd; /* --initrd PATH, or NULL */
	const char *overrides[EXEC_MAX_OVERRIDES]; /* --set SECTION.KEY=VALUE */
	size_t n_overrides;
	bool no_tty;	       /* --no-tty: no pty even when stdin is a terminal */
	char rootfs[PATH_MAX]; /* --rootfs IMAGE[:ro|:rw]: the image, or "" */
	bool rootfs_ro;	       /* ... with :ro */
	char net_tap[16];      /* --net TAP[,ip=ADDR/PREFIX][,gw=GW]: the TAP, or "" */
	char net_ip[24];       /* "ADDR/PREFIX", or "" */
	char net_gw[16];       /* "GW", or "" */
	struct exec_share shares[EXEC_MAX_SHARES]; /* --share, in order */
	size_t n_shares;
	int timings; /* 0 off, 1 text, 2 json */
	int verbose;
	const char *snapshot;	   /* --snapshot STATE: restore it and run the command there */
	const char *save_snapshot; /* --save-snapshot STATE: boot until minnow-init is ready,
				    * save to STATE and exit; no command */
	char **cmd; /* the command and its arguments (after "--"), NULL-terminated; NULL with
		     * --save-snapshot */
	int cmd_argc;
};

/* Parses `minnow exec`'s arguments, argv[0] being "exec". Options and
 * CONFIG may come in any order before "--"; each option takes its value as
 * the next argument or after '=' (--timeout=5s). Returns 0 with `o`
 * filled; 1 for --help (nothing else is checked); -1 with one line (no
 * "minnow exec: " prefix, no newline) in err: an unknown option, a missing
 * value, a bad duration, size or count, --env without '=' or with an empty
 * name, an empty --cwd, a bad --rootfs, --net or --share (exec_parse_share),
 * a second CONFIG, no "--", or no command after it; with --save-snapshot,
 * a command or --snapshot; with --snapshot, what would change the
 * snapshot's machine (CONFIG, --memory, --vcpus, --kernel, --initrd,
 * --rootfs, --net, --share). */
int exec_parse_args(int argc, char **argv, struct exec_options *o, char *err, size_t errlen);

/* Parses a duration for --timeout: digits with an optional suffix ms, s, m
 * or h (none: seconds, as timeout(1)); more than zero and at most 30 days.
 * Returns 0 with *ms, or -1. */
int exec_parse_duration(const char *text, uint64_t *ms);

/* Parses --net's value into o (net_tap, net_ip, net_gw): "TAP", then
 * optional ",ip=A.B.C.D/PREFIX" and ",gw=A.B.C.D" (gw needs ip). Returns 0,
 * or -1 with one line in err. */
int exec_parse_net(const char *v, struct exec_options *o, char *err, size_t errlen);
/* Parses one --share value, HOST_DIR:GUEST_DIR or HOST_DIR:GUEST_DIR:ro,
 * into `sh`. Returns 0, or -1 with one line in err: an empty part, another
 * ':' (a third part other than "ro", or a fourth), a GUEST_DIR that is not
 * absolute or is "/", a path too long. */
int exec_parse_share(const char *text, struct exec_share *sh, char *err, size_t errlen);

/* Prints `minnow exec --help`. */
void exec_usage(FILE *out);

#endif
