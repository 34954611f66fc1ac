import BTF
import CORE

/// One thing a trimmed BTF keeps of its kernel: a type, or one member or enumerator of a
/// struct, union or enum. Ordered as the trimmed BTF holds them (a type, then its members).
public struct KeptItem: Hashable, Comparable, Sendable {
    let raw: UInt64

    public init(type: TypeID, member: Int? = nil) {
        raw = UInt64(type.rawValue) << 17 | UInt64(member.map { $0 + 1 } ?? 0)
    }

    /// The kernel's type.
    public var type: TypeID { TypeID(UInt32(truncatingIfNeeded: raw >> 17)) }
    /// The member or enumerator's index in the kernel's type; nil for the type itself.
    public var member: Int? { let m = Int(raw & 0x1ffff); return m == 0 ? nil : m - 1 }

    public static func < (a: KeptItem, b: KeptItem) -> Bool { a.raw < b.raw }
}

extension Marker {
    /// What `emit` writes, in its order: each marked type, and each member or enumerator it
    /// keeps of a struct, union or enum.
    public func keptItems() -> [KeptItem] {
        var items: [KeptItem] = []
        for i in marked.sorted() {
            let id = TypeID(UInt32(i))
            items.append(KeptItem(type: id))
            let kind = target.kind(id)
            guard kind.isComposite || kind.isEnum else { continue }
            let base = Int(target.records[i].firstWord), stride = kind == .enum ? 2 : 3
            for m in 0..<target.vlen(id) where whole[i] || isSlotMarked(base + stride * m) {
                items.append(KeptItem(type: id, member: m))
            }
        }
        return items
    }
}

/// A step of marking, as `trim` took it: what `Explanation` replays, one reason at a time.
public enum MarkStep: Sendable {
    /// What one relocation decision needs (`Marker.mark(_:)`).
    case decision(Decision)
    /// What one target spec needs (the check before writing's first repair).
    case spec(AccessSpec)
    /// A candidate kept whole (its last repair).
    case whole(TypeID)
    /// The kernel's `long`, for its pointer size.
    case pointerSize
}

/// Why a kept thing is kept.
public enum KeepCause: Sendable, Hashable {
    /// A decision of an object's relocations (an index into its `ResolvedRelocations.decisions`;
    /// every record with that decision shares it).
    case relocation(object: Int, decision: Int)
    /// The check before writing, for a record of an object whose outcome would otherwise differ
    /// from the full BTF's.
    case check(object: Int, record: Int)
    /// The last member of a struct, kept so that the zero-length array member `after`, the last
    /// one kept otherwise, does not read as a flexible array (libbpf's rule).
    case flexibleArray(after: KeptItem)
}

/// Why each byte of a trimmed BTF is kept: for every type, member and enumerator the output
/// holds, the reasons that need it (relocation decisions, the check before writing, the
/// flexible-array rule), and the bytes each object accounts for.
///
/// Built by replaying the marking steps one reason at a time on one marker: a reason's marks
/// are what that step alone would keep. Their union plus the flexible-array rule is exactly
/// what the trim kept (`marker` rebuilds it, and emits the same bytes).
public struct Explanation: Sendable {
    public struct Reason: Sendable {
        public var cause: KeepCause
        /// The objects that need it (one, except for the flexible-array rule).
        public var owners: [Int]
    }

    /// Bytes of the trimmed BTF by who needs them. `header + sum(own) + shared == total`
    /// (`unattributed`, bytes no object's steps keep, is 0 unless btfgen has a bug).
    public struct Bytes: Sendable, Equatable {
        /// The whole file: header, types, strings.
        public var total = 0
        /// The header and the string section's leading empty string: there whatever is kept.
        public var header = 0
        /// Per object: bytes that only it needs (the file shrinks by them without it).
        public var own: [Int]
        /// Per object: bytes that it needs and other objects need too.
        public var sharedWith: [Int]
        /// Bytes that more than one object needs, counted once.
        public var shared = 0
        /// Bytes of types and strings: what `own` and `shared` divide.
        public var types = 0, strings = 0
        public var unattributed = 0
    }

