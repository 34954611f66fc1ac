#!/usr/bin/env bash
# Build a second libbpf-judge against sid's libbpf (1.5 or later), for the tests of modules built
# with a distilled base (.BTF.base): libbpf 1.1, bookworm's and the first judge's, has neither
# btf__relocate (which btf__parse_split applies to such a module) nor btf__distill_base (what
# pahole --btf_features=distilled_base calls, used here to make the test modules).
#
#   scripts/build-judge-sid.sh
#
# Writes, under the repository's .build/judge-sid/ (nothing is committed):
#   libbpf-judge      Sources/libbpf-judge/judge.c linked with sid's libbpf.a
#   PROVENANCE.tsv    the package, its version and the .deb's sha256
#   debs/             the downloaded .deb (a cache), usr/ what was extracted from it
#
# sid's libbpf-dev is downloaded (never installed) through the private apt configuration that
# scripts/fetch-bpf-objects.sh keeps under .build/real/apt-sid. Its libbpf.a was compiled against
# a newer glibc whose headers, with _GNU_SOURCE, call sscanf, fscanf and strtoull by their C23
# names (__isoc23_*); the glibc here has the same functions under their old names, and a
# small shim maps one onto the other (they differ only in reading 0b binary literals,
# which nothing libbpf parses carries).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REAL=$REPO/.build/real
APT_SID=$REAL/apt-sid
OUT=$REPO/.build/judge-sid
DEBS=$OUT/debs
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ARCH=amd64
PKG=libbpf-dev
SRC=$REPO/Sources/libbpf-judge/judge.c

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'build-judge-sid: error: %s\n' "$*" >&2; exit 1; }

[[ $(dpkg --print-architecture 2>/dev/null) == "$ARCH" ]] || die "builds for $ARCH hosts only"
for tool in apt-get apt-cache dpkg-deb gcc sha256sum; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get and dpkg-deb need a Debian system)"
done
mkdir -p "$REAL" "$OUT"
exec 9>"$REAL/.lock"
flock 9

# shellcheck source=scripts/apt-lib.sh
source "$REPO/scripts/apt-lib.sh"

# Cached: the judge is newer than its source and this script, and the .deb it names is intact.
if [[ -x $OUT/libbpf-judge && $OUT/libbpf-judge -nt $SRC && $OUT/libbpf-judge -nt ${BASH_SOURCE[0]} && -f $OUT/PROVENANCE.tsv ]]; then
    IFS=$'\t' read -r _ version sha < <(sed -n 2p "$OUT/PROVENANCE.tsv")
    deb=$DEBS/${PKG}_${version//:/%3a}_$ARCH.deb
    if [[ -f $deb && $(sha256sum "$deb" | cut -d' ' -f1) == "$sha" ]]; then
        echo "build-judge-sid: cached (${OUT#"$REPO/"}/libbpf-judge, $PKG $version)"
        exit 0
    fi
fi

sid_lists_fresh || sid_update
version=$(candidate sid "$PKG")
[[ -n $version ]] || { sid_update; version=$(candidate sid "$PKG"); }
[[ -n $version ]] || die "apt offers no $PKG:$ARCH in sid"
log "$PKG $version (sid)"
if ! deb=$(fetch_deb sid "$PKG" "$version"); then
    sid_update
    version=$(candidate sid "$PKG")
    deb=$(fetch_deb sid "$PKG" "$version") || die "cannot download $PKG $version from Debian's package registry$(apt_failure)"
fi
rm -rf "$OUT/usr" "$OUT/x"
dpkg-deb -x "$deb" "$OUT/x"
mv "$OUT/x/usr" "$OUT/usr" && rm -rf "$OUT/x"
lib=$(find "$OUT/usr/lib" -name libbpf.a | head -n1)
[[ -n $lib ]] || die "$PKG $version has no libbpf.a"
grep -Eq '#define LIBBPF_MINOR_VERSION ([5-9]|[1-9][0-9])' "$OUT/usr/include/bpf/libbpf_version.h" \
    || grep -Eq '#define LIBBPF_MAJOR_VERSION ([2-9])' "$OUT/usr/include/bpf/libbpf_version.h" \
    || die "$PKG $version is older than libbpf 1.5 (no btf__relocate)"

cat >"$OUT/isoc23.c" <<'C'
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
int __isoc23_sscanf(const char *s, const char *f, ...) { va_list a; va_start(a, f); int r = vsscanf(s, f, a); va_end(a); return r; }
int __isoc23_fscanf(FILE *s, const char *f, ...) { va_list a; va_start(a, f); int r = vfscanf(s, f, a); va_end(a); return r; }
unsigned long long __isoc23_strtoull(const char *s, char **e, int b) { return strtoull(s, e, b); }
long __isoc23_strtol(const char *s, char **e, int b) { return strtol(s, e, b); }
unsigned long __isoc23_strtoul(const char *s, char **e, int b) { return strtoul(s, e, b); }
C
gcc -O2 -Wall -I "$OUT/usr/include" -o "$OUT/libbpf-judge.new" "$SRC" "$OUT/isoc23.c" "$lib" -lelf -lz
mv "$OUT/libbpf-judge.new" "$OUT/libbpf-judge"
printf 'package\tversion\tdeb_sha256\n%s\t%s\t%s\n' "$PKG" "$version" "$(sha256sum "$deb" | cut -d' ' -f1)" >"$OUT/PROVENANCE.tsv"
{ "$OUT/libbpf-judge" 2>&1 || true; } | grep -q distill || die "the judge built without distill: its libbpf is older than 1.5"
echo "build-judge-sid: ${OUT#"$REPO/"}/libbpf-judge with $PKG $version"
