/* vm_devices.h - the VM's device set: platform devices (IOAPIC, UART,
 * control, ACPI power management, pvpanic, GED, the VM generation ID), the
 * virtio-mmio slots built from the config, and the firmware tables (ACPI
 * or MP table) that describe them. */
#ifndef MINNOW_VM_DEVICES_H
#define MINNOW_VM_DEVICES_H

#include <stddef.h>

struct vm;

/* Creates every device from two tables in vm_devices.c (platform devices:
 * IOAPIC, UART, control, ACPI PM, pvpanic, GED; virtio types: drives, nets,
 * vconsole, rng, vsock, fs, each in config order, one slot each) and registers
 * each on the bus. Returns 0, or an exit status
 * (EXIT_CONFIG when a backend named by the config cannot be used: a
 * missing or locked image, a busy TAP; else EXIT_HOST_FAILURE) after
 * logging one line. */
int vm_devices_create(struct vm *vm);

/* Appends " virtio_mmio.device=..." for each virtio slot to `cmdline` (of
 * `size` bytes, NUL-terminated). Returns 0 or -ENOSPC. */
int vm_devices_cmdline(const struct vm *vm, char *cmdline, size_t size);

/* Writes the ACPI tables (cfg->acpi) or the MP table into guest RAM and
 * sets vm->rsdp (0 without ACPI); with ACPI also the first VM generation
 * ID. Returns 0 or -errno (logged). */
int vm_devices_tables(struct vm *vm);

/* What the devices do once a snapshot's state is back in `vm` (the end of
 * snapshot_apply()): with ACPI, a new VM generation ID, announced through
 * the GED, so that each VM restored from one snapshot is distinct. Main
 * thread, before the vCPUs run. Returns 0, or -1 with a one-line reason. */
int vm_devices_restored(struct vm *vm, char *why, size_t whylen);

/* Starts the threads of the devices that have their own (virtio_type
 * start: each drive's I/O thread), each installing its seccomp filter.
 * Main thread, after seccomp_prepare() and before the vCPUs start.
 * Returns 0, or -1 after logging one line. */
int vm_devices_start(struct vm *vm);

/* Destroys the virtio slots and their backends, in reverse order. Call
 * after the vCPUs have stopped, before the VM fd is closed. */
void vm_devices_destroy(struct vm *vm);

#endif
