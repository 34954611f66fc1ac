import BTF
import BPFObject

/// The suffixes of module files btfgen reads: an ELF `.ko`, compressed as Debian, Fedora and
/// Ubuntu ship them, or a raw split BTF (`/sys/kernel/btf/MODULE` copied as `MODULE.btf`).
public let moduleSuffixes = kernelObjectSuffixes + [".btf", ".btf.xz", ".btf.zst", ".btf.gz"]

/// The suffixes of a kernel module's ELF file as packages ship it.
public let kernelObjectSuffixes = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]

/// A module's name from its file: `nf_conntrack` for `.../nf_conntrack.ko.xz`,
/// `nf_conntrack.btf` or `/sys/kernel/btf/nf_conntrack`. Dashes become underscores, as the
/// kernel names modules (`nf-conntrack.ko` loads as `nf_conntrack`).
public func moduleName(_ path: String) -> String {
    var name = String(path.split(separator: "/").last ?? Substring(path))
    for suffix in moduleSuffixes.sorted(by: { $0.count > $1.count }) where name.hasSuffix(suffix) {
        name.removeLast(suffix.count)
        break
    }
    return name.replacingDashes()
}

extension String {
    fileprivate func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}

/// Which modules a run reads: `--module-filter`'s names (dashes and underscores alike), or all.
public struct ModuleFilter: Sendable {
    public var names: Set<String>?

    public init(_ list: [String]) {
        let names = list.flatMap { $0.split(separator: ",") }.map { String($0).replacingDashes() }.filter { !$0.isEmpty }
        self.names = names.isEmpty ? nil : Set(names)
    }

    public func admits(_ path: String) -> Bool { names?.contains(moduleName(path)) ?? true }
}

/// Reads a module's split BTF from `path` and appends it to `kernel` (see `BTF.appendSplit`):
/// a `.ko` ELF file's `.BTF` section (compressed `.ko.xz`, `.ko.zst`, `.ko.gz` read in process),
/// or raw split BTF.
///
/// A module built with a distilled base (`.BTF.base`, pahole `--btf_features=distilled_base`,
/// for out-of-tree modules) is relocated onto the kernel's BTF as libbpf's `btf__relocate` and
/// the kernel's module loader relocate it (`BTF.appendSplit(parsing:name:section:distilledBase:)`).
public func appendModule(_ path: String, to kernel: inout BTF) throws(FormatError) {
    let stored = try readFile(path)
    switch try openKernelInput(stored, path: path) {
    case .skipped(let why): throw FormatError(file: path, "", "no module BTF: \(why)")
    case .withModules: throw FormatError(file: path, "", "a kernel with modules (vmlinux and modules), not a module")
    case .data(let data, let member): try appendModule(data, name: moduleName(path), path: path, member: member, to: &kernel)
    }
}

/// `appendModule(_:to:)` for a module's bytes (ELF or raw split BTF) already read: from `path`,
/// or its archive `member`.
public func appendModule(_ bytes: [UInt8], name: String, path: String, member: String?, to kernel: inout BTF) throws(FormatError) {
    do throws(FormatError) {
        if ELFFile.isELF(bytes) {
            let elf = try ELFFile(path: path, bytes: bytes)
            guard let sec = elf.section(named: ".BTF") else { throw FormatError(file: path, "", "ELF file has no .BTF section") }
            let base = try elf.section(named: ".BTF.base").map { b throws(FormatError) in Array(try elf.contents(of: b)) }
            try kernel.appendSplit(parsing: Array(try elf.contents(of: sec)), name: name, section: ".BTF", distilledBase: base)
        } else {
            try kernel.appendSplit(parsing: bytes, name: name, section: "")
        }
    } catch {
        let e = error.in(file: path)
        throw member.map { e.prefixed("member \($0)") } ?? e
    }
}

/// The kernel of a tarball holding `vmlinux` and its modules (`KernelBytes.withModules`), with the
/// modules `filter` admits appended in member order.
package func kernelWithModules(_ vmlinux: [UInt8], member: String, modules: [(name: String, data: [UInt8])], path: String,
                       strict: Bool, filter: ModuleFilter) throws(FormatError) -> BTF {
    var kernel: BTF
    do throws(FormatError) { kernel = try parseBTFFile(vmlinux, path: path, strict: strict).0 } catch { throw error.prefixed("member \(member)") }
    for m in modules where filter.admits(m.name) {
        try appendModule(m.data, name: moduleName(m.name), path: path, member: m.name, to: &kernel)
    }
    return kernel
}
