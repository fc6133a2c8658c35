/* timing.c - monotonic boot-phase timestamps. */
#include "timing.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "platform.h"

static struct timespec t0;
static _Atomic uint64_t marks[T_COUNT];
static _Atomic uint64_t guest_marks[CONTROL_MARKS];

static const char *const names[T_COUNT] = {
    [T_CONFIG_PARSED] = "config_parsed_us",
    [T_STATE_READ] = "state_read_us",
    [T_VM_CREATED] = "vm_created_us",
    [T_MEMORY_READY] = "memory_ready_us",
    [T_KERNEL_LOADED] = "kernel_loaded_us",
    [T_VCPU_STATE_RESTORED] = "vcpu_state_restored_us",
    [T_DEVICES_RESTORED] = "devices_restored_us",
    [T_FIRST_RUN] = "first_run_us",
    [T_BOOT_COMPLETE] = "boot_complete_us",
    [T_VM_END] = "vm_end_us",
    [T_TORN_DOWN] = "torn_down_us",
};

void timing_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < T_COUNT; i++)
		atomic_store(&marks[i], UINT64_MAX);
	for (unsigned i = 0; i < CONTROL_MARKS; i++)
		atomic_store(&guest_marks[i], UINT64_MAX);
}

uint64_t timing_now_us(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ns = (int64_t)(now.tv_sec - t0.tv_sec) * 1000000000 + (now.tv_nsec - t0.tv_nsec);
	return (uint64_t)(ns / 1000);
}

uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void timing_mark(enum timing_phase phase)
{
	uint64_t expected = UINT64_MAX;
	atomic_compare_exchange_strong(&marks[phase], &expected, timing_now_us());
}

uint64_t timing_get(enum timing_phase phase)
{
	return atomic_load(&marks[phase]);
}

const char *timing_name(enum timing_phase phase)
{
	return names[phase];
}

void timing_guest_mark(unsigned n)
{
	uint64_t expected = UINT64_MAX;
	if (n > 0 && n < CONTROL_MARKS)
		atomic_compare_exchange_strong(&guest_marks[n], &expected, timing_now_us());
}

uint64_t timing_get_guest_mark(unsigned n)
{
	return n > 0 && n < CONTROL_MARKS ? atomic_load(&guest_marks[n]) : UINT64_MAX;
}

/* The key of guest mark n, e.g. "guest_init_us". */
static void guest_mark_name(unsigned n, char *buf, size_t len)
{
	if (n == CONTROL_MARK_INIT)
		snprintf(buf, len, "guest_init_us");
	else if (n == CONTROL_MARK_COMMAND)
		snprintf(buf, len, "guest_command_us");
	else
		snprintf(buf, len, "guest_mark_%u_us", n);
}

/* Prints the guest's marks: the named ones always, the others when reached. */
static void print_guest_marks(FILE *out, int json)
{
	for (unsigned n = 1; n < CONTROL_MARKS; n++) {
		uint64_t v = timing_get_guest_mark(n);
		bool named = n == CONTROL_MARK_INIT || n == CONTROL_MARK_COMMAND;
		if (v == UINT64_MAX && !named)
			continue;
		char name[32];
		guest_mark_name(n, name, sizeof(name));
		if (json && v == UINT64_MAX)
			fprintf(out, "\"%s\":null,", name);
		else if (json)
			fprintf(out, "\"%s\":%llu,", name, (unsigned long long)v);
		else if (v == UINT64_MAX)
			fprintf(out, "  %-22s %10s\n", name, "-");
		else
			fprintf(out, "  %-22s %10llu\n", name, (unsigned long long)v);
	}
}

void timing_print_phases_json(FILE *out)
{
	for (int i = 0; i < T_COUNT; i++) {
		uint64_t v = timing_get(i);
		if (v == UINT64_MAX)
			fprintf(out, "\"%s\":null,", names[i]);
		else
			fprintf(out, "\"%s\":%llu,", names[i], (unsigned long long)v);
	}
	print_guest_marks(out, 1);
}

/* A phase only the other kind of start has (a restore has no kernel to
 * load; a cold boot no state to restore): left out of the text report. */
static bool other_kind_of_start(int phase)
{
	bool restore = timing_get(T_STATE_READ) != UINT64_MAX;
	if (phase == T_KERNEL_LOADED)
		return restore;
	return !restore && (phase == T_STATE_READ || phase == T_VCPU_STATE_RESTORED ||
			    phase == T_DEVICES_RESTORED);
}

void timing_print(FILE *out, int json, const struct run_report *rep)
{
	if (json) {
		fprintf(out, "{");
		timing_print_phases_json(out);
		fprintf(
		    out,
		    "\"peak_rss_kib\":%llu,\"guest_touched_kib\":%llu,\"pio_exits\":%llu,"
		    "\"mmio_unclaimed\":%llu,\"exits\":%llu,\"mmio_exits\":%llu,"
		    "\"virtio_user_kicks\":%llu,\"virtio_interrupts\":%llu,"
		    "\"exit_status\":%d,\"exit_reason\":\"%s\"",
		    (unsigned long long)rep->peak_rss_kib,
		    (unsigned long long)rep->guest_touched_kib, (unsigned long long)rep->pio_exits,
		    (unsigned long long)rep->mmio_unclaimed, (unsigned long long)rep->exits,
		    (unsigned long long)rep->mmio_exits, (unsigned long long)rep->virtio_user_kicks,
		    (unsigned long long)rep->virtio_interrupts, rep->exit_status, rep->exit_reason);
		if (rep->exit_table) {
			fprintf(out, ",");
			exit_table_print(out, 1, rep->exit_table);
		}
		if (rep->n_vcpus && rep->vcpu_us) {
			fprintf(out, ",\"vcpu_us\":[");
			for (unsigned i = 0; i < rep->n_vcpus; i++)
				fprintf(out, "%s[%llu,%llu,%llu]", i ? "," : "",
					(unsigned long long)rep->vcpu_us[i][0],
					(unsigned long long)rep->vcpu_us[i][1],
					(unsigned long long)rep->vcpu_us[i][2]);
			fprintf(out, "]");
		}
		fprintf(out, "}\n");
		return;
	}
	fprintf(out, "minnow timings (microseconds since start):\n");
	for (int i = 0; i < T_COUNT; i++) {
		uint64_t v = timing_get(i);
		if (v == UINT64_MAX && other_kind_of_start(i))
			continue;
		if (v == UINT64_MAX)
			fprintf(out, "  %-22s %10s\n", names[i], "-");
		else
			fprintf(out, "  %-22s %10llu\n", names[i], (unsigned long long)v);
	}
	print_guest_marks(out, json);
	fprintf(out, "  peak RSS %llu KiB, guest RAM touched %llu KiB\n",
		(unsigned long long)rep->peak_rss_kib, (unsigned long long)rep->guest_touched_kib);
	fprintf(out,
		"  exits to userspace %llu (MMIO %llu, port I/O %llu); virtio kicks in "
		"userspace %llu, virtio interrupts %llu\n",
		(unsigned long long)rep->exits, (unsigned long long)rep->mmio_exits,
		(unsigned long long)rep->pio_exits, (unsigned long long)rep->virtio_user_kicks,
		(unsigned long long)rep->virtio_interrupts);
	if (rep->exit_table)
		exit_table_print(out, 0, rep->exit_table);
	fprintf(out, "  exit: status %d (%s)\n", rep->exit_status, rep->exit_reason);
}
