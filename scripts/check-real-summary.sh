#!/usr/bin/env bash
# Turns the log of `make check-real` (swift test over the real programs and kernels) into the
# Markdown summary README quotes: one row per kernel from the "check-real:" lines, then the
# test counts and any failures.
#
#   scripts/check-real-summary.sh LOG > bench/check-real.md
set -euo pipefail
log=${1:?usage: $0 LOG}
echo "### make check-real"
echo
echo "| kernel | raw BTF bytes | objects | relocated by libbpf | patched | poisoned | errors | btfgen bytes | bpftool bytes |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
grep -a '^check-real: ' "$log" | sed 's/^check-real: //' | sort | while IFS= read -r line; do
    IFS=$'\t' read -r -a parts <<<"$line"
    kernel=${parts[0]}
    declare -A f=()
    for kv in "${parts[@]:1}"; do f[${kv%%=*}]=${kv#*=}; done
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$kernel" "${f[input]}" "${f[objects]}" "${f[judged]}" \
        "${f[patched]}" "${f[poisoned]}" "${f[errors]}" "${f[btfgen]}" "${f[bpftool]}"
done
echo
summary=$(grep -a -E '^(✔|✘) Test run with' "$log" | tail -1 || true)
echo "Result: ${summary:-no test summary in the log}"
fails=$(grep -a -c '^✘ Test .* recorded an issue' "$log" || true)
echo
echo "Failed expectations: $fails"
skips=$(grep -a -c '^skipped: ' "$log" || true)
echo "Skipped (libbpf fails the load before it relocates, e.g. a kfunc the running kernel lacks): $skips"
