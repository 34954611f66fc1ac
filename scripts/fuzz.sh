#!/usr/bin/env bash
# Build btfgen's libFuzzer targets and run each for a bounded number of executions and time.
#
#   scripts/fuzz.sh [TARGET...]        targets: btf ext elf trim (default: all four)
#
# Environment:
#   FUZZ_RUNS      executions per target (default 1000000)
#   FUZZ_SECONDS   time cap per target, in seconds (default 1800); a target that hits it before
#                  FUZZ_RUNS executions is reported as short
#   FUZZ_SCRATCH   build and work directory (default .build-fuzz)
#   FUZZ_ARGS      extra libFuzzer flags, e.g. "-max_len=4096 -dict=..."
#   SWIFT, SWIFTC  the toolchain (default: swift/swiftc on PATH, else /opt/swift/usr/bin)
#
# The library targets (BTF, BPFObject, CORE, Minimize, Pipeline) are built by SwiftPM in release
# mode with AddressSanitizer and libFuzzer's coverage instrumentation; each fuzz driver is
# Fuzz/FuzzMain.swift plus Tests/HostileInputTests/FuzzTargets.swift (the target bodies the
# regression tests replay), linked by swiftc with -sanitize=fuzzer,address. (SwiftPM cannot
# link an executable with -sanitize=fuzzer on Linux, hence the split.)
#
# Seeds are the fixture objects and their .BTF/.BTF.ext sections, the cases of
# scripts/make-malformed.py and Tests/HostileInputTests/Regressions; the corpus each run grows
# is kept in $FUZZ_SCRATCH/fuzz/corpus/<target>. A crash, leak or timeout (10 s) leaves its input
# in $FUZZ_SCRATCH/fuzz/artifacts/ and makes the script exit 1; copy it to
# Tests/HostileInputTests/Regressions/<target>-<what> once fixed.

set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
SWIFT=${SWIFT:-swift}
SWIFTC=${SWIFTC:-swiftc}
RUNS_PER_TARGET=${FUZZ_RUNS:-1000000}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-1800}
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
TARGETS=("$@")
(( ${#TARGETS[@]} )) || TARGETS=(btf ext elf trim)
for t in "${TARGETS[@]}"; do
    case $t in btf|ext|elf|trim) ;; *) echo "fuzz.sh: unknown target '$t' (btf, ext, elf, trim)" >&2; exit 2 ;; esac
done

COVERAGE=edge,inline-8bit-counters,pc-table,trace-cmp
echo "fuzz: building the libraries (release, ASan, coverage) in $SCRATCH" >&2
"$SWIFT" build -c release --scratch-path "$SCRATCH" --target Pipeline \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=$COVERAGE >&2
BIN=$SCRATCH/release
WORK=$SCRATCH/fuzz
mkdir -p "$WORK/bin" "$WORK/artifacts"
OBJECTS=()
for m in CLibArchive BTF BPFObject CORE Minimize Pipeline; do OBJECTS+=("$BIN/$m.build"/*.o); done

LD=()
"$SWIFTC" -use-ld=lld -version >/dev/null 2>&1 && LD=(-use-ld=lld)
for t in "${TARGETS[@]}"; do
    echo "fuzz: linking fuzz-$t" >&2
    "$SWIFTC" -O -parse-as-library "${LD[@]}" -sanitize=fuzzer,address -sanitize-coverage=$COVERAGE \
        -D "FUZZ_${t^^}" -module-name "Fuzz${t^}" -I "$BIN/Modules" \
        -Xcc -fmodule-map-file=Sources/CLibELF/module.modulemap \
        -Xcc -fmodule-map-file="$BIN/CLibArchive.build/module.modulemap" \
        Fuzz/FuzzMain.swift Tests/HostileInputTests/FuzzTargets.swift "${OBJECTS[@]}" -lelf -ldl \
        -o "$WORK/bin/fuzz-$t" 2> >(grep -v "Cannot export local symbol" >&2)
done

rm -rf "$WORK/seeds"
python3 scripts/make-malformed.py --objects testdata/bpf --fuzz-seeds "$WORK/seeds" >&2
for f in Tests/HostileInputTests/Regressions/*-*; do
    [[ -f $f ]] || continue
    name=$(basename "$f")
    cp "$f" "$WORK/seeds/${name%%-*}/regression-$name" 2>/dev/null || true
done

export BTFGEN_FIXTURES=$PWD/testdata/bpf
# libFuzzer and ASan report crashes; Swift's own backtracer would only get in their way.
export SWIFT_BACKTRACE=enable=no
status=0
summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "$WORK/corpus/$t"
    log=$WORK/fuzz-$t.log
    echo "fuzz: running fuzz-$t for $RUNS_PER_TARGET executions, at most ${SECONDS_PER_TARGET}s (log: $log)" >&2
    start=$SECONDS
    before=$(find "$WORK/artifacts" -name "$t-*" | wc -l)
    # shellcheck disable=SC2086
    "$WORK/bin/fuzz-$t" -runs="$RUNS_PER_TARGET" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$t-" ${FUZZ_ARGS:-} \
        "$WORK/corpus/$t" "$WORK/seeds/$t" >"$log" 2>&1 || true
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "$WORK/corpus/$t" -type f | wc -l)
    after=$(find "$WORK/artifacts" -name "$t-*" | wc -l)
    found=$((after - before))
    line="fuzz-$t: ${runs:-0} executions (${rate:-0}/s) in $((SECONDS - start))s, corpus $corpus, new crashes $found"
    if (( ${runs:-0} < RUNS_PER_TARGET )); then
        line+=" — short of $RUNS_PER_TARGET executions (time cap FUZZ_SECONDS=$SECONDS_PER_TARGET)"
    fi
    if (( found > 0 )) || grep -q "^==[0-9]*==ERROR\|^SUMMARY: libFuzzer\|deadly signal" "$log"; then
        line+=" — see $log and $WORK/artifacts/"
        status=1
    fi
    summary+=("$line")
    echo "$line"
done
echo "fuzz: done" >&2
printf '%s\n' "${summary[@]}" >"$WORK/summary.txt"
exit $status
