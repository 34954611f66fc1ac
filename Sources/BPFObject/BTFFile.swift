import BTF

/// Where a kernel BTF was read from.
public enum BTFSource: Sendable, Equatable {
    case raw
    case elf
}

/// Whether `bytes` start with the raw BTF magic (either byte order) or the ELF magic.
public func looksLikeBTFOrELF(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && (bytes[0] == 0x9f && bytes[1] == 0xeb || bytes[0] == 0xeb && bytes[1] == 0x9f) || ELFFile.isELF(bytes)
}

/// Parses a kernel (or application) BTF from file bytes: raw BTF, or an ELF file's `.BTF`
/// section (a vmlinux image, a module, a BPF object).
/// With `strict`, the kernel's own rules that libbpf does not apply are errors, not warnings.
public func parseBTFFile(_ bytes: [UInt8], path: String, strict: Bool = false) throws(FormatError) -> (BTF, BTFSource) {
    if bytes.count >= 2 && (bytes[0] == 0x9f && bytes[1] == 0xeb || bytes[0] == 0xeb && bytes[1] == 0x9f) {
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

/// Reads and parses a BTF file; see `parseBTFFile(_:path:)`.
public func loadBTFFile(_ path: String, strict: Bool = false) throws(FormatError) -> BTF {
    if let raw = try readRawBTFFile(path, strict: strict) { return raw.btf }
    return try parseBTFFile(try readFile(path), path: path, strict: strict).0
}

/// A byte as two lowercase hex digits.
private func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
