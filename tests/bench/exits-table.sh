#!/bin/sh
# exits-table.sh - make bench-exits' table from its runs file (FILE, lines
# "BENCHE VMM MODE RUN KIND COUNT", "BENCHJ VMM MODE RUN {timings}",
# "BENCHC KIND NS"): per console mode, the median count of each exit kind
# under minnow and QEMU, their ratio, and minnow's estimated time for it
# (count x the exit-cost scenario's nanoseconds for that way of serving).
set -eu
FILE=$1
awk '
function med(key,    n, i, j, t, v) {
	n = cnt[key]
	if (n == 0) return -1
	for (i = 1; i <= n; i++) v[i] = val[key, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
# The cost of one exit of a kind: exits to the VMM by how they are served,
# every other exit as one served in KVM.
function cost_ns(kind) {
	if (kind == "user:KVM_EXIT_MMIO") return ns["uart_read"]
	if (kind == "user:KVM_EXIT_IO") return ns["pio"]
	if (kind ~ /^user:/) return ns["uart_read"]
	if (kind == "in-kvm") return ns["kernel_mmio"]
	return -1
}
function row(label, kind, mode,    m, q, c) {
	m = med("minnow" SUBSEP mode SUBSEP kind)
	q = med("qemu" SUBSEP mode SUBSEP kind)
	c = cost_ns(kind)
	printf "  %-28s %10s %10s %11s %14s\n", label, m < 0 ? "-" : m, q < 0 ? "-" : q,
		(m >= 0 && q > 0) ? sprintf("%.2f", m / q) : "-",
		(m >= 0 && c > 0) ? sprintf("%.1f", m * c / 1e6) : ""
}
$1 == "BENCHC" { ns[$2] = $3; next }
$1 == "BENCHJ" { json[$2, $3] = substr($0, index($0, "{")); next }
$1 == "BENCHE" && NF == 6 {
	key = $2 SUBSEP $3 SUBSEP $5
	val[key, ++cnt[key]] = $6
	mode[$3] = 1
	if ($5 != "all" && $5 != "user") kinds[$3, $5] = 1
	if ($5 == "lost-events") lost = 1
	if ($5 == "all") all[$2, $3, $4] = $6
	if ($5 == "user") user[$2, $3, $4] = $6
	next
}
END {
	for (k in all) { split(k, p, SUBSEP); key = p[1] SUBSEP p[2] SUBSEP "in-kvm"; val[key, ++cnt[key]] = all[k] - user[k] }
	for (md in mode) {
		printf "\n== console: %s (medians over runs; counted by L1 KVM trace events)\n", md == "tty" ? "ttyS0" : md == "tty-uncoalesced" ? "ttyS0, minnow with [console] coalesce = off" : "none"
		printf "  %-28s %10s %10s %11s %14s\n", "exits", "minnow", "qemu", "minnow/qemu", "minnow est. ms"
		row("all exits of the guest", "all", md)
		n = 0
		for (k in kinds) { split(k, p, SUBSEP); if (p[1] == md && p[2] !~ /^user:/) list[++n] = p[2] }
		for (i = 1; i <= n; i++) row("  " substr(list[i], 5), list[i], md)
		delete list
		row("served inside KVM", "in-kvm", md)
		row("exits to the VMM process", "user", md)
		n = 0
		for (k in kinds) { split(k, p, SUBSEP); if (p[1] == md && p[2] ~ /^user:/) list[++n] = p[2] }
		for (i = 1; i <= n; i++) row("  " substr(list[i], 6), list[i], md)
		delete list
		last = json["minnow", md]
		if (last != "" && match(last, /"exit_kinds":\{[^}]*\}/))
			printf "  minnow --timings (one run): %s\n", substr(last, RSTART, RLENGTH)
		if (last != "" && match(last, /"mmio_ranges":\[[^]]*\]/))
			printf "  minnow --timings (one run): %s\n", substr(last, RSTART, RLENGTH)
	}
	printf "\nexit-cost (the unikernel under minnow, same L1): ns per access:"
	for (k in ns) printf " %s %s", k, ns[k]
	printf "\n"
	if (lost) print "warning: the trace buffer lost events in some run: its counts are low"
}' "$FILE"
