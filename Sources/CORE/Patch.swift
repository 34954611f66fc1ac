import BTF

/// The size in bytes of a load or store (`BPF_SIZE(code)`).
private func accessSize(_ code: UInt8) -> UInt32 {
    switch code & 0x18 {
    case 0x18: return 8
    case 0x00: return 4
    case 0x08: return 2
    default: return 1
    }
}

/// Applies libbpf's instruction rules to a relocation's computed value: what the instruction at
/// the record's offset makes of it. Pure; mirrors libbpf `bpf_core_patch_insn`.
///
/// - A poisoned value poisons whatever the instruction is.
/// - ALU/ALU64 take the value as their immediate (a register source is an error); LDX/ST/STX as
///   their offset, which must fit 16 signed bits, and where the field's size changed in a way
///   libbpf cannot adjust (`fail_memsz_adjust`) the instruction is poisoned; a 64-bit immediate
///   load takes it in both halves; any other instruction is an error.
/// - A validated value must equal what the instruction holds.
///
/// Without an instruction (a record made without its object) the value is returned unchanged.
func patch(_ outcome: Resolution.Outcome, record: RelocationRecord) -> Resolution.Outcome {
    patch(outcome, instruction: record.instruction, index: record.insn)
}

/// `patch(_:record:)` given the record's instruction and its index in the section.
@inline(__always)
func patch(_ outcome: Resolution.Outcome, instruction: Instruction?, index: Int) -> Resolution.Outcome {
    guard case .value(var v) = outcome, !v.poison, let insn = instruction else { return outcome }
    // Only the error paths name the instruction: a real program patches tens of thousands.
    var at: String { "insn #\(index)" }
    switch insn.instructionClass {
    case 4, 7: // ALU, ALU64
        guard insn.code & 0x08 == 0 else { return .error("failed to patch \(at): -22 (ALU/ALU64 with a register operand)") }
        if v.validate && UInt64(bitPattern: Int64(insn.imm)) != v.original {
            return .error("unexpected \(at) (ALU/ALU64) value: got \(UInt32(bitPattern: insn.imm)), exp \(v.original) -> \(v.new)")
        }
    case 1, 2, 3: // LDX, ST, STX
        if v.validate && UInt64(bitPattern: Int64(insn.offset)) != v.original {
            return .error("unexpected \(at) (LDX/ST/STX) value: got \(UInt32(bitPattern: Int32(insn.offset))), exp \(v.original) -> \(v.new)")
        }
        if v.new > UInt64(Int16.max) { return .error("\(at) (LDX/ST/STX) value too big: \(v.new)") }
        if v.failMemorySizeAdjust {
            v.poison = true
            v.poisonedAccess = true
            return .value(v)
        }
        if v.newSize != v.originalSize {
            let size = accessSize(insn.code)
            guard size == v.originalSize else {
                return .error("\(at) (LDX/ST/STX) unexpected mem size: got \(size), exp \(v.originalSize)")
            }
            guard [1, 2, 4, 8].contains(v.newSize) else {
                return .error("\(at) (LDX/ST/STX) invalid new mem size: \(v.newSize)")
            }
        }
    case 0: // LD: only the 64-bit immediate load
        guard insn.isLoadImm64, insn.src == 0, insn.offset == 0, let next = insn.next,
              next.code == 0, next.dst == 0, next.src == 0, next.offset == 0 else {
            return .error("\(at) (LDIMM64) has unexpected form")
        }
        let imm = UInt64(UInt32(bitPattern: insn.imm)) | UInt64(UInt32(bitPattern: next.imm)) << 32
        if v.validate && imm != v.original {
            return .error("unexpected \(at) (LDIMM64) value: got \(imm), exp \(v.original) -> \(v.new)")
        }
    default:
        return .error("trying to relocate unrecognized \(at), code:0x\(String(insn.code, radix: 16)), src:0x\(String(insn.src, radix: 16)), dst:0x\(String(insn.dst, radix: 16)), off:0x\(String(UInt16(bitPattern: insn.offset), radix: 16)), imm:0x\(String(UInt32(bitPattern: insn.imm), radix: 16))")
    }
    return .value(v)
}
