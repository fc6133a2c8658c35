/* vm.h - one microVM: KVM VM, guest RAM, interrupt controller, devices and
 * vCPU threads, from creation to teardown, and how it ends. */
#ifndef MINNOW_VM_H
#define MINNOW_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "acpi_pm.h"
#include "bus.h"
#include "coalesced_mmio.h"
#include "config.h"
#include "control.h"
#include "event_loop.h"
#include "ged.h"
#include "guest_mem.h"
#include "ioapic.h"
#include "loader.h"
#include "pvpanic.h"
#include "uart.h"
#include "virtio_mmio.h"
#include "vmgenid.h"

/* minnow's exit statuses. A guest's own status (control device EXIT, 0-255)
 * passes through unchanged, so these can collide with what a guest chooses;
 * --timings=json reports exit_reason to tell them apart. */
#define EXIT_OK		  0   /* guest powered off or exited with 0 */
#define EXIT_HOST_FAILURE 1   /* minnow could not start or keep running the VM */
#define EXIT_CONFIG	  2   /* bad command line, config file or kernel image */
#define EXIT_GUEST_RESET  120 /* guest asked for a reset / reboot */
#define EXIT_TRIPLE_FAULT 121 /* KVM_EXIT_SHUTDOWN: triple fault */
#define EXIT_EMULATION	  122 /* KVM_EXIT_INTERNAL_ERROR: instruction could not run */
#define EXIT_FAIL_ENTRY	  123 /* KVM_EXIT_FAIL_ENTRY: invalid vCPU state */
#define EXIT_BOOT_TIMEOUT 124 /* no "boot complete" within [vm] boot_timeout */
#define EXIT_TIMEOUT	  124 /* minnow exec --timeout ran out (as timeout(1)) */
#define EXIT_GUEST_CRASH  126 /* guest reported a crash: pvpanic, KVM_SYSTEM_EVENT_CRASH */
#define EXIT_SIGNAL_BASE  128 /* + signal number: SIGINT, SIGTERM, SIGHUP */

/* Why the VM ended; each has a stable name for JSON output. */
enum vm_end_reason {
	END_NONE,
	END_GUEST_EXIT, /* control device EXIT */
	END_POWEROFF,	/* ACPI sleep / KVM_SYSTEM_EVENT_SHUTDOWN */
	END_RESET,
	END_TRIPLE_FAULT,
	END_EMULATION,
	END_FAIL_ENTRY,
	END_BOOT_TIMEOUT,
	END_CRASH, /* pvpanic PANICKED / KVM_SYSTEM_EVENT_CRASH */
	END_SIGNAL,
	END_HOST_ERROR,
	END_TIMEOUT, /* minnow exec --timeout */
	END_STOPPED, /* the control socket's "stop" */
};

struct vcpu;
struct virtio_type;

/* A virtio-mmio slot and the device model behind it. */
struct vm_virtio {
	struct virtio_mmio t;
	const struct virtio_type *type;
	void *dev;
	void (*destroy)(void *dev); /* frees dev (virtio_type.h) */
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	int run_size; /* bytes of each vCPU's kvm_run mapping */
	struct guest_mem mem;
	struct bus bus;
	struct ioapic ioapic;
	struct uart uart;
	bool uart_ready;
	struct coalesced_mmio coalesced; /* the UART's THR writes, when KVM can */
	struct control control;
	struct acpi_pm pm;
	struct pvpanic pvpanic; /* on the bus only with [vm] pvpanic */
	struct ged ged;		/* on the bus only with [vm] acpi (the DSDT names it) */
	struct vmgenid vmgenid; /* in guest RAM only with [vm] acpi */
	struct event_loop loop; /* device work: ioeventfds, backends */
	bool loop_ready;
	struct vm_virtio virtio[VIRTIO_MMIO_SLOTS];
	unsigned n_virtio;
	gpa_t rsdp;	/* ACPI RSDP, 0 without ACPI */
	int console_fd; /* UART output: stdout, a file, or -1 */
	/* virtio-console input when stdin is a terminal: the main loop reads
	 * the terminal (Ctrl-A x is seen there) and writes this pipe, which
	 * the device reads; -1 otherwise. */
	int vcon_in_fd, vcon_feed_fd;
	struct boot_entry entry;
	struct vcpu *vcpus;
	unsigned n_vcpus;
	struct kvm_cpuid2 *cpuid; /* KVM's supported set */
	/* A run hook's callbacks start threads while the VM runs (minnow exec's
	 * output threads): the main thread's seccomp filter lets them. */
	bool io_threads;

