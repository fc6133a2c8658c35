/* vcpu.c - vCPU creation, its thread, and the exits it handles. */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpuid.h"
#include "kvm.h"
#include "log.h"
#include "seccomp_filter.h"
#include "timing.h"
#include "vm.h"
#include "x86_boot.h"

/* Sent to a vCPU thread to break it out of KVM_RUN; the handler does nothing. */
#define KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig;
}

void vcpu_init_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);
}

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned index)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = -1;
	int fd = KVM_IOCTL(vm->vm_fd, KVM_CREATE_VCPU, (long)index);
	if (fd < 0)
		return fd;
	vcpu->fd = fd;
	void *run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		int err = errno;
		log_error("vCPU %u: mmap kvm_run: %s", index, strerror(err));
		return -err;
	}
	vcpu->run = run;

	struct kvm_cpuid2 *cpuid = cpuid_copy(vm->cpuid);
	if (!cpuid)
		return -ENOMEM;
	cpuid_customize(cpuid, index, vm->n_vcpus);
	int r = KVM_IOCTL(fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (r < 0)
		return r;
	if ((r = x86_setup_msrs(fd)) < 0)
		return r;
	if ((r = x86_setup_lapic(fd)) < 0)
		return r;
	if (index == 0 && !vm->restoring && (r = x86_setup_boot_vcpu(fd, &vm->entry)) < 0)
		return r;
	return 0;
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	unsigned len = run->mmio.len;
	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	int r;
	coalesced_mmio_touch(&vm->coalesced, run->mmio.phys_addr, run->mmio.is_write);
	if (run->mmio.is_write)
		r = bus_write(&vm->bus, run->mmio.phys_addr, run->mmio.data, len);
	else
		r = bus_read(&vm->bus, run->mmio.phys_addr, run->mmio.data, len);
	if (r < 0) {
		/* Probing empty addresses (e.g. unused virtio-mmio slots) is
		 * normal guest behaviour: counted, logged only with -v. */
		atomic_fetch_add(&vm->mmio_unclaimed, 1);
		log_debug("vCPU %u: %u-byte %s at unassigned address 0x%llx", vcpu->index, len,
			  run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr);
	}
}

/* There are no port I/O devices: reads see all-ones, writes vanish. */
static void handle_pio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	atomic_fetch_add(&vcpu->vm->pio_exits, 1);
	if (run->io.direction == KVM_EXIT_IO_IN) {
		size_t bytes = (size_t)run->io.size * run->io.count;
		if (run->io.data_offset + bytes <= (size_t)vcpu->vm->run_size)
			memset((uint8_t *)run + run->io.data_offset, 0xff, bytes);
	}
	/* Linux probes legacy ports at boot: counted, logged only with -v. */
	log_debug("vCPU %u: port I/O %s 0x%x ignored (no port devices)", vcpu->index,
		  run->io.direction == KVM_EXIT_IO_IN ? "in" : "out", run->io.port);
}

