#!/usr/bin/env bash
# Real workloads: btfgen against `bpftool gen min_core_btf`, side by side, on the real CO-RE
# programs (Debian's libbpf-tools and xdp-tools, `make real-objects`) and the generated agent
# (`make agent`), on one kernel, on an archive of kernels (raw and .btf.tar.xz) and on the
# non-deduplicated CentOS 8 kernel.
#
# usage: scripts/bench-real.sh KERNELS_DIR OUT.md
#
# Each row times the two commands in one run, alternating in ABBA order (reference, btfgen,
# btfgen, reference, ...), and reports the median of each; then one callgrind run of each (instructions
# executed, Ir) and one run of each for memory (max RSS and the peak charged to a fresh memory
# cgroup, see bench-lib.sh).
#
# Environment:
#   BTFGEN          btfgen binary (default .build/release/btfgen)
#   ROUNDS          rounds of the one-kernel rows (default 21)
#   ARCHIVE_ROUNDS  rounds of the archive rows (default 3)
#   CENTOS_ROUNDS   rounds of the CentOS row (default 3; bpftool takes 8-20 s a run)
#   SCALE_KERNELS   kernels of the report-at-scale row (default 2000: the test kernels under that many paths)
#   SCALE_ROUNDS    rounds of that row (default 5)
#   OBJECTS_DIR     real objects (default .build/real/objects, every */*.bpf.o)
#   AGENT           the generated agent (default .build/agent/agent.bpf.o; rows 1 skipped without it)
#   CENTOS_XZ       the CentOS 8 kernel (default ../shared/kernels/centos-8-4.18.0-147.5.1.el8_1.aarch64.btf.xz)
#   CALLGRIND=0     no callgrind at all
#   CALLGRIND_SLOW=1  also run bpftool on the CentOS kernel under callgrind (about 20 minutes)
#   CALLGRIND_KEEP=DIR  keep btfgen's callgrind outputs there (for callgrind_annotate)
set -euo pipefail
cd "$(dirname "$0")/.."
kernels=${1:?usage: $0 KERNELS_DIR OUT.md}
out=${2:?usage: $0 KERNELS_DIR OUT.md}
btfgen=$(realpath "${BTFGEN:-.build/release/btfgen}")
rounds=${ROUNDS:-21}
archive_rounds=${ARCHIVE_ROUNDS:-3}
centos_rounds=${CENTOS_ROUNDS:-3}
scale_kernels=${SCALE_KERNELS:-2000}
scale_rounds=${SCALE_ROUNDS:-5}
objects_dir=${OBJECTS_DIR:-.build/real/objects}
agent=${AGENT:-.build/agent/agent.bpf.o}
centos_xz=${CENTOS_XZ:-../shared/kernels/centos-8-4.18.0-147.5.1.el8_1.aarch64.btf.xz}
jobs=$(nproc)

die() { echo "bench-real: $*" >&2; exit 1; }
say() { echo "bench-real: $*" >&2; }
for n in "$rounds" "$archive_rounds" "$centos_rounds" "$scale_kernels" "$scale_rounds"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "round counts must be positive integers, not '$n'"
done
[[ -x $btfgen ]] || die "btfgen not found at $btfgen"
command -v bpftool >/dev/null || die "bpftool not found"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found"

