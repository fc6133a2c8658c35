/* snapshot.h - saving a paused VM to a state file and a memory file, and
 * building a VM from them again.
 *
 * The state file (snapshot_file.h) holds each vCPU's KVM state, the KVM
 * clock, the IOAPIC, the UART, the ACPI sleep status and every virtio
 * transport's registers and queue positions, plus the layout they belong
 * to (vCPUs, RAM size, ACPI, the device in each slot) and the VM's
 * configuration (what `minnow restore STATE` starts from). The memory file,
 * the state file's path with ".mem" appended, is guest RAM byte for byte
 * (holes where RAM is zero). A restore maps it MAP_PRIVATE: pages are read
 * when the guest first touches them, and the file is never written, so
 * many VMs can be restored from one snapshot at once. Devices open their
 * host side from the configuration again: paths may differ, the layout
 * may not. */
#ifndef MINNOW_SNAPSHOT_H
#define MINNOW_SNAPSHOT_H

#include <stddef.h>

#include "snapshot_file.h"
#include "vm.h"

/* The memory file that goes with state file `state`: "STATE.mem". Returns
 * 0, or -1 when it does not fit `len`. */
int snapshot_mem_path(const char *state, char *out, size_t len);

/* Saves `vm`, whose vCPUs are all parked (vm_paused()), to `state` and its
 * memory file, both created anew (an existing file is refused, never
 * overwritten). Main thread. Returns 0, or -1 with a one-line reason. */
int snapshot_save(struct vm *vm, const char *state, char *why, size_t whylen);

/* The configuration saved in state file `path` (ini text, without control
 * socket, metrics file or restore), to be freed; NULL with a one-line
 * reason when the file is bad or holds none. */
char *snapshot_config(const char *path, char *why, size_t whylen);

/* Reads and checks state file `path` and that its layout is the one `cfg`
 * describes. Returns 0, or -1 with a one-line reason. */
int snapshot_open(struct snap_reader *r, const char *path, const struct vm_config *cfg, char *why,
		  size_t whylen);

/* Puts the saved state into `vm`, made from the same configuration with
 * its RAM mapped from the memory file and its vCPUs created but never
 * run. Returns 0, or -1 with a one-line reason. */
int snapshot_apply(struct vm *vm, const struct snap_reader *r, char *why, size_t whylen);

#endif
