#!/usr/bin/env bash
# Fetch real kernel BTF from Debian linux-image packages (bookworm's 6.1 and 6.12,
# and bullseye's 5.10 for an older kernel's layouts) and store it,
# xz-compressed, under testdata/kernels/ together with PROVENANCE.tsv and a
# README.md.  Run as root on Debian bookworm:
#
#   scripts/fetch-kernel-btf.sh
#
# Environment:
#   WORK_DIR=DIR  keep downloads and intermediate files in DIR (default: a
#                 temporary directory that is removed at the end)
#   FORCE=1       rebuild every file even if it is up to date
#   PRUNE=1       delete testdata/kernels files that are no longer produced
#                 (e.g. an older ABI after the mirror moved on)
#   NO_ARM64=1    do not add the arm64 architecture / skip the arm64 kernel
#   NO_612=1      skip the 6.12 kernel
#   NO_510=1      skip the bullseye 5.10 kernel
#
# Idempotent: a kernel whose .btf.xz exists and whose PROVENANCE.tsv row names
# the same package and version (and whose content matches the recorded
# sha256) is left alone.  Nothing is downloaded into the repository.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$REPO/testdata/kernels"
HELPER="$REPO/scripts/extract-btf.py"
PROV="$OUT/PROVENANCE.tsv"
PROV_HEADER=$'file\tpackage\tversion\tarchitecture\tdeb_sha256\tvmlinuz_compression\traw_btf_bytes\traw_btf_sha256\ttype_count'
BACKPORTS_LIST=/etc/apt/sources.list.d/btfgen-bookworm-backports.sources

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'fetch-kernel-btf: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, dpkg --add-architecture)"
command -v apt-get >/dev/null || die "needs a Debian system (apt-get)"
if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [[ $codename == bookworm ]] || log "warning: this is '$codename', not bookworm"
fi

# ---------------------------------------------------------------- apt setup
APT_UPDATED=0
apt_update() {
    log "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
}

# Options for apt-get and apt-cache: none for the system's sources (bookworm); for bullseye,
# a private source list and state under the work dir (see enable_bullseye).
APT_OPTS=()

have_candidate() { # PKG:ARCH -> true if apt knows an installable version
    local v
    v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
    [[ -n $v && $v != "(none)" ]]
}

