#!/bin/sh
# cluster.sh - a one-node Slurm cluster of its own for the `minnow batch --slurm` test: munged with a fresh key, slurmctld and slurmd on this host, every file (config, key, sockets, spool, logs) under one directory, nothing of the system's touched.
#
# Usage: . tests/slurm/cluster.sh; cluster_start DIR && ... ; cluster_stop DIR
# cluster_start exports SLURM_CONF (every Slurm command reads it: DIR/slurm.conf)
# and waits until the node is idle, saying how far it got on stderr; it
# returns 1 with a reason on stderr when the cluster cannot be made. cluster_stop stops every daemon it started (also
# when cluster_start failed half way). Needs root (slurmd runs jobs as their
# submitter) and Debian's slurm-wlm and munge.

cluster_start() {
	d=$1
	rm -rf "$d"
	mkdir -p "$d/spool" "$d/state" "$d/log" "$d/munge" || return 1
	chmod 700 "$d/munge"
	dd if=/dev/urandom of="$d/munge/key" bs=1024 count=1 2>/dev/null && chmod 400 "$d/munge/key"
	node=$(hostname -s 2>/dev/null || hostname)
	# Four CPUs whatever the machine has (config_overrides): two tasks of
	# -j 2 run at once even on a one-CPU L1 host.
	cpus=4
	cat >"$d/slurm.conf" <<CONF
ClusterName=minnow-test
SlurmctldHost=$node
SlurmctldPort=$((16817 + $$ % 1000))
SlurmdPort=$((17818 + $$ % 1000))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
NodeName=$node CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
	export SLURM_CONF="$d/slurm.conf"
	munged --socket="$d/munge/socket" --key-file="$d/munge/key" \
		--pid-file="$d/munge/pid" --log-file="$d/log/munged.log" \
		--seed-file="$d/munge/seed" --force 2>"$d/log/munged.err" || {
		echo "cluster: munged did not start: $(cat "$d/log/munged.err")" >&2
		return 1
	}
	echo "cluster: munged started" >&2
	slurmctld -i 2>"$d/log/slurmctld.err" || {
		echo "cluster: slurmctld did not start: $(tail -n 3 "$d/log/slurmctld.log")" >&2
		return 1
	}
	echo "cluster: slurmctld started" >&2
	slurmd 2>"$d/log/slurmd.err" || {
		echo "cluster: slurmd did not start: $(tail -n 3 "$d/log/slurmd.log")" >&2
		return 1
	}
	echo "cluster: slurmd started" >&2
	i=0
	while [ $i -lt 60 ]; do
		state=$(timeout 10 sinfo -h -o %t 2>/dev/null)
		[ "$state" = idle ] && return 0
		sleep 1
		i=$((i + 1))
	done
	echo "cluster: the node never became idle (state '$state'; see $d/log)" >&2
	return 1
}

cluster_stop() {
	d=$1
	for p in slurmd slurmctld; do
		[ -s "$d/$p.pid" ] && kill "$(cat "$d/$p.pid")" 2>/dev/null
	done
	[ -s "$d/munge/pid" ] && kill "$(cat "$d/munge/pid")" 2>/dev/null
	i=0
	while [ $i -lt 20 ]; do
		alive=
		for f in "$d/slurmd.pid" "$d/slurmctld.pid" "$d/munge/pid"; do
			[ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
		done
		[ -z "$alive" ] && return 0
		sleep 0.5
		i=$((i + 1))
	done
	for f in "$d/slurmd.pid" "$d/slurmctld.pid" "$d/munge/pid"; do
		[ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	return 0
}
