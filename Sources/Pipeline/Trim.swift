import BTF
import BPFObject
import CORE
import Minimize

/// An object's relocations resolved against one kernel.
public struct ObjectResult: Sendable {
    public var object: String
    public var resolutions: [Resolution]

    public var total: Int { resolutions.count }
    public var errors: Int { resolutions.filter(\.isError).count }
    public var unresolved: Int { resolutions.filter(\.isPoisoned).count }
    public var resolved: Int { total - errors - unresolved }
}

/// The trimmed BTF of one kernel and what each object's relocations did against it.
public struct TrimResult: Sendable {
    public var btf: BTF
    public var objects: [ObjectResult]
    /// Relocations whose outcome against the trimmed BTF still differs from the full BTF after
    /// the fallback (expected to be empty; reported as a warning, never silently).
    public var mismatches: [String] = []
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

    init(_ r: Resolution, _ target: BTF) {
        switch r.outcome {
        case .error: outcome = .error
        case .value(let v):
            if v.poison {
                outcome = .poison
            } else if r.record.kind == .typeIDTarget {
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
    public let objects: [BPFObject]
    let prepared: [PreparedRelocations]
    let wanted: Set<ArraySlice<UInt8>>
    let kinds: Set<Kind>

    public init(_ objects: [BPFObject]) {
        self.objects = objects
        prepared = objects.map { PreparedRelocations(local: $0.btf, records: $0.relocations) }
        wanted = prepared.reduce(into: []) { $0.formUnion($1.wantedNames) }
        kinds = prepared.reduce(into: []) { $0.formUnion($1.wantedKinds) }
    }
}

/// Resolves every object's relocations against `kernel` and keeps what they need.
///
/// The kernel is indexed once for all objects; each object gets its own candidate cache, as
/// each is a separate libbpf load. The trimmed BTF is then checked by resolving every
/// relocation against it: where an outcome would differ, the candidates of that local type are
/// kept whole and the output is built again.
public func trim(kernel: BTF, objects: [BPFObject]) -> TrimResult {
    trim(kernel: kernel, objects: TrimObjects(objects))
}

/// `trim(kernel:objects:)` with the objects prepared once for many kernels.
public func trim(kernel: BTF, objects: TrimObjects) -> TrimResult {
    trim(kernel: kernel, objects: objects, leavingUnmarked: [])
}

/// `trim(kernel:objects:)` with the first pass leaving the relocations at `leavingUnmarked`
/// (indexes into the first object's records) unmarked: how the tests make the check fail and
/// watch the fallback repair the output.
package func trim(kernel: BTF, objects: [BPFObject], leavingUnmarked: Set<Int>) -> TrimResult {
    trim(kernel: kernel, objects: TrimObjects(objects), leavingUnmarked: leavingUnmarked)
}

private func trim(kernel: BTF, objects run: TrimObjects, leavingUnmarked: Set<Int>) -> TrimResult {
    let objects = run.objects
    let index = CandidateIndex(target: kernel, wanted: run.wanted, kinds: run.kinds)
    var marker = Marker(target: kernel)
    var results: [ObjectResult] = []
    for (i, o) in objects.enumerated() {
        let resolutions = Resolver.resolve(run.prepared[i], target: kernel, index: index)
        for (j, r) in resolutions.enumerated() where i != 0 || !leavingUnmarked.contains(j) { marker.mark(r) }
        results.append(ObjectResult(object: o.path, resolutions: resolutions))
    }
    marker.finalize()
    var out = marker.emit()
    var mismatches = verify(out, run: run, results: results, kernel: kernel)
    if !mismatches.isEmpty {
        for m in mismatches {
            let local = objects[m.object].btf
            let name = local.essentialName(m.record.type)
            for cand in index.candidates(essentialName: name, kind: local.kind(m.record.type), in: kernel) {
                marker.markWhole(cand)
            }
        }
        marker.finalize()
        out = marker.emit()
        mismatches = verify(out, run: run, results: results, kernel: kernel)
    }
    return TrimResult(btf: out, objects: results, mismatches: mismatches.map {
        "\(objects[$0.object].path): \($0.record.section) relo #\($0.record.index) <\($0.record.kind)> \($0.record.accessString): \($0.full) with the full BTF, \($0.trimmed) with the trimmed one"
    })
}

private struct Mismatch {
    var object: Int
    var record: RelocationRecord
    var full: String
    var trimmed: String
}

/// Resolves every relocation against the trimmed BTF and lists those whose outcome differs.
private func verify(_ out: BTF, run: TrimObjects, results: [ObjectResult], kernel: BTF) -> [Mismatch] {
    let index = CandidateIndex(target: out, wanted: run.wanted)
    var mismatches: [Mismatch] = []
    for i in run.objects.indices {
        let again = Resolver.resolve(run.prepared[i], target: out, index: index)
        for (a, b) in zip(results[i].resolutions, again) {
            let full = Signature(a, kernel), trimmed = Signature(b, out)
            if full != trimmed { mismatches.append(Mismatch(object: i, record: a.record, full: full.text, trimmed: trimmed.text)) }
        }
    }
    return mismatches
}
