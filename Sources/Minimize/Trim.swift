import BTF
import CORE

/// An object's relocations resolved against one kernel.
public struct ObjectResult: Sendable {
    public var object: String
    public var resolved: ResolvedRelocations

    public init(object: String, resolved: ResolvedRelocations) {
        self.object = object
        self.resolved = resolved
    }

    /// One `Resolution` per record (built on demand: the run keeps only the compact form).
    public var resolutions: [Resolution] { resolved.resolutions }

    public var total: Int { resolved.count }
    public var errors: Int { resolved.errors }
    public var unresolved: Int { resolved.poisoned }
    public var resolvedCount: Int { total - errors - unresolved }
}

/// The trimmed BTF of one kernel and what each object's relocations did against it.
public struct TrimResult: Sendable {
    public var btf: BTF
    public var objects: [ObjectResult]
    /// Relocations whose outcome against the trimmed BTF still differs from the full BTF after
    /// the fallback (expected to be empty; reported as a warning, never silently).
    public var mismatches: [String] = []
    /// Relocations whose outcome against the first trimmed BTF differed from the full BTF's, so
    /// that the check before writing repaired the output (0 on every real input seen so far).
    public var repaired = 0
    /// What the check before writing marked, round by round, for which record of which object
    /// (empty when the first output was right): what `explain` replays after the relocations.
    public var repairs: [[RepairStep]] = []
    /// The trim's final marks, in the kernel's ids.
    var marks: Marker?
    /// Module types written under another name so that the trimmed BTF, read as one file, gives
    /// them to no local type as candidates (`Marker.moduleClashes`).
    public var renames: [ModuleRename] = []
    /// `renames` as `-v` prints them: `struct x of mod as btfgen_mod__x`.
    public var renamed: [String] { renames.map(\.description) }
    /// What the trimmed BTF keeps, in the kernel's ids (`Marker.keptItems()`).
    public var kept: [KeptItem] { marks?.keptItems() ?? [] }
}

/// A module type the trimmed BTF holds under another name (`Marker.moduleClashes`).
public struct ModuleRename: Sendable, Equatable, Codable, CustomStringConvertible {
    public var module: String
    /// The type's kind and name in the module (`struct`, `nf_conn`).
    public var kind: String
    public var name: String
    /// Its name in the trimmed BTF.
    public var renamedTo: String

    public var description: String { "\(kind) \(name) of \(module) as \(renamedTo)" }
}

/// One mark the check before writing added, and the record whose outcome asked for it.
public struct RepairStep: Sendable {
    public var step: MarkStep
    public var object: Int
    public var record: Int
}

/// What must be equal between the full and the trimmed BTF for one relocation: the outcome
/// class and value (for `target_type_id`, the kind and name of the target type, since ids are
/// renumbered), and the load/store size libbpf would patch in. Compared for every relocation
/// of every kernel, so it holds no strings, only what they would be made of.
struct Signature: Equatable {
    enum Outcome: Equatable {
        case error, poison
        case targetType(Kind?, ArraySlice<UInt8>)
        case value(UInt64, UInt32, Bool)
    }
    var outcome: Outcome

    init(_ o: Resolution.Outcome, kind: RelocationKind, _ target: BTF) {
        switch o {
        case .error, .limit: outcome = .error
        case .value(let v):
            if v.poison {
                outcome = .poison
            } else if kind == .typeIDTarget {
                let id = TypeID(UInt32(truncatingIfNeeded: v.new))
                outcome = v.new == 0 ? .targetType(nil, []) : .targetType(target.kind(id), target.stringBytes(target.nameOffset(id)))
            } else {
                outcome = .value(v.new, v.newSize, v.failMemorySizeAdjust)
            }
        }
    }

