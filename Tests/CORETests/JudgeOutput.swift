import BPFObject
import KernelInput
import BTF
import TestSupport

/// One line of `libbpf-judge relos`: `PROG relo #N: KIND SPEC => OUTCOME`.
struct JudgeLine: Equatable {
    enum Outcome: Equatable {
        /// `patched insn #I: OLD -> NEW`, with `(mem_sz A -> B)` when libbpf resized a load/store.
        /// For `target_type_id`, NEW is the target type's `KIND NAME` (or `0`).
        case patched(insn: Int, old: String, new: String, memSize: [UInt32]?)
        case poisoned(insn: Int)
        case error(String)
    }

    var program: String
    var relo: Int
    var kind: String
    /// libbpf's formatted local spec, or `?` when libbpf failed before printing it.
    var spec: String
    var outcome: Outcome

    init?(_ line: String) {
        guard let reloMark = line.range(of: " relo #") else { return nil }
        program = String(line[..<reloMark.lowerBound])
        let rest = line[reloMark.upperBound...]
        guard let colon = rest.range(of: ": "), let n = Int(rest[..<colon.lowerBound]) else { return nil }
        relo = n
        let body = rest[colon.upperBound...]
        guard let arrow = body.range(of: " => ") else { return nil }
        let head = body[..<arrow.lowerBound]
        let kindEnd = head.firstIndex(of: " ") ?? head.endIndex
        kind = String(head[..<kindEnd])
        spec = kindEnd < head.endIndex ? String(head[head.index(after: kindEnd)...]) : ""
        let text = String(body[arrow.upperBound...])
        if text.hasPrefix("error: ") {
            outcome = .error(String(text.dropFirst("error: ".count)))
        } else if text.hasPrefix("poisoned insn #"), let insn = Int(text.dropFirst("poisoned insn #".count)) {
            outcome = .poisoned(insn: insn)
        } else if text.hasPrefix("patched insn #") {
            var values = text.dropFirst("patched insn #".count)
            guard let c = values.range(of: ": "), let insn = Int(values[..<c.lowerBound]) else { return nil }
            values = values[c.upperBound...]
            var memSize: [UInt32]?
            if values.hasSuffix(")"), let m = values.range(of: " (mem_sz ", options: .backwards) {
                let sizes = values[m.upperBound..<values.index(before: values.endIndex)].components(separatedBy: " -> ")
                guard sizes.count == 2, let a = UInt32(sizes[0]), let b = UInt32(sizes[1]) else { return nil }
                memSize = [a, b]
                values = values[..<m.lowerBound]
            }
            guard let a = values.range(of: " -> ") else { return nil }
            outcome = .patched(insn: insn, old: String(values[..<a.lowerBound]), new: String(values[a.upperBound...]),
                               memSize: memSize)
        } else {
            return nil
        }
    }
}

/// A BPF function in an object: its symbol, the ELF section it is in and where it starts.
struct ProgramSymbol {
    var name: String
    var section: String
    /// Index of its first instruction within the section (`st_value / 8`).
    var firstInsn: Int
    var insnCount: Int
}

/// The `STT_FUNC` symbols of a BPF object (ELF64), by name.
///
/// libbpf names each program (and each subprogram) after its function symbol, and
/// `libbpf-judge relos` prints that name with libbpf's section-relative relo index; the symbol
/// gives the ELF section that `.BTF.ext` groups the records by.
func programSymbols(_ elf: ELFFile) throws -> [String: ProgramSymbol] {
    guard let symtab = elf.section(named: ".symtab"), let strtab = elf.section(named: ".strtab") else {
        throw TestFailure("\(elf.path): no .symtab/.strtab")
    }
    let syms = Array(try elf.contents(of: symtab)), strs = Array(try elf.contents(of: strtab))
    func u16(_ o: Int) -> Int {
        elf.order == .little ? Int(syms[o]) | Int(syms[o + 1]) << 8 : Int(syms[o]) << 8 | Int(syms[o + 1])
    }
    func u32(_ o: Int) -> Int { elf.order == .little ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2) }
    func u64(_ o: Int) -> Int { elf.order == .little ? u32(o) | u32(o + 4) << 32 : u32(o) << 32 | u32(o + 4) }
    var out: [String: ProgramSymbol] = [:]
    // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64.
    for o in stride(from: 0, to: syms.count - 23, by: 24) where syms[o + 4] & 0xf == 2 {
        let nameStart = u32(o)
        guard nameStart < strs.count, let section = elf.section(index: u16(o + 6)) else { continue }
        let nameEnd = strs[nameStart...].firstIndex(of: 0) ?? strs.count
        let name = String(decoding: strs[nameStart..<nameEnd], as: UTF8.self)
        out[name] = ProgramSymbol(name: name, section: section.name, firstInsn: u64(o + 8) / 8, insnCount: u64(o + 16) / 8)
    }
    return out
}

/// The class of the instruction a relocation patches (`code & 7`), from the object's bytes.
func instructionClass(_ elf: ELFFile, section: String, insn: Int) -> UInt8? {
    guard let s = elf.section(named: section), let bytes = try? elf.contents(of: s) else { return nil }
    let offset = bytes.startIndex + insn * 8
    guard insn >= 0, offset < bytes.endIndex else { return nil }
    return bytes[offset] & 0x7
}

/// BPF_LDX, BPF_ST, BPF_STX: the instructions whose access size libbpf adjusts (or poisons).
func isMemoryInstruction(_ cls: UInt8?) -> Bool { cls == 1 || cls == 2 || cls == 3 }
