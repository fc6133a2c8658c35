/* vm_devices.c - creating, describing and destroying the VM's devices. */
#include "vm_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acpi.h"
#include "log.h"
#include "mptable.h"
#include "platform.h"
#include "timing.h"
#include "virtio_type.h"
#include "vm.h"

static void control_boot_done(void *opaque)
{
	(void)opaque;
	timing_mark(T_BOOT_COMPLETE);
}

static void control_exit(void *opaque, int status)
{
	vm_end(opaque, END_GUEST_EXIT, status);
}

static void pm_poweroff(void *opaque)
{
	vm_end(opaque, END_POWEROFF, EXIT_OK);
}

static void pm_reset(void *opaque)
{
	vm_end(opaque, END_RESET, EXIT_GUEST_RESET);
}

static void guest_panicked(void *opaque)
{
	vm_end(opaque, END_CRASH, EXIT_GUEST_CRASH);
}

static int add_range(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		     void *opaque, const char *name)
{
	int r = bus_register(&vm->bus, base, size, ops, opaque, name);
	if (r < 0)
		log_error("bus: cannot place %s at 0x%llx: %s", name, (unsigned long long)base,
			  strerror(-r));
	return r;
}

/* Sets up the platform devices' state (before any is on the bus). */
static int init_platform(struct vm *vm)
{
	int r = ioapic_init(&vm->ioapic, vm->vm_fd);
	if (r < 0)
		return r;
	struct irq_sink sink = ioapic_irq_sink(&vm->ioapic);
	r = uart_init(&vm->uart, vm->console_fd, &sink, UART_GSI);
	if (r < 0)
		return r;
	vm->uart.out.on_gone = vm_console_gone;
	vm->uart.out.opaque = vm;
	vm->uart_ready = true;
	struct control_hooks control = {control_boot_done, control_exit, vm};
	control_init(&vm->control, &control);
	struct acpi_pm_hooks pm = {pm_poweroff, pm_reset, vm};
	acpi_pm_init(&vm->pm, &pm);
	struct pvpanic_hooks panic = {guest_panicked, vm};
	pvpanic_init(&vm->pvpanic, &panic);
	ged_init(&vm->ged, &sink, GED_GSI);
	return 0;
}

/* A platform device: where it sits, its handlers, its state in struct vm,
 * and whether the config wants it (NULL: always). */
struct platform_device {
	const char *name;
	uint64_t base, size;
	const struct mmio_ops *ops;
	size_t state; /* offsetof(struct vm, ...) */
	bool (*wanted)(const struct vm_config *cfg);
};

static bool pvpanic_wanted(const struct vm_config *cfg)
{
	return cfg->pvpanic;
}

/* Only the DSDT describes the GED (and its power button). */
static bool ged_wanted(const struct vm_config *cfg)
{
	return cfg->acpi;
}

static const struct platform_device platform_devices[] = {
    {"ioapic", IOAPIC_MMIO_BASE, IOAPIC_MMIO_SIZE, &ioapic_mmio_ops, offsetof(struct vm, ioapic),
     NULL},
    {"uart", UART_MMIO_BASE, UART_MMIO_SIZE, &uart_mmio_ops, offsetof(struct vm, uart), NULL},
    {"control", CONTROL_MMIO_BASE, CONTROL_MMIO_SIZE, &control_mmio_ops,
     offsetof(struct vm, control), NULL},
    {"acpi-pm", ACPI_MMIO_BASE, ACPI_MMIO_SIZE, &acpi_pm_mmio_ops, offsetof(struct vm, pm), NULL},
    {"pvpanic", PVPANIC_MMIO_BASE, PVPANIC_MMIO_SIZE, &pvpanic_mmio_ops,
     offsetof(struct vm, pvpanic), pvpanic_wanted},
    {"ged", GED_MMIO_BASE, GED_MMIO_SIZE, &ged_mmio_ops, offsetof(struct vm, ged), ged_wanted},
};

