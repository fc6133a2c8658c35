/* cmdline.h - what minnow changes in the kernel command line it is given. */
#ifndef MINNOW_CMDLINE_H
#define MINNOW_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

/* Copies `in` to `out` (`size` bytes), turning every console=ttyS0 (with
 * or without ",OPTIONS") into console=uart8250,mmio,UART_BASE[,OPTIONS]:
 * Linux then prints from its first message through a polled early console
 * at the MMIO UART and hands over to ttyS0 once its 8250 driver has found
 * that UART in ACPI, instead of writing to the legacy COM1 port 0x3f8,
 * where nothing answers (lost messages, one port I/O exit per byte and per
 * status poll). The words that set the log level (quiet, debug,
 * loglevel=N) found after the first such console move, in their order, to
 * just before it: the early console prints the log so far when it starts,
 * at the level set by then, so a quiet boot then prints no early lines
 * (about 700 bytes, two exits each). Nothing is changed when the line
 * already decides: any earlycon, or a console=uart... of its own. Words
 * are split as Linux does (blanks outside double quotes); nothing after
 * "--" (init's arguments) is touched. Returns 0, or -ENOSPC when out is
 * too small. */
int cmdline_early_console(const char *in, char *out, size_t size, uint64_t uart_base);

#endif
