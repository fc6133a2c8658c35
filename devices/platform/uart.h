/* uart.h - a 16550A-compatible UART on MMIO (one byte per register, no port
 * I/O): output to a file descriptor, input fed by the VMM, interrupt on a
 * level-triggered IOAPIC line. */
#ifndef MINNOW_UART_H
#define MINNOW_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "irq.h"
#include "out_sink.h"

#define UART_FIFO_SIZE 16   /* the 16550A's FIFO depth (loopback capacity) */
#define UART_INPUT_BUF 4096 /* bytes of host input the UART holds for the guest */
#define UART_NUM_REGS  8    /* registers at offsets 0..7, one byte each */

/* Register offsets (reg-shift 0), named as in the 16550 datasheet (prefixed
 * so as not to clash with <linux/serial_reg.h>). */
enum uart_reg {
	UART_REG_RBR = 0, /* receiver buffer (read, DLAB=0) */
	UART_REG_THR = 0, /* transmitter holding (write, DLAB=0) */
	UART_REG_DLL = 0, /* divisor latch LSB (DLAB=1) */
	UART_REG_IER = 1, /* interrupt enable (DLAB=0) */
	UART_REG_DLM = 1, /* divisor latch MSB (DLAB=1) */
	UART_REG_IIR = 2, /* interrupt identification (read) */
	UART_REG_FCR = 2, /* FIFO control (write) */
	UART_REG_LCR = 3, /* line control */
	UART_REG_MCR = 4, /* modem control */
	UART_REG_LSR = 5, /* line status */
	UART_REG_MSR = 6, /* modem status */
	UART_REG_SCR = 7, /* scratch */
};

/* Register bits, with the datasheet's bit names (unique across registers). */
#define UART_ERBFI 0x01 /* IER: enable received data available interrupt */
#define UART_ETBEI 0x02 /* IER: enable THR empty interrupt */
#define UART_ELSI  0x04 /* IER: enable receiver line status interrupt */
#define UART_EDSSI 0x08 /* IER: enable modem status interrupt */

#define UART_IIR_NONE	 0x01 /* IIR id: no interrupt pending (bit 0 set) */
#define UART_IIR_RLS	 0x06 /* IIR id: receiver line status (highest) */
#define UART_IIR_RDA	 0x04 /* IIR id: received data available */
#define UART_IIR_THRE	 0x02 /* IIR id: THR empty */
#define UART_IIR_MS	 0x00 /* IIR id: modem status (lowest) */
#define UART_IIR_ID_MASK 0x0f
#define UART_IIR_FIFOS	 0xc0 /* IIR bits 6-7: FIFOs enabled */

#define UART_FIFOE	0x01 /* FCR: FIFO enable */
#define UART_RCVR_RESET 0x02 /* FCR: clear the receiver FIFO */
#define UART_XMIT_RESET 0x04 /* FCR: clear the transmitter FIFO */

#define UART_DLAB 0x80 /* LCR: divisor latch access bit */

#define UART_DTR  0x01 /* MCR: data terminal ready */
#define UART_RTS  0x02 /* MCR: request to send */
#define UART_OUT1 0x04 /* MCR: output 1 */
#define UART_OUT2 0x08 /* MCR: output 2, gates the interrupt line on a PC */
#define UART_LOOP 0x10 /* MCR: loopback mode */

#define UART_DR	  0x01 /* LSR: data ready */
#define UART_OE	  0x02 /* LSR: overrun error */
#define UART_PE	  0x04 /* LSR: parity error */
#define UART_FE	  0x08 /* LSR: framing error */
#define UART_BI	  0x10 /* LSR: break interrupt */
#define UART_THRE 0x20 /* LSR: THR empty */
#define UART_TEMT 0x40 /* LSR: transmitter empty */

#define UART_DCTS 0x01 /* MSR: delta CTS */
#define UART_DDSR 0x02 /* MSR: delta DSR */
#define UART_TERI 0x04 /* MSR: trailing edge of RI */
#define UART_DDCD 0x08 /* MSR: delta DCD */
#define UART_CTS  0x10 /* MSR: clear to send */
#define UART_DSR  0x20 /* MSR: data set ready */
#define UART_RI	  0x40 /* MSR: ring indicator */
#define UART_DCD  0x80 /* MSR: data carrier detect */

/* Device state. Everything below `lock` is private to uart.c and only
 * touched with `lock` held. */
struct uart {
	pthread_mutex_t lock;
	struct out_sink out; /* THR bytes go here, one batch per byte */
	int wake_fd;	     /* eventfd made by uart_init(), see uart_rx_space() */
	struct irq_sink irq;
	unsigned gsi;
	/* registers as the guest programmed them */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t msr;	      /* modem status: line bits 4-7 | delta bits 0-3 */
	uint8_t lsr_err;      /* sticky line-status error bits (OE), cleared by reading LSR */
	bool thr_irq_pending; /* THR-empty interrupt not yet acknowledged */
	bool irq_level;	      /* the level last passed to irq.set_level */
	bool input_blocked;   /* the feeder was told there is no room */
	/* input: bytes waiting to be read by the guest (ring) */
	uint8_t in[UART_INPUT_BUF];
	size_t in_head, in_len;
};

/* What a snapshot keeps of the UART: its registers and pending input. */
struct uart_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, msr, lsr_err, thr_irq_pending;
	uint8_t pad[6];
	uint64_t in_len;
	uint8_t in[UART_INPUT_BUF];
};

/* The UART's MMIO handlers; opaque is the struct uart. Register i sits at
 * offset i (0-7), one byte each. Accesses of other than 1 byte or beyond
 * register 7 read 0xff bytes / are ignored, and are logged rate-limited.
 * Nothing a guest does here can crash the VMM. */
extern const struct mmio_ops uart_mmio_ops;

/* Initialises `u`: output to out_fd (-1 for none; never closed here)
 * through an out_sink (u->out: a caller may set its on_gone), interrupts to irq/gsi
 * (irq may be NULL: no interrupts). irq->set_level() is called with the
 * UART's lock held, only when the line level changes (level = an interrupt
 * is pending && MCR.OUT2 && !loopback); it must not call back into the
 * UART. Returns 0 or -errno (eventfd or mutex creation). */
int uart_init(struct uart *u, int out_fd, const struct irq_sink *irq, unsigned gsi);

/* Copies the registers and unread input out (snapshot). Thread-safe. */
void uart_get_state(struct uart *u, struct uart_state *s);

/* Puts them back and sets the interrupt line accordingly (restore). */
void uart_set_state(struct uart *u, const struct uart_state *s);

/* Releases what a successful uart_init() made (closes wake_fd; out_fd is
 * left open). No MMIO access or feeder call may be in flight. */
void uart_fini(struct uart *u);

/* How many input bytes the UART can take now (0 while the guest has the
 * UART in loopback mode). Once it has returned 0, or uart_receive() took
 * less than offered, the UART writes 1 to wake_fd (an EFD_NONBLOCK eventfd;
 * the feeder reads it to reset it) when the guest has drained the buffer
 * (or cleared it, or left loopback with it empty). Thread-safe. */
size_t uart_rx_space(struct uart *u);

/* Queues up to `len` input bytes for the guest; returns how many were taken
 * (at most uart_rx_space()). Raises the receive interrupt when enabled.
 * Thread-safe. */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len);

#endif
