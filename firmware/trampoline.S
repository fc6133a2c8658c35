/* trampoline.S - the real-mode start of an application processor. Copied to
 * AP_TRAMPOLINE_ADDR (the SIPI vector page) by smp.c: loads our GDT, enters
 * 32-bit protected mode and jumps to ap_start32 in the image. Code here must
 * be position-independent apart from AP_TRAMPOLINE_ADDR. */
#include "trampoline.h"

	.section .rodata.trampoline, "a"
	.code16
	.globl ap_trampoline_start
ap_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (tr_gdt_ptr - ap_trampoline_start)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $(AP_TRAMPOLINE_ADDR + (tr_pm32 - ap_trampoline_start))

	.code32
tr_pm32:
	movl $0x18, %eax
	movl %eax, %ds
	movl $ap_start32, %eax
	jmp *%eax

	.balign 8
tr_gdt_ptr:
	.word 0x1f                      /* four descriptors */
	.long gdt
	.globl ap_trampoline_end
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
