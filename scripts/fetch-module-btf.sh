#!/usr/bin/env bash
# Extract the split BTF of a few kernel modules (nf_conntrack, xfs, btrfs, kvm,
# bridge) from the Debian kernel packages whose vmlinux BTF is in
# testdata/kernels/, and store it, xz-compressed, under
# testdata/kernels/modules/KERNEL/MODULE.btf.xz with modules/PROVENANCE.tsv.
#
#   scripts/fetch-module-btf.sh
#
# Each kernel's package and version are read from testdata/kernels/PROVENANCE.tsv
# (the row of KERNEL.btf.xz), so a module's BTF is always split on the very
# vmlinux BTF committed beside it.  bookworm's linux-image-*-unsigned packages
# carry lib/modules/VERSION/kernel/**.ko with a .BTF section each (pahole
# --btf_base vmlinux at build time); the .BTF section is cut out with
# scripts/extract-btf.py and checked with bpftool against its base.  A module
# a kernel builds in (kvm on arm64) is noted and skipped.
#
# Environment:
#   WORK_DIR=DIR  downloads (default: .build/kernels-work, git-ignored)
#   MODULES="..." module names (default: nf_conntrack xfs btrfs kvm bridge)
#   KERNELS="..." labels (default: debian-bookworm-6.1.0-56-amd64 debian-bookworm-6.1.0-56-arm64
#                 debian-sid-7.2.13-amd64)
# The arm64 package needs `dpkg --add-architecture arm64` (done when root). sid splits a kernel
# into linux-binary-VERSION (whose vmlinux BTF is committed) and linux-modules-VERSION: for a
# kernel whose package is linux-binary-*, the modules come from the linux-modules-* package of
# the same version, downloaded through the private sid apt configuration of
# scripts/apt-lib.sh (sid keeps one version: a newer sid kernel needs its vmlinux fetched again
# with scripts/fetch-kernel-btf.sh first).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KDIR="$REPO/testdata/kernels"
OUT="$KDIR/modules"
PROV="$OUT/PROVENANCE.tsv"
HELPER="$REPO/scripts/extract-btf.py"
WORK=${WORK_DIR:-$REPO/.build/kernels-work}
MODULES=${MODULES:-"nf_conntrack xfs btrfs kvm bridge"}
KERNELS=${KERNELS:-"debian-bookworm-6.1.0-56-amd64 debian-bookworm-6.1.0-56-arm64 debian-sid-7.2.13-amd64"}
REAL=$REPO/.build/real
APT_SID=$REAL/apt-sid
DEBS=$WORK
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'fetch-module-btf: error: %s\n' "$*" >&2; exit 1; }
mkdir -p "$REAL"
# shellcheck source=scripts/apt-lib.sh
source "$REPO/scripts/apt-lib.sh"

command -v apt-get >/dev/null || die "needs a Debian system (apt-get)"
command -v bpftool >/dev/null || die "needs bpftool (to check each module against its base)"
mkdir -p "$WORK" "$OUT"
WORK=$(cd "$WORK" && pwd)

rows=()
for label in $KERNELS; do
    row=$(awk -F'\t' -v f="$label.btf.xz" '$1 == f' "$KDIR/PROVENANCE.tsv")
    [[ -n $row ]] || die "$label.btf.xz is not in $KDIR/PROVENANCE.tsv"
    IFS=$'\t' read -r _ pkg version arch _ <<<"$row"
    if [[ $arch != "$(dpkg --print-architecture)" ]] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        [[ $(id -u) -eq 0 ]] || die "$arch packages need dpkg --add-architecture $arch (run as root)"
        dpkg --add-architecture "$arch"
        apt-get update -qq
    fi
    if [[ $pkg == linux-binary-* ]]; then
        # sid: the modules are a package of their own
        pkg=linux-modules-${pkg#linux-binary-}
        ARCH=$arch
        sid_lists_fresh || sid_update
        deb=$(fetch_deb sid "$pkg" "$version") || die "cannot download $pkg $version from sid$(apt_failure)"
    else
        deb=$(find "$WORK" -maxdepth 1 -name "${pkg}_${version//:/%3a}_${arch}.deb" | head -n1)
    fi
    if [[ -z $deb ]]; then
        log "apt-get download $pkg:$arch=$version"
        (cd "$WORK" && apt-get download -q "$pkg:$arch=$version") || die "cannot download $pkg:$arch=$version"
        deb=$(find "$WORK" -maxdepth 1 -name "${pkg}_*_${arch}.deb" | head -n1)
    fi
    deb_sha=$(sha256sum "$deb" | cut -d' ' -f1)
    tree="$WORK/$label-modules"
    rm -rf "$tree" && mkdir -p "$tree"
    dpkg-deb -x "$deb" "$tree"
    base="$WORK/$label.vmlinux.btf"
    xz -dc "$KDIR/$label.btf.xz" >"$base"
    mkdir -p "$OUT/$label"
    for m in $MODULES; do
        ko=$(find "$tree" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | sort | head -n1)
        if [[ -z $ko ]]; then
            log "$label: no $m module (built in or not built); skipped"
            continue
        fi
        plain="$WORK/$label-$m.ko"
        case $ko in
            *.xz) xz -dc "$ko" >"$plain" ;;
            *.zst) zstd -qdc "$ko" >"$plain" ;;
            *) cp "$ko" "$plain" ;;
        esac
        raw="$WORK/$label-$m.btf"
        python3 "$HELPER" btf "$plain" "$raw" >/dev/null
        types=$(bpftool btf dump file "$raw" --base "$base" | grep -c '^\[') || die "$label $m: bpftool cannot read it on its base"
        xz -9e -c "$raw" >"$OUT/$label/$m.btf.xz"
        rows+=("$label/$m.btf.xz	$pkg	$version	$arch	$deb_sha	${ko#"$tree"/}	$(stat -c %s "$raw")	$(sha256sum "$raw" | cut -d' ' -f1)	$types")
        log "$label: $m: $types types, $(stat -c %s "$raw") bytes"
    done
done
{
    printf 'file\tpackage\tversion\tarchitecture\tdeb_sha256\tmodule_in_package\traw_btf_bytes\traw_btf_sha256\ttype_count\n'
    printf '%s\n' "${rows[@]}"
} >"$PROV"
log "wrote $PROV (${#rows[@]} modules)"
