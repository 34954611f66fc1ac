import BTF

/// What libbpf does with one CO-RE relocation against one target BTF.
public struct Resolution: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The instruction is patched with `value.new`, or poisoned when `value.poison`.
        case value(RelocationValue)
        /// libbpf fails the relocation and so the whole object load.
        case error(String)
        /// btfgen stopped comparing types at its safety limit (see `MatchBudget`): not a libbpf
        /// outcome. Only crafted type graphs reach it.
        case limit(String)
    }

    public var record: RelocationRecord
    /// The local spec, when the access string parsed.
    public var localSpec: AccessSpec?
    /// The target specs of the candidates that matched, in libbpf's candidate order. On an
    /// ambiguity error, the matches up to and including the conflicting one.
    public var targets: [AccessSpec]
    public var outcome: Outcome

    public init(record: RelocationRecord, localSpec: AccessSpec?, targets: [AccessSpec], outcome: Outcome) {
        self.record = record
        self.localSpec = localSpec
        self.targets = targets
        self.outcome = outcome
    }

    public var isPoisoned: Bool { if case .value(let v) = outcome { return v.poison } else { return false } }
    /// libbpf fails the load here, or btfgen gave up at its limit.
    public var isError: Bool { if case .value = outcome { return false } else { return true } }
}

/// One distinct question a relocation asks: its kind, local type and access string. Real
/// programs ask a few hundred questions tens of thousands of times.
public struct RelocationKey: Hashable, Sendable {
    public var kind: RelocationKind
    public var type: TypeID
    public var accessString: String
}

/// An object's relocations with what does not depend on the target worked out once: the
/// distinct questions, their local access specs, and the names and kinds they look up. A run
/// over many kernels prepares each object once.
public struct PreparedRelocations: Sendable {
    public let local: BTF
    public let records: RelocationTable
    /// The essential names the relocations look up in a target (for `CandidateIndex`).
    public let wantedNames: Set<ArraySlice<UInt8>>
    /// The kinds of the local types they look up (for `CandidateIndex`).
    public let wantedKinds: Set<Kind>
    /// The distinct questions, in order of first appearance.
    public let keys: [RelocationKey]
    /// Each record's question: an index into `keys`.
    public let keyOfRecord: [Int32]
    /// Each question's local spec, or why it cannot be parsed; nil where the local type is out
    /// of range (the resolver says so before it parses).
    let localSpecs: [Result<AccessSpec, SpecError>?]

    public init(local: BTF, records: [RelocationRecord]) {
        self.init(local: local, records: RelocationTable(records))
    }

    public init(local: BTF, records: RelocationTable) {
        self.local = local
        self.records = records
        var keys: [RelocationKey] = []
        var indexOf: [RelocationKey: Int32] = [:]
        // Records read from an object name their access string by offset (one offset is one
        // string): a repeated question is found by its packed (type, offset, kind) without
        // hashing the string. Records without an offset, or whose parts do not pack, hash it.
        var indexOfOffset = PackedTable()
        var keyOfRecord = [Int32](repeating: 0, count: records.count)
        // Field by field: building a record would make its two strings.
        for i in records.indices {
            let type = records.type(i), kind = records.kind(i)
            let byOffset = records.accessStringOffset(i).flatMap {
                PackedTable.pack(type: type.rawValue, offset: Int($0.rawValue), kind: kind.rawValue)
            }
            if let byOffset, let known = indexOfOffset[byOffset] {
                keyOfRecord[i] = known
                continue
            }
            let key = RelocationKey(kind: kind, type: type, accessString: records.accessString(i))
            let k: Int32
            if let known = indexOf[key] {
                k = known
            } else {
                k = Int32(keys.count)
                indexOf[key] = k
                keys.append(key)
            }
            if let byOffset { indexOfOffset.insert(byOffset, k) }
            keyOfRecord[i] = k
        }
        self.keyOfRecord = keyOfRecord
        self.keys = keys
        // What the index needs, from the distinct questions rather than every record.
        var names = Set<ArraySlice<UInt8>>(), kinds = Set<Kind>()
        for k in keys where k.kind != .typeIDLocal && local.contains(k.type) {
            let n = local.essentialName(k.type)
            if !n.isEmpty { names.insert(n) }
            kinds.insert(local.kind(k.type))
        }
        wantedNames = names
        wantedKinds = kinds
        localSpecs = keys.map { k in
            guard local.contains(k.type) else { return nil }
            do throws(SpecError) {
                return .success(try AccessSpec(parsing: k.accessString, root: k.type, kind: k.kind, in: local))
            } catch {
                return .failure(error)
            }
        }
    }
}

