/* fw.h - what the parts of minnow-test (the test unikernel) share: the boot
 * information both entries produce, the console, the control device, the
 * interrupt plumbing and the test scenarios. */
#ifndef FW_H
#define FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_MAX_MEM  128 /* memory-map entries kept */
#define FW_MAX_CPUS 64	/* CPUs the smp scenario can count */

/* Exit statuses of the unikernel itself. */
#define FW_EXIT_OK	  0
#define FW_EXIT_FAIL	  1 /* the scenario's check failed */
#define FW_EXIT_USAGE	  2 /* bad command line or boot information */
#define FW_EXIT_EXCEPTION 3 /* an unexpected CPU exception */

struct fw_mem_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1 = RAM, as in e820 */
};

/* What the boot protocol told us, in one shape for both entries. */
struct fw_boot_info {
	const char *entry;   /* "pvh" or "bzimage" */
	const char *error;   /* NULL, or why the boot information is unusable */
	const char *cmdline; /* NUL-terminated, never NULL ("" for none) */
	struct fw_mem_entry mem[FW_MAX_MEM];
	unsigned n_mem;
	uint64_t initrd_addr; /* 0 / 0 when there is none */
	uint64_t initrd_size;
};

/* ---- boot.c: the C side of the two entries (called from entry.S) ---- */

/* PVH: `start_info` is the physical address of struct hvm_start_info. */
__attribute__((noreturn)) void pvh_main(uint32_t start_info);
/* Linux 64-bit boot protocol: `zero_page` is the struct boot_params. */
__attribute__((noreturn)) void linux_main(uint64_t zero_page);

/* ---- main.c ---- */

/* Common main: BOOT_DONE, console, exception handlers, then the scenario
 * named by test= on the command line. Never returns. */
__attribute__((noreturn)) void fw_main(const struct fw_boot_info *bi);

/* Copies the value of the first "key=value" word of `cmdline` into buf
 * (NUL-terminated, truncated to len - 1). Returns true when key was found. */
bool cmdline_value(const char *cmdline, const char *key, char *buf, size_t len);

/* Parses a decimal number (no sign, no junk, fits 64 bits). */
bool parse_u64(const char *s, uint64_t *out);

/* ---- console.c: output on the MMIO 16550 or, without minnow, COM1 ---- */

/* Selects the UART: MMIO at UART_MMIO_BASE (true) or port 0x3f8 (false). */
void console_init(bool mmio);
/* Reads / writes UART register `reg` (0..7) of the selected UART. */
uint8_t uart_read(unsigned reg);
void uart_write(unsigned reg, uint8_t v);
/* Writes one byte, waiting for THR empty (LSR bit 5) first. */
void console_putc(char c);
/* printf subset: %s %c %d %u %x %p, flags '0', width, length 'l'/'ll'. */
void fw_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- control.c: the minnow control device ---- */

/* Reads the MAGIC register; remembers and returns whether it matched. */
bool control_probe(void);
bool control_present(void);
/* Writes BOOT_DONE (no-op without the control device). */
void control_boot_done(void);
/* Writes MARK: the guest reached `mark` (CONTROL_MARK_*; no-op without the
 * control device). */
void control_mark(uint32_t mark);
/* Microseconds from an arbitrary origin, modulo 2^32: TIME_US of the
 * control device, else the TSC scaled by a rough frequency. Compare two
 * readings only by unsigned difference. */
uint32_t fw_time_us(void);
/* Busy-waits at least `us` microseconds. */
void fw_delay_us(uint32_t us);
/* Ends the VM with `status`: the EXIT register, or, without the control
 * device, a line on the console and a triple fault. */
__attribute__((noreturn)) void fw_exit(int status);
/* Loads an empty IDT and faults: shutdown (triple fault). */
__attribute__((noreturn)) void fw_triple_fault(void);

/* ---- irq.c: IDT, LAPIC, IOAPIC ---- */

typedef void (*irq_handler_fn)(unsigned vector);

/* Builds the IDT for vectors 0..nvec-1 (exceptions print and exit with
 * FW_EXIT_EXCEPTION; other vectors without a handler do too) and loads it. */
