#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BTF
import BPFObject

// The one way btfgen reads a kernel: `readKernel` for a run's inputs (which may be skipped),
// `loadKernelFile` for the commands that need one kernel. Both go the same way: a raw BTF file
// straight into a `BTF`; anything else read whole, opened (`openKernelInput`: compressed files
// and tarballs through libarchive), then parsed (`parseBTFFile`: raw BTF or an ELF's `.BTF`).

/// Where a kernel BTF was read from.
public enum BTFSource: Sendable, Equatable {
    case raw
    case elf
}

/// What a file that is neither BTF nor ELF is to the caller.
public enum Unrecognized: Sendable {
    /// An error: the file was named as a kernel.
    case fail
    /// A skip: the file was found in a directory (a README, a checksum list).
    case skip
}

/// A kernel input read by `readKernel`.
public enum KernelRead: Sendable {
    case kernel(BTF)
    /// Nothing to trim: an empty file or archive, or (with `Unrecognized.skip`) not BTF.
    case skipped(String)
}

/// What `readKernel` learnt of a file on the way, also when it then fails.
public struct InputFacts: Sendable {
    /// The file's size as stored (compressed, for a compressed input).
    public var storedBytes = 0
    /// The archive member the BTF was read from, for archived inputs.
    public var member: String?

    public init() {}
}

/// Reads the kernel at `path`: raw BTF, an ELF file's `.BTF`, compressed (`.xz`, `.gz`, `.zst`),
/// or a tarball holding one BTF, or a kernel with its modules (`vmlinux` and `*.btf`/`*.ko*`
/// members; those `modules` admits are appended, or, with `modules` nil, the tarball is skipped
/// as not one BTF). With `strict`, the kernel's own rules that libbpf does not apply are errors.
public func readKernel(_ path: String, strict: Bool = false, modules: ModuleFilter? = ModuleFilter([]),
                       unrecognized: Unrecognized = .fail, facts: inout InputFacts) throws(FormatError) -> KernelRead {
    // Raw BTF, the common case, is read section by section straight into the BTF.
    if let raw = try readRawBTFFile(path, strict: strict) {
        facts.storedBytes = raw.fileSize
        return .kernel(raw.btf)
    }
    let stored = try readFile(path)
    facts.storedBytes = stored.count
    let bytes: [UInt8]
    switch try openKernelInput(stored, path: path) {
    case .skipped(let why):
        return .skipped(why)
    case .data(let data, let member):
        bytes = data
        facts.member = member
    case .withModules(let data, let member, let members):
        facts.member = member
        guard let modules else { return .skipped("a kernel with modules, not a trimmed BTF") }
        return .kernel(try kernelWithModules(data, member: member, modules: members, path: path, strict: strict, filter: modules))
    }
    if bytes.isEmpty { return .skipped("empty file") }
    if unrecognized == .skip && !looksLikeBTFOrELF(bytes) { return .skipped("not a BTF or ELF file") }
    do throws(FormatError) {
        return .kernel(try parseBTFFile(bytes, path: path, strict: strict).0)
    } catch {
        throw facts.member.map { error.prefixed("member \($0)") } ?? error
    }
}

/// One kernel BTF from any file `readKernel` reads, with the module files `modules` appended in
/// order (`appendModule`), for the commands that take a single kernel (`relocs --btf`, `merge
/// --base`, `explain`) and for application BTF. What a run would skip (an empty file or archive)
/// is an error here: the command needs a kernel.
public func loadKernelFile(_ path: String, modules: [String] = [], strict: Bool = false) throws(FormatError) -> BTF {
    var facts = InputFacts()
    switch try readKernel(path, strict: strict, facts: &facts) {
    case .skipped(let why):
        throw FormatError(file: path, "", "no kernel BTF: \(why)")
    case .kernel(var kernel):
        for module in modules { try appendModule(module, to: &kernel) }
        return kernel
    }
}

/// Whether `bytes` start with the raw BTF magic (either byte order) or the ELF magic.
public func looksLikeBTFOrELF(_ bytes: [UInt8]) -> Bool {
    hasBTFMagic(bytes) || ELFFile.isELF(bytes)
}

/// Parses a kernel (or application) BTF from file bytes: raw BTF, or an ELF file's `.BTF`
/// section (a vmlinux image, a module, a BPF object).
/// With `strict`, the kernel's own rules that libbpf does not apply are errors, not warnings.
public func parseBTFFile(_ bytes: [UInt8], path: String, strict: Bool = false) throws(FormatError) -> (BTF, BTFSource) {
    if hasBTFMagic(bytes) {
        do throws(FormatError) { return (try BTF(parsing: bytes, section: "", strict: strict), .raw) } catch { throw error.in(file: path) }
    }
    if ELFFile.isELF(bytes) {
        let elf = try ELFFile(path: path, bytes: bytes)
        guard let sec = elf.section(named: ".BTF") else { throw FormatError(file: path, "", "ELF file has no .BTF section") }
        let data = try elf.contents(of: sec)
        do throws(FormatError) {
            return (try withBytes(data) { buf throws(FormatError) in try BTF(parsing: buf, section: ".BTF", strict: strict) }, .elf)
        } catch { throw error.in(file: path) }
    }
    if bytes.isEmpty { throw FormatError(file: path, "", "empty file") }
    let magic = bytes.prefix(4).map { hexByte($0) }.joined(separator: " ")
    throw FormatError(file: path, "offset 0x0", "not a BTF or ELF file (magic \(magic))")
}

/// A byte as two lowercase hex digits.
private func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}

/// Reads a raw BTF file straight into a `BTF`: the type and string sections go from the file into
/// the BTF's own storage, without a copy of the whole file in between (a kernel BTF is 4-6 MB,
/// and a batch reads thousands).
///
/// Returns nil, having consumed nothing, when `path` is not a regular file that starts with the
/// BTF magic (an ELF, an archive, a pipe): the caller reads those whole. Errors name the file
/// and the offset, as `parseBTFFile` does.
public func readRawBTFFile(_ path: String, strict: Bool = false) throws(FormatError) -> (btf: BTF, fileSize: Int)? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FormatError(file: path, "", "cannot open: \(errnoMessage())") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    let size = Int(st.st_size)
    let magic = try readExactly(fd, at: 0, count: min(size, 2), path: path)
    guard hasBTFMagic(magic) else { return nil }
    // A header longer than the first page (only hostile files have one) goes the whole-file way.
    return try readBTFBlob(fd, at: 0, size: size, section: "", path: path, strict: strict).map { ($0, size) }
}

