#!/bin/sh
# io.sh - make bench-io: in one L1 boot (tests/l1/run.sh, QEMU in L1 too), the same Linux guest under minnow and under QEMU microvm with the same devices, measured by fio on a virtio-blk drive and iperf3 over a virtio-net TAP; prints the medians side by side with their ratios and the aims.
#
# The guest, the same under both: Debian's kernel (LINUX_KERNEL), 1 vCPU,
# 512M, an initrd of firmware/mkinitrd.sh with fio, iperf3 and their shared
# libraries (ldd) and tests/bench/io-guest.sh, which minnow-init runs
# (minnow.exec=); its output on a virtio-console (hvc0). Devices: one
# virtio-blk drive, a 256 MiB raw image in L1's /tmp (tmpfs), writeback cache
# on both (minnow `cache = writeback`, QEMU `cache=writeback,aio=threads`;
# tmpfs has no O_DIRECT for `cache = none`), and one virtio-net on a TAP of
# its own per VMM (tapm 172.30.1.1/24, tapq 172.30.2.1/24; QEMU without
# vhost-net, as minnow has none). In the guest (tests/bench/io-guest.sh):
# fio on /dev/vda (--direct=1, libaio): 4 KiB random read and write at
# iodepth 1 and 32, 1 MiB sequential read and write at iodepth 8; then
# iperf3 -c L1 (tx: guest to L1) and -R (rx: L1 to guest) against an
# iperf3 server in L1. minnow and QEMU runs alternate.
# Aims: minnow >= 1.2x QEMU on every fio row, >= 1.0x on iperf3.
# Inside L1 everything runs on nested KVM under QEMU's TCG: the absolute
# figures are not this host's, the ratios are what to read.
# Environment: BENCH_IO_RUNS (runs per VMM, default 3), BENCH_IO_FIO_SECS
# (per fio job, default 4), BENCH_IO_NET_SECS (per iperf3 direction,
# default 4), BENCH_IO_TIMEOUT (seconds per VM run, default 300);
# LINUX_KERNEL as for tests/l1/run.sh. Every run's figures in
# build/bench/io-runs.txt, the medians in build/bench/io.json. A benchmark,
# not a test: exits non-zero only when nothing could be measured.
set -eu
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

RUNS=${BENCH_IO_RUNS:-3}
FIO_SECS=${BENCH_IO_FIO_SECS:-4}
NET_SECS=${BENCH_IO_NET_SECS:-4}
TIMEOUT=${BENCH_IO_TIMEOUT:-300}
positive_ints "BENCH_IO_RUNS=$RUNS" "BENCH_IO_FIO_SECS=$FIO_SECS" "BENCH_IO_NET_SECS=$NET_SECS" \
	"BENCH_IO_TIMEOUT=$TIMEOUT"
for t in fio iperf3; do
	command -v $t >/dev/null 2>&1 || {
		echo "bench-io: no $t on this host (apt-get install fio iperf3)" >&2
		exit 1
	}
done
B=build/bench
mkdir -p $B
L1SCRIPT=$B/io-l1.sh
OUT=$B/io.json
RUNS_OUT=$B/io-runs.txt
INITRD=$B/io-initrd.cpio
t_start=$(date +%s)

# libs FILE: the shared libraries FILE loads (ldd), the loader included.
libs() { ldd "$1" | awk '/=> \// { print $3 } /^\t\// { print $1 }'; }