void idt_init(unsigned nvec);
/* Called first for CPU exceptions (vector < 32) with the faulting rip and
 * cs; returning true resumes at rip (the hook may also not return, e.g.
 * to leave user mode). NULL: exceptions print and exit. */
typedef bool (*exception_hook_fn)(unsigned vector, uint64_t error, uint64_t rip, uint64_t cs);
void irq_set_exception_hook(exception_hook_fn fn);
/* Routes `vector` (>= 32, < the nvec given to idt_init) to fn; the LAPIC
 * EOI is sent after fn returns. */
void irq_set_handler(unsigned vector, irq_handler_fn fn);

#define LAPIC_SPURIOUS_VECTOR 0xFF

uint32_t lapic_read(unsigned reg);
void lapic_write(unsigned reg, uint32_t v);
/* This CPU's APIC ID (xAPIC ID register bits 31:24). */
unsigned lapic_id(void);
/* Software-enables the local APIC (SVR) with LAPIC_SPURIOUS_VECTOR. */
void lapic_enable(void);
/* Sends an IPI (ICR high then low) and waits for delivery status idle. */
void lapic_send_ipi(uint32_t dest_apic_id, uint32_t icr_low);
/* Starts the LAPIC timer periodic on `vector` with initial count `count`
 * (divide by 16). */
void lapic_timer_periodic(unsigned vector, uint32_t count);
/* Waits `us` microseconds halted, woken by the LAPIC timer (periodic on
 * FW_SLEEP_VECTOR, ~20 ms, masked again on return). Builds the full IDT
 * first unless one covering FW_SLEEP_VECTOR is loaded, so handlers a
 * scenario set (other vectors) keep working meanwhile. */
#define FW_SLEEP_VECTOR 0x31
#define FW_SLEEP_COUNT	1250000 /* ~20 ms at KVM's 1 GHz APIC bus, divided by 16 */
void fw_sleep_us(uint32_t us);

/* Programs IOAPIC pin `pin` to deliver `vector` to APIC `dest` (fixed,
 * physical, active high), level- or edge-triggered, unmasked. */
void ioapic_route(unsigned pin, unsigned vector, bool level, unsigned dest);

/* ---- smp.c ---- */

/* The smp scenario; returns the exit status. */
int test_smp(const struct fw_boot_info *bi);
int test_smp_end(const struct fw_boot_info *bi);
/* C entry of an application processor, on its own stack (entry.S). */
__attribute__((noreturn)) void ap_main(void);

/* ---- tests.c: the other scenarios, each returning the exit status ---- */

int test_hello(const struct fw_boot_info *bi);
int test_bootinfo(const struct fw_boot_info *bi);
int test_console_echo(const struct fw_boot_info *bi);
int test_portio(const struct fw_boot_info *bi);
int test_mmio_wild(const struct fw_boot_info *bi);
int test_triple_fault(const struct fw_boot_info *bi);

/* ---- pvpanic.c: the pvpanic scenarios ---- */

int test_panic(const struct fw_boot_info *bi);
int test_pvpanic_probe(const struct fw_boot_info *bi);

/* ---- power_button.c: the Generic Event Device's power button ---- */

int test_power_button(const struct fw_boot_info *bi);

/* ---- vmgenid.c: the VM generation ID, read at its fixed address ---- */

int test_vmgenid_ticks(const struct fw_boot_info *bi);
int test_warm_hello(const struct fw_boot_info *bi);

/* ---- ends.c: scenarios that end the VM in each way (or never) ---- */

int test_idle(const struct fw_boot_info *bi);
int test_ticks(const struct fw_boot_info *bi);
int test_uart_flood(const struct fw_boot_info *bi);
int test_boot_hang(const struct fw_boot_info *bi);
int test_exec_mmio(const struct fw_boot_info *bi);
int test_mmio_crc32(const struct fw_boot_info *bi);
int test_acpi_reset(const struct fw_boot_info *bi);
int test_acpi_poweroff(const struct fw_boot_info *bi);

/* ---- lib.c: what the compiler may call ---- */

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
