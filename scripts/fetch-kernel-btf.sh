#!/usr/bin/env bash
# Fetch real kernel BTF from Debian linux-image packages (bookworm's 6.1 and 6.12,
# bullseye's 5.10 for an older kernel's layouts, trixie's 6.12 for s390x,
# ppc64el and riscv64, sid's newest amd64 kernel) and store it, xz-compressed,
# under testdata/kernels/ together with PROVENANCE.tsv and a README.md.
# Kernels that Debian builds without BTF (bookworm's i386, armhf and s390x)
# get BTF made by pahole from the DWARF of their -dbg package, as the btfhub
# archive does for old kernels.  Run as root on Debian bookworm:
#
#   scripts/fetch-kernel-btf.sh
#
# Environment:
#   WORK_DIR=DIR  downloads and intermediate files (default: .build/kernels-work
#                 in the repository, git-ignored; outside .build/ it must be
#                 outside the repository).  The .debs stay there as a cache
#                 (the -dbg packages are 400-800 MB each); KEEP_DEBS=0 drops them.
#   FORCE=1       rebuild every file even if it is up to date
#   PRUNE=1       delete testdata/kernels files that are no longer produced
#                 (e.g. an older ABI after the mirror moved on)
#   NO_ARM64=1    do not add the arm64 architecture / skip the arm64 kernel
#   NO_612=1      skip bookworm's 6.12 kernel
#   NO_510=1      skip the bullseye 5.10 kernel
#   NO_TRIXIE=1   skip trixie's s390x, ppc64el and riscv64 kernels
#   NO_SID=1      skip sid's newest kernel
#   NO_DBG=1      skip the kernels made by pahole from -dbg packages
#   ONLY=REGEX    process only the kernels whose "label|regex|arch|release|method" line
#                 in KERNELS (below) matches REGEX (grep -E), e.g. ONLY='trixie|sid';
#                 the other files are left alone (no stale-file notes, no PRUNE)
#
# Foreign architectures other than arm64, and every release but bookworm, are
# read through private apt configurations under the work dir (own source
# list, architectures, package lists and cache): the machine's apt sources and
# dpkg architectures are not changed for them.  When the mirror does not have
# the newest package (404), the next older one is tried.
#
# Idempotent: a kernel whose .btf.xz exists and whose PROVENANCE.tsv row names
# the same package and version (and whose content matches the recorded
# sha256) is left alone.  Nothing is downloaded into a tracked path (the default work dir
# is under the git-ignored .build/).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$REPO/testdata/kernels"
HELPER="$REPO/scripts/extract-btf.py"
PROV="$OUT/PROVENANCE.tsv"
PROV_HEADER=$'file\tpackage\tversion\tarchitecture\tdeb_sha256\tvmlinuz_compression\traw_btf_bytes\traw_btf_sha256\ttype_count\thdr_len\tmade_by'
# made_by for BTF that the kernel build put into the image
MADE_BY_KERNEL='kernel build (.BTF of the image)'
PAHOLE_FLAGS=(--btf_gen_floats)
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
# a private source list and state under the work dir (see enable_private).
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

