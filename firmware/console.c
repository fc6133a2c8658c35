/* console.c - output (and raw register access) on a 16550 UART: minnow's
 * MMIO UART, or the legacy COM1 port when the control device is absent. */
#include <stdarg.h>

#include "fw.h"
#include "io.h"
#include "platform.h"

#define COM1_PORT     0x3f8
#define UART_LSR      5
#define UART_LSR_THRE 0x20

static bool uart_mmio;

void console_init(bool mmio)
{
	uart_mmio = mmio;
}

uint8_t uart_read(unsigned reg)
{
	if (uart_mmio)
		return mmio_read8(UART_MMIO_BASE + reg);
	return inb((uint16_t)(COM1_PORT + reg));
}

void uart_write(unsigned reg, uint8_t v)
{
	if (uart_mmio)
		mmio_write8(UART_MMIO_BASE + reg, v);
	else
		outb((uint16_t)(COM1_PORT + reg), v);
}

void console_putc(char c)
{
	/* Bounded: a UART that never reports THR empty must not hang us. */
	for (unsigned i = 0; i < 100000; i++) {
		if (uart_read(UART_LSR) & UART_LSR_THRE)
			break;
	}
	uart_write(0, (uint8_t)c);
}

static void put_str(const char *s, int width, bool left)
{
	int len = (int)strlen(s);
	for (int i = len; !left && i < width; i++)
		console_putc(' ');
	while (*s)
		console_putc(*s++);
	for (int i = len; left && i < width; i++)
		console_putc(' ');
}

static void put_num(uint64_t v, unsigned base, bool neg, int width, bool zero)
{
	char buf[24];
	int n = 0;
	do {
		unsigned d = (unsigned)(v % base);
		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	int len = n + (neg ? 1 : 0);
	if (neg && zero)
		console_putc('-');
	for (int i = len; i < width; i++)
		console_putc(zero ? '0' : ' ');
	if (neg && !zero)
		console_putc('-');
	while (n)
		console_putc(buf[--n]);
}

void fw_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			console_putc(*p);
			continue;
		}
		p++;
		bool zero = false, left = false;
		for (; *p == '0' || *p == '-'; p++) {
			if (*p == '0')
				zero = true;
			else
				left = true;
		}
		int width = 0;
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');
		int lng = 0;
		while (*p == 'l') {
			lng++;
			p++;
		}
		switch (*p) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			put_str(s ? s : "(null)", width, left);
			break;
		}
		case 'c':
			console_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			put_num(mag, 10, v < 0, width, zero);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			put_num(v, *p == 'u' ? 10 : 16, false, width, zero);
			break;
		}
		case 'p':
			console_putc('0');
			console_putc('x');
			put_num((uint64_t)(uintptr_t)va_arg(ap, void *), 16, false, width, zero);
			break;
		case '%':
			console_putc('%');
			break;
		case '\0':
			p--;
			break;
		default:
			console_putc('%');
			console_putc(*p);
			break;
		}
	}
	va_end(ap);
}
