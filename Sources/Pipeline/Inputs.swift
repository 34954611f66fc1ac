#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BTF
import BPFObject
import CORE
import Minimize

/// Whether `path` names a directory.
public func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// Whether `path` exists.
public func pathExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// Whether `a` and `b` name the same file (device and inode), following symlinks.
public func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat(), sb = stat()
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && DirectoryID(sa) == DirectoryID(sb)
}

/// Every regular file below `root`, as paths relative to it, sorted so runs are reproducible.
/// Hidden files (a name starting with `.`) are skipped, and so are the directories in
/// `excluding` (compared by device and inode, so any spelling of the path, or a symlink to it,
/// is recognized; paths that do not exist are ignored).
public func walkFiles(_ root: String, excluding: [String] = []) throws(FormatError) -> [String] {
    let root = trimSlashes(root)
    var out: [String] = []
    var pending = [""]
    // Directory symlinks are followed, but each directory (device, inode) is walked once, so a
    // link back up the tree (`a -> .`) neither loops nor lists a file twice. Excluded
    // directories count as already visited.
    var visited = Set<DirectoryID>()
    for path in excluding {
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { visited.insert(DirectoryID(st)) }
    }
    var rootStat = stat()
    if stat(root, &rootStat) == 0 { visited.insert(DirectoryID(rootStat)) }
    while let rel = pending.popLast() {
        let dirPath = rel.isEmpty ? root : joinPath(root, rel)
        guard let dir = opendir(dirPath) else { throw FormatError(file: dirPath, "", "cannot open directory: \(String(cString: strerror(errno)))") }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name.hasPrefix(".") { continue }
            let childRel = rel.isEmpty ? name : "\(rel)/\(name)"
            let childPath = joinPath(root, childRel)
            var st = stat()
            guard stat(childPath, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: if visited.insert(DirectoryID(st)).inserted { pending.append(childRel) }
            case S_IFREG: out.append(childRel)
            default: break
            }
        }
    }
    return out.sorted()
}

private struct DirectoryID: Hashable {
    let device: UInt64, inode: UInt64
    init(_ st: stat) { device = UInt64(st.st_dev); inode = UInt64(st.st_ino) }
}

/// The BPF objects of a run, and the files found in object directories that are not BPF objects.
public struct LoadedObjects: Sendable {
    public var objects: [BPFObject] = []
    /// One line per `*.o` found by walking a directory and left out because it is not a BPF
    /// object: not ELF, or no `.BTF` section (a gcc-built object, say).
    public var skipped: [String] = []
}

/// Loads the BPF objects named on the command line: files, or directories whose `*.o` files are
/// taken (those without `.BTF.ext` or CO-RE relocations are skipped with a warning by the caller).
///
/// A file named explicitly must be a BPF object: any error is thrown. A `*.o` found in a
/// directory that is not ELF or has no `.BTF` is listed in `skipped` instead; one that has
/// `.BTF` but cannot be read is still an error.
public func loadObjects(_ paths: [String]) throws(FormatError) -> LoadedObjects {
    var loaded = LoadedObjects()
    for p in paths {
        guard isDirectory(p) else {
            loaded.objects.append(try BPFObject(path: p))
            continue
        }
        for rel in try walkFiles(p) where rel.hasSuffix(".o") {
            let path = joinPath(trimSlashes(p), rel)
            guard try startsWithELFMagic(path) else {
                loaded.skipped.append("\(path): not an ELF file, skipped")
                continue
            }
            let elf = try ELFFile(path: path)
            guard elf.section(named: ".BTF") != nil else {
                loaded.skipped.append("\(path): no .BTF section (not a BPF object), skipped")
                continue
            }
            loaded.objects.append(try BPFObject(path: path, elf: elf))
        }
    }
    return loaded
}

extension TrimObjects {
    /// The objects as read from their files, named by path.
    public init(_ objects: [BPFObject]) {
        self.init(objects.map { (name: $0.path, relocations: PreparedRelocations(local: $0.btf, records: $0.relocations)) })
    }
}

/// `trim(kernel:objects:)` for objects as read from their files.
public func trim(kernel: BTF, objects: [BPFObject]) -> TrimResult {
    trim(kernel: kernel, objects: TrimObjects(objects))
}

/// Writes a file the user named (a report, a merged BTF) atomically, creating its missing
/// parent directories first, as trimming does for its outputs. It is not kept in the page cache
/// (`writeFileAtomically(_:mode:sync:uncached:chunks:)`): a report of a whole archive is tens
/// of megabytes written once.
public func writeUserFile(_ path: String, _ bytes: [UInt8]) throws(FormatError) {
    try writeUserFile(path) { write in bytes.withUnsafeBytes { _ = write($0) } }
}

/// `writeUserFile(_:_:)` with the bytes given a piece at a time (`writeFileAtomically(_:mode:sync:chunks:)`).
public func writeUserFile(_ path: String, chunks produce: (_ write: (UnsafeRawBufferPointer) -> Bool) -> Void) throws(FormatError) {
    if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
        try makeDirectories(String(path[..<slash]))
    }
    try writeFileAtomically(path, uncached: true, chunks: produce)
}

/// Creates `path` and its missing parents.
public func makeDirectories(_ path: String) throws(FormatError) {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        current += "/\(part)"
        if mkdir(current, 0o755) != 0 && errno != EEXIST {
            throw FormatError(file: current, "", "cannot create directory: \(String(cString: strerror(errno)))")
        }
    }
}

// MARK: - Paths

package func trimSlashes(_ path: String) -> String {
    var p = path
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    return p
}

/// The directory part of `path` ("." when there is none).
package func dirName(_ path: String) -> String {
    let p = trimSlashes(path)
    guard let slash = p.lastIndex(of: "/") else { return "." }
    return slash == p.startIndex ? "/" : String(p[..<slash])
}

public func joinPath(_ root: String, _ rel: String) -> String {
    root == "/" ? "/" + rel : root + "/" + rel
}

package func isInside(_ path: String, _ root: String) -> Bool { relative(path, to: root) != nil }

/// `path` relative to the directory `root`, or nil when it is not below it.
package func relative(_ path: String, to root: String) -> String? {
    let prefix = root == "/" ? "/" : root + "/"
    guard path.hasPrefix(prefix) else { return root == "." && !path.hasPrefix("/") ? path : nil }
    var rest = Substring(path.dropFirst(prefix.count))
    while rest.hasPrefix("/") { rest = rest.dropFirst() }
    return rest.isEmpty ? nil : String(rest)
}
