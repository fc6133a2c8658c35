/* test_cpuid.c - the CPUID table minnow gives vCPUs (vmm/x86/cpuid.c), read
 * from this host's KVM: skipped, and saying so, where /dev/kvm cannot be
 * opened. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpuid.h"

#define TSC_DEADLINE (1u << 24) /* leaf 0x1 ECX */

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *t, unsigned function)
{
	for (unsigned i = 0; i < t->nent; i++)
		if (t->entries[i].function == function)
			return &t->entries[i];
	return NULL;
}

Test(cpuid, tsc_deadline_timer_offered_when_kvm_has_it)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		cr_skip_test("/dev/kvm cannot be opened here");
	int cap = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER);
	struct kvm_cpuid2 *t = cpuid_supported(kvm);
	close(kvm);
	cr_assert_not_null(t, "KVM_GET_SUPPORTED_CPUID failed");
	const struct kvm_cpuid_entry2 *e = leaf(t, 0x1);
	cr_assert_not_null(e, "no leaf 0x1");
	cr_assert_eq((e->ecx & TSC_DEADLINE) != 0, cap > 0,
		     "leaf 0x1 ECX bit 24 is %d, KVM_CAP_TSC_DEADLINE_TIMER %d",
		     (e->ecx & TSC_DEADLINE) != 0, cap);
	/* cpuid_customize() keeps it, as it keeps what it does not trim. */
	cpuid_customize(t, 1, 2);
	cr_assert_eq((leaf(t, 0x1)->ecx & TSC_DEADLINE) != 0, cap > 0);
	free(t);
}
