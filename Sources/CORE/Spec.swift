import BTF

/// One "turning point" of an access: a named member, or an array index (`name == nil`).
public struct Accessor: Sendable, Equatable {
    /// For a member: the composite it belongs to; for an index: the element type.
    public var type: TypeID
    public var index: Int
    public var name: StringOffset?
}

/// A relocation's access against one BTF, as libbpf's `struct bpf_core_spec`.
///
/// `raw` has one entry per access-string element (anonymous members included); `accessors`
/// keeps only named members and array indices; `bitOffset` is where the access lands.
public struct AccessSpec: Sendable, Equatable {
    public var root: TypeID
    public var kind: RelocationKind
    public var raw: [Int] = []
    public var accessors: [Accessor] = []
    public var bitOffset: UInt32 = 0
}

/// Why a spec could not be parsed; libbpf fails the load (-EINVAL / -E2BIG).
public struct SpecError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// btfgen's own comparison limit was reached (`MatchBudget`): not something libbpf reports.
    public var isLimit = false
    public var description: String { message }

    public init(message: String, isLimit: Bool = false) {
        self.message = message
        self.isLimit = isLimit
    }
}

extension AccessSpec {
    /// Parses a local access string into a spec.
    ///
    /// Mirrors libbpf `bpf_core_parse_spec`.
    public init(parsing access: String, root: TypeID, kind: RelocationKind, in btf: BTF) throws(SpecError) {
        self.root = root
        self.kind = kind
        let bytes = Array(access.utf8)
        guard let first = bytes.first, first != UInt8(ascii: ":") else { throw SpecError(message: "empty access string") }
        if kind.isTypeBased {
            guard access == "0" else { throw SpecError(message: "type-based access string '\(access)' is not \"0\"") }
            return
        }
        // sscanf("%d%n") per element, as glibc does it: white space, an optional sign, digits read
        // as a `long` that saturates (strtol), then truncated to `int` — so "4294967295" is -1
        // and "99999999999" is 1215752191. ':' separates.
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: ":") { i += 1 }
            var j = i
            var negative = false
            while j < bytes.count, bytes[j] == 0x20 || (bytes[j] >= 0x09 && bytes[j] <= 0x0d) { j += 1 }
            if j < bytes.count, bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: "+") {
                negative = bytes[j] == UInt8(ascii: "-")
                j += 1
            }
            let digitsStart = j
            var magnitude: UInt64 = 0
            var saturated = false
            while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39 {
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(bytes[j] - 0x30))
                if o1 || o2 { saturated = true } else { magnitude = sum }
                j += 1
            }
            guard j > digitsStart else { throw SpecError(message: "malformed access string '\(access)'") }
            guard raw.count < CORELimits.specLength else { throw SpecError(message: "access string '\(access)' longer than \(CORELimits.specLength)") }
            let long: Int64
            if negative {
                long = saturated || magnitude > UInt64(Int64.max) ? Int64.min : -Int64(magnitude)
            } else {
                long = saturated || magnitude > UInt64(Int64.max) ? Int64.max : Int64(magnitude)
            }
            raw.append(Int(Int32(truncatingIfNeeded: long)))
            i = j
        }
        guard !raw.isEmpty else { throw SpecError(message: "empty access string") }
        guard let rootType = btf.skipModsAndTypedefs(root) else { throw SpecError(message: "cannot resolve type \(root)") }
        accessors.append(Accessor(type: rootType, index: raw[0], name: nil))

        if kind.isEnumValueBased {
            let k = btf.kind(rootType)
            guard k.isEnum, raw.count == 1, raw[0] >= 0, raw[0] < btf.vlen(rootType) else {
                throw SpecError(message: "enumerator access '\(access)' does not name a value of \(root)")
            }
            accessors[0].name = btf.enumValue(rootType, raw[0]).name
            return
        }
        let ptrSize = btf.pointerSize
        guard let rootSize = btf.resolveSize(rootType, pointerSize: ptrSize) else {
            throw SpecError(message: "cannot resolve size of \(rootType)")
        }
        bitOffset = UInt32(truncatingIfNeeded: Int64(raw[0]) &* rootSize &* 8)
        var id = rootType
        for i in 1..<raw.count {
            guard let t = btf.skipModsAndTypedefs(id) else { throw SpecError(message: "cannot resolve type \(id)") }
            id = t
            let idx = raw[i]
            switch btf.kind(t) {
            case .struct, .union:
                guard idx >= 0, idx < btf.vlen(t) else {
                    throw SpecError(message: "member index \(idx) out of range for \(t)")
                }
                let m = btf.member(t, idx)
                bitOffset &+= m.bitOffset
                if m.name.rawValue != 0 {
                    guard !btf.stringBytes(m.name).isEmpty else { throw SpecError(message: "member \(idx) of \(t) has an empty name") }
                    accessors.append(Accessor(type: t, index: idx, name: m.name))
                }
                id = m.type
            case .array:
                let a = btf.array(t)
                guard let elem = btf.skipModsAndTypedefs(a.element) else { throw SpecError(message: "cannot resolve type \(a.element)") }
                let flex = isFlexibleArray(btf, accessors.last!, a)
                guard flex || (idx >= 0 && idx < Int(a.count)) else {
                    throw SpecError(message: "array index \(idx) out of range for \(t)")
                }
                accessors.append(Accessor(type: elem, index: idx, name: nil))
                guard let sz = btf.resolveSize(elem, pointerSize: ptrSize) else {
                    throw SpecError(message: "cannot resolve size of \(elem)")
                }
                bitOffset &+= UInt32(truncatingIfNeeded: Int64(idx) &* sz &* 8)
                id = elem
            default:
                throw SpecError(message: "access '\(access)' (at idx \(i)) captures type \(t) of unexpected kind \(btf.kind(t))")
            }
        }
    }
}

