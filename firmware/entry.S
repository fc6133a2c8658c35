/* entry.S - the two ways into minnow-test and the way into long mode: the PVH
 * 32-bit entry at image offset 0, the Linux 64-bit entry at offset 0x200, the
 * application-processor path, the PVH ELF note, our GDT and identity page
 * tables for the low 4 GiB (2 MiB pages, the top GiB uncached). */
#include "platform.h"

#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA 0x18
#define BOOT_STACK_SIZE 0x4000
#define AP_STACK_SIZE 0x1000
#define AP_STACKS 64          /* FW_MAX_CPUS */
#define MSR_EFER 0xC0000080
#define EFER_LME 0x100
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20

/* From 32-bit protected mode with flat segments: PAE, our page tables,
 * EFER.LME, paging on, then a far jump to 64-bit code at `target`. */
.macro ENTER_LONG_MODE target
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $\target
.endm

.macro LOAD_DATA_SEGMENTS
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
.endm

/* ---- offset 0 (output section .text32): PVH entry (32-bit, paging
 * off, %ebx = hvm_start_info) ---- */
	.section .text.entry32, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, %esi
	lgdt gdt_ptr
	ljmp $SEL_CODE32, $1f
1:	LOAD_DATA_SEGMENTS
	ENTER_LONG_MODE pvh_start64

/* ---- application processors: from the real-mode trampoline in 32-bit
 * protected mode with our GDT loaded ---- */
	.globl ap_start32
ap_start32:
	LOAD_DATA_SEGMENTS
	ENTER_LONG_MODE ap_start64

/* ---- offset 0x1C0 (link.ld): kernel_info (protocol 2.15, "LToP") ---- */
	.section .rodata.kernel_info, "a"
	.globl kernel_info
kernel_info:
	.ascii "LToP"
	.long 16        /* size of this header */
	.long 16        /* total size incl. variable data (none) */
	.long 0         /* setup_type_max: no setup_data types understood */

/* ---- offset 0x200 (link.ld): Linux 64-bit entry (long mode, %rsi =
 * zero page) ---- */
	.section .text.entry64, "ax"
	.code64
	.globl startup_64
startup_64:
	cli
	cld
	leaq boot_stack_top(%rip), %rsp
	lgdt gdt_ptr(%rip)
	movl $pml4, %eax
	movq %rax, %cr3
	pushq $SEL_CODE64
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	LOAD_DATA_SEGMENTS
	movq %rsi, %rbx
	call zero_bss
	movq %rbx, %rdi
	call linux_main
	jmp halt

pvh_start64:
	LOAD_DATA_SEGMENTS
	leaq boot_stack_top(%rip), %rsp
	movl %esi, %ebx         /* zero-extends: the upper halves are undefined */
	call zero_bss
	movl %ebx, %edi
	call pvh_main
	jmp halt

/* Zeroes [_bss_start, _bss_end) (16-byte aligned). Clobbers rax, rcx, rdi. */
zero_bss:
	leaq _bss_start(%rip), %rdi
	leaq _bss_end(%rip), %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq
	ret

ap_start64:
	LOAD_DATA_SEGMENTS
	movl $1, %eax
	lock xaddl %eax, ap_next_stack(%rip)
	cmpl $AP_STACKS, %eax
	jae halt
	incl %eax
	shll $12, %eax          /* AP_STACK_SIZE */
	leaq ap_stacks(%rip), %rsp
	addq %rax, %rsp
	call ap_main
halt:
	cli
	hlt
	jmp halt

/* ---- Xen PVH note: XEN_ELFNOTE_PHYS32_ENTRY = 18 ---- */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                 /* namesz: "Xen\0" */
	.long 4                 /* descsz */
	.long 18                /* type */
	.asciz "Xen"
	.long pvh_start32
	.section .notepad, "a", @progbits
	.quad 0                 /* see link.ld */

/* ---- GDT (same layout as minnow's boot GDT) and page tables ---- */
	.section .data, "aw"
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF        /* 0x08: 32-bit code */
	.quad 0x00AF9A000000FFFF        /* 0x10: 64-bit code */
	.quad 0x00CF92000000FFFF        /* 0x18: data */
gdt_end:
	.balign 8
	.word 0
gdt_ptr:                            /* lgdt reads 6 bytes in 32-bit mode, 10 in 64 */
	.word gdt_end - gdt - 1
	.quad gdt

	.balign 4
ap_next_stack:
	.long 0

	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + 0x3
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x3
	.quad pd + 0x1000 + 0x3
	.quad pd + 0x2000 + 0x3
	.quad pd + 0x3000 + 0x3
	.fill 508, 8, 0
pd:
	.set addr, 0
	.rept 1536
	.quad addr + 0x83               /* present, writable, 2 MiB */
	.set addr, addr + 0x200000
	.endr
	.rept 512
	.quad addr + 0x9B               /* ... + PWT + PCD: the MMIO gap */
	.set addr, addr + 0x200000
	.endr

	.section .noinit, "aw", @nobits
	.balign 4096
boot_stack:
	.skip BOOT_STACK_SIZE
boot_stack_top:
	.globl ap_stacks
ap_stacks:                          /* AP n uses [ap_stacks + n*4K, +4K) */
	.skip AP_STACK_SIZE * (AP_STACKS + 1)

	.section .note.GNU-stack, "", @progbits
