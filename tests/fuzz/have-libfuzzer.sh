#!/bin/sh
# have-libfuzzer.sh CC - exits 0 when CC can build a libFuzzer harness, else
# prints why (and what to install) and exits 1. make fuzz is optional.
cc=${1:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: skipped: no $cc (apt-get install clang)"
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$tmp/f.c"
if ! "$cc" -fsanitize=fuzzer,address -o "$tmp/f" "$tmp/f.c" 2>/dev/null; then
	v=$("$cc" -dumpversion 2>/dev/null | cut -d. -f1)
	echo "fuzz: skipped: $cc cannot link -fsanitize=fuzzer (apt-get install libclang-rt-${v:-N}-dev)"
	exit 1
fi
