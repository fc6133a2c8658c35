#!/bin/sh
# check-insns.sh - fails when the firmware ELF contains an instruction the
# emulating /dev/kvm described in README.md ("Tests") cannot run at CPL0 (SSE/AVX/x87, xsave,
# cmpxchg16b, popcnt, rdtscp, int3 / int n, BMI/lzcnt, vmcall, ...).
# .text32 (the 32-bit entries) is disassembled as i386, .text as x86-64; any
# other executable section is an error. The 16-bit AP trampoline is data
# (.rodata) and is not checked.
set -eu
elf=$1

others=$(objdump -h "$elf" | awk '/^ +[0-9]+ / { name = $2; getline; if ($0 ~ /CODE/ && name != ".text" && name != ".text32") print name }')
if [ -n "$others" ]; then
	echo "check-insns: $elf: unexpected code sections: $others" >&2
	exit 1
fi

# Instruction text only (after the address and tab), without symbol and
# comment annotations.
insns=$({
	objdump -d --no-show-raw-insn -j .text "$elf"
	objdump -d --no-show-raw-insn -M i386 -j .text32 "$elf"
} | awk -F'\t' '/^ +[0-9a-f]+:\t/ { print $1 "\t" $2 }' | sed -e 's/<[^>]*>//g' -e 's/#.*//')

mnem='(popcnt|lzcnt|tzcnt|int3|int|into|icebp|xsave[a-z0-9]*|xrstor[a-z0-9]*|xgetbv|cmpxchg16b|cmpxchg8b|rdtscp|vmcall|vmmcall|monitor|mwait|invpcid|clwb|andn|bextr|blsi|blsmsk|blsr|bzhi|pdep|pext|sarx|shlx|shrx|mulx|adcx|adox|aes[a-z]*|pclmul[a-z]*|sha[0-9a-z]+|f[a-wyz][a-z0-9]*|emms|ldmxcsr|stmxcsr|endbr64|endbr32|\(bad\)|[a-z]*ps|[a-z]*pd|[a-z]*ss|[a-z]*sd|p[a-z]+[bwdq])'
bad=$(printf '%s\n' "$insns" |
	grep -E "	((lock|rep[a-z]*|data16|addr32|notrack|bnd) +)*$mnem( |\$)|%[xyz]mm|%mm[0-7]|%st" |
	grep -vE '	((lock|rep[a-z]*) +)*(push[wlq]?|pop[wlq]?|pushf[wlq]?|popf[wlq]?|pause|fxsave|fxrstor)( |$)' || true)
if [ -n "$bad" ]; then
	echo "check-insns: $elf has instructions this host cannot emulate at CPL0:" >&2
	printf '%s\n' "$bad" >&2
	exit 1
fi
