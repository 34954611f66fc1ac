/// A module's distilled base (`.BTF.base`) mapped onto the kernel's BTF, as libbpf's
/// `btf__relocate` (libbpf ≥ 1.5, and the kernel when it loads such a module) maps it.
///
/// pahole `--btf_features=distilled_base` builds out-of-tree modules this way: their split BTF
/// is split not on the vmlinux they were built against but on a small base of its own holding
/// only named ints, floats, enums, structs, unions and forwards (the base types the module
/// refers to, with no members), so that the module can be loaded on another build of the same
/// kernel. Relocating puts each distilled type's id and name onto the kernel's type of the same
/// name (and size, where the name alone is ambiguous), and moves the module's own ids past the
/// kernel's.
struct DistilledBase {
    /// For each distilled type id, the kernel type id it maps to (0 for void).
    let ids: [UInt32]
    /// For each distilled type's name offset, the kernel name offset of the type it maps to.
    let names: [UInt32: UInt32]

    /// Maps `dist` (the parsed `.BTF.base` section) onto the first `baseCount` types of
    /// `base` (vmlinux). `embedded` says which distilled structs and unions a module struct or
    /// union holds by value (through modifiers, typedefs and arrays, not pointers): those must
    /// match in size as well as name.
    ///
    /// The rules are `btf_relocate_map_distilled_base`'s: every named int, float, enum, enum64,
    /// forward, struct and union of the base is looked up by name among the distilled types
    /// (ints, floats and enums by name and size; structs and unions by name and size only where
    /// the base has more than one struct or union of that name); a distilled type takes a base
    /// type whose kind fits it (a forward the base's forward of the same flavour, or its struct
    /// or union; an int an int of the same encoding; an enum an enum or enum64); two base types
    /// that fit one distilled type, or a distilled type that none fits, are errors.
    static func map(_ dist: BTF, onto base: BTF, baseCount: UInt32,
                    embedded: (UInt32) -> Bool) throws(FormatError) -> DistilledBase {
        guard dist.order == base.order else {
            throw FormatError(".BTF.base", "\(dist.order)-endian distilled base on a \(base.order)-endian kernel", rule: .distilledBase)
        }
        func fail(_ message: String) -> FormatError { FormatError(".BTF.base", message, rule: .distilledBase) }
        let count = UInt32(dist.typeCount)
        // Distilled bases hold named ints, floats, enums, structs, unions and forwards only.
        for id in dist.ids {
            switch dist.kind(id) {
            case .int, .float, .enum, .struct, .union, .fwd:
                if dist.nameOffset(id).rawValue == 0 { throw fail("type [\(id.rawValue)]: anonymous \(dist.kind(id)) in a distilled base") }
            default:
                throw fail("type [\(id.rawValue)]: \(dist.kind(id)) in a distilled base (only named int, float, enum, struct, union and fwd)")
            }
        }
        // Distilled types by name: (id, size).
        // Names compare as bytes, as libbpf's strcmp compares them.
        var byName: [ArraySlice<UInt8>: [(id: UInt32, size: UInt32)]] = [:]
        for id in dist.ids { byName[dist.stringBytes(at: dist.nameOffset(id)), default: []].append((id.rawValue, dist.size(id))) }
        // How many named structs and unions the base has per name offset (libbpf counts by offset).
        var composites: [UInt32: Int] = [:]
        for i in 1..<baseCount {
            let id = TypeID(i)
            let k = base.kind(id)
            guard k == .struct || k == .union, base.nameOffset(id).rawValue != 0 else { continue }
            composites[base.nameOffset(id).rawValue, default: 0] += 1
        }
        var ids = [UInt32](repeating: 0, count: Int(count))
        var names: [UInt32: UInt32] = [:]
        for i in 1..<baseCount {
            let b = TypeID(i)
            let nameOffset = base.nameOffset(b).rawValue
            guard nameOffset != 0 else { continue }
            let baseKind = base.kind(b)
            let needsSize: Bool
            switch baseKind {
            case .int, .float, .enum, .enum64: needsSize = true
            case .fwd: needsSize = false
            case .struct, .union: needsSize = (composites[nameOffset] ?? 0) > 1
            default: continue
            }
            guard let matches = byName[base.stringBytes(at: base.nameOffset(b))] else { continue }
            for m in matches where !needsSize || m.size == base.size(b) {
                let d = TypeID(m.id)
                switch dist.kind(d) {
                case .fwd:
                    switch baseKind {
                    case .fwd: guard dist.kflag(d) == base.kflag(b) else { continue }
                    case .struct: guard !base.kflag(b) else { continue }
                    case .union: guard base.kflag(b) else { continue }
                    default: continue
                    }
                case .int:
                    guard baseKind == .int, base.intEncoding(b).raw >> 24 & 0xf == dist.intEncoding(d).raw >> 24 & 0xf else { continue }
                case .float:
                    guard baseKind == .float else { continue }
                case .enum:
                    guard baseKind == .enum || baseKind == .enum64 else { continue }
                case .struct, .union:
                    // libbpf checks no kind here, and the size only of one held by value and
                    // not yet mapped (a second fit is then the error below).
                    guard !embedded(m.id) || ids[Int(m.id)] != 0 || base.size(b) == dist.size(d) else { continue }
                default:
                    continue
                }
                if ids[Int(m.id)] != 0 {
                    throw fail("type [\(m.id)] \(dist.kind(d)) \(dist.name(d)): two kernel types of the same name and size fit it ([\(ids[Int(m.id)])] and [\(i)])")
                }
                ids[Int(m.id)] = i
                names[dist.nameOffset(d).rawValue] = nameOffset
            }
        }
        for id in dist.ids where ids[id.index] == 0 {
            throw fail("type [\(id.rawValue)] \(dist.kind(id)) \(dist.name(id)): the kernel has no type to relocate it onto")
        }
        return DistilledBase(ids: ids, names: names)
    }
}
