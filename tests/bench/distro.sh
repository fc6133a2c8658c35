#!/bin/sh
# distro.sh - make bench-distro: a Debian bookworm systemd boot to multi-user.target and power-off, under minnow and under QEMU microvm, interleaved, in one L1 boot (tests/l1/run.sh, QEMU in L1 too); prints the medians side by side with their ratios and the aim.
#
# The guest, the same under both: Debian's stock cloud kernel (LINUX_KERNEL),
# an initramfs-tools initrd for it, and an ext4 root on virtio-blk
# (root=/dev/vda) holding a debootstrap minbase with systemd, both built once
# and cached by tests/bench/distro-image.sh; 2 vCPUs, 512M, console on
# ttyS0 (minnow's MMIO UART, QEMU's port-I/O one), a fresh copy of the root
# image per run in L1's tmpfs, writeback cache on both. systemd's
# bench-done.service prints the guest's uptime at multi-user.target and
# powers off; the kernel's "reboot: Power down" line (printk.time=1) gives
# the uptime at power-off. Per run: the VMM process's wall time in L1 (exec
# to exit), both uptimes, the count of systemd's FAILED lines; minnow's
# --timings report of its first run; each VMM's first console in
# build/bench/distro-console-{minnow,qemu}.txt.
# Aim: minnow's exec to exit at most 0.8x QEMU's.
# Inside L1 everything runs on nested KVM under QEMU's TCG: the absolute
# figures are not this host's, the ratios are what to read.
# Environment: BENCH_DISTRO_RUNS (runs per VMM, default 3),
# BENCH_DISTRO_TIMEOUT (seconds per VM run, default 300); LINUX_KERNEL as for
# tests/l1/run.sh. Every run in build/bench/distro-runs.txt, the medians in
# build/bench/distro.json. A benchmark, not a test: exits non-zero only when
# nothing could be measured.
set -eu
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

RUNS=${BENCH_DISTRO_RUNS:-3}
TIMEOUT=${BENCH_DISTRO_TIMEOUT:-300}
positive_ints "BENCH_DISTRO_RUNS=$RUNS" "BENCH_DISTRO_TIMEOUT=$TIMEOUT"
B=build/bench
mkdir -p $B
L1SCRIPT=$B/distro-l1.sh
OUT=$B/distro.json
LOG=$B/distro-runs.txt
t_start=$(date +%s)

# shellcheck disable=SC2012 # Debian's kernel file names have no blanks
KERNEL=${LINUX_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -n "$KERNEL" ] || {
	echo "bench-distro: no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)" >&2
	exit 1
}
C=$(sh tests/bench/distro-image.sh "${KERNEL##*/vmlinuz-}")
files="$C/rootfs.img:/l2/distro-root.img $C/initrd.img:/l2/distro-initrd.img"

# ---- what L1's init runs (sourced by tests/l1/init.sh) -------------------------
{
	echo "RUNS=$RUNS TIMEOUT=$TIMEOUT"
	cat <<'EOF'
IMG=$W/distro.img
BASE="console=ttyS0 root=/dev/vda rw quiet printk.time=1 panic=-1"
cat >"$W/distro.ini" <<INI
[vm]
vcpus = 2
memory = 512M
[kernel]
path = /l2/bzImage
initrd = /l2/distro-initrd.img
cmdline = $BASE
[console]
output = stdio
input = off
[drive.root]
path = $IMG
cache = writeback
INI
mrun() { timeout -s KILL "$TIMEOUT" /bin/minnow run "$W/distro.ini" --timings </dev/null; }
qrun() {
	timeout -s KILL "$TIMEOUT" qemu-system-x86_64 -L /usr/share/qemu \
		-M microvm,x-option-roms=off,rtc=on,pit=off,pic=off,acpi=on \
		-accel kvm -cpu host -m 512M -smp 2 -nodefaults -no-user-config -display none \
		-no-reboot -kernel /l2/bzImage -initrd /l2/distro-initrd.img -append "$BASE" -serial stdio \
		-drive id=d0,file=$IMG,format=raw,if=none,cache=writeback,aio=threads \
		-device virtio-blk-device,drive=d0 </dev/null
}
i=1
while [ "$i" -le "$RUNS" ]; do
	for vmm in minnow qemu; do
		cp /l2/distro-root.img "$IMG"
		o=$W/distro-$vmm-$i
		t0=$(now)
		if [ $vmm = minnow ]; then mrun; else qrun; fi >"$o.out" 2>"$o.err"
		st=$?
		t1=$(now)
		rm -f "$IMG"
		tr -d '\r' <"$o.out" >"$o.txt"
		mu=$(sed -n 's/.*BENCHDISTRO multi-user uptime=\([0-9.]*\).*/\1/p' "$o.txt" | tail -n 1)
		off=$(sed -n 's/^\[ *\([0-9.]*\)\] reboot: Power down.*/\1/p' "$o.txt" | tail -n 1)
		failed=$(grep -c 'FAILED' "$o.txt")
		echo "BENCHD $vmm $i run status=$st secs=$(secs "$t0" "$t1") multi_user=${mu:--} poweroff=${off:--} failed_units=$failed"
		[ "$i" != 1 ] || sed "s/^/BENCHC $vmm /" "$o.txt"
		[ $vmm != minnow ] || [ "$i" != 1 ] || sed -n '/^minnow timings/,$s/^/BENCHT /p' "$o.err"
		[ -n "$mu" ] || dump "$o.txt" "$o.err"
	done
	i=$((i + 1))
done
EOF
} >"$L1SCRIPT"

