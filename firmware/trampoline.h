/* trampoline.h - where the AP real-mode trampoline runs: below 1 MiB, page
 * aligned (the SIPI vector is the page number), clear of the boot structures
 * at 0x1000-0x2FFFF that are read after the APs start. */
#ifndef FW_TRAMPOLINE_H
#define FW_TRAMPOLINE_H

#define AP_TRAMPOLINE_ADDR 0x70000
#define AP_SIPI_VECTOR	   (AP_TRAMPOLINE_ADDR >> 12)

#ifndef __ASSEMBLER__
extern const char ap_trampoline_start[], ap_trampoline_end[];
#endif

#endif
