/* user.S - the jump to CPL3 (iretq) and the jump back to the kernel context
 * user_enter() saved, used by user.c. */
#define USER_CS 0x2b /* GDT entry 5, RPL 3 */
#define USER_DS 0x23 /* GDT entry 4, RPL 3 */

	.section .text, "ax"
	.code64

/* uint64_t user_enter(fn %rdi, arg %rsi, user_rsp %rdx): saves the
 * callee-saved registers and the stack pointer, then iretq to
 * user_trampoline at CPL3 with interrupts off. Returns the value given to
 * user_leave(). */
	.globl user_enter
user_enter:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, user_kernel_rsp(%rip)
	movq %rdi, %r12
	movq %rsi, %rdi
	pushq $USER_DS
	pushq %rdx
	pushq $0x2              /* rflags: IF off, IOPL 0 */
	pushq $USER_CS
	leaq user_trampoline(%rip), %rax
	pushq %rax
	iretq

/* At CPL3: fn(arg), its result to user_result, then #UD to go back. */
user_trampoline:
	call *%r12
	movq %rax, user_result(%rip)
	ud2

/* void user_leave(uint64_t value) (noreturn, from the exception hook):
 * back to user_enter's caller with the kernel stack user_enter saved. */
	.globl user_leave
user_leave:
	movq user_kernel_rsp(%rip), %rsp
	movl $0x18, %eax        /* the exception left SS null, iretq DS/ES */
	movl %eax, %ss
	movl %eax, %ds
	movl %eax, %es
	movq %rdi, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.section .data, "aw"
	.balign 8
user_kernel_rsp:
	.quad 0
	.globl user_result
user_result:
	.quad 0

	.section .note.GNU-stack, "", @progbits