    /// How a mismatch names the outcome.
    var text: String {
        switch outcome {
        case .error: return "error"
        case .poison: return "poison"
        case .targetType(nil, _): return "0"
        case .targetType(let kind?, let name): return "\(kind) \(String(decoding: name, as: UTF8.self))"
        case .value(let new, let size, let adjust): return "\(new) \(size) \(adjust)"
        }
    }
}

/// The objects of a run, with what does not depend on the kernel worked out once for all
/// kernels: each object's local specs, and the names and kinds they look up.
public struct TrimObjects: Sendable {
    /// Each object's name (its path, as reports and mismatches name it).
    public let names: [String]
    let prepared: [PreparedRelocations]
    let wanted: Set<ArraySlice<UInt8>>
    let kinds: Set<Kind>

    /// Objects by name, each with its own BTF and its CO-RE records in `.BTF.ext` order.
    public init(_ objects: [(name: String, relocations: PreparedRelocations)]) {
        names = objects.map(\.name)
        prepared = objects.map(\.relocations)
        wanted = prepared.reduce(into: []) { $0.formUnion($1.wantedNames) }
        kinds = prepared.reduce(into: []) { $0.formUnion($1.wantedKinds) }
    }

    public var count: Int { names.count }
}

/// Resolves every object's relocations against `kernel` and keeps what they need.
///
/// The kernel is indexed once for all objects; each object gets its own candidate cache, as
/// each is a separate libbpf load. The trimmed BTF is then checked by resolving every
/// relocation against it: where an outcome would differ, the candidates of that local type are
/// kept whole and the output is built again.
public func trim(kernel: BTF, objects: TrimObjects) -> TrimResult {
    trim(kernel: kernel, objects: objects, leavingUnmarked: [])
}

/// `trim(kernel:objects:)` with the first pass leaving the relocations at `leavingUnmarked`
/// (indexes into the first object's records) unmarked: how the tests make the check fail and
/// watch the fallback repair the output.
package func trim(kernel: BTF, objects run: TrimObjects, leavingUnmarked: Set<Int>) -> TrimResult {
    trim(kernel: kernel, run: run, leavingUnmarked: leavingUnmarked)
}

