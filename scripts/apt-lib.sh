# Shared by scripts/fetch-bpf-objects.sh and scripts/build-judge-sid.sh (sourced, not run):
# apt-get for bookworm (the machine's own sources) and for sid (a private configuration under
# $APT_SID: its own source list, package lists and cache, no dpkg status), downloads only.
#
# The sourcing script sets REPO, REAL (where apt.log goes), APT_SID, DEBS (the .deb cache),
# MIRROR and ARCH, and defines log, note and die.

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

sid_lists_fresh() { # sid moves daily: lists older than a day are fetched again before they are asked
    [[ -n $(find "$APT_SID/lists" -maxdepth 1 -name '*_InRelease' -mmin -1440 2>/dev/null) ]]
}
