/* vm.c - building a microVM, running it until it ends, and tearing it down. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "cpuid.h"
#include "kvm.h"
#include "log.h"
#include "platform.h"
#include "seccomp_filter.h"
#include "snapshot.h"
#include "term.h"
#include "test_hooks.h"
#include "timing.h"
#include "vcpu.h"
#include "vcpu_state.h"
#include "vm_devices.h"
#include "x86_boot.h"

#define TSS_ADDR    0xfffbd000ULL /* three pages KVM needs on Intel, inside the MMIO gap */
#define ESCAPE_CHAR 0x01	  /* Ctrl-A, then 'x': quit (terminal input only) */

static const char *const end_reason_names[] = {
    [END_NONE] = "none",
    [END_GUEST_EXIT] = "guest_exit",
    [END_POWEROFF] = "poweroff",
    [END_RESET] = "reset",
    [END_TRIPLE_FAULT] = "triple_fault",
    [END_EMULATION] = "emulation_failure",
    [END_FAIL_ENTRY] = "entry_failure",
    [END_BOOT_TIMEOUT] = "boot_timeout",
    [END_CRASH] = "guest_crash",
    [END_SIGNAL] = "signal",
    [END_HOST_ERROR] = "host_error",
    [END_TIMEOUT] = "timeout",
    [END_STOPPED] = "stopped",
};

const char *vm_end_reason_name(enum vm_end_reason reason)
{
	return end_reason_names[reason];
}

/* Orders the end of the VM against the main thread's joins: the first
 * vm_end() records the reason and kicks every started vCPU while holding it,
 * vcpu_start() marks a thread started under it, and vm_run() takes it once
 * before joining, so no kick can reach a vCPU that is joined or unmapped. */
static pthread_mutex_t end_lock = PTHREAD_MUTEX_INITIALIZER;

void vm_end(struct vm *vm, enum vm_end_reason reason, int status)
{
	pthread_mutex_lock(&end_lock);
	if (atomic_load(&vm->ended)) {
		pthread_mutex_unlock(&end_lock);
		return;
	}
	vm->end_reason = reason;
	vm->exit_status = status;
	atomic_store(&vm->ended, 1);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_unlock(&end_lock);
	/* Parked vCPUs leave too. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	timing_mark(T_VM_END);
	if (vm->end_fd >= 0)
		(void)eventfd_write(vm->end_fd, 1);
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_wanted = true;
	atomic_store(&vm->pause_flag, true);
	pthread_mutex_unlock(&vm->pause_lock);
	/* Under end_lock, as vm_end(): no kick reaches a joined vCPU. */
	pthread_mutex_lock(&end_lock);
	if (!atomic_load(&vm->ended))
		for (unsigned i = 0; i < vm->n_vcpus; i++)
			vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_unlock(&end_lock);
}

bool vm_paused(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	bool paused = vm->pause_wanted && vm->n_parked == vm->n_vcpus;
	pthread_mutex_unlock(&vm->pause_lock);
	return paused;
}

void vm_resume(struct vm *vm)
{
	eventfd_t value;
	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_wanted = false;
	atomic_store(&vm->pause_flag, false);
	if (vm->pause_fd >= 0)
		(void)eventfd_read(vm->pause_fd, &value); /* a completed pause is consumed */
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_power_button(struct vm *vm)
{
	if (!vm->cfg->acpi)
		return -ENODEV;
	(void)ged_power_button(&vm->ged);
	return 0;
}

void vm_park_vcpu(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_wanted && !atomic_load(&vm->ended)) {
		if (++vm->n_parked == vm->n_vcpus && vm->pause_fd >= 0)
			(void)eventfd_write(vm->pause_fd, 1);
		while (vm->pause_wanted && !atomic_load(&vm->ended))
			pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
		vm->n_parked--;
	}
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_vcpu_reports(struct vm *vm, struct vcpu *vcpu)
{
	vcpu_report(vcpu, vcpu->report, sizeof(vcpu->report));
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vcpu->reported, true);
	vm->n_reported++;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_report_vcpus(struct vm *vm, unsigned wait_ms)
{
	atomic_store_explicit(&vm->report_flag, true, memory_order_release);
	pthread_mutex_lock(&end_lock);
	if (!atomic_load(&vm->ended))
		for (unsigned i = 0; i < vm->n_vcpus; i++)
			vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_unlock(&end_lock);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline); /* the condition variable's clock */
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->n_reported < vm->n_vcpus && !atomic_load(&vm->ended))
		if (pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &deadline) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];
		if (atomic_load(&vcpu->reported)) {
			log_error("vCPU %u: %s", i, vcpu->report);
			continue;
		}
		char last[128];
		vcpu_describe_last_exit(vcpu, last, sizeof(last));
		log_error("vCPU %u: did not answer within %u ms (%s); %s", i, wait_ms,
			  vcpu->thread_started ? "busy in minnow or stuck"
					       : "its thread never started",
			  last);
	}
}

