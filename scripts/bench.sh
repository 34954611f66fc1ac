#!/usr/bin/env bash
# Parse benchmark: btfgen's BTF parser + validator against libbpf's btf__parse, on every test
# kernel, in one run. Prints a markdown table and writes it to RESULTS_MD.
#
#   scripts/bench.sh [KERNELS_DIR [RESULTS_MD]]
#
# KERNELS_DIR defaults to .build/testdata/kernels (filled by scripts/testdata-kernels.sh, which
# this script runs first), RESULTS_MD to bench/results.md.
#
# Environment:
#   ITERS         parses per kernel and tool (default 20)
#   SWIFT         swift driver (default: swift); SWIFT_FLAGS are passed to `swift build`
#   BTFGEN, JUDGE use these binaries instead of building release ones
#
# Timings come from `btfgen bench-parse FILE ITERS` and `libbpf-judge bench-parse FILE ITERS`,
# which print one line each:
#   btfgen parse: N iters, MEAN ms/iter, min MIN ms
#   libbpf btf__parse: N iters, MEAN ms/iter, min MIN ms
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
KDIR=${1:-.build/testdata/kernels}
OUT=${2:-bench/results.md}
ITERS=${ITERS:-20}
SWIFT=${SWIFT:-swift}
SWIFT_FLAGS=${SWIFT_FLAGS:-}
if [[ -d /opt/swift/usr/bin ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi

die() { echo "bench: $*" >&2; exit 1; }
[[ $ITERS =~ ^[1-9][0-9]*$ ]] || die "ITERS must be a positive integer, not '$ITERS'"

if [[ -z ${BTFGEN:-} || -z ${JUDGE:-} ]]; then
    # shellcheck disable=SC2086
    # Built as `make build` builds it (what users run): the static stdlib starts faster.
    "$SWIFT" build $SWIFT_FLAGS -c release --static-swift-stdlib --product btfgen >&2
    # shellcheck disable=SC2086
    "$SWIFT" build $SWIFT_FLAGS -c release --product libbpf-judge >&2
    # shellcheck disable=SC2086
    bin=$("$SWIFT" build $SWIFT_FLAGS -c release --show-bin-path)
    BTFGEN=${BTFGEN:-$bin/btfgen}
    JUDGE=${JUDGE:-$bin/libbpf-judge}
fi
[[ -x $BTFGEN ]] || die "btfgen not found at $BTFGEN"
[[ -x $JUDGE ]] || die "libbpf-judge not found at $JUDGE"

scripts/testdata-kernels.sh "$KDIR" >/dev/null
shopt -s nullglob
kernels=("$KDIR"/*.btf)
((${#kernels[@]} > 0)) || die "no *.btf in $KDIR"

# "TOOL ...: N iters, MEAN ms/iter, min MIN ms" -> "MEAN MIN"
timing() {
    local line=$1 re='^[^:]+: ([0-9]+) iters, ([0-9.]+) ms/iter, min ([0-9.]+) ms$'
    [[ $line =~ $re ]] || return 1
    echo "${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
}

rows=()
for k in "${kernels[@]}"; do
    name=$(basename "$k" .btf)
    echo "bench: $name" >&2
    types=$("$JUDGE" parse "$k" | sed -n 's/^types //p')
    [[ -n $types ]] || die "libbpf-judge parse $k gave no type count"
    bytes=$(stat -c %s "$k")

    out=$("$BTFGEN" bench-parse "$k" "$ITERS") || die "btfgen bench-parse $k failed"
    line=$(grep '^btfgen parse: ' <<<"$out" | tail -n 1) || true
    read -r ours_mean ours_min < <(timing "$line") || die "unexpected btfgen output: $out"

    out=$("$JUDGE" bench-parse "$k" "$ITERS") || die "libbpf-judge bench-parse $k failed"
    line=$(grep '^libbpf btf__parse: ' <<<"$out" | tail -n 1) || true
    read -r libbpf_mean libbpf_min < <(timing "$line") || die "unexpected libbpf-judge output: $out"

    rows+=("$(awk -v n="$name" -v t="$types" -v b="$bytes" -v om="$ours_mean" -v on="$ours_min" \
                  -v lm="$libbpf_mean" -v ln="$libbpf_min" 'BEGIN {
        printf "| %s | %d | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f |", n, t, b / 1048576, om, on, lm, ln, (lm > 0 ? om / lm : 0)
    }')")
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
swift_version=$("$SWIFT" --version 2>/dev/null | head -n 1)
libbpf_version=$(pkg-config --modversion libbpf 2>/dev/null || echo unknown)

report() {
    echo "### Parse: btfgen vs libbpf btf__parse"
    echo
    echo "btfgen's BTF parser and validator (\`btfgen bench-parse\`) against libbpf's \`btf__parse\`"
    echo "(\`libbpf-judge bench-parse\`) on the same raw kernel BTF files, $ITERS parses each, one after"
    echo "the other in one run of \`make bench\` (\`scripts/bench.sh\`). Times are wall-clock"
    echo "milliseconds per parse. Both cover reading the file and parsing it: btfgen validates every"
    echo "type id, string offset, size and chain (kernel-style checks); libbpf's \`btf__parse\` does its"
    echo "lighter sanity checks and \`btf__free\`."
    echo
    echo "- date: $(date -u +%Y-%m-%d)"
    echo "- machine: ${cpu:-unknown CPU}, $(nproc) CPUs, $(uname -sm)"
    echo "- swift: ${swift_version:-unknown}; libbpf $libbpf_version"
    echo
    echo "| kernel | types | BTF MiB | btfgen mean ms | btfgen min ms | libbpf mean ms | libbpf min ms | btfgen / libbpf (mean) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
}

mkdir -p "$(dirname "$OUT")"
tmp=$(mktemp "$(dirname "$OUT")/.results.XXXXXX")
report >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$OUT"
cat "$OUT"
echo "bench: wrote $OUT" >&2
