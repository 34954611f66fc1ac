#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BTF

/// Target types by essential name, for the names some local types ask for.
///
/// Built with one pass over the target's types: each named type's essential name is hashed
/// (no allocation per type) and kept only if a local type wants it. Candidates stay in id
/// order, as libbpf's linear scan finds them.
public struct CandidateIndex: Sendable {
    private var byName: [ByteKey: [TypeID]] = [:]

    /// Indexes `target` for the essential names in `wanted`.
    /// - Parameter kinds: the kinds of the local types asking (others are not indexed); nil
    ///   indexes every kind.
    public init(target: BTF, wanted: Set<ArraySlice<UInt8>>, kinds: Set<Kind>? = nil) {
        guard !wanted.isEmpty else { return }
        // One bit per kind value.
        var kindMask: UInt32 = kinds == nil ? ~0 : 0
        for k in kinds ?? [] {
            kindMask |= 1 << k.rawValue
            if k.isEnum { kindMask |= 1 << Kind.enum.rawValue | 1 << Kind.enum64.rawValue }
        }
        var byHash: [UInt64: [ArraySlice<UInt8>]] = [:]
        var lengths = [Bool](repeating: false, count: (wanted.map(\.count).max() ?? 0) + 1)
        // The first two bytes of every wanted name (the second is 0 for a one-byte name): most
        // kernel type names fail this test, before any strlen or hashing.
        var prefixes = [UInt64](repeating: 0, count: 65536 / 64)
        for name in wanted {
            byHash[fnv1a(name), default: []].append(name)
            lengths[name.count] = true
            guard let first = name.first else { continue }
            let pair = Int(first) << 8 | Int(name.dropFirst().first ?? 0)
            prefixes[pair >> 6] |= 1 << UInt64(pair & 63)
        }
        var found: [ByteKey: [TypeID]] = [:]
        target.strings.withUnsafeBufferPointer { strings in
            target.records.withUnsafeBufferPointer { records in
                target.kinds.withUnsafeBufferPointer { kinds in
                    guard let base = strings.baseAddress, strings.count >= 2 else { return }
                    // In two passes: the ids whose kind is asked for, with their names' first two
                    // bytes tested against `prefixes`; then the few left, in full. Tested with no
                    // branch on the bytes read, the names (spread over megabytes) are read many at
                    // a time: a kernel's tens of thousands of cache misses overlap.
                    var survivors: [UInt32] = []
                    let lastStart = strings.count - 2
                    prefixes.withUnsafeBufferPointer { prefixes in
                        for i in 1..<records.count where kindMask >> (kinds[i] & 0x1f) & 1 != 0 {
                            let off = Int(records[i].nameOffset)
                            // An offset past the section's last name start reads the final NUL
                            // pair instead: its prefix (0, 0) is never one a name has.
                            let at = off <= lastStart ? off : lastStart
                            let pair = Int(base[at]) << 8 | Int(base[at &+ 1])
                            if prefixes[pair >> 6] >> UInt64(pair & 63) & 1 != 0 && off != 0 && off <= lastStart {
                                survivors.append(UInt32(truncatingIfNeeded: i))
                            }
                        }
                    }
                    for i in survivors {
                        let off = Int(records[Int(i)].nameOffset)
                        // The section ends in NUL (validated), so strlen stays inside it.
                        let start = base + off
                        let full = strlen(UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self))
                        // Flavored names (`x___y`) are rare: look for the separator only when present.
                        var len = full
                        if full >= 5, let u = memchr(start, 0x5f, full) {
                            var j = start.distance(to: u.assumingMemoryBound(to: UInt8.self))
                            while j + 2 < full && !(start[j] == 0x5f && start[j + 1] == 0x5f && start[j + 2] == 0x5f) { j += 1 }
                            if j + 2 < full { len = essentialNameLength(UnsafeBufferPointer(start: start, count: full)) }
                        }
                        if len == 0 || len >= lengths.count || !lengths[len] { continue }
                        let key = UnsafeBufferPointer(start: start, count: len)
                        guard let names = byHash[fnv1a(key)] else { continue }
                        for wantedName in names where wantedName.elementsEqual(key) {
                            found[ByteKey(wantedName), default: []].append(TypeID(i))
                        }
                    }
                }
            }
        }
        byName = found
    }

    /// Target types whose essential name is `essentialName` and whose kind is CO-RE compatible
    /// with `kind`, in id order. Mirrors libbpf `bpf_core_add_cands`.
    ///
    /// When `target` holds modules (`BTF.appendSplit`), vmlinux's candidates only, and the
    /// modules' only when vmlinux has none: libbpf's `bpf_core_find_cands` on a live kernel
    /// searches vmlinux first and the loaded modules' own types only if it found nothing.
    public func candidates(essentialName: ArraySlice<UInt8>, kind: Kind, in target: BTF) -> [TypeID] {
        let all = (byName[ByteKey(essentialName)] ?? []).filter { kindsAreCoreCompatible(target.kind($0), kind) }
        guard let split = target.firstModuleTypeID, let last = all.last, last.rawValue >= split,
              let firstModule = all.firstIndex(where: { $0.rawValue >= split }), firstModule > 0 else { return all }
        return Array(all[..<firstModule])
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
