import BTF

/// What libbpf computes for one relocation before patching: `struct bpf_core_relo_res`.
public struct RelocationValue: Sendable, Equatable {
    /// The value the compiler put in the instruction (from the local BTF).
    public var original: UInt64 = 0
    /// The value the instruction gets.
    public var new: UInt64 = 0
    /// The instruction is replaced by an invalid call: no candidate matched.
    public var poison = false
    /// libbpf checks that the instruction holds `original` before patching.
    public var validate = true
    /// A load/store would need its size changed in a way that is unsafe; libbpf poisons
    /// LDX/ST/STX instructions in that case.
    public var failMemorySizeAdjust = false
    /// Poisoned by the patch step: the instruction is a load or store and `failMemorySizeAdjust`
    /// (libbpf: "accesses field incorrectly"), not because nothing matched.
    public var poisonedAccess = false
    public var originalSize: UInt32 = 0
    public var newSize: UInt32 = 0
    var originalTypeID = TypeID.void
    var newTypeID = TypeID.void
}

/// libbpf's "request instruction poisoning" (-EUCLEAN).
struct PoisonRequest: Error {}

private struct FieldValue {
    var value: UInt64 = 0
    var size: UInt32 = 0
    var type = TypeID.void
    var validate = true
}

/// Mirrors libbpf `bpf_core_calc_field_relo`; `spec == nil` means no candidate matched.
private func calcField(_ kind: RelocationKind, _ spec: AccessSpec?, _ btf: BTF, insn: Int) throws(CalcError) -> FieldValue {
    var out = FieldValue()
    if kind == .fieldExists {
        out.value = spec == nil ? 0 : 1
        return out
    }
    guard let spec else { throw .poison }
    let acc = spec.accessors[spec.accessors.count - 1]
    let ptrSize = btf.pointerSize
    if acc.name == nil {
        switch kind {
        case .fieldByteOffset:
            out.value = UInt64(spec.bitOffset / 8)
            guard let sz = btf.resolveSize(acc.type, pointerSize: ptrSize) else { throw .invalid("cannot resolve size of \(acc.type)") }
            out.size = UInt32(truncatingIfNeeded: sz)
            out.type = acc.type
        case .fieldByteSize:
            guard let sz = btf.resolveSize(acc.type, pointerSize: ptrSize) else { throw .invalid("cannot resolve size of \(acc.type)") }
            out.value = UInt64(sz)
        default:
            throw .invalid("relo \(kind.rawValue) at insn #\(insn) can't be applied to array access")
        }
        out.validate = true
        return out
    }
    let m = btf.member(acc.type, acc.index)
    guard let fieldType = btf.skipModsAndTypedefs(m.type) else { throw .invalid("cannot resolve type \(m.type)") }
    let bitOff = spec.bitOffset
    var bitSize = m.bitfieldSize
    let bitfield = bitSize > 0
    var byteSize: UInt32
    var byteOff: UInt32
    if bitfield {
        byteSize = btf.size(fieldType)
        guard byteSize > 0 else { throw .invalid("bitfield of zero-sized type \(fieldType)") }
        byteOff = bitOff / 8 / byteSize * byteSize
        while UInt64(bitOff) + UInt64(bitSize) - UInt64(byteOff) * 8 > UInt64(byteSize) * 8 {
            if byteSize >= 8 { throw .invalid("relo \(kind.rawValue) at insn #\(insn) can't be satisfied for bitfield") }
            byteSize *= 2
            byteOff = bitOff / 8 / byteSize * byteSize
        }
    } else {
        guard let sz = btf.resolveSize(fieldType, pointerSize: ptrSize) else { throw .invalid("cannot resolve size of \(fieldType)") }
        byteSize = UInt32(truncatingIfNeeded: sz)
        byteOff = spec.bitOffset / 8
        bitSize = byteSize &* 8
    }
    out.validate = !bitfield
    switch kind {
    case .fieldByteOffset:
        out.value = UInt64(byteOff)
        if !bitfield {
            out.size = byteSize
            out.type = fieldType
        }
    case .fieldByteSize:
        out.value = UInt64(byteSize)
    case .fieldSigned:
        let k = btf.kind(fieldType)
        out.value = (k.isEnum && btf.kflag(fieldType)) || (k == .int && btf.intEncoding(fieldType).isSigned) ? 1 : 0
        out.validate = true
    case .fieldLShiftU64:
        // libbpf computes this for the byte order of the machine it runs on.
        if ByteOrder.host == .little {
            out.value = UInt64(64 &- (bitOff &+ bitSize &- byteOff &* 8))
        } else {
            out.value = UInt64((8 &- byteSize) &* 8 &+ (bitOff &- byteOff &* 8))
        }
    case .fieldRShiftU64:
        out.value = UInt64(64 &- bitSize)
        out.validate = true
    default:
        throw .invalid("unrecognized CO-RE relocation \(kind) (\(kind.rawValue)) at insn #\(insn)")
    }
    return out
}

