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

/// What libbpf's instruction rules (`bpf_core_patch_insn`) make of a computed value at one
/// instruction, before any message is made: the resolver classifies every record of a program
/// with it, and only an error is turned into text (`patch`).
enum PatchVerdict: Equatable {
    /// The instruction takes the value.
    case patched
    /// A load or store whose field size changed in a way libbpf cannot adjust: poisoned.
    case poisonedAccess
    case aluRegisterOperand
    /// The instruction does not hold the value the compiler recorded (`got`).
    case unexpectedValue(got: UInt64)
    case offsetTooBig
    case unexpectedMemorySize(UInt32)
    case invalidNewMemorySize
    case unexpectedLoadImm64Form
    case unrecognized
}

/// The verdict for value `v` (not poisoned) at instruction `insn`. Pure; mirrors libbpf
/// `bpf_core_patch_insn`, in its order:
///
/// - ALU/ALU64 take the value as their immediate (a register source is an error); LDX/ST/STX as
///   their offset, which must fit 16 signed bits, and where the field's size changed in a way
///   libbpf cannot adjust (`fail_memsz_adjust`) the instruction is poisoned; a 64-bit immediate
///   load takes it in both halves; any other instruction is an error.
/// - A validated value must equal what the instruction holds.
@inline(__always)
func patchVerdict(_ v: RelocationValue, _ insn: Instruction) -> PatchVerdict {
    switch insn.instructionClass {
    case 4, 7: // ALU, ALU64
        guard insn.code & 0x08 == 0 else { return .aluRegisterOperand }
        if v.validate && UInt64(bitPattern: Int64(insn.imm)) != v.original {
            return .unexpectedValue(got: UInt64(UInt32(bitPattern: insn.imm)))
        }
    case 1, 2, 3: // LDX, ST, STX
        if v.validate && UInt64(bitPattern: Int64(insn.offset)) != v.original {
            return .unexpectedValue(got: UInt64(UInt32(bitPattern: Int32(insn.offset))))
        }
        if v.new > UInt64(Int16.max) { return .offsetTooBig }
        if v.failMemorySizeAdjust { return .poisonedAccess }
        if v.newSize != v.originalSize {
            let size = accessSize(insn.code)
            guard size == v.originalSize else { return .unexpectedMemorySize(size) }
            guard [1, 2, 4, 8].contains(v.newSize) else { return .invalidNewMemorySize }
        }
    case 0: // LD: only the 64-bit immediate load
        guard insn.isLoadImm64, insn.src == 0, insn.offset == 0, let next = insn.next,
              next.code == 0, next.dst == 0, next.src == 0, next.offset == 0 else {
            return .unexpectedLoadImm64Form
        }
        let imm = UInt64(UInt32(bitPattern: insn.imm)) | UInt64(UInt32(bitPattern: next.imm)) << 32
        if v.validate && imm != v.original { return .unexpectedValue(got: imm) }
    default:
        return .unrecognized
    }
    return .patched
}

/// Applies libbpf's instruction rules to a relocation's computed value: what the instruction at
/// the record's offset makes of it (`patchVerdict`), with libbpf's message on an error. A
/// poisoned value poisons whatever the instruction is; without an instruction (a record made
/// without its object) the value is returned unchanged.
func patch(_ outcome: Resolution.Outcome, record: RelocationRecord) -> Resolution.Outcome {
    patch(outcome, instruction: record.instruction, index: record.insn)
}

/// `patch(_:record:)` given the record's instruction and its index in the section.
func patch(_ outcome: Resolution.Outcome, instruction: Instruction?, index: Int) -> Resolution.Outcome {
    guard case .value(var v) = outcome, !v.poison, let insn = instruction else { return outcome }
    // Only the errors name the instruction: a real program patches tens of thousands.
    var at: String { "insn #\(index)" }
    var cls: String {
        switch insn.instructionClass {
        case 4, 7: return "ALU/ALU64"
        case 1, 2, 3: return "LDX/ST/STX"
        default: return "LDIMM64"
        }
    }
    switch patchVerdict(v, insn) {
    case .patched:
        return .value(v)
    case .poisonedAccess:
        v.poison = true
        v.poisonedAccess = true
        return .value(v)
    case .aluRegisterOperand:
        return .error("failed to patch \(at): -22 (ALU/ALU64 with a register operand)")
    case .unexpectedValue(let got):
        return .error("unexpected \(at) (\(cls)) value: got \(got), exp \(v.original) -> \(v.new)")
    case .offsetTooBig:
        return .error("\(at) (LDX/ST/STX) value too big: \(v.new)")
    case .unexpectedMemorySize(let size):
        return .error("\(at) (LDX/ST/STX) unexpected mem size: got \(size), exp \(v.originalSize)")
    case .invalidNewMemorySize:
        return .error("\(at) (LDX/ST/STX) invalid new mem size: \(v.newSize)")
    case .unexpectedLoadImm64Form:
        return .error("\(at) (LDIMM64) has unexpected form")
    case .unrecognized:
        return .error("trying to relocate unrecognized \(at), code:0x\(String(insn.code, radix: 16)), src:0x\(String(insn.src, radix: 16)), dst:0x\(String(insn.dst, radix: 16)), off:0x\(String(UInt16(bitPattern: insn.offset), radix: 16)), imm:0x\(String(UInt32(bitPattern: insn.imm), radix: 16))")
    }
}
