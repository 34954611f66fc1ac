#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BTF

extension BTF {
    /// The bytes of the string at `offset` (without its NUL), as a slice of the string section.
    @inlinable
    public func stringBytes(_ offset: StringOffset) -> ArraySlice<UInt8> {
        let start = Int(offset.rawValue)
        guard start < strings.count else { return [] }
        let len = stringLength(at: offset)
        return strings[start..<(start + len)]
    }

    /// Whether the string at `offset` is empty (or past the section).
    @inline(__always)
    public func stringIsEmpty(_ offset: StringOffset) -> Bool {
        let start = Int(offset.rawValue)
        return start >= strings.count || strings[start] == 0
    }

    /// Whether the string at `offset` is exactly `bytes`, compared in place (no slice is made:
    /// member matching asks this for every member it walks past).
    public func string(_ offset: StringOffset, equals bytes: ArraySlice<UInt8>) -> Bool {
        let start = Int(offset.rawValue)
        return strings.withUnsafeBufferPointer { s in
            guard start + bytes.count < s.count, s[start + bytes.count] == 0 else { return false }
            return bytes.withUnsafeBufferPointer { b in
                b.isEmpty || memcmp(s.baseAddress! + start, b.baseAddress!, b.count) == 0
            }
        }
    }

    /// Follows modifiers (const, volatile, restrict, type_tag) and typedefs to the type they name.
    ///
    /// Mirrors libbpf `skip_mods_and_typedefs`. Returns nil for an out-of-range id or a chain
    /// deeper than the kernel resolves (validated input has neither).
    public func skipModsAndTypedefs(_ id: TypeID) -> TypeID? {
        var cur = id
        for _ in 0...CORELimits.resolveDepth {
            guard contains(cur) else { return nil }
            let k = kind(cur)
            if k.isModifier { cur = referenced(cur) } else { return cur }
        }
        return nil
    }

    /// The first int named like `long` (any of libbpf's aliases) of size 4 or 8.
    public var longType: TypeID? {
        for id in ids where kind(id) == .int && (size(id) == 4 || size(id) == 8) {
            let name = stringBytes(nameOffset(id))
            if BTF.longAliases.contains(where: { $0.elementsEqual(name) }) { return id }
        }
        return nil
    }

    /// The size in bytes of a type, or nil where libbpf's `btf__resolve_size` fails (void, func,
    /// fwd, overflow).
    public func resolveSize(_ id: TypeID, pointerSize: Int) -> Int64? {
        var cur = id
        var nelems: UInt64 = 1
        var size: Int64 = -1
        var depth = 0
        while depth < CORELimits.resolveDepth, cur != .void, contains(cur) {
            switch kind(cur) {
            case .int, .struct, .union, .enum, .enum64, .datasec, .float:
                size = Int64(self.size(cur))
                depth = CORELimits.resolveDepth
                continue
            case .ptr:
                size = Int64(pointerSize)
                depth = CORELimits.resolveDepth
                continue
            case .typedef, .volatile, .const, .restrict, .var, .declTag, .typeTag:
                cur = referenced(cur)
            case .array:
                let a = array(cur)
                if nelems != 0 && UInt64(a.count) > UInt64(UInt32.max) / nelems { return nil }
                nelems *= UInt64(a.count)
                cur = a.element
            default:
                return nil
            }
            depth += 1
        }
        guard size >= 0 else { return nil }
        if nelems != 0 && UInt64(size) > UInt64(UInt32.max) / nelems { return nil }
        return Int64(nelems) * size
    }

    /// An int's bit offset (the deprecated bitfield-like encoding), 0 for everything else.
    func intOffset(_ id: TypeID) -> UInt32 { kind(id) == .int ? intEncoding(id).offset : 0 }
}

/// The length of a name without its flavor suffix: `task_struct___v510` gives 11.
///
/// Mirrors libbpf `bpf_core_essential_name_len`: the cut is at the last `X___Y` where neither
/// X nor Y is an underscore.
@inlinable
public func essentialNameLength<C: RandomAccessCollection>(_ name: C) -> Int where C.Element == UInt8, C.Index == Int {
    let n = name.count
    let base = name.startIndex
    var i = n - 5
    while i >= 0 {
        let s = base + i
        if name[s] != 0x5f && name[s + 1] == 0x5f && name[s + 2] == 0x5f && name[s + 3] == 0x5f && name[s + 4] != 0x5f {
            return i + 1
        }
        i -= 1
    }
    return n
}

/// Whether two kinds can be CO-RE candidates for each other: the same kind, or enum and enum64.
///
/// Mirrors libbpf `btf_kind_core_compat`.
@inlinable
public func kindsAreCoreCompatible(_ a: Kind, _ b: Kind) -> Bool {
    a == b || (a.isEnum && b.isEnum)
}
