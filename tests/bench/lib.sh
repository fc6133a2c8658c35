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
