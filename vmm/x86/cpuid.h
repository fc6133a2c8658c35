/* cpuid.h - the CPUID a vCPU sees: KVM's supported set, trimmed to a sane
 * microVM and given a correct topology. */
#ifndef MINNOW_CPUID_H
#define MINNOW_CPUID_H

#include <linux/kvm.h>

/* Reads KVM_GET_SUPPORTED_CPUID, plus the TSC-deadline timer bit when KVM
 * has KVM_CAP_TSC_DEADLINE_TIMER. Returns a malloc'd table or NULL (logged). */
struct kvm_cpuid2 *cpuid_supported(int kvm_fd);

/* Rewrites `table` in place for vCPU `index` of `count` (APIC ID = index,
 * one thread per core, all cores in one package): topology leaves 0x1, 0x4,
 * 0xb, 0x1f, 0x80000008, 0x8000001e; hypervisor bit on; features a microVM
 * must not advertise (VMX/SVM, monitor/mwait, perf monitoring, thermal and
 * power leaves) off. The table must come from cpuid_supported(). */
void cpuid_customize(struct kvm_cpuid2 *table, unsigned index, unsigned count);

/* Returns a malloc'd copy of `table`. */
struct kvm_cpuid2 *cpuid_copy(const struct kvm_cpuid2 *table);

#endif
