#!/bin/sh
# run.sh - the Linux tests (make check-linux): boots one L1 Linux host under QEMU TCG with emulated AMD SVM, runs minnow with real Linux guests inside it (tests/linux/l1-init.sh) and prints "linux: N passed, N failed, N skipped".
#
# This host's /dev/kvm cannot run a Linux kernel (README.md, "Tests"): the stock Debian
# cloud kernel boots as L1 under TCG with -cpu EPYC,+svm,+npt, loads kvm-amd
# and runs minnow there. Environment:
#   MINNOW          the minnow binary (default ./minnow)
#   LINUX_KERNEL    the kernel for L1 and L2 (default: newest /boot/vmlinuz-*-cloud-amd64)
#   LINUX_TESTS     names of the tests to run, blank-separated (default: all)
#   LINUX_TIMEOUT   seconds for the whole L1 run (default 900)
#   LINUX_SMP       L1 vCPUs (default 2; TCG runs them in parallel threads)
#   QEMU            default qemu-system-x86_64
#   GUEST_KERNEL_DIR  where `make guest-kernel` put bzImage and vmlinux
#                   (default build/guest-kernel); its tests skip without them
#   LINUX_L1_EXTRA  a shell script sourced by L1's init after the tests (for
#                   experiments; it can use l1-init.sh's functions)
#   LINUX_L1_QEMU   1: put QEMU (its libraries, qboot) in L1 too (for
#                   tests/bench/linux.sh)
#   LINUX_L1_SHELL  1: after the tests (LINUX_TESTS=none for none), an
#                   interactive shell in L1 on this terminal, with
#                   examples/linux*.ini ready to run (Ctrl-A x quits QEMU)
# Files: build/linux/l1/ (L1 initrd, L2 images, l1.log: the whole console).
set -eu
cd "$(dirname "$0")/../.."