/// An open-addressing map from a question named by (local type, access string offset, kind),
/// packed into 64 bits, to its index: the records of a real program look it up tens of
/// thousands of times, and a `Dictionary` would hash each key with SipHash.
private struct PackedTable {
    private var slots = [UInt64](repeating: 0, count: 1024)
    private var values = [Int32](repeating: 0, count: 1024)
    private var count = 0

    /// The key, or nil where a part does not fit (such records take the `Dictionary` path).
    static func pack(type: UInt32, offset: Int, kind: UInt32) -> UInt64? {
        guard type < 1 << 27, offset < 1 << 32, kind < 1 << 5 else { return nil }
        // Never 0, which marks an empty slot.
        return (UInt64(type) << 37 | UInt64(offset) << 5 | UInt64(kind)) &+ 1
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while slots[i] != 0 && slots[i] != key { i = (i + 1) & mask }
        return i
    }

    subscript(key: UInt64) -> Int32? {
        let i = slot(key)
        return slots[i] == key ? values[i] : nil
    }

    mutating func insert(_ key: UInt64, _ value: Int32) {
        if (count + 1) * 2 > slots.count {
            let old = zip(slots, values).filter { $0.0 != 0 }
            slots = [UInt64](repeating: 0, count: slots.count * 2)
            values = [Int32](repeating: 0, count: slots.count)
            for (k, v) in old {
                let i = slot(k)
                slots[i] = k
                values[i] = v
            }
        }
        let i = slot(key)
        if slots[i] == 0 { count += 1 }
        slots[i] = key
        values[i] = value
    }
}

/// What one question gets against the candidates libbpf's cache held when it was asked: the
/// local spec, the matching target specs, and the value before the instruction is patched.
public struct Decision: Sendable {
    public var localSpec: AccessSpec?
    /// As `Resolution.targets`.
    public var targets: [AccessSpec]
    public var outcome: Resolution.Outcome
}

/// What libbpf does with one record: patches its instruction, poisons it, or fails the load
/// (or btfgen stopped at its limit).
public enum RecordStatus: UInt8, Sendable {
    case patched, poisoned, error
}

/// Every relocation of one object resolved against one target: the distinct decisions, and per
/// record which decision it got and its outcome after the patch step.
public struct ResolvedRelocations: Sendable {
    public let records: RelocationTable
    /// The distinct decisions, in the order the records first get them (`resolveAll` adds one
    /// only for the record that asks it): walking them is walking the records' decisions in
    /// file order, each once.
    public let decisions: [Decision]
    /// Per record: an index into `decisions`.
    public let decisionOfRecord: [Int32]
    /// What libbpf does with each record, as a byte: the counts and the reports read this, and
    /// only the records that are not patched get a full `outcome`.
    public let statusOfRecord: [RecordStatus]
    /// How many records libbpf patches, poisons, or fails on (errors include btfgen's limit).
    public let patched: Int, poisoned: Int, errors: Int

    init(records: RelocationTable, decisions: [Decision], decisionOfRecord: [Int32], statusOfRecord: [RecordStatus]) {
        self.records = records
        self.decisions = decisions
        self.decisionOfRecord = decisionOfRecord
        self.statusOfRecord = statusOfRecord
        var counts = (patched: 0, poisoned: 0, errors: 0)
        for s in statusOfRecord {
            switch s {
            case .patched: counts.patched += 1
            case .poisoned: counts.poisoned += 1
            case .error: counts.errors += 1
            }
        }
        (patched, poisoned, errors) = counts
    }

    public var count: Int { records.count }

    /// Record `i`'s outcome: its decision's after libbpf's instruction rules (`patch`), worked
    /// out again when asked rather than kept for every record.
    public func outcome(_ i: Int) -> Resolution.Outcome {
        patch(decisions[Int(decisionOfRecord[i])].outcome, instruction: records.instruction(i), index: records.insn(i))
    }

