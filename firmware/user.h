/* user.h - running a function at CPL3 (user mode) from minnow-test: a GDT
 * with user segments and a TSS, user-accessible page-table entries, entry
 * with iretq and the way back through a deliberate #UD. */
#ifndef FW_USER_H
#define FW_USER_H

#include <stdbool.h>
#include <stdint.h>

/* Loads a GDT with user code/data segments and a TSS whose RSP0 is a
 * dedicated kernel stack, and installs the exception hook that brings
 * user mode back. Call once. */
void user_init(void);

/* Makes [start, end) (rounded out to 2 MiB pages of the identity map)
 * user-accessible, and flushes the TLB. Addresses below 4 GiB. */
void user_map(uint64_t start, uint64_t end);

/* Runs fn(arg) at CPL3 on the stack ending at `stack_top` (16-byte
 * aligned). Returns when fn returns (the trampoline then executes ud2) or
 * when user mode takes any other exception, which is reported and makes
 * *faulted true. The code, data and MMIO fn touches must be user_map()ed. */
uint64_t user_run(uint64_t (*fn)(void *), void *arg, uint64_t stack_top, bool *faulted);

#endif
