#!/bin/sh
# test.sh - `minnow batch --slurm` on a one-node Slurm cluster of its own (tests/slurm/cluster.sh), with the test unikernel: prints one line per test, "TEST guest slurm-<name> PASS|FAIL|SKIP <reason>". Run by the guest tier where it runs (this host's /dev/kvm, or the L1 host).
#
# Usage: sh tests/slurm/test.sh MINNOW FIRMWARE_DIR WORK_DIR
#   slurm-batch       20 VMs through --slurm (5 array tasks) against the
#                     same 20 VMs in a local batch: every VM's exit status,
#                     exit reason and console output, and the summary's
#                     counts, are the same; nothing is left queued or on disk
#   slurm-cancel      SIGINT while the tasks run: status 130, every VM has a
#                     line, the job is gone from the queue
#   slurm-time-limit  a task that outlives --time: its VMs' lines say
#                     slurm_timeout
#   slurm-bad-input   an unknown partition (Slurm's own message, status 2,
#                     nothing queued) and no sbatch on PATH (status 2)
# Everything the test started (daemons, jobs) is stopped at the end, also
# on failure.
MINNOW=$1
FW=$2
D=$3
TESTS="batch cancel time-limit bad-input"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$D" && D=$(cd "$D" && pwd) || exit 1 # the daemons do not run in this directory

result() { # NAME PASS|FAIL|SKIP REASON
	echo "TEST guest slurm-$1 $2 $3"
}
say() { # progress, for people and for the L1 watchdog
	echo "l1: slurm: $*"
}
# batch ARGS...: minnow batch, bounded (a task that never runs would keep
# it waiting, as on a busy cluster).
batch() {
	timeout -s INT 300 "$MINNOW" batch "$@"
}
# What the cluster says, for a failed test's reason.
cluster_state() {
	echo "queue: $(squeue -h 2>&1 | head -n 3 | tr '\n' ' ') node: $(sinfo -h -o '%t %E' 2>&1 | head -n 1);" \
		"slurmctld: $(tail -n 2 "$D/cluster/log/slurmctld.log" | tr '\n' ' ')"
}
skip_all() {
	for t in $TESTS; do result "$t" SKIP "$1"; done
	exit 0
}

for p in slurmctld slurmd sbatch squeue scancel scontrol munged; do
	command -v $p >/dev/null 2>&1 || skip_all "no $p (apt-get install slurm-wlm munge)"
done
[ "$(id -u)" = 0 ] || skip_all "slurmd must run as root to start jobs as their submitter"
case $MINNOW in /*) ;; *) MINNOW=$PWD/$MINNOW ;; esac
case $FW in /*) ;; *) FW=$PWD/$FW ;; esac

# shellcheck source=tests/slurm/cluster.sh
. "$here/cluster.sh"
trap 'cluster_stop "$D/cluster"' EXIT INT TERM
if ! cluster_start "$D/cluster" 2>"$D/cluster.err"; then
	sed 's/^/l1: slurm: /' "$D/cluster.err"
	why=$(tail -n 1 "$D/cluster.err")
	for t in $TESTS; do result "$t" FAIL "the Slurm cluster did not start: $why"; done
	exit 0
fi
say "a one-node cluster is up"
mkdir -p "$D/run"
cd "$D/run" || exit 1

ini() { # NAME CMDLINE
	cat >"$D/$1.ini" <<EOF
[vm]
memory = 32M
[kernel]
path = $FW/minnow-test.elf
cmdline = $2
[console]
output = stdio
input = off
EOF
}

# The fields of VM i's line that must not depend on where it ran.
vm_fields() { # FILE
	sed -n 's/^{"index":\([0-9]*\),.*"exit_status":\([0-9]*\),"exit_reason":"\([^"]*\)".*/\1 \2 \3/p' "$1" |
		sort -n
}
summary_counts() { # FILE
	sed -n 's/^{"summary":{"vms":\([0-9]*\),"ok":\([0-9]*\),"failed":\([0-9]*\),.*/\1 \2 \3/p' "$1"
}
queue_empty() {
	[ -z "$(squeue -h 2>/dev/null)" ]
}

# ---- slurm-batch ----------------------------------------------------------------
# Each VM prints its command line, so its console shows its number.
ini batch 'test=bootinfo vm={i}'
mkdir -p "$D/local-logs" "$D/slurm-logs"
say "20 VMs in a local batch, then through --slurm"
batch "$D/batch.ini" -n 20 -j 2 --logs "$D/local-logs" >"$D/local.jsonl" 2>"$D/local.err"
st_local=$?
batch "$D/batch.ini" -n 20 -j 2 --tasks 5 --slurm --logs "$D/slurm-logs" \
	>"$D/slurm.jsonl" 2>"$D/slurm.err"
