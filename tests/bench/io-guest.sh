#!/bin/sh
# io-guest.sh - make bench-io's guest side (tests/bench/io.sh): run by minnow-init (minnow.exec=) in the L2 guest, under minnow or QEMU microvm alike; fio on the virtio-blk drive, then iperf3 to the L1 host over the virtio-net TAP.
#
# usage: sh /bin/io-guest.sh L1_ADDR GUEST_ADDR/PREFIX FIO_SECONDS IPERF_SECONDS
# Prints one line per figure, "IO fio JOB iops=N mib_s=N lat_us=N" (fio's
# terse output: completions per second, MiB/s, mean total latency) and
# "IO net tx|rx mbit_s=N" (iperf3's receiver side: tx is guest to L1, rx
# with -R is L1 to guest), "IO fio JOB failed" or "IO net DIR failed" with
# the tool's last line otherwise. Runs under busybox sh.
L1=$1
ADDR=$2
RT=$3
NT=$4
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

ip link set eth0 up && ip addr add "$ADDR" dev eth0 || echo "IO net setup failed"

# fio JOB RW BS IODEPTH: one job on the raw drive, O_DIRECT through libaio,
# for RT seconds after a second of ramp (not counted).
fio_job() {
	out=$(fio --name="$1" --filename=/dev/vda --rw="$2" --bs="$3" --iodepth="$4" --direct=1 \
		--ioengine=libaio --size=256M --time_based --runtime="$RT" --ramp_time=1 \
		--randrepeat=0 --norandommap --output-format=terse --terse-version=3 2>&1)
	# terse v3: 6-8 read KiB, KiB/s, IOPS; 40 read mean total latency (us);
	# 47-49 and 81 the same for writes.
	echo "$out" | awk -F';' -v j="$1" 'NF > 80 && $1 == 3 {
		if ($49 > $8) { bw = $48; iops = $49; lat = $81 } else { bw = $7; iops = $8; lat = $40 }
		printf "IO fio %s iops=%.0f mib_s=%.1f lat_us=%.1f\n", j, iops, bw / 1024, lat; ok = 1 }
		END { exit !ok }' || {
		echo "IO fio $1 failed"
		echo "$out" | tail -n 3 | sed 's/^/IO-ERR /'
	}
}
fio_job randread-4k-qd1 randread 4k 1
fio_job randread-4k-qd32 randread 4k 32
fio_job randwrite-4k-qd1 randwrite 4k 1
fio_job randwrite-4k-qd32 randwrite 4k 32
fio_job read-1m-qd8 read 1M 8
fio_job write-1m-qd8 write 1M 8

# iperf DIR [-R]: NT seconds of TCP to L1's iperf3 server; the receiver's
# summary line in Mbit/s.
iperf() {
	dir=$1
	shift
	out=$(iperf3 -c "$L1" -t "$NT" -f m --connect-timeout 5000 "$@" 2>&1)
	echo "$out" | awk -v d="$dir" '/receiver/ { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") {
		printf "IO net %s mbit_s=%s\n", d, $(i - 1); ok = 1 } }
		END { exit !ok }' || {
		echo "IO net $dir failed"
		echo "$out" | tail -n 3 | sed 's/^/IO-ERR /'
	}
}
iperf tx
iperf rx -R
