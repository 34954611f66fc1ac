#!/usr/bin/env bash
# Decompress every testdata/kernels/*.btf.xz into DEST_DIR/*.btf.
# Files that are already there and newer than their .btf.xz are skipped.
# Prints the paths of all .btf files in DEST_DIR that correspond to an .xz.
#
#   scripts/testdata-kernels.sh DEST_DIR
set -euo pipefail

if [[ $# -ne 1 || -z $1 ]]; then
    echo "usage: $0 DEST_DIR" >&2
    exit 2
fi
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$REPO/testdata/kernels"
DEST=$1
command -v xz >/dev/null || { echo "$0: xz not found (apt-get install xz-utils)" >&2; exit 1; }
mkdir -p "$DEST"

shopt -s nullglob
files=("$SRC"/*.btf.xz)
if ((${#files[@]} == 0)); then
    echo "$0: no $SRC/*.btf.xz" >&2
    exit 1
fi
for xzf in "${files[@]}"; do
    base=$(basename "$xzf" .xz)
    out="$DEST/$base"
    if [[ -f $out && $out -nt $xzf ]]; then
        echo "$out"
        continue
    fi
    tmp=$(mktemp "$DEST/.$base.XXXXXX")
    if ! xz -dc "$xzf" >"$tmp"; then
        rm -f "$tmp"
        echo "$0: cannot decompress $xzf" >&2
        exit 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$out"
    echo "$out"
done