echo "bench-distro: $RUNS boots each of Debian bookworm with systemd under minnow and QEMU microvm," \
	"interleaved, in one L1 boot (TCG: about $((2 + RUNS * 2 * 35 / 60)) minutes)"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
L1_PARTS=none L1_EXTRA=$L1SCRIPT L1_QEMU=1 L1_KEYS=1 L1_FILES=$files \
	L1_TIMEOUT=$((300 + RUNS * 2 * TIMEOUT)) sh tests/l1/run.sh >$B/distro-run.log 2>&1 || true
# Every run's line, kept apart from L1's console (the next L1 run rewrites it).
grep -E '^BENCH[DT] ' build/l1/l1.log >"$LOG" 2>/dev/null || true
for v in minnow qemu; do
	sed -n "s/^BENCHC $v //p" build/l1/l1.log >$B/distro-console-$v.txt
done
echo "bench-distro: this host's load average before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
grep -E '^(BENCHD|  \| )' build/l1/l1.log | sed 's/^BENCHD //; s/^/  /' || true
# completed VMM: the lines of VMM's completed runs (exit status 0 and the
# multi-user marker).
completed() { grep "^BENCHD $1 [0-9]* run status=0 .*multi_user=[0-9]" "$LOG" || true; }
if [ -z "$(completed minnow)$(completed qemu)" ]; then
	echo "bench-distro: no completed boot; see $B/distro-run.log and build/l1/l1.log" >&2
	tail -n 20 $B/distro-run.log >&2
	exit 1
fi

# ---- medians ----------------------------------------------------------------------
# med VMM FIELD: the median of FIELD over VMM's completed runs, or "-".
med() {
	completed "$1" | sed -n "s/.* $2=\([0-9.][0-9.]*\).*/\1/p" | median | rounded %.1f
}
done_runs() { completed "$1" | wc -l; }

printf '\nbench-distro: medians of the completed boots (minnow %s of %s, qemu %s of %s)\n' \
	"$(done_runs minnow)" "$RUNS" "$(done_runs qemu)" "$RUNS"
fmt='%-38s %8s %13s %12s  %s\n'
# shellcheck disable=SC2059 # the format is the table's
printf "$fmt" "" "minnow" "qemu microvm" "minnow/qemu" "aim"
json=
row() { # LABEL FIELD AIM
	m=$(med minnow "$2")
	q=$(med qemu "$2")
	r=$(ratio "$m" "$q")
	a=
	[ -z "$3" ] || a="<= ${3}x: $(awk -v r="$r" -v l="$3" 'BEGIN { print r == "-" ? "-" : r <= l ? "met" : "NOT met" }')"
	# shellcheck disable=SC2059
	printf "$fmt" "$1" "$m" "$q" "$r" "$a"
	json="$json${json:+,}\"$2\":{\"unit\":\"s\",\"minnow\":$(json_num "$m"),\"qemu\":$(json_num "$q"),\"ratio\":$(json_num "$r")${3:+,\"aim\":$3}}"
}
row "exec to exit, VMM wall time in L1 (s)" secs 0.8
row "guest uptime at multi-user (s)" multi_user ""
row "guest uptime at power-off (s)" poweroff ""
printf '%s\n' "{\"measured_in\":\"l1\",\"runs\":$RUNS,\"completed\":{\"minnow\":$(done_runs minnow),\"qemu\":$(done_runs qemu)},$json}" >"$OUT"
echo "minnow --timings, its first run:"
sed -n 's/^BENCHT /  /p' "$LOG"
l1_freezes bench-distro $B/distro-run.log
echo "bench-distro: inside an L1 host under TCG; compare the ratios. Every run: $LOG; JSON: $OUT;" \
	"$(($(date +%s) - t_start)) s in all"
