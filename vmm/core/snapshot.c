/* snapshot.c - a paused VM to files and back (snapshot.h). */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm.h"
#include "log.h"
#include "timing.h"
#include "vcpu.h"
#include "vcpu_state.h"
#include "virtio_type.h"
#include "vm_devices.h"

/* What the state belongs to: a restore must describe the same machine. */
struct snap_layout {
	uint32_t vcpus, n_virtio;
	uint64_t memory;
	uint32_t acpi, pad;
	uint32_t device_id[VIRTIO_MMIO_SLOTS];
};

#define PAGE 4096u

int snapshot_mem_path(const char *state, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.mem", state);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- saving ---------------------------------------------------------------------- */

/* Opens a new file for writing; an existing one is refused (O_EXCL): the
 * seccomp filter lets the main thread create files, never overwrite. */
static int create_new(const char *path, char *why, size_t whylen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		snprintf(why, whylen, "%s: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (snapshots never overwrite: remove it first)" : "");
	return fd;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	static const uint8_t zero[PAGE];
	for (size_t off = 0; off < len; off += PAGE)
		if (memcmp(p + off, zero, PAGE) != 0)
			return false;
	return true;
}

/* Guest RAM to `fd`: the file has RAM's size, runs of non-zero pages are
 * written, zero pages stay holes. */
static int write_memory(const struct guest_mem *mem, int fd)
{
	if (ftruncate(fd, (off_t)mem->size) != 0)
		return -errno;
	const size_t chunk = 64 * PAGE;
	for (uint64_t off = 0; off < mem->size;) {
		size_t len = mem->size - off < chunk ? (size_t)(mem->size - off) : chunk;
		if (!all_zero(mem->host + off, len)) {
			for (size_t done = 0; done < len;) {
				ssize_t n = pwrite(fd, mem->host + off + done, len - done,
						   (off_t)(off + done));
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					return n < 0 ? -errno : -EIO;
				done += (size_t)n;
			}
		}
		off += len;
	}
	return fsync(fd) == 0 ? 0 : -errno;
}

/* The layout of `vm`. */
static void layout_of(const struct vm *vm, struct snap_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->vcpus = vm->n_vcpus;
	l->memory = vm->cfg->memory;
	l->acpi = vm->cfg->acpi;
	l->n_virtio = vm->n_virtio;
	for (unsigned slot = 0; slot < vm->n_virtio; slot++)
		l->device_id[slot] = vm->virtio[slot].t.ops->device_id;
}

/* Every device's state into w; -1 with why when one cannot be saved. */
static int add_devices(struct vm *vm, struct snap_writer *w, char *why, size_t whylen)
{
	/* Console bytes the parked guest wrote just before may still be queued. */
	coalesced_mmio_drain(&vm->coalesced, &vm->bus);
	struct ioapic_state io;
	ioapic_get_state(&vm->ioapic, &io);
	snap_add(w, SNAP_IOAPIC, 0, &io, sizeof(io));
	if (vm->uart_ready) {
		static struct uart_state u;
		uart_get_state(&vm->uart, &u);
		snap_add(w, SNAP_UART, 0, &u, sizeof(u));
	}
	uint8_t sleep = atomic_load(&vm->pm.sleep_status);
	snap_add(w, SNAP_ACPI_PM, 0, &sleep, sizeof(sleep));
	uint32_t events = atomic_load(&vm->ged.events);
	snap_add(w, SNAP_GED, 0, &events, sizeof(events));
	for (unsigned slot = 0; slot < vm->n_virtio; slot++) {
		struct virtio_mmio *t = &vm->virtio[slot].t;
		size_t len = virtio_mmio_state_size(t);
		struct virtio_mmio_state *s = malloc(len);
		if (!s) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		int r = virtio_mmio_get_state(t, s, why, whylen);
		if (r == 0)
			snap_add(w, SNAP_VIRTIO, slot, s, len);
		free(s);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* The configuration the VM runs with, for `minnow restore`: without the
 * control socket and metrics file (a copy must not take the original's
 * paths) and the snapshot it was itself restored from, if any. */
static void add_config(const struct vm_config *cfg, struct snap_writer *w)
{
	static struct vm_config copy;
	copy = *cfg;
	copy.control_socket.path[0] = copy.metrics_file.path[0] = copy.restore.path[0] = '\0';
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		w->error = -ENOMEM;
		return;
	}
	config_print(&copy, f);
	if (fclose(f) != 0)
		w->error = -ENOMEM;
	else
		snap_add(w, SNAP_CONFIG, 0, text, len + 1);
	free(text);
}

/* snapshot_save() with every device's own thread parked. */
static int save_quiesced(struct vm *vm, const char *state, char *why, size_t whylen)
{
	char mem_path[PATH_MAX];
	if (snapshot_mem_path(state, mem_path, sizeof(mem_path)) < 0) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	if (!vm->msr_list) {
		snprintf(why, whylen, "this VM was not prepared for snapshots");
		return -1;
	}
	struct snap_writer w = {0};
	struct snap_layout layout;
	layout_of(vm, &layout);
	snap_add(&w, SNAP_LAYOUT, 0, &layout, sizeof(layout));
	static struct vcpu_state vs;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		if (vcpu_state_get(vm->vcpus[i].fd, vm->msr_list, vm->n_msrs, &vs) < 0) {
			snprintf(why, whylen, "cannot read vCPU %u's state", i);
			free(w.buf);
			return -1;
		}
		snap_add(&w, SNAP_VCPU, i, &vs, sizeof(vs));
	}
	struct kvm_clock_data clock = {0};
	if (KVM_IOCTL(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0) {
		snprintf(why, whylen, "cannot read the KVM clock");
		free(w.buf);
		return -1;
	}
	snap_add(&w, SNAP_CLOCK, 0, &clock, sizeof(clock));
	add_config(vm->cfg, &w);
	if (add_devices(vm, &w, why, whylen) < 0) {
		free(w.buf);
		return -1;
	}
	/* Memory first: a state file is only there once its memory is. */
	int fd = create_new(mem_path, why, whylen);
	if (fd < 0) {
		free(w.buf);
		return -1;
	}
	int r = write_memory(&vm->mem, fd);
	close(fd);
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", mem_path, strerror(-r));
		unlink(mem_path);
		free(w.buf);
		return -1;
	}
	fd = create_new(state, why, whylen);
	if (fd < 0) {
		free(w.buf);
		return -1;
	}
	r = snap_write_fd(&w, fd);
	close(fd);
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", state, strerror(-r));
		unlink(state);
		return -1;
	}
	return 0;
}

