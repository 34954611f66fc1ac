import BTF

/// A BPF object file (`prog.bpf.o`): its BTF and its CO-RE relocation records.
public struct BPFObject: Sendable {
    public typealias Relocation = RelocationRecord

    public let path: String
    public let btf: BTF
    public let ext: BTFExt?
    public let relocations: [Relocation]

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
        let btfBytes = try elf.contents(of: btfSec)
        do throws(FormatError) {
            btf = try withBytes(btfBytes) { buf throws(FormatError) in try BTF(parsing: buf, section: ".BTF") }
        } catch { throw error.in(file: path) }
        self.btf = btf
        guard let extSec = elf.section(named: ".BTF.ext") else {
            ext = nil
            relocations = []
            return
        }
        let ext: BTFExt
        let extBytes = try elf.contents(of: extSec)
        do throws(FormatError) {
            ext = try withBytes(extBytes) { buf throws(FormatError) in try BTFExt(parsing: buf, btf: btf) }
        } catch { throw error.in(file: path) }
        self.ext = ext
        // Real programs repeat a few hundred access strings tens of thousands of times: each is
        // decoded once (by offset: 1 + its index in `accessStrings`).
        var accessStrings: [String] = []
        var accessByOffset = [Int32](repeating: 0, count: btf.strings.count)
        // A program has a section of its own: up to hundreds of them.
        var sectionsByName: [String: ELFFile.Section] = [:]
        for s in elf.sections where sectionsByName[s.name] == nil { sectionsByName[s.name] = s }
        let count = ext.coreRelocationCount
        relocations = try [Relocation](unsafeUninitializedCapacity: count) { (out, written) throws(FormatError) in
            prefault(UnsafeMutableRawBufferPointer(out))
            for group in ext.coreRelocations {
                let section = btf.string(at: group.sectionName)
                // The instructions come from the program section of that name (libbpf looks it
                // up the same way); a record past its section's end has no instruction.
                var code: ArraySlice<UInt8> = []
                if let s = sectionsByName[section] { code = try elf.contents(of: s) }
                code.withUnsafeBytes { buf in
                    for (i, r) in group.records.enumerated() where written < count {
                        let access: String
                        let known = accessByOffset[Int(r.accessString.rawValue)]
                        if known > 0 {
                            access = accessStrings[Int(known) - 1]
                        } else {
                            access = btf.string(at: r.accessString)
                            accessStrings.append(access)
                            accessByOffset[Int(r.accessString.rawValue)] = Int32(accessStrings.count)
                        }
                        (out.baseAddress! + written).initialize(to: Relocation(
                            section: section, index: i, insn: Int(r.insnOffset / 8), type: r.type,
                            accessString: access, kind: r.kind,
                            instruction: Instruction(buf, at: Int(r.insnOffset), order: elf.order),
                            accessStringOffset: r.accessString))
                        written += 1
                    }
                }
            }
        }
    }

}