# A release's packages through a private apt configuration under the work dir: its own source
# list, architectures, package lists and cache, and no dpkg status. The system's sources, lists
# and architectures are left as they are (a bookworm machine must not start installing from
# another release, nor gain five foreign architectures). Sets PRIVATE_OPTS[RELEASE].
declare -A PRIVATE_OPTS=()
MIRROR=
mirror_uri() {
    [[ -n $MIRROR ]] && return 0
    MIRROR=$(grep -rhE '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -v -- '-security' | grep -oE 'https?://[^ ]+/debian/?' | head -n1 || true)
    MIRROR=${MIRROR%/}
    [[ -n $MIRROR ]] || { note "no Debian mirror found in the apt sources"; return 1; }
}
release_suites() { # RELEASE -> "SUITE" or "security SUITE" lines
    case $1 in
        bullseye) echo bullseye; echo "security bullseye-security" ;;
        sid) echo sid ;;
        *) echo "$1"; echo "$1-updates"; echo "security $1-security" ;;
    esac
}
enable_private() { # RELEASE ARCH...
    local rel=$1; shift
    [[ -n ${PRIVATE_OPTS[$rel]:-} ]] && return 0
    mirror_uri || return 1
    local dir=$WORK/apt-$rel arches suite kind a
    arches=$(IFS=,; echo "$*")
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    while read -r kind suite; do
        if [[ $kind == security ]]; then
            echo "deb [arch=$arches signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MIRROR%/debian}/debian-security $suite main"
        else
            echo "deb [arch=$arches signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $kind main"
        fi
    done < <(release_suites "$rel") >"$dir/sources.list"
    if id _apt >/dev/null 2>&1; then chown -R _apt "$dir" 2>/dev/null || true; fi
    local opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/none"
                -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "Dir::State::status=/dev/null"
                -o "APT::Architectures=$1")
    for a in "${@:2}"; do opts+=(-o "APT::Architectures::=$a"); done
    log "apt-get update ($rel for $arches, private lists in $dir)"
    apt-get "${opts[@]}" update -qq || { note "apt-get update for $rel failed"; return 1; }
    PRIVATE_OPTS[$rel]=$(printf '%q ' "${opts[@]}")
}

# ------------------------------------------------------------ kernel list
# name | package regex | architecture | Debian release | method
#   method image:  the BTF the kernel build put into the image (boot/vmlinuz-*, boot/vmlinux-*
#                  or, in sid's new packaging, usr/lib/modules/VERSION/vmlinuz)
#   (no '|' in a regex. sid's kernel image is in linux-binary-VERSION-amd64, signed, since
#   linux-image-VERSION-amd64 became a package of dependencies; there is no -unsigned one)
#   method pahole: a -dbg package's usr/lib/debug/boot/vmlinux-* turned into BTF by pahole
#                  (for kernels Debian builds without CONFIG_DEBUG_INFO_BTF)
KERNELS=(
    '6.1 amd64|^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$|amd64|bookworm|image'
    '6.1 cloud-amd64|^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$|amd64|bookworm|image'
    '6.1 rt-amd64|^linux-image-6\.1\.0-[0-9]+-rt-amd64-unsigned$|amd64|bookworm|image'
    '6.1 arm64|^linux-image-6\.1\.0-[0-9]+-arm64-unsigned$|arm64|bookworm|image'
    "6.12 amd64|$RE_612|amd64|bookworm|image"
    '5.10 amd64|^linux-image-5\.10\.0-[0-9]+-amd64-unsigned$|amd64|bullseye|image'
    '6.12 s390x|^linux-image-6\.12\.[0-9]+\+deb13(\.[0-9]+)?-s390x$|s390x|trixie|image'
    '6.12 powerpc64le|^linux-image-6\.12\.[0-9]+\+deb13(\.[0-9]+)?-powerpc64le$|ppc64el|trixie|image'
    '6.12 riscv64|^linux-image-6\.12\.[0-9]+\+deb13(\.[0-9]+)?-riscv64$|riscv64|trixie|image'
    'newest amd64|^linux-binary-[0-9][0-9.]*\+deb[0-9.]+-amd64$|amd64|sid|image'
    '6.1 686 (pahole)|^linux-image-6\.1\.0-[0-9]+-686-dbg$|i386|bookworm|pahole'
    '6.1 armmp (pahole)|^linux-image-6\.1\.0-[0-9]+-armmp-dbg$|armhf|bookworm|pahole'
    '6.1 s390x (pahole)|^linux-image-6\.1\.0-[0-9]+-s390x-dbg$|s390x|bookworm|pahole'
)

# Does this kernel use a private apt configuration? (every release but bookworm, and the
# architectures other than the native one and arm64)
uses_private() { # RELEASE ARCH
    [[ $1 != bookworm || ($2 != "$NATIVE" && $2 != arm64) ]]
}

# ------------------------------------------------------------ work dir
if [[ -n ${WORK_DIR:-} ]]; then
    WORK=$WORK_DIR
else
    WORK=$REPO/.build/kernels-work
fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
case "$WORK/" in
    "$REPO"/.build/*) ;; # git-ignored
    "$REPO"/*) die "WORK_DIR must be outside the repository or under its .build/" ;;
esac
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

# up_to_date NAME PKG VERSION: the file exists and PROVENANCE.tsv names this package and version
# and the file's content.
up_to_date() {
    local file="$1.btf.xz" out="$OUT/$1.btf.xz" have tmpb res
    [[ ${FORCE:-0} != 1 && -f $out && $(prov_field "$file" 2) == "$2" && $(prov_field "$file" 3) == "$3" ]] || return 1
    tmpb=$(mktemp "$WORK/.check.XXXXXX") || return 1
    if ! xz -dc "$out" >"$tmpb"; then rm -f "$tmpb"; return 1; fi
    have=$(sha256sum "$tmpb" | cut -d' ' -f1)
    if [[ $have != "$(prov_field "$file" 8)" ]]; then
        rm -f "$tmpb"
        note "$file: content does not match PROVENANCE.tsv, rebuilding"
        return 1
    fi
    rm -f "$tmpb"
}

# fetch_deb PKG VERSION ARCH: prints the path of the .deb (cached in the work dir when its
# sha256 is the one apt knows); returns 3 when the mirror does not have it.
fetch_deb() {
    local pkg=$1 version=$2 arch=$3 deb want_sha
    deb=$(find "$WORK" -maxdepth 1 -name "${pkg}_*_${arch}.deb" | head -n1)
    want_sha=$(apt-cache "${APT_OPTS[@]}" show "$pkg:$arch=$version" | awk '/^SHA256:/ {print $2; exit}')
    if [[ -n $deb && $(sha256sum "$deb" | cut -d' ' -f1) != "$want_sha" ]]; then
        rm -f "$deb"
        deb=
    fi
    if [[ -n $deb ]]; then
        note "using cached $(basename "$deb")" >&2
        echo "$deb"
        return 0
    fi
    note "apt-get download $pkg:$arch=$version ($(apt-cache "${APT_OPTS[@]}" show "$pkg:$arch=$version" \
        | awk '/^Size:/ {printf "%.0f MB", $2 / 1e6; exit}'))" >&2
    if ! (cd "$WORK" && apt-get "${APT_OPTS[@]}" download -q "$pkg:$arch=$version" >"$WORK/download.log" 2>&1); then
        grep -E '^(E|W):' "$WORK/download.log" | sed 's/^/    | /' | tail -n 3 >&2
        rm -f "$WORK/${pkg}_"*"_${arch}.deb"
        return 3
    fi
    deb=$(find "$WORK" -maxdepth 1 -name "${pkg}_*_${arch}.deb" | head -n1)
    [[ -n $deb ]] || return 3
    echo "$deb"
}

process() { # NAME PKG VERSION ARCH METHOD DEB
    local name=$1 pkg=$2 version=$3 arch=$4 method=$5 deb=$6
    local file="$name.btf.xz" out="$OUT/$name.btf.xz" d="$WORK/$name"
    local want_sha deb_sha
    want_sha=$(apt-cache "${APT_OPTS[@]}" show "$pkg:$arch=$version" | awk '/^SHA256:/ {print $2; exit}')
    deb_sha=$(sha256sum "$deb" | cut -d' ' -f1)
    [[ -z $want_sha || $deb_sha == "$want_sha" ]] || die "$deb: sha256 $deb_sha, apt says $want_sha"
    note "deb: $(basename "$deb") $(stat -c %s "$deb") bytes sha256 $deb_sha"

    rm -rf "$d"
    mkdir -p "$d/root"
    local res comp kind how btf_bytes btf_sha ntypes hdr_len made_by
    if [[ $method == pahole ]]; then
        # only the vmlinux with its DWARF (the same as dpkg-deb -x, without the modules' debug info)
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$d/root" --wildcards './usr/lib/debug/boot/vmlinux-*'
        local vmlinux
        vmlinux=$(find "$d/root/usr/lib/debug/boot" -name 'vmlinux-*' | head -n1)
        [[ -n $vmlinux ]] || die "$deb has no usr/lib/debug/boot/vmlinux-*"
        note "vmlinux: ${vmlinux#"$d/root/"} $(stat -c %s "$vmlinux") bytes"
        local pv
        pv=$(pahole --version)
        made_by="pahole $pv ${PAHOLE_FLAGS[*]} --btf_encode_detached=OUT ${vmlinux#"$d/root/"}"
        note "$made_by"
        pahole "${PAHOLE_FLAGS[@]}" --btf_encode_detached="$d/$name.btf" "$vmlinux" >"$d/pahole.log" 2>&1 \
            || { sed 's/^/    | /' "$d/pahole.log" | tail -n 5; die "pahole failed on $vmlinux"; }
        comp=-
    else
        # unpack only the kernel image (the same as dpkg-deb -x, without the modules)
        dpkg-deb --fsys-tarfile "$deb" \
            | tar -x -C "$d/root" --wildcards './boot/vmlinu[xz]-*' './usr/lib/modules/*/vmlinu[xz]' 2>/dev/null || true
        local vmlinuz
        vmlinuz=$(find "$d/root" -type f -name 'vmlinu[xz]*' | LC_ALL=C sort | head -n1)
        [[ -n $vmlinuz ]] || die "$deb has no boot/vmlinu[xz]-* or usr/lib/modules/*/vmlinu[xz]"
        note "image: ${vmlinuz#"$d/root/"} $(stat -c %s "$vmlinuz") bytes"
        res=$(python3 "$HELPER" vmlinuz "$vmlinuz" "$d/kernel")
        read -r comp kind <<<"$res"
        note "decompressed ($comp) to $kind: $(stat -c %s "$d/kernel") bytes"
        res=$(python3 "$HELPER" btf "$d/kernel" "$d/$name.btf")
        read -r how btf_bytes <<<"$res"
        note "BTF from $how: $btf_bytes bytes"
        made_by=$MADE_BY_KERNEL
    fi

    res=$(python3 "$HELPER" info "$d/$name.btf")
    read -r btf_bytes btf_sha ntypes hdr_len <<<"$res"
    note "$ntypes types, header $hdr_len bytes"
    # bpftool 7.1 (libbpf 1.1) reads a 32-byte header only in the host's byte order
    if bpftool btf dump file "$d/$name.btf" format raw >"$d/dump.txt" 2>"$d/dump.err"; then
        head -n 3 "$d/dump.txt" | sed 's/^/    | /'
        local bpf_count
        bpf_count=$(grep -c '^\[[0-9]*\] ' "$d/dump.txt")
        [[ $bpf_count == "$ntypes" ]] || die "type count mismatch: bpftool $bpf_count, extract-btf.py $ntypes"
        note "bpftool agrees"
    elif [[ $hdr_len != 24 ]]; then
        note "bpftool cannot read it ($(head -n1 "$d/dump.err")); kept, counted by extract-btf.py only"
    else
        sed 's/^/    | /' "$d/dump.err"
        die "bpftool cannot read $d/$name.btf"
    fi

    rm -f "$d/$name.btf.xz"
    xz -9e --keep -T1 "$d/$name.btf"
    cp "$d/$name.btf.xz" "$out.tmp"
    chmod 644 "$out.tmp"
    mv "$out.tmp" "$out"
    note "wrote ${out#"$REPO/"} ($(stat -c %s "$out") bytes)"
    prov_set "$file"$'\t'"$pkg"$'\t'"$version"$'\t'"$arch"$'\t'"$deb_sha"$'\t'"$comp"$'\t'"$btf_bytes"$'\t'"$btf_sha"$'\t'"$ntypes"$'\t'"$hdr_len"$'\t'"$made_by"

    rm -rf "$d"
    [[ ${KEEP_DEBS:-1} == 1 ]] || rm -f "$deb"
}

