import BTF

/// What libbpf does with one CO-RE relocation against one target BTF.
public struct Resolution: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The instruction is patched with `value.new`, or poisoned when `value.poison`.
        case value(RelocationValue)
        /// libbpf fails the relocation and so the whole object load.
        case error(String)
    }

    public var record: RelocationRecord
    /// The local spec, when the access string parsed.
    public var localSpec: AccessSpec?
    /// The target specs of the candidates that matched, in libbpf's candidate order. On an
    /// ambiguity error, the matches up to and including the conflicting one.
    public var targets: [AccessSpec]
    public var outcome: Outcome

    public var isPoisoned: Bool { if case .value(let v) = outcome { return v.poison } else { return false } }
    public var isError: Bool { if case .error = outcome { return true } else { return false } }
}

/// Resolves CO-RE relocations of one BPF object against one target BTF, as libbpf does at load
/// time. Pure: no I/O.
/// An object's relocations with what does not depend on the target worked out once: the
/// local access specs, and the names and kinds the relocations look up. A run over many kernels
/// prepares each object once.
public struct PreparedRelocations: Sendable {
    public let local: BTF
    public let records: [RelocationRecord]
    /// The essential names the relocations look up in a target (for `CandidateIndex`).
    public let wantedNames: Set<ArraySlice<UInt8>>
    /// The kinds of the local types they look up (for `CandidateIndex`).
    public let wantedKinds: Set<Kind>
    /// Each record's local spec, or why it cannot be parsed; nil where the local type is out of
    /// range (the resolver says so before it parses).
    let localSpecs: [Result<AccessSpec, SpecError>?]

    public init(local: BTF, records: [RelocationRecord]) {
        self.local = local
        self.records = records
        wantedNames = Resolver.wantedNames(local: local, records: records)
        wantedKinds = Resolver.wantedKinds(local: local, records: records)
        localSpecs = records.map { r in
            guard local.contains(r.type) else { return nil }
            do throws(SpecError) {
                return .success(try AccessSpec(parsing: r.accessString, root: r.type, kind: r.kind, in: local))
            } catch {
                return .failure(error)
            }
        }
    }
}

public struct Resolver {
    public let local: BTF
    public let target: BTF
    private let index: CandidateIndex
    /// libbpf's candidate cache, keyed by local type id: shared by all relocations of the object
    /// and narrowed to the matching candidates after each relocation that matched any.
    private var cache: [TypeID: [TypeID]] = [:]
    /// Comparison steps left for the relocations still to come (see `MatchBudget`).
    private var stepsLeft = maxObjectMatchSteps

    public init(local: BTF, target: BTF, index: CandidateIndex) {
        self.local = local
        self.target = target
        self.index = index
    }

    /// The essential names an object's relocations look up in a target (for `CandidateIndex`).
    public static func wantedNames(local: BTF, records: [RelocationRecord]) -> Set<ArraySlice<UInt8>> {
        var names = Set<ArraySlice<UInt8>>()
        for r in records where r.kind != .typeIDLocal && local.contains(r.type) {
            let n = local.essentialName(r.type)
            if !n.isEmpty { names.insert(n) }
        }
        return names
    }

    /// The kinds of the local types an object's relocations look up (for `CandidateIndex`).
    public static func wantedKinds(local: BTF, records: [RelocationRecord]) -> Set<Kind> {
        Set(records.filter { $0.kind != .typeIDLocal && local.contains($0.type) }.map { local.kind($0.type) })
    }

    /// Resolves every record in order (the order libbpf processes `.BTF.ext`), so that the
    /// candidate cache evolves exactly as libbpf's does.
    public static func resolve(local: BTF, records: [RelocationRecord], target: BTF, index: CandidateIndex) -> [Resolution] {
        var resolver = Resolver(local: local, target: target, index: index)
        return records.map { resolver.resolve($0) }
    }

    /// `resolve(local:records:target:index:)` for relocations prepared once for many targets.
    public static func resolve(_ prepared: PreparedRelocations, target: BTF, index: CandidateIndex) -> [Resolution] {
        var resolver = Resolver(local: prepared.local, target: target, index: index)
        return prepared.records.indices.map { resolver.resolve(prepared.records[$0], localSpec: prepared.localSpecs[$0]) }
    }

    /// Mirrors libbpf `bpf_core_resolve_relo` + `bpf_core_calc_relo_insn`.
    public mutating func resolve(_ record: RelocationRecord) -> Resolution {
        resolve(record, localSpec: nil)
    }

