/* run.c - one VM from configuration to exit status, with its report (run.h). */
#include "run.h"

#include <stddef.h>

#include "metrics.h"
#include "peak_rss.h"
#include "vcpu.h"
#include "vm_control.h"

/* Fills the counters of `rep` from the VM before it is destroyed. */
static void collect_report(struct vm *vm, struct run_report *rep)
{
	rep->guest_touched_kib = guest_mem_resident(&vm->mem) / 1024;
	rep->pio_exits = atomic_load(&vm->pio_exits);
	rep->mmio_unclaimed = atomic_load(&vm->mmio_unclaimed);
	rep->exits = atomic_load(&vm->exits);
	rep->mmio_exits = atomic_load(&vm->mmio_exits);
	for (unsigned i = 0; i < vm->n_virtio; i++) {
		rep->virtio_user_kicks += atomic_load(&vm->virtio[i].t.user_kicks);
		rep->virtio_interrupts += atomic_load(&vm->virtio[i].t.interrupts);
	}
	static uint64_t vcpu_us[CONFIG_MAX_VCPUS][3];
	for (unsigned i = 0; vm->vcpus && i < vm->n_vcpus && i < CONFIG_MAX_VCPUS; i++) {
		vcpu_us[i][0] = vm->vcpus[i].started_us;
		vcpu_us[i][1] = vm->vcpus[i].first_exit_us;
		vcpu_us[i][2] = vm->vcpus[i].ended_us;
		rep->n_vcpus = i + 1;
	}
	rep->vcpu_us = vcpu_us;
	static struct exit_table table;
	metrics_exit_table(vm, &table);
	rep->exit_table = &table;
}

int run_vm(const struct vm_config *cfg, int timings, const struct run_hooks *hooks)
{
	static struct vm vm;
	struct run_report rep = {.exit_reason = "startup_failed"};
	int status_fd = timings ? peak_rss_open() : -1;
	rep.exit_status = vm_create(&vm, cfg);
	if (rep.exit_status == 0 && hooks && hooks->before_run)
		rep.exit_status = hooks->before_run(&vm, hooks->opaque);
	if (rep.exit_status == 0)
		rep.exit_status = vm_control_attach(&vm);
	if (rep.exit_status == 0) {
		rep.exit_status = vm_run(&vm);
		vm_control_detach(&vm);
		rep.exit_reason = vm_end_reason_name(vm.end_reason);
		if (hooks && hooks->after_run)
			hooks->after_run(&vm, hooks->opaque, &rep);
	} else {
		timing_mark(T_VM_END);
	}
	/* The report costs a mincore() over guest RAM: only when asked for. */
	if (timings)
		collect_report(&vm, &rep);
	vm_destroy(&vm);
	timing_mark(T_TORN_DOWN);
	if (timings) {
		rep.peak_rss_kib = peak_rss_kib(status_fd);
		timing_print(stderr, timings == 2, &rep);
	}
	return rep.exit_status;
}
