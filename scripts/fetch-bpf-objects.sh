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
LOG=$REAL/apt.log
SID_OPTS=(-o "Dir::Etc::SourceList=$APT_SID/sources.list" -o "Dir::Etc::SourceParts=$APT_SID/none"
          -o "Dir::State::Lists=$APT_SID/lists" -o "Dir::Cache=$APT_SID/cache"
          -o "Dir::State::status=/dev/null" -o "Acquire::Languages=none")
SID_UPDATED=0
SYSTEM_UPDATED=0

apt_failure() { # the first error line of the last apt run, for a one-line message
    local line
    line=$(grep -m1 -E '^(E|W):' "$LOG" 2>/dev/null || grep -m1 -E '^Err:' "$LOG" 2>/dev/null || true)
    [[ -n $line ]] && printf ': %s' "$(tr -s ' \t' ' ' <<<"$line")"
    return 0
}

update_failed() { # apt-get update exits 0 when an index could not be fetched: read its log
    grep -qE '^(E: |W: Failed to fetch|W: Some index files failed|Err:)' "$LOG"
}

sid_update() {
    log "apt-get update (sid, private lists in ${APT_SID#"$REPO/"})"
    mkdir -p "$APT_SID/lists/partial" "$APT_SID/cache/archives/partial" "$APT_SID/none"
    echo "deb [arch=$ARCH signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR sid main" \
        >"$APT_SID/sources.list"
    # let apt's _apt user write the lists (apt downloads as _apt when run as root)
    if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then chown -R _apt "$APT_SID" 2>/dev/null || true; fi
    if ! apt-get "${SID_OPTS[@]}" update -q >"$LOG" 2>&1 || update_failed; then
        die "cannot reach Debian's package registry: apt-get update for sid failed$(apt_failure)"
    fi
    SID_UPDATED=1
}

system_update() {
    [[ $(id -u) -eq 0 ]] || die "apt's package lists need updating: run as root (or run 'sudo apt-get update' first)"
    log "apt-get update (the machine's sources)"
    # other sources of the machine may fail without harm: what counts is the candidate after it
    apt-get update -q >"$LOG" 2>&1 \
        || die "cannot reach Debian's package registry: apt-get update failed$(apt_failure)"
    SYSTEM_UPDATED=1
}

apt_opts() { # RELEASE -> sets OPTS to the apt options for it
    OPTS=()
    [[ $1 == sid ]] && OPTS=("${SID_OPTS[@]}")
    return 0
}

candidate() { # RELEASE PKG -> the version apt offers for PKG:ARCH, or nothing
    local -a OPTS
    apt_opts "$1"
    apt-cache "${OPTS[@]}" policy "$2:$ARCH" 2>/dev/null | awk '/Candidate:/ {if ($2 != "(none)") print $2; exit}'
}

refresh() { # RELEASE -> update that release's package lists once; false if done already
    case $1 in
        sid) ((SID_UPDATED)) && return 1; sid_update ;;
        *) ((SYSTEM_UPDATED)) && return 1; system_update ;;
    esac
}

fetch_deb() { # RELEASE PKG VERSION -> path of the verified .deb in DEBS
    local release=$1 pkg=$2 version=$3 want deb dl
    local -a OPTS
    apt_opts "$release"
    want=$(apt-cache "${OPTS[@]}" show "$pkg:$ARCH=$version" 2>/dev/null | awk '/^SHA256:/ {print $2; exit}')
    [[ -n $want ]] || die "apt knows no SHA256 for $pkg:$ARCH=$version ($release)"
    deb=$DEBS/${pkg}_${version//:/%3a}_$ARCH.deb
    if [[ -f $deb && $(sha256sum "$deb" | cut -d' ' -f1) == "$want" ]]; then
        note "using cached ${deb#"$REPO/"}" >&2
        echo "$deb"
        return 0
    fi
    dl=$(mktemp -d "$REAL/download.XXXXXX")
    if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$dl" 2>/dev/null || true; fi
    note "apt-get download $pkg:$ARCH=$version ($release)" >&2
    if ! (cd "$dl" && apt-get "${OPTS[@]}" download -q "$pkg:$ARCH=$version" >"$LOG" 2>&1); then
        rm -rf "$dl"
        return 1
    fi
    local got
    got=$(find "$dl" -maxdepth 1 -name "${pkg}_*_$ARCH.deb" | head -n1)
    [[ -n $got ]] || { rm -rf "$dl"; die "apt-get download $pkg left no .deb"; }
    [[ $(sha256sum "$got" | cut -d' ' -f1) == "$want" ]] || { rm -rf "$dl"; die "$pkg $version: sha256 differs from apt's"; }
    mkdir -p "$DEBS"
    chmod 644 "$got"
    mv "$got" "$deb"
    rm -rf "$dl"
    echo "$deb"
}

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
    # sid moves daily: lists older than a day are fetched again before they are asked
    if [[ $release == sid && -z $(find "$APT_SID/lists" -maxdepth 1 -name '*_InRelease' -mmin -1440 2>/dev/null) ]]; then
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
