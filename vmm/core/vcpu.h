/* vcpu.h - a vCPU and its thread: KVM_RUN and the exits minnow handles. */
#ifndef MINNOW_VCPU_H
#define MINNOW_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exit_table.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned index; /* also its APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	/* Written by the vCPU's thread, read after it is joined (µs since
	 * minnow started; 0: not reached): the thread started, its first
	 * KVM_RUN returned (for an AP: after SIPI), the thread ended. */
	uint64_t started_us, first_exit_us, ended_us;
	/* Written by the vCPU's thread (relaxed atomics: the control socket's
	 * metrics read them while it runs): its exits to userspace by kind. */
	_Atomic uint64_t exit_kinds[EXIT_KIND_COUNT];
	/* The last exit to userspace (KVM_EXIT_*, and the MMIO address or
	 * port it was for), for vm_report_vcpus(); written by the thread. */
	_Atomic uint32_t last_exit_reason;
	_Atomic uint64_t last_exit_addr;
	_Atomic bool reported; /* it answered vm_report_vcpus() in report */
	char report[256];
};

/* Creates vCPU `index` of `vm` with its CPUID, MSRs and LAPIC wiring; the
 * boot vCPU (index 0) is also put in the boot entry state. The others stay
 * in wait-for-SIPI for the guest to start. Returns 0 or -errno (logged). */
int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned index);

/* Starts the vCPU's thread, which runs the guest until the VM ends.
 * Returns 0 or -errno. The caller holds vm.c's end lock (vm_run), so that
 * vm_end() sees thread_started and the thread id consistently. */
int vcpu_start(struct vcpu *vcpu);

/* Makes a running KVM_RUN return promptly (immediate_exit + signal).
 * Called by vm_end() only, under its lock: never after vcpu_destroy(). */
void vcpu_kick(struct vcpu *vcpu);

/* Describes where the vCPU is in `buf`: rip, cs, rflags, KVM's run state
 * (e.g. halted, not started) and its last exit to minnow. Called by the
 * vCPU's own thread (its fd is not busy in KVM_RUN then). */
void vcpu_report(struct vcpu *vcpu, char *buf, size_t len);

/* Describes `vcpu`'s exits to minnow in `buf`: how many, and the last
 * ("117 exits to minnow, the last an MMIO write at 0xd0000000", or "no exit
 * to minnow yet"). Any thread. */
void vcpu_describe_last_exit(struct vcpu *vcpu, char *buf, size_t len);

/* Waits for the thread (if started) and frees the vCPU. */
void vcpu_destroy(struct vcpu *vcpu);

/* Installs the (empty) handler of the kick signal; once per process. */
void vcpu_init_signals(void);

#endif