# tools we need
missing=()
command -v bpftool >/dev/null || missing+=(bpftool)
command -v xz >/dev/null || missing+=(xz-utils)
command -v lz4 >/dev/null || missing+=(lz4)
command -v zstd >/dev/null || missing+=(zstd)
command -v python3 >/dev/null || missing+=(python3)
command -v dpkg-deb >/dev/null || missing+=(dpkg)
if ((${#missing[@]})); then
    [[ $APT_UPDATED == 1 ]] || apt_update
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# package lists present?
if [[ -z $(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$') ]]; then
    apt_update
fi

NATIVE=$(dpkg --print-architecture)
declare -A ARCH_OK=([$NATIVE]=1)
SKIPPED=()

enable_arch() { # ARCH -> sets ARCH_OK[ARCH]=1 if apt can fetch it
    local arch=$1
    if [[ ${ARCH_OK[$arch]:-} == 1 ]]; then return 0; fi
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        log "dpkg --add-architecture $arch"
        if ! dpkg --add-architecture "$arch"; then
            note "cannot add architecture $arch"
            return 1
        fi
        apt_update || { note "apt-get update failed after adding $arch"; return 1; }
    elif [[ -z $(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-'"$arch"'-unsigned$') ]]; then
        apt_update || return 1
    fi
    ARCH_OK[$arch]=1
}

# newest package (by ABI / version, sort -V on the name) whose name matches
# REGEX and that has a candidate for ARCH; prints "PKG VERSION"
pick_newest() {
    local re=$1 arch=$2 pkg v
    while read -r pkg; do
        v=$(apt-cache "${APT_OPTS[@]}" policy "$pkg:$arch" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
        if [[ -n $v && $v != "(none)" ]]; then
            echo "$pkg $v"
            return 0
        fi
    done < <(apt-cache "${APT_OPTS[@]}" search --names-only "$re" | awk '{print $1}' | sort -V -r)
    return 1
}

RE_612='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$'
enable_612() { # make a 6.12 kernel visible, trying bookworm-backports if needed
    if [[ -n $(apt-cache search --names-only "$RE_612") ]]; then return 0; fi
    if [[ ! -e $BACKPORTS_LIST ]]; then
        log "no 6.12 kernel in the configured sources; trying bookworm-backports"
        local uri
        uri=$(grep -rhE '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
            | grep -v -- '-security' | grep -oE 'https?://[^ ]+/debian/?' | head -n1 || true)
        [[ -n $uri ]] || { note "no Debian mirror found in the apt sources"; return 1; }
        cat >"$BACKPORTS_LIST" <<EOF
# added by btfgen scripts/fetch-kernel-btf.sh to find a 6.12 kernel
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        if ! apt_update || [[ -z $(apt-cache search --names-only "$RE_612") ]]; then
            note "bookworm-backports did not work; removing $BACKPORTS_LIST"
            rm -f "$BACKPORTS_LIST"
            apt_update || true
            return 1
        fi
        note "using bookworm-backports ($BACKPORTS_LIST)"
    fi
    [[ -n $(apt-cache search --names-only "$RE_612") ]]
}

# Bullseye's packages through a private apt configuration under the work dir: its own source
# list, package lists and cache, and no dpkg status. The system's sources and lists are left as
# they are (a bookworm machine must not start installing from bullseye).
BULLSEYE_OPTS=()
enable_bullseye() {
    ((${#BULLSEYE_OPTS[@]})) && return 0
    local uri security dir=$WORK/apt-bullseye
    uri=$(grep -rhE '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -v -- '-security' | grep -oE 'https?://[^ ]+/debian/?' | head -n1 || true)
    [[ -n $uri ]] || { note "no Debian mirror found in the apt sources"; return 1; }
    uri=${uri%/}
    security=${uri%/debian}/debian-security
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    {
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bullseye main"
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $security bullseye-security main"
    } >"$dir/sources.list"
    if id _apt >/dev/null 2>&1; then chown -R _apt "$dir" 2>/dev/null || true; fi
    local opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/none"
                -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "Dir::State::status=/dev/null")
    log "apt-get update (bullseye, private lists in $dir)"
    apt-get "${opts[@]}" update -qq || { note "apt-get update for bullseye failed"; return 1; }
    BULLSEYE_OPTS=("${opts[@]}")
}

# ------------------------------------------------------------ kernel list
# name suffix | package regex | architecture | Debian release
KERNELS=(
    '6.1 amd64|^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$|amd64|bookworm'
    '6.1 cloud-amd64|^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$|amd64|bookworm'
    '6.1 rt-amd64|^linux-image-6\.1\.0-[0-9]+-rt-amd64-unsigned$|amd64|bookworm'
    '6.1 arm64|^linux-image-6\.1\.0-[0-9]+-arm64-unsigned$|arm64|bookworm'
    "6.12 amd64|$RE_612|amd64|bookworm"
    '5.10 amd64|^linux-image-5\.10\.0-[0-9]+-amd64-unsigned$|amd64|bullseye'
)

# ------------------------------------------------------------ work dir
if [[ -n ${WORK_DIR:-} ]]; then
    WORK=$WORK_DIR
    mkdir -p "$WORK"
    KEEP_WORK=1
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/btfgen-kernel-btf.XXXXXX")
    KEEP_WORK=0
fi
WORK=$(cd "$WORK" && pwd)
case "$WORK/" in "$REPO"/*) die "WORK_DIR must be outside the repository" ;; esac
cleanup() { [[ $KEEP_WORK == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT
# let apt's _apt user write the downloads (avoids the "unsandboxed" warning)
if id _apt >/dev/null 2>&1; then chown _apt "$WORK" 2>/dev/null || true; fi
log "work dir: $WORK"

mkdir -p "$OUT"
[[ -f $PROV ]] || printf '%s\n' "$PROV_HEADER" >"$PROV"

prov_field() { # FILE COLUMN -> value from PROVENANCE.tsv
    awk -F'\t' -v f="$1" -v c="$2" 'NR > 1 && $1 == f {print $c}' "$PROV"
}

prov_set() { # replace/append the row for $1 (a tab-separated line)
    local row=$1 file=${1%%$'\t'*} tmp
    tmp=$(mktemp "$OUT/.prov.XXXXXX")
    {
        printf '%s\n' "$PROV_HEADER"
        { awk -F'\t' -v f="$file" 'NR > 1 && $1 != f' "$PROV"; printf '%s\n' "$row"; } | LC_ALL=C sort
    } >"$tmp"
    chmod 644 "$tmp"
    mv "$tmp" "$PROV"
}

PRODUCED=()

process() { # NAME PKG VERSION ARCH
    local name=$1 pkg=$2 version=$3 arch=$4
    local file="$name.btf.xz" out="$OUT/$name.btf.xz" d="$WORK/$name"
    PRODUCED+=("$file")
    log "$name: $pkg:$arch $version"

    if [[ ${FORCE:-0} != 1 && -f $out \
        && $(prov_field "$file" 2) == "$pkg" && $(prov_field "$file" 3) == "$version" ]]; then
        local have
        have=$(xz -dc "$out" | sha256sum | cut -d' ' -f1)
        if [[ $have == "$(prov_field "$file" 8)" ]]; then
            note "up to date ($file), skipping"
            return 0
        fi
        note "content does not match PROVENANCE.tsv, rebuilding"
    fi

    mkdir -p "$d"
    local deb
    deb=$(find "$WORK" -maxdepth 1 -name "${pkg}_*_${arch}.deb" | head -n1)
    local want_sha
    want_sha=$(apt-cache "${APT_OPTS[@]}" show "$pkg:$arch=$version" | awk '/^SHA256:/ {print $2; exit}')
    if [[ -n $deb && $(sha256sum "$deb" | cut -d' ' -f1) != "$want_sha" ]]; then
        rm -f "$deb"
        deb=
    fi
    if [[ -z $deb ]]; then
        note "apt-get download $pkg:$arch=$version"
        (cd "$WORK" && apt-get "${APT_OPTS[@]}" download -q "$pkg:$arch=$version" >/dev/null)
        deb=$(find "$WORK" -maxdepth 1 -name "${pkg}_*_${arch}.deb" | head -n1)
        [[ -n $deb ]] || die "download of $pkg failed"
    else
        note "using cached $(basename "$deb")"
    fi
    local deb_sha
    deb_sha=$(sha256sum "$deb" | cut -d' ' -f1)
    [[ -z $want_sha || $deb_sha == "$want_sha" ]] || die "$deb: sha256 $deb_sha, apt says $want_sha"
    note "deb: $(basename "$deb") $(stat -c %s "$deb") bytes sha256 $deb_sha"

    # unpack only boot/ (the same as dpkg-deb -x, without the modules)
    rm -rf "$d/root"
    mkdir -p "$d/root"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$d/root" --wildcards './boot/vmlinuz-*'
    local vmlinuz
    vmlinuz=$(find "$d/root/boot" -name 'vmlinuz-*' | head -n1)
    [[ -n $vmlinuz ]] || die "$deb has no boot/vmlinuz-*"
    note "vmlinuz: ${vmlinuz#"$d/root/"} $(stat -c %s "$vmlinuz") bytes"

    local res comp kind how btf_bytes btf_sha ntypes
    res=$(python3 "$HELPER" vmlinuz "$vmlinuz" "$d/kernel")
    read -r comp kind <<<"$res"
    note "decompressed ($comp) to $kind: $(stat -c %s "$d/kernel") bytes"
    res=$(python3 "$HELPER" btf "$d/kernel" "$d/$name.btf")
    read -r how btf_bytes <<<"$res"
    note "BTF from $how: $btf_bytes bytes"

    if ! bpftool btf dump file "$d/$name.btf" format raw >"$d/dump.txt"; then
        die "bpftool cannot read $d/$name.btf"
    fi
    head -n 3 "$d/dump.txt" | sed 's/^/    | /'
    local bpf_count
    bpf_count=$(grep -c '^\[[0-9]*\] ' "$d/dump.txt")
    res=$(python3 "$HELPER" info "$d/$name.btf")
    read -r btf_bytes btf_sha ntypes <<<"$res"
    [[ $bpf_count == "$ntypes" ]] || die "type count mismatch: bpftool $bpf_count, extract-btf.py $ntypes"
    note "$ntypes types (bpftool agrees)"

    rm -f "$d/$name.btf.xz"
    xz -9e --keep -T1 "$d/$name.btf"
    cp "$d/$name.btf.xz" "$out.tmp"
    chmod 644 "$out.tmp"
    mv "$out.tmp" "$out"
    note "wrote ${out#"$REPO/"} ($(stat -c %s "$out") bytes)"
    prov_set "$file"$'\t'"$pkg"$'\t'"$version"$'\t'"$arch"$'\t'"$deb_sha"$'\t'"$comp"$'\t'"$btf_bytes"$'\t'"$btf_sha"$'\t'"$ntypes"

    rm -rf "$d"
    [[ $KEEP_WORK == 1 ]] || rm -f "$deb"
}

for k in "${KERNELS[@]}"; do
    IFS='|' read -r label re arch release <<<"$k"
    APT_OPTS=()
    if [[ $arch == arm64 && ${NO_ARM64:-0} == 1 ]]; then
        log "$label: skipped (NO_ARM64=1)"; continue
    fi
    if [[ $label == 6.12* && ${NO_612:-0} == 1 ]]; then
        log "$label: skipped (NO_612=1)"; continue
    fi
    if [[ $arch != "$NATIVE" ]] && ! enable_arch "$arch"; then
        log "$label: skipped, cannot use architecture $arch"
        SKIPPED+=("$label: architecture $arch could not be added to dpkg/apt"); continue
    fi
    if [[ $label == 5.10* && ${NO_510:-0} == 1 ]]; then
        log "$label: skipped (NO_510=1)"; continue
    fi
    if [[ $release == bullseye ]]; then
        if ! enable_bullseye; then
            log "$label: skipped, bullseye's packages cannot be listed"
            SKIPPED+=("$label: bullseye's package lists could not be fetched"); continue
        fi
        APT_OPTS=("${BULLSEYE_OPTS[@]}")
    fi
    if [[ $label == 6.12* ]] && ! enable_612; then
        log "$label: skipped, no 6.12 kernel in the configured sources or bookworm-backports"
        SKIPPED+=("$label: no 6.12 kernel available (configured sources, bookworm-backports)"); continue
    fi
    if ! sel=$(pick_newest "$re" "$arch"); then
        log "$label: skipped, no package matches $re for $arch"
        SKIPPED+=("$label: no package matching $re"); continue
    fi
    read -r pkg version <<<"$sel"
    flavour=${pkg#linux-image-}
    flavour=${flavour%-unsigned}
    flavour=${flavour/+deb12/}
    process "debian-$release-$flavour" "$pkg" "$version" "$arch"
done

# ------------------------------------------------------------ stale files
for f in "$OUT"/*.btf.xz; do
    [[ -e $f ]] || continue
    b=$(basename "$f")
    if [[ " ${PRODUCED[*]} " != *" $b "* ]]; then
        if [[ ${PRUNE:-0} == 1 ]]; then
            log "PRUNE: removing $b"
            rm -f "$f"
            awk -F'\t' -v f="$b" 'NR == 1 || $1 != f' "$PROV" >"$PROV.tmp" && mv "$PROV.tmp" "$PROV"
        else
            log "note: $b was not produced by this run (kept; PRUNE=1 removes it)"
        fi
    fi
done

# ------------------------------------------------------------ README
{
    cat <<'EOF'
# Kernel BTF test data

Real vmlinux BTF taken from Debian `linux-image-*-unsigned` packages
(bookworm's 6.1 and 6.12; bullseye's 5.10, whose older layouts, such as
`task_struct.state` before its rename to `__state` in 5.14, the CO-RE
flavors in the fixtures are written for), one xz-compressed raw BTF blob
(the bytes of the kernel's `.BTF` section: header, type section, string
section) per kernel.

Generated by `scripts/fetch-kernel-btf.sh` (root, Debian bookworm):

1. `apt-get download` of the newest package of each flavour (highest ABI
   number); arm64 packages via `dpkg --add-architecture arm64`.
2. `boot/vmlinuz-*` is unpacked from the .deb and decompressed by
   `scripts/extract-btf.py`: the x86 bzImage payload (found via the setup
   header's payload_offset or by scanning for a compression magic, like the
   kernel's `scripts/extract-vmlinux`) decompresses to an ELF vmlinux
   (Debian uses xz, lz4 for cloud, zstd for 6.12).  The arm64 vmlinuz is a
   raw `Image`, not ELF; in these packages it is stored uncompressed
   (`vmlinuz_compression` = none), a gzip-compressed one is handled too.
3. The BTF is the `.BTF` section of the ELF, or, for a raw Image, the blob
   found by scanning for the BTF header (magic 0xEB9F, version 1,
   hdr_len 24) and cut to hdr_len + max(type_off+type_len, str_off+str_len).
4. Checked with `bpftool btf dump file X format raw`; the type count from
   bpftool must match the one from `extract-btf.py info`.
5. Stored with `xz -9e -T1` (deterministic).

The 5.10 kernel comes from bullseye (and bullseye-security) through a
private apt configuration in the work dir (own source list, package lists
and cache): the machine's apt sources are not changed.

The 6.12 kernel is Debian's `linux-6.12` for bookworm (`6.12.x+deb12`,
from bookworm-security); the script tries `bookworm-backports` only when no
6.12 package is visible in the configured apt sources.

`PROVENANCE.tsv` records, per file: package, version, architecture, sha256
of the .deb, compression of the vmlinuz, size and sha256 of the raw
(uncompressed) BTF, and the number of types (not counting type id 0).

Regenerate / update: `sudo scripts/fetch-kernel-btf.sh` (idempotent; files
that match their PROVENANCE.tsv row are kept; `FORCE=1` rebuilds,
`PRUNE=1` drops files for kernels no longer picked).  Exact package versions
may disappear from the mirror once superseded; the sha256 columns identify
what was used.

Use in tests/benchmarks: `scripts/testdata-kernels.sh DEST_DIR` decompresses
every `*.btf.xz` here to `DEST_DIR/*.btf`.

## Files

| file | package | version | arch | raw BTF bytes | types |
| --- | --- | --- | --- | ---: | ---: |
EOF
    awk -F'\t' 'NR > 1 {printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $7, $9}' "$PROV"
    if ((${#SKIPPED[@]})); then
        printf '\n## Not included\n\n'
        printf -- '- %s\n' "${SKIPPED[@]}"
    fi
} >"$OUT/README.md"

# ------------------------------------------------------------ summary
log "done"
printf '%s\n' "$(column -t -s $'\t' "$PROV" 2>/dev/null || cat "$PROV")"
if ((${#SKIPPED[@]})); then
    log "not included:"
    printf '    %s\n' "${SKIPPED[@]}"
fi
ls -l "$OUT"
