#!/usr/bin/env bash
# Fetch real CO-RE BPF programs from Debian's packages, for tests and benchmarks: the .bpf.o
# objects that libbpf-tools (bookworm's and sid's) and xdp-tools (bookworm's and sid's) embed in
# their executables. Run as root on Debian bookworm (make real-objects does):
#
#   scripts/fetch-bpf-objects.sh
#
# Writes, under the repository's .build/real/ (nothing is committed):
#   objects/<package>-<version>/<tool>.bpf.o   every embedded EM_BPF object with CO-RE relocations
#   objects/PROVENANCE.tsv                     one row per object: where it came from, its sha256
#   objects/SKIPPED.tsv                        the objects found but not kept, with the reason
#   debs/                                      the downloaded .deb files (kept as a cache)
#   apt-sid/                                   a private apt configuration and package lists for sid
#
# Environment:
#   FORCE=1          extract again even if PROVENANCE.tsv and every object it lists are intact
#   NO_SID=1         only bookworm's packages (later runs take that cache as it is: FORCE=1 adds sid)
#   DEBIAN_MIRROR=U  the archive sid is fetched from (default http://deb.debian.org/debian)
#
# Packages are downloaded with `apt-get download` (never installed), in the version apt offers as
# candidate. Bookworm's come through the machine's own apt sources; sid's through a private apt
# configuration under .build/real/apt-sid (its own source list, package lists and cache, no dpkg
# status), as scripts/fetch-kernel-btf.sh does for bullseye: the machine's apt sources are not
# changed. Scanning and cutting the ELF images is scripts/extract-bpf-objects.py.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REAL=$REPO/.build/real
OUT=$REAL/objects
DEBS=$REAL/debs
APT_SID=$REAL/apt-sid
HELPER=$REPO/scripts/extract-bpf-objects.py
PROV=$OUT/PROVENANCE.tsv
SKIP=$OUT/SKIPPED.tsv
PROV_HEADER=$'object\tpackage\tversion\tdeb_sha256\thost\toffset\tobject_sha256\tbytes\tcore_relos'
SKIP_HEADER=$'package\tversion\thost\toffset\tobject_sha256\tbytes\treason'
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ARCH=amd64

# package | Debian release
PACKAGES=(
    'libbpf-tools|bookworm'
    'libbpf-tools|sid'
    'xdp-tools|bookworm'
    'xdp-tools|sid'
)

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'fetch-bpf-objects: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$REAL"
# One run at a time: make test and make bench may start this from several checkouts' shells.
exec 9>"$REAL/.lock"
flock 9

# ------------------------------------------------------------ cache
cache_intact() { # PROVENANCE.tsv lists at least one object and every one has its sha256
    [[ -f $PROV ]] || return 1
    local sums
    sums=$(awk -F'\t' 'NR > 1 && NF >= 9 {print $7 "  " $1}' "$PROV")
    [[ -n $sums ]] || return 1
    (cd "$OUT" && sha256sum --check --status --strict <<<"$sums") 2>/dev/null
}

if [[ ${FORCE:-0} != 1 ]] && cache_intact; then
    echo "fetch-bpf-objects: cached ($(($(wc -l <"$PROV") - 1)) objects in ${OUT#"$REPO/"}; FORCE=1 extracts again)"
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb python3 bpftool sha256sum; do
    command -v "$tool" >/dev/null || die "'$tool' not found (make deps installs bpftool; apt-get and dpkg-deb need a Debian system)"
done

# ------------------------------------------------------------ apt
# shellcheck source=scripts/apt-lib.sh
source "$REPO/scripts/apt-lib.sh"

