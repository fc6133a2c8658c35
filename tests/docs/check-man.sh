#!/bin/sh
# check-man.sh - the manual pages against the code (run by tests/check.sh in the unit tier): every section and key that vmm/config/config_keys.c declares is described in man/minnow.ini.5, every command, option and exit status that minnow's usage texts print is described in man/minnow.1, and groff formats both pages without a warning.
#
# Usage: sh tests/docs/check-man.sh [MINNOW [TIER]] (defaults ./minnow, unit).
# Prints one line per check, "TEST <tier> docs::<name> PASS|FAIL|SKIP <reason>";
# a failure names what is missing and where it belongs. Exits 0 (check.sh
# judges the lines).
#
# What the pages must look like for the checks to find things:
#   minnow.ini.5  each section under a heading `.SS "[NAME]"` (`[NAME.NAME]`
#                 for the named ones, e.g. [drive.NAME]); each key as the tag
#                 `.B key` of a .TP inside it.
#   minnow.1      each command under `.SS COMMAND`; each of its options in the
#                 tag line of a .TP or .TQ inside it (`.BI \-\-set " ..."`,
#                 `.BR \-v ", " \-\-verbose`); the exit statuses as `.B N` tags
#                 under `.SH "EXIT STATUS"`.
set -u
cd "$(dirname "$0")/../.." || exit 1
MINNOW=${1:-./minnow}
TIER=${2:-unit}
KEYS_C=vmm/config/config_keys.c
MAN1=man/minnow.1
MAN5=man/minnow.ini.5

# result NAME PASS|FAIL|SKIP REASON...
result() {
	r_name=$1 r_status=$2
	shift 2
	echo "TEST $TIER docs::$r_name $r_status${*:+ $*}"
}

