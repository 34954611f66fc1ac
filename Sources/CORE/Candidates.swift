import BTF

/// Target types by essential name, for the names some local types ask for.
///
/// Built with one pass over the target's types: each named type's essential name is hashed
/// (no allocation per type) and kept only if a local type wants it. Candidates stay in id
/// order, as libbpf's linear scan finds them.
public struct CandidateIndex: Sendable {
    private var byName: [ArraySlice<UInt8>: [TypeID]] = [:]

    /// Indexes `target` for the essential names in `wanted`.
    public init(target: BTF, wanted: Set<ArraySlice<UInt8>>) {
        guard !wanted.isEmpty else { return }
        var byHash: [UInt64: [ArraySlice<UInt8>]] = [:]
        var lengths = Set<Int>()
        for name in wanted {
            byHash[fnv1a(name), default: []].append(name)
            lengths.insert(name.count)
        }
        var found: [ArraySlice<UInt8>: [TypeID]] = [:]
        target.strings.withUnsafeBufferPointer { strings in
            let records = target.records
            for i in 1..<records.count {
                let off = Int(records[i].nameOffset)
                if off == 0 || off >= strings.count { continue }
                var end = off
                while end < strings.count && strings[end] != 0 { end += 1 }
                let name = UnsafeBufferPointer(rebasing: strings[off..<end])
                let len = essentialNameLength(name)
                if len == 0 || !lengths.contains(len) { continue }
                let key = UnsafeBufferPointer(rebasing: name[0..<len])
                guard let names = byHash[fnv1a(key)] else { continue }
                for wantedName in names where wantedName.elementsEqual(key) {
                    found[wantedName, default: []].append(TypeID(UInt32(i)))
                }
            }
        }
        byName = found
    }

    /// Target types whose essential name is `essentialName` and whose kind is CO-RE compatible
    /// with `kind`, in id order. Mirrors libbpf `bpf_core_add_cands`.
    public func candidates(essentialName: ArraySlice<UInt8>, kind: Kind, in target: BTF) -> [TypeID] {
        (byName[essentialName] ?? []).filter { kindsAreCoreCompatible(target.kind($0), kind) }
    }
}

@inline(__always)
private func fnv1a<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h &*= 0x100_0000_01b3
    }
    return h
}

extension BTF {
    /// The essential name (flavor suffix cut) of a type's name.
    public func essentialName(_ id: TypeID) -> ArraySlice<UInt8> {
        let n = stringBytes(nameOffset(id))
        return n.prefix(essentialNameLength(n))
    }
}
