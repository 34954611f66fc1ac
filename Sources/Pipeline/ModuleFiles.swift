import BTF
import KernelInput

/// The module files for a kernel: each `--module` file as given, and each module file below each
/// `--modules` directory (`*.ko*`, `*.btf*`, or, in a directory shaped like `/sys/kernel/btf`,
/// every file but `vmlinux`), sorted by path within a directory; then `filter` applied. Two
/// files of one module name are an error: the kernel loads a module once.
public func moduleFiles(files: [String], directories: [String], filter: ModuleFilter) throws(FormatError) -> [String] {
    var out = files
    for dir in directories {
        guard isDirectory(dir) else { throw FormatError(file: dir, "", "--modules needs a directory (use --module for a file)") }
        let sysfsShaped = pathExists(joinPath(trimSlashes(dir), "vmlinux"))
        for rel in try walkFiles(dir) {
            let base = String(rel.split(separator: "/").last ?? Substring(rel))
            if base == "vmlinux" { continue }
            guard sysfsShaped || moduleSuffixes.contains(where: { base.hasSuffix($0) }) else { continue }
            out.append(joinPath(trimSlashes(dir), rel))
        }
    }
    out = out.filter(filter.admits)
    var seen: [String: String] = [:]
    for path in out {
        let name = moduleName(path)
        if let other = seen[name] { throw FormatError(file: path, "", "module \(name) is also \(other)") }
        seen[name] = path
    }
    return out
}