MINNOW=${MINNOW:-./minnow}
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${LINUX_TIMEOUT:-900}
SMP=${LINUX_SMP:-2}
KERNEL=${LINUX_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
W=build/linux/l1
FW=build/firmware/minnow-test.elf
PROGS=build/linux

summary() {
	echo "linux: $1 passed, $2 failed, $3 skipped"
}

# Everything skipped, with the reason: the tests cannot run on this host.
skip_all() {
	echo "LINUXTEST all SKIP $*"
	summary 0 0 1
	exit 0
}

command -v "$QEMU" >/dev/null 2>&1 || skip_all "no $QEMU (apt-get install qemu-system-x86)"
[ -n "$KERNEL" ] && [ -r "$KERNEL" ] ||
	skip_all "no readable /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"
command -v busybox >/dev/null 2>&1 || skip_all "no busybox (apt-get install busybox-static)"
command -v cpio >/dev/null 2>&1 || skip_all "no cpio (apt-get install cpio)"
command -v mkfs.ext4 >/dev/null 2>&1 || skip_all "no mkfs.ext4 (apt-get install e2fsprogs)"
for f in "$MINNOW" "$FW" "$PROGS/minnow-init" "$PROGS/vsock-echo"; do
	[ -e "$f" ] || {
		echo "linux: missing $f (make minnow firmware linux-progs)" >&2
		exit 1
	}
done
KVER=${KERNEL##*/vmlinuz-}
MODDIR=/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || skip_all "no $MODDIR/modules.dep for $KERNEL"

t0=$(date +%s)
rm -rf "$W"
mkdir -p "$W/l2"

# ---- L2: what minnow boots inside L1 ----------------------------------------
sh firmware/mkinitrd.sh -k "$KVER" -o "$W/l2/initrd.cpio.gz" -a "$PROGS/vsock-echo" >/dev/null
# Without lz4 (or another decompressor) the ELF and PVH tests skip.
sh firmware/extract-vmlinux.sh "$KERNEL" "$W/l2/vmlinux" >/dev/null || rm -f "$W/l2/vmlinux"
sh firmware/mkinitrd.sh -m none -d "$W/rootfs-tree" -a "$PROGS/vsock-echo" >/dev/null
mkfs.ext4 -q -F -L minnow-root -d "$W/rootfs-tree" "$W/l2/rootfs.ext4" 32M >/dev/null
rm -rf "$W/rootfs-tree"
cp "$KERNEL" "$W/l2/bzImage"
cp "$FW" "$W/l2/minnow-test.elf"
# The small kernel of `make guest-kernel`, when built (else its tests skip).
GK=${GUEST_KERNEL_DIR:-build/guest-kernel}
if [ -f "$GK/bzImage" ] && [ -f "$GK/vmlinux" ]; then
	cp "$GK/bzImage" "$W/l2/small-bzImage"
	cp "$GK/vmlinux" "$W/l2/small-vmlinux"
	sh firmware/mkinitrd.sh -m none -o "$W/l2/small-initrd.cpio.gz" -a "$PROGS/vsock-echo" >/dev/null
fi

# ---- L1: busybox, kvm-amd, tun, loop, minnow and its libraries, the L2 files
extra="-a $MINNOW:/bin/minnow -a $PROGS/vsock-echo"
for lib in $(ldd "$MINNOW" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
	extra="$extra -a $lib:$lib"
done
if [ "${LINUX_L1_QEMU:-0}" = 1 ]; then
	q=$(command -v "$QEMU")
	extra="$extra -a $q:/usr/bin/qemu-system-x86_64"
	for lib in $(ldd "$q" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		extra="$extra -a $lib:$lib"
	done
	for f in qboot.rom bios-microvm.bin linuxboot_dma.bin pvh.bin kvmvapic.bin; do
		[ ! -e "/usr/share/qemu/$f" ] || extra="$extra -a /usr/share/qemu/$f:/usr/share/qemu/$f"
	done
fi
for f in "$W"/l2/*; do
	extra="$extra -a $f:/l2/${f##*/}"
done
# shellcheck disable=SC2086 # $extra is a list of options
sh firmware/mkinitrd.sh -k "$KVER" -n -M kvm_amd -M tun -M loop -i tests/linux/l1-init.sh \
	-d "$W/root" $extra >/dev/null
printf '%s\n' "${LINUX_TESTS:-}" >"$W/root/etc/linux-tests"
[ -z "${LINUX_L1_EXTRA:-}" ] || cp "$LINUX_L1_EXTRA" "$W/root/etc/l1-extra.sh"
[ "${LINUX_L1_SHELL:-0}" != 1 ] || : >"$W/root/etc/l1-shell"
# The examples run unchanged in L1's /: build/linux/* are the L2 files.
mkdir -p "$W/root/examples" "$W/root/build/linux"
cp examples/linux*.ini "$W/root/examples/"
ln -s /l2/bzImage "$W/root/build/linux/vmlinuz"
ln -s /l2/initrd.cpio.gz "$W/root/build/linux/initrd.cpio.gz"
ln -s /l2/rootfs.ext4 "$W/root/build/linux/rootfs.ext4"
# Not compressed: the L1 kernel would decompress it at TCG speed.
(cd "$W/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$W/l1.cpio"
rm -rf "$W/root"
t1=$(date +%s)
echo "linux: images ready in $((t1 - t0)) s (L1 initrd $(($(wc -c <"$W/l1.cpio") / 1048576)) MiB); booting L1 (TCG, $SMP vCPUs)"

# ---- boot L1 ----------------------------------------------------------------
QEMU_L1="$QEMU -M pc -accel tcg,thread=multi -cpu EPYC,+svm,+npt -m 3072 -smp $SMP -nodefaults
-no-user-config -nographic -serial stdio -kernel $KERNEL -initrd $W/l1.cpio -no-reboot"
if [ "${LINUX_L1_SHELL:-0}" = 1 ]; then
	# shellcheck disable=SC2086 # word splitting wanted
	exec $QEMU_L1 -append "console=ttyS0 quiet panic=-1"
fi
set +e
# shellcheck disable=SC2086 # word splitting wanted
timeout -s KILL "$TIMEOUT" $QEMU_L1 -append "console=ttyS0 quiet panic=-1" </dev/null 2>"$W/qemu.err" |
	tr -d '\r' | tee "$W/l1.log" | grep --line-buffered -E '^(LINUXTEST|BENCH|l1:|---- |  \| )'
set -e
t2=$(date +%s)
grep -v 'TCG doesn.t support requested feature' "$W/qemu.err" >&2 || true

# ---- results ------------------------------------------------------------------
plan=$(sed -n 's/.*LINUXPLAN //p' "$W/l1.log" | tail -n 1)
pass=$(grep -c '^LINUXTEST [^ ]* PASS' "$W/l1.log" || true)
fail=$(grep -c '^LINUXTEST [^ ]* FAIL' "$W/l1.log" || true)
skip=$(grep -c '^LINUXTEST [^ ]* SKIP' "$W/l1.log" || true)
if ! grep -q 'LINUXPLAN' "$W/l1.log"; then
	echo "LINUXTEST l1-boot FAIL L1 never reached its init (see $W/l1.log)"
	fail=$((fail + 1))
fi
for t in $plan; do
	if ! grep -q "^LINUXTEST $t " "$W/l1.log"; then
		echo "LINUXTEST $t FAIL no result: L1 stopped early or timed out after $TIMEOUT s (see $W/l1.log)"
		fail=$((fail + 1))
	fi
done
echo "linux: L1 run took $((t2 - t1)) s (whole suite $((t2 - t0)) s)"
summary "$pass" "$fail" "$skip"
[ "$fail" -eq 0 ]
