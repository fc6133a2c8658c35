/* x86_boot.h - the boot-time x86 state: GDT and identity page tables in guest
 * RAM, and the registers, MSRs and LAPIC wiring of each vCPU. */
#ifndef MINNOW_X86_BOOT_H
#define MINNOW_X86_BOOT_H

#include "guest_mem.h"
#include "loader.h"

/* Writes the boot GDT (null, code32, code64, data) at BOOT_GDT_ADDR and page
 * tables identity-mapping the low 4 GiB with 2 MiB pages at BOOT_PML4_ADDR.
 * Returns 0 or -EFAULT when guest RAM cannot hold them. */
int x86_write_boot_tables(const struct guest_mem *mem);

/* Puts the boot vCPU into the state `entry` asks for: long mode with paging
 * (BOOT_LONG64, rsi = entry->info) or flat 32-bit protected mode without
 * paging (BOOT_PVH32, ebx = entry->info). Returns 0 or -errno. */
int x86_setup_boot_vcpu(int vcpu_fd, const struct boot_entry *entry);

/* Sets the MSRs every vCPU starts with (MTRR default write-back, misc
 * enable, zeroed SYSENTER/syscall MSRs). Returns 0 or -errno. */
int x86_setup_msrs(int vcpu_fd);

/* Wires LAPIC LINT0 as ExtINT and LINT1 as NMI, as firmware would.
 * Returns 0 or -errno. */
int x86_setup_lapic(int vcpu_fd);

#endif
