/* vmgenid.h - the VM Generation ID (Microsoft's "Virtual Machine Generation
 * ID" specification; Linux's drivers/virt/vmgenid.c): 16 random bytes in
 * guest RAM at VMGENID_ADDR (platform.h) that change whenever the VM may
 * have been duplicated, here at every restore from a snapshot. The DSDT
 * describes it (\_SB.VGEN, _CID "VM_Gen_Counter", ADDR); a change is
 * signalled through the GED (GED_EVENT_VMGENID, Notify(VGEN, 0x80)), on
 * which Linux mixes the new ID into its random pool. Only with ACPI: without
 * it a guest cannot find the ID. The device has no registers: it is
 * memory the guest reads and minnow writes. */
#ifndef MINNOW_VMGENID_H
#define MINNOW_VMGENID_H

#include <stdint.h>

#include "ged.h"
#include "guest_mem.h"
#include "platform.h"

struct vmgenid {
	uint8_t id[VMGENID_SIZE]; /* the ID last written into guest RAM */
};

/* Fills `id` with a new random ID: getrandom(2) bytes, marked as a
 * version-4 (random) GUID in the layout a guest reads (Microsoft's mixed
 * endian: the version nibble is the high one of byte 7, the variant the
 * top two bits of byte 8), as QEMU stores it. 122 random bits. Returns 0,
 * or -errno from getrandom (the ID is then unchanged). */
int vmgenid_random(uint8_t id[VMGENID_SIZE]);

/* A new random ID (vmgenid_random) written at VMGENID_ADDR of `mem` and
 * kept in v->id. Returns 0; -EFAULT when VMGENID_ADDR is not guest RAM (v
 * and RAM unchanged); or getrandom's -errno. Main thread, while the vCPUs
 * do not run (the 16 bytes are not written atomically). */
int vmgenid_generate(struct vmgenid *v, const struct guest_mem *mem);

/* What a restore does: vmgenid_generate(), then ged_raise(g,
 * GED_EVENT_VMGENID) so that the guest's GED0._EVT notifies VGEN. `g`
 * NULL: no event (for tests). Returns vmgenid_generate()'s result; no
 * event on failure. Main thread, after the devices' saved state is back
 * (the IOAPIC's: the edge goes where the guest routed the GED's line). */
int vmgenid_restored(struct vmgenid *v, const struct guest_mem *mem, struct ged *g);

/* Writes `id` as 32 lower-case hex digits, bytes in memory order, and a
 * NUL into `out`. */
void vmgenid_hex(const uint8_t id[VMGENID_SIZE], char out[2 * VMGENID_SIZE + 1]);

#endif
