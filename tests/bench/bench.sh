#!/bin/sh
# bench.sh - `make bench`: `minnow bench` boots the hello firmware, each run
# followed by the same firmware under QEMU's microvm, minnow with 2 vCPUs and
# /bin/true (the cost of a process), and prints the phase distributions and
# the ratios of medians (every run in build/bench/boot.jsonl, the median
# run's timeline in build/bench/boot-trace.json); then a restored hello next
# to a cold one (tests/bench/restore.sh), 1, 2 and 4 vCPUs next to QEMU
# with as many (tests/bench/vcpus.sh) and the virtio-blk part
# (tests/bench/blk.sh, build/bench/results.json). Benchmarks are not tests:
# this exits non-zero only when minnow itself fails (or is not built).
#
# Environment: BENCH_RUNS (default 50), BENCH_TIMEOUT (seconds per run,
# default 20), MINNOW (default ./minnow), QEMU (default qemu-system-x86_64),
# BENCH_SAN (make passes SAN_FLAGS: numbers from a sanitizer build are flagged);
# BENCH_BLK_RUNS, BENCH_BLK_MS, BENCH_BLK_MIB, BENCH_BLK_TIMEOUT, BENCH_BLK_LOAD
# (blk.sh).
set -u
cd "$(dirname "$0")/../.." || exit 1

RUNS=${BENCH_RUNS:-50}
TIMEOUT=${BENCH_TIMEOUT:-20}
QEMU=${QEMU:-qemu-system-x86_64}
MINNOW=${MINNOW:-./minnow}
CONFIG=examples/hello.ini
PVH=build/firmware/minnow-test.elf
OUT=build/bench/results.json
RUNS_OUT=build/bench/boot.jsonl
TRACE_OUT=build/bench/boot-trace.json

. tests/bench/lib.sh
positive_ints "BENCH_RUNS=$RUNS" "BENCH_TIMEOUT=$TIMEOUT"

# No usable /dev/kvm here (and not already inside L1): measure inside the L1
# host, where the figures are TCG timings and only the ratios count.
if [ -z "${MINNOW_BENCH_IN_L1:-}" ] && ! { [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; }; then
	echo "bench: this host has no usable /dev/kvm: measuring inside the L1 host" \
		"(nested KVM under QEMU TCG; a few minutes)"
	exec sh tests/bench/in-l1.sh
fi

missing=
[ -x "$MINNOW" ] || missing="$missing
  $MINNOW (make minnow)"
[ -f "$CONFIG" ] || missing="$missing
  $CONFIG (the hello VM's config)"
[ -f "$PVH" ] || missing="$missing
  $PVH (the test unikernel, PVH entry: make firmware)"
if [ -n "$missing" ]; then
	echo "bench: cannot run, missing:$missing" >&2
	exit 1
fi

case ${BENCH_SAN:-} in
*-fsanitize*)
	echo "bench: warning: minnow was built with sanitizers ($BENCH_SAN): its numbers are not" \
		"representative (rebuild after ./configure without --enable-sanitizers)"
	;;
esac

# minnow boots the same PVH image as QEMU, whatever image hello.ini names.
MINNOW2_CMD="$MINNOW run $CONFIG --set kernel.path=$PVH --set vm.vcpus=2"

# QEMU 7.2 microvm with everything optional off. All five machine options are
# accepted by 7.2 and none stops the firmware from booting. Without minnow's
# control device the firmware ends in a triple fault, and -no-reboot makes
# QEMU exit (status 0) instead of resetting. -cpu host alone fails on this
# host's kvm_pvm (setting MSR 0x10a), hence -arch-capabilities.
QEMU_CMD="$QEMU -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=off \
-accel kvm -cpu host,-arch-capabilities -m 64M -smp 1 -nodefaults -no-user-config \
-nographic -display none -no-reboot -kernel $PVH -append test=hello"

mkdir -p "$(dirname "$OUT")" || exit 1
rm -f "$OUT" "$RUNS_OUT" "$TRACE_OUT"
if command -v "$QEMU" >/dev/null 2>&1; then
	set -- --compare "$QEMU_CMD"
else
	echo "bench: QEMU column skipped: $QEMU not found in PATH (Debian package qemu-system-x86)"
	set --
fi
"$MINNOW" bench "$CONFIG" --set kernel.path="$PVH" -n "$RUNS" --timeout "$TIMEOUT" "$@" \
	--compare "$MINNOW2_CMD" --compare /bin/true --json "$RUNS_OUT" --trace "$TRACE_OUT"
st=$?
[ "$st" -eq 0 ] || exit "$st"
echo "runs: $RUNS_OUT; the median run's timeline: $TRACE_OUT (ui.perfetto.dev)"

# Warm start: a restored hello against a cold one (tests/bench/restore.sh).
MINNOW=$MINNOW CONFIG=$CONFIG PVH=$PVH RUNS=$RUNS TIMEOUT=$TIMEOUT sh tests/bench/restore.sh "$@" ||
	exit 1

# 1, 2 and 4 vCPUs, each next to QEMU with as many (tests/bench/vcpus.sh).
QSMP=
[ $# -eq 0 ] || QSMP=$(echo "$QEMU_CMD" | sed 's/-smp 1/-smp SMP/')
MINNOW=$MINNOW CONFIG=$CONFIG PVH=$PVH RUNS=$RUNS TIMEOUT=$TIMEOUT QEMU_SMP_CMD=$QSMP \
	sh tests/bench/vcpus.sh || exit 1

# The virtio part: blk-bench IOPS and MiB/s, exits per kick, interrupts per
# batch (tests/bench/blk.sh appends its "virtio_blk" member to $OUT).
MINNOW=$MINNOW QEMU=$QEMU sh tests/bench/blk.sh