static uint64_t vcpu_rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;
	if (KVM_IOCTL_QUIET(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

/* Logs the failing instruction of an emulation failure. */
static void report_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char bytes[3 * 16 + 1] = "";
	uint8_t insn[15];
	unsigned n = 0;
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		n = run->emulation_failure.insn_size;
		if (n > sizeof(insn))
			n = sizeof(insn);
		memcpy(insn, run->emulation_failure.insn_bytes, n);
	}
	uint64_t rip = vcpu_rip(vcpu);
	if (n == 0) {
		struct kvm_translation tr = {.linear_address = rip};
		if (KVM_IOCTL_QUIET(vcpu->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
			const uint8_t *p = guest_ptr(&vcpu->vm->mem, tr.physical_address, 15);
			if (p) {
				memcpy(insn, p, 15);
				n = 15;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		snprintf(bytes + 3 * i, sizeof(bytes) - 3 * i, " %02x", insn[i]);
	log_error("vCPU %u: KVM internal error (suberror %u) at rip 0x%llx; instruction bytes:%s",
		  vcpu->index, run->internal.suberror, (unsigned long long)rip,
		  n ? bytes : " unavailable");
}

static void handle_system_event(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_end(vm, END_POWEROFF, EXIT_OK);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_end(vm, END_RESET, EXIT_GUEST_RESET);
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		log_error("vCPU %u: guest reported a crash", vcpu->index);
		vm_end(vm, END_CRASH, EXIT_GUEST_CRASH);
		break;
	default:
		log_error("vCPU %u: unknown system event %u", vcpu->index,
			  vcpu->run->system_event.type);
		vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
		break;
	}
}

/* The row of the exit table an exit reason counts in. */
static enum exit_kind exit_kind_of(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_MMIO:
		return EXIT_KIND_MMIO;
	case KVM_EXIT_IO:
		return EXIT_KIND_PIO;
	case KVM_EXIT_IOAPIC_EOI:
		return EXIT_KIND_EOI;
	case KVM_EXIT_INTR:
		return EXIT_KIND_INTR;
	case KVM_EXIT_HLT:
		return EXIT_KIND_HLT;
	default:
		return EXIT_KIND_OTHER;
	}
}

/* Bit 63 of last_exit_addr: the access was a write. */
#define LAST_EXIT_WRITE (1ull << 63)

/* Records the exit for vcpu_report() and vcpu_describe_last_exit(). */
static void remember_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t addr = 0;
	if (run->exit_reason == KVM_EXIT_MMIO)
		addr = run->mmio.phys_addr | (run->mmio.is_write ? LAST_EXIT_WRITE : 0);
	else if (run->exit_reason == KVM_EXIT_IO)
		addr = run->io.port | (run->io.direction == KVM_EXIT_IO_OUT ? LAST_EXIT_WRITE : 0);
	atomic_store_explicit(&vcpu->last_exit_addr, addr, memory_order_relaxed);
	atomic_store_explicit(&vcpu->last_exit_reason, run->exit_reason, memory_order_relaxed);
}

void vcpu_describe_last_exit(struct vcpu *vcpu, char *buf, size_t len)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
		n += atomic_load_explicit(&vcpu->exit_kinds[k], memory_order_relaxed);
	uint32_t reason = atomic_load_explicit(&vcpu->last_exit_reason, memory_order_relaxed);
	uint64_t addr = atomic_load_explicit(&vcpu->last_exit_addr, memory_order_relaxed);
	const char *dir = (addr & LAST_EXIT_WRITE) ? "write" : "read";
	addr &= ~LAST_EXIT_WRITE;
	if (n == 0)
		snprintf(buf, len, "no exit to minnow yet");
	else if (reason == KVM_EXIT_MMIO)
		snprintf(buf, len, "%llu exits to minnow, the last an MMIO %s at 0x%llx",
			 (unsigned long long)n, dir, (unsigned long long)addr);
	else if (reason == KVM_EXIT_IO)
		snprintf(buf, len, "%llu exits to minnow, the last a port %s at 0x%llx",
			 (unsigned long long)n, dir, (unsigned long long)addr);
	else
		snprintf(buf, len, "%llu exits to minnow, the last %s (KVM exit reason %u)",
			 (unsigned long long)n, exit_kind_name(exit_kind_of(reason)), reason);
}

/* KVM's names for a vCPU's run state (KVM_MP_STATE_*), as the report says them. */
static const char *mp_state_name(uint32_t state)
{
	switch (state) {
	case KVM_MP_STATE_RUNNABLE:
		return "runnable";
	case KVM_MP_STATE_UNINITIALIZED:
		return "not started (uninitialized: waits for INIT and SIPI)";
	case KVM_MP_STATE_INIT_RECEIVED:
		return "waiting for SIPI (init_received)";
	case KVM_MP_STATE_HALTED:
		return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED:
		return "sipi_received";
	default:
		return "unknown";
	}
}

