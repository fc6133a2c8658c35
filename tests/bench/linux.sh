#!/bin/sh
# linux.sh - make bench-linux: in one L1 boot (tests/l1/run.sh), boots the stock Debian kernel + minnow's initrd N times under minnow and under QEMU microvm (-accel kvm) and prints exec->boot complete and exec->exit (median, min, max) with the QEMU/minnow ratio.
#
# Inside L1 everything runs at TCG speed: only the ratio means anything.
# "Boot complete" is the same point in minnow-init for both: minnow's control
# device write (boot_complete_us) and, under QEMU (no control device), the
# "minnow-init: ready" console line, timestamped when the harness reads it.
# Environment: BENCH_LINUX_RUNS (default 5), MINNOW, QEMU, LINUX_KERNEL (see
# tests/l1/run.sh). Results also in build/bench/linux.json. A benchmark, not
# a test: exits non-zero only when nothing could be measured.
set -eu
cd "$(dirname "$0")/../.."

RUNS=${BENCH_LINUX_RUNS:-5}
case $RUNS in
'' | *[!0-9]* | 0)
	echo "bench-linux: BENCH_LINUX_RUNS must be a positive integer, not '$RUNS'" >&2
	exit 2
	;;
esac
mkdir -p build/bench
L1SCRIPT=build/bench/linux-l1.sh
OUT=build/bench/linux.json
LOG=build/l1/l1.log

# ---- what L1's init runs (sourced by tests/l1/init.sh after tests/linux/l1-part.sh)
{
	echo "RUNS=$RUNS"
	cat <<'EOF'
us() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1e6 }'; }
CMDLINE="console=ttyS0 quiet panic=-1 minnow.exec=true"
ini bench /l2/bzImage bzimage "$CMDLINE"
i=1
while [ "$i" -le "$RUNS" ]; do
	t0=$EPOCHREALTIME
	/bin/minnow run "$W/bench.ini" --timings=json >/dev/null 2>"$W/bench.err" </dev/null
	st=$?
	t1=$EPOCHREALTIME
	boot=$(grep '^{' "$W/bench.err" | sed -n 's/.*"boot_complete_us":\([0-9a-z]*\).*/\1/p')
	echo "BENCH minnow $i status=$st boot_us=${boot:-null} exit_us=$(us "$t0" "$t1")"
	[ "$st" = 0 ] || tail -n 5 "$W/bench.err" | sed 's/^/  | /'

	t0=$EPOCHREALTIME
	{
		qemu-system-x86_64 -L /usr/share/qemu -M microvm,acpi=on,pit=off,pic=off,rtc=off -accel kvm -cpu host \
			-m 256M -smp 2 -nodefaults -no-user-config -nographic -serial stdio \
			-kernel /l2/bzImage -initrd /l2/initrd.cpio.gz -append "$CMDLINE" -no-reboot \
			</dev/null 2>"$W/qemu.err"
		echo "STATUS $?"
	} | while IFS= read -r l; do
		case $l in
		*"minnow-init: ready"*) echo "READY $EPOCHREALTIME" ;;
		STATUS*) echo "$l" ;;
		esac
	done >"$W/qemu.marks"
	t1=$EPOCHREALTIME
	ready=$(sed -n 's/^READY //p' "$W/qemu.marks" | head -n 1)
	st=$(sed -n 's/^STATUS //p' "$W/qemu.marks")
	boot=null
	[ -z "$ready" ] || boot=$(us "$t0" "$ready")
	echo "BENCH qemu $i status=$st boot_us=$boot exit_us=$(us "$t0" "$t1")"
	[ "$st" = 0 ] || tail -n 5 "$W/qemu.err" | sed 's/^/  | /'
	i=$((i + 1))
done
EOF
} >"$L1SCRIPT"

echo "bench-linux: $RUNS runs each of minnow and QEMU microvm in one L1 boot (TCG: minutes)"
# The Linux part with no tests defines ini() and the L2 files for L1SCRIPT.
L1_PARTS=linux LINUX_TESTS=none L1_EXTRA=$L1SCRIPT L1_QEMU=1 L1_TIMEOUT=$((180 + RUNS * 150)) \
	sh tests/l1/run.sh >build/bench/linux-run.log 2>&1 || true
if ! grep -q '^BENCH ' "$LOG" 2>/dev/null; then
	echo "bench-linux: no measurements; see build/bench/linux-run.log and $LOG" >&2
	tail -n 20 build/bench/linux-run.log >&2
	exit 1
fi
grep -E '^(BENCH|  \| )' "$LOG" | sed 's/^/  /'

# ---- statistics: median, min, max in ms, over the runs with status 0 ---------
stats() { # TOOL FIELD -> "median min max n" (ms) or "- - - 0"
	grep "^BENCH $1 .*status=0 " "$LOG" | sed -n "s/.* $2=\([0-9][0-9]*\).*/\1/p" | sort -n |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "- - - 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.0f %.0f %.0f %d\n", m / 1000, v[1] / 1000, v[NR] / 1000, NR }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == 0) print "-"; else printf "%.2f", b / a }'; }

json="{\"runs\":$RUNS"
printf '\n%-22s %-28s %-32s %s\n' "bench-linux (ms)" "minnow med (min-max) n" "qemu microvm med (min-max) n" "qemu/minnow"
# shellcheck disable=SC2046,SC2086 # splitting the stats fields is intended
for field in boot_us exit_us; do
	set -- $(stats minnow $field)
	m_med=$1 m_min=$2 m_max=$3 m_n=$4
	set -- $(stats qemu $field)
	q_med=$1 q_min=$2 q_max=$3 q_n=$4
	label="exec->boot complete"
	[ "$field" = boot_us ] || label="exec->exit"
	printf '%-22s %-28s %-32s %s\n' "$label" "$m_med ($m_min-$m_max) $m_n" \
		"$q_med ($q_min-$q_max) $q_n" "$(ratio "$m_med" "$q_med")"
	j() { [ "$1" = - ] && echo null || echo "$1"; }
	json="$json,\"${field%_us}\":{\"minnow_ms\":{\"median\":$(j $m_med),\"min\":$(j $m_min),\"max\":$(j $m_max),\"n\":$m_n},\"qemu_ms\":{\"median\":$(j $q_med),\"min\":$(j $q_min),\"max\":$(j $q_max),\"n\":$q_n}}"
done
echo "$json}" >"$OUT"
echo "bench-linux: inside an L1 host under TCG; compare the ratio only. JSON: $OUT"
