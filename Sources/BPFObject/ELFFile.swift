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

    /// `bytes` is taken over: libelf reads the image in place, so a caller that gives up its
    /// array (a file just read) is not copied.
    public init(path: String, bytes: consuming [UInt8]) throws(FormatError) {
        self.path = path
        var image = bytes
        guard ELFFile.isELF(image), image.count >= 16 else { throw FormatError(file: path, "offset 0x0", "not an ELF file") }
        switch image[5] {
        case 1: order = .little
        case 2: order = .big
        default: throw FormatError(file: path, "offset 0x5", "unknown ELF data encoding \(image[5])")
        }
        guard image[4] == 1 || image[4] == 2 else { throw FormatError(file: path, "offset 0x4", "unknown ELF class \(image[4])") }
        let shstrndx = try ELFFile.checkSectionTable(image, path: path, order: order, is64: image[4] == 2)
        elf_version(UInt32(EV_CURRENT))
        let result: Result<(UInt16, [Section]), FormatError> = image.withUnsafeMutableBytes { buf in
            guard let elf = elf_memory(buf.baseAddress!.assumingMemoryBound(to: CChar.self), buf.count) else {
                return .failure(FormatError(file: path, "ELF header", "libelf: \(String(cString: elf_errmsg(-1)))"))
            }
            defer { elf_end(elf) }
            var ehdr = GElf_Ehdr()
            guard gelf_getehdr(elf, &ehdr) != nil else {
                return .failure(FormatError(file: path, "ELF header", "libelf: \(String(cString: elf_errmsg(-1)))"))
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
                var name = ""
                if shstrndx != 0 {
                    guard let p = elf_strptr(elf, shstrndx, Int(shdr.sh_name)) else {
                        return .failure(FormatError(file: path, "section \(index)",
                                                    "name offset \(shdr.sh_name) outside the section name table (section \(shstrndx))"))
                    }
                    name = String(cString: p)
                }
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
        self.bytes = image
    }

    /// Checks the section header table the ELF header describes against the file before libelf
    /// reads it (libelf quietly shows no sections when the table lies past the end): entry size,
    /// count (with extended numbering), extent and string table index. Returns the string table
    /// index, 0 for none.
    private static func checkSectionTable(_ bytes: [UInt8], path: String, order: ByteOrder, is64: Bool) throws(FormatError) -> Int {
        try withBytes(bytes) { buf throws(FormatError) -> Int in
            let r = ByteReader(buf, order: order)
            func fail(_ field: String, _ message: String) -> FormatError { FormatError(file: path, field, message) }
            let ehdrSize = is64 ? 64 : 52, shdrSize = is64 ? 64 : 40
            guard r.count >= ehdrSize else { throw fail("ELF header", "truncated: \(r.count) bytes, need \(ehdrSize)") }
            let shoff = is64 ? Int(clamping: r.u64(0x28)!) : Int(r.u32(0x20)!)
            let entsize = Int(r.u16(is64 ? 0x3a : 0x2e)!)
            var count = Int(r.u16(is64 ? 0x3c : 0x30)!)
            var strndx = Int(r.u16(is64 ? 0x3e : 0x32)!)
            if shoff == 0 { return 0 }
            guard entsize == shdrSize else { throw fail("e_shentsize", "section header size \(entsize), want \(shdrSize)") }
            guard shoff <= r.count, shdrSize <= r.count - shoff else {
                throw fail("e_shoff", "section headers at \(hex(shoff)) past the end of the file (\(r.count) bytes)")
            }
            // Extended numbering: section 0 holds the real count and string table index.
            if count == 0 { count = is64 ? Int(clamping: r.u64(shoff + 32)!) : Int(r.u32(shoff + 20)!) }
            if strndx == 0xffff { strndx = Int(r.u32(shoff + (is64 ? 40 : 24))!) }
            guard count <= (r.count - shoff) / shdrSize else {
                throw fail("e_shnum", "\(count) section headers at \(hex(shoff)) do not fit in the file (\(r.count) bytes)")
            }
            if count == 0 { return 0 }
            guard strndx < count else { throw fail("e_shstrndx", "section name table \(strndx) out of range (\(count) sections)") }
            return strndx
        }
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
