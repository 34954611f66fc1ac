import BTF
import CORE

/// Marks the target types, members and enumerators that relocation results depend on.
///
/// The rules start from bpftool's `gen min_core_btf` (field relocations keep the member chain
/// and the members' types; type-based ones keep the type and what its pointers reach, structs
/// without members; `type_matches` keeps what the match compares) and go further where libbpf
/// looks at less: enums keep only the enumerators a relocation names, and forward declarations
/// are kept as they are instead of failing.
public struct Marker: Sendable {
    public let target: BTF
    private(set) var types: [Bool]
    /// The marked types' indexes, in the order they were marked: what `finalize` and `emit`
    /// walk, so that their cost follows the marks and not the size of the kernel.
    private(set) var marked: [Int] = []
    /// Marks by word index in `target.words`, one bit each: member `i` of a struct starts at
    /// `firstWord + 3i`, an enumerator at `firstWord + 2i` (enum) or `firstWord + 3i` (enum64).
    private var slots: [UInt64]
    /// The words of `slots` that are not zero, so that `reset` costs what was marked.
    private var slotWords: [Int] = []
    /// Types whose members or enumerators are all kept.
    private(set) var whole: [Bool]
    /// `markMatch` visits per type: bit 0 behind a pointer, bit 1 not.
    private var matchVisited: [UInt8]
    /// `markType`'s work list, empty between calls: kept so that a call allocates nothing.
    private var stack: [TypeID] = []

    public init(target: BTF) {
        self.target = target
        types = [Bool](repeating: false, count: target.typeCount)
        slots = [UInt64](repeating: 0, count: target.words.count / 64 + 1)
        whole = [Bool](repeating: false, count: target.typeCount)
        matchVisited = [UInt8](repeating: 0, count: target.typeCount)
    }

    /// Keeps the kernel's `long` when its pointers are not 8 bytes: libbpf takes the pointer size
    /// from a BTF's `long` and assumes 8 bytes without one. Needed only where a relocation's
    /// value depends on a pointer's size (the check before writing finds out), as bpftool's
    /// outputs, which never keep it, are right for every other relocation.
    public mutating func markPointerSize() {
        if target.pointerSize != 8, let long = target.longType { markType(long, followPointers: false) }
    }

    public var markedTypeCount: Int { marked.count }

    public func isMarked(_ id: TypeID) -> Bool { types[id.index] }

    /// Marks what one resolved relocation needs in the target: every candidate that matched.
    public mutating func mark(_ resolution: Resolution) {
        for spec in resolution.targets { mark(spec) }
    }

    /// Marks what libbpf's outcome of one decision depends on, and no more: the first matching
    /// candidate, whose spec gives the value (as bpftool keeps it); for an ambiguity, also the
    /// candidate that conflicts with it. Candidates that agree with the first are left out: the
    /// check before writing puts them back where the cache's narrowing needs them.
    public mutating func mark(_ decision: borrowing Decision) {
        mark(targets: decision.targets, marksLast: decision.marksLastTarget)
    }

    /// `mark(decisions[d])`, with the decision read in place: passed whole, a decision read
    /// from an array is copied first, its specs retained and released (marking each object's
    /// decisions again for a report does this for every decision of every kernel).
    public mutating func mark(_ decisions: [Decision], at d: Int) {
        decisions.withUnsafeBufferPointer { ds in mark(targets: ds[d].targets, marksLast: ds[d].marksLastTarget) }
    }

    /// `mark(_ decision:)` of a decision with these targets: the first, and the last too when
    /// `marksLast` (`Decision.marksLastTarget`).
    public mutating func mark(targets: [AccessSpec], marksLast: Bool) {
        // Subscripts, not `first`: a spec passed from its place in the array is not copied (its
        // arrays retained and released), once per decision of every object of every kernel.
        guard !targets.isEmpty else { return }
        mark(targets[0])
        if marksLast { mark(targets[targets.count - 1]) }
    }

