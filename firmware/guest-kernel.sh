#!/bin/sh
# guest-kernel.sh - the small guest kernel of `make guest-kernel`: bzImage, vmlinux and config from the cache outside the checkout, built there first when they are not cached yet.
#
# usage: firmware/guest-kernel.sh FRAGMENT OUTDIR [TARBALL]
# FRAGMENT is firmware/guest-kernel.config, TARBALL the linux-source tarball
# (default the newest /usr/src/linux-source-*.tar.xz). GK_JOBS (default nproc)
# sets the build's parallelism. Its last line says whether the images came
# from the cache or were built, and in how long.
#
# The cache, ${XDG_CACHE_HOME:-$HOME/.cache}/minnow/guest-kernel/:
#   KEY/{bzImage,vmlinux,config,info}   one build; KEY hashes all its inputs
#   KEY.lock                            flock(1): one build of KEY at a time
#   KEY.work/                           the build under way: source, objects
# KEY/ appears only complete (rename of a finished directory), so a hit needs
# no lock; a second build of the same KEY waits for the first and reuses its
# result. KEY.work/ is removed once the images are saved, so the cache holds
# only the images. An entry unused for 30 days is removed at the next build.
set -eu

[ $# -eq 2 ] || [ $# -eq 3 ] || {
	echo "usage: $0 FRAGMENT OUTDIR [TARBALL]" >&2
	exit 2
}
frag=$1
out=$2
src=${3:-$(printf '%s\n' /usr/src/linux-source-*.tar.xz | sort -V | tail -n 1)}
if [ ! -f "$src" ]; then
	echo "guest-kernel: no linux-source tarball $src (./configure --install-deps)" >&2
	exit 1
fi
[ -n "${XDG_CACHE_HOME:-}${HOME:-}" ] || {
	echo "guest-kernel: neither XDG_CACHE_HOME nor HOME is set: no cache directory" >&2
	exit 1
}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/minnow/guest-kernel
# The kernel's own make, not the one that runs us: an outer `make CC=clang`
# or -jN would otherwise reach it through MAKEFLAGS. It builds with gcc.
unset MAKEFLAGS MFLAGS MAKELEVEL
jobs=${GK_JOBS:-$(nproc)}

# Everything the images depend on: the fragment's settings (not its
# comments), this script (the build steps), the tarball (its name, size and
# time, not its 130 MB: a hit must cost milliseconds), the compiler and the
# linker.
key=$({
	grep -E '^(CONFIG_|# CONFIG_)' "$frag"
	cat "$0"
	echo "${src##*/} $(stat -L -c '%s %Y' "$src")"
	gcc --version | head -n 1
	ld --version | head -n 1
} | sha256sum | cut -c 1-16)
dir=$cache/$key
work=$dir.work

cached() {
	[ -f "$dir/bzImage" ] && [ -f "$dir/vmlinux" ] && [ -f "$dir/config" ]
}

fail() {
	echo "guest-kernel: $1 (log: $work/build.log)" >&2
	[ ! -f "$work/build.log" ] || tail -n 20 "$work/build.log" >&2
	exit 1
}

build() {
	rm -rf "$work" "$dir"
	mkdir -p "$work/src" "$work/out"
	t0=$(date +%s)
	echo "  KERNEL  no cached build: building $key from ${src##*/} in $work (minutes)"
	# xz with all cores: Debian's tarball is in many blocks.
	case $src in
	*.xz) xz -dc -T0 "$src" | tar -xf - -C "$work/src" ;;
	*) tar -xf "$src" -C "$work/src" ;;
	esac || fail "cannot extract $src"
	s=$(echo "$work"/src/*)
	[ -f "$s/Makefile" ] || fail "no kernel tree in $src"
	# tinyconfig in one pass: allnoconfig with tinyconfig's fragments and
	# ours, later lines winning. Unlike merge_config.sh + olddefconfig, the
	# options our fragment makes visible stay off unless it names them
	# (IPv6, VT, input, ACPI fan and battery, initrd decompressors, ...).
	cat "$s/kernel/configs/tiny-base.config" "$s/kernel/configs/tiny.config" \
		"$s/arch/x86/configs/tiny.config" "$frag" >"$work/all.config"
	make -C "$s" O="$work/obj" KCONFIG_ALLCONFIG="$work/all.config" allnoconfig \
		>"$work/build.log" 2>&1 || fail "make allnoconfig failed"
	missing=$(grep '^CONFIG_' "$frag" | while read -r l; do
		grep -qx "$l" "$work/obj/.config" || printf ' %s' "$l"
	done)
	[ -z "$missing" ] || fail "not taken by kconfig (unmet dependencies?):$missing"
	make -C "$s" O="$work/obj" -j"$jobs" bzImage >>"$work/build.log" 2>&1 ||
		fail "kernel build failed"
	cp "$work/obj/arch/x86/boot/bzImage" "$work/obj/vmlinux" "$work/out/"
	cp "$work/obj/.config" "$work/out/config"
	t=$(($(date +%s) - t0))
	printf 'key %s\nsource %s\ncompiler %s\nbuilt %s in %s s with -j%s\n' "$key" "$src" \
		"$(gcc --version | head -n 1)" "$(date -u +%FT%TZ)" "$t" "$jobs" >"$work/out/info"
	mv "$work/out" "$dir"
	rm -rf "$work"
	find "$cache" -mindepth 1 -maxdepth 1 -name '????????????????*' ! -name "$key*" -mtime +30 \
		-exec rm -rf {} + || :
	echo "  KERNEL  built $key in $((t / 60)) min $((t % 60)) s: cached in $dir"
}

if cached; then
	touch "$dir" || : # in use: not pruned
	echo "  KERNEL  $out from the cache ($dir, $(sed -n 's/^built .* in \([0-9]*\) s .*/built in \1 s/p' "$dir/info"))"
else
	mkdir -p "$cache"
	exec 9>"$dir.lock"
	if ! flock -n 9; then
		echo "  KERNEL  waiting for another build of $key"
		flock 9
	fi
	if cached; then
		echo "  KERNEL  $out from the cache ($dir, built meanwhile by another make)"
	else
		build
	fi
	exec 9>&-
fi

# Copies, not links: the cache stays intact whatever is done to build/.
mkdir -p "$out"
for f in bzImage vmlinux config; do
	cp "$dir/$f" "$out/.$f.$$"
	mv "$out/.$f.$$" "$out/$f"
done
