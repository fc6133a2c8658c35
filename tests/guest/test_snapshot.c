/* test_snapshot.c - snapshot and restore with the test unikernel: a guest
 * that counts (ticks, or rounds of virtio-blk I/O) carries on from where
 * the snapshot caught it, in several VMs restored from one snapshot at
 * once; snapshots never overwrite a file; a damaged, truncated, foreign or
 * mismatched snapshot is refused in one line with status 2; the control
 * socket's shutdown reaches the guest as a power-button press. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control_client.h"
#include "harness.h"

#define TICK "minnow-test: tick "

/* Boots `o` (its sets: e's socket), waits for count `at` of `prefix`,
 * snapshots to DIR/s with then = stop and returns the count the guest had
 * reached; the state file's path is in state. */
static unsigned snapshot_at(struct ctl_env *e, struct guest_opts *o, const char *prefix,
			    unsigned at, char *state, size_t len)
{
	struct guest_result r;
	cr_assert_eq(guest_start(o, &r), 0, "%s", r.desc);
	char want[96];
	snprintf(want, sizeof(want), "%s%u", prefix, at);
	cr_assert(guest_wait_output(&r, want, 20000), "never reached '%s': %s", want,
		  guest_ctx(&r));
	json_t *v = ctl_snapshot_stop(e, &r, state, len);
	cr_expect(json_integer_value(json_object_get(v, "save_us")) > 0, "%s", json_dumps(v, 0));
	json_decref(v);
	char reason[32];
	cr_expect_str_eq(guest_json(r.err, "exit_reason", reason, sizeof(reason)), "stopped");
	unsigned reached = last_count(&r, prefix);
	guest_result_free(&r);
	return reached;
}

/* The restored guest's output starts right after `reached` and goes on
 * past reached + 3. */
static void expect_carries_on(struct guest_result *r, const char *prefix, unsigned reached,
			      unsigned step)
{
	char want[96];
	snprintf(want, sizeof(want), "%s%u", prefix, reached + 3 * step);
	cr_expect(guest_wait_output(r, want, 20000), "the restored guest did not go on: %s",
		  guest_ctx(r));
	const char *first = strstr(r->out, prefix);
	unsigned k = first ? (unsigned)strtoul(first + strlen(prefix), NULL, 10) : 0;
	cr_expect_eq(k, reached + step, "the restored guest's first count: %s", guest_ctx(r));
}

/* --timings of a restored VM: the restore's phases in the order they
 * happen, and no kernel loaded. */
static void expect_restore_phases(struct guest_result *r)
{
	static const char *const order[] = {
	    "config_parsed_us",	      "state_read_us",	     "vm_created_us", "memory_ready_us",
	    "vcpu_state_restored_us", "devices_restored_us", "first_run_us",  "vm_end_us"};
	unsigned long long prev = 0;
	char v[32];
	for (size_t i = 0; i < HARNESS_N(order); i++) {
		unsigned long long us = 0;
		cr_expect(guest_json(r->err, order[i], v, sizeof(v)) && sscanf(v, "%llu", &us) == 1,
			  "no %s: %s", order[i], guest_ctx(r));
		cr_expect_geq(us, prev, "%s (%llu) before the previous phase (%llu)", order[i], us,
			      prev);
		prev = us;
	}
	cr_expect_str_eq(guest_json(r->err, "kernel_loaded_us", v, sizeof(v)), "null",
			 "a restore loads no kernel: %s", guest_ctx(r));
}

/* A guest printing a tick every 20 ms is snapshotted at tick 5 or later,
 * then two VMs restored from that one snapshot at once both carry on
 * from the next tick; the memory file has the guest's RAM size. */