int snapshot_save(struct vm *vm, const char *state, char *why, size_t whylen)
{
	/* The vCPUs are parked, but a drive's thread may still have requests
	 * in flight or be pushing completions: the rings and guest memory are
	 * saved only once every such thread has finished them and parked. */
	for (unsigned slot = 0; slot < vm->n_virtio; slot++)
		virtio_mmio_quiesce(&vm->virtio[slot].t, true);
	int r = save_quiesced(vm, state, why, whylen);
	for (unsigned slot = 0; slot < vm->n_virtio; slot++)
		virtio_mmio_quiesce(&vm->virtio[slot].t, false);
	return r;
}

/* ---- restoring --------------------------------------------------------------------- */

/* The section (tag, index) of exactly `len` bytes, or NULL with why. */
static const void *section(const struct snap_reader *r, uint32_t tag, uint32_t index, size_t len,
			   const char *what, char *why, size_t whylen)
{
	size_t got = 0;
	const void *p = snap_find(r, tag, index, &got);
	if (!p || got != len) {
		snprintf(why, whylen, "%s: %s", what,
			 p ? "saved by a build with another layout" : "missing");
		return NULL;
	}
	return p;
}

char *snapshot_config(const char *path, char *why, size_t whylen)
{
	struct snap_reader r;
	if (snap_read_file(&r, path, why, whylen) < 0)
		return NULL;
	size_t len = 0;
	const char *text = snap_find(&r, SNAP_CONFIG, 0, &len);
	char *copy = NULL;
	if (!text)
		snprintf(why, whylen,
			 "it holds no configuration: give one (minnow run CONFIG "
			 "--restore STATE)");
	else if (!len || text[len - 1] != '\0' || strlen(text) != len - 1)
		snprintf(why, whylen, "its configuration is not text");
	else if (!(copy = strdup(text)))
		snprintf(why, whylen, "out of memory");
	snap_reader_free(&r);
	return copy;
}

