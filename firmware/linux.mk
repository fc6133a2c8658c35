# firmware/linux.mk - real Linux guests: the static guest programs (minnow-init, vsock-echo), the initrd, the example files, a small guest kernel, and the Linux tests and benchmark run inside an L1 host under QEMU TCG (included by Makefile.in; uses its B, Q, CC and WARN).
#
#   make linux-progs     build/linux/minnow-init, vsock-echo and pty-run (a test tool)
#   make linux-initrd    build/linux/initrd.cpio for the installed cloud kernel
#   make linux-example   everything examples/linux.ini and examples/linux-rootfs.ini
#                        name: build/linux/{vmlinuz,initrd.cpio,rootfs.ext4}
#   make check-linux     the Linux tests in one L1 boot (tests/check.sh linux)
#   make bench-linux     tests/bench/linux.sh: minnow bench of Linux boots, QEMU microvm
#                        as --compare, in one L1 boot
#   make guest-kernel    build/guest-kernel/{bzImage,vmlinux,config}: a small kernel
#                        from Debian's linux-source and firmware/guest-kernel.config,
#                        built once per machine (about 10 minutes on 2 cores) and
#                        then copied from ~/.cache/minnow/guest-kernel/ in well
#                        under a second (firmware/guest-kernel.sh)
# LINUX_KERNEL names the kernel (default: the newest /boot/vmlinuz-*-cloud-amd64).

LINUX_DIR = $(B)/linux
LINUX_PROGS = $(LINUX_DIR)/minnow-init $(LINUX_DIR)/vsock-echo $(LINUX_DIR)/pty-run
# Static glibc binaries: no sanitizers, they do not link statically.
LINUX_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 $(WARN) -Ivmm/x86 -static
LINUX_KERNEL ?= $(shell ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
LINUX_KVER = $(patsubst vmlinuz-%,%,$(notdir $(LINUX_KERNEL)))

linux-progs: $(LINUX_PROGS)

$(LINUX_DIR)/vsock-echo: $(LINUX_DIR)/%: firmware/%.c firmware/linux.mk vmm/x86/platform.h
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(LINUX_CFLAGS) -o $@ $<

# The Linux tests' pseudo-terminal driver (minnow exec with a terminal).
$(LINUX_DIR)/pty-run: tests/linux/pty-run.c firmware/linux.mk
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(LINUX_CFLAGS) -o $@ $<

# minnow-init shares minnow exec's protocol code with minnow.
$(LINUX_DIR)/minnow-init: firmware/minnow-init.c vmm/exec/exec_proto.c vmm/exec/exec_proto.h \
		firmware/linux.mk vmm/x86/platform.h
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(LINUX_CFLAGS) -Ivmm/exec -o $@ firmware/minnow-init.c vmm/exec/exec_proto.c

linux-initrd: $(LINUX_DIR)/initrd.cpio

$(LINUX_DIR)/initrd.cpio: $(LINUX_PROGS) firmware/mkinitrd.sh
	@test -n "$(LINUX_KERNEL)" || { echo "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64) and no LINUX_KERNEL" >&2; exit 1; }
	@echo "  INITRD  $@"
	$(Q)sh firmware/mkinitrd.sh -k $(LINUX_KVER) -o $@ -a $(LINUX_DIR)/vsock-echo

# The files the example configurations name. vmlinuz is a link to the
# installed kernel, so the ini files need no version number.
linux-example: $(LINUX_DIR)/initrd.cpio $(LINUX_PROGS)
	$(Q)ln -sfn $(LINUX_KERNEL) $(LINUX_DIR)/vmlinuz
	$(Q)sh firmware/mkinitrd.sh -m none -d $(LINUX_DIR)/rootfs-tree -a $(LINUX_DIR)/vsock-echo
	$(Q)rm -f $(LINUX_DIR)/rootfs.ext4
	$(Q)mkfs.ext4 -q -F -L minnow-root -d $(LINUX_DIR)/rootfs-tree $(LINUX_DIR)/rootfs.ext4 64M >/dev/null
	@echo "  EXAMPLE $(LINUX_DIR)/vmlinuz -> $(LINUX_KERNEL), initrd.cpio, rootfs.ext4"

check-linux: minnow $(B)/minnow-testhooks firmware $(LINUX_PROGS) guest-kernel
	$(Q)sh tests/check.sh linux

bench-linux: minnow firmware $(LINUX_PROGS)
	$(Q)MINNOW=./minnow sh tests/bench/linux.sh

# ---- a small guest kernel with everything built in ------------------------
# firmware/guest-kernel.sh builds it out of tree in the cache under
# ${XDG_CACHE_HOME:-~/.cache}/minnow/guest-kernel/, keyed by a hash of the
# config fragment, the linux-source tarball, the script and the compiler, and
# copies it to build/guest-kernel/. Nothing is shared between checkouts but
# that cache, whose builds are flock-protected: two concurrent `make check`s
# build a kernel once. Phony: the script itself tells a hit from a miss.
# GUEST_KERNEL_SRC names another tarball; GK_JOBS sets the parallelism.
GUEST_KERNEL_SRC ?=
GK_JOBS ?=
GK = $(B)/guest-kernel

guest-kernel:
	$(Q)GK_JOBS=$(GK_JOBS) sh firmware/guest-kernel.sh firmware/guest-kernel.config $(GK) $(GUEST_KERNEL_SRC)

.PHONY: linux-progs linux-initrd linux-example check-linux bench-linux guest-kernel