enum CalcError: Error {
    case poison
    case invalid(String)
}

/// Mirrors libbpf `bpf_core_calc_type_relo`.
private func calcType(_ kind: RelocationKind, _ spec: AccessSpec?, _ btf: BTF) throws(CalcError) -> UInt64 {
    guard let spec else { return 0 }
    switch kind {
    case .typeIDTarget: return UInt64(spec.root.rawValue)
    case .typeExists, .typeMatches: return 1
    case .typeSize:
        guard let sz = btf.resolveSize(spec.root, pointerSize: btf.pointerSize) else { throw .invalid("cannot resolve size of \(spec.root)") }
        return UInt64(sz)
    default: throw .invalid("unrecognized CO-RE relocation \(kind)")
    }
}

/// Mirrors libbpf `bpf_core_calc_enumval_relo`. A 32-bit enumerator is sign-extended as libbpf
/// does (it reads `btf_enum.val` as `__s32`), whatever the enum's signedness.
private func calcEnumValue(_ kind: RelocationKind, _ spec: AccessSpec?, _ btf: BTF) throws(CalcError) -> UInt64 {
    switch kind {
    case .enumvalExists: return spec == nil ? 0 : 1
    case .enumvalValue:
        guard let spec, let acc = spec.accessors.first else { throw .poison }
        let v = btf.enumValue(acc.type, acc.index).value
        if btf.kind(acc.type) == .enum { return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v))) }
        return v
    default: throw .invalid("unrecognized CO-RE relocation \(kind)")
    }
}

/// Computes original and new values for a relocation from the local spec and a target spec
/// (nil when nothing matched). Mirrors libbpf `bpf_core_calc_relo`.
func calcRelocation(_ kind: RelocationKind, local: AccessSpec, localBTF: BTF,
                    target: AccessSpec?, targetBTF: BTF, insn: Int) throws(SpecError) -> RelocationValue {
    var res = RelocationValue()
    do throws(CalcError) {
        if kind.isFieldBased {
            let o = try calcField(kind, local, localBTF, insn: insn)
            res.original = o.value
            res.originalSize = o.size
            res.originalTypeID = o.type
            res.validate = o.validate
            let n = try calcField(kind, target, targetBTF, insn: insn)
            res.new = n.value
            res.newSize = n.size
            res.newTypeID = n.type
            if res.originalSize != res.newSize {
                let ok = localBTF.kind(res.originalTypeID), nk = targetBTF.kind(res.newTypeID)
                if ok == .ptr && nk == .ptr { return res }
                // libbpf compares the whole encoding with BTF_INT_SIGNED, as here.
                if ok == .int && nk == .int
                    && localBTF.intEncoding(res.originalTypeID).raw >> 24 != 1
                    && targetBTF.intEncoding(res.newTypeID).raw >> 24 != 1 { return res }
                res.failMemorySizeAdjust = true
            }
        } else if kind.isTypeBased {
            res.original = try calcType(kind, local, localBTF)
            res.validate = kind != .typeIDTarget
            res.new = try calcType(kind, target, targetBTF)
        } else {
            res.original = try calcEnumValue(kind, local, localBTF)
            res.new = try calcEnumValue(kind, target, targetBTF)
        }
    } catch {
        switch error {
        case .poison:
            // libbpf resets the result before computing, so a poisoned one carries zeros.
            var poisoned = RelocationValue()
            poisoned.poison = true
            poisoned.validate = res.validate
            poisoned.original = res.original
            return poisoned
        case .invalid(let message):
            throw SpecError(message: message)
        }
    }
    return res
}
