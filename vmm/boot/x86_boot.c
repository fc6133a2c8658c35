/* x86_boot.c - GDT, page tables and the initial register state of vCPUs. */
#include "x86_boot.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>

#include "kvm.h"
#include "platform.h"

#define CR0_PE	 (1ULL << 0)
#define CR0_ET	 (1ULL << 4)
#define CR0_NE	 (1ULL << 5)
#define CR0_PG	 (1ULL << 31)
#define CR4_PAE	 (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define PTE_PRESENT (1ULL << 0)
#define PTE_WRITE   (1ULL << 1)
#define PTE_LARGE   (1ULL << 7)

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE_WB		((1ULL << 11) | 6)

#define APIC_LVT0	 0x350
#define APIC_LVT1	 0x360
#define APIC_MODE_EXTINT (7u << 8)
#define APIC_MODE_NMI	 (4u << 8)

/* GDT descriptor: flags in bits 52-55, access byte in 40-47. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

/* The boot GDT has four descriptors: null, code32, code64, data. */
#define BOOT_GDT_ENTRIES 4

int x86_write_boot_tables(const struct guest_mem *mem)
{
	uint64_t *gdt = guest_ptr(mem, BOOT_GDT_ADDR, BOOT_GDT_ENTRIES * 8);
	uint64_t *pml4 = guest_ptr(mem, BOOT_PML4_ADDR, 0x1000);
	uint64_t *pdpt = guest_ptr(mem, BOOT_PDPT_ADDR, 0x1000);
	uint64_t *pd = guest_ptr(mem, BOOT_PD_ADDR, BOOT_PD_SIZE);
	if (!gdt || !pml4 || !pdpt || !pd)
		return -EFAULT;
	gdt[0] = 0;
	gdt[BOOT_SEL_CODE32 / 8] = gdt_entry(0xc09b, 0, 0xfffff);
	gdt[BOOT_SEL_CODE64 / 8] = gdt_entry(0xa09b, 0, 0xfffff);
	gdt[BOOT_SEL_DATA / 8] = gdt_entry(0xc093, 0, 0xfffff);

	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 0x1000) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	return 0;
}

static struct kvm_segment segment(uint16_t selector, uint8_t type, int code64, int big)
{
	struct kvm_segment s = {
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = selector,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = (uint8_t)big,
	    .s = 1,
	    .l = (uint8_t)code64,
	    .g = 1,
	};
	return s;
}

int x86_setup_boot_vcpu(int vcpu_fd, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	int r = KVM_IOCTL(vcpu_fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return r;
	int long64 = entry->mode == BOOT_LONG64;
	struct kvm_segment code =
	    long64 ? segment(BOOT_SEL_CODE64, 0xb, 1, 0) : segment(BOOT_SEL_CODE32, 0xb, 0, 1);
	struct kvm_segment data = segment(BOOT_SEL_DATA, 0x3, 0, 1);
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = BOOT_GDT_SIZE - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (long64) {
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 |= CR4_PAE;
		sregs.cr0 |= CR0_PG;
		sregs.efer |= EFER_LME | EFER_LMA;
	}
	r = KVM_IOCTL(vcpu_fd, KVM_SET_SREGS, &sregs);
	if (r < 0)
		return r;

	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry->rip;
	if (long64)
		regs.rsi = entry->info;
	else
		regs.rbx = entry->info;
	return KVM_IOCTL(vcpu_fd, KVM_SET_REGS, &regs);
}

int x86_setup_msrs(int vcpu_fd)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_LSTAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING},
	    {MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB},
	};
	enum { N = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[N];
	} msrs;
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = N;
	for (int i = 0; i < N; i++) {
		msrs.entries[i].index = boot_msrs[i].index;
		msrs.entries[i].data = boot_msrs[i].value;
	}
	int r = KVM_IOCTL(vcpu_fd, KVM_SET_MSRS, &msrs);
	if (r < 0)
		return r;
	return r == N ? 0 : -EINVAL;
}

int x86_setup_lapic(int vcpu_fd)
{
	struct kvm_lapic_state lapic;
	int r = KVM_IOCTL(vcpu_fd, KVM_GET_LAPIC, &lapic);
	if (r < 0)
		return r;
	uint32_t *lvt0 = (uint32_t *)&lapic.regs[APIC_LVT0];
	uint32_t *lvt1 = (uint32_t *)&lapic.regs[APIC_LVT1];
	*lvt0 = (*lvt0 & ~0x700u) | APIC_MODE_EXTINT;
	*lvt1 = (*lvt1 & ~0x700u) | APIC_MODE_NMI;
	return KVM_IOCTL(vcpu_fd, KVM_SET_LAPIC, &lapic);
}