    public subscript(i: Int) -> Resolution {
        let d = decisions[Int(decisionOfRecord[i])]
        return Resolution(record: records[i], localSpec: d.localSpec, targets: d.targets, outcome: outcome(i))
    }

    /// One `Resolution` per record, in record order.
    public var resolutions: [Resolution] { records.indices.map { self[$0] } }
}

/// Resolves CO-RE relocations of one BPF object against one target BTF, as libbpf does at load
/// time. Pure: no I/O.
///
/// libbpf keeps one candidate list per local type, shared by all relocations of the object and
/// narrowed to the matching candidates after each relocation that matched any. The resolver
/// replays that cache exactly, but decides each (question, candidate) pair once, and each
/// question once per state of its local type's list (a generation counter that moves when the
/// list narrows): a repeated question costs one lookup.
public struct Resolver {
    public let local: BTF
    public let target: BTF
    private let index: CandidateIndex

    /// libbpf's candidate list of one local type: the candidates found by name, and the ones
    /// still in the list (indexes into `all`).
    private struct CandidateList {
        var all: [TypeID]
        var live: [Int32]
        var generation = 0
    }
    private var lists: [CandidateList] = []
    private var listOfType: [TypeID: Int] = [:]
    /// Per question: its local type's list (an index into `lists`), once looked up.
    private var listOfKey: [Int32] = []

    /// How one question fared against one candidate (`bpf_core_spec_match` + `bpf_core_calc_relo`).
    private enum CandidateMatch {
        case none
        case matched(AccessSpec, RelocationValue)
        /// `bpf_core_spec_match` failed: libbpf reports it with the candidate's position.
        case matchFailed(SpecError)
        /// `bpf_core_calc_relo` failed.
        case calcFailed(SpecError)
    }
    /// Per question, per index into its list's `all`: the question's matches are
    /// `matches[matchStart[q]...]`, `matchStart[q]` -1 until it is first decided. One array for
    /// all questions: an array per question was an allocation, and a generic array type's
    /// metadata looked up, for each of the thousands of questions of an object on every kernel.
    private var matches: [CandidateMatch?] = []
    private var matchStart: [Int32] = []
    /// Per question: the decision it got and the generation of its list then.
    private var decided: [(generation: Int, decision: Int32)?] = []
    private(set) var decisions: [Decision] = []
    /// Comparison steps left for this object against this target (see `MatchBudget`).
    private var stepsLeft = CORELimits.objectMatchSteps

    public init(local: BTF, target: BTF, index: CandidateIndex) {
        self.local = local
        self.target = target
        self.index = index
    }

    /// The essential names an object's relocations look up in a target (for `CandidateIndex`).
    public static func wantedNames(local: BTF, records: some Collection<RelocationRecord>) -> Set<ArraySlice<UInt8>> {
        var names = Set<ArraySlice<UInt8>>()
        for r in records where r.kind != .typeIDLocal && local.contains(r.type) {
            let n = local.essentialName(r.type)
            if !n.isEmpty { names.insert(n) }
        }
        return names
    }

    /// The kinds of the local types an object's relocations look up (for `CandidateIndex`).
    public static func wantedKinds(local: BTF, records: some Collection<RelocationRecord>) -> Set<Kind> {
        Set(records.filter { $0.kind != .typeIDLocal && local.contains($0.type) }.map { local.kind($0.type) })
    }

    /// Resolves every record in order (the order libbpf processes `.BTF.ext`), so that the
    /// candidate cache evolves exactly as libbpf's does.
    public static func resolve(local: BTF, records: [RelocationRecord], target: BTF, index: CandidateIndex) -> [Resolution] {
        resolve(local: local, records: RelocationTable(records), target: target, index: index)
    }

    public static func resolve(local: BTF, records: RelocationTable, target: BTF, index: CandidateIndex) -> [Resolution] {
        resolveAll(PreparedRelocations(local: local, records: records), target: target, index: index).resolutions
    }

    /// `resolve(local:records:target:index:)` for relocations prepared once for many targets.
    public static func resolve(_ prepared: PreparedRelocations, target: BTF, index: CandidateIndex) -> [Resolution] {
        resolveAll(prepared, target: target, index: index).resolutions
    }