    /// Marks what a target spec of a relocation needs.
    public mutating func mark(_ spec: AccessSpec) {
        guard target.contains(spec.root) else { return }
        if spec.kind.isFieldBased {
            markField(spec)
        } else if spec.kind == .typeMatches {
            markMatch(spec.root, behindPointer: false)
        } else if spec.kind.isTypeBased {
            markType(spec.root, followPointers: true)
        } else {
            markType(spec.root, followPointers: false)
            if let acc = spec.accessors.first, target.contains(acc.type), target.kind(acc.type).isEnum,
               acc.index < target.vlen(acc.type) {
                markSlot(enumeratorSlot(acc.type, acc.index))
            }
        }
    }

    /// Mirrors bpftool `btfgen_record_field_relo`: the root, then along the raw access path each
    /// member and its type; arrays pass on to their element type.
    private mutating func markField(_ spec: AccessSpec) {
        var id = spec.root
        markType(id, followPointers: false)
        for i in spec.raw.indices.dropFirst() {
            guard let t = target.skipModsAndTypedefs(id) else { return }
            id = t
            switch target.kind(t) {
            case .struct, .union:
                let idx = spec.raw[i]
                guard idx >= 0, idx < target.vlen(t) else { return }
                markSlot(memberSlot(t, idx))
                id = target.member(t, idx).type
                markType(id, followPointers: false)
            case .array:
                id = target.array(t).element
            default:
                return
            }
        }
    }

    /// Marks a type and what it cannot be understood without. Mirrors bpftool
    /// `btfgen_mark_type`: modifiers, typedefs, arrays and function prototypes pull in what they
    /// refer to; pointers only when `followPointers`; structs, unions and enums are kept as
    /// shells (their members are marked separately).
    public mutating func markType(_ start: TypeID, followPointers: Bool) {
        // Most calls reach a type already marked (a member's type, a root shared by many
        // records): those return before the stack is touched.
        guard target.contains(start), start != .void, !types[start.index] else { return }
        stack.append(start)
        while let id = stack.popLast() {
            guard target.contains(id), id != .void, !types[id.index] else { continue }
            setMarked(id.index)
            switch target.kind(id) {
            case .ptr:
                if followPointers { stack.append(target.referenced(id)) }
            case .typedef, .const, .volatile, .restrict, .typeTag:
                stack.append(target.referenced(id))
            case .array:
                let a = target.array(id)
                stack.append(a.index)
                stack.append(a.element)
            case .funcProto:
                for i in (0..<target.vlen(id)).reversed() { stack.append(target.param(id, i).type) }
                stack.append(target.referenced(id))
            case .func, .var, .declTag:
                // Not in bpftool (it fails on these kinds); without what they name, a func would
                // refer to void instead of a func_proto and a var would be of type void: invalid.
                stack.append(target.referenced(id))
            default:
                break
            }
        }
    }

    /// Keeps a type structurally whole: every member of it and of the structs and unions it
    /// embeds, and shells of what its pointers reach. Used where a trimmed candidate must
    /// not change how libbpf matches it.
    public mutating func markWhole(_ id: TypeID) {
        markMatch(id, behindPointer: false)
    }

    /// Keeps a zero-length array member from turning into a flexible array member: libbpf treats
    /// `T a[0]` as flexible only when it is the last member, so when the last kept member of a
    /// struct is such an array but was not last in the source, the source's last member is kept
    /// too. Call after all relocations are marked.
    public mutating func finalize() {
        // Types marked on the way are shells with no members marked: nothing to do for them,
        // but walking them too keeps the loop simple (`marked` grows while it runs).
        var next = 0
        while next < marked.count {
            let i = marked[next]
            next += 1
            if whole[i] { continue }
            let id = TypeID(UInt32(i))
            guard target.kind(id).isComposite else { continue }
            let n = target.vlen(id)
            guard n > 1, let last = (0..<n).last(where: { isSlotMarked(memberSlot(id, $0)) }), last != n - 1 else { continue }
            guard let t = target.skipModsAndTypedefs(target.member(id, last).type),
                  target.kind(t) == .array, target.array(t).count == 0 else { continue }
            markSlot(memberSlot(id, n - 1))
            markType(target.member(id, n - 1).type, followPointers: false)
        }
    }