void vm_console_gone(void *vm)
{
	vm_end(vm, END_SIGNAL, EXIT_SIGNAL_BASE + SIGPIPE);
}

static int add_memslot(struct vm *vm, uint32_t slot, gpa_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region region = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};
	return KVM_IOCTL(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static int create_kvm_vm(struct vm *vm)
{
	vm->kvm_fd = kvm_open();
	if (vm->kvm_fd < 0)
		return vm->kvm_fd;
	vm->run_size = kvm_vcpu_mmap_size(vm->kvm_fd);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return -EINVAL;
	vm->vm_fd = KVM_IOCTL(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vm->vm_fd;
	int r = KVM_IOCTL(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR);
	if (r < 0)
		return r;
	/* LAPICs in the kernel; the IOAPIC is ours, its pins are GSIs 0-23. */
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {IOAPIC_PINS}};
	r = KVM_IOCTL(vm->vm_fd, KVM_ENABLE_CAP, &cap);
	if (r < 0)
		return r;
	timing_mark(T_VM_CREATED);
	return 0;
}

static int create_memory(struct vm *vm)
{
	char mem_path[PATH_MAX];
	int r;
	if (vm->restoring) {
		/* A snapshot's RAM: its memory file, mapped privately. */
		if (snapshot_mem_path(vm->cfg->restore.path, mem_path, sizeof(mem_path)) < 0)
			r = -ENAMETOOLONG;
		else if ((r = guest_mem_map_file(&vm->mem, vm->cfg->memory, mem_path)) < 0)
			log_error("%s: the snapshot's memory: %s", mem_path,
				  r == -EINVAL ? "not the snapshot's memory file (another size)"
					       : strerror(-r));
		if (r < 0)
			return r;
	} else if (vm->cfg->n_fs) {
		/* A vhost-user back end (virtio-fs) maps guest RAM too: then it is a memfd. */
		r = guest_mem_map_shared(&vm->mem, vm->cfg->memory, vm->cfg->prefault);
	} else {
		r = guest_mem_map(&vm->mem, vm->cfg->memory, vm->cfg->prefault);
	}
	if (r < 0) {
		log_error("guest memory (%llu MiB): %s",
			  (unsigned long long)(vm->cfg->memory >> 20), strerror(-r));
		return r;
	}
	r = add_memslot(vm, 0, 0, vm->mem.low_size, vm->mem.host);
	if (r == 0 && vm->mem.high_size)
		r = add_memslot(vm, 1, HIGH_RAM_START, vm->mem.high_size,
				vm->mem.host + vm->mem.low_size);
	if (r < 0)
		return r;
	timing_mark(T_MEMORY_READY);
	return 0;
}

static int open_console(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	switch (cfg->console) {
	case CONSOLE_STDIO:
		vm->console_fd = STDOUT_FILENO;
		return 0;
	case CONSOLE_NONE:
	case CONSOLE_SOCKET: /* refused by the config for [console] */
		vm->console_fd = -1;
		return 0;
	case CONSOLE_FILE:
		vm->console_fd = open(cfg->console_path.path,
				      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
		if (vm->console_fd < 0) {
			int err = errno;
			log_error("%s:%d: [console] path: %s: %s", cfg->console_path.at.file,
				  cfg->console_path.at.line, cfg->console_path.path, strerror(err));
			return -err;
		}
		return 0;
	}
	return -EINVAL;
}

/* Appends " word" (no blank when out is empty). */
static int append_word(char *out, size_t size, const char *word)
{
	size_t len = strlen(out);
	int n = snprintf(out + len, size - len, "%s%s", len ? " " : "", word);
	return n < 0 || (size_t)n >= size - len ? -ENOSPC : 0;
}

/* The command line the guest gets: the config's with console=ttyS0 bound
 * to the MMIO UART from the first message (cmdline.h), plus the virtio-mmio
 * devices (cmdline_devices), plus "reboot=acpi" with ACPI unless the user
 * chose a reboot method (on a hardware-reduced ACPI machine without EFI,
 * Linux would otherwise jump to a BIOS reset vector that is not there),
 * plus "pci=noearly" unless the user chose a pci= option: the machine has
 * no PCI bus, and Linux's early scan of one costs a boot some 220 port I/O
 * exits (its later probe gives up after a few). pci=off was no faster in
 * the L1 host (9 fewer port I/O exits; minnow-init started at a median
 * 2.29 s against 2.26 s, 6 boots each); the 2 hangs in 14 boots once
 * blamed on it look like the L1 host's own freezes (README.md, "Tests"). */
static int build_cmdline(const struct vm *vm, char *out, size_t size)
{
	const struct vm_config *cfg = vm->cfg;
	if (cmdline_early_console(cfg->cmdline, out, size, UART_MMIO_BASE) < 0)
		return -ENOSPC;
	if (cfg->cmdline_devices && vm_devices_cmdline(vm, out, size) < 0)
		return -ENOSPC;
	if (cfg->acpi && !strstr(cfg->cmdline, "reboot=") && append_word(out, size, "reboot=acpi"))
		return -ENOSPC;
	if (!strstr(cfg->cmdline, "pci=") && append_word(out, size, "pci=noearly"))
		return -ENOSPC;
	return 0;
}

static int load_guest(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	if (x86_write_boot_tables(&vm->mem) < 0) {
		log_error("guest memory too small for the boot tables");
		return -EFAULT;
	}
	if (vm_devices_tables(vm) < 0)
		return -EFAULT;
	static char cmdline[BOOT_CMDLINE_MAX];
	if (build_cmdline(vm, cmdline, sizeof(cmdline)) < 0) {
		log_error("kernel command line too long with minnow's additions");
		return -ENOSPC;
	}
	struct boot_request req = {
	    .kernel_path = cfg->kernel.path,
	    .initrd_path = cfg->initrd.path[0] ? cfg->initrd.path : NULL,
	    .cmdline = cmdline,
	    .format = cfg->format,
	    /* A jailed VMM sees no cache directory: its guest decompresses. */
	    .decompress = cfg->jailed ? DECOMPRESS_GUEST : cfg->decompress,
	    .rsdp = vm->rsdp,
	};
	char err[PATH_MAX + 200];
	if (load_kernel(&vm->mem, &req, &vm->entry, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -ENOEXEC;
	}
	timing_mark(T_KERNEL_LOADED);
	return 0;
}

/* A control socket may ask for a snapshot: find the MSRs to save now,
 * while /dev/kvm may still be asked (before the seccomp filters). */
static int prepare_snapshots(struct vm *vm)
{
	char why[200];
	if (vcpu_state_supported(vm->kvm_fd, why, sizeof(why)) < 0) {
		log_debug("snapshots: %s", why);
		return 0; /* the control socket works; snapshot requests will be refused */
	}
	vm->msr_list = calloc(VCPU_STATE_MAX_MSRS, sizeof(*vm->msr_list));
	if (!vm->msr_list)
		return -ENOMEM;
	int n = vcpu_state_msr_list(vm->kvm_fd, vm->vcpus[0].fd, vm->msr_list, VCPU_STATE_MAX_MSRS);
	if (n < 0) {
		free(vm->msr_list);
		vm->msr_list = NULL;
		return n;
	}
	vm->n_msrs = (unsigned)n;
	return 0;
}

static int create_vcpus(struct vm *vm)
{
	vm->cpuid = cpuid_supported(vm->kvm_fd);
	if (!vm->cpuid)
		return -ENOMEM;
	vm->vcpus = calloc(vm->cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	vm->n_vcpus = vm->cfg->vcpus;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		int r = vcpu_create(&vm->vcpus[i], vm, i);
		if (r < 0)
			return r;
	}
	if (vm->cfg->control_socket.path[0] || vm->cfg->snapshots)
		return prepare_snapshots(vm);
	return 0;
}

/* The snapshot's state into the VM just made; the reader is freed. */
static int restore_state(struct vm *vm, struct snap_reader *snap)
{
	char why[PATH_MAX + 200];
	int r = snapshot_apply(vm, snap, why, sizeof(why));
	snap_reader_free(snap);
	if (r < 0) {
		log_error("%s: cannot restore: %s", vm->cfg->restore.path, why);
		return EXIT_CONFIG;
	}
	return 0;
}

/* The UART's transmit register through KVM's coalesced MMIO ring
 * ([console] coalesce): a console byte then costs the guest one exit (its
 * line-status read) instead of two. The guest sees the same registers: its
 * next exit, any read of the UART among them, replays the queued bytes
 * first. The zone is registered after the guest's first UART_COALESCE_AFTER
 * bytes (coalesced_mmio.h: registering costs each VM's teardown); without
 * the ring (an older KVM) every write exits, as before. */
#define UART_COALESCE_AFTER 4096

static void coalesce_uart(struct vm *vm)
{
	if (!vm->cfg->console_coalesce || !vm->uart_ready)
		return;
	int r = coalesced_mmio_init(&vm->coalesced, vm->kvm_fd, vm->vcpus[0].fd);
	if (r == 0)
		r = coalesced_mmio_add_zone(&vm->coalesced, vm->vm_fd,
					    UART_MMIO_BASE + UART_REG_THR, 1, UART_MMIO_BASE,
					    UART_MMIO_SIZE, UART_COALESCE_AFTER);
	if (r < 0) {
		log_debug("uart: every write exits (coalesced MMIO: %s)", strerror(-r));
		coalesced_mmio_fini(&vm->coalesced);
	}
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	coalesced_mmio_clear(&vm->coalesced);
	vm->kvm_fd = vm->vm_fd = vm->console_fd = vm->vcon_in_fd = vm->vcon_feed_fd = -1;
	bus_init(&vm->bus);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->pause_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->end_fd < 0 || vm->pause_fd < 0)
		return EXIT_HOST_FAILURE;
	static struct snap_reader snap;
	vm->restoring = cfg->restore.path[0] != '\0';
	if (vm->restoring) {
		char why[PATH_MAX + 200];
		if (snapshot_open(&snap, cfg->restore.path, cfg, why, sizeof(why)) < 0) {
			log_error("%s: cannot restore: %s", cfg->restore.path, why);
			return EXIT_CONFIG;
		}
		timing_mark(T_STATE_READ);
	}
	if (create_kvm_vm(vm) < 0)
		return EXIT_HOST_FAILURE;
	if (create_memory(vm) < 0) /* a snapshot's memory file is the user's input */
		return vm->restoring ? EXIT_CONFIG : EXIT_HOST_FAILURE;
	if (open_console(vm) < 0)
		return EXIT_CONFIG;
	int r = vm_devices_create(vm);
	if (r != 0)
		return r;
	if (!vm->restoring && load_guest(vm) < 0)
		return EXIT_CONFIG;
	if (create_vcpus(vm) < 0)
		return EXIT_HOST_FAILURE;
	coalesce_uart(vm);
	return vm->restoring ? restore_state(vm, &snap) : 0;
}

/* The main thread's own fds on the event loop (vm->loop, which serves the
 * devices too): console input, boot timeout, signals, VM end. */
struct loop {
	struct vm *vm;
	int sig_fd;
	int timer_fd;
	int in_fd;   /* -1 once input is closed */
	int in_raw;  /* input is a terminal in raw mode */
	int feed_fd; /* input goes to this pipe (virtio-console), else the UART */
	int escape;  /* the last byte was ESCAPE_CHAR */
	uint8_t pending[256];
	size_t pending_len, pending_off;
};

static void on_input(void *opaque, uint32_t events);
static void on_feed_ready(void *opaque, uint32_t events);

static void input_pause(struct loop *l, int pause)
{
	(void)event_loop_modify(&l->vm->loop, l->in_fd, pause ? 0 : EPOLLIN);
}

/* Hands up to n bytes of input to the console that takes it; returns how
 * many it took (0: full for now). A console pipe that fails (the device
 * is gone) takes and drops everything. */
static size_t deliver(struct vm *vm, struct loop *l, const uint8_t *p, size_t n)
{
	if (l->feed_fd < 0)
		return uart_receive(&vm->uart, p, n);
	ssize_t w;
	do
		w = write(l->feed_fd, p, n);
	while (w < 0 && errno == EINTR);
	if (w >= 0)
		return (size_t)w;
	if (errno == EAGAIN)
		return 0;
	return n;
}

/* Hands pending input to its console; pauses reading while it is full
 * (the UART wakes the loop through wake_fd, a console pipe through
 * on_feed_ready). */
static void feed(struct vm *vm, struct loop *l)
{
	while (l->pending_off < l->pending_len) {
		size_t n =
		    deliver(vm, l, l->pending + l->pending_off, l->pending_len - l->pending_off);
		if (n == 0) {
			input_pause(l, 1);
			if (l->feed_fd >= 0) /* EEXIST when already watched */
				(void)event_loop_add(&vm->loop, l->feed_fd, EPOLLOUT, on_feed_ready,
						     l);
			return;
		}
		l->pending_off += n;
	}
	l->pending_len = l->pending_off = 0;
	if (l->feed_fd >= 0) /* ENOENT when not watched */
		(void)event_loop_remove(&vm->loop, l->feed_fd);
	if (l->in_fd >= 0)
		input_pause(l, 0);
}

static void read_input(struct vm *vm, struct loop *l)
{
	uint8_t buf[sizeof(l->pending)];
	ssize_t n = read(l->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		(void)event_loop_remove(&vm->loop, l->in_fd);
		l->in_fd = -1;
		return;
	}
	l->pending_len = l->pending_off = 0;
	for (ssize_t i = 0; i < n; i++) {
		if (l->in_raw && l->escape) {
			l->escape = 0;
			if (buf[i] == 'x') {
				log_error("quit requested (Ctrl-A x)");
				vm_end(vm, END_SIGNAL, EXIT_SIGNAL_BASE + SIGINT);
				return;
			}
			if (buf[i] != ESCAPE_CHAR)
				continue;
		} else if (l->in_raw && buf[i] == ESCAPE_CHAR) {
			l->escape = 1;
			continue;
		}
		l->pending[l->pending_len++] = buf[i];
	}
	feed(vm, l);
}

static void on_input(void *opaque, uint32_t events)
{
	struct loop *l = opaque;
	(void)events;
	read_input(l->vm, l);
}

static void on_feed_ready(void *opaque, uint32_t events)
{
	struct loop *l = opaque;
	(void)events;
	feed(l->vm, l);
}

static void on_uart_wake(void *opaque, uint32_t events)
{
	struct loop *l = opaque;
	eventfd_t value;
	(void)events;
	(void)eventfd_read(l->vm->uart.wake_fd, &value);
	feed(l->vm, l);
}

static void on_signal(void *opaque, uint32_t events)
{
	struct loop *l = opaque;
	struct signalfd_siginfo si;
	(void)events;
	if (read(l->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		log_error("stopping the VM on signal %u", si.ssi_signo);
		vm_end(l->vm, END_SIGNAL, EXIT_SIGNAL_BASE + (int)si.ssi_signo);
	}
}

static void on_coalesced_timer(void *opaque, uint32_t events)
{
	struct loop *l = opaque;
	(void)events;
	coalesced_mmio_on_timer(&l->vm->coalesced, &l->vm->bus);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct loop *l = opaque;
	uint64_t value;
	(void)events;
	(void)!read(l->timer_fd, &value, sizeof(value));
	if (timing_get(T_BOOT_COMPLETE) == UINT64_MAX) {
		log_error("boot timeout: no boot-complete signal from the guest within %u ms",
			  l->vm->cfg->boot_timeout_ms);
		vm_report_vcpus(l->vm, 500);
		vm_end(l->vm, END_BOOT_TIMEOUT, EXIT_BOOT_TIMEOUT);
	}
}

/* vm_end() wrote end_fd: the loop returns to vm_run(). */
static void on_end(void *opaque, uint32_t events)
{
	struct loop *l = opaque;
	(void)events;
	event_loop_quit(&l->vm->loop);
}

static int loop_setup(struct vm *vm, struct loop *l)
{
	struct event_loop *ev = &vm->loop;
	memset(l, 0, sizeof(*l));
	l->vm = vm;
	l->sig_fd = l->timer_fd = l->in_fd = l->feed_fd = -1;
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by vCPU threads */
	l->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	int r;
	if (l->sig_fd < 0)
		return -errno;
	if ((r = event_loop_add(ev, l->sig_fd, EPOLLIN, on_signal, l)) < 0 ||
	    (r = event_loop_add(ev, vm->end_fd, EPOLLIN, on_end, l)) < 0)
		return r;
	if (vm->uart.wake_fd >= 0 &&
	    (r = event_loop_add(ev, vm->uart.wake_fd, EPOLLIN, on_uart_wake, l)) < 0)
		return r;
	if (vm->coalesced.ring &&
	    (r = event_loop_add(ev, vm->coalesced.timer_fd, EPOLLIN, on_coalesced_timer, l)) < 0)
		return r;
	if (vm->cfg->boot_timeout_ms && !vm->restoring) {
		l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		struct itimerspec its = {
		    .it_value = {vm->cfg->boot_timeout_ms / 1000,
				 (long)(vm->cfg->boot_timeout_ms % 1000) * 1000000},
		};
		if (l->timer_fd < 0 || timerfd_settime(l->timer_fd, 0, &its, NULL) < 0)
			return -errno;
		if ((r = event_loop_add(ev, l->timer_fd, EPOLLIN, on_timer, l)) < 0)
			return r;
	}
	if (vm->cfg->console_input) {
		/* epoll refuses regular files: those are read as they are. */
		if (event_loop_add(ev, STDIN_FILENO, EPOLLIN, on_input, l) == 0) {
			l->in_fd = STDIN_FILENO;
			l->in_raw = term_raw(STDIN_FILENO);
		}
	} else if (vm->vcon_feed_fd >= 0) {
		/* virtio-console port 0 takes the terminal, through the loop. */
		if ((r = event_loop_add(ev, STDIN_FILENO, EPOLLIN, on_input, l)) < 0)
			return r;
		l->in_fd = STDIN_FILENO;
		l->in_raw = term_raw(STDIN_FILENO);
		l->feed_fd = vm->vcon_feed_fd;
	}
#ifdef MINNOW_TEST_HOOKS
	if ((r = test_hooks_start(vm)) < 0)
		return r;
#endif
	return 0;
}

/* Takes the main thread's fds off the loop (the devices' stay) and closes
 * those it made. */
static void loop_teardown(struct vm *vm, struct loop *l)
{
	int fds[] = {l->sig_fd,	  vm->end_fd, vm->uart.wake_fd, vm->coalesced.timer_fd,
		     l->timer_fd, l->in_fd,   l->feed_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			(void)event_loop_remove(&vm->loop, fds[i]); /* -ENOENT: not on it */
	if (l->sig_fd >= 0)
		close(l->sig_fd);
	if (l->timer_fd >= 0)
		close(l->timer_fd);
#ifdef MINNOW_TEST_HOOKS
	test_hooks_stop(vm);
#endif
	term_restore();
}

/* The vCPUs have stopped, but a doorbell the guest rang just before it
 * ended (the last reply on a vsock connection, the last sectors before a
 * power-off) may still be unserved: the loop took end_fd first. Serve what
 * is ready now, a bounded number of rounds (a busy TAP must not keep a
 * stopped VM alive), so the guest's last requests reach their backends. */
static void drain_devices(struct vm *vm)
{
	if (event_loop_enter(&vm->loop) < 0)
		return;
	for (int round = 0; round < 16 && event_loop_poll(&vm->loop) > 0; round++)
		;
	event_loop_leave(&vm->loop);
}

int vm_run(struct vm *vm)
{
	struct loop l;
	int r = loop_setup(vm, &l);
	if (r < 0) {
		log_error("event loop: %s", strerror(-r));
		vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
		loop_teardown(vm, &l);
		return vm->exit_status;
	}
	vcpu_init_signals();
	/* Every thread's filter goes on once its set-up is done (seccomp_filter.h):
	 * each vCPU's as its thread starts, before KVM_RUN; the main thread's
	 * after it has started them (a thread inherits its creator's filter). */
	unsigned extra = (vm->io_threads ? SECCOMP_MAIN_IO_THREADS : 0) |
			 (vm->msr_list ? SECCOMP_MAIN_SNAPSHOTS : 0);
	if (seccomp_prepare(vm->cfg->seccomp, extra) < 0)
		vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
	/* Devices with threads of their own (drives) start them now: their
	 * filters go on as they start, before the guest runs. */
	if (!atomic_load(&vm->ended) && vm_devices_start(vm) < 0)
		vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
	for (unsigned i = 0; i < vm->n_vcpus && !atomic_load(&vm->ended); i++) {
		pthread_mutex_lock(&end_lock);
		r = vcpu_start(&vm->vcpus[i]);
		pthread_mutex_unlock(&end_lock);
		if (r < 0) {
			vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
			break;
		}
	}
	if (!atomic_load(&vm->ended) && seccomp_enter(SECCOMP_THREAD_MAIN, 0) < 0)
		vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
	/* One loop on this thread serves the devices and minnow's own fds
	 * until vm_end() writes end_fd (on_end). */
	r = event_loop_run(&vm->loop);
	if (r < 0)
		vm_end(vm, END_HOST_ERROR, EXIT_HOST_FAILURE);
	/* vm_end() has kicked every vCPU out of KVM_RUN, under end_lock:
	 * once the lock is ours its kicks are done, and later calls return at
	 * once. Join them. */
	pthread_mutex_lock(&end_lock);
	pthread_mutex_unlock(&end_lock);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	/* The guest's last console bytes may still be queued in KVM's ring. */
	coalesced_mmio_drain(&vm->coalesced, &vm->bus);
	loop_teardown(vm, &l);
	drain_devices(vm);
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->n_vcpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	free(vm->cpuid);
	vm->cpuid = NULL;
	free(vm->msr_list);
	vm->msr_list = NULL;
	coalesced_mmio_fini(&vm->coalesced);
	vm_devices_destroy(vm);
	if (vm->console_fd > STDERR_FILENO)
		close(vm->console_fd);
	if (vm->vcon_in_fd >= 0)
		close(vm->vcon_in_fd);
	if (vm->vcon_feed_fd >= 0)
		close(vm->vcon_feed_fd);
	vm->vcon_in_fd = vm->vcon_feed_fd = -1;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	guest_mem_unmap(&vm->mem);
	if (vm->end_fd >= 0)
		close(vm->end_fd);
	if (vm->pause_fd >= 0)
		close(vm->pause_fd);
	vm->vm_fd = vm->kvm_fd = vm->end_fd = vm->pause_fd = vm->console_fd = -1;
}