    /// Resolves every record of a prepared object, keeping decisions shared between records.
    public static func resolveAll(_ prepared: PreparedRelocations, target: BTF, index: CandidateIndex) -> ResolvedRelocations {
        resolveAll(prepared, target: target, index: index, statuses: true)
    }

    /// `resolveAll`; with `statuses` false, without the patch step's status of each record
    /// (`statusOfRecord` empty, the counts 0): the check before writing compares decisions and
    /// outcomes only.
    package static func resolveAll(_ prepared: PreparedRelocations, target: BTF, index: CandidateIndex,
                                   statuses: Bool) -> ResolvedRelocations {
        var resolver = Resolver(local: prepared.local, target: target, index: index)
        resolver.matchStart = [Int32](repeating: -1, count: prepared.keys.count)
        resolver.decided = [(generation: Int, decision: Int32)?](repeating: nil, count: prepared.keys.count)
        resolver.listOfKey = [Int32](repeating: -1, count: prepared.keys.count)
        let records = prepared.records
        let count = records.count
        var decisionOfRecord = [Int32](repeating: 0, count: count)
        var status = [RecordStatus](repeating: .patched, count: statuses ? count : 0)
        // Each decision's value, or nil for an error: what the patch step reads for every record,
        // without copying the decision.
        var valueOf: [RelocationValue?] = []
        // Once per record: no allocation, no bounds or uniqueness checks on the outputs.
        prepared.keyOfRecord.withUnsafeBufferPointer { keyOfRecord in
            decisionOfRecord.withUnsafeMutableBufferPointer { decisionOfRecord in
                status.withUnsafeMutableBufferPointer { status in
                    for i in 0..<count {
                        let key = Int(keyOfRecord[i])
                        // A question asked before, while its local type's list has not changed: one lookup.
                        let d: Int32
                        if let done = resolver.decided[key], resolver.generation(ofKey: key) == done.generation {
                            d = done.decision
                        } else {
                            d = resolver.decide(key, prepared.keys[key], localSpec: prepared.localSpecs[key], insn: records.insn(i))
                            while valueOf.count < resolver.decisions.count {
                                if case .value(let v) = resolver.decisions[valueOf.count].outcome { valueOf.append(v) } else { valueOf.append(nil) }
                            }
                        }
                        decisionOfRecord[i] = d
                        guard statuses else { continue }
                        if let v = valueOf[Int(d)] {
                            if v.poison {
                                status[i] = .poisoned
                            } else if let insn = records.instruction(i) {
                                switch patchVerdict(v, insn) {
                                case .patched: break
                                case .poisonedAccess: status[i] = .poisoned
                                default: status[i] = .error
                                }
                            }
                        } else {
                            status[i] = .error
                        }
                    }
                }
            }
        }
        return ResolvedRelocations(records: prepared.records, decisions: resolver.decisions, decisionOfRecord: decisionOfRecord,
                                   statusOfRecord: status)
    }

    /// Record-by-record resolution with no memo: libbpf's loop as it is written, for tests that
    /// check the memoised resolver against it.
    package static func resolveUnshared(_ prepared: PreparedRelocations, target: BTF, index: CandidateIndex) -> [Resolution] {
        var resolver = Resolver(local: prepared.local, target: target, index: index)
        return prepared.records.indices.map { i in
            let key = Int(prepared.keyOfRecord[i])
            resolver.matches = []
            resolver.matchStart = [Int32](repeating: -1, count: prepared.keys.count)
            resolver.decided = [(generation: Int, decision: Int32)?](repeating: nil, count: prepared.keys.count)
            resolver.listOfKey = [Int32](repeating: -1, count: prepared.keys.count)
            let d = resolver.decisions[Int(resolver.decide(key, prepared.keys[key], localSpec: prepared.localSpecs[key], insn: prepared.records.insn(i)))]
            let r = prepared.records[i]
            return Resolution(record: r, localSpec: d.localSpec, targets: d.targets, outcome: patch(d.outcome, record: r))
        }
    }

    /// The generation of question `key`'s candidate list (0 where it has none, or none yet).
    @inline(__always)
    private func generation(ofKey key: Int) -> Int {
        let l = listOfKey[key]
        return l < 0 ? 0 : lists[Int(l)].generation
    }

