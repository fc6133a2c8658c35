/* cpuid.c - CPUID filtering and topology for vCPUs. */
#include "cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm.h"
#include "log.h"

#define CPUID_MAX_ENTRIES 256

/* Leaf 0x1 ECX / EDX bits. */
#define F1_ECX_MONITOR	    (1u << 3)
#define F1_ECX_DSCPL	    (1u << 4)
#define F1_ECX_VMX	    (1u << 5)
#define F1_ECX_SMX	    (1u << 6)
#define F1_ECX_EST	    (1u << 7)
#define F1_ECX_TM2	    (1u << 8)
#define F1_ECX_PDCM	    (1u << 15)
#define F1_ECX_TSC_DEADLINE (1u << 24)
#define F1_ECX_HYPERVISOR   (1u << 31)
#define F1_EDX_HTT	    (1u << 28)
#define F1_EDX_ACPI	    (1u << 22)
#define F1_EDX_TM	    (1u << 29)
#define F1_EDX_PBE	    (1u << 31)
#define F81_ECX_SVM	    (1u << 2)

struct kvm_cpuid2 *cpuid_supported(int kvm_fd)
{
	size_t bytes =
	    sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *t = calloc(1, bytes);
	if (!t)
		return NULL;
	t->nent = CPUID_MAX_ENTRIES;
	if (KVM_IOCTL(kvm_fd, KVM_GET_SUPPORTED_CPUID, t) < 0) {
		free(t);
		return NULL;
	}
	/* KVM emulates the TSC-deadline timer but leaves its bit for the VMM
	 * to set: without it the guest programs the LAPIC timer in one-shot
	 * mode and calibrates it at boot. */
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
		for (unsigned i = 0; i < t->nent; i++)
			if (t->entries[i].function == 0x1)
				t->entries[i].ecx |= F1_ECX_TSC_DEADLINE;
	}
	return t;
}

struct kvm_cpuid2 *cpuid_copy(const struct kvm_cpuid2 *table)
{
	size_t bytes = sizeof(*table) + table->nent * sizeof(table->entries[0]);
	struct kvm_cpuid2 *t = malloc(bytes);
	if (t)
		memcpy(t, table, bytes);
	return t;
}

/* Smallest s such that (1 << s) >= n. */
static unsigned order_base2(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

static void topology_leaf(struct kvm_cpuid_entry2 *e, unsigned apic_id, unsigned count)
{
	/* Level 0: SMT, one thread per core. Level 1: cores in the package. */
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1u << 8) | 0;
		break;
	case 1:
		e->eax = order_base2(count);
		e->ebx = count;
		e->ecx = (2u << 8) | 1;
		break;
	default:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index & 0xff;
		break;
	}
	e->edx = apic_id;
}

void cpuid_customize(struct kvm_cpuid2 *table, unsigned index, unsigned count)
{
	unsigned apic_id = index;
	for (unsigned i = 0; i < table->nent; i++) {
		struct kvm_cpuid_entry2 *e = &table->entries[i];
		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0x0000ffffu) | (apic_id << 24) | ((count & 0xff) << 16);
			e->ecx &= ~(F1_ECX_MONITOR | F1_ECX_DSCPL | F1_ECX_VMX | F1_ECX_SMX |
				    F1_ECX_EST | F1_ECX_TM2 | F1_ECX_PDCM);
			e->ecx |= F1_ECX_HYPERVISOR;
			e->edx &= ~(F1_EDX_ACPI | F1_EDX_TM | F1_EDX_PBE);
			if (count > 1)
				e->edx |= F1_EDX_HTT;
			else
				e->edx &= ~F1_EDX_HTT;
			break;
		case 0x4:
			/* Cache leaf: cores per package, and who shares each level. */
			if (e->eax & 0x1f) {
				unsigned level = (e->eax >> 5) & 7;
				unsigned sharing = level >= 3 ? count - 1 : 0;
				e->eax = (e->eax & 0x3fff) | ((count - 1) << 26) | (sharing << 14);
			}
			break;
		case 0x5: /* monitor/mwait */
		case 0x6: /* thermal and power */
		case 0xa: /* architectural performance monitoring */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			topology_leaf(e, apic_id, count);
			break;
		case 0x80000001:
			e->ecx &= ~F81_ECX_SVM;
			break;
		case 0x80000008:
			/* AMD: number of cores - 1, APIC ID size from the core count. */
			e->ecx = (e->ecx & ~0xf0ffu) | (order_base2(count) << 12) | (count - 1);
			break;
		case 0x8000001e:
			e->eax = apic_id;
			e->ebx = apic_id & 0xff; /* core id, one thread per core */
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
}
