#!/bin/sh
# check.sh - make check (and check-unit, check-guest, check-linux): runs the named test tiers (default: unit guest linux), each under an overall timeout, keeps one line per test, "TEST <tier> <name> PASS|FAIL|SKIP <reason>", in build/check/<tier>.results, prints every failed and skipped test with its reason and ends with "N passed, N failed, N skipped" over all tiers.
#
# Where each tier runs:
#   unit   here (Criterion, no /dev/kvm needed).
#   guest  the test unikernel under minnow: on this host's /dev/kvm when it
#          can be opened, else inside the L1 host (tests/l1/run.sh), which
#          needs only QEMU's TCG.
#   linux  real Linux guests: always inside the L1 host. When both guest and
#          linux run in L1, they share one boot.
#   asan   the unit and guest tiers again, built with AddressSanitizer and
#          UBSan in a copy of this tree (build/asan/src, ./configure
#          --enable-sanitizers); the guest part where the guest tier runs.
#   fuzz   each libFuzzer harness (tests/fuzz) for FUZZ_SECONDS (default 30)
#          from its committed corpus, after replaying every input in
#          tests/fuzz/crashes/ (inputs that once crashed minnow).
# Exits 1 when a test failed or a tier reported nothing (a tier that cannot
# run reports one skipped test saying why).
# Environment:
#   MINNOW_REQUIRE_KVM=1  a test skipped for want of /dev/kvm fails instead,
#                         and the guest tier must run on this host's /dev/kvm
#   MINNOW_GUEST_TIER=host|l1  force where the guest tier runs
#   UNIT_TIMEOUT, GUEST_TIMEOUT  seconds for a tier (defaults 900, 1800);
#                         the L1 run has L1_TIMEOUT (tests/l1/run.sh)
#   MINNOW_SOAK_VMS, MINNOW_SOAK_PARALLEL  VMs of the batch soaks (in turn,
#                         default 1000; all at once, default 50); the asan
#                         tier asks for 100 and 20
#   and those of tests/l1/run.sh (LINUX_TESTS, GUEST_FILTER, ...).
set -u
cd "$(dirname "$0")/.." || exit 1

R=build/check
mkdir -p "$R"
TIERS=${*:-unit guest linux asan fuzz}
UNIT=build/unit-tests
GUEST=build/guest-tests

# tap TIER: Criterion's TAP report (stdin) to TEST lines in $R/TIER.results.
tap() {
	awk -v tier="$1" -f tests/tap-results.awk >"$R/$1.results"
}

