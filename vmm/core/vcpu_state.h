/* vcpu_state.h - everything KVM keeps of one vCPU, read and written whole
 * for snapshots: registers, special registers, FPU/SSE/AVX (XSAVE), XCRs,
 * debug registers, the local APIC, pending events, MP state and the MSRs
 * KVM lets a VMM save (the TSC among them). */
#ifndef MINNOW_VCPU_STATE_H
#define MINNOW_VCPU_STATE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#define VCPU_STATE_MAX_MSRS 512

struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	uint32_t n_msrs;
	uint32_t pad;
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
};

/* The MSRs of `vcpu_fd` (a fresh vCPU of the VM) that KVM lists as
 * saveable (KVM_GET_MSR_INDEX_LIST on `kvm_fd`) and can actually read,
 * into out[max]. Returns how many, or -errno (logged). Before the seccomp
 * filters: it asks /dev/kvm. */
int vcpu_state_msr_list(int kvm_fd, int vcpu_fd, uint32_t *out, unsigned max);

/* Whether KVM's XSAVE area fits struct kvm_xsave (hosts with AMX need the
 * larger KVM_GET_XSAVE2, which minnow does not take yet). */
int vcpu_state_supported(int kvm_fd, char *why, size_t whylen);

/* Reads the whole state of a vCPU that is not in KVM_RUN (and has no
 * I/O left to complete: vm_park_vcpu()), with the MSRs of `msrs[n]`.
 * Returns 0 or -errno (logged, naming the ioctl). */
int vcpu_state_get(int vcpu_fd, const uint32_t *msrs, unsigned n, struct vcpu_state *s);

/* Writes `s` to a vCPU that has not run, in the order KVM needs (MP state,
 * registers, special registers, XSAVE, XCRs, debug registers, LAPIC, MSRs,
 * events). Returns 0 or -errno (logged). */
int vcpu_state_set(int vcpu_fd, const struct vcpu_state *s);

#endif