Test(snapshot, ticks_carry_on_in_two_restored_vms, .timeout = 120)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {
	    .cmdline = "test=ticks ms=20", .sets = e.sets, .timings = TIMINGS_JSON};
	char state[4400];
	unsigned reached = snapshot_at(&e, &o, TICK, 5, state, sizeof(state));
	char mem[4500];
	snprintf(mem, sizeof(mem), "%s.mem", state);
	struct stat st;
	cr_assert_eq(stat(mem, &st), 0, "%s: %s", mem, strerror(errno));
	cr_expect_eq(st.st_size, 64 << 20, "the memory file is the guest's RAM");
	cr_expect_lt(st.st_blocks * 512, 16 << 20, "zero pages are holes (%lld bytes used)",
		     (long long)st.st_blocks * 512);

	/* Two at once from the same files, each with a socket of its own. */
	struct ctl_env e1, e2;
	ctl_env(&e1);
	ctl_env(&e2);
	char restore[4500];
	snprintf(restore, sizeof(restore), "vm.restore=%s", state);
	const char *sets1[] = {e1.set, restore, NULL}, *sets2[] = {e2.set, restore, NULL};
	struct guest_opts o1 = {
	    .cmdline = "test=ticks ms=20", .sets = sets1, .timings = TIMINGS_JSON};
	struct guest_opts o2 = {.cmdline = "test=ticks ms=20", .sets = sets2};
	struct guest_result r1, r2;
	cr_assert_eq(guest_start(&o1, &r1), 0, "%s", r1.desc);
	cr_assert_eq(guest_start(&o2, &r2), 0, "%s", r2.desc);
	expect_carries_on(&r1, TICK, reached, 1);
	expect_carries_on(&r2, TICK, reached, 1);
	ctl_stop(&e1, &r1);
	ctl_stop(&e2, &r2);
	cr_expect_eq(r1.status, 0, "%s", guest_ctx(&r1));
	cr_expect_eq(r2.status, 0, "%s", guest_ctx(&r2));
	expect_restore_phases(&r1);
	struct stat after;
	cr_expect(stat(mem, &after) == 0 && after.st_mtime == st.st_mtime &&
		      after.st_size == st.st_size,
		  "a restore must never write the memory file");
	guest_result_free(&r1);
	guest_result_free(&r2);
	ctl_env_free(&e1);
	ctl_env_free(&e2);
	ctl_env_free(&e);
}

/* A guest halted while it waits (test=warm-hello) is snapshotted; each
 * restore wakes it with the new generation ID's interrupt: it says hello
 * and exits 0, the restored hello that `make bench` times against a cold
 * one. It touches a part of the saved RAM only (guest_touched_kib). */
Test(snapshot, a_halted_guest_wakes_on_restore, .timeout = 120)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {.cmdline = "test=warm-hello", .sets = e.sets};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_assert(guest_wait_output(&r, "warm-hello ready", 20000), "%s", guest_ctx(&r));
	char state[4400];
	json_decref(ctl_snapshot_stop(&e, &r, state, sizeof(state)));
	cr_expect(!strstr(r.out, "hello after restore"), "woke before the restore: %s",
		  guest_ctx(&r));
	guest_result_free(&r);
	char restore[4500], mem[4500];
	snprintf(restore, sizeof(restore), "vm.restore=%s", state);
	snprintf(mem, sizeof(mem), "%s.mem", state);
	struct stat st;
	cr_assert_eq(stat(mem, &st), 0, "%s: %s", mem, strerror(errno));
	unsigned long long saved_kib = (unsigned long long)st.st_blocks / 2;
	const char *sets[] = {restore, NULL};
	for (int i = 0; i < 2; i++) {
		struct guest_opts o1 = {
		    .cmdline = "test=warm-hello", .sets = sets, .timings = TIMINGS_JSON};
		guest_run_ok(&o1, &r);
		cr_expect_eq(r.status, 0, "restore %d: %s", i, guest_ctx(&r));
		cr_expect(strstr(r.out, "minnow-test: hello after restore\n"), "restore %d: %s", i,
			  guest_ctx(&r));
		cr_expect(!strstr(r.out, "warm-hello ready"), "restore %d ran the boot again: %s",
			  i, guest_ctx(&r));
		expect_restore_phases(&r);
		/* The pages it touched, not what the page cache holds of the file. */
		char v[32];
		unsigned long long touched = 0;
		cr_expect(guest_json(r.err, "guest_touched_kib", v, sizeof(v)) &&
			      sscanf(v, "%llu", &touched) == 1 && touched > 0 &&
			      touched < saved_kib,
			  "restore %d: guest_touched_kib %llu of %llu KiB saved: %s", i, touched,
			  saved_kib, guest_ctx(&r));
		guest_result_free(&r);
	}
	ctl_env_free(&e);
}

/* `minnow restore STATE` needs no configuration: the one saved in the
 * state file, without the original's control socket (the copy here serves
 * its own, from --control). Bad input: one line, status 2. */