private func trim(kernel: BTF, run: TrimObjects, leavingUnmarked: Set<Int>) -> TrimResult {
    let index = CandidateIndex(target: kernel, wanted: run.wanted, kinds: run.kinds)
    var marker = Marker(target: kernel)
    var results: [ObjectResult] = []
    for (i, name) in run.names.enumerated() {
        let resolved = Resolver.resolveAll(run.prepared[i], target: kernel, index: index)
        // Each decision once: the first matching candidate (or an ambiguity's conflicting pair).
        var done = [Bool](repeating: false, count: resolved.decisions.count)
        for (j, d) in resolved.decisionOfRecord.enumerated() where !done[Int(d)] {
            if i == 0 && leavingUnmarked.contains(j) { continue }
            done[Int(d)] = true
            marker.mark(resolved.decisions, at: Int(d))
        }
        results.append(ObjectResult(object: name, resolved: resolved))
    }
    marker.finalize()
    var renames = marker.moduleClashes(wanted: run.wanted, index: index)
    var out = marker.emit(renaming: renames)
    var mismatches = verify(out, run: run, results: results, kernel: kernel)
    let repaired = mismatches.count
    var repairs: [[RepairStep]] = []
    // Where an outcome differs: on a 32-bit kernel first keep its `long` (the pointer size), then
    // every matching candidate of that local type (what libbpf's narrowing of the cache may
    // depend on), then, if still needed, those candidates whole.
    for repair in [Repair.pointerSize, .allMatches, .wholeCandidates] where !mismatches.isEmpty {
        if repair == .pointerSize {
            // A 32-bit kernel's pointer size, which libbpf reads from its `long`.
            guard kernel.pointerSize != 8 else { continue }
            marker.markPointerSize()
            repairs.append(mismatches.map { RepairStep(step: .pointerSize, object: $0.object, record: $0.recordIndex) })
            marker.finalize()
            renames = marker.moduleClashes(wanted: run.wanted, index: index)
            out = marker.emit(renaming: renames)
            mismatches = verify(out, run: run, results: results, kernel: kernel)
            continue
        }
        var types = Set<[Int]>()
        var round: [RepairStep] = []
        for m in mismatches where types.insert([m.object, Int(m.record.type.rawValue)]).inserted {
            let resolved = results[m.object].resolved
            switch repair {
            case .allMatches:
                for d in resolved.decisions where d.localSpec?.root == m.record.type {
                    for spec in d.targets {
                        marker.mark(spec)
                        round.append(RepairStep(step: .spec(spec), object: m.object, record: m.recordIndex))
                    }
                }
            case .pointerSize:
                break
            case .wholeCandidates:
                let local = run.prepared[m.object].local
                let name = local.essentialName(m.record.type)
                for cand in index.candidates(essentialName: name, kind: local.kind(m.record.type), in: kernel) {
                    marker.markWhole(cand)
                    round.append(RepairStep(step: .whole(cand), object: m.object, record: m.recordIndex))
                }
            }
        }
        repairs.append(round)
        marker.finalize()
        renames = marker.moduleClashes(wanted: run.wanted, index: index)
        out = marker.emit(renaming: renames)
        mismatches = verify(out, run: run, results: results, kernel: kernel)
    }
    return TrimResult(btf: out, objects: results, mismatches: mismatches.map {
        "\(run.names[$0.object]): \($0.record.section) relo #\($0.record.index) <\($0.record.kind)> \($0.record.accessString): \($0.full) with the full BTF, \($0.trimmed) with the trimmed one"
    }, repaired: repaired, repairs: repairs, marks: marker, renames: renames.keys.sorted().map { i in
        let id = TypeID(UInt32(i))
        return ModuleRename(module: kernel.module(of: id)?.name ?? "?", kind: "\(kernel.kind(id))", name: kernel.name(id),
                            renamedTo: String(decoding: renames[i]!, as: UTF8.self))
    })
}

/// Why the trimmed BTF of `result` keeps each type, member and enumerator, and the bytes each
/// object accounts for: `trim`'s marking replayed one reason at a time (relocation decisions
/// in file order, then the check before writing's repairs).
public func explain(kernel: BTF, result: TrimResult) -> Explanation {
    Explanation(target: kernel, output: result.btf, objectCount: result.objects.count, rounds: markRounds(result))
}

/// The bytes of `result`'s trimmed BTF each object owns or shares (`Explanation.bytes`), what a
/// run's report gives per kernel without the rest of `explain`. It marks on the trim's own
/// marker, so pass `result` at its last use: a copy still holding the marks makes it mark on
/// a copy.
public func attributeBytes(kernel: BTF, result: consuming TrimResult) -> Explanation.Bytes {
    var repairsOf = [[MarkStep]](repeating: [], count: result.objects.count)
    for step in result.repairs.joined() { repairsOf[step.object].append(step.step) }
    // Objects whose decisions mark the same specs in the same order mark the same (two versions
    // of one tool, often): each such group is marked once. Objects with repairs are left apart.
    var sameAs = Array(result.objects.indices)
    var byPrint: [UInt64: [Int]] = [:]
    byPrint.reserveCapacity(result.objects.count)
    for (o, object) in result.objects.enumerated() where repairsOf[o].isEmpty {
        // A fingerprint of each decision's first target (root and last index, read in place),
        // then a full comparison among objects with the same one: a multiply-and-rotate mix,
        // as only equal fingerprints are compared and a collision costs one comparison.
        let decisions = object.resolved.decisions
        var print = UInt64(decisions.count)
        decisions.withUnsafeBufferPointer { ds in
            for d in ds.indices {
                // The targets alone: a decision read out of the array whole would be copied.
                let targets = ds[d].targets
                let root = targets.isEmpty ? 0 : UInt64(targets[0].root.rawValue) + 1
                let last = targets.isEmpty ? 0 : UInt64(bitPattern: Int64(targets[0].raw.last ?? -1))
                let mixed = (print ^ root) &* 0x9E37_79B9_7F4A_7C15
                print = (mixed << 27 | mixed >> 37) ^ last
            }
        }
        if let same = byPrint[print]?.first(where: { sameMarks(result.objects[$0].resolved.decisions, decisions) }) {
            sameAs[o] = same
        } else {
            byPrint[print, default: []].append(o)
        }
    }
    let kept = result.kept
    let scratch = result.marks.take()
    return Explanation.bytes(target: kernel, output: result.btf, objectCount: result.objects.count, kept: kept, sameAs: sameAs,
                             scratch: scratch) { o, marker in
        // The decisions in the order the records first get them (`ResolvedRelocations.decisions`),
        // read in place.
        let decisions = result.objects[o].resolved.decisions
        for d in decisions.indices { marker.mark(decisions, at: d) }
        for step in repairsOf[o] { Explanation.apply(step, to: &marker) }
    }
}

