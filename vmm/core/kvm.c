/* kvm.c - /dev/kvm, the named ioctl wrapper and the capability check. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"

struct kvm_cap_need {
	int cap;
	const char *name;
};

/* Everything minnow relies on; checked once, up front. */
static const struct kvm_cap_need required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
};

int kvm_ioctl_named(int fd, unsigned long request, void *arg, const char *name, int quiet)
{
	int r;
	do {
		r = ioctl(fd, request, arg);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		int err = errno;
		if (!quiet)
			log_error("%s: %s", name, strerror(err));
		return -err;
	}
	return r;
}

int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		/* One line that says what to do: this is the first thing a new user meets. */
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			log_error(
			    "/dev/kvm: %s (load the kvm module: modprobe kvm_intel or kvm_amd, "
			    "or run where /dev/kvm exists)",
			    strerror(err));
		else if (err == EACCES || err == EPERM)
			log_error(
			    "/dev/kvm: %s (give this user read-write access to it, e.g. add it "
			    "to the kvm group)",
			    strerror(err));
		else
			log_error("/dev/kvm: %s", strerror(err));
		return -err;
	}
	int version = KVM_IOCTL(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_error("/dev/kvm: API version %d, need %d", version, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		int have = KVM_IOCTL(fd, KVM_CHECK_EXTENSION, (long)required_caps[i].cap);
		if (have <= 0) {
			log_error("/dev/kvm lacks %s", required_caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	return fd;
}

int kvm_vcpu_mmap_size(int kvm_fd)
{
	return KVM_IOCTL(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
}
