#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Matches a relative path against a glob where `**` spans any number of directories and
/// `*`, `?`, `[...]` match within one path component (`'ubuntu/20.04/**'`, `'**/arm64/**'`).
public func globMatches(_ pattern: String, _ path: String) -> Bool {
    let p = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    let s = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    // memo[i][j]: pattern from i matches path from j.
    var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: s.count + 1), count: p.count + 1)
    func match(_ i: Int, _ j: Int) -> Bool {
        if let m = memo[i][j] { return m }
        let result: Bool
        if i == p.count {
            result = j == s.count
        } else if p[i] == "**" {
            result = match(i + 1, j) || (j < s.count && match(i, j + 1))
        } else {
            result = j < s.count && fnmatch(p[i], s[j], 0) == 0 && match(i + 1, j + 1)
        }
        memo[i][j] = result
        return result
    }
    return match(0, 0)
}

/// The `--arch` values btfgen accepts, each with the directory names that mean it in archive
/// layouts (btfhub uses `x86_64` and `arm64`; Debian-style trees `amd64`, `arm64`, `ppc64el` …)
/// and the machine's name as `uname -m` prints it on such a kernel.
public let knownArchitectures: [(names: [String], directories: Set<String>, machine: String)] = [
    (["x86_64", "amd64"], ["x86_64", "amd64"], "x86_64"),
    (["arm64", "aarch64"], ["arm64", "aarch64"], "aarch64"),
    (["s390x"], ["s390x"], "s390x"),
    (["ppc64le", "ppc64el"], ["ppc64le", "ppc64el", "powerpc64le"], "ppc64le"),
    (["riscv64"], ["riscv64"], "riscv64"),
    (["i386", "x86", "i686"], ["i386", "x86", "i586", "i686"], "i686"),
    (["arm", "armhf"], ["arm", "armhf", "armv7l", "armv7"], "armv7l"),
]

/// An architecture's name as `uname -m` spells it (`amd64` -> `x86_64`, `arm64` -> `aarch64`,
/// `ppc64el` -> `ppc64le`, `i386` -> `i686`, `armhf` -> `armv7l`); nil for an unknown name.
public func unameMachine(_ name: String) -> String? {
    let n = name.lowercased()
    return knownArchitectures.first { $0.names.contains(n) || $0.directories.contains(n) }?.machine
}

/// Every `--arch` value accepted, for usage messages.
public var acceptedArchitectureNames: [String] { knownArchitectures.flatMap(\.names) }

/// The directory names that mean `arch` in archive layouts; nil for an unknown architecture.
public func archAliases(_ arch: String) -> Set<String>? {
    let wanted = arch.lowercased()
    return knownArchitectures.first { $0.names.contains(wanted) }?.directories
}

/// Whether one of the path's directory components names the architecture.
public func pathHasArch(_ path: String, _ aliases: Set<String>) -> Bool {
    path.split(separator: "/").dropLast().contains { aliases.contains(String($0)) }
}

/// A deterministic 1/N slice of the jobs, balanced by input size: jobs are taken largest first
/// (ties by path) and each goes to the least-loaded shard (ties to the lowest). The same files
/// give the same slices on every machine, and the N slices together are the whole set.
/// `index` is 1-based.
public func shard(_ jobs: [KernelJob], sizes: [Int], index: Int, count: Int) -> [KernelJob] {
    precondition(jobs.count == sizes.count)
    guard count > 1 else { return jobs }
    let order = jobs.indices.sorted { a, b in
        sizes[a] != sizes[b] ? sizes[a] > sizes[b] : jobs[a].relativePath < jobs[b].relativePath
    }
    var load = [Int](repeating: 0, count: count)
    var assigned = [Int](repeating: 0, count: jobs.count)
    for i in order {
        var best = 0
        for s in 1..<count where load[s] < load[best] { best = s }
        load[best] += sizes[i]
        assigned[i] = best
    }
    return jobs.indices.filter { assigned[$0] == index - 1 }.map { jobs[$0] }
}

/// The size of a file in bytes, 0 if it cannot be read.
public func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}
