import BTF
import CLibELF

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An ELF file's sections, read through libelf, either from a copy of the file in memory or
/// from the file itself, mapped.
///
/// Only what btfgen needs is kept: section names, types, and the bytes of the sections asked
/// for. Every section's extent is checked against the file before its bytes are touched. Mapped,
/// only the pages of the sections asked for are read: a BPF object's relocation and debug
/// sections, often half of it, never are.
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
    private let storage: Storage

    private enum Storage: Sendable {
        case memory([UInt8])
        case mapped(MappedFile)
    }

    /// Whether `bytes` start with the ELF magic.
    public static func isELF(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x7f && bytes[1] == 0x45 && bytes[2] == 0x4c && bytes[3] == 0x46
    }

    /// `bytes` is taken over: libelf reads the image in place, so a caller that gives up its
    /// array (a file just read) is not copied.
    public init(path: String, bytes: consuming [UInt8]) throws(FormatError) {
        var image = bytes
        let header = try ELFFile.checkHeader(Array(image.prefix(64)), fileSize: image.count, path: path)
        let shstrndx = try ELFFile.checkSectionTable(header, fileSize: image.count, path: path) { offset, count in
            offset <= image.count && count <= image.count - offset ? Array(image[offset..<(offset + count)]) : []
        }
        elf_version(UInt32(EV_CURRENT))
        let result: Result<(UInt16, [Section]), FormatError> = image.withUnsafeMutableBytes { buf in
            guard let elf = elf_memory(buf.baseAddress!.assumingMemoryBound(to: CChar.self), buf.count) else {
                return .failure(FormatError(file: path, "ELF header", "libelf: \(String(cString: elf_errmsg(-1)))"))
            }
            defer { elf_end(elf) }
            return ELFFile.readSections(elf, shstrndx: shstrndx, fileSize: buf.count, path: path)
        }
        (machine, sections) = try result.get()
        self.path = path
        order = header.order
        storage = .memory(image)
    }

    /// Opens the ELF file at `path`. A regular file is mapped (`MappedFile`): only the pages of
    /// the sections asked for are ever read, straight from the page cache. Anything else (a
    /// pipe), or a file that cannot be mapped, is read whole first.
    public init(path: String) throws(FormatError) {
        guard let file = try MappedFile(path: path) else {
            self = try ELFFile(path: path, bytes: try readFile(path))
            return
        }
        let image = file.bytes, size = image.count
        let header = try ELFFile.checkHeader(Array(image.prefix(64)), fileSize: size, path: path)
        let shstrndx = try ELFFile.checkSectionTable(header, fileSize: size, path: path) { offset, count in
            offset <= size && count <= size - offset ? Array(image[offset..<(offset + count)]) : []
        }
        elf_version(UInt32(EV_CURRENT))
        // libelf reads the header, the section headers and the name table in place, nothing else.
        guard let elf = elf_memory(UnsafeMutablePointer(mutating: image.baseAddress!.assumingMemoryBound(to: CChar.self)), size) else {
            throw FormatError(file: path, "ELF header", "libelf: \(String(cString: elf_errmsg(-1)))")
        }
        defer { elf_end(elf) }
        let (machine, sections) = try ELFFile.readSections(elf, shstrndx: shstrndx, fileSize: size, path: path).get()
        self.init(path: path, order: header.order, machine: machine, sections: sections, storage: .mapped(file))
    }

    private init(path: String, order: ByteOrder, machine: UInt16, sections: [Section], storage: Storage) {
        self.path = path
        self.order = order
        self.machine = machine
        self.sections = sections
        self.storage = storage
    }

    /// What the first bytes say: the byte order and the class.
    private struct Header {
        var bytes: [UInt8]
        var order: ByteOrder
        var is64: Bool
    }

    private static func checkHeader(_ head: [UInt8], fileSize: Int, path: String) throws(FormatError) -> Header {
        guard isELF(head), head.count >= 16 else { throw FormatError(file: path, "offset 0x0", "not an ELF file") }
        let order: ByteOrder
        switch head[5] {
        case 1: order = .little
        case 2: order = .big
        default: throw FormatError(file: path, "offset 0x5", "unknown ELF data encoding \(head[5])")
        }
        guard head[4] == 1 || head[4] == 2 else { throw FormatError(file: path, "offset 0x4", "unknown ELF class \(head[4])") }
        return Header(bytes: head, order: order, is64: head[4] == 2)
    }

    private static func readSections(_ elf: OpaquePointer, shstrndx: Int, fileSize: Int, path: String) -> Result<(UInt16, [Section]), FormatError> {
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
            if shdr.sh_type != UInt32(SHT_NOBITS) && (offset > fileSize || size > fileSize - offset) {
                return .failure(FormatError(file: path, "section \(index) \(name.isEmpty ? "" : "(\(name)) ")at \(hex(offset))",
                                            "\(size) bytes past the end of the file (\(fileSize) bytes)"))
            }
            sections.append(Section(index: index, name: name, type: shdr.sh_type, offset: offset, size: size))
        }
        return .success((ehdr.e_machine, sections))
    }

    /// Checks the section header table the ELF header describes against the file before libelf
    /// reads it (libelf quietly shows no sections when the table lies past the end): entry size,
    /// count (with extended numbering), extent and string table index. `read` gives the bytes
    /// at an offset the checks have already bounded. Returns the string table index, 0 for none.
    private static func checkSectionTable(_ header: Header, fileSize: Int, path: String,
                                          read: (Int, Int) -> [UInt8]) throws(FormatError) -> Int {
        let is64 = header.is64
        func fail(_ field: String, _ message: String) -> FormatError { FormatError(file: path, field, message) }
        let ehdrSize = is64 ? 64 : 52, shdrSize = is64 ? 64 : 40
        guard fileSize >= ehdrSize, header.bytes.count >= ehdrSize else {
            throw fail("ELF header", "truncated: \(fileSize) bytes, need \(ehdrSize)")
        }
        return try withBytes(header.bytes) { buf throws(FormatError) -> Int in
            let r = ByteReader(buf, order: header.order)
            let shoff = is64 ? Int(clamping: r.u64(0x28)!) : Int(r.u32(0x20)!)
            let entsize = Int(r.u16(is64 ? 0x3a : 0x2e)!)
            var count = Int(r.u16(is64 ? 0x3c : 0x30)!)
            var strndx = Int(r.u16(is64 ? 0x3e : 0x32)!)
            if shoff == 0 { return 0 }
            guard entsize == shdrSize else { throw fail("e_shentsize", "section header size \(entsize), want \(shdrSize)") }
            guard shoff <= fileSize, shdrSize <= fileSize - shoff else {
                throw fail("e_shoff", "section headers at \(hex(shoff)) past the end of the file (\(fileSize) bytes)")
            }
            // Extended numbering: section 0 holds the real count and string table index.
            if count == 0 || strndx == 0xffff {
                let zero = read(shoff, shdrSize)
                guard zero.count == shdrSize else { throw fail("e_shoff", "section header 0 at \(hex(shoff)) could not be read") }
                try withBytes(zero) { z throws(FormatError) in
                    let r0 = ByteReader(z, order: header.order)
                    if count == 0 { count = is64 ? Int(clamping: r0.u64(32)!) : Int(r0.u32(20)!) }
                    if strndx == 0xffff { strndx = Int(r0.u32(is64 ? 40 : 24)!) }
                }
            }
            guard count <= (fileSize - shoff) / shdrSize else {
                throw fail("e_shnum", "\(count) section headers at \(hex(shoff)) do not fit in the file (\(fileSize) bytes)")
            }
            if count == 0 { return 0 }
            guard strndx < count else { throw fail("e_shstrndx", "section name table \(strndx) out of range (\(count) sections)") }
            return strndx
        }
    }

    public func section(named name: String) -> Section? { sections.first { $0.name == name } }
    public func section(index: Int) -> Section? { sections.first { $0.index == index } }

    /// The bytes of a section (empty for SHT_NOBITS), as a copy.
    public func contents(of section: Section) throws(FormatError) -> ArraySlice<UInt8> {
        try withContents(of: section) { Array($0)[...] }
    }

    /// Calls `body` with the bytes of a section (empty for SHT_NOBITS), in place: in the
    /// mapped file, or in the image in memory. They are valid only during the call.
    public func withContents<R, E: Error>(of section: Section, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if section.type == UInt32(SHT_NOBITS) { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let range = section.offset..<(section.offset + section.size)
        switch storage {
        case .memory(let bytes):
            let result: Result<R, E> = bytes.withUnsafeBytes { all in
                do throws(E) { return .success(try body(UnsafeRawBufferPointer(rebasing: all[range]))) } catch { return .failure(error) }
            }
            return try result.get()
        case .mapped(let file):
            defer { withExtendedLifetime(file) {} }
            return try body(UnsafeRawBufferPointer(rebasing: file.bytes[range]))
        }
    }
}