shopt -s nullglob
objects=()
for o in "$objects_dir"/*/*.bpf.o; do objects+=("$(realpath "$o")"); done
((${#objects[@]} > 0)) || die "no real objects in $objects_dir (make real-objects)"
n_real=${#objects[@]}
have_agent=no
if [[ -f $agent ]]; then
    agent=$(realpath "$agent"); objects+=("$agent"); have_agent=yes
else
    say "no $agent (make agent needs clang's BPF target): row 1 skipped, the agent left out of the others"
fi
all_kernels=("$kernels"/*.btf)
((${#all_kernels[@]} > 0)) || die "no *.btf in $kernels"
# The one kernel: bookworm's 6.1 generic amd64 kernel (the newest ABI there is).
one=
for k in "${all_kernels[@]}"; do
    [[ $(basename "$k") =~ ^debian-bookworm-6\.1\.0-[0-9]+-amd64\.btf$ ]] && one=$k
done
[[ -n $one ]] || die "no debian-bookworm-6.1.0-N-amd64.btf in $kernels"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. scripts/bench-lib.sh
# Every run uses one snapshot of the binary, so that a rebuild during the run cannot mix builds.
cp "$btfgen" "$work/btfgen"
btfgen_id="$("$work/btfgen" --version 2>/dev/null | head -n 1), sha256 $(sha256sum "$work/btfgen" | cut -c1-12)"
btfgen=$work/btfgen

# --- measuring -----------------------------------------------------------------------------

# wall_ns CMD...: wall time of one run in ns; "fail" when the command exits non-zero.
wall_ns() {
    local t0 t1 rc=0
    ns_now; t0=$NOW; "$@" >/dev/null 2>&1 || rc=$?; ns_now; t1=$NOW
    ((rc == 0)) && echo $((t1 - t0)) || echo fail
}
# median of numbers on stdin ("fail" if any run failed)
median() {
    sort -n | awk '{ v[NR] = $1 } /fail/ { f = 1 } END {
        if (f || NR == 0) { print "fail"; exit }
        print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
# memory CMD...: "MAXRSS_KB CHARGED_KB" of one run ("n/a" where not measured). Max RSS is the
# largest single process (GNU time reports the maximum over the reaped descendants); charged is
# the whole command's, all its processes together.
memory() {
    local rss charged
    rm -f "$work/rss"
    charged=$(charged_kb /usr/bin/time -o "$work/rss" -f %M "$@")
    [[ -s $work/rss ]] || { /usr/bin/time -o "$work/rss" -f %M "$@" >/dev/null 2>&1 || true; }
    rss=$(tail -n 1 "$work/rss" 2>/dev/null)
    echo "${rss:-n/a} ${charged:-n/a}"
}
# valgrind 3.19 cannot read the Swift 6.3 binary's debug info: btfgen runs under callgrind as a
# copy without it (same code, same instruction count).
callgrind=yes
if [[ ${CALLGRIND:-1} == 0 ]]; then
    callgrind="no (CALLGRIND=0)"
elif ! command -v valgrind >/dev/null; then
    callgrind="no (valgrind not installed)"
else
    strip -g -o "$work/btfgen-nodebug" "$btfgen"
fi
cg_btfgen=$work/btfgen-nodebug
# ir TAG CMD...: instructions executed (callgrind Ir) by CMD and every process of it run through
# "$work/vg" (a valgrind wrapper for xargs), summed; "n/a" when callgrind is off.
mkdir -p "$work/cg"
printf '#!/bin/sh\nexec valgrind -q --tool=callgrind --callgrind-out-file="%s/cg/$CG_TAG.%%p" "$@"\n' "$work" >"$work/vg"
chmod +x "$work/vg"
ir() {
    local tag=$1; shift
    [[ $callgrind == yes ]] || { echo n/a; return; }
    rm -f "$work/cg/$tag".*
    CG_TAG=$tag "$@" >/dev/null 2>&1 || { echo fail; return; }
    local files=("$work/cg/$tag".*)
    ((${#files[@]} > 0)) || { echo n/a; return; }
    if [[ -n ${CALLGRIND_KEEP:-} && $tag == btfgen* ]]; then
        mkdir -p "$CALLGRIND_KEEP" && cp "${files[@]}" "$CALLGRIND_KEEP/"
    fi
    awk '/^summary:/ { s += $2 } END { printf "%.0f\n", s }' "${files[@]}"
}

# --- formatting ----------------------------------------------------------------------------

ms() { [[ $1 == fail ]] && echo failed || awk -v ns="$1" 'BEGIN { printf "%.0f", ns / 1e6 }'; }
ratio() { # ratio A B: A / B as "N.Nx"
    [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.1fx" : "n/a"), (b > 0 ? a / b : 0) }' || echo n/a
}
mir() { [[ $1 =~ ^[0-9]+$ ]] && awk -v n="$1" 'BEGIN { printf "%.0f M", n / 1e6 }' || echo "$1"; }
mbx() { [[ $1 =~ ^[0-9]+$ ]] && mb "$1" || echo n/a; }
# le A B: A <= B (numbers), false when either is missing
le() { [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

table_head() { # table_head REFERENCE
    echo "| run | $1 ms | btfgen ms | speed-up | $1 Ir | btfgen Ir | Ir ratio | $1 max RSS MB | btfgen max RSS MB | $1 charged MB | btfgen charged MB | target | met |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
}
# row NAME REF_NS BTFGEN_NS REF_IR BTFGEN_IR REF_MEM BTFGEN_MEM TARGET MET
row() {
    local rr rc gr gc
    read -r rr rc <<<"$6"; read -r gr gc <<<"$7"
    echo "| $1 | $(ms "$2") | $(ms "$3") | $(ratio "$2" "$3") | $(mir "$4") | $(mir "$5") | $(ratio "$4" "$5") | $(mbx "$rr") | $(mbx "$gr") | $(mbx "$rc") | $(mbx "$gc") | $8 | $9 |"
}
# The memory compared is the charged peak (what a container's limit counts); max RSS where
# cgroups cannot be made here.
mem_ok() { # mem_ok REF_MEM BTFGEN_MEM
    local rr rc gr gc
    read -r rr rc <<<"$1"; read -r gr gc <<<"$2"
    if [[ $rc != n/a && $gc != n/a ]]; then le "$gc" "$rc"; else le "$gr" "$rr"; fi
}
yes_no() { "$@" && echo yes || echo "**no**"; }

# alternate N REF_CMD_FN BTFGEN_CMD_FN: N rounds of the two commands, in the order reference,
# btfgen, btfgen, reference, reference, btfgen, ... (ABBA), so that each follows the other as
# often as itself: btfgen on the agent, run right after bpftool, took 0.8-2.8 ms more than right
# after another btfgen (median of 20 of each, 8.5-8.7 against 9.5-11.2 ms), a bias a fixed order
# gives one tool alone. Sets REF_NS and GEN_NS to the medians. Each function
# empties its output first.
alternate() {
    local n=$1 ref=$2 gen=$3 r
    : >"$work/t.ref"; : >"$work/t.gen"
    for ((r = 0; r < n; r++)); do
        if ((r % 2 == 0)); then
            wall_ns "$ref" >>"$work/t.ref"
            wall_ns "$gen" >>"$work/t.gen"
        else
            wall_ns "$gen" >>"$work/t.gen"
            wall_ns "$ref" >>"$work/t.ref"
        fi
    done
    REF_NS=$(median <"$work/t.ref"); GEN_NS=$(median <"$work/t.gen")
}

sections=()

# --- 1 and 2: one kernel, one process each --------------------------------------------------

one_kernel_row() { # one_kernel_row NAME KERNEL OBJECT...
    local name=$1; K=$2; shift 2
    OBJS=("$@")
    # No rm in the timed commands: forking it adds a millisecond to each, a tenth of btfgen's
    # time on the agent. The outputs are removed before the memory runs, which leave them.
    ref_cmd() { bpftool gen min_core_btf "$K" "$work/b.btf" "${OBJS[@]}"; }
    gen_cmd() { "$btfgen" gen min_core_btf "$K" "$work/g.btf" "${OBJS[@]}"; }
    say "$name: $ROWS_ROUNDS rounds"
    alternate "$ROWS_ROUNDS" ref_cmd gen_cmd
    if [[ -n ${SKIP_REF_IR:-} ]]; then REF_IR=$SKIP_REF_IR; else
        REF_IR=$(ir bpftool "$work/vg" bpftool gen min_core_btf "$K" "$work/b.btf" "${OBJS[@]}")
    fi
    GEN_IR=$(ir btfgen-$ROW_TAG "$work/vg" "$cg_btfgen" gen min_core_btf "$K" "$work/g.btf" "${OBJS[@]}")
    rm -f "$work/b.btf" "$work/g.btf"
    REF_MEM=$(memory bpftool gen min_core_btf "$K" "$work/b.btf" "${OBJS[@]}")
    GEN_MEM=$(memory "$btfgen" gen min_core_btf "$K" "$work/g.btf" "${OBJS[@]}")
    REF_OUT=$( [[ -s $work/b.btf ]] && stat -c %s "$work/b.btf" || echo failed)
    GEN_OUT=$( [[ -s $work/g.btf ]] && stat -c %s "$work/g.btf" || echo failed)
}

one_name=$(basename "$one" .btf)
if [[ $have_agent == yes ]]; then
    ROWS_ROUNDS=$rounds ROW_TAG=agent one_kernel_row "agent" "$one" "$agent"
    s=$(ratio "$REF_NS" "$GEN_NS")
    met_wall=$(yes_no le 10 "${s%x}")
    met_mem=$(yes_no mem_ok "$REF_MEM" "$GEN_MEM")
    sections+=("$(
        echo "#### 1. The agent alone on one kernel"
        echo
        echo "\`gen min_core_btf K OUT agent.bpf.o\`, the same command line for both, K = $one_name;"
        echo "median of $rounds alternating rounds. Outputs: bpftool $REF_OUT bytes, btfgen $GEN_OUT bytes."
        echo
        table_head bpftool
        row "agent, 1 kernel" "$REF_NS" "$GEN_NS" "$REF_IR" "$GEN_IR" "$REF_MEM" "$GEN_MEM" \
            "≥ 10x wall; memory ≤ bpftool's" "wall: $met_wall; memory: $met_mem"
    )")
fi

ROWS_ROUNDS=$rounds ROW_TAG=all one_kernel_row "all objects" "$one" "${objects[@]}"
s=$(ratio "$REF_NS" "$GEN_NS")
met_all=$(yes_no le 10 "${s%x}")
sections+=("$(
    echo "#### 2. All real objects on one kernel"
    echo
    echo "\`gen min_core_btf K OUT OBJ...\` with all ${#objects[@]} objects, the same command line for both, K = $one_name;"
    echo "median of $rounds alternating rounds. Outputs: bpftool $REF_OUT bytes, btfgen $GEN_OUT bytes."
    echo
    table_head bpftool
    row "${#objects[@]} objects, 1 kernel" "$REF_NS" "$GEN_NS" "$REF_IR" "$GEN_IR" "$REF_MEM" "$GEN_MEM" "≥ 10x wall" "$met_all"
)")

# --- 3 and 4: the archive, raw and .btf.tar.xz ----------------------------------------------

# A btfhub-style tree, DISTRO/RELEASE/ARCH/KERNEL.btf, of every kernel in KERNELS_DIR, and the
# same tree as .btf.tar.xz (one member each, made with tar -cJf).
arch_of() {
    case $1 in
        *amd64*) echo x86_64 ;; *arm64*) echo arm64 ;; *s390x*) echo s390x ;;
        *ppc64el* | *powerpc64le*) echo ppc64le ;; *riscv64*) echo riscv64 ;;
        *-686* | *i386*) echo i386 ;; *armmp* | *armhf*) echo arm ;; *aarch64*) echo arm64 ;;
        *) echo unknown ;;
    esac
}
kernel_list=()
for k in "${all_kernels[@]}"; do
    name=$(basename "$k" .btf)
    distro=${name%%-*} rest=${name#*-}
    dir=$distro/${rest%%-*}/$(arch_of "$name")
    mkdir -p "$work/raw/$dir" "$work/tar/$dir"
    cp "$k" "$work/raw/$dir/$name.btf"
    kernel_list+=("$work/raw/$dir/$name.btf")
done
n_kernels=${#kernel_list[@]}
say "archive: $n_kernels kernels, ${#objects[@]} objects, $jobs jobs"

printf '#!/bin/sh\nk=$1; shift\nexec ${VG:-} bpftool gen min_core_btf "$k" "$OUT_DIR/$(basename "$k")" "$@"\n' >"$work/bpftool-one"
chmod +x "$work/bpftool-one"
bpftool_archive() {
    rm -rf "$work/out-b"; mkdir -p "$work/out-b"
    printf '%s\0' "${kernel_list[@]}" |
        OUT_DIR=$work/out-b xargs -0 -P "$jobs" -I{} "$work/bpftool-one" {} "${objects[@]}"
}
btfgen_archive() {
    rm -rf "$work/out-g"
    "$btfgen" -q --jobs "$jobs" -i "$work/raw" "${objects[@]/#/--object=}" -o "$work/out-g"
}
say "archive, raw: $archive_rounds rounds"
alternate "$archive_rounds" bpftool_archive btfgen_archive
REF_IR=$(VG=$work/vg ir bpftool bpftool_archive)
GEN_IR=$(ir btfgen-archive "$work/vg" "$cg_btfgen" -q --jobs "$jobs" -i "$work/raw" "${objects[@]/#/--object=}" -o "$work/out-g")
REF_MEM=$(memory bash -c "$(declare -f bpftool_archive); $(declare -p kernel_list objects work jobs); bpftool_archive")
GEN_MEM=$(memory "$btfgen" -q --jobs "$jobs" -i "$work/raw" "${objects[@]/#/--object=}" -o "$work/out-g")
b_written=$(find "$work/out-b" -name '*.btf' -size +0 | wc -l)
g_written=$(find "$work/out-g" -name '*.btf' -size +0 | wc -l)
s=$(ratio "$REF_NS" "$GEN_NS")
sections+=("$(
    echo "#### 3. The archive × all real objects"
    echo
    echo "The $n_kernels kernels of the test data as a btfhub-style tree (DISTRO/RELEASE/ARCH/KERNEL.btf), all"
    echo "${#objects[@]} objects: \`btfgen -i DIR --object ... -o OUT --jobs $jobs\`, one process, against"
    echo "\`bpftool gen min_core_btf K OUT/K OBJ...\` once per kernel under \`xargs -P $jobs\`; median of $archive_rounds"
    echo "alternating rounds. Kernels written: bpftool $b_written, btfgen $g_written of $n_kernels. bpftool's Ir is"
    echo "the sum over its processes, its max RSS the largest one's, its charged peak all of them together."
    echo
    table_head bpftool
    row "$n_kernels kernels × ${#objects[@]} objects, raw" "$REF_NS" "$GEN_NS" "$REF_IR" "$GEN_IR" "$REF_MEM" "$GEN_MEM" \
        "≥ 20x wall" "$(yes_no le 20 "${s%x}")"
)")

say "archive, tar.xz: making $n_kernels tarballs"
for k in "${kernel_list[@]}"; do
    rel=${k#"$work/raw/"}
    printf '%s\0%s\0%s\0' "$(dirname "$k")" "$work/tar/${rel%.btf}.btf.tar.xz" "$(basename "$k")"
done | xargs -0 -n 3 -P "$jobs" sh -c 'tar -C "$0" -cJf "$1" "$2"'
tarballs=("$work"/tar/*/*/*/*.btf.tar.xz)
((${#tarballs[@]} == n_kernels)) || die "made ${#tarballs[@]} tarballs of $n_kernels kernels"
xz_seq() { for t in "${tarballs[@]}"; do ${VG:-} xz -dc "$t" >/dev/null; done; }
xz_par() { printf '%s\0' "${tarballs[@]}" | xargs -0 -P "$jobs" -n 1 sh -c '${VG:-} xz -dc "$0" >/dev/null'; }
btfgen_tar1() { rm -rf "$work/out-t"; "$btfgen" -q --jobs 1 -i "$work/tar" "${objects[@]/#/--object=}" -o "$work/out-t"; }
btfgen_tarn() { rm -rf "$work/out-t"; "$btfgen" -q --jobs "$jobs" -i "$work/tar" "${objects[@]/#/--object=}" -o "$work/out-t"; }
say "archive, tar.xz: $archive_rounds rounds"
alternate "$archive_rounds" xz_seq btfgen_tar1
SEQ_REF=$REF_NS SEQ_GEN=$GEN_NS
alternate "$archive_rounds" xz_par btfgen_tarn
XZ_IR=$(VG=$work/vg ir xz xz_seq)
GEN_IR=$(ir btfgen-tar "$work/vg" "$cg_btfgen" -q --jobs "$jobs" -i "$work/tar" "${objects[@]/#/--object=}" -o "$work/out-t")
SEQ_REF_MEM=$(memory bash -c "$(declare -f xz_seq); $(declare -p tarballs); xz_seq")
SEQ_GEN_MEM=$(memory "$btfgen" -q --jobs 1 -i "$work/tar" "${objects[@]/#/--object=}" -o "$work/out-t")
PAR_REF_MEM=$(memory bash -c "$(declare -f xz_par); $(declare -p tarballs jobs); xz_par")
PAR_GEN_MEM=$(memory "$btfgen" -q --jobs "$jobs" -i "$work/tar" "${objects[@]/#/--object=}" -o "$work/out-t")
same=$(diff -r "$work/out-g" "$work/out-t" >/dev/null 2>&1 && echo yes || echo NO)
floor_ok() { le "$(awk -v g="$1" -v r="$2" 'BEGIN { print g / r }')" 1.5; }
sections+=("$(
    echo "#### 4. The archive as .btf.tar.xz against the xz -dc floor"
    echo
    echo "The same $n_kernels kernels as btfhub-style \`.btf.tar.xz\` files (\`tar -cJf\`, one member each):"
    echo "\`btfgen -i DIR\` on them against just decompressing every tarball (\`xz -dc T >/dev/null\`), the floor"
    echo "for any tool, with the same parallelism; median of $archive_rounds alternating rounds. Here \"speed-up\""
    echo "is the floor's time over btfgen's (below 1x: btfgen is slower than decompressing alone); Ir: every"
    echo "\`xz -dc\` summed, and btfgen at --jobs $jobs (the same instructions as --jobs 1). Outputs equal to the"
    echo "raw run's: $same."
    echo
    table_head "xz -dc"
    row "sequential: btfgen --jobs 1 vs xz -dc one after another" "$SEQ_REF" "$SEQ_GEN" "$XZ_IR" "$GEN_IR" \
        "$SEQ_REF_MEM" "$SEQ_GEN_MEM" "≤ 1.5x the floor" "$(yes_no floor_ok "$SEQ_GEN" "$SEQ_REF")"
    row "parallel: btfgen --jobs $jobs vs xz -dc under xargs -P $jobs" "$REF_NS" "$GEN_NS" "$XZ_IR" "$GEN_IR" \
        "$PAR_REF_MEM" "$PAR_GEN_MEM" "≤ 1.5x the floor" "$(yes_no floor_ok "$GEN_NS" "$REF_NS")"
)")

# --- 5: the non-deduplicated CentOS 8 kernel ------------------------------------------------

if [[ -r $centos_xz ]]; then
    centos=.build/bench-real/$(basename "$centos_xz" .xz)
    if [[ ! -s $centos || $centos -ot $centos_xz ]]; then
        mkdir -p "$(dirname "$centos")"
        xz -dc "$centos_xz" >"$centos.tmp" && mv "$centos.tmp" "$centos"
    fi
    skip=
    [[ $callgrind == yes && ${CALLGRIND_SLOW:-0} != 1 ]] && skip=skipped
    SKIP_REF_IR=$skip ROWS_ROUNDS=$centos_rounds ROW_TAG=centos one_kernel_row "CentOS 8" "$centos" "${objects[@]}"
    sections+=("$(
        echo "#### 5. The non-deduplicated CentOS 8 kernel × all real objects"
        echo
        echo "$(basename "$centos") ($(stat -c %s "$centos") bytes: 476 definitions of \`struct task_struct\`), all"
        echo "${#objects[@]} objects, \`gen min_core_btf K OUT OBJ...\` for both; median of $centos_rounds alternating rounds."
        echo "Outputs: bpftool $REF_OUT bytes, btfgen $GEN_OUT bytes.$([[ -n $skip ]] && echo " bpftool's Ir is skipped: under callgrind it would take")"
        [[ -z $skip ]] || echo "about 20 minutes (\`CALLGRIND_SLOW=1\` runs it)."
        echo
        table_head bpftool
        row "CentOS 8, ${#objects[@]} objects" "$REF_NS" "$GEN_NS" "$REF_IR" "$GEN_IR" "$REF_MEM" "$GEN_MEM" \
            "btfgen < 1 s" "$(yes_no le "$GEN_NS" 999999999)"
    )")
else
    say "no $centos_xz (../shared/kernels absent): row 5 skipped"
    sections+=("$(
        echo "#### 5. The non-deduplicated CentOS 8 kernel × all real objects"
        echo
        echo "Skipped: $centos_xz is not on this machine."
    )")
fi

# --- 6: reports at archive scale -----------------------------------------------------------

# The raw kernels under SCALE_KERNELS paths, DISTRO/RELEASE/ARCH/KERNEL.btf as in btfhub (five
# distros, eight releases each, the kernel's architecture), as symlinks: every one is read and
# trimmed. The same run with and without --report, alternating.
scale_tree() { # scale_tree DIR N
    local i k dir distros=(amzn centos debian fedora ubuntu)
    for ((i = 0; i < $2; i++)); do
        k=${kernel_list[i % n_kernels]}
        dir=$1/${distros[i % 5]}/$((i / 5 % 8 + 1)).0/$(basename "$(dirname "$k")")
        mkdir -p "$dir"
        ln -s "$k" "$dir/k$i-$(basename "$k")"
    done
}
n_scale=$scale_kernels
scale_tree "$work/scale" "$n_scale"
scale_plain() { rm -rf "$work/out-s"; "$btfgen" -q --jobs "$jobs" -i "$work/scale" "${objects[@]/#/--object=}" -o "$work/out-s"; }
scale_report() { rm -rf "$work/out-s"; "$btfgen" -q --jobs "$jobs" -i "$work/scale" "${objects[@]/#/--object=}" -o "$work/out-s" --report "$work/scale.json"; }
say "reports at scale: $n_scale kernels, $scale_rounds rounds"
alternate "$scale_rounds" scale_plain scale_report
PLAIN_NS=$REF_NS REPORT_NS=$GEN_NS
PLAIN_MEM=$(memory "$btfgen" -q --jobs "$jobs" -i "$work/scale" "${objects[@]/#/--object=}" -o "$work/out-s")
REPORT_MEM=$(memory "$btfgen" -q --jobs "$jobs" -i "$work/scale" "${objects[@]/#/--object=}" -o "$work/out-s" --report "$work/scale.json")
"$btfgen" report "$work/scale.json" -o "$work/scale.html"
"$btfgen" report "$work/scale.json" -o "$work/scale.txt"
json_bytes=$(stat -c %s "$work/scale.json"); html_bytes=$(stat -c %s "$work/scale.html")
text_lines=$(wc -l <"$work/scale.txt")
findings=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r["findings"]), len(r["finding_groups"]))' "$work/scale.json" 2>/dev/null || echo "n/a n/a")
read -r n_findings n_groups <<<"$findings"
time_ratio=$(awk -v a="$REPORT_NS" -v b="$PLAIN_NS" 'BEGIN { printf "%.3f", a / b }')
# Instructions, which do not drift with the machine: the same two runs, one job each, under
# callgrind side by side, over two smaller trees (four and sixteen paths per kernel). Their
# difference is what each further path costs with and without the report, which gives both
# runs' instructions at the full tree's size: the pack's and the report's fixed costs weigh as
# they do there, not as they do over a few paths.
n_ir_small=$((4 * n_kernels)) n_ir_large=$((16 * n_kernels))
scale_tree "$work/scale-ir-small" "$n_ir_small"
scale_tree "$work/scale-ir-large" "$n_ir_large"
for size in small large; do
    ir "btfgen-scale-plain-$size" "$work/vg" "$cg_btfgen" -q -i "$work/scale-ir-$size" "${objects[@]/#/--object=}" \
        -o "$work/out-ir0-$size" >"$work/ir-plain-$size" &
    ir "btfgen-scale-report-$size" "$work/vg" "$cg_btfgen" -q -i "$work/scale-ir-$size" "${objects[@]/#/--object=}" \
        -o "$work/out-ir1-$size" --report "$work/scale-ir-$size.json" >"$work/ir-report-$size"
    wait
done
# at_scale SMALL LARGE: the instructions at n_scale paths, on the line through the two counts.
at_scale() {
    awk -v a="$1" -v b="$2" -v na="$n_ir_small" -v nb="$n_ir_large" -v n="$n_scale" \
        'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) printf "%.0f\n", a + (b - a) / (nb - na) * (n - na); else print "n/a" }'
}
PLAIN_IR=$(at_scale "$(cat "$work/ir-plain-small")" "$(cat "$work/ir-plain-large")")
REPORT_IR=$(at_scale "$(cat "$work/ir-report-small")" "$(cat "$work/ir-report-large")")
ir_ratio=$(awk -v a="$REPORT_IR" -v b="$PLAIN_IR" 'BEGIN { if (a ~ /^[0-9]+$/ && b > 0) printf "%.3f", a / b; else print "n/a" }')
# What one more path costs with the report over what it costs without it.
ir_path_ratio=$(awk -v pa="$(cat "$work/ir-plain-small")" -v pb="$(cat "$work/ir-plain-large")" \
    -v ra="$(cat "$work/ir-report-small")" -v rb="$(cat "$work/ir-report-large")" \
    'BEGIN { if (pb > pa && ra ~ /^[0-9]+$/ && rb ~ /^[0-9]+$/) printf "%.3f", (rb - ra) / (pb - pa); else print "n/a" }')
read -r _ plain_charged <<<"$PLAIN_MEM"; read -r _ report_charged <<<"$REPORT_MEM"
read -r plain_rss _ <<<"$PLAIN_MEM"; read -r report_rss _ <<<"$REPORT_MEM"
if [[ $plain_charged != n/a && $report_charged != n/a ]]; then mem_a=$plain_charged mem_b=$report_charged; else mem_a=$plain_rss mem_b=$report_rss; fi
mem_ratio=$(awk -v a="$mem_b" -v b="$mem_a" 'BEGIN { printf "%.2f", a / b }')
sections+=("$(
    echo "#### 6. Reports at archive scale"
    echo
    echo "The $n_kernels raw kernels under $n_scale paths (\`DISTRO/RELEASE/ARCH/kN-KERNEL.btf\`, symlinks: every"
    echo "one is read and trimmed), all ${#objects[@]} objects, \`btfgen -i DIR --object ... -o OUT --jobs $jobs\` without"
    echo "and with \`--report run.json\`; median of $scale_rounds alternating rounds. "speed-up" is the time without the"
    echo "report over the time with it. The report: $json_bytes bytes of JSON ($n_findings distinct findings in $n_groups"
    echo "groups of kernels), \`btfgen report run.json -o run.html\`: $html_bytes bytes of HTML; as text, $text_lines lines."
    echo "The instruction counts are at $n_scale paths, from the same two runs (one job each) over $n_ir_small and"
    echo "$n_ir_large paths (four and sixteen per kernel), on the line through the two: with --report, ${ir_ratio}x the"
    echo "instructions of the run without it; each further path costs ${ir_path_ratio}x what it costs without the report."
    echo
    table_head "without --report"
    row "$n_scale kernels × ${#objects[@]} objects" "$PLAIN_NS" "$REPORT_NS" "$PLAIN_IR" "$REPORT_IR" "$PLAIN_MEM" "$REPORT_MEM" \
        "time ≤ 1.10x; memory ≤ 1.2x; HTML < 5 MB" \
        "time: $(yes_no le "$time_ratio" 1.10) (${time_ratio}x; instructions ${ir_ratio}x); memory: $(yes_no le "$mem_ratio" 1.2) (${mem_ratio}x); HTML: $(yes_no le "$html_bytes" 5000000)"
)")

# --- 7: a kernel with its modules -----------------------------------------------------------

# The one kernel (Debian 6.1 amd64) with its modules in testdata/kernels/modules (raw split BTF, as
# /sys/kernel/btf holds them) against the same kernel alone, every object; alternating rounds.
mod_kernel=$one
mod_src=testdata/kernels/modules/$(basename "$one" .btf)
if [[ -n $mod_kernel && -d $mod_src ]]; then
    mkdir -p "$work/modules"
    for m in "$mod_src"/*.btf.xz; do xz -dc "$m" >"$work/modules/$(basename "$m" .xz)"; done
    n_mods=$(ls "$work/modules" | wc -l)
    mods_plain() { rm -f "$work/m0.btf"; "$btfgen" -q -i "$mod_kernel" "${objects[@]/#/--object=}" -o "$work/m0.btf"; }
    mods_with() { rm -f "$work/m1.btf"; "$btfgen" -q -i "$mod_kernel" --modules "$work/modules" "${objects[@]/#/--object=}" -o "$work/m1.btf"; }
    say "modules: $rounds rounds"
    alternate "$rounds" mods_plain mods_with
    PLAIN_IR=$(ir btfgen-nomod "$work/vg" "$cg_btfgen" -q -i "$mod_kernel" "${objects[@]/#/--object=}" -o "$work/m0.btf")
    MODS_IR=$(ir btfgen-mod "$work/vg" "$cg_btfgen" -q -i "$mod_kernel" --modules "$work/modules" "${objects[@]/#/--object=}" -o "$work/m1.btf")
    PLAIN_MEM=$(memory "$btfgen" -q -i "$mod_kernel" "${objects[@]/#/--object=}" -o "$work/m0.btf")
    MODS_MEM=$(memory "$btfgen" -q -i "$mod_kernel" --modules "$work/modules" "${objects[@]/#/--object=}" -o "$work/m1.btf")
    mod_ratio=$(awk -v a="$GEN_NS" -v b="$REF_NS" 'BEGIN { printf "%.2f", a / b }')
    mod_ir_ratio=$(awk -v a="$MODS_IR" -v b="$PLAIN_IR" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
    sections+=("$(
        echo "#### 7. A kernel with $n_mods modules"
        echo
        echo "\`btfgen -i $(basename "$one") --object ... -o OUT\` without and with"
        echo "\`--modules DIR\` ($n_mods raw split BTFs: $(ls "$work/modules" | sed 's/.btf$//' | paste -sd, | sed 's/,/, /g')), all"
        echo "${#objects[@]} objects; median of $rounds alternating rounds. \"speed-up\" is the time without the modules over the"
        echo "time with them."
        echo
        table_head "without modules"
        row "1 kernel, ${#objects[@]} objects" "$REF_NS" "$GEN_NS" "$PLAIN_IR" "$MODS_IR" "$PLAIN_MEM" "$MODS_MEM" \
            "≤ 1.5x the time" "$(yes_no le "$mod_ratio" 1.5) (${mod_ratio}x wall, ${mod_ir_ratio}x Ir)"
    )")
else
    say "no $mod_src: row 7 skipped"
fi

# --- report --------------------------------------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
{
echo "### Real workloads: btfgen vs bpftool $(bpftool version 2>/dev/null | sed -n 's/^bpftool v//p' | head -n 1)"
echo
echo "The $n_real real CO-RE objects of \`make real-objects\` (Debian's libbpf-tools and xdp-tools)$([[ $have_agent == yes ]] && echo ' and the' || echo ',')"
[[ $have_agent == yes ]] && echo "generated agent of \`make agent\` (35,334 CO-RE relocations), \`scripts/bench-real.sh\`."
[[ $have_agent == yes ]] || echo "\`scripts/bench-real.sh\`."
echo
echo "- date: $(date -u +%Y-%m-%d); machine: ${cpu:-unknown CPU}, $jobs CPUs, $(uname -sm)"
echo "- btfgen $btfgen_id; $(bpftool version 2>/dev/null | head -n 1); $(xz --version 2>/dev/null | head -n 1)"
echo "- callgrind: $callgrind"
echo
echo "Wall times in ms, median of alternating rounds in ABBA order (the machine's speed drifts: both tools see the"
echo "same machine). Ir: instructions executed in user space, one callgrind run of each. Memory, one more"
echo "run of each: max RSS, and the peak charged to a fresh memory cgroup (what a container's limit counts;"
echo "it leaves out pages of files already cached, such as those of the 28 MB static btfgen executable)."
echo "Memory targets compare the charged peaks."
for s in "${sections[@]}"; do
    echo
    echo "$s"
done
} >"$work/report.md"
mkdir -p "$(dirname "$out")"
cp "$work/report.md" "$out"
cat "$out"
say "wrote $out"
