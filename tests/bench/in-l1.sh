#!/bin/sh
# in-l1.sh - make bench on a host without a usable /dev/kvm: runs tests/bench/bench.sh inside the L1 host (tests/l1/run.sh, with QEMU there too) and brings build/bench/results.json back, marked "measured_in": "l1".
#
# Inside L1 both minnow and QEMU run on nested KVM under QEMU's TCG: the
# absolute figures are not this host's, only the minnow/QEMU ratios mean
# anything. Environment: what bench.sh takes (BENCH_RUNS, BENCH_BLK_*), passed
# into L1.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

mkdir -p build/bench
L1SCRIPT=build/bench/bench-l1.sh
{
	for v in BENCH_RUNS BENCH_TIMEOUT BENCH_BLK_RUNS BENCH_BLK_MS BENCH_BLK_MIB BENCH_BLK_TIMEOUT; do
		eval "val=\${$v:-}"
		# shellcheck disable=SC2154 # set by the eval
		[ -z "$val" ] || echo "export $v='$val'"
	done
	cat <<'EOF'
# Sourced by L1's init (tests/l1/init.sh): the bench in /src, as at home.
echo "l1: bench starting"
(cd /src && MINNOW=/src/minnow MINNOW_BENCH_IN_L1=1 sh tests/bench/bench.sh 2>&1) |
	awk '{ print "  | " $0 }'
mkdir -p /out/bench
if [ -f /src/build/bench/results.json ]; then
	sed '1s/^{/{"measured_in":"l1",/' /src/build/bench/results.json >/out/bench/results.json
fi
for f in boot.jsonl boot-trace.json; do
	[ ! -f /src/build/bench/$f ] || cp /src/build/bench/$f /out/bench/
done
EOF
} >"$L1SCRIPT"

files=
for f in tests/bench/bench.sh tests/bench/blk.sh tests/bench/restore.sh tests/bench/vcpus.sh tests/bench/lib.sh examples/hello.ini \
	build/bench-hostread build/firmware/minnow-test.elf; do
	files="$files $f:/src/$f"
done
L1_PARTS=none L1_QEMU=1 L1_KEYS=1 L1_EXTRA=$L1SCRIPT L1_FILES="$files ./minnow:/src/minnow" \
	L1_OUT=build/bench/l1 L1_TIMEOUT=$((600 + ${BENCH_RUNS:-50} * 20)) sh tests/l1/run.sh |
	tee build/bench/l1-run.log | sed -n 's/^  | //p'
l1_freezes bench build/bench/l1-run.log
if [ -f build/bench/l1/bench/results.json ]; then
	cp build/bench/l1/bench/results.json build/bench/results.json
	for f in boot.jsonl boot-trace.json; do
		[ ! -f build/bench/l1/bench/$f ] || cp build/bench/l1/bench/$f build/bench/
	done
	echo "bench: measured inside the L1 host (nested KVM under QEMU TCG): compare the ratios," \
		"not the absolute figures; results in build/bench/results.json"
else
	echo "bench: no results came back from the L1 host (see build/l1/l1.log)" >&2
	exit 1
fi
