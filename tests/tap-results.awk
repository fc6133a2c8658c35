# tap-results.awk - turns a Criterion TAP report into one line per test,
# "TEST <tier> <suite::name> PASS|FAIL|SKIP <reason>" (awk -v tier=NAME).
# A failure's reason is Criterion's note on the "not ok" line (timed out,
# unexpected signal) followed by the first line of its first failed
# assertion ("file:line: message"). Criterion gives every case of a
# parameterized test the same name: the second and later get "#2", "#3"...

function flush() {
	if (name != "")
		print "TEST", tier, name, status, reason
	name = ""
}

/^(not )?ok - / {
	flush()
	line = $0
	status = line ~ /^ok/ ? "PASS" : "FAIL"
	sub(/^(not )?ok - /, "", line)
	name = line
	sub(/ .*/, "", name)
	reason = substr(line, length(name) + 1)
	if (++seen[name] > 1)
		name = name "#" seen[name]
	if (status == "PASS" && reason ~ /# SKIP/) {
		status = "SKIP"
		sub(/.*# SKIP */, "", reason)
	}
	sub(/^ +/, "", reason)
	sub(/ +$/, "", reason)
	where = ""
	next
}

# Inside a failure's YAML block: "  - file:line: |+" then the message lines.
status == "FAIL" && /^  - [^ ]+:[0-9]+:/ && where == "" {
	where = $2
	next
}
status == "FAIL" && where != "" && where != "done" && /^      [^ ]/ {
	msg = $0
	sub(/^ +/, "", msg)
	reason = reason (reason == "" ? "" : " ") where " " msg
	where = "done"
	next
}

END { flush() }
