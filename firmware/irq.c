/* irq.c - the IDT and interrupt dispatch, plus the xAPIC (LAPIC) and IOAPIC
 * register programming the scenarios need. */
#include "fw.h"
#include "io.h"
#include "platform.h"

#define SEL_CODE64     0x10
#define GATE_INTERRUPT 0x8E /* present, DPL 0, 64-bit interrupt gate */
#define IDT_VECTORS    256
#define ISR_STUB_SIZE  16

#define LAPIC_ID	 0x20
#define LAPIC_EOI	 0xB0
#define LAPIC_SVR	 0xF0
#define LAPIC_ICR_LO	 0x300
#define LAPIC_ICR_HI	 0x310
#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV	 0x3E0
#define ICR_BUSY	 (1u << 12)

#define IOAPIC_REGSEL	   0x00
#define IOAPIC_WIN	   0x10
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t attr;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
};
_Static_assert(sizeof(struct idt_gate) == 16, "idt gate");

/* Saved by isr.S, lowest address first. */
struct isr_frame {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

void isr_dispatch(struct isr_frame *f);

static exception_hook_fn exception_hook;
static unsigned idt_vectors; /* loaded by idt_init() */
extern const char isr_stubs[];

/* Written before use, so kept out of .bss (zeroing is slow here). */
static struct idt_gate idt[IDT_VECTORS] __attribute__((section(".noinit"), aligned(16)));
static irq_handler_fn handlers[IDT_VECTORS] __attribute__((section(".noinit")));

void idt_init(unsigned nvec)
{
	if (nvec > IDT_VECTORS)
		nvec = IDT_VECTORS;
	for (unsigned v = 0; v < nvec; v++) {
		uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + v * ISR_STUB_SIZE);
		idt[v].off_lo = (uint16_t)a;
		idt[v].sel = SEL_CODE64;
		idt[v].ist = 0;
		idt[v].attr = GATE_INTERRUPT;
		idt[v].off_mid = (uint16_t)(a >> 16);
		idt[v].off_hi = (uint32_t)(a >> 32);
		idt[v].zero = 0;
		handlers[v] = 0;
	}
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = {(uint16_t)(nvec * sizeof(struct idt_gate) - 1), (uint64_t)(uintptr_t)idt};
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	idt_vectors = nvec;
}

void irq_set_handler(unsigned vector, irq_handler_fn fn)
{
	if (vector >= 32 && vector < IDT_VECTORS)
		handlers[vector] = fn;
}

void irq_set_exception_hook(exception_hook_fn fn)
{
	exception_hook = fn;
}

void isr_dispatch(struct isr_frame *f)
{
	unsigned v = (unsigned)f->vector;
	if (v == LAPIC_SPURIOUS_VECTOR)
		return; /* no EOI for spurious interrupts */
	if (v >= 32 && handlers[v]) {
		handlers[v](v);
		lapic_write(LAPIC_EOI, 0);
		return;
	}
	if (v < 32 && exception_hook && exception_hook(v, f->error, f->rip, f->cs))
		return;
	if (v < 32)
		fw_printf("minnow-test: exception vector=%u error=0x%lx rip=0x%lx cr2=0x%lx "
			  "rsp=0x%lx\n",
			  v, f->error, f->rip, read_cr2(), f->rsp);
	else
		fw_printf("minnow-test: unexpected interrupt vector=%u rip=0x%lx\n", v, f->rip);
	fw_exit(FW_EXIT_EXCEPTION);
}

uint32_t lapic_read(unsigned reg)
{
	return mmio_read32(LAPIC_MMIO_BASE + reg);
}

void lapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(LAPIC_MMIO_BASE + reg, v);
}

unsigned lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, 0x100 | LAPIC_SPURIOUS_VECTOR);
}

void lapic_send_ipi(uint32_t dest_apic_id, uint32_t icr_low)
{
	lapic_write(LAPIC_ICR_HI, dest_apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	for (unsigned i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		barrier();
}

void lapic_timer_periodic(unsigned vector, uint32_t count)
{
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, (1u << 17) | vector);
	lapic_write(LAPIC_TIMER_INIT, count);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(IOAPIC_MMIO_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_MMIO_BASE + IOAPIC_WIN, v);
}

void ioapic_route(unsigned pin, unsigned vector, bool level, unsigned dest)
{
	/* Destination first, then the low word that unmasks the pin. */
	ioapic_write(IOAPIC_REDTBL(pin) + 1, dest << 24);
	ioapic_write(IOAPIC_REDTBL(pin), vector | (level ? 1u << 15 : 0));
}

static void sleep_tick(unsigned vector)
{
	/* Only wakes the waiting loop so that it can look at the time. */
}

void fw_sleep_us(uint32_t us)
{
	if (idt_vectors <= FW_SLEEP_VECTOR)
		idt_init(IDT_VECTORS);
	irq_set_handler(FW_SLEEP_VECTOR, sleep_tick);
	lapic_enable();
	lapic_write(0x80, 0); /* TPR: accept every priority */
	lapic_timer_periodic(FW_SLEEP_VECTOR, FW_SLEEP_COUNT);
	uint32_t t0 = fw_time_us();
	while (fw_time_us() - t0 < us)
		cpu_wait_irq();
	lapic_write(LAPIC_LVT_TIMER, 1u << 16); /* mask the timer */
}
