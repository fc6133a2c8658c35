#!/bin/sh
# init.sh - /init of the L1 host booted by tests/l1/run.sh: mounts the kernel file systems, loads kvm-amd, runs each asked part (/l1/<part>.sh), hands files in /out back to the host, powers off.
#
# Files put in the L1 initrd by run.sh: /bin/minnow (+ its libraries),
# /l1/lib.sh and the parts, /l2/* (what minnow boots), /etc/l1-parts (the
# parts to run), /etc/minnow-modules (this host's modules, in order) and the
# optional /etc/l1-extra.sh, /etc/l1-shell, /etc/l1-out.
# Runs under busybox ash.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
echo # the firmware's terminal escapes end on a line of their own
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /mnt /run /out
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o size=2g tmpfs /tmp
dmesg -n 1 # kernel messages would interleave with the result lines
# A line every 5 s while L1 lives: run.sh's watchdog (L1_POKE, L1_STALL)
# takes a silent console for a frozen L1, and a test can be quiet for
# minutes. Every fourth beat, a minnow that outlives every test's limit
# (l1-part.sh: 150 s, then SIGKILL) is stuck in L1's kernel: its threads'
# kernel stacks are shown, once.
heartbeat() {
	stuck=
	beat=0
	while sleep 5; do
		up=$(cut -d' ' -f1 /proc/uptime)
		echo "l1-alive $up"
		beat=$((beat + 1))
		[ $((beat % 4)) = 0 ] || continue
		for s in /proc/[0-9]*/stat; do
			read -r line <"$s" 2>/dev/null || continue
			case $line in *" (minnow) "*) ;; *) continue ;; esac
			# shellcheck disable=SC2086 # the fields of stat
			set -- $line
			age=$((${up%.*} - ${22} / 100)) # start time in USER_HZ ticks, 100 on x86
			case " $stuck " in *" $1 "*) continue ;; esac
			[ "$age" -gt 200 ] || continue
			stuck="$stuck $1"
			echo "l1-stuck: minnow (pid $1, state $3) has run for $age s; its threads in L1's kernel:"
			for t in /proc/"$1"/task/*; do
				echo "  task ${t##*/} ($(cat "$t/comm" 2>/dev/null), state $(cut -d' ' -f3 "$t/stat" 2>/dev/null)):"
				sed 's/^/    /' "$t/stack" 2>/dev/null
			done
		done
	done
}
# Started from a subshell that exits at once, so that it is no job of this
# shell: the parts' `wait` (l1-part.sh) must not wait for it.
if [ ! -f /etc/l1-shell ]; then
	(
		heartbeat &
		echo $! >/run/l1-alive.pid
	)
fi
# Where L1's kernel text is (KASLR), to read the RIP the watchdog's
# monitor dump shows of a frozen L1 against the kernel's System.map.
echo "l1: kernel _text at $(sed -n 's/ [Tt] _text$//p' /proc/kallsyms)"
# shellcheck source=tests/l1/lib.sh
. /l1/lib.sh

# shellcheck disable=SC2013 # one path per line, no blanks
for m in $(cat /etc/minnow-modules); do
	insmod "$m" || echo "l1: insmod $m failed"
done
# /var/tmp on a disk file system: tmpfs (6.1) has no O_DIRECT, which
# [drive] cache = none needs.
mkdir -p /var/tmp
truncate -s 1G /tmp/var-tmp.img && mke2fs -F /tmp/var-tmp.img >/dev/null &&
	mount -o loop /tmp/var-tmp.img /var/tmp || echo "l1: no disk file system on /var/tmp"
set -a # run.sh L1_ENV
# shellcheck disable=SC1091
. /etc/l1-env
set +a
PARTS=$(cat /etc/l1-parts)
echo "l1: parts: ${PARTS:-none}"
if [ -c /dev/kvm ]; then
	echo "l1: /dev/kvm ready after $(cut -d' ' -f1 /proc/uptime) s of L1 uptime"
fi

for p in $PARTS; do
	if [ ! -c /dev/kvm ]; then
		echo "TEST $p all FAIL no /dev/kvm in L1 (kvm-amd did not load)"
		continue
	fi
	# shellcheck disable=SC1090 # the parts are named at run time
	. "/l1/$p.sh"
done

# A developer's extra commands (run.sh: L1_EXTRA=script).
# shellcheck disable=SC1091
[ -f /etc/l1-extra.sh ] && . /etc/l1-extra.sh

# run.sh L1_SHELL=1: a shell on the console, in / where examples/*.ini
# find build/linux/{vmlinuz,initrd.cpio,rootfs.ext4}.
if [ -f /etc/l1-shell ]; then
	dmesg -n 4
	echo "l1: shell; try: minnow run examples/linux.ini (exit to power off L1)"
	cd / && setsid cttyhack sh -l
fi

# run.sh L1_OUT=dir: /out goes back to the host as a tar archive on the
# second disk.
if [ -f /etc/l1-out ]; then
	if [ -b /dev/vda ]; then
		tar -cf /dev/vda -C /out . && echo "l1: /out written back ($(du -sk /out | cut -f1) KiB)"
	else
		echo "l1: no /dev/vda to write /out back to"
	fi
fi

echo "l1: done after $(cut -d' ' -f1 /proc/uptime) s of L1 uptime"
sync
poweroff -f