    /// Marks what libbpf's `type_matches` compares. Mirrors bpftool `btfgen_mark_type_match`:
    /// structs and unions with all their members (recursively) unless behind a pointer; enums
    /// whole.
    ///
    /// bpftool recurses; this walks an explicit stack and visits each (type, behind a pointer)
    /// pair once per marker (a second visit would mark nothing new), so 10000 structs nested by
    /// value or any pointer cycle are marked in linear time, with no depth limit to cut the
    /// marks short.
    private mutating func markMatch(_ start: TypeID, behindPointer: Bool) {
        var stack = [(start, behindPointer)]
        while let (id, behindPointer) = stack.popLast() {
            guard target.contains(id), id != .void else { continue }
            let bit: UInt8 = behindPointer ? 1 : 2
            if matchVisited[id.index] & bit != 0 { continue }
            matchVisited[id.index] |= bit
            let k = target.kind(id)
            let firstVisit = !types[id.index]
            if firstVisit { setMarked(id.index) }
            // Children are pushed in reverse so that they are visited in bpftool's order.
            switch k {
            case .struct, .union:
                if behindPointer || whole[id.index] { continue }
                whole[id.index] = true
                for i in 0..<target.vlen(id) { markSlot(memberSlot(id, i)) }
                for i in (0..<target.vlen(id)).reversed() { stack.append((target.member(id, i).type, false)) }
            case .enum, .enum64:
                whole[id.index] = true
            case .typedef, .const, .volatile, .restrict, .typeTag:
                if firstVisit || !behindPointer { stack.append((target.referenced(id), behindPointer)) }
            case .ptr:
                if firstVisit { stack.append((target.referenced(id), true)) }
            case .array:
                let a = target.array(id)
                stack.append((a.index, false))
                stack.append((a.element, false))
            case .funcProto:
                if !firstVisit { continue }
                for i in (0..<target.vlen(id)).reversed() { stack.append((target.param(id, i).type, false)) }
                stack.append((target.referenced(id), false))
            case .func, .var, .declTag:
                // Kept valid as `markType` keeps them (libbpf's match never looks inside).
                if firstVisit { markType(target.referenced(id), followPointers: false) }
            default:
                break
            }
        }
    }

    func memberSlot(_ id: TypeID, _ i: Int) -> Int { Int(target.records[id.index].firstWord) + 3 * i }

    func enumeratorSlot(_ id: TypeID, _ i: Int) -> Int {
        Int(target.records[id.index].firstWord) + (target.kind(id) == .enum64 ? 3 : 2) * i
    }

    func isSlotMarked(_ slot: Int) -> Bool { slots[slot >> 6] >> UInt64(slot & 63) & 1 != 0 }

    private mutating func markSlot(_ slot: Int) {
        let w = slot >> 6
        if slots[w] == 0 { slotWords.append(w) }
        slots[w] |= 1 << UInt64(slot & 63)
    }

    /// Clears every mark, in time proportional to what was marked: one marker serves many
    /// separate markings of the same target (what `Explanation` does per reason).
    public mutating func reset() {
        // Every type `markMatch` visits is marked, so clearing the marked types clears all.
        for i in marked {
            types[i] = false
            whole[i] = false
            matchVisited[i] = 0
        }
        marked.removeAll(keepingCapacity: true)
        for w in slotWords { slots[w] = 0 }
        slotWords.removeAll(keepingCapacity: true)
    }

    private mutating func setMarked(_ index: Int) {
        types[index] = true
        marked.append(index)
    }

    func isWhole(_ id: TypeID) -> Bool { whole[id.index] }
}

extension Decision {
    /// Whether `Marker.mark(_:)` marks the last target besides the first: the candidate that
    /// conflicts with it, when libbpf fails on the ambiguity. The outcome is read only when
    /// there is such a target (reading it copies it, for every decision of every object).
    var marksLastTarget: Bool { targets.count > 1 && isLibbpfError }

    /// Whether libbpf fails the relocation (`.error`; not btfgen's `.limit`, which
    /// `Resolution.isError` counts too): an ambiguity, whose conflicting candidate is marked too.
    var isLibbpfError: Bool {
        if case .error = outcome { return true }
        return false
    }
}
