#!/bin/sh
# extract-vmlinux.sh - extracts the uncompressed ELF vmlinux from a bzImage (like the kernel's scripts/extract-vmlinux; Debian's cloud kernel is LZ4: needs the lz4 tool).
#
# usage: firmware/extract-vmlinux.sh BZIMAGE OUT
# Looks for each compressor's magic in the image, decompresses from there and
# keeps the first result that is an ELF file. Supported: lz4 (legacy frame,
# package lz4), gzip, xz, zstd.
set -eu

[ $# -eq 2 ] || {
	echo "usage: $0 BZIMAGE OUT" >&2
	exit 2
}
img=$1
out=$2
[ -r "$img" ] || {
	echo "extract-vmlinux: cannot read $img" >&2
	exit 1
}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

is_elf() {
	[ "$(head -c 4 "$1" | od -An -c | tr -d ' \n')" = '177ELF' ]
}

# try MAGIC(printf format) TOOL...: decompress from every offset where the
# magic occurs until the output is an ELF file.
try() {
	magic=$(printf "$1")
	shift
	command -v "$1" >/dev/null 2>&1 || return 1
	for pos in $(LC_ALL=C grep -abo -- "$magic" "$img" 2>/dev/null | cut -d: -f1); do
		tail -c +"$((pos + 1))" "$img" | "$@" >"$tmp" 2>/dev/null || true
		if [ -s "$tmp" ] && is_elf "$tmp"; then
			mv "$tmp" "$out"
			return 0
		fi
	done
	return 1
}

try '\002\041\114\030' lz4 -dc ||
	try '\037\213\010' gzip -dc ||
	try '\3757zXZ\000' xz -dc ||
	try '\050\265\057\375' zstd -dc || {
	command -v lz4 >/dev/null 2>&1 || echo "extract-vmlinux: no lz4 tool (apt-get install lz4)" >&2
	echo "extract-vmlinux: no compressed ELF kernel found in $img" >&2
	exit 1
}
echo "extract-vmlinux: $out ($(wc -c <"$out") bytes)"
