#!/bin/sh
# lib.sh - what the benchmark scripts share (sourced from the top of the tree).

# positive_ints NAME=VALUE...: exits 2 with one line for the first VALUE that
# is not a positive integer.
positive_ints() {
	for v in "$@"; do
		case ${v#*=} in
		'' | *[!0-9]* | 0)
			echo "bench: ${v%%=*} must be a positive integer, not '${v#*=}'" >&2
			exit 2
			;;
		esac
	done
}

# median: the median of the numbers on stdin (one a line), to six decimals, or "-"
# when there are none.
median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		printf "%.6f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# rounded FORMAT: each number on stdin printed with FORMAT; "-" stays "-".
rounded() { awk -v f="$1\n" '$1 == "-" { print; next } { printf f, $1 }'; }

# ratio A B: A/B with two decimals, or "-" when either is "-" or B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# json_num V: V as a JSON number, "-" as null.
json_num() { if [ "$1" = - ]; then echo null; else echo "$1"; fi; }

# l1_freezes NAME LOG: one line when the L1 host was silent long enough
# during the runs whose tests/l1/run.sh output is LOG for its watchdog to
# take it for frozen (README.md, "Tests"): a run that spans a freeze is
# slower by it. (With L1_KEYS=1, shorter freezes end unseen within a second
# or two.)
l1_freezes() {
	n=$(grep -c '^l1: .*pressing a key on its keyboard' "$2" 2>/dev/null) || n=0
	[ "$n" = 0 ] || echo "$1: L1 froze $n time(s) for L1_POKE seconds or more, and was revived; a run that spans a freeze is slower by it (see $2)"
}
