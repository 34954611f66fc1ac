#!/usr/bin/env bash
# Trimming speed and memory: btfgen against `bpftool gen min_core_btf`, side by side, on the
# same kernels and objects, plus one very large non-deduplicated BTF.
#
# usage: scripts/bench-trim.sh KERNELS_DIR OUT.md
# Needs a release build of btfgen (.build/release/btfgen), bpftool and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
kernels=${1:?usage: $0 KERNELS_DIR OUT.md}
out=${2:?usage: $0 KERNELS_DIR OUT.md}
btfgen=${BTFGEN:-.build/release/btfgen}
runs=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# bpftool aborts on edge.bpf.o (ambiguity) and cannot read big-endian objects, so the
# comparison uses the little-endian objects it accepts; btfgen gets the same set.
objects=()
for o in testdata/bpf/*.bpf.o; do
    [[ $(basename "$o") == edge.bpf.o ]] || objects+=("$o")
done

# best-of-N wall time in milliseconds of a command
best_ms() {
    local best=
    for ((i = 0; i < runs; i++)); do
        ns_now; local t0=$NOW
        "$@" >/dev/null 2>&1
        ns_now; local t=$(( (NOW - t0) / 1000 ))
        [[ -z $best || $t -lt $best ]] && best=$t
    done
    awk -v us="$best" 'BEGIN { printf "%.1f", us / 1000 }'
}
peak_kb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }

# charged_kb CMD...: peak memory charged to a fresh memory cgroup (see bench-lib.sh).
. scripts/bench-lib.sh

{
echo "### Trimming: btfgen vs bpftool gen min_core_btf"
echo
echo "One kernel at a time, all ${#objects[@]} little-endian fixture objects at once (not edge.bpf.o, built"
echo "to be ambiguous: bpftool aborts on it; nor the big-endian copies, which bpftool cannot read); best of $runs runs;"
echo "$(nproc) cores, $(date -u +%Y-%m-%d). Sizes in bytes, times in ms, memory in MB: peak RSS, and the"
echo "peak charged to a fresh memory cgroup (what a container's memory limit counts: RSS less the"
echo "pages of files already cached, such as the executable's)."
echo
echo 'Both tools get the same arguments (`gen min_core_btf KERNEL OUT OBJECT...`); "btfgen -i ms" is the'
echo 'same run spelled with btfgen'"'"'s options (`-q -i KERNEL -o OUT --object OBJECT...`), which goes through'
echo 'the argument parser.'
echo
echo "| kernel | BTF size | types | bpftool ms | btfgen ms | speed-up | btfgen -i ms | bpftool out | btfgen out | btfgen peak RSS | btfgen charged | bpftool charged |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for k in "$kernels"/*.btf /sys/kernel/btf/vmlinux "$work/big.btf"; do
    if [[ $k == "$work/big.btf" ]]; then
        # A vendor-style kernel BTF without deduplication, at least 25 MB: test kernels appended
        # to the running kernel's into one blob (ids renumbered, strings merged), cycling
        # through them until the blob is large enough.
        [[ -r /sys/kernel/btf/vmlinux ]] || continue
        parts=("$kernels"/*.btf)
        apps=()
        for ((n = 0; n < 4 * ${#parts[@]}; n++)); do
            apps+=("${parts[n % ${#parts[@]}]}")
            "$btfgen" merge --base /sys/kernel/btf/vmlinux "${apps[@]}" --output "$k" >/dev/null 2>&1 || break
            (( $(stat -c %s "$k") >= 25000000 )) && break
        done
    fi
    [[ -r $k ]] || continue
    size=$(stat -c %s "$k")
    types=$(bpftool btf dump file "$k" format raw 2>/dev/null | grep -c '^\[' || true)
    b=$(best_ms bpftool gen min_core_btf "$k" "$work/b.btf" "${objects[@]}")
    [[ -s $work/b.btf ]] && bsize=$(stat -c %s "$work/b.btf") || bsize=failed
    g=$(best_ms "$btfgen" gen min_core_btf "$k" "$work/g.btf" "${objects[@]}")
    gsize=$(stat -c %s "$work/g.btf")
    gi=$(best_ms "$btfgen" -q -i "$k" "${objects[@]/#/--object=}" -o "$work/g.btf")
    mem=$(peak_kb "$btfgen" gen min_core_btf "$k" "$work/g.btf" "${objects[@]}")
    charged=$(charged_kb "$btfgen" gen min_core_btf "$k" "$work/g.btf" "${objects[@]}")
    bcharged=$(charged_kb bpftool gen min_core_btf "$k" "$work/b.btf" "${objects[@]}")
    speed=$(awk -v b="$b" -v g="$g" 'BEGIN { printf "%.1fx", b / g }')
    name=$(basename "$k"); [[ $k == "$work/big.btf" ]] && name="merged (non-dedup) kernel"
    echo "| $name | $size | $types | $b | $g | $speed | $gi | $bsize | $gsize | $(mb "$mem") | $(mb "$charged") | $(mb "$bcharged") |"
    rm -f "$work/b.btf" "$work/g.btf"
done

# Per kernel, the way each tool is used on many kernels: bpftool is one process per kernel,
# btfgen one process for all of them. Both on one core (--jobs 1), the test kernels replicated
# to 100 files (as in the archive benchmark) so that start-up is paid once, as in a real archive.
mkdir -p "$work/many"
for c in $(seq 1 20); do for k in "$kernels"/*.btf; do cp "$k" "$work/many/$c-$(basename "$k")"; done; done
n=$(ls "$work/many" | wc -l)
# This machine's speed drifts by 10-20% over minutes: rounds alternate bpftool once on each
# test kernel with btfgen once over the copies, and each keeps its best round.
test_kernels=("$kernels"/*.btf)
bbest=() batch=
for ((r = 0; r < runs; r++)); do
    for i in "${!test_kernels[@]}"; do
        t=$(runs=1 best_ms bpftool gen min_core_btf "${test_kernels[i]}" "$work/b.btf" "${objects[@]}")
        [[ -z ${bbest[i]:-} ]] || awk -v a="$t" -v b="${bbest[i]}" 'BEGIN { exit !(a < b) }' && bbest[i]=$t
    done
    t=$(runs=1 best_ms "$btfgen" -q --jobs 1 -i "$work/many" "${objects[@]/#/--object=}" -o "$work/many-out")
    [[ -z $batch ]] || awk -v a="$t" -v b="$batch" 'BEGIN { exit !(a < b) }' && batch=$t
done
bmean=$(printf '%s\n' "${bbest[@]}" | awk '{ s += $1 } END { printf "%.1f", s / NR }')
echo
echo "Per kernel over many kernels, one core: bpftool (one process per kernel, mean over the test"
echo "kernels) against btfgen over $n copies of them in one process (\`--jobs 1\`); $runs rounds, each"
echo "running bpftool once per test kernel and then btfgen once, best round of each."
echo
echo "| bpftool ms per kernel | btfgen ms per kernel | speed-up |"
echo "|---:|---:|---:|"
awk -v b="$bmean" -v t="$batch" -v n="$n" 'BEGIN { printf "| %.1f | %.1f | %.1fx |\n", b, t / n, b / (t / n) }'
} | tee "$out"
