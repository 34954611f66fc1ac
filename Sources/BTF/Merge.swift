extension BTF {
    /// Appends the types of each application BTF to a kernel BTF, for user-space CO-RE.
    ///
    /// The result starts with `base` untouched: the same type ids, the same type words and the
    /// same string section bytes, so every kernel type serializes exactly as before. Each
    /// application's types follow in order; an application's id `N` (N ≥ 1) becomes
    /// `first + N - 1`, where `first` is the number of type ids (void included) before it, and id
    /// 0 stays `void`. Application strings are appended after the base's and looked up first among
    /// the strings already there (the base's and the earlier applications'), so a name the kernel
    /// already has costs nothing. Type names may clash with the kernel's (`struct data` in both):
    /// that is allowed, and CO-RE then sees several candidates for that name.
    ///
    /// Each input must be self-contained (a detached BTF such as `pahole --btf_encode_detached`
    /// writes), not split BTF on top of another. The output keeps `base`'s byte order and header
    /// length; write it in another order with `serialized(order:)`. Mirrors libbpf's
    /// `btf__add_btf`, which also appends renumbered types and interns each string once.
    ///
    /// - Parameter names: how errors name the applications (their paths); `application 2` when
    ///   not given.
    /// - Throws: `FormatError` naming the application when the result would exceed libbpf's
    ///   limits on type count or string section size, or would not validate.
    public static func merging(base: BTF, _ applications: [BTF], names: [String] = []) throws(FormatError) -> BTF {
        // Rebuilt through `append` rather than copied, so that the merged BTF's words hold
        // exactly what `append` and the writer expect whatever layout the parser gave `base`.
        var merged = BTF(order: base.order)
        merged.headerLength = base.headerLength
        for id in base.ids {
            let r = base.records[id.index]
            merged.append(info: r.info, name: StringOffset(r.nameOffset), sizeOrType: r.sizeOrType, extra: base.extraWords(id))
        }
        var strings = MergedStrings(base: base.strings, applications: applications)
        for (n, app) in applications.enumerated() {
            func fail(_ message: String) -> FormatError {
                n < names.count ? FormatError(file: names[n], "", message) : FormatError("application \(n + 1)", message)
            }
            let first = UInt32(merged.typeCount)
            guard app.typeCount - 1 <= BTFLimits.maxTypes - (merged.typeCount - 1) else {
                throw fail("\(app.typeCount - 1) types would take the merged BTF past libbpf's limit of \(BTFLimits.maxTypes)")
            }
            // An upper bound (every string new), checked before any offset is computed.
            guard app.strings.count <= BTFLimits.maxStringOffset - strings.bytes.count else {
                throw fail("\(app.strings.count) bytes of strings could take the string section past libbpf's limit of \(BTFLimits.maxStringOffset) bytes")
            }
            strings.begin()
            // An id past the application's types (possible only in a BTF built in memory, never
            // in a parsed one) becomes one that validation below rejects, rather than wrapping.
            let appCount = UInt32(app.typeCount)
            func ref(_ id: UInt32) -> UInt32 { id == 0 ? 0 : id < appCount ? id + first - 1 : UInt32.max }
            func name(_ off: UInt32) -> UInt32 { strings.offset(of: StringOffset(off), in: app).rawValue }
            var extra: [UInt32] = []
            for id in app.ids {
                let r = app.records[id.index]
                let words = app.extraWords(id)
                extra.removeAll(keepingCapacity: true)
                var sizeOrType = r.sizeOrType
                switch Kind(rawValue: r.kindValue) ?? .void {
                case .int, .float, .fwd, .void:
                    extra.append(contentsOf: words)
                case .ptr, .typedef, .volatile, .const, .restrict, .typeTag, .func, .var, .declTag:
                    sizeOrType = ref(sizeOrType)
                    extra.append(contentsOf: words)  // var linkage, decl_tag component
                case .array:
                    let a = app.array(id)
                    extra += [ref(a.element.rawValue), ref(a.index.rawValue), a.count]
                case .struct, .union:
                    for i in 0..<r.vlen {
                        let w = words.startIndex + 3 * i
                        extra += [name(words[w]), ref(words[w + 1]), words[w + 2]]
                    }
                case .enum:
                    for i in 0..<r.vlen {
                        let w = words.startIndex + 2 * i
                        extra += [name(words[w]), words[w + 1]]
                    }
                case .enum64:
                    for i in 0..<r.vlen {
                        let w = words.startIndex + 3 * i
                        extra += [name(words[w]), words[w + 1], words[w + 2]]
                    }
                case .funcProto:
                    sizeOrType = ref(sizeOrType)
                    for i in 0..<r.vlen {
                        let w = words.startIndex + 2 * i
                        extra += [name(words[w]), ref(words[w + 1])]
                    }
                case .datasec:
                    for i in 0..<r.vlen {
                        let w = words.startIndex + 3 * i
                        extra += [ref(words[w]), words[w + 1], words[w + 2]]
                    }
                }
                merged.append(info: r.info, name: StringOffset(name(r.nameOffset)), sizeOrType: sizeOrType, extra: extra)
            }
        }
        merged.setStrings(strings.bytes)
        do throws(FormatError) { try merged.validate() } catch { throw error.prefixed("merged BTF") }
        return merged
    }
}