# Packages matching REGEX that have a candidate for ARCH, newest first (sort -V on the name
# without its linux-image-/linux-binary- prefix): "PKG VERSION" lines.
candidates() {
    local re=$1 arch=$2 pkg v
    while read -r pkg; do
        v=$(apt-cache "${APT_OPTS[@]}" policy "$pkg:$arch" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
        [[ -n $v && $v != "(none)" ]] && echo "$pkg $v"
    done < <(apt-cache "${APT_OPTS[@]}" pkgnames linux- 2>/dev/null | grep -E "$re" \
                | sed -E 's/^(linux-[a-z]+-)(.*)$/\2 \1\2/' | sort -u | sort -V -r -k1,1 | awk '{print $2}')
}

kernel_name() { # RELEASE PKG METHOD -> file name without .btf.xz
    local flavour=${2#linux-image-}
    flavour=${flavour#linux-binary-}
    flavour=${flavour%-unsigned}
    flavour=${flavour%-dbg}
    flavour=$(sed -E 's/\+deb[0-9]+(\.[0-9]+)?//' <<<"$flavour")
    [[ $3 == pahole ]] && flavour+=-pahole
    echo "debian-$1-$flavour"
}

# the architectures each private configuration needs
declare -A PRIVATE_ARCHES=()
for k in "${KERNELS[@]}"; do
    IFS='|' read -r label re arch release method <<<"$k"
    if uses_private "$release" "$arch" && [[ " ${PRIVATE_ARCHES[$release]:-} " != *" $arch "* ]]; then
        PRIVATE_ARCHES[$release]+=" $arch"
    fi
done

for k in "${KERNELS[@]}"; do
    IFS='|' read -r label re arch release method <<<"$k"
    APT_OPTS=()
    if [[ -n ${ONLY:-} ]] && ! grep -qE -- "$ONLY" <<<"$k"; then continue; fi
    if [[ $arch == arm64 && ${NO_ARM64:-0} == 1 ]]; then
        log "$label: skipped (NO_ARM64=1)"; continue
    fi
    if [[ $label == 6.12* && $release == bookworm && ${NO_612:-0} == 1 ]]; then
        log "$label: skipped (NO_612=1)"; continue
    fi
    if [[ $label == 5.10* && ${NO_510:-0} == 1 ]]; then
        log "$label: skipped (NO_510=1)"; continue
    fi
    if [[ $release == trixie && ${NO_TRIXIE:-0} == 1 ]]; then
        log "$label ($release): skipped (NO_TRIXIE=1)"; continue
    fi
    if [[ $release == sid && ${NO_SID:-0} == 1 ]]; then
        log "$label ($release): skipped (NO_SID=1)"; continue
    fi
    if [[ $method == pahole ]]; then
        if [[ ${NO_DBG:-0} == 1 ]]; then
            log "$label: skipped (NO_DBG=1)"; continue
        fi
        if ! command -v pahole >/dev/null; then
            [[ $APT_UPDATED == 1 ]] || apt_update
            log "installing dwarves (pahole)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dwarves >/dev/null
        fi
    fi
    if uses_private "$release" "$arch"; then
        # shellcheck disable=SC2086
        if ! enable_private "$release" ${PRIVATE_ARCHES[$release]}; then
            log "$label: skipped, $release's packages cannot be listed"
            SKIPPED+=("$label ($release $arch): the package lists could not be fetched"); continue
        fi
        eval "APT_OPTS=(${PRIVATE_OPTS[$release]})"
    elif [[ $arch != "$NATIVE" ]] && ! enable_arch "$arch"; then
        log "$label: skipped, cannot use architecture $arch"
        SKIPPED+=("$label: architecture $arch could not be added to dpkg/apt"); continue
    fi
    if [[ $label == 6.12* && $release == bookworm ]] && ! enable_612; then
        log "$label: skipped, no 6.12 kernel in the configured sources or bookworm-backports"
        SKIPPED+=("$label: no 6.12 kernel available (configured sources, bookworm-backports)"); continue
    fi
    mapfile -t cands < <(candidates "$re" "$arch")
    if ((${#cands[@]} == 0)); then
        log "$label: skipped, no package matches $re for $arch"
        SKIPPED+=("$label ($release $arch): no package matching $re"); continue
    fi
    done_one=0 tries=0
    for c in "${cands[@]}"; do
        read -r pkg version <<<"$c"
        name=$(kernel_name "$release" "$pkg" "$method")
        log "$name: $pkg:$arch $version ($method)"
        if up_to_date "$name" "$pkg" "$version"; then
            note "up to date ($name.btf.xz), skipping"
            PRODUCED+=("$name.btf.xz"); done_one=1; break
        fi
        if deb=$(fetch_deb "$pkg" "$version" "$arch"); then
            process "$name" "$pkg" "$version" "$arch" "$method" "$deb"
            PRODUCED+=("$name.btf.xz"); done_one=1; break
        fi
        note "$pkg $version cannot be downloaded from the mirror; trying an older one"
        tries=$((tries + 1))
        ((tries < 8)) || break
    done
    if ((done_one == 0)); then
        log "$label: skipped, none of the $tries newest packages could be downloaded"
        SKIPPED+=("$label ($release $arch): the newest packages could not be downloaded"); continue
    fi
done

# ------------------------------------------------------------ old rows
# Rows written before the hdr_len and made_by columns existed (all from kernel builds) get them.
while IFS=$'\t' read -r f rest; do
    [[ -f $OUT/$f ]] || continue
    tmpb=$(mktemp "$WORK/.check.XXXXXX")
    xz -dc "$OUT/$f" >"$tmpb"
    res=$(python3 "$HELPER" info "$tmpb")
    rm -f "$tmpb"
    log "$f: PROVENANCE.tsv row gets hdr_len ${res##* } and made_by"
    prov_set "$f"$'\t'"$rest"$'\t'"${res##* }"$'\t'"$MADE_BY_KERNEL"
done < <(awk -F'\t' 'NR > 1 && NF == 9' "$PROV")

# ------------------------------------------------------------ stale files
for f in "$OUT"/*.btf.xz; do
    [[ -e $f && -z ${ONLY:-} ]] || continue
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

Real vmlinux BTF taken from Debian kernel packages, one xz-compressed raw
BTF blob (the bytes of the kernel's `.BTF` section: header, type section,
string section) per kernel:

- bookworm's 6.1 (amd64, cloud-amd64, rt-amd64, arm64) and 6.12 (amd64);
- bullseye's 5.10, whose older layouts, such as `task_struct.state` before
  its rename to `__state` in 5.14, the CO-RE flavors in the fixtures are
  written for;
- trixie's 6.12 for s390x (big-endian), ppc64el and riscv64: bookworm's
  6.1 kernels for s390x and ppc64el are built without
  `CONFIG_DEBUG_INFO_BTF`;
- sid's newest kernel (amd64);
- bookworm's 6.1 kernels that Debian builds without BTF (i386 `686`,
  armhf `armmp`, s390x), their BTF made by pahole from the DWARF of the
  `-dbg` package, as the btfhub archive makes BTF for old kernels
  (`-pahole` in the file name).

Generated by `scripts/fetch-kernel-btf.sh` (root, Debian bookworm):

1. `apt-get download` of the newest package of each flavour (highest ABI
   number or version); bookworm's amd64 and arm64 packages through the
   system's apt sources (arm64 via `dpkg --add-architecture arm64`), every
   other release and architecture through a private apt configuration in
   the work dir (own source list, architectures, package lists and cache):
   the machine's apt sources and dpkg architectures are not changed.  When
   the mirror answers 404 for the newest package, the next older one is
   taken (this is why trixie's files are 6.12.113, not the newest 6.12).
2. The kernel image is unpacked from the .deb: `boot/vmlinuz-*`,
   `boot/vmlinux-*` (ppc64el: an ELF vmlinux; riscv64: an uncompressed
   `Image` with an EFI stub) or, in sid's packaging, where the image is in
   `linux-binary-VERSION-amd64`, `usr/lib/modules/VERSION/vmlinuz`.
   `scripts/extract-btf.py` decompresses it: the x86 bzImage payload (found
   via the setup header's payload_offset or by scanning for a compression
   magic, like the kernel's `scripts/extract-vmlinux`) decompresses to an
   ELF vmlinux (Debian uses xz, lz4 for cloud, zstd for 6.12 and later).
   The arm64 vmlinuz is a raw `Image`, not ELF, stored uncompressed
   (`vmlinuz_compression` = none); a gzip-compressed one is handled too.
   The s390x vmlinuz is a boot decompressor followed by the compressed
   kernel (zstd in trixie, xz in bookworm), which decompresses to a flat
   binary (`objcopy -O binary` of vmlinux) with no header: it is accepted
   when it holds a valid BTF header.
3. The BTF is the `.BTF` section of the ELF, or, for a raw image, the blob
   found by scanning for the BTF header (magic 0xEB9F in either byte
   order, i.e. bytes `9f eb 01 00` little-endian or `eb 9f 01 00`
   big-endian; version 1, flags 0; hdr_len 24, or 32 for the newer header
   that adds layout_off/layout_len) and cut to hdr_len + the end of its
   last section.
4. For the `-pahole` files: `usr/lib/debug/boot/vmlinux-*` from the
   `linux-image-*-dbg` package (400-800 MB; kept in the work dir as a
   cache), encoded with `pahole --btf_gen_floats
   --btf_encode_detached=OUT VMLINUX` (the pahole version and command are
   in `made_by`; `--btf_gen_floats` is what the 6.1 kernel build passes to
   pahole >= 1.21).  `pahole -J` followed by `llvm-objcopy
   --dump-section .BTF=OUT` gives the same bytes; pahole 1.24 writes the
   target's byte order (big-endian for s390x) and is deterministic without
   `-j`.
5. Checked with `bpftool btf dump file X format raw`; the type count from
   bpftool must match the one from `extract-btf.py info`.  (bpftool 7.1,
   libbpf 1.1, reads a 32-byte header only in the host's byte order; such a
   file is kept with the count from `extract-btf.py` alone.)
6. Stored with `xz -9e -T1` (deterministic).

The 6.12 amd64 kernel is Debian's `linux-6.12` for bookworm (`6.12.x+deb12`,
from bookworm-security); the script tries `bookworm-backports` only when no
6.12 package is visible in the configured apt sources.

`PROVENANCE.tsv` records, per file: package, version, architecture, sha256
of the .deb, compression of the kernel image (`-` for the pahole files),
size and sha256 of the raw (uncompressed) BTF, the number of types (not
counting type id 0), the BTF header length, and what made the BTF
(`made_by`: the kernel build, or the pahole version and command).

Regenerate / update: `sudo scripts/fetch-kernel-btf.sh` (idempotent; files
that match their PROVENANCE.tsv row are kept; `FORCE=1` rebuilds,
`PRUNE=1` drops files for kernels no longer picked; `ONLY=REGEX` limits the
run to some kernels, `NO_DBG=1` skips the large -dbg downloads; downloads
are cached in `.build/kernels-work/`, `WORK_DIR=` names another place).
Exact package versions may disappear from the mirror once superseded; the
sha256 columns identify what was used.

Use in tests/benchmarks: `scripts/testdata-kernels.sh DEST_DIR [LARGE_DIR]`
decompresses every `*.btf.xz` here to `DEST_DIR/*.btf` (the tests loop over
all of them), and the large kernels of the shared kernel directory
(`../shared/kernels/*.btf.xz` beside the repository, when it exists: CentOS
8's `centos-8-4.18.0-147.5.1.el8_1.aarch64.btf`, 27 MB, 561,977 types, not
deduplicated) to `LARGE_DIR`, by default `DEST_DIR/../kernels-large/`
(`make testdata`: `.build/testdata/kernels-large/`).  That one is kept out
of `DEST_DIR` because every test that loops over the test kernels would run
on it, and libbpf alone takes about 10 s per large program on it.

## Files

| file | package | version | arch | raw BTF bytes | types | header | made by |
| --- | --- | --- | --- | ---: | ---: | ---: | --- |
EOF
    awk -F'\t' 'NR > 1 {printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $7, $9, $10, $11}' "$PROV"
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
