#!/bin/sh
# blk.sh - the virtio part of `make bench` (run by bench.sh after the boot table): virtio-blk IOPS and MiB/s from the firmware's blk-bench under minnow and QEMU microvm, the same reads by a host process, exits per kick and interrupts per batch; appended to build/bench/results.json.
#
# Each round runs, in this order: minnow (test=blk-bench on a fresh random
# image, page cache warm), build/bench-hostread with the request counts that
# minnow's run made, and QEMU microvm on the same image and firmware. The
# firmware's loop is time-bound (ms=BENCH_BLK_MS per phase), so the host
# process repeats minnow's request counts of the same round.
#
# Environment: BENCH_BLK_RUNS (default 5), BENCH_BLK_MS (per phase, default
# 2000), BENCH_BLK_MIB (image size, default 64), BENCH_BLK_TIMEOUT (seconds per
# VM run, default 120), BENCH_BLK_LOAD (busy loops competing for the host's
# CPUs during every run, the three columns alike, at most 256: 0, the
# default, measures an idle host; the number of CPUs, a loaded one), MINNOW,
# QEMU. A benchmark, not a test: exits non-zero only when minnow fails (or is
# not built).
set -u
cd "$(dirname "$0")/../.." || exit 1

RUNS=${BENCH_BLK_RUNS:-5}
MS=${BENCH_BLK_MS:-2000}
MIB=${BENCH_BLK_MIB:-64}
TIMEOUT=${BENCH_BLK_TIMEOUT:-120}
LOAD=${BENCH_BLK_LOAD:-0}
QEMU=${QEMU:-qemu-system-x86_64}
MINNOW=${MINNOW:-./minnow}
HOSTREAD=build/bench-hostread
CONFIG=examples/hello.ini
PVH=build/firmware/minnow-test.elf
OUT=build/bench/results.json
CMDLINE="test=blk-bench ms=$MS"
GUEST_MEM=128M

# QEMU 7.2 microvm's virtio-mmio transports (hw/i386/microvm.c): 512 bytes
# apart from 0xfeb00000. With ACPI on (its default) there are 24 on a second
# IOAPIC (GSIs 24..47) and -device lands on the last one, beyond the
# firmware's 19 slots; with acpi=off there are 8 at GSIs 5..12 and the drive
# is in slot 7. The firmware uses no ACPI, so acpi=off it is.
QEMU_LAYOUT=0xfeb00000,0x200,8,5

. tests/bench/lib.sh
positive_ints "BENCH_BLK_RUNS=$RUNS" "BENCH_BLK_MS=$MS" "BENCH_BLK_MIB=$MIB" \
	"BENCH_BLK_TIMEOUT=$TIMEOUT"
case $LOAD in
[0-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-6]) ;; # 0 to 256
*)
	echo "bench: BENCH_BLK_LOAD must be a number of busy loops from 0 to 256, not '$LOAD'" >&2
	exit 2
	;;
esac
if [ "$MIB" -lt 4 ]; then
	echo "bench: BENCH_BLK_MIB must be at least 4 (two 1 MiB requests and room)" >&2
	exit 2
fi

missing=
[ -x "$MINNOW" ] || missing="$missing
  $MINNOW (make minnow)"
[ -x "$HOSTREAD" ] || missing="$missing
  $HOSTREAD (make $HOSTREAD)"
