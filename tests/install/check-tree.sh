#!/bin/sh
# check-tree.sh - `make install` (run by tests/check.sh in the unit tier): installs into a scratch DESTDIR with PREFIX=/usr/local, checks the tree, that the installed minnow exec finds its helpers from any directory, that it says in one line what is missing when they or the kernel are not there, and that `make uninstall` removes every file again.
#
# Usage: sh tests/install/check-tree.sh [TIER] (default unit). Prints
# "TEST <tier> install::<name> PASS|FAIL|SKIP <reason>" lines; exits 0.
# Needs minnow, the firmware and build/linux/minnow-init built (make check-unit
# builds them). The L1 half, the installed `minnow exec -- echo hi` booting a
# guest, is the Linux tier's exec-installed (tests/linux/l1-part.sh).
set -u
cd "$(dirname "$0")/../.." || exit 1
TIER=${1:-unit}
PREFIX=/usr/local

result() {
	r_name=$1 r_status=$2
	shift 2
	echo "TEST $TIER install::$r_name $r_status${*:+ $*}"
}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
D=$tmp/dest
P=$D$PREFIX

# ---- make install: the tree -----------------------------------------------------
# MAKEFLAGS cleared: this is not a sub-make of the caller's make.
if ! MAKEFLAGS='' make -s install DESTDIR="$D" PREFIX="$PREFIX" >"$tmp/install.log" 2>&1; then
	result tree FAIL "make install DESTDIR=$D PREFIX=$PREFIX failed: $(tail -n 3 "$tmp/install.log" | tr '\n' ' ')"
	exit 0
fi
bad=
want() { # MODE FILE [SAME-AS]: FILE is there, executable or not, a copy of SAME-AS
	f=$P/$2
	if [ ! -f "$f" ]; then
		bad="$bad $PREFIX/$2 missing;"
	elif [ "$1" = x ] && [ ! -x "$f" ]; then
		bad="$bad $PREFIX/$2 not executable;"
	elif [ -n "${3:-}" ] && ! cmp -s "$f" "$3"; then
		bad="$bad $PREFIX/$2 differs from $3;"
	fi
}
want x bin/minnow minnow
want x libexec/minnow/minnow-init build/linux/minnow-init
want r libexec/minnow/mkinitrd.sh firmware/mkinitrd.sh
want r share/minnow/minnow-test.elf build/firmware/minnow-test.elf
want r share/minnow/minnow-test.bzimage build/firmware/minnow-test.bzimage
for e in examples/*.ini; do want r "share/minnow/$e" "$e"; done
want r share/man/man1/minnow.1 man/minnow.1
want r share/man/man5/minnow.ini.5 man/minnow.ini.5
# Nothing else: every installed file is one of the above.
n_want=$((7 + $(find examples -maxdepth 1 -name '*.ini' | wc -l)))
n_got=$(find "$D" -type f | wc -l)
[ "$n_got" = "$n_want" ] || bad="$bad $n_got files installed, $n_want expected: $(find "$D" -type f | sed "s|^$D||" | tr '\n' ' ');"
v=$("$P/bin/minnow" --version 2>&1) || bad="$bad the installed minnow --version failed: $v;"
if command -v man >/dev/null 2>&1; then
	for m in man1/minnow.1 man5/minnow.ini.5; do
		MANWIDTH=80 man -l "$P/share/man/$m" 2>/dev/null | grep -q '^NAME' ||
			bad="$bad man -l $PREFIX/share/man/$m shows no NAME section;"
	done
fi
if [ -n "$bad" ]; then
	result tree FAIL "$bad"
else
	result tree PASS "$n_got files under DESTDIR$PREFIX: bin, libexec/minnow, share/minnow, man1, man5"
fi

# ---- the installed minnow exec finds its helpers, from another directory ---------
# It builds its initrd with them (proof that it found them) and then boots
# it, which needs a usable /dev/kvm; without one it stops with status 1
# after the initrd is in the cache.
# shellcheck disable=SC2012 # Debian's kernel file names have no blanks
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
if [ -z "$kernel" ]; then
	result helpers-found SKIP "no /boot/vmlinuz-*-cloud-amd64 here (apt-get install linux-image-cloud-amd64)"
elif ! command -v busybox >/dev/null 2>&1; then
	result helpers-found SKIP "no busybox here to build the initrd with (apt-get install busybox-static)"
else
	mkdir -p "$tmp/elsewhere"
	(cd "$tmp/elsewhere" && env -u MINNOW_LIBEXEC XDG_CACHE_HOME="$tmp/cache" \
		timeout -s KILL 30 "$P/bin/minnow" exec -- echo hi >"$tmp/exec.out" 2>"$tmp/exec.err" </dev/null)
	st=$?
	initrd=$(ls "$tmp"/cache/minnow/exec/initrd-*.cpio 2>/dev/null)
	if [ -z "$initrd" ]; then
		result helpers-found FAIL "the installed minnow exec built no initrd (status $st): $(head -n 3 "$tmp/exec.err" | tr '\n' ' ')"
	elif ! cpio -it <"$initrd" --quiet 2>/dev/null | grep -qx init; then
		result helpers-found FAIL "its initrd ${initrd##*/} has no /init"
	elif [ "$st" = 0 ] && [ "$(cat "$tmp/exec.out")" = hi ]; then
		result helpers-found PASS "built ${initrd##*/} from $PREFIX/libexec/minnow and ran echo hi"
	elif [ "$st" = 0 ]; then
		result helpers-found FAIL "status 0 but stdout '$(head -c 80 "$tmp/exec.out")', not hi"
	else
		# No /dev/kvm (status 1), or one that cannot run Linux (a software
		# hypervisor: an emulation failure, or no boot before the kill).
		result helpers-found PASS "built ${initrd##*/} from $PREFIX/libexec/minnow; this host could not boot it (status $st; the Linux tier's exec-installed does)"
	fi
