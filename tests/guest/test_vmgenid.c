/* test_vmgenid.c - the VM generation ID with the test unikernel: a VM keeps
 * one ID while it runs; two VMs restored from one snapshot each get an ID
 * of their own, different from the snapshotted VM's, and a GED interrupt
 * for it, while their ticks carry on; without ACPI there is no ID. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_client.h"
#include "harness.h"

#define VTICK	  "minnow-test: vmgenid tick "
#define ID_CHARS  32
#define MAX_TICKS 4096

struct vtick {
	unsigned k;
	char id[ID_CHARS + 1];
	unsigned events;
};

/* The complete "vmgenid tick K id=HEX events=E" lines of `out`, in order.
 * Returns how many (at most max). */
static size_t parse_ticks(const char *out, struct vtick *t, size_t max)
{
	size_t n = 0;
	for (const char *p = out; n < max && (p = strstr(p, VTICK)); p++) {
		char *end;
		unsigned long k = strtoul(p + strlen(VTICK), &end, 10);
		if (strncmp(end, " id=", 4) != 0)
			continue;
		const char *id = end + 4;
		if (strspn(id, "0123456789abcdef") != ID_CHARS ||
		    strncmp(id + ID_CHARS, " events=", 8))
			continue;
		const char *ev = id + ID_CHARS + 8;
		unsigned long e = strtoul(ev, &end, 10);
		if (end == ev || *end != '\n')
			continue; /* the line is not complete yet */
		t[n].k = (unsigned)k;
		memcpy(t[n].id, id, ID_CHARS);
		t[n].id[ID_CHARS] = '\0';
		t[n].events = (unsigned)e;
		n++;
	}
	return n;
}

/* Every complete tick line of `r` so far: consecutive from `first`, all
 * with one ID, which is copied to id. `old` (or NULL): an ID the first line
 * may still carry instead: a restored guest that had read the ID just
 * before the snapshot prints the one it read. Returns the number of ticks
 * with the one ID. */
static size_t one_id(struct guest_result *r, unsigned first, const char *old, char id[ID_CHARS + 1])
{
	static struct vtick t[MAX_TICKS];
	(void)guest_wait_output(r, NULL, 1);
	size_t n = parse_ticks(r->out, t, MAX_TICKS);
	cr_assert_gt(n, 0, "no complete tick line: %s", guest_ctx(r));
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(t[i].k, first + i, "tick %zu is K=%u, expected %zu: %s", i, t[i].k,
			     first + i, guest_ctx(r));
	size_t from = old && n > 1 && !strcmp(t[0].id, old) ? 1 : 0;
	if (from)
		cr_log_info("the first tick after the restore still shows the ID read before it");
	for (size_t i = from; i < n; i++)
		cr_expect_str_eq(t[i].id, t[n - 1].id, "the ID changed at tick %u: %s", t[i].k,
				 guest_ctx(r));
	memcpy(id, t[n - 1].id, ID_CHARS + 1);
	return n - from;
}

/* The `events=` count of the last complete tick line. */
static unsigned last_events(struct guest_result *r)
{
	static struct vtick t[MAX_TICKS];
	(void)guest_wait_output(r, NULL, 1);
	size_t n = parse_ticks(r->out, t, MAX_TICKS);
	return n ? t[n - 1].events : 0;
}

/* A random GUID as minnow writes it: not all zero, version 4 (high nibble
 * of byte 7) and the RFC 4122 variant (top bits of byte 8, 10b). */
static void expect_random_guid(const char *id, const char *whose)
{
	cr_expect_neq(strspn(id, "0"), ID_CHARS, "%s ID is all zero", whose);
	cr_expect_eq(id[14], '4', "%s ID %s: version nibble", whose, id);
	cr_expect(strchr("89ab", id[16]) != NULL, "%s ID %s: variant", whose, id);
}

TestSuite(vmgenid);

/* One snapshot, two restored VMs: the snapshotted VM's ID is the same on
 * every tick; each restored VM's ticks carry on from where the snapshot
 * caught them, with an ID of its own (not the original's, not the other
 * clone's) on every tick, and the GED interrupt for it arrives once. */
