# Helpers shared by the benchmark scripts (sourced from the repository root).

# The peak memory charged to a fresh memory cgroup while a command runs: what a container's
# memory limit counts (anonymous and kernel memory, and page cache the run brings in), but not
# the pages of files already cached, such as those of the 28 MB static executable that max RSS
# includes. Empty when cgroups cannot be made here (not root, or no memory controller).
cgroup_parent=
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null && cgroup_parent=/sys/fs/cgroup
elif [[ -d /sys/fs/cgroup/memory ]]; then
    cgroup_parent=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
fi
charged_kb() {
    [[ -n $cgroup_parent ]] || return 0
    local cg="$cgroup_parent/btfgen-bench-$$-$RANDOM" peak
    mkdir "$cg" 2>/dev/null || return 0
    if sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$@" >/dev/null 2>&1; then
        if [[ -f $cg/memory.peak ]]; then peak=$(cat "$cg/memory.peak"); else peak=$(cat "$cg/memory.max_usage_in_bytes"); fi
    fi
    rmdir "$cg" 2>/dev/null || true
    [[ -n ${peak:-} ]] && echo $((peak / 1024))
    return 0
}
mb() { [[ -n $1 ]] && awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }' || echo "n/a"; }

# Wall clocks read from bash's EPOCHREALTIME, which forks nothing: `t0=$(date +%s%N)` costs a
# subshell and an exec of date, about a millisecond after the command ends, added to every
# measurement of both tools. ns_now sets NOW (ns) without a subshell.
ns_now() { local t=${EPOCHREALTIME/[.,]/}; NOW=$((10#$t * 1000)); }