    public let target: BTF
    /// Everything the trimmed BTF keeps, in its order.
    public let items: [KeptItem]
    /// Per item, indexes into `reasons` (never empty for a trim's own steps).
    public let reasonsOfItem: [[Int32]]
    public let reasons: [Reason]
    public let bytes: Bytes
    private let steps: [(step: MarkStep, reason: Int)]
    /// Where each round of `steps` ends.
    private let roundEnds: [Int]
    private let objectCount: Int

    /// The steps `trim` took, each with its cause and the object it is for, in rounds: the
    /// flexible-array rule ran after each round.
    /// `output`: the trimmed BTF they give (emitted from them again when nil).
    public init(target: BTF, output: BTF? = nil, objectCount: Int, rounds: [[(step: MarkStep, cause: KeepCause, object: Int)]]) {
        self.target = target
        self.objectCount = objectCount
        var reasons: [Reason] = []
        var reasonOf: [KeepCause: Int] = [:]
        var allSteps: [(step: MarkStep, reason: Int)] = []
        var ends: [Int] = []
        for s in rounds.joined() {
            let r: Int
            if let known = reasonOf[s.cause] {
                r = known
            } else {
                r = reasons.count
                reasonOf[s.cause] = r
                reasons.append(Reason(cause: s.cause, owners: [s.object]))
            }
            allSteps.append((s.step, r))
        }
        var n = 0
        for round in rounds { n += round.count; ends.append(n) }
        self.steps = allSteps
        roundEnds = ends

        // Each reason alone: the union of its steps' marks, without the flexible-array rule.
        var marker = Marker(target: target)
        var byItem: [KeptItem: [Int32]] = [:]
        var stepsOfReason = [[Int]](repeating: [], count: reasons.count)
        for (i, s) in allSteps.enumerated() { stepsOfReason[s.reason].append(i) }
        for r in reasons.indices {
            marker.reset()
            for i in stepsOfReason[r] { Explanation.apply(allSteps[i].step, to: &marker) }
            for item in marker.keptItems() { byItem[item, default: []].append(Int32(r)) }
        }

        // All of them, with the rule, as the trim did: what it kept that no reason alone keeps
        // is the rule's, on behalf of the reasons of the member it follows.
        marker = Explanation.replay(allSteps, roundEnds: ends, target: target, keeping: { _ in true })
        let items = marker.keptItems()
        for (after, kept) in Explanation.flexibleArrayRule(items, target: target, explained: { byItem[items[$0]] != nil }) {
            let r = Int32(reasons.count)
            let owners = Set((byItem[items[after]] ?? []).flatMap { reasons[Int($0)].owners })
            reasons.append(Reason(cause: .flexibleArray(after: items[after]), owners: owners.sorted()))
            for k in kept where byItem[items[k]] == nil { byItem[items[k]] = [r] }
        }
        self.items = items
        self.reasons = reasons
        reasonsOfItem = items.map { byItem[$0] ?? [] }
        var stepsOfObject = [[Int]](repeating: [], count: objectCount)
        for (i, s) in rounds.joined().enumerated() { stepsOfObject[s.object].append(i) }
        bytes = Explanation.bytes(target: target, output: output ?? marker.emit(), objectCount: objectCount, kept: items) { o, marker in
            for i in stepsOfObject[o] { Explanation.apply(allSteps[i].step, to: &marker) }
        }
    }

    /// The marks of every step but those of `object`, with the flexible-array rule: what a trim
    /// without that object keeps (when its check before writing repairs the same way).
    public func marker(excluding object: Int? = nil) -> Marker {
        Explanation.replay(steps, roundEnds: roundEnds, target: target,
                           keeping: { r in object.map { !reasons[r].owners.contains($0) } ?? true })
    }

