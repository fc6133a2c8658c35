#!/bin/sh
# coverage.sh - make coverage: runs the unit and guest tiers against the gcov build in build/cov and prints the line coverage of each file in vmm/ and devices/, then the totals.
#
# The guest tier runs where make check would run it (this host's /dev/kvm,
# else inside the L1 host). Inside L1 the instrumented minnow writes its
# .gcda files under /out (GCOV_PREFIX), which tests/l1/run.sh brings back;
# gcov-tool adds them to the host's counts. Test failures are reported but
# do not stop the report. Output: the table on stdout and in
# build/cov/coverage.txt.
set -u
cd "$(dirname "$0")/.." || exit 1

COV=build/cov
if [ ! -x $COV/minnow ] || [ ! -x $COV/unit-tests ]; then
	echo "coverage: build it first: make $COV/minnow $COV/unit-tests" >&2
	exit 1
fi
if ! command -v gcov >/dev/null || ! command -v gcov-tool >/dev/null; then
	echo "coverage: needs gcov and gcov-tool (apt-get install gcc)" >&2
	exit 1
fi
find $COV -name '*.gcda' -delete
rm -rf $COV/l1-out

echo "== unit tier (coverage build)"
MINNOW=$COV/minnow timeout -s KILL 1200 ./$COV/unit-tests --jobs 2 >$COV/unit.log 2>&1 ||
	echo "coverage: unit tests failed (see $COV/unit.log)"
tail -n 1 $COV/unit.log

if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null && [ "${MINNOW_GUEST_TIER:-host}" = host ]; then
	echo "== guest tier on this host's /dev/kvm (coverage build)"
	MINNOW=$COV/minnow FIRMWARE_DIR=build/firmware timeout -s KILL 1800 \
		./build/guest-tests --jobs 1 >$COV/guest.log 2>&1 ||
		echo "coverage: guest tests failed (see $COV/guest.log)"
	tail -n 1 $COV/guest.log
else
	echo "== guest tier inside the L1 host (coverage build)"
	# Inside L1 the .gcda paths lose the components of this directory.
	strip=$(printf '%s' "$PWD/$COV" | tr -cd / | wc -c)
	L1_PARTS=guest MINNOW=$COV/minnow L1_OUT=$COV/l1-out \
		L1_ENV="GCOV_PREFIX=/out/gcov GCOV_PREFIX_STRIP=$strip" sh tests/l1/run.sh >$COV/guest.log 2>&1
	echo "guest: $(grep -c '^TEST guest [^ ]* PASS' build/l1/results) passed," \
		"$(grep -c '^TEST guest [^ ]* FAIL' build/l1/results) failed," \
		"$(grep -c '^TEST guest [^ ]* SKIP' build/l1/results) skipped (log: $COV/guest.log)"
	if [ -d $COV/l1-out/gcov ]; then
		# Adds L1's counts to the host's, file by file (the object
		# directories are the same).
		gcov-tool merge -o $COV/merged $COV/l1-out/gcov $COV >/dev/null 2>&1 || true
		n=0
		for f in $(cd $COV/l1-out/gcov && find . -name '*.gcda'); do
			if [ -f "$COV/merged/$f" ]; then
				cp "$COV/merged/$f" "$COV/$f"
			else
				mkdir -p "$(dirname "$COV/$f")"
				cp "$COV/l1-out/gcov/$f" "$COV/$f"
			fi
			n=$((n + 1))
		done
		rm -rf $COV/merged
		echo "coverage: merged $n .gcda files from L1"
	else
		echo "coverage: no .gcda files came back from L1: the guest tier is not counted"
	fi
fi

echo "== line coverage (unit + guest tiers)"
for src in vmm/*/*.c devices/*/*.c; do
	obj=$COV/$(dirname "$src")
	gcov -n -o "$obj" "$src" 2>/dev/null | awk -v f="$src" '
		$0 ~ "^File .*" f "'"'"'" { mine = 1; next }
		mine && /^Lines executed:/ { split($2, a, ":"); pct = a[2] + 0; n = $4 + 0;
			printf "%-32s %6.1f%% of %5d\n", f, pct, n; mine = 0 }'
done | tee $COV/coverage.txt.tmp | sort -k2 -n | awk '
	{ total[$1 ~ /^vmm/ ? "vmm/" : "devices/"] += $4; pct = $2; sub(/%/, "", pct)
	  hit[$1 ~ /^vmm/ ? "vmm/" : "devices/"] += pct * $4 / 100; print }
	END { for (d in total) printf "%-32s %6.1f%% of %5d lines\n", d " (all)", 100 * hit[d] / total[d], total[d]
	      t = total["vmm/"] + total["devices/"]; h = hit["vmm/"] + hit["devices/"]
	      printf "%-32s %6.1f%% of %5d lines\n", "vmm/ + devices/", 100 * h / t, t }' |
	tee $COV/coverage.txt
rm -f $COV/coverage.txt.tmp