[ -f "$CONFIG" ] || missing="$missing
  $CONFIG (the hello VM's config)"
[ -f "$PVH" ] || missing="$missing
  $PVH (the test unikernel, PVH entry: make firmware)"
if [ -n "$missing" ]; then
	echo "bench: virtio-blk part cannot run, missing:$missing" >&2
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/minnow-bench-blk.XXXXXX") || exit 1
LOAD_PIDS=
# Ends the busy loops (BENCH_BLK_LOAD), if any.
unload() {
	# shellcheck disable=SC2086 # one word a pid
	[ -z "$LOAD_PIDS" ] || kill $LOAD_PIDS 2>/dev/null
	LOAD_PIDS=
}
trap 'unload; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
IMG=$TMP/drive.img
SAMPLES=$TMP/samples # lines: TOOL KEY VALUE, in run order
FRAG=$TMP/virtio_blk.json
: >"$SAMPLES"

if ! dd if=/dev/urandom of="$IMG" bs=1048576 count="$MIB" 2>"$TMP/dd.err"; then
	echo "bench: cannot make the ${MIB} MiB image in $TMP:" >&2
	cat "$TMP/dd.err" >&2
	exit 1
fi
cat "$IMG" >/dev/null # page cache warm, for the guests and the host alike

# Runs "$@" with BENCH_BLK_TIMEOUT (coreutils timeout: status 124 when hit).
timed() {
	if command -v timeout >/dev/null 2>&1; then
		timeout -k 5 "$TIMEOUT" "$@"
	else
		"$@"
	fi
}

# Prints the tail of a capture file on stderr.
show() {
	echo "--- $1 (last 40 lines) ---" >&2
	tail -n 40 "$2" >&2
	echo "---" >&2
}

# Appends TOOL KEY VALUE lines for the firmware's blk-bench lines in FILE
# (and minnow's --timings=json object, when there is one) to the samples;
# status 1 when the result line is missing.
parse() {
	awk -v tool="$1" '
	function field(line, key,   i, n, w) {
		n = split(line, w, " ")
		for (i = 1; i <= n; i++)
			if (index(w[i], key "=") == 1)
				return substr(w[i], length(key) + 2)
		return ""
	}
	function jnum(line, key,   s) {
		if (!match(line, "\"" key "\":[0-9.]+"))
			return ""
		s = substr(line, RSTART, RLENGTH)
		return substr(s, length(key) + 4)
	}
	/minnow-test: blk-bench (rand4k|seq) / {
		p = ($0 ~ / rand4k /) ? "rand" : "seq"
		split("bytes_per_req qd segs ops errors kicks us", k, " ")
		for (i = 1; i <= 7; i++)
			v[p "_" k[i]] = field($0, k[i])
	}
	/minnow-test: blk-bench iops=/ {
		v["iops"] = field($0, "iops")
		v["seq_mib_s"] = field($0, "seq_mib_s")
		found = 1
	}
	/^[ \t]*\{.*"exit_reason"/ {
		split("exits mmio_exits pio_exits virtio_user_kicks virtio_interrupts", k, " ")
		for (i = 1; i <= 5; i++)
			if ((x = jnum($0, k[i])) != "")
				v[k[i]] = x
	}
	function set(key, x) {
		if (x == "")
			return
		if (!(key in out))
			order[++n] = key
		out[key] = x
	}
	END {
		if (!found || v["iops"] == "" || v["seq_mib_s"] == "" || v["rand_ops"] == "" ||
		    v["seq_ops"] == "")
			exit 1
		split("iops seq_mib_s", k, " ")
		for (i = 1; i <= 2; i++)
			set(k[i], v[k[i]])
		split("bytes_per_req qd segs ops errors kicks us", k, " ")
		for (i = 1; i <= 7; i++) {
			set("rand_" k[i], v["rand_" k[i]])
			set("seq_" k[i], v["seq_" k[i]])
		}
		if (v["rand_kicks"] != "") { # a guest: its queue counters
			# issued = completed in the window + the queue depth drained after it
			req = v["rand_ops"] + v["rand_qd"] + v["seq_ops"] + v["seq_qd"]
			kicks = v["rand_kicks"] + v["seq_kicks"]
			set("requests", req)
			set("kicks", kicks)
			if (kicks > 0)
				set("requests_per_kick", req / kicks)
			split("exits mmio_exits pio_exits virtio_user_kicks virtio_interrupts", k, " ")
			for (i = 1; i <= 5; i++)
				set(k[i], v[k[i]])
			if (v["virtio_user_kicks"] != "" && kicks > 0)
				set("user_exits_per_kick", v["virtio_user_kicks"] / kicks)
			if (v["virtio_interrupts"] != "") {
				if (kicks > 0)
					set("interrupts_per_kick", v["virtio_interrupts"] / kicks)
				set("interrupts_per_1k_requests", v["virtio_interrupts"] * 1000 / req)
			}
			if (v["exits"] != "")
				set("exits_per_1k_requests", v["exits"] * 1000 / req)
		}
		for (i = 1; i <= n; i++)
			printf "%s %s %s\n", tool, order[i], out[order[i]]
	}' "$2" >"$TMP/parsed" || return 1
	cat "$TMP/parsed" >>"$SAMPLES"
}

# The value of KEY in the last parse of TOOL.
last() {
	awk -v t="$1" -v k="$2" '$1 == t && $2 == k { v = $3 } END { print v }' "$SAMPLES"
}

MINNOW_CMD="$MINNOW run $CONFIG --set kernel.path=$PVH --set kernel.cmdline=\"$CMDLINE\" \
--set vm.memory=$GUEST_MEM --set drive.bench.path=IMAGE --timings=json"
HOST_CMD="$HOSTREAD IMAGE RAND_OPS 4096 SEQ_OPS SEQ_BYTES (minnow's counts of the same round)"
QEMU_CMD="$QEMU -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,acpi=off \
-accel kvm -cpu host,-arch-capabilities -m $GUEST_MEM -smp 1 -nodefaults -no-user-config \
-nographic -display none -no-reboot -serial file:SERIAL -global virtio-mmio.force-legacy=false \
-drive id=d0,file=IMAGE,format=raw,if=none -device virtio-blk-device,drive=d0 \
-kernel $PVH -append \"$CMDLINE virtio_mmio=$QEMU_LAYOUT\""

qemu_skip=
if ! command -v "$QEMU" >/dev/null 2>&1; then
	qemu_skip="$QEMU not found in PATH (Debian package qemu-system-x86)"
fi
host_skip=
minnow_ok=0 host_ok=0 qemu_ok=0

printf '\nvirtio-blk: %s runs each, alternating minnow / host process / qemu microvm; ' "$RUNS"
printf '%s MiB image of random bytes in %s, page cache warm\n' "$MIB" "$TMP"
if [ "$LOAD" -gt 0 ]; then
	printf '  host loaded: %s busy loops on %s CPUs for every run (BENCH_BLK_LOAD)\n' \
		"$LOAD" "$(getconf _NPROCESSORS_ONLN)"
fi
printf '  %-14s %s\n' minnow "$MINNOW_CMD" "host process" "$HOST_CMD" "qemu microvm" "$QEMU_CMD"
[ -z "$qemu_skip" ] || echo "qemu microvm column skipped: $qemu_skip"

i=0
while [ "$i" -lt "$LOAD" ]; do
	sh -c 'while :; do :; done' &
	LOAD_PIDS="$LOAD_PIDS $!"
	i=$((i + 1))
done

r=1
while [ "$r" -le "$RUNS" ]; do
	# minnow
	timed "$MINNOW" run "$CONFIG" --set kernel.path="$PVH" --set kernel.cmdline="$CMDLINE" \
		--set vm.memory="$GUEST_MEM" --set drive.bench.path="$IMG" --timings=json \
		</dev/null >"$TMP/m.out" 2>"$TMP/m.err"
	st=$?
	if [ "$st" -ne 0 ] || ! cat "$TMP/m.out" "$TMP/m.err" >"$TMP/m.all" ||
		! parse minnow "$TMP/m.all"; then
		if [ "$st" -eq 0 ]; then
			why="no 'blk-bench iops=' result line"
		elif [ "$st" -eq 124 ]; then
			why="exit status 124 (still running after ${TIMEOUT} s? BENCH_BLK_TIMEOUT)"
		else
			why="exit status $st"
		fi
		echo "bench: minnow failed in virtio-blk run $r: $why" >&2
		show "its stderr" "$TMP/m.err"
		show "its stdout" "$TMP/m.out"
		exit 1
	fi
	minnow_ok=$((minnow_ok + 1))

	# the host process, minnow's request counts
	if [ -z "$host_skip" ]; then
		if "$HOSTREAD" "$IMG" "$(last minnow rand_ops)" "$(last minnow rand_bytes_per_req)" \
			"$(last minnow seq_ops)" "$(last minnow seq_bytes_per_req)" \
			>"$TMP/h.out" 2>"$TMP/h.err" &&
			sed 's/^hostread:/minnow-test: blk-bench/; s/ rand / rand4k /' \
				"$TMP/h.out" >"$TMP/h.fw" && parse host "$TMP/h.fw"; then
			host_ok=$((host_ok + 1))
		else
			host_skip="stopped at run $r: bench-hostread failed"
			echo "host process column skipped: $host_skip"
			show "its stderr" "$TMP/h.err"
		fi
	fi

	# QEMU microvm
	if [ -z "$qemu_skip" ]; then
		: >"$TMP/q.serial"
		timed "$QEMU" -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,acpi=off \
			-accel kvm -cpu host,-arch-capabilities -m "$GUEST_MEM" -smp 1 -nodefaults \
			-no-user-config -nographic -display none -no-reboot \
			-serial "file:$TMP/q.serial" -global virtio-mmio.force-legacy=false \
			-drive "id=d0,file=$IMG,format=raw,if=none" -device virtio-blk-device,drive=d0 \
			-kernel "$PVH" -append "$CMDLINE virtio_mmio=$QEMU_LAYOUT" \
			</dev/null >"$TMP/q.out" 2>"$TMP/q.err"
		st=$?
		if [ "$st" -eq 0 ] && parse qemu "$TMP/q.serial"; then
			qemu_ok=$((qemu_ok + 1))
		else
			if [ "$st" -ne 0 ]; then
				qemu_skip="stopped at run $r: exit status $st"
			else
				qemu_skip="stopped at run $r: no 'blk-bench iops=' line on its serial port"
			fi
			echo "qemu microvm column skipped: $qemu_skip"
			show "its stderr" "$TMP/q.err"
			show "its serial port" "$TMP/q.serial"
		fi
	fi
	r=$((r + 1))
done
unload

# ---- the tables and the JSON member, from the samples ----
MINNOW_CMD=$MINNOW_CMD HOST_CMD=$HOST_CMD QEMU_CMD=$QEMU_CMD QEMU_SKIP=$qemu_skip \
	HOST_SKIP=$host_skip QEMU_LAYOUT=$QEMU_LAYOUT CMDLINE=$CMDLINE awk \
	-v runs="$RUNS" -v ms="$MS" -v mib="$MIB" -v load="$LOAD" -v frag="$FRAG" \
	-v ok_minnow="$minnow_ok" -v ok_host="$host_ok" -v ok_qemu="$qemu_ok" '
function sortn(a, n,   i, j, x) {
	for (i = 2; i <= n; i++) {
		x = a[i]
		for (j = i - 1; j >= 1 && a[j] > x; j--)
			a[j + 1] = a[j]
		a[j + 1] = x
	}
}
# Sets med[t,k], lo[t,k], hi[t,k] from the samples of tool t, key k.
function summarize(t, k,   a, i, n) {
	n = cnt[t, k]
	if (!n)
		return 0
	for (i = 1; i <= n; i++)
		a[i] = val[t, k, i]
	sortn(a, n)
	lo[t, k] = a[1]
	hi[t, k] = a[n]
	med[t, k] = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	return n
}
function num(v) {
	return v == int(v) ? sprintf("%d", v) : sprintf("%.6g", v)
}
function short(v) {
	if (v == int(v))
		return sprintf("%d", v)
	if (v >= 100)
		return sprintf("%.0f", v)
	return v >= 10 ? sprintf("%.1f", v) : v >= 1 ? sprintf("%.2f", v) : sprintf("%.2g", v)
}
function cell(t, k) {
	if (!summarize(t, k))
		return "-"
	return short(med[t, k]) " (" short(lo[t, k]) ".." short(hi[t, k]) ")"
}
function ratio(a, b, k) {
	if (!summarize(a, k) || !summarize(b, k) || med[b, k] <= 0)
		return "-"
	return sprintf("%.2f", med[a, k] / med[b, k])
}
function jstr(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	gsub(/\t/, "\\t", s)
	return "\"" s "\""
}
function line(n,   s) {
	s = ""
	while (n-- > 0)
		s = s "-"
	return s
}
{
	t = $1
	k = $2
	if (!((t, k) in cnt)) {
		keys[t, ++nkeys[t]] = k
	}
	val[t, k, ++cnt[t, k]] = $3
}
END {
	tools[1] = "host"; tools[2] = "minnow"; tools[3] = "qemu"
	label["host"] = "host process"; label["minnow"] = "minnow"; label["qemu"] = "qemu microvm"
	ok["host"] = ok_host; ok["minnow"] = ok_minnow; ok["qemu"] = ok_qemu
	skip["host"] = ENVIRON["HOST_SKIP"]; skip["qemu"] = ENVIRON["QEMU_SKIP"]; skip["minnow"] = ""
	cmd["host"] = ENVIRON["HOST_CMD"]; cmd["minnow"] = ENVIRON["MINNOW_CMD"]
	cmd["qemu"] = ENVIRON["QEMU_CMD"]

	summarize("minnow", "rand_qd"); summarize("minnow", "seq_qd")
	summarize("minnow", "seq_bytes_per_req")
	seqkib = med["minnow", "seq_bytes_per_req"] / 1024
	printf "\nvirtio-blk reads, %s ms per phase, %s: median (min..max) of %d runs\n", ms,
	    (load > 0 ? "host loaded by " load " busy loops" : "host idle"), runs
	printf "  guests: test=blk-bench, loop at CPL3, %d x 4 KiB random reads in flight, %d x %s KiB sequential;\n",
	    med["minnow", "rand_qd"], med["minnow", "seq_qd"], short(seqkib)
	printf "  host process: the same number of preads, one at a time, on the same image\n"
	printf "%-26s | %-27s | %-27s | %-27s | %11s | %11s\n", "metric", label["host"],
	    label["minnow"], label["qemu"], "minnow/host", "minnow/qemu"
	print line(26 + 3 * 30 + 2 * 14)
	m[1] = "iops"; ml[1] = "4 KiB random read (IOPS)"
	m[2] = "seq_mib_s"; ml[2] = "1 MiB sequential (MiB/s)"
	for (i = 1; i <= 2; i++)
		printf "%-26s | %-27s | %-27s | %-27s | %11s | %11s\n", ml[i], cell("host", m[i]),
		    cell("minnow", m[i]), cell("qemu", m[i]), ratio("minnow", "host", m[i]),
		    ratio("minnow", "qemu", m[i])
	for (i = 1; i <= 3; i++)
		if (skip[tools[i]] != "")
			printf "%s column: %s\n", label[tools[i]], skip[tools[i]]

	printf "\nvirtio notifications during blk-bench (median (min..max); kicks and requests as the firmware counts them)\n"
	printf "%-40s | %-27s | %s\n", "", "minnow", "qemu microvm"
	print line(40 + 2 * 30)
	n = 0
	r[++n] = "requests"; rl[n] = "requests issued (random + sequential)"
	r[++n] = "kicks"; rl[n] = "kicks (QueueNotify writes)"
	r[++n] = "requests_per_kick"; rl[n] = "requests per kick"
	r[++n] = "virtio_user_kicks"; rl[n] = "kicks that exited to userspace"
	r[++n] = "user_exits_per_kick"; rl[n] = "userspace exits per kick"
	r[++n] = "exits"; rl[n] = "exits to userspace, whole run"
	r[++n] = "mmio_exits"; rl[n] = "  of them MMIO"
	r[++n] = "exits_per_1k_requests"; rl[n] = "exits per 1000 requests"
	r[++n] = "virtio_interrupts"; rl[n] = "virtio interrupts, whole run"
	r[++n] = "interrupts_per_kick"; rl[n] = "interrupts per kick (request batch)"
	r[++n] = "interrupts_per_1k_requests"; rl[n] = "interrupts per 1000 requests"
	for (i = 1; i <= n; i++)
		printf "%-40s | %-27s | %s\n", rl[i], cell("minnow", r[i]), cell("qemu", r[i])
	print "  (minnow: kicks are absorbed by ioeventfds; its exits are setup and the firmware'"'"'s"
	print "  clock, an MMIO read of TIME_US every 1024 polls of the used ring; completions are"
	print "  polled at CPL3. QEMU: no exit counts; without minnow'"'"'s control device the"
	print "  firmware'"'"'s clock is the TSC at an assumed rate, CPUID 0x16 or 2000 MHz.)"

	# the JSON member
	printf "  \"virtio_blk\": {\n" > frag
	printf "    \"runs\": %d,\n    \"ms_per_phase\": %d,\n    \"image_mib\": %d,\n    \"host_busy_loops\": %d,\n",
	    runs, ms, mib, load > frag
	printf "    \"firmware_cmdline\": %s,\n    \"qemu_virtio_mmio\": %s,\n", jstr(ENVIRON["CMDLINE"]), jstr(ENVIRON["QEMU_LAYOUT"]) > frag
	printf "    \"units\": {\"iops\": \"4 KiB random reads per second\", \"seq_mib_s\": \"MiB/s of sequential reads\", \"*_us\": \"microseconds, the firmware'"'"'s clock\"},\n" > frag
	printf "    \"order\": [\"minnow\", \"host\", \"qemu\"],\n    \"tools\": {\n" > frag
	for (i = 1; i <= 3; i++) {
		t = tools[i]
		printf "      %s: {\n        \"command\": %s,\n        \"runs_ok\": %d,\n        \"skipped\": %s,\n        \"samples\": {",
		    jstr(t), jstr(cmd[t]), ok[t], (skip[t] == "" ? "null" : jstr(skip[t])) > frag
		for (j = 1; j <= nkeys[t]; j++) {
			k = keys[t, j]
			printf "%s\n          %s: [", (j > 1 ? "," : ""), jstr(k) > frag
			for (x = 1; x <= cnt[t, k]; x++)
				printf "%s%s", (x > 1 ? ", " : ""), num(val[t, k, x]) > frag
			printf "]" > frag
		}
		printf "\n        },\n        \"summary\": {" > frag
		for (j = 1; j <= nkeys[t]; j++) {
			k = keys[t, j]
			summarize(t, k)
			printf "%s\n          %s: {\"n\": %d, \"median\": %s, \"min\": %s, \"max\": %s}",
			    (j > 1 ? "," : ""), jstr(k), cnt[t, k], num(med[t, k]), num(lo[t, k]),
			    num(hi[t, k]) > frag
		}
		printf "\n        }\n      }%s\n", (i < 3 ? "," : "") > frag
	}
	printf "    },\n    \"ratios\": {" > frag
	sep = ""
	for (i = 1; i <= 2; i++) {
		split("host qemu", other, " ")
		for (o = 1; o <= 2; o++) {
			x = ratio("minnow", other[o], m[i])
			printf "%s\n      %s: %s", sep, jstr(m[i] "_minnow_over_" other[o]),
			    (x == "-" ? "null" : x) > frag
			sep = ","
		}
	}
	printf "\n    }\n  }\n" > frag
}' "$SAMPLES" || exit 1

# Appends the member to the boot benchmark's object (replacing an earlier one).
mkdir -p "$(dirname "$OUT")" || exit 1
if [ -f "$OUT" ] && [ "$(tail -n 1 "$OUT")" = "}" ]; then
	awk -v frag="$FRAG" '
	/^  "virtio_blk": \{/ { cut = 1 }
	!cut { line[++n] = $0 }
	END {
		if (line[n] == "}")
			n--
		sub(/,$/, "", line[n])
		if (n > 1)
			line[n] = line[n] ","
		for (i = 1; i <= n; i++)
			print line[i]
		while ((getline l < frag) > 0)
			print l
		print "}"
	}' "$OUT" >"$TMP/results.json" && mv "$TMP/results.json" "$OUT" || exit 1
else
	{
		echo "{"
		cat "$FRAG"
		echo "}"
	} >"$OUT" || exit 1
fi
echo "results: $OUT (virtio_blk)"
exit 0
