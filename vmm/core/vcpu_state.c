/* vcpu_state.c - a vCPU's KVM state, whole (vcpu_state.h). */
#include "vcpu_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm.h"
#include "log.h"

/* KVM_GET_MSRS/KVM_SET_MSRS's argument for up to VCPU_STATE_MAX_MSRS. */
struct msr_block {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[VCPU_STATE_MAX_MSRS];
};

int vcpu_state_msr_list(int kvm_fd, int vcpu_fd, uint32_t *out, unsigned max)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t index[VCPU_STATE_MAX_MSRS];
	} list = {.hdr.nmsrs = VCPU_STATE_MAX_MSRS};
	int r = KVM_IOCTL(kvm_fd, KVM_GET_MSR_INDEX_LIST, &list);
	if (r < 0)
		return r;
	/* KVM_GET_MSRS stops at the first MSR it cannot read: read from
	 * there on, dropping each such MSR. */
	static struct msr_block b;
	unsigned n = 0;
	for (unsigned from = 0; from < list.hdr.nmsrs && n < max;) {
		unsigned count = list.hdr.nmsrs - from;
		memset(&b, 0, sizeof(b));
		b.hdr.nmsrs = count;
		for (unsigned i = 0; i < count; i++)
			b.e[i].index = list.index[from + i];
		int got = ioctl(vcpu_fd, KVM_GET_MSRS, &b);
		if (got < 0)
			return -errno;
		for (int i = 0; i < got && n < max; i++)
			out[n++] = b.e[i].index;
		from += (unsigned)got + 1; /* past the one it refused */
	}
	return (int)n;
}

int vcpu_state_supported(int kvm_fd, char *why, size_t whylen)
{
#ifdef KVM_CAP_XSAVE2
	int size = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	if (size > (int)sizeof(struct kvm_xsave)) {
		snprintf(why, whylen,
			 "this host's XSAVE area is %d bytes (AMX?); minnow snapshots up to %zu",
			 size, sizeof(struct kvm_xsave));
		return -ENOTSUP;
	}
#else
	(void)kvm_fd;
	(void)why;
	(void)whylen;
#endif
	return 0;
}

int vcpu_state_get(int fd, const uint32_t *msrs, unsigned n, struct vcpu_state *s)
{
	memset(s, 0, sizeof(*s));
	int r;
	if ((r = KVM_IOCTL(fd, KVM_GET_MP_STATE, &s->mp_state)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_GET_REGS, &s->regs)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_GET_SREGS, &s->sregs)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_GET_XSAVE, &s->xsave)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_GET_XCRS, &s->xcrs)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_GET_DEBUGREGS, &s->debugregs)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_GET_LAPIC, &s->lapic)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_GET_VCPU_EVENTS, &s->events)) < 0)
		return r;
	static struct msr_block b;
	memset(&b, 0, sizeof(b));
	b.hdr.nmsrs = n < VCPU_STATE_MAX_MSRS ? n : VCPU_STATE_MAX_MSRS;
	for (unsigned i = 0; i < b.hdr.nmsrs; i++)
		b.e[i].index = msrs[i];
	r = KVM_IOCTL(fd, KVM_GET_MSRS, &b);
	if (r < 0)
		return r;
	if ((unsigned)r != b.hdr.nmsrs) {
		log_error("KVM_GET_MSRS: read %d of %u MSRs (stopped at 0x%x)", r, b.hdr.nmsrs,
			  b.e[r].index);
		return -EIO;
	}
	s->n_msrs = b.hdr.nmsrs;
	memcpy(s->msrs, b.e, s->n_msrs * sizeof(s->msrs[0]));
	return 0;
}

int vcpu_state_set(int fd, const struct vcpu_state *s)
{
	int r;
	if (s->n_msrs > VCPU_STATE_MAX_MSRS)
		return -EINVAL;
	if ((r = KVM_IOCTL(fd, KVM_SET_MP_STATE, &s->mp_state)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_SET_REGS, &s->regs)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_SET_SREGS, &s->sregs)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_SET_XSAVE, &s->xsave)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_SET_XCRS, &s->xcrs)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_SET_DEBUGREGS, &s->debugregs)) < 0 ||
	    (r = KVM_IOCTL(fd, KVM_SET_LAPIC, &s->lapic)) < 0)
		return r;
	static struct msr_block b;
	memset(&b, 0, sizeof(b));
	b.hdr.nmsrs = s->n_msrs;
	memcpy(b.e, s->msrs, s->n_msrs * sizeof(s->msrs[0]));
	r = KVM_IOCTL(fd, KVM_SET_MSRS, &b);
	if (r < 0)
		return r;
	if ((unsigned)r != s->n_msrs) {
		log_error("KVM_SET_MSRS: wrote %d of %u MSRs (stopped at 0x%x)", r, s->n_msrs,
			  s->msrs[r].index);
		return -EIO;
	}
	return KVM_IOCTL(fd, KVM_SET_VCPU_EVENTS, &s->events);
}