st_slurm=$?
vm_fields "$D/local.jsonl" >"$D/local.fields"
vm_fields "$D/slurm.jsonl" >"$D/slurm.fields"
logs_same=yes
i=0
while [ $i -lt 20 ]; do
	grep -q "vm=$i\$" "$D/slurm-logs/$i.out" 2>/dev/null || grep -q "vm=$i " "$D/slurm-logs/$i.out" 2>/dev/null ||
		logs_same="no: VM $i's console has no vm=$i"
	cmp -s "$D/local-logs/$i.out" "$D/slurm-logs/$i.out" || logs_same="no: VM $i's console differs"
	i=$((i + 1))
done
if [ $st_local = 0 ] && [ $st_slurm = 0 ] && [ "$(wc -l <"$D/slurm.fields")" = 20 ] &&
	cmp -s "$D/local.fields" "$D/slurm.fields" &&
	[ "$(summary_counts "$D/local.jsonl")" = "20 20 0" ] &&
	[ "$(summary_counts "$D/slurm.jsonl")" = "20 20 0" ] &&
	grep -q '"slurm_job":"[0-9]*","slurm_tasks":5' "$D/slurm.jsonl" &&
	[ "$logs_same" = yes ] && queue_empty && [ -z "$(ls "$D/run")" ]; then
	wall() { sed -n 's/.*"wall_s":\([0-9.]*\).*/\1/p' "$1"; }
	result batch PASS "20 VMs in 5 tasks, lines and summary as a local batch" \
		"(local $(wall "$D/local.jsonl") s, on Slurm $(wall "$D/slurm.jsonl") s)"
else
	result batch FAIL "local $st_local, slurm $st_slurm; fields $(wc -l <"$D/slurm.fields")/20;" \
		"consoles $logs_same; left: $(ls "$D/run" | head -n 3); $(tail -n 2 "$D/slurm.err" | tr '\n' ' ')" \
		"$(cluster_state)"
fi

# ---- slurm-cancel -----------------------------------------------------------------
say "SIGINT while the tasks run"
ini idle 'test=idle ms=600000'
"$MINNOW" batch "$D/idle.ini" -n 4 -j 2 --tasks 2 --slurm >"$D/cancel.jsonl" 2>"$D/cancel.err" &
pid=$!
i=0 # until both tasks run
while [ $i -lt 120 ] && [ "$(squeue -h -t R 2>/dev/null | wc -l)" -lt 2 ]; do
	sleep 1
	i=$((i + 1))
done
sleep 2
kill -INT $pid
wait $pid
st=$?
n=$(grep -c '^{"index":' "$D/cancel.jsonl")
cancelled=$(grep -c '"exit_reason":"slurm_cancelled"' "$D/cancel.jsonl")
if [ $st = 130 ] && [ "$n" = 4 ] && [ "$cancelled" = 4 ] && queue_empty &&
	grep -q '"stopped_by":"Interrupt"' "$D/cancel.jsonl"; then
	result cancel PASS "SIGINT: 130, 4 lines saying slurm_cancelled, nothing queued"
else
	result cancel FAIL "status $st, $n lines, $cancelled slurm_cancelled; $(cluster_state)"
	scancel --name=minnow-batch 2>/dev/null
fi

# ---- slurm-time-limit ----------------------------------------------------------
# Slurm's smallest limit is one minute; it ends the task within about a
# minute more.
say "a task that outlives --time 1 (about two minutes)"
batch "$D/idle.ini" -n 2 -j 2 --slurm --time 1 >"$D/time.jsonl" 2>"$D/time.err"
st=$?
n=$(grep -c '"exit_reason":"slurm_timeout"' "$D/time.jsonl")
if [ $st = 1 ] && [ "$n" = 2 ] && queue_empty; then
	result time-limit PASS "the task that outlived --time 1: 2 lines saying slurm_timeout"
else
	result time-limit FAIL "status $st, $n slurm_timeout lines: $(head -c 300 "$D/time.jsonl") $(cluster_state)"
	scancel --name=minnow-batch 2>/dev/null
fi

# ---- slurm-bad-input -------------------------------------------------------------
batch "$D/batch.ini" -n 2 --slurm --partition no-such-partition \
	>"$D/bad.out" 2>"$D/bad.err"
st1=$?
PATH=/nonexistent "$MINNOW" batch "$D/batch.ini" -n 2 --slurm >"$D/bad2.out" 2>"$D/bad2.err"
st2=$?
if [ $st1 = 2 ] && [ "$(wc -l <"$D/bad.err")" = 1 ] && grep -q 'Invalid partition' "$D/bad.err" &&
	[ ! -s "$D/bad.out" ] && queue_empty && [ $st2 = 2 ] && grep -q 'no sbatch on PATH' "$D/bad2.err" &&
	[ -z "$(ls "$D/run")" ]; then
	result bad-input PASS "unknown partition: Slurm's message, 2; no sbatch: 2"
else
	result bad-input FAIL "partition: $st1 '$(head -n 2 "$D/bad.err" | tr '\n' ' ')'; no sbatch: $st2 '$(cat "$D/bad2.err")'"
fi