# ------------------------------------------------------------ extract
WORK=$(mktemp -d "$REAL/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
NEW=$WORK/objects # replaces OUT only once everything is extracted
mkdir -p "$NEW"
printf '%s\n' "$PROV_HEADER" >"$WORK/prov.tsv"
printf '%s\n' "$SKIP_HEADER" >"$WORK/skip.tsv"
SUMMARY=()
declare -A SEEN=()

for entry in "${PACKAGES[@]}"; do
    IFS='|' read -r pkg release <<<"$entry"
    if [[ $release == sid && ${NO_SID:-0} == 1 ]]; then
        log "$pkg ($release): skipped (NO_SID=1)"; continue
    fi
    if [[ $release == sid ]] && ! sid_lists_fresh; then
        sid_update
    fi
    version=$(candidate "$release" "$pkg")
    if [[ -z $version ]]; then
        refresh "$release" || true
        version=$(candidate "$release" "$pkg")
    fi
    [[ -n $version ]] || die "apt offers no $pkg:$ARCH in $release"
    log "$pkg $version ($release)"
    if [[ -n ${SEEN[$pkg=$version]:-} ]]; then
        note "same version as ${SEEN[$pkg=$version]}'s: nothing more to take"
        SUMMARY+=("$pkg $version ($release): same as ${SEEN[$pkg=$version]}")
        continue
    fi
    SEEN[$pkg=$version]=$release
    if ! deb=$(fetch_deb "$release" "$pkg" "$version"); then
        # stale lists name a file the mirror no longer has: update once, take the new candidate
        refresh "$release" || die "cannot download $pkg $version from Debian's package registry$(apt_failure)"
        version=$(candidate "$release" "$pkg")
        [[ -n $version ]] || die "apt offers no $pkg:$ARCH in $release"
        deb=$(fetch_deb "$release" "$pkg" "$version") \
            || die "cannot download $pkg $version from Debian's package registry$(apt_failure)"
    fi
    deb_sha=$(sha256sum "$deb" | cut -d' ' -f1)
    dir=$pkg-${version//[^A-Za-z0-9._-]/_}
    root=$WORK/$dir
    dpkg-deb -x "$deb" "$root"
    python3 "$HELPER" "$root" "$NEW/$dir" >"$WORK/rows.tsv"
    # kept NAME HOST OFFSET SHA BYTES RELOS / skipped - HOST OFFSET SHA BYTES REASON
    awk -F'\t' -v OFS='\t' -v d="$dir" -v p="$pkg" -v v="$version" -v s="$deb_sha" \
        '$1 == "kept" {print d "/" $2, p, v, s, $3, $4, $5, $6, $7}' "$WORK/rows.tsv" >>"$WORK/prov.tsv"
    awk -F'\t' -v OFS='\t' -v p="$pkg" -v v="$version" \
        '$1 == "skipped" {print p, v, $3, $4, $5, $6, $7}' "$WORK/rows.tsv" >>"$WORK/skip.tsv"
    line=$(awk -F'\t' -v label="$pkg $version ($release)" '
        $1 == "kept" {n++; relos += $7; if ($6 > big) {big = $6; name = $2}}
        $1 == "skipped" {s++; r = $7; sub(/ \(.*/, "", r); sub(/^same bytes as .*/, "duplicate", r); why[r]++}
        END {
            printf "%s: %d objects, %d CO-RE relocations", label, n, relos
            if (n) printf ", largest %s (%d bytes)", name, big
            if (s) {
                printf ", %d skipped (", s; sep = ""
                for (r in why) {printf "%s%s: %d", sep, r, why[r]; sep = "; "}
                printf ")"
            }
            printf "\n"
        }' "$WORK/rows.tsv")
    SUMMARY+=("$line")
    rm -rf "$root"
done

[[ $(wc -l <"$WORK/prov.tsv") -gt 1 ]] || die "no CO-RE objects found in any package"
mv "$WORK/skip.tsv" "$NEW/SKIPPED.tsv"
mv "$WORK/prov.tsv" "$NEW/PROVENANCE.tsv"
chmod 644 "$NEW/PROVENANCE.tsv" "$NEW/SKIPPED.tsv"
rm -rf "$OUT"
mv "$NEW" "$OUT"

log "done: $(($(wc -l <"$PROV") - 1)) objects in ${OUT#"$REPO/"} (PROVENANCE.tsv; SKIPPED.tsv lists $(($(wc -l <"$SKIP") - 1)) not kept)"
printf '%s\n' "${SUMMARY[@]}"
