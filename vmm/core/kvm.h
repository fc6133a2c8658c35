/* kvm.h - the one wrapper through which minnow calls KVM ioctls, and the
 * table of capabilities it needs. */
#ifndef MINNOW_KVM_H
#define MINNOW_KVM_H

#include <stddef.h>

/* Calls ioctl(fd, request, arg), retrying EINTR. On failure logs
 * "<name>: <strerror>" (unless quiet) and returns -errno; else the ioctl's
 * non-negative result. Use through the KVM_IOCTL macro, which names the
 * request. */
int kvm_ioctl_named(int fd, unsigned long request, void *arg, const char *name, int quiet);
#define KVM_IOCTL(fd, req, arg)	      kvm_ioctl_named((fd), (req), (void *)(arg), #req, 0)
#define KVM_IOCTL_QUIET(fd, req, arg) kvm_ioctl_named((fd), (req), (void *)(arg), #req, 1)

/* Opens /dev/kvm, checks the API version and every required capability.
 * Returns the fd, or -errno with one line logged naming what is missing. */
int kvm_open(void);

/* Size of the mmap'd struct kvm_run for each vCPU (KVM_GET_VCPU_MMAP_SIZE). */
int kvm_vcpu_mmap_size(int kvm_fd);

#endif