void vcpu_report(struct vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_mp_state mp;
	char last[128];
	vcpu_describe_last_exit(vcpu, last, sizeof(last));
	int r;
	if ((r = KVM_IOCTL_QUIET(vcpu->fd, KVM_GET_REGS, &regs)) < 0 ||
	    (r = KVM_IOCTL_QUIET(vcpu->fd, KVM_GET_SREGS, &sregs)) < 0 ||
	    (r = KVM_IOCTL_QUIET(vcpu->fd, KVM_GET_MP_STATE, &mp)) < 0) {
		snprintf(buf, len, "its registers cannot be read (%s); %s", strerror(-r), last);
		return;
	}
	snprintf(buf, len, "rip 0x%llx, cs 0x%x, rflags 0x%llx (interrupts %s), %s; %s",
		 (unsigned long long)regs.rip, sregs.cs.selector, (unsigned long long)regs.rflags,
		 (regs.rflags & 0x200) ? "on" : "off", mp_state_name(mp.mp_state), last);
}

/* Handles one exit; returns 0 to keep running. */
static void handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	atomic_fetch_add_explicit(&vcpu->exit_kinds[exit_kind_of(run->exit_reason)], 1,
				  memory_order_relaxed);
	remember_exit(vcpu);
	/* Writes KVM queued without an exit came before this exit. */
	coalesced_mmio_drain(&vm->coalesced, &vm->bus);
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		atomic_fetch_add_explicit(&vm->mmio_exits, 1, memory_order_relaxed);
		handle_mmio(vcpu);
		break;
	case KVM_EXIT_IO:
		handle_pio(vcpu);
		break;
	case KVM_EXIT_IOAPIC_EOI:
		ioapic_eoi(&vm->ioapic, run->eoi.vector);
		break;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		break;
	case KVM_EXIT_SHUTDOWN:
		log_error("vCPU %u: guest triple fault (rip 0x%llx)", vcpu->index,
			  (unsigned long long)vcpu_rip(vcpu));
		vm_end(vm, END_TRIPLE_FAULT, EXIT_TRIPLE_FAULT);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		report_internal_error(vcpu);
		vm_end(vm, END_EMULATION, EXIT_EMULATION);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vCPU %u: VM entry failed (hardware reason 0x%llx)", vcpu->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_end(vm, END_FAIL_ENTRY, EXIT_FAIL_ENTRY);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(vcpu);
		break;
	default:
		log_error("vCPU %u: unexpected KVM exit reason %u", vcpu->index, run->exit_reason);
		vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
		break;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (seccomp_enter(SECCOMP_THREAD_VCPU, vcpu->index) < 0) {
		vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
		return NULL;
	}
	vcpu->started_us = timing_now_us();
	if (vcpu->index == 0)
		timing_mark(T_FIRST_RUN);
	while (!atomic_load(&vm->ended)) {
		if (atomic_load_explicit(&vm->report_flag, memory_order_acquire) &&
		    !atomic_load(&vcpu->reported))
			vm_vcpu_reports(vm, vcpu);
		if (atomic_load_explicit(&vm->pause_flag, memory_order_acquire)) {
			/* KVM finishes an MMIO or port access only on the next
			 * KVM_RUN: one with immediate_exit completes it without
			 * running the guest, so that its state is whole while
			 * parked (a snapshot may read it). */
			vcpu->run->immediate_exit = 1;
			(void)ioctl(vcpu->fd, KVM_RUN, 0);
			vcpu->run->immediate_exit = 0;
			vm_park_vcpu(vm);
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			int err = errno;
			/* EINTR: a kick (vm_end, vm_pause) or a stray signal;
			 * EAGAIN: an AP not yet started by SIPI (seen once per AP
			 * on some hosts). A kick's immediate_exit is cleared for
			 * the next run: the loop's checks see why it came. */
			if (err == EINTR)
				vcpu->run->immediate_exit = 0;
			if (err == EINTR || err == EAGAIN)
				continue;
			log_error("vCPU %u: KVM_RUN: %s", vcpu->index, strerror(err));
			vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
			break;
		}
		atomic_fetch_add_explicit(&vm->exits, 1, memory_order_relaxed);
		if (!vcpu->first_exit_us)
			vcpu->first_exit_us = timing_now_us();
		handle_exit(vcpu);
	}
	vcpu->ended_us = timing_now_us();
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int r = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (r != 0) {
		log_error("vCPU %u: pthread_create: %s", vcpu->index, strerror(r));
		return -r;
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (vcpu->run)
		vcpu->run->immediate_exit = 1;
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, KICK_SIGNAL);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->thread_started) {
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
	}
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
