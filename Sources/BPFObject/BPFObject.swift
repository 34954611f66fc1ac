import BTF

/// A BPF object file (`prog.bpf.o`): its BTF and its CO-RE relocation records.
public struct BPFObject: Sendable {
    public let path: String
    public let btf: BTF
    public let ext: BTFExt?
    public let relocations: RelocationTable

    public init(path: String, bytes: consuming [UInt8]) throws(FormatError) {
        try self.init(path: path, elf: try ELFFile(path: path, bytes: bytes))
    }

    /// Reads the object at `path`: only its `.BTF`, `.BTF.ext` and the program sections its
    /// CO-RE records are in.
    public init(path: String) throws(FormatError) {
        try self.init(path: path, elf: try ELFFile(path: path))
    }

    public init(path: String, elf: ELFFile) throws(FormatError) {
        self.path = path
        guard let btfSec = elf.section(named: ".BTF") else {
            throw FormatError(file: path, "", "no .BTF section (was it built with clang -g?)")
        }
        let btf: BTF
        do throws(FormatError) {
            btf = try elf.withContents(of: btfSec) { buf throws(FormatError) in try BTF(parsing: buf, section: ".BTF") }
        } catch { throw error.in(file: path) }
        self.btf = btf
        guard let extSec = elf.section(named: ".BTF.ext") else {
            ext = nil
            relocations = RelocationTable()
            return
        }
        let ext: BTFExt
        do throws(FormatError) {
            ext = try elf.withContents(of: extSec) { buf throws(FormatError) in try BTFExt(parsing: buf, btf: btf) }
        } catch { throw error.in(file: path) }
        self.ext = ext
        // Real programs repeat a few hundred access strings tens of thousands of times: each is
        // decoded once (by offset: 1 + its number in the table).
        var table = RelocationTable()
        var accessByOffset = [Int32](repeating: 0, count: btf.strings.count)
        // A program has a section of its own: up to hundreds of them.
        var sectionsByName: [String: ELFFile.Section] = [:]
        for s in elf.sections where sectionsByName[s.name] == nil { sectionsByName[s.name] = s }
        let count = ext.coreRelocationCount
        table.reserveCapacity(count)
        for group in ext.coreRelocations {
            let section = btf.string(at: group.sectionName)
            let sectionNumber = table.section(named: section)
            // The instructions come from the program section of that name (libbpf looks it up
            // the same way); a record past its section's end has no instruction.
            if let code = sectionsByName[section] {
                elf.withContents(of: code) { buf in
                    BPFObject.append(group, section: sectionNumber, code: buf, order: elf.order, btf: btf, to: &table,
                                     accessByOffset: &accessByOffset)
                }
            } else {
                BPFObject.append(group, section: sectionNumber, code: UnsafeRawBufferPointer(start: nil, count: 0), order: elf.order,
                                 btf: btf, to: &table, accessByOffset: &accessByOffset)
            }
        }
        relocations = table
    }

    /// Appends one section's records to `table`, with their instructions from `code`. A function
    /// of its own, taking the table `inout`: a closure capturing it would check exclusive access
    /// on every record.
    private static func append(_ group: BTFExt.Group<BTFExt.CORERelocation>, section: Int32, code: UnsafeRawBufferPointer,
                               order: ByteOrder, btf: BTF, to table: inout RelocationTable, accessByOffset: inout [Int32]) {
        for (i, r) in group.records.enumerated() {
            var access = accessByOffset[Int(r.accessString.rawValue)] - 1
            if access < 0 {
                access = table.accessString(btf.string(at: r.accessString))
                accessByOffset[Int(r.accessString.rawValue)] = access + 1
            }
            table.append(section: section, index: i, insn: Int(r.insnOffset / 8), type: r.type,
                         access: access, accessOffset: r.accessString, kind: r.kind,
                         instruction: Instruction(code, at: Int(r.insnOffset), order: order))
        }
    }

}