Test(snapshot, restore_command_uses_the_saved_configuration, .timeout = 120)
{
	harness_require_kvm();
	struct ctl_env e, e1;
	ctl_env(&e);
	ctl_env(&e1);
	struct guest_opts o = {
	    .cmdline = "test=ticks ms=20", .sets = e.sets, .timings = TIMINGS_JSON};
	char state[4400];
	unsigned reached = snapshot_at(&e, &o, TICK, 3, state, sizeof(state));
	const char *args[] = {"--control", e1.sock, NULL};
	struct guest_opts o1 = {.command = "restore", .target = state, .args = args};
	struct guest_result r;
	cr_assert_eq(guest_start(&o1, &r), 0, "%s", r.desc);
	expect_carries_on(&r, TICK, reached, 1);
	ctl_stop(&e1, &r);
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	cr_expect_eq(access(e.sock, F_OK), -1, "the original's socket is not taken again");
	guest_result_free(&r);

	static const struct {
		const char *target, *set, *reason;
	} bad[] = {
	    {"/nonexistent/state", NULL, "/nonexistent/state: cannot restore: No such file"},
	    {"/dev/null", NULL, "/dev/null: cannot restore: not a regular file"},
	    {NULL, "vm.memory=128M", "saved from a VM with 1 vCPUs, 64 MiB"},
	    {NULL, "vm.bogus=1", "--set vm.bogus=1: [vm] bogus: unknown key"},
	};
	for (size_t i = 0; i < HARNESS_N(bad); i++) {
		const char *sets[] = {bad[i].set, NULL};
		struct guest_opts ob = {.command = "restore",
					.target = bad[i].target ? bad[i].target : state,
					.sets = sets};
		guest_run(&ob, &r);
		cr_expect_eq(r.status, 2, "%s: %s", bad[i].reason, guest_ctx(&r));
		cr_expect(strstr(r.err, bad[i].reason) &&
			      strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
			  "want one line with '%s': %s", bad[i].reason, guest_ctx(&r));
		cr_expect(!strstr(r.out, TICK), "the guest must not run: %s", guest_ctx(&r));
		guest_result_free(&r);
	}
	ctl_env_free(&e1);
	ctl_env_free(&e);
}

/* A guest doing virtio-blk I/O without pause (write, read back, check) is
 * snapshotted mid-stream; restored, its queue carries on where the driver
 * left it and every round still checks. */
Test(snapshot, virtio_blk_queue_carries_on, .timeout = 120)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	char img[4096], ini[4300];
	uint8_t *content;
	harness_temp_file(NULL, "snapblk", 1u << 20, img, sizeof(img), &content);
	free(content);
	snprintf(ini, sizeof(ini), "[drive.d0]\npath = %s\n", img);
	struct guest_opts o = {
	    .cmdline = "test=blk-ticks", .sets = e.sets, .extra_ini = ini, .timings = TIMINGS_JSON};
	char state[4400];
	unsigned reached =
	    snapshot_at(&e, &o, "minnow-test: blk-ticks round ", 64, state, sizeof(state));
	struct ctl_env e1;
	ctl_env(&e1);
	char restore[4500];
	snprintf(restore, sizeof(restore), "vm.restore=%s", state);
	const char *sets[] = {e1.set, restore, NULL};
	struct guest_opts o1 = {.cmdline = "test=blk-ticks", .sets = sets, .extra_ini = ini};
	struct guest_result r;
	cr_assert_eq(guest_start(&o1, &r), 0, "%s", r.desc);
	expect_carries_on(&r, "minnow-test: blk-ticks round ", reached, 32);
	ctl_stop(&e1, &r);
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	cr_expect(!strstr(r.out, "FAILED"), "%s", guest_ctx(&r));
	guest_result_free(&r);
	unlink(img);
	ctl_env_free(&e1);
	ctl_env_free(&e);
}

/* A snapshot never overwrites: an existing state or memory file makes the
 * request fail with a reason, and the VM runs on as it was. */
Test(snapshot, existing_files_are_never_overwritten)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {.cmdline = "test=ticks ms=20", .sets = e.sets};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_assert(guest_wait_output(&r, TICK "2", 20000), "%s", guest_ctx(&r));
	char mem[4400], req[4600];
	snprintf(mem, sizeof(mem), "%s/s.mem", e.dir);
	int fd = open(mem, O_WRONLY | O_CREAT, 0600);
	cr_assert(fd >= 0 && write(fd, "keep", 4) == 4);
	close(fd);
	snprintf(req, sizeof(req), "{\"request\":\"snapshot\",\"path\":\"%s/s\"}", e.dir);
	json_t *v = ctl_ask(&e, req);
	cr_expect(!is_ok(v) && strstr(str_of(v, "error"), "never overwrite"), "%s",
		  json_dumps(v, 0));
	json_decref(v);
	size_t len = 0;
	char *kept = (char *)harness_read_file(mem, &len);
	cr_expect(kept && len == 4 && !memcmp(kept, "keep", 4), "the existing file was changed");
	free(kept);
	unsigned now = last_count(&r, TICK);
	char want[64];
	snprintf(want, sizeof(want), TICK "%u", now + 3);
	cr_expect(guest_wait_output(&r, want, 10000), "the VM must run on: %s", guest_ctx(&r));
	ctl_stop(&e, &r);
	guest_result_free(&r);
	ctl_env_free(&e);
}

