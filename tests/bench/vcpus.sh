#!/bin/sh
# vcpus.sh - the vCPU part of `make bench`: exec to exit of the hello
# firmware with 1, 2 and 4 vCPUs, under minnow and under QEMU's microvm
# (-smp N), each minnow run followed by a QEMU run; the medians side by side
# and what each vCPU past the first adds. The firmware starts no
# application processors, so this is the VMM's own cost of a vCPU: its
# thread, its KVM state, its part of the tables the guest is given.
#
# Environment: what bench.sh passes (MINNOW, CONFIG, PVH, RUNS, TIMEOUT,
# QEMU_SMP_CMD: the QEMU command line with SMP where the vCPU count goes;
# empty: no QEMU column).
set -u
cd "$(dirname "$0")/../.." || exit 1

# p50 FILE WHICH: the median wall_us of minnow's runs (WHICH = minnow) or
# of the compared command's (WHICH = compare), in ms.
p50() {
	if [ "$2" = minnow ]; then
		grep '^{"summary"' "$1" | grep -v '"of":"compare' | head -n 1
	else
		grep '^{"summary"' "$1" | grep '"of":"compare 0"'
	fi | sed -n 's/.*"wall_us":{[^}]*"p50":\([0-9]*\).*/\1/p' | awk '{ printf "%.2f", $1 / 1000 }'
}

echo
echo "== vCPUs: exec to exit of the hello firmware with 1, 2 and 4 vCPUs ($RUNS runs each)"
printf '  %-6s %12s %12s %12s\n' vCPUs "minnow (ms)" "qemu (ms)" "minnow/qemu"
for n in 1 2 4; do
	out=build/bench/vcpus-$n.jsonl
	rm -f "$out"
	if [ -n "${QEMU_SMP_CMD:-}" ]; then
		set -- --compare "$(echo "$QEMU_SMP_CMD" | sed "s/SMP/$n/")"
	else
		set --
	fi
	"$MINNOW" bench "$CONFIG" --set kernel.path="$PVH" --set vm.vcpus=$n -n "$RUNS" \
		--timeout "$TIMEOUT" "$@" --json "$out" >/dev/null || exit 1
	m=$(p50 "$out" minnow)
	q=$(p50 "$out" compare)
	eval "m$n=\$m q$n=\${q:--}"
	printf '  %-6s %12s %12s %12s\n' "$n" "$m" "${q:--}" \
		"$(awk -v a="$m" -v b="$q" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
done
# shellcheck disable=SC2154 # m1, m4, q1, q4: set by the eval above
awk -v m1="$m1" -v m4="$m4" -v q1="$q1" -v q4="$q4" 'BEGIN {
	printf "  each vCPU past the first: minnow %+.2f ms", (m4 - m1) / 3
	if (q1 != "-") printf ", qemu %+.2f ms", (q4 - q1) / 3
	printf " (from 1 to 4 vCPUs)\n" }'