/// The string section of a merged BTF: the base's bytes, then each application's strings that
/// are not already present.
///
/// Only the strings the applications use are looked up among the base's, with one pass over the
/// base's bytes, so merging a small application into a 5 MB kernel BTF does not index the
/// kernel's hundred thousand names. Keys are slices of the inputs, which are never mutated, so
/// appending to `bytes` never copies it more than once.
private struct MergedStrings {
    private(set) var bytes: [UInt8]
    /// Merged offsets of the strings the applications use that are present so far.
    private var known: [ArraySlice<UInt8>: UInt32] = [[]: 0]
    /// The current application's string offsets, resolved.
    private var resolved: [UInt32: UInt32] = [:]

    init(base: [UInt8], applications: [BTF]) {
        bytes = base
        var wanted = Set<ArraySlice<UInt8>>()
        for app in applications { app.forEachStringOffset { wanted.insert(app.stringBytes(at: $0)) } }
        wanted.remove([])
        guard !wanted.isEmpty else { return }
        var found: [ArraySlice<UInt8>: UInt32] = [[]: 0]
        base.withUnsafeBufferPointer { buf in
            var start = 0
            for i in 0..<buf.count where buf[i] == 0 {
                let s = base[start..<i]
                if found[s] == nil && wanted.contains(s) { found[s] = UInt32(start) }
                start = i + 1
            }
        }
        known = found
    }

    /// Starts on the next application: its string offsets map afresh.
    mutating func begin() { resolved = [0: 0] }

    /// The merged offset of the string at `offset` in `app`, adding the string if it is new.
    mutating func offset(of offset: StringOffset, in app: BTF) -> StringOffset {
        if let hit = resolved[offset.rawValue] { return StringOffset(hit) }
        let s = app.stringBytes(at: offset)
        let merged: UInt32
        if let hit = known[s] {
            merged = hit
        } else {
            merged = UInt32(bytes.count)
            bytes.append(contentsOf: s)
            bytes.append(0)
            known[s] = merged
        }
        resolved[offset.rawValue] = merged
        return StringOffset(merged)
    }
}

extension BTF {
    /// The bytes of the string at `offset`, without its NUL.
    func stringBytes(at offset: StringOffset) -> ArraySlice<UInt8> {
        let start = Int(offset.rawValue)
        guard start < strings.count else { return [] }
        return strings[start..<(start + stringLength(at: offset))]
    }

    /// Calls `body` with every string offset a type refers to: type names, member, enumerator
    /// and parameter names.
    func forEachStringOffset(_ body: (StringOffset) -> Void) {
        for id in ids {
            let r = records[id.index]
            body(StringOffset(r.nameOffset))
            switch Kind(rawValue: r.kindValue) ?? .void {
            case .struct, .union:
                for i in 0..<r.vlen { body(member(id, i).name) }
            case .enum, .enum64:
                for i in 0..<r.vlen { body(enumValue(id, i).name) }
            case .funcProto:
                for i in 0..<r.vlen { body(param(id, i).name) }
            default:
                break
            }
        }
    }
}