/// Whether an array reached through accessor `acc` is a flexible array member: zero elements,
/// and the last member of its struct. Mirrors libbpf `is_flex_arr`.
func isFlexibleArray(_ btf: BTF, _ acc: Accessor, _ a: BTF.ArrayInfo) -> Bool {
    guard acc.name != nil, a.count == 0 else { return false }
    return acc.index == btf.vlen(acc.type) - 1
}

extension AccessSpec {
    /// The spec as libbpf's `bpf_core_format_spec` prints it, without the kind:
    /// `[12] struct task_struct.tgid (0:62 @ offset 8)`.
    public func formatted(in btf: BTF, withOffset: Bool = true) -> String {
        let k = btf.kind(root)
        let n = btf.name(root)
        var s = "\(root) \(k) \(n.isEmpty ? "<anon>" : n)"
        if kind.isTypeBased { return s }
        if kind.isEnumValueBased {
            guard let t = btf.skipModsAndTypedefs(root), btf.kind(t).isEnum, let idx = raw.first, idx < btf.vlen(t) else { return s }
            let e = btf.enumValue(t, idx)
            let name = btf.string(at: e.name)
            if btf.kind(t) == .enum {
                let v = UInt32(truncatingIfNeeded: e.value)
                s += btf.kflag(t) ? "::\(name) = \(Int32(bitPattern: v))" : "::\(name) = \(v)"
            } else {
                s += btf.kflag(t) ? "::\(name) = \(Int64(bitPattern: e.value))" : "::\(name) = \(e.value)"
            }
            return s
        }
        for (i, acc) in accessors.enumerated() {
            if let name = acc.name { s += "." + btf.string(at: name) } else if i > 0 || acc.index > 0 { s += "[\(acc.index)]" }
        }
        s += " (" + raw.map(String.init).joined(separator: ":")
        if withOffset {
            s += bitOffset % 8 != 0 ? " @ offset \(bitOffset / 8).\(bitOffset % 8))" : " @ offset \(bitOffset / 8))"
        } else {
            s += ")"
        }
        return s
    }
}