    private mutating func add(_ d: Decision) -> Int32 {
        decisions.append(d)
        return Int32(decisions.count - 1)
    }

    /// The decision for question `key` now. Mirrors libbpf `bpf_core_resolve_relo` +
    /// `bpf_core_calc_relo_insn`.
    private mutating func decide(_ key: Int, _ q: RelocationKey, localSpec parsed: Result<AccessSpec, SpecError>?, insn: Int) -> Int32 {
        let localID = q.type
        guard local.contains(localID) else {
            return remember(key, generation: 0, Decision(localSpec: nil, targets: [], outcome: .error("local type \(localID) out of range")))
        }
        let localKind = local.kind(localID)
        let localName = local.stringBytes(local.nameOffset(localID))
        var list = -1
        if q.kind != .typeIDLocal {
            if let l = listOfType[localID] {
                list = l
            } else {
                guard !localName.isEmpty else {
                    return remember(key, generation: 0, Decision(localSpec: nil, targets: [],
                        outcome: .error("target candidate search failed for \(localID) \(localKind) <anon>: -22")))
                }
                let all = index.candidates(essentialName: localName.prefix(essentialNameLength(localName)), kind: localKind, in: target)
                lists.append(CandidateList(all: all, live: all.indices.map { Int32($0) }))
                list = lists.count - 1
                listOfType[localID] = list
            }
            if key < listOfKey.count { listOfKey[key] = Int32(list) }
        }
        let generation = list < 0 ? 0 : lists[list].generation
        if let done = decided[key], done.generation == generation { return done.decision }

        let localSpec: AccessSpec
        do throws(SpecError) {
            switch parsed {
            case .success(let spec)?: localSpec = spec
            case .failure(let error)?: throw error
            case nil: localSpec = try AccessSpec(parsing: q.accessString, root: localID, kind: q.kind, in: local)
            }
        } catch {
            let n = localName.isEmpty ? "<anon>" : String(decoding: localName, as: UTF8.self)
            return remember(key, generation: generation, Decision(localSpec: nil, targets: [],
                outcome: .error("parsing \(localID) \(localKind) \(n) + \(q.accessString) failed: \(error.message)")))
        }
        if q.kind == .typeIDLocal {
            var v = RelocationValue()
            v.validate = false
            v.original = UInt64(localID.rawValue)
            v.new = UInt64(localID.rawValue)
            return remember(key, generation: generation, Decision(localSpec: localSpec, targets: [], outcome: .value(v)))
        }
        if localName.isEmpty {
            return remember(key, generation: generation, Decision(localSpec: localSpec, targets: [],
                outcome: .error("<\(q.kind)> (\(q.kind.rawValue)) relocation doesn't support anonymous types")))
        }
        var d = Decision(localSpec: localSpec, targets: [], outcome: .error(""))
        if matchStart[key] < 0 {
            matchStart[key] = Int32(matches.count)
            matches.append(contentsOf: repeatElement(nil, count: lists[list].all.count))
        }
        let firstMatch = Int(matchStart[key])
        var kept: [Int32] = []
        var first: (spec: AccessSpec, value: RelocationValue)?
        let live = lists[list].live
        for (i, slot) in live.enumerated() {
            let cand = lists[list].all[Int(slot)]
            let m: CandidateMatch
            if let known = matches[firstMatch + Int(slot)] {
                m = known
            } else {
                m = match(localSpec, candidate: cand, insn: insn)
                matches[firstMatch + Int(slot)] = m
            }
            switch m {
            case .none:
                continue
            case .matchFailed(let error):
                d.targets.append(AccessSpec(root: cand, kind: q.kind))
                d.outcome = error.isLimit ? .limit(error.message) : .error("error matching candidate #\(i) \(cand): \(error.message)")
                return remember(key, generation: generation, d)
            case .calcFailed(let error):
                d.outcome = .error(error.message)
                return remember(key, generation: generation, d)
            case .matched(let spec, let value):
                d.targets.append(spec)
                if let f = first {
                    if spec.bitOffset != f.spec.bitOffset {
                        d.outcome = .error("field offset ambiguity: \(spec.bitOffset) != \(f.spec.bitOffset)")
                        return remember(key, generation: generation, d)
                    }
                    if value.poison != f.value.poison || value.new != f.value.new {
                        d.outcome = .error("relocation decision ambiguity: \(value.poison ? "failure" : "success") \(value.new) != \(f.value.poison ? "failure" : "success") \(f.value.new)")
                        return remember(key, generation: generation, d)
                    }
                } else {
                    first = (spec, value)
                }
                kept.append(slot)
            }
        }
        if let f = first {
            d.outcome = .value(f.value)
        } else {
            do throws(SpecError) {
                d.outcome = .value(try calcRelocation(q.kind, local: localSpec, localBTF: local, target: nil,
                                                      targetBTF: target, insn: insn))
            } catch {
                d.outcome = .error(error.message)
            }
        }
        // libbpf narrows the list to the matching candidates when there are any.
        var now = generation
        if !kept.isEmpty && kept.count != live.count {
            lists[list].live = kept
            lists[list].generation += 1
            now = lists[list].generation
        }
        return remember(key, generation: now, d)
    }

