import BTF

/// A BPF object file (`prog.bpf.o`): its BTF and its CO-RE relocation records.
public struct BPFObject: Sendable {
    public typealias Relocation = RelocationRecord

    public let path: String
    public let btf: BTF
    public let ext: BTFExt?
    public let relocations: [Relocation]

    public init(path: String, bytes: [UInt8]) throws(FormatError) {
        self.path = path
        let elf = try ELFFile(path: path, bytes: bytes)
        guard let btfSec = elf.section(named: ".BTF") else {
            throw FormatError(file: path, "", "no .BTF section (was it built with clang -g?)")
        }
        let btf: BTF
        do throws(FormatError) {
            btf = try withBytes(elf.contents(of: btfSec)) { buf throws(FormatError) in try BTF(parsing: buf, section: ".BTF") }
        } catch { throw error.in(file: path) }
        self.btf = btf
        guard let extSec = elf.section(named: ".BTF.ext") else {
            ext = nil
            relocations = []
            return
        }
        let ext: BTFExt
        do throws(FormatError) {
            ext = try withBytes(elf.contents(of: extSec)) { buf throws(FormatError) in try BTFExt(parsing: buf, btf: btf) }
        } catch { throw error.in(file: path) }
        self.ext = ext
        var relocations: [Relocation] = []
        relocations.reserveCapacity(ext.coreRelocationCount)
        // Real programs repeat a few hundred access strings tens of thousands of times.
        var accessStrings: [StringOffset: String] = [:]
        for group in ext.coreRelocations {
            let section = btf.string(at: group.sectionName)
            // The instructions come from the program section of that name (libbpf looks it up
            // the same way); a record past its section's end has no instruction.
            let code = elf.section(named: section).map { elf.contents(of: $0) } ?? []
            code.withUnsafeBytes { buf in
                for (i, r) in group.records.enumerated() {
                    let access: String
                    if let known = accessStrings[r.accessString] {
                        access = known
                    } else {
                        access = btf.string(at: r.accessString)
                        accessStrings[r.accessString] = access
                    }
                    relocations.append(Relocation(section: section, index: i, insn: Int(r.insnOffset / 8), type: r.type,
                                                  accessString: access, kind: r.kind,
                                                  instruction: Instruction(buf, at: Int(r.insnOffset), order: elf.order),
                                                  accessStringOffset: r.accessString))
                }
            }
        }
        self.relocations = relocations
    }

    public init(path: String) throws(FormatError) {
        try self.init(path: path, bytes: try readFile(path))
    }
}