static int create_platform(struct vm *vm)
{
	int r = init_platform(vm);
	for (size_t i = 0; r == 0 && i < sizeof(platform_devices) / sizeof(platform_devices[0]);
	     i++) {
		const struct platform_device *d = &platform_devices[i];
		if (!d->wanted || d->wanted(vm->cfg))
			r = add_range(vm, d->base, d->size, d->ops, (char *)vm + d->state, d->name);
	}
	return r;
}

/* Puts device `dev` of `type` in the next virtio slot. */
static int add_virtio(struct vm *vm, const struct virtio_type *type, void *dev)
{
	if (vm->n_virtio == VIRTIO_MMIO_SLOTS) {
		log_error("too many virtio devices (at most %d)", VIRTIO_MMIO_SLOTS);
		if (type->destroy)
			type->destroy(dev);
		return -ENOSPC;
	}
	unsigned slot = vm->n_virtio;
	struct vm_virtio *v = &vm->virtio[slot];
	v->dev = dev;
	v->type = type;
	v->destroy = type->destroy;
	int r = virtio_mmio_create(&v->t, type->ops, dev, &vm->mem, vm->vm_fd, &vm->loop,
				   &vm->ioapic, slot);
	if (r < 0) {
		log_error("%s: virtio-mmio slot %u: %s", type->name, slot, strerror(-r));
		if (type->destroy)
			type->destroy(dev);
		v->dev = NULL;
		return r;
	}
	vm->n_virtio++;
	return add_range(vm, v->t.base, VIRTIO_MMIO_STRIDE, &virtio_mmio_ops, &v->t, type->name);
}

/* A backend the config names could not be set up: say what and where. */
static int backend_failed(const char *what, const struct config_origin *at, const char *err)
{
	if (at && at->file)
		log_error("%s:%d: [%s] %s", at->file, at->line, what, err);
	else
		log_error("[%s] %s", what, err);
	return EXIT_CONFIG;
}

/* The virtio device types, in slot order: then config order within a type. */
static const struct virtio_type *const virtio_types[] = {
    &virtio_blk_type, &virtio_net_type,	  &virtio_console_type,
    &virtio_rng_type, &virtio_vsock_type, &virtio_fs_type,
};

/* The fd virtio-console reads: none while stdin feeds the UART or the
 * console is a socket (which it reads itself); else stdin, or for a
 * terminal a pipe the main loop feeds (vm.h vcon_feed_fd), so that its
 * escape works on this console too. Returns the fd, or -2 with errno set. */
static int console_input(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	if (!cfg->vconsole || cfg->console_input || cfg->vconsole_output == CONSOLE_SOCKET)
		return -1;
	if (!isatty(STDIN_FILENO))
		return STDIN_FILENO;
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -2;
	vm->vcon_in_fd = p[0];
	vm->vcon_feed_fd = p[1];
	return p[0];
}

static int create_virtio(struct vm *vm)
{
	struct device_env env = {
	    .cfg = vm->cfg, .loop = &vm->loop, .console_gone = vm_console_gone, .opaque = vm};
	env.console_in_fd = console_input(vm);
	if (env.console_in_fd == -2) {
		log_error("virtio-console input: pipe: %s", strerror(errno));
		return EXIT_HOST_FAILURE;
	}
	for (size_t k = 0; k < sizeof(virtio_types) / sizeof(virtio_types[0]); k++) {
		const struct virtio_type *type = virtio_types[k];
		for (size_t i = 0; i < type->count(vm->cfg); i++) {
			struct device_error e = {.at = NULL};
			void *dev = type->create(&env, i, &e);
			if (!dev) {
				int status = backend_failed(e.section, e.at, e.msg);
				return e.host_failure ? EXIT_HOST_FAILURE : status;
			}
			if (add_virtio(vm, type, dev) < 0)
				return EXIT_HOST_FAILURE;
		}
	}
	return 0;
}

