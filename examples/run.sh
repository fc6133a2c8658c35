#!/bin/sh
# run.sh - `make run`: the default microVM (examples/hello.ini, the test
# unikernel saying hello) with its boot timings. On this host's /dev/kvm
# when it can be opened; else inside the L1 host (tests/l1/run.sh: nested
# KVM under QEMU TCG, no host KVM needed), which it says, since timings
# measured there are not this host's. Exits with minnow's status.
set -u
cd "$(dirname "$0")/.." || exit 1

if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ "${MINNOW_RUN_IN_L1:-0}" != 1 ]; then
	exec ./minnow run examples/hello.ini --timings
fi

echo "run: this host has no usable /dev/kvm: running inside the L1 host (nested KVM under QEMU TCG; the timings are L1's, not this host's)"
mkdir -p build/run
script=build/run/l1-run.sh
cat >"$script" <<'EOS'
# Sourced by L1's init (tests/l1/init.sh).
(cd /src && ./minnow run examples/hello.ini --timings; echo "status $?") 2>&1 |
	awk '{ print "  | " $0 }'
EOS
files=
for f in examples/hello.ini build/firmware/minnow-test.elf minnow; do
	files="$files $f:/src/$f"
done
out=$(L1_PARTS=none L1_EXTRA=$script L1_FILES="$files" L1_TIMEOUT=600 sh tests/l1/run.sh |
	sed -n 's/^  | //p')
printf '%s\n' "$out" | grep -v '^status [0-9]*$'
status=$(printf '%s\n' "$out" | sed -n 's/^status \([0-9]*\)$/\1/p')
if [ -z "$status" ]; then
	echo "run: the L1 host did not run minnow (see build/l1/l1.log)" >&2
	exit 1
fi
exit "$status"