    /// The steps of the reasons `keeping` accepts, the rule run after each round.
    private static func replay(_ steps: [(step: MarkStep, reason: Int)], roundEnds: [Int], target: BTF,
                               keeping: (Int) -> Bool) -> Marker {
        var marker = Marker(target: target)
        var start = 0
        for end in roundEnds {
            for s in steps[start..<end] where keeping(s.reason) { apply(s.step, to: &marker) }
            marker.finalize()
            start = end
        }
        return marker
    }

    public static func apply(_ step: MarkStep, to marker: inout Marker) {
        switch step {
        case .decision(let d): marker.mark(d)
        case .spec(let spec): marker.mark(spec)
        case .whole(let id): marker.markWhole(id)
        case .pointerSize:
            marker.markPointerSize()
        }
    }

    /// Where `item` is in `items` (sorted), if it is there.
    static func index(of item: KeptItem, in items: [KeptItem]) -> Int? {
        var lo = 0, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid] < item { lo = mid + 1 } else { hi = mid }
        }
        return lo < items.count && items[lo] == item ? lo : nil
    }

    /// What the flexible-array rule added to `items` (a trim's, sorted): for each last member of
    /// a struct that `explained` leaves out, the kept member it follows (the zero-length array)
    /// and what the rule kept for it: the member and the types its type pulls in (indexes into
    /// `items`; some may be explained otherwise).
    static func flexibleArrayRule(_ items: [KeptItem], target: BTF, explained: (Int) -> Bool) -> [(after: Int, kept: [Int])] {
        var rule: [(after: Int, kept: [Int])] = []
        var scratch: Marker?
        for (i, item) in items.enumerated() where !explained(i) {
            guard let m = item.member, target.kind(item.type).isComposite, m == target.vlen(item.type) - 1,
                  let after = items[..<i].lastIndex(where: { $0.type == item.type && $0.member != nil }) else { continue }
            if scratch == nil { scratch = Marker(target: target) } else { scratch!.reset() }
            scratch!.markType(target.member(item.type, m).type, followPointers: false)
            rule.append((after, [i] + scratch!.keptItems().compactMap { index(of: $0, in: items) }))
        }
        return rule
    }

    /// A member's or enumerator's name in the kernel.
    public static func memberName(_ item: KeptItem, in target: BTF) -> StringOffset {
        let kind = target.kind(item.type)
        let stride = kind.isComposite || kind == .enum64 ? 3 : 2
        return StringOffset(target.words[Int(target.records[item.type.index].firstWord) + stride * (item.member ?? 0)])
    }

    /// The bytes an item takes in the trimmed BTF, strings aside: a type's 12-byte record and
    /// what follows it (members and enumerators are items of their own), or one member's or
    /// enumerator's entry.
    public func recordBytes(_ item: KeptItem) -> Int { Explanation.recordBytes(item, target) }

    static func recordBytes(_ item: KeptItem, _ target: BTF) -> Int {
        let kind = target.kind(item.type)
        if item.member != nil { return kind == .enum ? 8 : 12 }
        if kind.isComposite || kind.isEnum { return 12 }
        return 12 + 4 * target.extraWords(item.type).count
    }

    /// The byte table of a trim that kept `items` (its marker's `keptItems()`), where `mark(o, &m)`
    /// marks on `m` what object `o`'s steps mark (the flexible-array rule aside): what a run does
    /// for every kernel, straight from the trim's decisions. `sameAs[o]`, when given, is an
    /// object at or before `o` whose steps mark just what `o`'s do (itself, or one whose own
    /// `sameAs` is itself): `o` then gets its bytes without being marked or counted item by
    /// item again.
    ///
    /// `output` is the trimmed BTF itself, whose string section gives each name its identity,
    /// and `scratch` a marker of `target` to mark on (reset first; the trim's own, when it is
    /// done with it, saves allocating one per kernel).
    public static func bytes(target: BTF, output: BTF, objectCount: Int, kept items: [KeptItem], sameAs: [Int]? = nil,
                             scratch: consuming Marker? = nil, mark: (Int, inout Marker) -> Void) -> Bytes {
        // An object that marks what an earlier one does has no entries of its own: the earlier
        // one stands for it, each of its entries counting once per object it stands for
        // (`weight`), and the two get the same bytes at the end.
        var weight = [Int](repeating: 1, count: objectCount)
        if let sameAs {
            for o in 0..<objectCount where sameAs[o] < o {
                weight[sameAs[o]] += 1
                weight[o] = 0
            }
        }
        // Which items each object's steps keep (entries (object, item), object by object), and
        // how many objects keep each item.
        var entryObject: [Int32] = [], entryItem: [Int32] = []
        entryObject.reserveCapacity(items.count * 4)
        entryItem.reserveCapacity(items.count * 4)
        var owners = [Int](repeating: 0, count: items.count), firstOwner = [Int](repeating: -1, count: items.count)
        var marker = scratch.take() ?? Marker(target: target)
        func own(_ i: Int, by o: Int) {
            entryObject.append(Int32(o))
            entryItem.append(Int32(i))
            owners[i] += weight[o]
            if firstOwner[i] < 0 { firstOwner[i] = o }
        }
        // Where each kept type's items start in `items` (sorted: a type, then its members in
        // order), so that an object's marks find their items by walking forward, not searching.
        // (An array over the target's types, not a dictionary: a run looks up every type each
        // object marks, on every kernel.)
        var firstItem = [Int32](repeating: -1, count: target.typeCount)
        for (n, item) in items.enumerated() where item.member == nil { firstItem[item.type.index] = Int32(n) }
        for o in 0..<objectCount where weight[o] > 0 {
            marker.reset()
            mark(o, &marker)
            // The marked types and their kept members (`keptItems()`), walked in place.
            for t in marker.marked {
                let at = Int(firstItem[t])
                guard at >= 0 else { continue }
                own(at, by: o)
                let id = TypeID(UInt32(t))
                let kind = target.kind(id)
                guard kind.isComposite || kind.isEnum else { continue }
                let base = Int(target.records[t].firstWord), stride = kind == .enum ? 2 : 3, whole = marker.isWhole(id)
                // The type's kept members follow it in `items`: look at those, not at all of its
                // members (a task_struct has hundreds, a trim keeps a few).
                var j = at + 1
                while j < items.count, items[j].type == id, let m = items[j].member {
                    if whole || marker.isSlotMarked(base + stride * m) { own(j, by: o) }
                    j += 1
                }
            }
        }
        // What only the flexible-array rule keeps belongs to the objects of the member it follows.
        let mainEntries = entryItem.count
        for (after, kept) in flexibleArrayRule(items, target: target, explained: { owners[$0] > 0 }) {
            let objects = Set((0..<mainEntries).filter { entryItem[$0] == Int32(after) }.map { Int(entryObject[$0]) }).sorted()
            for k in kept where owners[k] == 0 { for o in objects { own(k, by: o) } }
        }
        if entryItem.count > mainEntries {
            // Object by object again (the rule's entries were appended last).
            let order = entryObject.indices.sorted { (entryObject[$0], $0) < (entryObject[$1], $1) }
            (entryObject, entryItem) = (order.map { entryObject[$0] }, order.map { entryItem[$0] })
        }

        var bytes = Bytes(own: [Int](repeating: 0, count: objectCount), sharedWith: [Int](repeating: 0, count: objectCount))
        bytes.header = headerBytes + 1
        func charge(_ b: Int, count: Int, first: Int) {
            if count == 1 { bytes.own[first] += b } else if count > 1 { bytes.shared += b } else { bytes.unattributed += b }
        }
        // Each item's bytes once: the shared bytes below take them again for every entry.
        let itemBytes = items.map { recordBytes($0, target) }
        for i in items.indices {
            bytes.types += itemBytes[i]
            charge(itemBytes[i], count: owners[i], first: firstOwner[i])
        }
        // A name is stored once: it belongs to every object that keeps an item naming it. The
        // names of item i are nameIDs[nameStart[i]..<nameStart[i + 1]]. They are read from
        // `output`, which holds the items in their order (the n-th type item is its type n, a
        // type's member items are its members) and each distinct string once, at one offset:
        // the offset tells names apart without comparing their bytes, and a renamed module
        // type is charged the name it is written under.
        var stringOfOffset = [Int32](repeating: -1, count: output.strings.count)
        var stringBytes: [Int] = []
        var nameStart: [Int32] = [0], nameIDs: [Int32] = []
        nameStart.reserveCapacity(items.count + 1)
        nameIDs.reserveCapacity(items.count * 2)
        func name(_ offset: UInt32) {
            let at = Int(offset)
            guard at != 0, at < stringOfOffset.count else { return }
            if stringOfOffset[at] < 0 {
                stringOfOffset[at] = Int32(stringBytes.count)
                stringBytes.append(output.stringLength(at: StringOffset(offset)) + 1)
            }
            nameIDs.append(stringOfOffset[at])
        }
        var outType = 0, outMember = 0
        for item in items {
            if item.member != nil {
                // A member's or enumerator's name: the first word of its entry.
                let kind = output.kind(TypeID(UInt32(outType)))
                let stride = kind == .enum ? 2 : 3
                name(output.words[Int(output.records[outType].firstWord) + stride * outMember])
                outMember += 1
            } else {
                outType += 1
                outMember = 0
                guard outType < output.typeCount else { break }
                let id = TypeID(UInt32(outType))
                name(output.records[outType].nameOffset)
                if output.kind(id) == .funcProto {
                    for p in 0..<output.vlen(id) { name(output.param(id, p).name.rawValue) }
                }
            }
            nameStart.append(Int32(nameIDs.count))
        }
        while nameStart.count < items.count + 1 { nameStart.append(Int32(nameIDs.count)) }
        var stringOwners = [Int](repeating: 0, count: stringBytes.count), stringFirst = [Int](repeating: -1, count: stringBytes.count)
        var stamp = [Int](repeating: -1, count: stringBytes.count)
        var stringEntryObject: [Int32] = [], stringEntry: [Int32] = []
        stringEntryObject.reserveCapacity(entryItem.count * 2)
        stringEntry.reserveCapacity(entryItem.count * 2)
        for e in entryItem.indices {
            let o = Int(entryObject[e])
            let item = Int(entryItem[e])
            for n in Int(nameStart[item])..<Int(nameStart[item + 1]) where stamp[Int(nameIDs[n])] != o {
                let s = Int(nameIDs[n])
                stamp[s] = o
                stringEntryObject.append(Int32(o))
                stringEntry.append(Int32(s))
                stringOwners[s] += weight[o]
                if stringFirst[s] < 0 { stringFirst[s] = o }
            }
        }
        for (s, b) in stringBytes.enumerated() {
            bytes.strings += b
            charge(b, count: stringOwners[s], first: stringFirst[s])
        }
        var sharedWith = bytes.sharedWith
        bytes.sharedWith = []
        for e in entryItem.indices where owners[Int(entryItem[e])] > 1 {
            sharedWith[Int(entryObject[e])] += itemBytes[Int(entryItem[e])]
        }
        for e in stringEntry.indices where stringOwners[Int(stringEntry[e])] > 1 {
            sharedWith[Int(stringEntryObject[e])] += stringBytes[Int(stringEntry[e])]
        }
        // An object stood for by an earlier one keeps what it keeps, all of it shared.
        if let sameAs {
            for o in 0..<objectCount where weight[o] == 0 { sharedWith[o] = sharedWith[sameAs[o]] }
        }
        bytes.sharedWith = sharedWith
        bytes.total = bytes.header + bytes.types + bytes.strings
        return bytes
    }

    /// The header `BTF.serialized()` writes for a trimmed BTF.
    static let headerBytes = 24
}
