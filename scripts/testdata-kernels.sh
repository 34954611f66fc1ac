#!/usr/bin/env bash
# Decompress every testdata/kernels/*.btf.xz into DEST_DIR/*.btf, and the large kernels of the
# shared kernel directory (../shared/kernels/*.btf.xz beside the repository, when it exists)
# into LARGE_DIR (default: DEST_DIR/../kernels-large).
# Files that are already there and newer than their .btf.xz are skipped.
# Prints the paths of all .btf files in DEST_DIR that correspond to an .xz (only those: the
# tests loop over DEST_DIR, the large kernels are for tests and benchmarks that ask for them).
#
#   scripts/testdata-kernels.sh DEST_DIR [LARGE_DIR]
#
# The shared directory holds kernels the Debian archive cannot provide, such as CentOS 8's
# 4.18.0-147.5.1.el8_1.aarch64 (27 MB raw, 561,977 types, not deduplicated): too slow for the
# tests that run on every test kernel, hence a directory of its own.
# SHARED_KERNELS=DIR names another shared directory ("" or a missing one: none).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || -z $1 ]]; then
    echo "usage: $0 DEST_DIR [LARGE_DIR]" >&2
    exit 2
fi
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$REPO/testdata/kernels"
SHARED=${SHARED_KERNELS-$REPO/../shared/kernels}
DEST=$1
LARGE=${2:-$DEST/../kernels-large}
command -v xz >/dev/null || { echo "$0: xz not found (apt-get install xz-utils)" >&2; exit 1; }
mkdir -p "$DEST"

unpack() { # XZ_FILE DIR -> DIR/NAME (the .xz's name without .xz); prints the path
    local xzf=$1 dir=$2 base out tmp
    base=$(basename "$xzf" .xz)
    out="$dir/$base"
    if [[ -f $out && $out -nt $xzf ]]; then
        echo "$out"
        return 0
    fi
    tmp=$(mktemp "$dir/.$base.XXXXXX")
    if ! xz -dc "$xzf" >"$tmp"; then
        rm -f "$tmp"
        echo "$0: cannot decompress $xzf" >&2
        exit 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$out"
    echo "$out"
}

shopt -s nullglob
files=("$SRC"/*.btf.xz)
if ((${#files[@]} == 0)); then
    echo "$0: no $SRC/*.btf.xz" >&2
    exit 1
fi
for xzf in "${files[@]}"; do
    unpack "$xzf" "$DEST"
done

if [[ -n $SHARED && -d $SHARED ]]; then
    large=("$SHARED"/*.btf.xz)
    if ((${#large[@]})); then
        mkdir -p "$LARGE"
        for xzf in "${large[@]}"; do
            unpack "$xzf" "$LARGE" >/dev/null
        done
    fi
fi
