# firmware/linux.mk - real Linux guests: the static guest programs (minnow-init, vsock-echo), the initrd, the example files, a small guest kernel, and the Linux tests and benchmark run inside an L1 host under QEMU TCG (included by Makefile.in; uses its B, Q, CC and WARN).
#
#   make linux-progs     build/linux/minnow-init and build/linux/vsock-echo
#   make linux-initrd    build/linux/initrd.cpio.gz for the installed cloud kernel
#   make linux-example   everything examples/linux.ini and examples/linux-rootfs.ini
#                        name: build/linux/{vmlinuz,initrd.cpio.gz,rootfs.ext4}
#   make check-linux     the Linux tests in one L1 boot (tests/check.sh linux)
#   make bench-linux     tests/bench/linux.sh: minnow vs QEMU microvm, in one L1 boot
#   make guest-kernel    build/guest-kernel/{bzImage,vmlinux,config} from Debian's
#                        linux-source with firmware/guest-kernel.config (slow;
#                        works in GK_WORK, default /var/tmp/minnow-guest-kernel)
# LINUX_KERNEL names the kernel (default: the newest /boot/vmlinuz-*-cloud-amd64).

LINUX_DIR = $(B)/linux
LINUX_PROGS = $(LINUX_DIR)/minnow-init $(LINUX_DIR)/vsock-echo
# Static glibc binaries: no sanitizers, they do not link statically.
LINUX_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 $(WARN) -Ivmm -static
LINUX_KERNEL ?= $(shell ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
LINUX_KVER = $(patsubst vmlinuz-%,%,$(notdir $(LINUX_KERNEL)))

linux-progs: $(LINUX_PROGS)

$(LINUX_PROGS): $(LINUX_DIR)/%: firmware/%.c firmware/linux.mk vmm/platform.h
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(LINUX_CFLAGS) -o $@ $<

linux-initrd: $(LINUX_DIR)/initrd.cpio.gz

$(LINUX_DIR)/initrd.cpio.gz: $(LINUX_PROGS) firmware/mkinitrd.sh
	@test -n "$(LINUX_KERNEL)" || { echo "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64) and no LINUX_KERNEL" >&2; exit 1; }
	@echo "  INITRD  $@"
	$(Q)sh firmware/mkinitrd.sh -k $(LINUX_KVER) -o $@ -a $(LINUX_DIR)/vsock-echo

# The files the example configurations name. vmlinuz is a link to the
# installed kernel, so the ini files need no version number.
linux-example: $(LINUX_DIR)/initrd.cpio.gz $(LINUX_PROGS)
	$(Q)ln -sfn $(LINUX_KERNEL) $(LINUX_DIR)/vmlinuz
	$(Q)sh firmware/mkinitrd.sh -m none -d $(LINUX_DIR)/rootfs-tree -a $(LINUX_DIR)/vsock-echo
	$(Q)rm -f $(LINUX_DIR)/rootfs.ext4
	$(Q)mkfs.ext4 -q -F -L minnow-root -d $(LINUX_DIR)/rootfs-tree $(LINUX_DIR)/rootfs.ext4 64M >/dev/null
	@echo "  EXAMPLE $(LINUX_DIR)/vmlinuz -> $(LINUX_KERNEL), initrd.cpio.gz, rootfs.ext4"

check-linux: minnow firmware $(LINUX_PROGS)
	$(Q)sh tests/check.sh linux

bench-linux: minnow firmware $(LINUX_PROGS)
	$(Q)MINNOW=./minnow sh tests/bench/linux.sh

# ---- a small guest kernel with everything built in ------------------------
# tinyconfig + firmware/guest-kernel.config, built out of tree from the
# linux-source tarball (apt-get install linux-source flex bison bc libelf-dev)
# in GK_WORK, outside build/: Makefile.in includes every *.d file under build/
# and a kernel tree has many. The results are copied to build/guest-kernel/.
GUEST_KERNEL_SRC ?= $(shell ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
GK_WORK ?= /var/tmp/minnow-guest-kernel
GK = $(B)/guest-kernel
GK_JOBS ?= $(shell nproc)

guest-kernel: firmware/guest-kernel.config
	@test -n "$(GUEST_KERNEL_SRC)" || { echo "guest-kernel: no /usr/src/linux-source-*.tar.xz (apt-get install linux-source flex bison bc libelf-dev)" >&2; exit 1; }
	@mkdir -p $(GK) $(GK_WORK)
	$(Q)if [ ! -f $(GK_WORK)/src/Makefile ]; then \
		echo "  UNTAR   $(GUEST_KERNEL_SRC) in $(GK_WORK)"; \
		rm -rf $(GK_WORK)/src $(GK_WORK)/linux-source-*; \
		tar -C $(GK_WORK) -xf $(GUEST_KERNEL_SRC) && mv $(GK_WORK)/linux-source-* $(GK_WORK)/src; fi
	@echo "  CONFIG  tinyconfig + firmware/guest-kernel.config"
	$(Q)$(MAKE) -s -C $(GK_WORK)/src O=$(GK_WORK)/obj tinyconfig >/dev/null
	$(Q)cd $(GK_WORK)/obj && $(GK_WORK)/src/scripts/kconfig/merge_config.sh -m -O . .config \
		$(CURDIR)/firmware/guest-kernel.config >merge.log
	$(Q)$(MAKE) -s -C $(GK_WORK)/src O=$(GK_WORK)/obj olddefconfig
	$(Q)missing=$$(grep '^CONFIG_.*=[ym]' firmware/guest-kernel.config | while read -r l; do \
		grep -qx "$$l" $(GK_WORK)/obj/.config || echo "$$l"; done); \
	if [ -n "$$missing" ]; then echo "guest-kernel: not taken by kconfig:" $$missing >&2; exit 1; fi
	@echo "  KBUILD  $(GK_WORK)/obj (many minutes)"
	$(Q)$(MAKE) -s -C $(GK_WORK)/src O=$(GK_WORK)/obj -j$(GK_JOBS) bzImage vmlinux
	$(Q)cp $(GK_WORK)/obj/arch/x86/boot/bzImage $(GK)/bzImage
	$(Q)cp $(GK_WORK)/obj/vmlinux $(GK)/vmlinux
	$(Q)cp $(GK_WORK)/obj/.config $(GK)/config
	@echo "  KERNEL  $(GK)/bzImage $(GK)/vmlinux"

.PHONY: linux-progs linux-initrd linux-example check-linux bench-linux guest-kernel