    /// `resolve(_:)`, given the local spec parsed beforehand (nil: parse it here).
    mutating func resolve(_ record: RelocationRecord, localSpec parsed: Result<AccessSpec, SpecError>?) -> Resolution {
        var res = Resolution(record: record, localSpec: nil, targets: [], outcome: .error(""))
        let localID = record.type
        guard local.contains(localID) else {
            res.outcome = .error("local type \(localID) out of range")
            return res
        }
        let localKind = local.kind(localID)
        let localName = local.stringBytes(local.nameOffset(localID))
        var cands: [TypeID] = []
        if record.kind != .typeIDLocal {
            if let cached = cache[localID] {
                cands = cached
            } else {
                guard !localName.isEmpty else {
                    res.outcome = .error("target candidate search failed for \(localID) \(localKind) <anon>: -22")
                    return res
                }
                cands = index.candidates(essentialName: localName.prefix(essentialNameLength(localName)), kind: localKind, in: target)
                cache[localID] = cands
            }
        }
        let localSpec: AccessSpec
        do throws(SpecError) {
            switch parsed {
            case .success(let spec)?: localSpec = spec
            case .failure(let error)?: throw error
            case nil: localSpec = try AccessSpec(parsing: record.accessString, root: localID, kind: record.kind, in: local)
            }
        } catch {
            let n = localName.isEmpty ? "<anon>" : String(decoding: localName, as: UTF8.self)
            res.outcome = .error("parsing \(localID) \(localKind) \(n) + \(record.accessString) failed: \(error.message)")
            return res
        }
        res.localSpec = localSpec
        if record.kind == .typeIDLocal {
            var v = RelocationValue()
            v.validate = false
            v.original = UInt64(localID.rawValue)
            v.new = UInt64(localID.rawValue)
            res.outcome = .value(v)
            return res
        }
        if localName.isEmpty {
            res.outcome = .error("<\(record.kind)> (\(record.kind.rawValue)) relocation doesn't support anonymous types")
            return res
        }
        var kept: [TypeID] = []
        var first: (spec: AccessSpec, value: RelocationValue)?
        // One budget for all candidates of this relocation, within what the object has left.
        let budget = MatchBudget(steps: min(maxMatchSteps, stepsLeft), limitedByObject: stepsLeft < maxMatchSteps)
        defer { stepsLeft -= budget.used }
        do throws(SpecError) {
            for (i, cand) in cands.enumerated() {
                let matched: AccessSpec?
                do throws(SpecError) {
                    matched = try matchSpec(localSpec, local: local, target: target, candidate: cand, budget: budget)
                } catch {
                    res.targets.append(AccessSpec(root: cand, kind: record.kind))
                    throw SpecError(message: "error matching candidate #\(i) \(cand): \(error.message)")
                }
                guard let spec = matched else { continue }
                let value = try calcRelocation(record.kind, local: localSpec, localBTF: local, target: spec,
                                               targetBTF: target, insn: record.insn)
                res.targets.append(spec)
                if let f = first {
                    if spec.bitOffset != f.spec.bitOffset {
                        throw SpecError(message: "field offset ambiguity: \(spec.bitOffset) != \(f.spec.bitOffset)")
                    }
                    if value.poison != f.value.poison || value.new != f.value.new {
                        throw SpecError(message: "relocation decision ambiguity: \(value.poison ? "failure" : "success") \(value.new) != \(f.value.poison ? "failure" : "success") \(f.value.new)")
                    }
                } else {
                    first = (spec, value)
                }
                kept.append(cand)
            }
            if !kept.isEmpty { cache[localID] = kept }
            if let f = first {
                res.outcome = .value(f.value)
            } else {
                res.outcome = .value(try calcRelocation(record.kind, local: localSpec, localBTF: local, target: nil,
                                                        targetBTF: target, insn: record.insn))
            }
        } catch {
            res.outcome = .error(error.message)
        }
        return res
    }
}

extension Resolution {
    /// The result in libbpf's words: `patched: 16 -> 2456`, `poisoned`, or `error: …`.
    public func describe(targetBTF: BTF) -> String {
        switch outcome {
        case .error(let message):
            return "error: \(message)"
        case .value(let v):
            if v.poison { return "poisoned (no matching target)" }
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
            if v.failMemorySizeAdjust { s += " (mem size adjust unsafe: poisoned if a load/store)" }
            return s
        }
    }
}