	/* Pausing (vm_pause): while pause_wanted, each vCPU thread parks
	 * before its next KVM_RUN; the last one to park writes pause_fd (an
	 * eventfd), which the control socket watches. Under pause_lock. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_wanted;
	_Atomic bool pause_flag; /* pause_wanted, for the vCPUs' unlocked check */
	unsigned n_parked;
	int pause_fd;

	/* A report of where each vCPU is (vm_report_vcpus): while report_flag,
	 * each vCPU thread describes itself once (vcpu->report) and counts in
	 * n_reported (under pause_lock, broadcasting pause_cond). */
	_Atomic bool report_flag;
	unsigned n_reported;

	/* Snapshots: the MSRs a vCPU's state includes (found at creation when
	 * a control socket can ask for a snapshot; NULL otherwise). */
	uint32_t *msr_list;
	unsigned n_msrs;
	bool restoring; /* built from [vm] restore: no kernel is loaded */

	int end_fd; /* eventfd: written once when the VM ends */
	_Atomic int ended;
	int exit_status;
	enum vm_end_reason end_reason;
	_Atomic uint64_t pio_exits; /* port I/O answered and dropped */
	_Atomic uint64_t mmio_unclaimed;
	_Atomic uint64_t exits;	     /* every return of KVM_RUN to userspace */
	_Atomic uint64_t mmio_exits; /* of which MMIO */
};

/* Creates everything but the vCPUs' threads: KVM VM (split irqchip, TSS),
 * guest RAM, the devices (vm_devices.h), the console output, the ACPI or MP
 * tables, the kernel loaded per `cfg`, and the vCPUs. Records timing marks.
 * Returns 0, or an exit status (EXIT_CONFIG for a bad image, else
 * EXIT_HOST_FAILURE) after logging one line. Call vm_destroy() either way. */
int vm_create(struct vm *vm, const struct vm_config *cfg);

/* Starts one thread per vCPU and waits, serving console input, the boot
 * timeout and SIGINT/SIGTERM/SIGHUP, until the VM ends. Stops every vCPU
 * thread before returning the exit status. */
int vm_run(struct vm *vm);

/* Ends the VM (first caller wins): records reason and status, wakes the
 * main loop and kicks every vCPU out of KVM_RUN. Any thread. */
void vm_end(struct vm *vm, enum vm_end_reason reason, int status);

/* An out_sink on_gone hook (opaque: the vm): the console's reader went
 * away, so the VM ends as a local program would on SIGPIPE (status 141,
 * exit_reason "signal"), with the terminal restored. Any thread. */
void vm_console_gone(void *vm);

/* Frees everything vm_create() made, in reverse order. */
void vm_destroy(struct vm *vm);

/* Asks every vCPU to stop running the guest (kicking it out of KVM_RUN)
 * and park; returns at once. vm->pause_fd becomes readable once all have
 * parked (vm_paused()). No-op once the VM has ended. Main thread. */
void vm_pause(struct vm *vm);

/* True when a pause was asked for and every vCPU has parked. Any thread. */
bool vm_paused(struct vm *vm);

/* Lets parked vCPUs run again (and cancels a pause not yet complete).
 * Main thread. */
void vm_resume(struct vm *vm);

/* Presses the ACPI power button (the GED): the guest is asked to power
 * off (Linux does, through its init). Returns 0, or -ENODEV without ACPI.
 * Any thread. */
int vm_power_button(struct vm *vm);

/* Called by a vCPU thread before KVM_RUN while vm->pause_flag is set:
 * parks until vm_resume() or the VM's end. */
void vm_park_vcpu(struct vm *vm);

/* Logs a line per vCPU, in order, on where it is (vcpu_report()): each is
 * kicked out of KVM_RUN and describes itself from its own thread; one that
 * has not within `wait_ms` (busy in minnow, or stuck) is named with its
 * last exit. For a guest that hangs (boot timeout). Main thread, before
 * vm_end(). */
void vm_report_vcpus(struct vm *vm, unsigned wait_ms);

/* Called by a vCPU thread while vm->report_flag is set and it has not
 * reported: vcpu_report(), then counts it. */
void vm_vcpu_reports(struct vm *vm, struct vcpu *vcpu);

/* The stable name of `reason`, e.g. "triple_fault". */
const char *vm_end_reason_name(enum vm_end_reason reason);

#endif