    private mutating func remember(_ key: Int, generation: Int, _ d: Decision) -> Int32 {
        let i = add(d)
        decided[key] = (generation, i)
        return i
    }

    /// One question against one candidate, within this object's comparison steps.
    private mutating func match(_ localSpec: AccessSpec, candidate: TypeID, insn: Int) -> CandidateMatch {
        let budget = MatchBudget(steps: min(CORELimits.matchSteps, stepsLeft), limitedByObject: stepsLeft < CORELimits.matchSteps)
        defer { stepsLeft -= budget.used }
        let spec: AccessSpec
        do throws(SpecError) {
            guard let s = try matchSpec(localSpec, local: local, target: target, candidate: candidate, budget: budget) else { return .none }
            spec = s
        } catch {
            return .matchFailed(error)
        }
        do throws(SpecError) {
            return .matched(spec, try calcRelocation(localSpec.kind, local: localSpec, localBTF: local, target: spec,
                                                     targetBTF: target, insn: insn))
        } catch {
            return .calcFailed(error)
        }
    }
}

/// A relocation that does not patch its instruction: libbpf poisons it, or refuses the load.
public struct RelocationProblem: Sendable, Equatable {
    /// `.poisoned` or `.error`.
    public var status: RecordStatus
    /// libbpf's reason, without the class: `no matching target`, `relocation kind … ambiguous`.
    public var reason: String

    public init(status: RecordStatus, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// As `describe` and `-v` print it: `poisoned (REASON)` or `error: REASON`.
    public var text: String { status == .error ? "error: \(reason)" : "poisoned (\(reason))" }
}

extension Resolution {
    /// The outcome as a problem, or nil when libbpf patches the instruction.
    public var problem: RelocationProblem? {
        switch outcome {
        case .error(let message):
            return RelocationProblem(status: .error, reason: message)
        case .limit(let message):
            return RelocationProblem(status: .error, reason: "not resolved: \(message)")
        case .value(let v):
            if v.poisonedAccess {
                return RelocationProblem(status: .poisoned, reason: "load/store of a field whose size changed \(v.originalSize) -> \(v.newSize) bytes in a way libbpf cannot adjust")
            }
            return v.poison ? RelocationProblem(status: .poisoned, reason: "no matching target") : nil
        }
    }

    /// The result in libbpf's words: `patched: 16 -> 2456`, `poisoned (…)`, or `error: …`.
    public func describe(targetBTF: BTF) -> String {
        if let problem { return problem.text }
        switch outcome {
        case .error, .limit:
            return "" // problems, described above
        case .value(let v):
            if record.kind == .typeIDTarget {
                let id = TypeID(UInt32(truncatingIfNeeded: v.new))
                if v.new == 0 { return "\(v.original) -> 0" }
                let n = targetBTF.name(id)
                return "\(v.original) -> \(targetBTF.kind(id)) \(n.isEmpty ? "<anon>" : n)"
            }
            var s = "\(v.original) -> \(v.new)"
            if record.kind == .fieldByteOffset && v.originalSize != v.newSize && !v.failMemorySizeAdjust {
                s += " (mem_sz \(v.originalSize) -> \(v.newSize))"
            }
            if v.failMemorySizeAdjust && record.instruction == nil { s += " (mem size adjust unsafe: poisoned if a load/store)" }
            return s
        }
    }
}