fi

# ---- what is missing, in one line ---------------------------------------------------
# one_line NAME FILE STATUS WORDS...: FILE is one line, STATUS is 2, and the
# line has every WORD.
one_line() {
	name=$1 f=$2 st=$3
	shift 3
	lines=$(wc -l <"$f")
	missing=
	for w in "$@"; do grep -qF -- "$w" "$f" || missing="$missing '$w'"; done
	if [ "$st" = 2 ] && [ "$lines" = 1 ] && [ -z "$missing" ]; then
		result "$name" PASS "$(cat "$f")"
	else
		result "$name" FAIL "expected one line naming$* and status 2; got status $st, $lines lines${missing:+, without$missing}: $(head -n 3 "$f" | tr '\n' ' ')"
	fi
}

# No minnow-init: a copy of the installed minnow without libexec/minnow/.
mkdir -p "$tmp/bare/bin"
cp "$P/bin/minnow" "$tmp/bare/bin/"
if [ -z "$kernel" ]; then
	result no-minnow-init SKIP "no /boot/vmlinuz-*-cloud-amd64 here: minnow stops at the kernel first"
else
	(cd / && env -u MINNOW_LIBEXEC "$tmp/bare/bin/minnow" exec -- true >/dev/null 2>"$tmp/noinit.err" </dev/null)
	one_line no-minnow-init "$tmp/noinit.err" $? "no minnow-init in $tmp/bare/libexec/minnow/" \
		"make install" MINNOW_LIBEXEC --initrd
fi

# No kernel under /boot: an empty /boot in a mount namespace of its own.
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	result no-kernel SKIP "needs root and unshare -m (util-linux) for an empty /boot"
else
	# shellcheck disable=SC2016 # $1 is the inner shell's
	unshare -m sh -c 'mount -t tmpfs tmpfs /boot && exec "$1" exec -- true' sh "$P/bin/minnow" \
		>/dev/null 2>"$tmp/nokernel.err" </dev/null
	one_line no-kernel "$tmp/nokernel.err" $? /boot/vmlinuz linux-image-cloud-amd64 --kernel
fi

# ---- make uninstall ---------------------------------------------------------------------
if ! MAKEFLAGS='' make -s uninstall DESTDIR="$D" PREFIX="$PREFIX" >"$tmp/uninstall.log" 2>&1; then
	result uninstall FAIL "make uninstall failed: $(tail -n 3 "$tmp/uninstall.log" | tr '\n' ' ')"
elif [ -n "$(find "$D" -type f)" ]; then
	result uninstall FAIL "left: $(find "$D" -type f | sed "s|^$D||" | tr '\n' ' ')"
else
	result uninstall PASS "no file left under DESTDIR$PREFIX"
fi