int vm_devices_create(struct vm *vm)
{
	int r = event_loop_init(&vm->loop);
	if (r < 0) {
		log_error("device event loop: %s", strerror(-r));
		return EXIT_HOST_FAILURE;
	}
	vm->loop_ready = true;
	if (create_platform(vm) < 0)
		return EXIT_HOST_FAILURE;
	return create_virtio(vm);
}

int vm_devices_cmdline(const struct vm *vm, char *cmdline, size_t size)
{
	size_t len = strlen(cmdline);
	for (unsigned slot = 0; slot < vm->n_virtio; slot++) {
		if (len >= size)
			return -ENOSPC;
		int n = virtio_mmio_cmdline(slot, cmdline + len, size - len);
		if (n < 0)
			return n;
		len += (size_t)n;
	}
	return 0;
}

int vm_devices_tables(struct vm *vm)
{
	struct acpi_config ac;
	memset(&ac, 0, sizeof(ac));
	ac.n_vcpus = vm->cfg->vcpus;
	ac.uart = true;
	ac.pvpanic = vm->cfg->pvpanic;
	ac.ged = true; /* with ACPI: on the bus whenever the tables are built */
	ac.vmgenid = true;
	for (unsigned slot = 0; slot < vm->n_virtio; slot++) {
		ac.virtio[slot].base = virtio_mmio_slot_base(slot);
		ac.virtio[slot].gsi = virtio_mmio_slot_gsi(slot);
	}
	ac.n_virtio = vm->n_virtio;
	int r;
	vm->rsdp = 0;
	if (vm->cfg->acpi)
		r = acpi_build(&vm->mem, &ac, &vm->rsdp);
	else
		r = mptable_build(&vm->mem, &ac);
	if (r < 0) {
		log_error("%s: %s", vm->cfg->acpi ? "ACPI tables" : "MP table", strerror(-r));
		return r;
	}
	if (vm->cfg->acpi && (r = vmgenid_generate(&vm->vmgenid, &vm->mem)) < 0)
		log_error("VM generation ID: %s", strerror(-r));
	return r;
}

int vm_devices_restored(struct vm *vm, char *why, size_t whylen)
{
	if (!vm->cfg->acpi)
		return 0; /* no DSDT: the guest cannot know of an ID */
	int r = vmgenid_restored(&vm->vmgenid, &vm->mem, &vm->ged);
	if (r < 0) {
		snprintf(why, whylen, "a new VM generation ID: %s", strerror(-r));
		return -1;
	}
	char hex[2 * VMGENID_SIZE + 1];
	vmgenid_hex(vm->vmgenid.id, hex);
	log_debug("restored: VM generation ID %s", hex);
	return 0;
}

int vm_devices_start(struct vm *vm)
{
	for (unsigned slot = 0; slot < vm->n_virtio; slot++) {
		struct vm_virtio *v = &vm->virtio[slot];
		char err[PATH_MAX + 200];
		if (v->type->start && v->type->start(v->dev, err, sizeof(err)) < 0) {
			log_error("%s (virtio-mmio slot %u): %s", v->type->name, slot, err);
			return -1;
		}
	}
	return 0;
}

void vm_devices_destroy(struct vm *vm)
{
	/* No device callback may run while backends go away. */
	if (vm->loop_ready)
		event_loop_stop(&vm->loop);
	for (unsigned slot = vm->n_virtio; slot-- > 0;) {
		struct vm_virtio *v = &vm->virtio[slot];
		virtio_mmio_destroy(&v->t);
		if (v->destroy)
			v->destroy(v->dev);
		v->dev = NULL;
	}
	vm->n_virtio = 0;
	if (vm->loop_ready) {
		event_loop_fini(&vm->loop);
		vm->loop_ready = false;
	}
	if (vm->uart_ready) {
		uart_fini(&vm->uart);
		vm->uart_ready = false;
	}
}
