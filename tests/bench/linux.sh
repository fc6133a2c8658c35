#!/bin/sh
# linux.sh - make bench-linux: `minnow bench` inside one L1 boot (tests/l1/run.sh, QEMU in L1 too) on the stock Debian kernel + minnow's initrd booted to power-off, with QEMU microvm booting the same kernel and initrd as its --compare command.
#
# The guest: 2 vCPUs, 256M, kernel command line `minnow.exec=true` on both
# (one word: --compare splits at blanks; no console, so neither VMM spends
# time on kernel messages), minnow-init running `true` and powering off.
# minnow bench prints the distributions of minnow's phases, the guest's
# marks included (guest_init_us: minnow-init starts; boot_complete_us and
# guest_command_us: the command starts), exec to exit, peak RSS, and QEMU's
# exec to exit (its boot complete is its exit: it has no control device)
# with the ratio of the medians; then the same boot with the kernel
# decompressed on the host (`[kernel] decompress = host`, from the cache)
# against the guest's own decompressor.
# Last, the same boot with 1, 2 and 4 vCPUs under both VMMs: the medians and
# what each vCPU past the first adds.
# Inside L1 everything runs at TCG speed: only the ratios mean anything.
# Environment: BENCH_LINUX_RUNS (default 5), BENCH_LINUX_TIMEOUT (seconds per
# run, default 120), LINUX_KERNEL (see tests/l1/run.sh). Every run in
# build/bench/linux.jsonl (minnow bench --json). A benchmark, not a test:
# exits non-zero only when nothing could be measured.
set -eu
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

RUNS=${BENCH_LINUX_RUNS:-5}
TIMEOUT=${BENCH_LINUX_TIMEOUT:-120}
positive_ints "BENCH_LINUX_RUNS=$RUNS" "BENCH_LINUX_TIMEOUT=$TIMEOUT"
mkdir -p build/bench
L1SCRIPT=build/bench/linux-l1.sh
OUT=build/bench/linux.jsonl
LOG=build/l1/l1.log

# ---- what L1's init runs (sourced by tests/l1/init.sh after tests/linux/l1-part.sh)
{
	echo "RUNS=$RUNS TIMEOUT=$TIMEOUT"
	cat <<'EOF'
CONSOLE_OUT=none
ini bench /l2/bzImage bzimage "minnow.exec=true"
mkdir -p /out/bench
/bin/minnow bench "$W/bench.ini" -n "$RUNS" --timeout "$TIMEOUT" --json /out/bench/linux.jsonl \
	--compare "qemu-system-x86_64 -L /usr/share/qemu -M microvm,x-option-roms=off,rtc=on,pit=off,pic=off,isa-serial=off,acpi=on -accel kvm -cpu host -m 256M -smp 2 -nodefaults -no-user-config -display none -no-reboot -kernel /l2/bzImage -initrd /l2/initrd.cpio -append minnow.exec=true" \
	</dev/null 2>&1 | sed 's/^/  | /'
# [kernel] decompress: the bzImage's LZ4 kernel decompressed by the guest,
# against decompressed once on the host and loaded from the cache (the
# first run, which fills the cache, timed on its own).
export XDG_CACHE_HOME=$W/xdg
rm -rf "$XDG_CACHE_HOME"
echo "  | == [kernel] decompress: host (cached after the first run) against guest"
t0=$(now)
/bin/minnow run "$W/bench.ini" --set kernel.decompress=host --timings=json </dev/null 2>"$W/dcold.err" >/dev/null
echo "  | first run with decompress = host (fills the cache): $(secs "$t0" "$(now)") s, $(grep -o '"kernel_loaded_us":[0-9]*' "$W/dcold.err")"
/bin/minnow bench "$W/bench.ini" --set kernel.decompress=host -n "$RUNS" --timeout "$TIMEOUT" \
	--compare "/bin/minnow run $W/bench.ini --set kernel.decompress=guest" </dev/null 2>&1 | sed 's/^/  | /'
# vCPUs: exec to exit of the same boot with 1, 2 and 4 vCPUs, QEMU -smp N
# interleaved, one "BENCHV N" line of medians each.
QV="qemu-system-x86_64 -L /usr/share/qemu -M microvm,x-option-roms=off,rtc=on,pit=off,pic=off,isa-serial=off,acpi=on -accel kvm -cpu host -m 256M -nodefaults -no-user-config -display none -no-reboot -kernel /l2/bzImage -initrd /l2/initrd.cpio -append minnow.exec=true"
echo "  | == vCPUs: exec to exit with 1, 2 and 4 vCPUs (medians of $RUNS runs, ms)"
for n in 1 2 4; do
	/bin/minnow bench "$W/bench.ini" --set vm.vcpus=$n -n "$RUNS" --timeout "$TIMEOUT" \
		--compare "$QV -smp $n" --json "$W/v$n.jsonl" </dev/null >/dev/null 2>&1
	m=$(grep '^{"summary"' "$W/v$n.jsonl" | grep -v '"of":"compare' | head -n 1 |
		sed -n 's/.*"wall_us":{[^}]*"p50":\([0-9]*\).*/\1/p')
	q=$(grep '^{"summary"' "$W/v$n.jsonl" | grep '"of":"compare 0"' |
		sed -n 's/.*"wall_us":{[^}]*"p50":\([0-9]*\).*/\1/p')
	echo "BENCHV $n ${m:-0} ${q:-0}"
done
EOF
} >"$L1SCRIPT"

echo "bench-linux: minnow bench, $RUNS runs of Linux to power-off, QEMU microvm interleaved, in one L1 boot (TCG: minutes)"
# The Linux part with no tests defines ini() and the L2 files for L1SCRIPT.
rm -rf build/bench/linux-l1
L1_PARTS=linux LINUX_TESTS=none L1_EXTRA=$L1SCRIPT L1_QEMU=1 L1_KEYS=1 L1_OUT=build/bench/linux-l1 \
	L1_TIMEOUT=$((300 + RUNS * 8 * TIMEOUT)) sh tests/l1/run.sh >build/bench/linux-run.log 2>&1 || true
if ! grep -q '^  | minnow bench' "$LOG" 2>/dev/null; then
	echo "bench-linux: no measurements; see build/bench/linux-run.log and $LOG" >&2
	tail -n 20 build/bench/linux-run.log >&2
	exit 1
fi
sed -n 's/^  | //p' "$LOG"
grep '^BENCHV ' "$LOG" | awk '
	{ m[$2] = $3 / 1000; q[$2] = $4 / 1000
	  printf "  %d vCPUs: minnow %.0f ms, qemu %.0f ms (%s)\n", $2, m[$2], q[$2], ($4 > 0 ? sprintf("%.2fx", $3 / $4) : "-") }
	END { if ((1 in m) && (4 in m))
		printf "  each vCPU past the first: minnow %+.0f ms, qemu %+.0f ms (from 1 to 4)\n",
			(m[4] - m[1]) / 3, (q[4] - q[1]) / 3 }'
[ ! -f build/bench/linux-l1/bench/linux.jsonl ] || cp build/bench/linux-l1/bench/linux.jsonl "$OUT"
l1_freezes bench-linux build/bench/linux-run.log
echo "bench-linux: inside an L1 host under TCG; compare the ratios. Every run: $OUT"
