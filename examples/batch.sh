#!/bin/sh
# batch.sh - launch many microVMs from a shell loop and collect one JSON line
# per VM (exit status, reason, boot timings) plus a summary.
#
#   examples/batch.sh [COUNT [PARALLEL [CONFIG]]]     defaults: 100 4 examples/hello.ini
#
# Each VM's --timings=json object goes to build/batch/vm-N.json; its console
# to build/batch/vm-N.log. The script exits 0 when every VM exited 0.
set -eu
COUNT=${1:-100}
PARALLEL=${2:-4}
CONFIG=${3:-examples/hello.ini}
MINNOW=${MINNOW:-./minnow}
OUT=build/batch
mkdir -p "$OUT"
rm -f "$OUT"/vm-*.json "$OUT"/vm-*.log

one() {
	n=$1
	# stdin from /dev/null: a background VM must not read the terminal.
	"$MINNOW" run "$CONFIG" --set vm.name="vm-$n" --set console.input=off \
		--timings=json </dev/null >"$OUT/vm-$n.log" 2>"$OUT/vm-$n.err" || true
	tail -n 1 "$OUT/vm-$n.err" >"$OUT/vm-$n.json"
}

start=$(date +%s%N)
i=1
while [ "$i" -le "$COUNT" ]; do
	one "$i" &
	if [ $((i % PARALLEL)) -eq 0 ]; then
		wait
	fi
	i=$((i + 1))
done
wait
end=$(date +%s%N)

cat "$OUT"/vm-*.json | awk -v count="$COUNT" -v ms=$(((end - start) / 1000000)) '
	{
		if (match($0, /"exit_status":[0-9]+/)) {
			s = substr($0, RSTART + 14, RLENGTH - 14)
			if (s == 0) ok++; else bad++
		} else bad++
		if (match($0, /"vm_end_us":[0-9]+/)) total += substr($0, RSTART + 12, RLENGTH - 12)
	}
	END {
		printf "{\"vms\":%d,\"ok\":%d,\"failed\":%d,\"wall_ms\":%d,\"vms_per_second\":%.1f,\"mean_vm_end_us\":%d}\n",
			count, ok, bad, ms, count * 1000 / (ms ? ms : 1), NR ? total / NR : 0
		exit bad != 0
	}'
