#!/bin/sh
# lib.sh - helpers shared by the parts run inside the L1 host (sourced by tests/l1/init.sh).
# Runs under busybox ash ($EPOCHREALTIME).
# shellcheck disable=SC3028

W=/tmp/t # scratch space of the parts
mkdir -p "$W"

# now: seconds since the epoch, with microseconds.
now() { echo "$EPOCHREALTIME"; }

# secs T0 T1: T1 - T0 with one decimal.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# dump FILE...: the end of each non-empty file, for a failed test.
dump() {
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "---- $f (last 25 lines)"
		tail -n 25 "$f" | awk '{ print "  | " $0 }'
	done
}