/* What a bad snapshot does to a restore: refused before the VM starts,
 * status 2, one line naming the state file and the reason. */
struct bad_restore {
	const char *name;
	const char *set;    /* another --set, or NULL */
	long cut;	    /* truncate the state file to this many bytes (-1: no) */
	long flip;	    /* flip a byte at this offset (-1: no) */
	bool no_memory;	    /* remove the memory file */
	const char *reason; /* in the line */
};

static const struct bad_restore bad_restores[] = {
    {"truncated", NULL, 100, -1, false, "truncated"},
    {"header only", NULL, 24, -1, false, "shorter than its header"},
    {"damaged", NULL, -1, 4000, false, "checksum mismatch"},
    {"another version", NULL, -1, 8, false, "format version"},
    {"no magic", NULL, -1, 0, false, "not a minnow snapshot"},
    {"more vCPUs", "vm.vcpus=2", -1, -1, false, "saved from a VM with 1 vCPUs"},
    {"more memory", "vm.memory=128M", -1, -1, false, "64 MiB"},
    {"another device", "rng.enabled=on", -1, -1, false, "virtio devices"},
    {"no memory file", NULL, -1, -1, true, ".mem: the snapshot's memory: No such file"},
};

Test(snapshot, bad_snapshots_are_refused, .timeout = 120)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {
	    .cmdline = "test=ticks ms=20", .sets = e.sets, .timings = TIMINGS_JSON};
	char state[4400], copy[4500], mem[4500], copy_mem[4600];
	(void)snapshot_at(&e, &o, TICK, 2, state, sizeof(state));
	snprintf(mem, sizeof(mem), "%s.mem", state);
	size_t len = 0;
	uint8_t *good = harness_read_file(state, &len);
	cr_assert(good && len > 4096, "state file of %zu bytes", len);
	for (size_t i = 0; i < sizeof(bad_restores) / sizeof(bad_restores[0]); i++) {
		const struct bad_restore *b = &bad_restores[i];
		snprintf(copy, sizeof(copy), "%s/bad%zu", e.dir, i);
		snprintf(copy_mem, sizeof(copy_mem), "%s.mem", copy);
		int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		uint8_t *bytes = malloc(len);
		memcpy(bytes, good, len);
		if (b->flip >= 0)
			bytes[b->flip] ^= 0x5a;
		size_t n = b->cut >= 0 ? (size_t)b->cut : len;
		cr_assert(fd >= 0 && write(fd, bytes, n) == (ssize_t)n);
		close(fd);
		free(bytes);
		if (!b->no_memory)
			cr_assert_eq(link(mem, copy_mem), 0, "link: %s", strerror(errno));
		char restore[4600];
		snprintf(restore, sizeof(restore), "vm.restore=%s", copy);
		const char *sets[] = {restore, b->set, NULL};
		struct guest_opts ob = {.cmdline = "test=ticks ms=20", .sets = sets};
		struct guest_result r;
		guest_run(&ob, &r);
		cr_expect_eq(r.status, 2, "%s: %s", b->name, guest_ctx(&r));
		cr_expect(strstr(r.err, b->reason) &&
			      strchr(r.err, '\n') == r.err + strlen(r.err) - 1 &&
			      (strstr(r.err, copy) || b->no_memory),
			  "%s: want one line naming %s with '%s': %s", b->name, copy, b->reason,
			  guest_ctx(&r));
		cr_expect(!strstr(r.out, TICK), "%s: the guest must not run: %s", b->name,
			  guest_ctx(&r));
		guest_result_free(&r);
		unlink(copy);
		unlink(copy_mem);
	}
	free(good);
	ctl_env_free(&e);
}

/* shutdown presses the ACPI power button: the unikernel sees the GED
 * event, acknowledges it and exits 0. */
Test(snapshot, shutdown_presses_the_power_button)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {.cmdline = "test=power-button", .sets = e.sets};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_assert(guest_wait_output(&r, "power-button ready", 20000), "%s", guest_ctx(&r));
	json_t *v = ctl_ask(&e, "{\"request\":\"shutdown\"}");
	cr_expect(is_ok(v), "shutdown: %s", json_dumps(v, 0));
	json_decref(v);
	guest_wait(&r);
	guest_assert_ran(&r);
	cr_expect_eq(r.status, 0, "%s", guest_ctx(&r));
	cr_expect(guest_has_line(&r, "power-button pressed events=0x1"), "%s", guest_ctx(&r));
	guest_result_free(&r);
	ctl_env_free(&e);
}
