/* run.h - one VM from a resolved configuration to its exit status: create,
 * run, report, tear down; shared by `minnow run` and `minnow exec`, which
 * adds its own fds to the VM's event loop through the hooks. */
#ifndef MINNOW_RUN_H
#define MINNOW_RUN_H

#include "config.h"
#include "timing.h"
#include "vm.h"

/* What a command adds around vm_run(). Every member may be NULL. */
struct run_hooks {
	/* After vm_create() succeeded, before vm_run(): e.g. fds on vm->loop.
	 * Returns 0, or an exit status (the VM is not run; exit_reason
	 * "startup_failed"). */
	int (*before_run)(struct vm *vm, void *opaque);
	/* After vm_run() returned (every vCPU stopped, the loop no longer
	 * running), before vm_destroy(): may change the report's status and
	 * reason. Not called when the VM never ran. */
	void (*after_run)(struct vm *vm, void *opaque, struct run_report *rep);
	void *opaque;
};

/* Creates the VM `cfg` describes, runs it until it ends, destroys it and,
 * with `timings` (1 text, 2 JSON), prints the report to stderr. Returns the
 * exit status (vm.h). */
int run_vm(const struct vm_config *cfg, int timings, const struct run_hooks *hooks);

#endif