/// Whether two objects' decisions, marked in order, mark the same specs (`Marker.mark(_:)`),
/// read in place.
private func sameMarks(_ a: [Decision], _ b: [Decision]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            for d in a.indices {
                let ta = a[d].targets, tb = b[d].targets, last = a[d].marksLastTarget
                guard ta.first == tb.first, last == b[d].marksLastTarget,
                      !last || ta[ta.count - 1] == tb[tb.count - 1] else { return false }
            }
            return true
        }
    }
}

/// `trim`'s marking steps: each object's decisions in file order, then the check's repairs.
private func markRounds(_ result: TrimResult) -> [[(step: MarkStep, cause: KeepCause, object: Int)]] {
    var first: [(step: MarkStep, cause: KeepCause, object: Int)] = []
    for (i, o) in result.objects.enumerated() {
        // The decisions in the order the records first get them (`ResolvedRelocations.decisions`).
        for (d, decision) in o.resolved.decisions.enumerated() {
            first.append((.decision(decision), .relocation(object: i, decision: d), i))
        }
    }
    let repairs = result.repairs.map { round in
        round.map { (step: $0.step, cause: KeepCause.check(object: $0.object, record: $0.record), object: $0.object) }
    }
    return [first] + repairs
}

private enum Repair { case pointerSize, allMatches, wholeCandidates }

private struct Mismatch {
    var object: Int
    var recordIndex: Int
    var record: RelocationRecord
    var full: String
    var trimmed: String
}

/// Resolves every relocation against the trimmed BTF and lists those whose outcome differs.
private func verify(_ out: BTF, run: TrimObjects, results: [ObjectResult], kernel: BTF) -> [Mismatch] {
    let index = CandidateIndex(target: out, wanted: run.wanted)
    var mismatches: [Mismatch] = []
    for i in run.prepared.indices {
        let full = results[i].resolved
        let again = Resolver.resolveAll(run.prepared[i], target: out, index: index, statuses: false)
        // Records that got the same decisions on both sides have the same outcomes (the patch
        // step is the same for both): each pair of decisions is compared once.
        var pairedWith = [Int32](repeating: -1, count: full.decisions.count)
        for j in 0..<full.count {
            let d = Int(full.decisionOfRecord[j])
            if pairedWith[d] == again.decisionOfRecord[j] { continue }
            pairedWith[d] = again.decisionOfRecord[j]
            let kind = full.records.kind(j)
            let a = Signature(full.outcome(j), kind: kind, kernel), b = Signature(again.outcome(j), kind: kind, out)
            if a != b { mismatches.append(Mismatch(object: i, recordIndex: j, record: full.records[j], full: a.text, trimmed: b.text)) }
        }
    }
    return mismatches
}