int snapshot_open(struct snap_reader *r, const char *path, const struct vm_config *cfg, char *why,
		  size_t whylen)
{
	if (snap_read_file(r, path, why, whylen) < 0)
		return -1;
	const struct snap_layout *l =
	    section(r, SNAP_LAYOUT, 0, sizeof(*l), "the layout", why, whylen);
	if (!l) {
		snap_reader_free(r);
		return -1;
	}
	if (l->vcpus != cfg->vcpus || l->memory != cfg->memory || l->acpi != cfg->acpi) {
		snprintf(why, whylen,
			 "saved from a VM with %u vCPUs, %llu MiB, acpi %s; this config has %u, "
			 "%llu MiB, acpi %s",
			 l->vcpus, (unsigned long long)(l->memory >> 20), l->acpi ? "on" : "off",
			 cfg->vcpus, (unsigned long long)(cfg->memory >> 20),
			 cfg->acpi ? "on" : "off");
		snap_reader_free(r);
		return -1;
	}
	return 0;
}

/* The virtio devices must sit in the same slots as when saved. */
static int check_devices(const struct vm *vm, const struct snap_layout *l, char *why, size_t whylen)
{
	struct snap_layout now;
	layout_of(vm, &now);
	if (now.n_virtio != l->n_virtio) {
		snprintf(why, whylen, "saved with %u virtio devices; this config has %u",
			 l->n_virtio, now.n_virtio);
		return -1;
	}
	for (unsigned slot = 0; slot < now.n_virtio; slot++)
		if (now.device_id[slot] != l->device_id[slot]) {
			snprintf(why, whylen,
				 "virtio slot %u held device type %u when saved; this config puts "
				 "%s there",
				 slot, l->device_id[slot], vm->virtio[slot].t.ops->name);
			return -1;
		}
	return 0;
}

static int apply_devices(struct vm *vm, const struct snap_reader *r, char *why, size_t whylen)
{
	const struct ioapic_state *io =
	    section(r, SNAP_IOAPIC, 0, sizeof(*io), "the IOAPIC", why, whylen);
	if (!io)
		return -1;
	ioapic_set_state(&vm->ioapic, io);
	if (vm->uart_ready) {
		const struct uart_state *u =
		    section(r, SNAP_UART, 0, sizeof(*u), "the UART", why, whylen);
		if (!u)
			return -1;
		uart_set_state(&vm->uart, u);
	}
	const uint8_t *sleep = section(r, SNAP_ACPI_PM, 0, 1, "ACPI sleep status", why, whylen);
	if (!sleep)
		return -1;
	atomic_store(&vm->pm.sleep_status, *sleep);
	const uint32_t *events = section(r, SNAP_GED, 0, 4, "the GED", why, whylen);
	if (!events)
		return -1;
	atomic_store(&vm->ged.events, *events);
	for (unsigned slot = 0; slot < vm->n_virtio; slot++) {
		size_t len = 0;
		const void *s = snap_find(r, SNAP_VIRTIO, slot, &len);
		if (!s) {
			snprintf(why, whylen, "virtio slot %u: missing", slot);
			return -1;
		}
		if (virtio_mmio_set_state(&vm->virtio[slot].t, s, len, why, whylen) < 0)
			return -1;
	}
	return 0;
}

int snapshot_apply(struct vm *vm, const struct snap_reader *r, char *why, size_t whylen)
{
	const struct snap_layout *l =
	    section(r, SNAP_LAYOUT, 0, sizeof(*l), "the layout", why, whylen);
	if (!l || check_devices(vm, l, why, whylen) < 0)
		return -1;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		char what[32];
		snprintf(what, sizeof(what), "vCPU %u", i);
		const struct vcpu_state *vs =
		    section(r, SNAP_VCPU, i, sizeof(*vs), what, why, whylen);
		if (!vs)
			return -1;
		if (vcpu_state_set(vm->vcpus[i].fd, vs) < 0) {
			snprintf(why, whylen, "KVM refused vCPU %u's saved state", i);
			return -1;
		}
	}
	const struct kvm_clock_data *clock =
	    section(r, SNAP_CLOCK, 0, sizeof(*clock), "the KVM clock", why, whylen);
	if (!clock)
		return -1;
	struct kvm_clock_data set = {.clock = clock->clock};
	if (KVM_IOCTL(vm->vm_fd, KVM_SET_CLOCK, &set) < 0) {
		snprintf(why, whylen, "KVM refused the saved clock");
		return -1;
	}
	timing_mark(T_VCPU_STATE_RESTORED);
	if (apply_devices(vm, r, why, whylen) < 0 || vm_devices_restored(vm, why, whylen) < 0)
		return -1;
	timing_mark(T_DEVICES_RESTORED);
	return 0;
}