kvm_usable() {
	[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null
}

run_unit() {
	echo "== unit tests (Criterion)"
	if [ ! -x "$UNIT" ]; then
		echo "TEST unit all FAIL $UNIT not built (make $UNIT)" >"$R/unit.results"
		return
	fi
	if grep -q -- '-fsanitize=thread' Makefile 2>/dev/null; then
		echo "TEST unit all SKIP Criterion cannot start under ThreadSanitizer (its shared arena); run the unit tier in a build without --enable-tsan" >"$R/unit.results"
		run_docs_install
		return
	fi
	timeout -s KILL "${UNIT_TIMEOUT:-900}" "./$UNIT" --jobs 2 --tap="$R/unit.tap"
	[ $? -ne 137 ] || echo "unit: killed after ${UNIT_TIMEOUT:-900} s"
	tap unit <"$R/unit.tap" 2>/dev/null
	run_docs_install
}

# The manual pages against the code, make install's tree and mkinitrd.sh's
# module lists (shell scripts, their TEST lines added to the unit tier's).
run_docs_install() {
	echo "== manual pages, make install, mkinitrd (tests/docs, tests/install, tests/initrd)"
	{
		sh tests/docs/check-man.sh ./minnow unit
		timeout -s KILL 300 sh tests/install/check-tree.sh unit
		timeout -s KILL 120 sh tests/initrd/check-mkinitrd.sh unit
	} | tee -a "$R/unit.results" | awk '{ print "  " $4 " " $3 }'
}

run_guest_here() {
	echo "== guest tests on this host's /dev/kvm (the test unikernel under minnow)"
	MINNOW=./minnow MINNOW_TESTHOOKS=build/minnow-testhooks FIRMWARE_DIR=build/firmware \
		timeout -s KILL "${GUEST_TIMEOUT:-1800}" \
		"./$GUEST" --jobs 1 --tap="$R/guest.tap"
	[ $? -ne 137 ] || echo "guest: killed after ${GUEST_TIMEOUT:-1800} s"
	tap guest <"$R/guest.tap" 2>/dev/null
	# minnow batch --slurm on a one-node cluster of its own.
	sh tests/slurm/test.sh ./minnow build/firmware build/check/slurm >>"$R/guest.results"
	awk '$1 == "TEST" { print "  " $4 " " $3 }' "$R/guest.results"
}

# The sanitizer build: this tree's files (tracked and new, not ignored)
# copied to build/asan/src and built there with --enable-sanitizers.
ASAN=build/asan/src
build_asan() {
	rm -rf "$ASAN" && mkdir -p "$ASAN" || return 1
	if git rev-parse --git-dir >/dev/null 2>&1; then
		git ls-files -co --exclude-standard
	else
		find . -path ./build -prune -o -type f -print
	fi | tar -cf - -T - | tar -xf - -C "$ASAN" || return 1
	(cd "$ASAN" && ./configure --enable-sanitizers >/dev/null &&
		make -j"$(nproc)" minnow build/minnow-testhooks build/unit-tests build/guest-tests >build.log 2>&1) || {
		tail -n 20 "$ASAN/build.log"
		return 1
	}
}

run_asan_unit() {
	echo "== asan: unit tests built with AddressSanitizer + UBSan"
	MINNOW=./$ASAN/minnow timeout -s KILL "${UNIT_TIMEOUT:-900}" "./$ASAN/build/unit-tests" --jobs 2 \
		--tap="$R/asan-unit.tap" >/dev/null 2>"$R/asan-unit.log"
	[ $? -ne 137 ] || echo "asan unit: killed after ${UNIT_TIMEOUT:-900} s"
	awk -v tier=asan -f tests/tap-results.awk <"$R/asan-unit.tap" 2>/dev/null |
		sed 's/^TEST asan /TEST asan unit:/' >>"$R/asan.results"
}

run_asan_guest_here() {
	echo "== asan: guest tests on this host's /dev/kvm, minnow built with AddressSanitizer + UBSan"
	MINNOW_SOAK_VMS=100 MINNOW_SOAK_PARALLEL=20 MINNOW=./$ASAN/minnow \
		MINNOW_TESTHOOKS=./$ASAN/build/minnow-testhooks FIRMWARE_DIR=build/firmware \
		timeout -s KILL "${GUEST_TIMEOUT:-1800}" \
		"./$ASAN/build/guest-tests" --jobs 1 --tap="$R/asan-guest.tap" >/dev/null 2>&1
	awk -v tier=asan -f tests/tap-results.awk <"$R/asan-guest.tap" 2>/dev/null |
		sed 's/^TEST asan /TEST asan guest:/' >>"$R/asan.results"
}

# Each harness: the committed crash inputs must not crash it any more, then
# FUZZ_SECONDS of fuzzing from the committed corpus.
run_fuzz() {
	echo "== fuzz: each libFuzzer harness for ${FUZZ_SECONDS:-30} s"
	: >"$R/fuzz.results"
	if ! why=$(sh tests/fuzz/have-libfuzzer.sh clang); then
		echo "TEST fuzz all SKIP ${why#fuzz: skipped: }" >"$R/fuzz.results"
		return
	fi
	if ! make --no-print-directory fuzz-build >"$R/fuzz-build.log" 2>&1; then
		echo "TEST fuzz build FAIL make fuzz-build failed (see $R/fuzz-build.log)" >"$R/fuzz.results"
		return
	fi
	mkdir -p build/fuzz/artifacts
	for h in build/fuzz/fuzz_*; do
		name=${h##*/}
		[ -x "$h" ] || continue
		bad=
		for c in tests/fuzz/crashes/"$name"-*; do
			[ -f "$c" ] || continue
			"./$h" "$c" >"$R/$name.replay.log" 2>&1 || bad="$bad ${c##*/}"
		done
		if [ -n "$bad" ]; then
			echo "TEST fuzz $name FAIL crashes again on:$bad (see $R/$name.replay.log)" >>"$R/fuzz.results"
			continue
		fi
		mkdir -p "build/fuzz/corpus/$name"
		if "./$h" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=1 \
			-artifact_prefix="build/fuzz/artifacts/$name-" "build/fuzz/corpus/$name" \
			"tests/fuzz/corpus/$name" >"$R/$name.log" 2>&1; then
			runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$R/$name.log")
			echo "TEST fuzz $name PASS ${runs:-?} inputs in ${FUZZ_SECONDS:-30} s" >>"$R/fuzz.results"
		else
			art=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$R/$name.log" | tail -n 1)
			echo "TEST fuzz $name FAIL crashed on ${art:-an input (see $R/$name.log)};" \
				"fix it and keep the input as tests/fuzz/crashes/$name-N" >>"$R/fuzz.results"
		fi
	done
}

# Decide where the guest tier runs.
l1_parts=
guest_where=
case " $TIERS " in
*" guest "*)
	guest_where=${MINNOW_GUEST_TIER:-}
	if [ -z "$guest_where" ]; then
		if kvm_usable; then guest_where=host; else guest_where=l1; fi
	fi
	if [ "$guest_where" = l1 ] && [ "${MINNOW_REQUIRE_KVM:-0}" = 1 ]; then
		guest_where=none
	fi
	;;
esac

rm -f "$R"/*.results "$R"/*.tap
for tier in $TIERS; do
	case $tier in
	unit) run_unit ;;
	guest)
		case $guest_where in
		host) run_guest_here ;;
		l1)
			echo "== guest tests: this host has no usable /dev/kvm, so they run inside" \
				"the L1 host (QEMU TCG + nested SVM)"
			l1_parts="$l1_parts guest"
			;;
		none)
			echo "TEST guest all FAIL MINNOW_REQUIRE_KVM=1 and /dev/kvm cannot be opened" \
				"here" >"$R/guest.results"
			;;
		esac
		;;
	linux) l1_parts="$l1_parts linux" ;;
	asan)
		: >"$R/asan.results"
		if ! build_asan; then
			echo "TEST asan build FAIL the sanitizer build failed (see $ASAN/build.log)" >"$R/asan.results"
			continue
		fi
		run_asan_unit
		if [ -z "$guest_where" ]; then
			kvm_usable && guest_where=host || guest_where=l1
		fi
		case $guest_where in
		host) run_asan_guest_here ;;
		l1) asan_l1=1 ;;
		none)
			echo "TEST asan guest FAIL MINNOW_REQUIRE_KVM=1 and /dev/kvm cannot be opened" \
				"here" >>"$R/asan.results"
			;;
		esac
		;;
	fuzz) fuzz=1 ;;
	*)
		echo "check: unknown tier '$tier' (unit, guest, linux, asan, fuzz)" >&2
		exit 2
		;;
	esac
done

if [ -n "$l1_parts" ]; then
	echo "== L1 host for:$l1_parts (a few minutes: L1 runs under QEMU TCG)"
	L1_PARTS=${l1_parts# } MINNOW=./minnow GUEST_TESTS=$GUEST sh tests/l1/run.sh
	for p in $l1_parts; do
		grep "^TEST $p " build/l1/results >"$R/$p.results" 2>/dev/null
	done
fi
if [ -n "${asan_l1:-}" ]; then
	echo "== asan: guest tests in a second L1 boot, minnow built with AddressSanitizer + UBSan"
	# 100 VMs, not 1000, in the batch that must leave nothing behind:
	# sanitized VMs start several times slower.
	L1_DIR=build/l1-asan L1_ENV="MINNOW_SOAK_VMS=100 MINNOW_SOAK_PARALLEL=20 ${L1_ENV:-}" L1_PARTS=guest \
		MINNOW=./$ASAN/minnow GUEST_TESTS=./$ASAN/build/guest-tests \
		sh tests/l1/run.sh
	if grep -q "^TEST guest " build/l1-asan/results 2>/dev/null; then
		sed -n 's/^TEST guest /TEST asan guest:/p' build/l1-asan/results >>"$R/asan.results"
	else
		echo "TEST asan guest FAIL the L1 run reported nothing (see build/l1-asan/l1.log)" >>"$R/asan.results"
	fi
fi
[ -z "${fuzz:-}" ] || run_fuzz

# ---- summary ------------------------------------------------------------------
# A KVM skip is a failure when MINNOW_REQUIRE_KVM=1.
if [ "${MINNOW_REQUIRE_KVM:-0}" = 1 ]; then
	for f in "$R"/*.results; do
		[ -f "$f" ] || continue
		sed -i '/^TEST [^ ]* [^ ]* SKIP .*\/dev\/kvm/s/ SKIP / FAIL (MINNOW_REQUIRE_KVM=1) /' "$f"
	done
fi
total_pass=0 total_fail=0 total_skip=0
echo "== summary"
for tier in $TIERS; do
	f=$R/$tier.results
	[ -s "$f" ] || echo "TEST $tier all FAIL the tier reported no results" >"$f"
	awk '$4 == "SKIP" || $4 == "FAIL" { printf "  %s %s %s:", $4, $2, $3;
		for (i = 5; i <= NF; i++) printf " %s", $i; printf "\n" }' "$f"
	p=$(grep -c '^TEST [^ ]* [^ ]* PASS' "$f")
	x=$(grep -c '^TEST [^ ]* [^ ]* FAIL' "$f")
	s=$(grep -c '^TEST [^ ]* [^ ]* SKIP' "$f")
	where=
	[ "$tier" != guest ] || where=" (on $guest_where)"
	[ "$tier" != linux ] || where=" (in L1)"
	[ "$tier" != asan ] || where=" (unit here, guest on $guest_where)"
	echo "$tier$where: $p passed, $x failed, $s skipped"
	total_pass=$((total_pass + p)) total_fail=$((total_fail + x)) total_skip=$((total_skip + s))
done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