Test(vmgenid, each_vm_restored_from_one_snapshot_gets_a_new_id, .timeout = 120)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	struct guest_opts o = {.cmdline = "test=vmgenid-ticks ms=20", .sets = e.sets};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_assert(guest_wait_output(&r, VTICK "5 ", 20000), "never reached tick 5: %s",
		  guest_ctx(&r));
	char state[4400];
	json_decref(ctl_snapshot_stop(&e, &r, state, sizeof(state)));
	/* The snapshot may catch tick 5's line half printed: the restored
	 * guests finish it (without the prefix) and go on with tick 6. */
	char orig[ID_CHARS + 1];
	size_t complete = one_id(&r, 1, NULL, orig);
	unsigned reached = last_count(&r, VTICK);
	cr_assert(reached >= 5 && complete >= reached - 1, "%s", guest_ctx(&r));
	expect_random_guid(orig, "the original's");
	cr_expect_eq(last_events(&r), 0, "no vmgenid event before a restore: %s", guest_ctx(&r));
	guest_result_free(&r);

	struct ctl_env e1, e2;
	ctl_env(&e1);
	ctl_env(&e2);
	char restore[4500];
	snprintf(restore, sizeof(restore), "vm.restore=%s", state);
	const char *sets1[] = {e1.set, restore, NULL}, *sets2[] = {e2.set, restore, NULL};
	struct guest_opts o1 = {.cmdline = o.cmdline, .sets = sets1};
	struct guest_opts o2 = {.cmdline = o.cmdline, .sets = sets2};
	struct guest_result r1, r2;
	cr_assert_eq(guest_start(&o1, &r1), 0, "%s", r1.desc);
	cr_assert_eq(guest_start(&o2, &r2), 0, "%s", r2.desc);
	char want[64];
	snprintf(want, sizeof(want), VTICK "%u ", reached + 3);
	cr_expect(guest_wait_output(&r1, want, 20000), "restored VM 1 did not go on: %s",
		  guest_ctx(&r1));
	cr_expect(guest_wait_output(&r2, want, 20000), "restored VM 2 did not go on: %s",
		  guest_ctx(&r2));
	char id1[ID_CHARS + 1], id2[ID_CHARS + 1];
	cr_expect_geq(one_id(&r1, reached + 1, orig, id1), 2);
	cr_expect_geq(one_id(&r2, reached + 1, orig, id2), 2);
	cr_log_info("original %s, restored %s and %s", orig, id1, id2);
	cr_expect_str_neq(id1, orig, "restored VM 1 kept the original's ID");
	cr_expect_str_neq(id2, orig, "restored VM 2 kept the original's ID");
	cr_expect_str_neq(id1, id2, "the two restored VMs have the same ID");
	expect_random_guid(id1, "restored VM 1's");
	expect_random_guid(id2, "restored VM 2's");
	cr_expect_eq(last_events(&r1), 1, "one vmgenid event in restored VM 1: %s", guest_ctx(&r1));
	cr_expect_eq(last_events(&r2), 1, "one vmgenid event in restored VM 2: %s", guest_ctx(&r2));
	ctl_stop(&e1, &r1);
	ctl_stop(&e2, &r2);
	cr_expect_eq(r1.status, 0, "%s", guest_ctx(&r1));
	cr_expect_eq(r2.status, 0, "%s", guest_ctx(&r2));
	guest_result_free(&r1);
	guest_result_free(&r2);
	ctl_env_free(&e1);
	ctl_env_free(&e2);
	ctl_env_free(&e);
}

/* Two VMs booted from the same config get different IDs. */
Test(vmgenid, two_booted_vms_have_different_ids, .timeout = 60)
{
	harness_require_kvm();
	struct ctl_env e1, e2;
	ctl_env(&e1);
	ctl_env(&e2);
	struct guest_opts o1 = {.cmdline = "test=vmgenid-ticks ms=20", .sets = e1.sets};
	struct guest_opts o2 = {.cmdline = "test=vmgenid-ticks ms=20", .sets = e2.sets};
	struct guest_result r1, r2;
	cr_assert_eq(guest_start(&o1, &r1), 0, "%s", r1.desc);
	cr_assert_eq(guest_start(&o2, &r2), 0, "%s", r2.desc);
	cr_expect(guest_wait_output(&r1, VTICK "3 ", 20000), "%s", guest_ctx(&r1));
	cr_expect(guest_wait_output(&r2, VTICK "3 ", 20000), "%s", guest_ctx(&r2));
	char id1[ID_CHARS + 1], id2[ID_CHARS + 1];
	one_id(&r1, 1, NULL, id1);
	one_id(&r2, 1, NULL, id2);
	expect_random_guid(id1, "VM 1's");
	expect_random_guid(id2, "VM 2's");
	cr_expect_str_neq(id1, id2, "two boots, one ID");
	ctl_stop(&e1, &r1);
	ctl_stop(&e2, &r2);
	guest_result_free(&r1);
	guest_result_free(&r2);
	ctl_env_free(&e1);
	ctl_env_free(&e2);
}

/* Only the DSDT describes the ID: with acpi = off minnow writes none (the
 * reserved bytes stay zero), and a restore writes none either. */
Test(vmgenid, without_acpi_there_is_no_id, .timeout = 60)
{
	harness_require_kvm();
	struct ctl_env e;
	ctl_env(&e);
	const char *sets[] = {e.set, "vm.acpi=off", NULL};
	struct guest_opts o = {.cmdline = "test=vmgenid-ticks ms=20", .sets = sets};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	cr_expect(guest_wait_output(&r, VTICK "3 ", 20000), "%s", guest_ctx(&r));
	char id[ID_CHARS + 1];
	one_id(&r, 1, NULL, id);
	cr_expect_eq(strspn(id, "0"), ID_CHARS, "an ID without ACPI: %s", id);
	ctl_stop(&e, &r);
	guest_result_free(&r);
	ctl_env_free(&e);
}