# ---- minnow.ini(5): every section and key of config_keys.c --------------------
# "SECTION NAMED KEY" per key, from the key tables and config_sections[].
schema() {
	awk '
	/^static const struct key_def [a-z_]+\[\] = \{/ {
		t = $5; sub(/\[\]$/, "", t); next
	}
	t != "" && /^\};/ { t = ""; next }
	t != "" {
		line = $0
		while (match(line, /\.name = "[^"]+"/)) {
			k = substr(line, RSTART + 9, RLENGTH - 10)
			keys[t] = keys[t] " " k
			line = substr(line, RSTART + RLENGTH)
		}
		next
	}
	/config_sections\[\] = \{/ { s = 1; next }
	s && /^\};/ { s = 0; next }
	s && /another name for/ { next } # an alias: described with the section it names
	s && match($0, /\{"[a-z_]+", (true|false), (true|false), KEYS\([a-z_]+\)/) {
		e = substr($0, RSTART + 1, RLENGTH - 1)
		gsub(/[",()]/, " ", e)
		split(e, f, " ")
		name[++n] = f[1]; named[n] = f[2]; table[n] = f[5]
	}
	END {
		for (i = 1; i <= n; i++) {
			if (keys[table[i]] == "") print name[i], named[i], "-"
			split(keys[table[i]], ks, " ")
			for (j in ks) print name[i], named[i], ks[j]
		}
	}' "$KEYS_C"
}

# The .TP tags of man/minnow.ini.5, "HEADING TAG" (HEADING without quotes).
man5_tags() {
	awk '
	/^\.S[SH] / { h = $0; sub(/^\.S[SH] +/, "", h); gsub(/"/, "", h); tp = 0; next }
	/^\.T[PQ]/ { tp = 1; next }
	tp { if ($1 == ".B") print h, $2; tp = 0 }' "$MAN5"
}

check_config_keys() {
	if [ ! -f "$KEYS_C" ] || [ ! -f "$MAN5" ]; then
		result man-config-keys FAIL "missing $KEYS_C or $MAN5"
		return
	fi
	s=$(schema)
	if [ "$(printf '%s\n' "$s" | grep -c .)" -lt 10 ]; then
		result man-config-keys FAIL "could not read the schema from $KEYS_C (found: $s)"
		return
	fi
	tags=$(man5_tags)
	headings=$(grep '^\.SS ' "$MAN5" | sed 's/^\.SS *//; s/"//g')
	missing=
	n=0
	while read -r sec named key; do
		h="[$sec]"
		[ "$named" = false ] || h="[$sec.NAME]"
		if ! printf '%s\n' "$headings" | grep -qxF "$h"; then
			case "$missing" in *" section $h;"*) ;; *) missing="$missing section $h;" ;; esac
			continue
		fi
		[ "$key" = - ] && continue
		n=$((n + 1))
		printf '%s\n' "$tags" | grep -qxF "$h $key" || missing="$missing $h $key;"
	done <<EOF
$s
EOF
	if [ -n "$missing" ]; then
		result man-config-keys FAIL "$MAN5 does not describe (as a .SS \"[SECTION]\" heading, or a .TP tag '.B key' under it):$missing"
	else
		result man-config-keys PASS "$n keys of $(printf '%s\n' "$s" | cut -d' ' -f1 | sort -u | wc -l) sections"
	fi
}

# ---- minnow(1): every command, option and exit status of the usage texts ------
# usage_options: the option words of a usage text (stdin): every --long on a
# line that starts with an option, and such a line's leading -x.
usage_options() {
	grep -E '^[[:space:]]+-' | grep -oE '(^|[[:space:],])--?[A-Za-z][A-Za-z0-9-]*' |
		sed 's/^[[:space:],]*//' | sort -u
}

# man1_block COMMAND: the .TP tag lines under ".SS COMMAND", roff escapes
# for '-' undone.
man1_block() {
	awk -v want="$1" '
	/^\.S[SH] / { h = $0; sub(/^\.S[SH] +/, "", h); gsub(/"/, "", h); tp = 0; next }
	/^\.T[PQ]/ { tp = 1; next }
	tp { if (h == want) print; tp = 0 }' "$MAN1" | sed 's/\\-/-/g'
}

check_options() {
	if [ ! -x "$MINNOW" ]; then
		result man-options FAIL "$MINNOW not built (make minnow)"
		return
	fi
	main=$("$MINNOW" --help 2>&1)
	commands=$(printf '%s\n' "$main" | sed -n 's/^.*minnow \([a-z][a-z]*\) .*/\1/p' | sort -u)
	missing=
	n=0
	for c in $commands; do
		grep -qx "\.SS \"*$c\"*" "$MAN1" || missing="$missing command '$c' (.SS $c);"
	done
	for c in run exec batch bench; do
		case $c in
		run) text=$main ;;
		*) text=$("$MINNOW" "$c" --help 2>&1) ;;
		esac
		tags=$(man1_block "$c")
		for o in $(printf '%s\n' "$text" | usage_options); do
			n=$((n + 1))
			printf '%s\n' "$tags" | grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|\$)" ||
				missing="$missing $c $o;"
		done
		# Long options mentioned anywhere else in the text (--help, --version):
		# somewhere in the page.
		for o in $(printf '%s\n' "$text" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
			sed 's/\\-/-/g' "$MAN1" | grep -qE -- "$o([^A-Za-z0-9-]|\$)" ||
				missing="$missing $o (anywhere);"
		done
	done
	# The exit statuses of the main usage: each a ".B N" tag under EXIT STATUS.
	statuses=$(printf '%s\n' "$main" | sed -n '/^Exit status/,$p' | grep -oE '(^|[^0-9+])[0-9]{1,3}\+?([^0-9]|$)' |
		grep -oE '[0-9]+\+?' | sort -un)
	st_tags=$(man1_block "EXIT STATUS" | awk '$1 == ".B" || $1 == ".BR" { print $2 }')
	for s in $statuses; do
		printf '%s\n' "$st_tags" | grep -qx "$s" || missing="$missing exit status $s (EXIT STATUS);"
	done
	if [ -z "$commands" ]; then
		result man-options FAIL "no commands found in '$MINNOW --help'"
	elif [ -n "$missing" ]; then
		result man-options FAIL "$MAN1 does not describe (as a .TP tag under .SS COMMAND):$missing"
	else
		result man-options PASS "$n options of $(printf '%s\n' "$commands" | wc -l) commands," \
			"exit statuses $(printf '%s\n' "$statuses" | tr '\n' ' ' | sed 's/ $//')"
	fi
}

# ---- both pages format without a warning, and name this version --------------
check_lint() {
	if ! command -v groff >/dev/null 2>&1; then
		result man-lint SKIP "no groff (apt-get install groff-base)"
		return
	fi
	bad=
	version=$("$MINNOW" --version 2>/dev/null)
	for p in "$MAN1" "$MAN5"; do
		grep -q "^\.TH .* \"$version\" " "$p" || bad="$bad $p: its .TH line does not say \"$version\";"
		w=$(groff -man -ww -z "$p" 2>&1)
		[ -z "$w" ] || bad="$bad groff -man -ww -z $p warns: $(printf '%s' "$w" | head -n 3 | tr '\n' ' ')"
	done
	if [ -n "$bad" ]; then
		result man-lint FAIL "$bad"
	else
		result man-lint PASS "groff -man -ww -z: no warnings"
	fi
}

check_config_keys
check_options
check_lint
