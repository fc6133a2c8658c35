/* metrics.c - a running VM's counters as JSON (metrics.h). */
#include "metrics.h"

#include <inttypes.h>
#include <stdlib.h>

#include "timing.h"
#include "vcpu.h"
#include "virtio_type.h"

void metrics_exit_table(struct vm *vm, struct exit_table *t)
{
	*t = (struct exit_table){.unclaimed = atomic_load(&vm->mmio_unclaimed)};
	for (unsigned i = 0; vm->vcpus && i < vm->n_vcpus; i++)
		for (int k = 0; k < EXIT_KIND_COUNT; k++)
			t->kinds[k] +=
			    atomic_load_explicit(&vm->vcpus[i].exit_kinds[k], memory_order_relaxed);
	exit_table_from_bus(t, &vm->bus);
}

const char *metrics_state(struct vm *vm)
{
	if (atomic_load(&vm->ended))
		return "ended";
	if (!atomic_load(&vm->pause_flag))
		return "running";
	return vm_paused(vm) ? "paused" : "pausing";
}

static void print_vcpus(FILE *out, struct vm *vm)
{
	fprintf(out, ",\"vcpus\":[");
	for (unsigned i = 0; vm->vcpus && i < vm->n_vcpus; i++) {
		fprintf(out, "%s{\"id\":%u,\"exit_kinds\":{", i ? "," : "", i);
		for (int k = 0; k < EXIT_KIND_COUNT; k++)
			fprintf(out, "%s\"%s\":%" PRIu64, k ? "," : "", exit_kind_name(k),
				atomic_load_explicit(&vm->vcpus[i].exit_kinds[k],
						     memory_order_relaxed));
		fprintf(out, "}}");
	}
	fprintf(out, "]");
}

static void print_devices(FILE *out, struct vm *vm)
{
	fprintf(out, ",\"devices\":[");
	for (unsigned slot = 0; slot < vm->n_virtio; slot++) {
		struct vm_virtio *v = &vm->virtio[slot];
		fprintf(out,
			"%s{\"slot\":%u,\"type\":\"%s\",\"kicks\":%" PRIu64
			",\"user_kicks\":%" PRIu64 ",\"interrupts\":%" PRIu64,
			slot ? "," : "", slot, v->type ? v->type->name : "virtio",
			atomic_load(&v->t.kicks), atomic_load(&v->t.user_kicks),
			atomic_load(&v->t.interrupts));
		if (v->type && v->type->metrics && v->dev)
			v->type->metrics(v->dev, out);
		fprintf(out, "}");
	}
	fprintf(out, "]");
}

void metrics_print(FILE *out, struct vm *vm)
{
	fprintf(out, "{\"state\":\"%s\",\"boot\":{", metrics_state(vm));
	timing_print_phases_json(out);
	fprintf(out, "\"now_us\":%" PRIu64 "},\"exits\":%" PRIu64 ",\"pio_exits\":%" PRIu64 ",",
		timing_now_us(), atomic_load(&vm->exits), atomic_load(&vm->pio_exits));
	struct exit_table t;
	metrics_exit_table(vm, &t);
	exit_table_print(out, 1, &t);
	print_vcpus(out, vm);
	print_devices(out, vm);
	fprintf(out, "}");
}

char *metrics_json(struct vm *vm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	metrics_print(f, vm);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
