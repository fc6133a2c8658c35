/* user.c - CPL3 for minnow-test: GDT with user segments and a TSS, user
 * bits in the identity page tables, the exception hook that ends user mode. */
#include "user.h"

#include "fw.h"
#include "io.h"

#define SEL_TSS	    0x30
#define KSTACK_SIZE 0x4000
#define PTE_USER    0x4ull
#define PAGE_2M	    0x200000ull
#define VEC_UD	    6
#define CR4_SMEP    (1ull << 20)
#define CR4_SMAP    (1ull << 21)

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "tss64");

extern uint64_t pml4[];
extern uint64_t user_result;
uint64_t user_enter(uint64_t (*fn)(void *), void *arg, uint64_t user_rsp);
__attribute__((noreturn)) void user_leave(uint64_t value);

static uint64_t gdt[8] __attribute__((section(".noinit"), aligned(16)));
static struct tss64 tss __attribute__((section(".noinit"), aligned(16)));
static uint8_t kstack[KSTACK_SIZE] __attribute__((section(".noinit"), aligned(16)));
static bool fault_seen;

/* Exceptions at CPL3 end user mode: #UD from the trampoline is the normal
 * way out, anything else is reported. */
static bool user_hook(unsigned vector, uint64_t error, uint64_t rip, uint64_t cs)
{
	if ((cs & 3) != 3)
		return false;
	if (vector != VEC_UD) {
		fw_printf("minnow-test: user mode exception vector=%u error=0x%lx rip=0x%lx "
			  "cr2=0x%lx\n",
			  vector, error, rip, read_cr2());
		fault_seen = true;
		user_leave(0);
	}
	user_leave(user_result);
}

void user_init(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;
	gdt[0] = 0;
	gdt[1] = 0x00CF9A000000FFFFull; /* 0x08: 32-bit code (as entry.S) */
	gdt[2] = 0x00AF9A000000FFFFull; /* 0x10: 64-bit code */
	gdt[3] = 0x00CF92000000FFFFull; /* 0x18: data */
	gdt[4] = 0x00CFF2000000FFFFull; /* 0x20: user data, DPL 3 */
	gdt[5] = 0x00AFFA000000FFFFull; /* 0x28: user 64-bit code, DPL 3 */
	gdt[6] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ull << 40 |
		 ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56; /* 0x30: TSS */
	gdt[7] = base >> 32;
	memset(&tss, 0, sizeof(tss));
	tss.rsp[0] = (uint64_t)(uintptr_t)(kstack + KSTACK_SIZE);
	tss.iomap_base = sizeof(tss);
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr = {sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt};
	__asm__ volatile("lgdt %0" : : "m"(gdtr) : "memory");
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS) : "memory");
	uint64_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	if (cr4 & (CR4_SMEP | CR4_SMAP))
		__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 & ~(CR4_SMEP | CR4_SMAP)));
	irq_set_exception_hook(user_hook);
}

void user_map(uint64_t start, uint64_t end)
{
	pml4[0] |= PTE_USER;
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xFFFull);
	for (uint64_t a = start & ~(PAGE_2M - 1); a < end; a += PAGE_2M) {
		unsigned gi = (unsigned)(a >> 30);
		pdpt[gi] |= PTE_USER;
		uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[gi] & ~0xFFFull);
		pd[(a >> 21) & 511] |= PTE_USER;
	}
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3) : : "memory");
}

uint64_t user_run(uint64_t (*fn)(void *), void *arg, uint64_t stack_top, bool *faulted)
{
	fault_seen = false;
	uint64_t r = user_enter(fn, arg, stack_top & ~0xFull);
	*faulted = fault_seen;
	return r;
}
