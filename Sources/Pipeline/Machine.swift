#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BPFObject
import BTF

/// The machine a BTF is picked for: os-release's `ID` and `VERSION_ID`, `uname -m` (as
/// `unameMachine` spells it) and `uname -r`.
public struct Machine: Sendable, Equatable {
    public var id: String?
    public var versionID: String?
    public var arch: String
    public var release: String

    public init(id: String?, versionID: String?, arch: String, release: String) {
        self.id = id
        self.versionID = versionID
        self.arch = unameMachine(arch) ?? arch
        self.release = release
    }

    /// The environment variables that override what is detected, in `btfgen select` and in the
    /// code `btfgen embed` writes: for containers whose host's files are mounted elsewhere.
    public static let osReleaseVariable = "BTFGEN_OS_RELEASE"
    public static let releaseVariable = "BTFGEN_KERNEL_RELEASE"
    public static let machineVariable = "BTFGEN_MACHINE"
    public static let ignoreKernelBTFVariable = "BTFGEN_IGNORE_KERNEL_BTF"
    /// Where the running kernel publishes its own BTF.
    public static let kernelBTF = "/sys/kernel/btf/vmlinux"
    /// Where os-release is looked for, in order, when no path is given.
    public static let osReleasePaths = ["/etc/os-release", "/usr/lib/os-release"]

    /// What is detected: each value from its argument, else its environment variable, else this
    /// machine (os-release, `uname`). `ownBTF`: the running kernel has its own BTF and neither a
    /// release was given nor `BTFGEN_IGNORE_KERNEL_BTF` is set, so there is nothing to pick.
    /// `notes` say what could not be read.
    public static func detect(osRelease: String?, release: String?, arch: String?,
                              environment: (String) -> String? = environmentValue) throws(FormatError)
        -> (machine: Machine, ownBTF: Bool, notes: [String]) {
        func given(_ value: String?, _ variable: String) -> String? {
            if let value, !value.isEmpty { return value }
            if let v = environment(variable), !v.isEmpty { return v }
            return nil
        }
        var notes: [String] = []
        var u = utsname()
        _ = uname(&u)
        let releaseGiven = given(release, releaseVariable)
        let theRelease = releaseGiven ?? field(&u.release)
        let theArch = given(arch, machineVariable) ?? field(&u.machine)
        var fields: (id: String?, versionID: String?) = (nil, nil)
        if let path = given(osRelease, osReleaseVariable) {
            // A path given must be readable: a typo would silently match on the release alone.
            fields = osReleaseFields(String(decoding: try readFile(path), as: UTF8.self))
        } else if let path = osReleasePaths.first(where: { access($0, R_OK) == 0 }), let bytes = try? readFile(path) {
            fields = osReleaseFields(String(decoding: bytes, as: UTF8.self))
        } else {
            notes.append("no os-release (\(osReleasePaths.joined(separator: ", "))): matching on the release and machine only")
        }
        let ignore = given(nil, ignoreKernelBTFVariable) != nil
        let own = releaseGiven == nil && !ignore && access(kernelBTF, R_OK) == 0
        return (Machine(id: fields.id, versionID: fields.versionID, arch: theArch, release: theRelease), own, notes)
    }
}

public func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// A `uname` field as a string.
private func field<T>(_ value: inout T) -> String {
    withUnsafeBytes(of: &value) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// `ID` and `VERSION_ID` of an os-release file (quotes removed; os-release(5)).
public func osReleaseFields(_ text: String) -> (id: String?, versionID: String?) {
    var id: String?, version: String?
    for line in text.split(whereSeparator: { $0 == "\n" }) {
        let parts = line.split(separator: "=", maxSplits: 1)
        guard parts.count == 2 else { continue }
        var value = parts[1].trimmingCharacters(in: " \t\r")
        if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
            value = String(value.dropFirst().dropLast())
        }
        switch parts[0].trimmingCharacters(in: " \t") {
        case "ID": id = value
        case "VERSION_ID": version = value
        default: break
        }
    }
    return (id, version)
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let drop = Set(set)
        var s = Substring(self)
        while let c = s.first, drop.contains(c) { s.removeFirst() }
        while let c = s.last, drop.contains(c) { s.removeLast() }
        return String(s)
    }
}

/// How `choose` matched an entry to a machine, most exact first.
public enum MatchRule: String, Sendable {
    /// The same `ID`, `VERSION_ID`, machine and release.
    case exact
    /// The same `ID`, machine and release under another `VERSION_ID` (a container's os-release
    /// that is not the host's, a point release): the nearest version at or below the machine's,
    /// else the nearest above.
    case otherVersion = "other_version_id"
    /// The same machine and release under another distribution, or an entry whose path names no
    /// distribution: the first in path order.
    case releaseOnly = "release_only"
}

/// The entry `index` has for `machine`: by `MatchRule`, in its order; a release is never
/// matched to another release (a kernel's types change between builds). Entries whose path
/// names no machine match any machine only under `.releaseOnly`.
public func choose(_ index: PackIndex, for machine: Machine) -> (entry: PackEntry, rule: MatchRule)? {
    let sameRelease = index.entries.filter { $0.release == machine.release }
    if let id = machine.id, let version = machine.versionID,
       let e = sameRelease.first(where: { $0.id == id && $0.versionID == version && $0.arch == machine.arch }) {
        return (e, .exact)
    }
    if let id = machine.id {
        // In path order, as the embedded code does: the lowest version (the first of equals),
        // and the highest at or below the machine's (the last of equals).
        let mine = machine.versionID ?? ""
        var lowest: PackEntry?, below: PackEntry?
        for e in sameRelease where e.id == id && e.arch == machine.arch {
            guard let v = e.versionID else { continue }
            if lowest == nil || compareVersions(v, lowest!.versionID!) < 0 { lowest = e }
            if compareVersions(v, mine) <= 0 && (below == nil || compareVersions(v, below!.versionID!) >= 0) { below = e }
        }
        if let e = below ?? lowest { return (e, .otherVersion) }
    }
    if let e = sameRelease.first(where: { $0.arch == machine.arch || $0.arch == nil }) { return (e, .releaseOnly) }
    return nil
}

/// The entries nearest to `machine` when none matches: the same machine (or none named), the
/// longest common prefix with its release first; `limit` at most.
public func nearestEntries(_ index: PackIndex, for machine: Machine, limit: Int = 5) -> [PackEntry] {
    func common(_ a: String, _ b: String) -> Int { zip(a.utf8, b.utf8).prefix { $0 == $1 }.count }
    let pool = index.entries.filter { $0.arch == machine.arch || $0.arch == nil }
    return Array(pool.enumerated().sorted { a, b in
        let ca = common(a.element.release ?? "", machine.release), cb = common(b.element.release ?? "", machine.release)
        return ca != cb ? ca > cb : a.offset < b.offset
    }.prefix(limit).map(\.element))
}

/// Compares version strings by their numeric components (`20.04` < `22.04`, `8` < `8.10`);
/// other text compares as text.
public func compareVersions(_ a: String, _ b: String) -> Int {
    func parts(_ s: String) -> [Substring] { s.split(whereSeparator: { !$0.isNumber && !$0.isLetter }) }
    let pa = parts(a), pb = parts(b)
    for (x, y) in zip(pa, pb) {
        if let i = Int(x), let j = Int(y) {
            if i != j { return i < j ? -1 : 1 }
        } else if x != y {
            return x < y ? -1 : 1
        }
    }
    return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
}
