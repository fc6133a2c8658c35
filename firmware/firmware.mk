# firmware/firmware.mk - builds minnow-test, the test unikernel, as a PVH ELF
# and as a bzImage (included by Makefile.in; uses its B, Q, CC and CFLAGS).
# The guest code is freestanding and avoids every instruction the emulating
# /dev/kvm described in README.md ("Tests") cannot run at CPL0; check-insns.sh enforces that.

FW_DIR = $(B)/firmware
FW_IMAGES = $(FW_DIR)/minnow-test.elf $(FW_DIR)/minnow-test.bzimage

FW_CFLAGS = -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wno-unused-parameter -Ivmm/x86 -Ifirmware \
	-ffreestanding -nostdlib -mgeneral-regs-only -mno-red-zone -mno-sse -mno-mmx \
	-mno-80387 -mno-popcnt -fno-pic -fno-pie -static -fno-stack-protector \
	-fcf-protection=none -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-tree-loop-distribute-patterns -fno-common -mcmodel=small
FW_ASFLAGS = -Ivmm/x86 -Ifirmware -D__ASSEMBLER__
FW_LDFLAGS = -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack \
	-Wl,--no-warn-rwx-segments -Wl,-z,max-page-size=0x1000

FW_OBJS = \
	$(FW_DIR)/entry.o \
	$(FW_DIR)/trampoline.o \
	$(FW_DIR)/isr.o \
	$(FW_DIR)/boot.o \
	$(FW_DIR)/main.o \
	$(FW_DIR)/console.o \
	$(FW_DIR)/control.o \
	$(FW_DIR)/irq.o \
	$(FW_DIR)/smp.o \
	$(FW_DIR)/tests.o \
	$(FW_DIR)/pvpanic.o \
	$(FW_DIR)/power_button.o \
	$(FW_DIR)/vmgenid.o \
	$(FW_DIR)/ends.o \
	$(FW_DIR)/lib.o \
	$(FW_DIR)/virtio.o \
	$(FW_DIR)/virtio_blk.o \
	$(FW_DIR)/virtio_tests.o \
	$(FW_DIR)/virtio_net.o \
	$(FW_DIR)/virtio_vsock.o \
	$(FW_DIR)/virtio_evil.o \
	$(FW_DIR)/blk_bench.o \
	$(FW_DIR)/exit_cost.o \
	$(FW_DIR)/blk_flush.o \
	$(FW_DIR)/faults.o \
	$(FW_DIR)/user.o \
	$(FW_DIR)/user_entry.o

firmware: $(FW_IMAGES)

$(FW_DIR)/%.o: firmware/%.c firmware/firmware.mk
	@mkdir -p $(dir $@)
	@echo "  FWCC    $<"
	$(Q)$(CC) $(FW_CFLAGS) -MMD -MP -c -o $@ $<

$(FW_DIR)/%.o: firmware/%.S firmware/firmware.mk
	@mkdir -p $(dir $@)
	@echo "  FWAS    $<"
	$(Q)$(CC) $(FW_ASFLAGS) -MMD -MP -c -o $@ $<

# Linked, then checked for forbidden instructions before it is kept.
$(FW_DIR)/minnow-test.elf: $(FW_OBJS) firmware/link.ld firmware/check-insns.sh
	@echo "  FW      $@"
	$(Q)$(CC) $(FW_LDFLAGS) -T firmware/link.ld -o $@.tmp $(FW_OBJS)
	$(Q)sh firmware/check-insns.sh $@.tmp
	$(Q)mv $@.tmp $@

# Host tool that writes the bzImage setup sectors around the flat image.
$(FW_DIR)/bzimage_setup: firmware/bzimage_setup.c firmware/firmware.mk
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	$(Q)$(CC) $(CFLAGS) -o $@ $<

$(FW_DIR)/minnow-test.bzimage: $(FW_DIR)/minnow-test.elf $(FW_DIR)/bzimage_setup
	@echo "  FW      $@"
	$(Q)$(FW_DIR)/bzimage_setup $< $@

# Runs the instruction check on its own (it also runs at every link).
firmware-check: $(FW_DIR)/minnow-test.elf
	$(Q)sh firmware/check-insns.sh $<
	@echo "  CHECK   $< has no forbidden instructions"

.PHONY: firmware firmware-check
