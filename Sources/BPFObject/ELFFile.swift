import BTF
import CLibELF

/// An ELF file's sections, read through libelf from a copy of the file in memory.
///
/// Only what btfgen needs is kept: section names, types, and the bytes of the sections asked
/// for. Every section's extent is checked against the file before its bytes are touched.
public struct ELFFile: Sendable {
    public struct Section: Sendable {
        public var index: Int
        public var name: String
        public var type: UInt32
        public var offset: Int
        public var size: Int
    }

    public let path: String
    public let order: ByteOrder
    public let machine: UInt16
    public let sections: [Section]
    private let bytes: [UInt8]

    /// Whether `bytes` start with the ELF magic.
    public static func isELF(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x7f && bytes[1] == 0x45 && bytes[2] == 0x4c && bytes[3] == 0x46
    }

    public init(path: String, bytes: [UInt8]) throws(FormatError) {
        self.path = path
        self.bytes = bytes
        guard ELFFile.isELF(bytes), bytes.count >= 16 else { throw FormatError(file: path, "offset 0x0", "not an ELF file") }
        switch bytes[5] {
        case 1: order = .little
        case 2: order = .big
        default: throw FormatError(file: path, "offset 0x5", "unknown ELF data encoding \(bytes[5])")
        }
        guard bytes[4] == 1 || bytes[4] == 2 else { throw FormatError(file: path, "offset 0x4", "unknown ELF class \(bytes[4])") }
        elf_version(UInt32(EV_CURRENT))
        var copy = bytes
        let result: Result<(UInt16, [Section]), FormatError> = copy.withUnsafeMutableBytes { buf in
            guard let elf = elf_memory(buf.baseAddress!.assumingMemoryBound(to: CChar.self), buf.count) else {
                return .failure(FormatError(file: path, "", "libelf: \(String(cString: elf_errmsg(-1)))"))
            }
            defer { elf_end(elf) }
            var ehdr = GElf_Ehdr()
            guard gelf_getehdr(elf, &ehdr) != nil else {
                return .failure(FormatError(file: path, "ELF header", "libelf: \(String(cString: elf_errmsg(-1)))"))
            }
            var shstrndx = 0
            guard elf_getshdrstrndx(elf, &shstrndx) == 0 else {
                return .failure(FormatError(file: path, "section headers", "libelf: \(String(cString: elf_errmsg(-1)))"))
            }
            var count = 0
            guard elf_getshdrnum(elf, &count) == 0 else {
                return .failure(FormatError(file: path, "section headers", "libelf: \(String(cString: elf_errmsg(-1)))"))
            }
            // Each header takes at least 40 bytes of the file: a count beyond that is a lie.
            guard count <= buf.count / 40 else {
                return .failure(FormatError(file: path, "e_shnum", "\(count) section headers cannot fit in \(buf.count) bytes"))
            }
            var sections: [Section] = []
            var scn: OpaquePointer? = nil
            while let s = elf_nextscn(elf, scn) {
                scn = s
                var shdr = GElf_Shdr()
                let index = Int(elf_ndxscn(s))
                guard gelf_getshdr(s, &shdr) != nil else {
                    return .failure(FormatError(file: path, "section \(index)", "libelf: \(String(cString: elf_errmsg(-1)))"))
                }
                let name = elf_strptr(elf, shstrndx, Int(shdr.sh_name)).map { String(cString: $0) } ?? ""
                let offset = Int(clamping: shdr.sh_offset), size = Int(clamping: shdr.sh_size)
                if shdr.sh_type != UInt32(SHT_NOBITS) && (offset > buf.count || size > buf.count - offset) {
                    return .failure(FormatError(file: path, "section \(index) \(name.isEmpty ? "" : "(\(name)) ")at \(hex(offset))",
                                                "\(size) bytes past the end of the file (\(buf.count) bytes)"))
                }
                sections.append(Section(index: index, name: name, type: shdr.sh_type, offset: offset, size: size))
            }
            return .success((ehdr.e_machine, sections))
        }
        (machine, sections) = try result.get()
    }

    /// Reads and opens the ELF file at `path`.
    public init(path: String) throws(FormatError) {
        try self.init(path: path, bytes: try readFile(path))
    }

    public func section(named name: String) -> Section? { sections.first { $0.name == name } }
    public func section(index: Int) -> Section? { sections.first { $0.index == index } }

    /// The bytes of a section (empty for SHT_NOBITS).
    public func contents(of section: Section) -> ArraySlice<UInt8> {
        if section.type == UInt32(SHT_NOBITS) { return [] }
        return bytes[section.offset..<(section.offset + section.size)]
    }
}