# ---- the L2 initrd: minnow's, plus fio, iperf3 and their libraries -----------
# Not compressed: fio's libraries (it links Ceph's, GlusterFS's, ICU's) come
# to about 85 MiB, which the guest would gunzip at TCG speed at every boot.
# shellcheck disable=SC2012 # Debian's kernel file names have no blanks
KERNEL=${LINUX_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -n "$KERNEL" ] || {
	echo "bench-io: no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)" >&2
	exit 1
}
KVER=${KERNEL##*/vmlinuz-}
add="-a tests/bench/io-guest.sh:/bin/io-guest.sh -a $(command -v fio):/usr/bin/fio -a $(command -v iperf3):/usr/bin/iperf3"
for l in $( (libs "$(command -v fio)" && libs "$(command -v iperf3)") | sort -u); do
	add="$add -a $l:$l"
done
rm -rf $B/io-tree
# shellcheck disable=SC2086 # $add is a list of options
sh firmware/mkinitrd.sh -k "$KVER" -d $B/io-tree $add >/dev/null
(cd $B/io-tree && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$INITRD"
rm -rf $B/io-tree

# L1 gets the initrd and iperf3 (the server end) with its libraries.
files="$INITRD:/l2/io-initrd.cpio $(command -v iperf3):/usr/bin/iperf3"
for l in $(libs "$(command -v iperf3)"); do
	files="$files $l:$l"
done

# ---- what L1's init runs (sourced by tests/l1/init.sh) -------------------------
{
	echo "RUNS=$RUNS FIO_SECS=$FIO_SECS NET_SECS=$NET_SECS TIMEOUT=$TIMEOUT"
	cat <<'EOF'
IMG=/tmp/io.img
dd if=/dev/zero of=$IMG bs=1M count=256 2>/dev/null
for t in m:1 q:2; do
	tunctl -t "tap${t%:*}" >/dev/null
	ip addr add "172.30.${t#*:}.1/24" dev "tap${t%:*}"
	ip link set "tap${t%:*}" up
done
iperf3 -s -D --logfile "$W/iperf3-server.log"
# exec_line NET: the command minnow-init runs, for the guest on 172.30.NET.0/24.
exec_line() { echo "minnow.exec=\"sh /bin/io-guest.sh 172.30.$1.1 172.30.$1.2/24 $FIO_SECS $NET_SECS\""; }
BASE="console=hvc0 quiet panic=-1"
cat >"$W/io.ini" <<INI
[vm]
vcpus = 1
memory = 512M
[kernel]
path = /l2/bzImage
initrd = /l2/io-initrd.cpio
cmdline = $BASE $(exec_line 1)
[console]
output = none
input = off
[vconsole]
output = stdio
[drive.vda]
path = $IMG
cache = writeback
[net.eth0]
tap = tapm
INI
mrun() { timeout -s KILL "$TIMEOUT" /bin/minnow run "$W/io.ini" </dev/null; }
qrun() {
	timeout -s KILL "$TIMEOUT" qemu-system-x86_64 -L /usr/share/qemu \
		-M microvm,x-option-roms=off,rtc=on,pit=off,pic=off,isa-serial=off,acpi=on \
		-accel kvm -cpu host -m 512M -smp 1 -nodefaults -no-user-config -display none \
		-no-reboot -kernel /l2/bzImage -initrd /l2/io-initrd.cpio -append "$BASE $(exec_line 2)" \
		-drive id=d0,file=$IMG,format=raw,if=none,cache=writeback,aio=threads \
		-device virtio-blk-device,drive=d0 \
		-netdev tap,id=n0,ifname=tapq,script=no,downscript=no,vhost=off \
		-device virtio-net-device,netdev=n0 \
		-device virtio-serial-device -chardev stdio,id=c0,signal=off \
		-device virtconsole,chardev=c0 </dev/null
}
i=1
while [ "$i" -le "$RUNS" ]; do
	for vmm in minnow qemu; do
		t0=$(now)
		if [ $vmm = minnow ]; then mrun; else qrun; fi >"$W/io-$vmm-$i.out" 2>"$W/io-$vmm-$i.err"
		st=$?
		echo "BENCHIO $vmm $i run status=$st secs=$(secs "$t0" "$(now)")"
		tr -d '\r' <"$W/io-$vmm-$i.out" | sed -n "s/^IO /BENCHIO $vmm $i /p; s/^IO-ERR /  | $vmm $i: /p"
		grep -q '^IO ' "$W/io-$vmm-$i.out" || dump "$W/io-$vmm-$i.out" "$W/io-$vmm-$i.err"
	done
	i=$((i + 1))
done
EOF
} >"$L1SCRIPT"

echo "bench-io: $RUNS runs each of minnow and QEMU microvm (fio ${FIO_SECS} s per job, iperf3 ${NET_SECS} s" \
	"each way) in one L1 boot (TCG: about $((2 + RUNS * 2 * (6 * (FIO_SECS + 2) + 2 * NET_SECS + 20) / 60)) minutes)"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
L1_PARTS=none L1_EXTRA=$L1SCRIPT L1_QEMU=1 L1_KEYS=1 L1_FILES=$files \
	L1_TIMEOUT=$((300 + RUNS * 2 * TIMEOUT)) sh tests/l1/run.sh >$B/io-run.log 2>&1 || true
# Every run's line, kept apart from L1's console (the next L1 run rewrites it).
grep '^BENCHIO ' build/l1/l1.log >"$RUNS_OUT" 2>/dev/null || true
if ! grep -q '^BENCHIO [a-z]* [0-9]* fio .*iops=' "$RUNS_OUT" &&
	! grep -q '^BENCHIO [a-z]* [0-9]* net .*mbit_s=' "$RUNS_OUT"; then
	echo "bench-io: no measurements; see $B/io-run.log and build/l1/l1.log" >&2
	tail -n 20 $B/io-run.log >&2
	exit 1
fi
LOG=$RUNS_OUT
echo "bench-io: this host's load average before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
grep -E '^(BENCHIO|  \| )' build/l1/l1.log | sed 's/^BENCHIO //; s/^/  /'

# ---- medians ----------------------------------------------------------------------
# med VMM KIND NAME FIELD: the median of FIELD over the runs, or "-".
med() {
	m=$(sed -n "s/^BENCHIO $1 [0-9]* $2 $3 .*$4=\([0-9.][0-9.]*\).*/\1/p" "$LOG" | median)
	echo "$m" | rounded "$(awk -v m="$m" 'BEGIN { print (m >= 100 ? "%.0f" : "%.1f") }')"
}
# aim R LIMIT: "met" or "NOT met" (or "-").
aim() { awk -v r="$1" -v l="$2" 'BEGIN { if (r == "-") print "-"; else if (r >= l) print "met"; else print "NOT met" }'; }
# paired KIND NAME FIELD: the median over runs i of minnow's FIELD / QEMU's
# FIELD in run i (interleaved runs see the same moment of a busy machine),
# or "-".
paired() {
	sed -n "s/^BENCHIO \([a-z]*\) \([0-9]*\) $1 $2 .*$3=\([0-9.][0-9.]*\).*/\1 \2 \3/p" "$LOG" |
		awk '{ v[$1, $2] = $3; runs[$2] = 1 } END {
			for (i in runs) if ((("minnow", i) in v) && (("qemu", i) in v) && v["qemu", i] > 0)
				print v["minnow", i] / v["qemu", i] }' | median | rounded %.2f
}
n_ok() { grep -c "^BENCHIO $1 [0-9]* $2 .*=" "$LOG" || true; }

printf '\nbench-io: medians of %s runs each, interleaved (figures from minnow %s/%s, qemu %s/%s fio/net runs)\n' \
	"$RUNS" "$(n_ok minnow fio)" "$((RUNS * 6))" "$(n_ok qemu fio)" "$((RUNS * 6))"
# minnow/qemu is the ratio of the medians, which the aim judges; run by run
# is the median of the runs' own ratios (less moved by a machine whose load
# changes during the benchmark).
fmt='%-36s %8s %13s %12s %12s  %s\n'
# shellcheck disable=SC2059 # the format is the table's
printf "$fmt" "" "minnow" "qemu microvm" "minnow/qemu" "run by run" "aim"
json=
row() { # LABEL KIND NAME FIELD AIM
	m=$(med minnow "$2" "$3" "$4")
	q=$(med qemu "$2" "$3" "$4")
	r=$(ratio "$m" "$q")
	p=$(paired "$2" "$3" "$4")
	# shellcheck disable=SC2059
	printf "$fmt" "$1" "$m" "$q" "$r" "$p" ">= ${5}x: $(aim "$r" "$5")"
	json="$json${json:+,}\"$3\":{\"unit\":\"$4\",\"minnow\":$(json_num "$m"),\"qemu\":$(json_num "$q"),\"ratio\":$(json_num "$r"),\"paired_ratio\":$(json_num "$p"),\"aim\":$5}"
}
row "fio 4k randread iodepth 1 (IOPS)" fio randread-4k-qd1 iops 1.2
row "fio 4k randread iodepth 32 (IOPS)" fio randread-4k-qd32 iops 1.2
row "fio 4k randwrite iodepth 1 (IOPS)" fio randwrite-4k-qd1 iops 1.2
row "fio 4k randwrite iodepth 32 (IOPS)" fio randwrite-4k-qd32 iops 1.2
row "fio 1M read iodepth 8 (MiB/s)" fio read-1m-qd8 mib_s 1.2
row "fio 1M write iodepth 8 (MiB/s)" fio write-1m-qd8 mib_s 1.2
row "iperf3 guest -> L1 (Mbit/s)" net tx mbit_s 1.0
row "iperf3 L1 -> guest, -R (Mbit/s)" net rx mbit_s 1.0
# shellcheck disable=SC2059
printf "$fmt" "whole VM run, boot to power-off (s)" "$(med minnow run status=0 secs)" "$(med qemu run status=0 secs)" "" "" "(not an aim)"
printf '%s\n' "{\"measured_in\":\"l1\",\"runs\":$RUNS,\"fio_secs\":$FIO_SECS,\"net_secs\":$NET_SECS,\"cache\":\"writeback\",$json}" >"$OUT"
l1_freezes bench-io $B/io-run.log
echo "bench-io: inside an L1 host under TCG; compare the ratios. Every run: $LOG; JSON: $OUT;" \
	"$(($(date +%s) - t_start)) s in all"
