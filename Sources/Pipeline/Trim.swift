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
}

/// Resolves every object's relocations against `kernel` and keeps what they need.
///
/// The kernel is indexed once for all objects; each object gets its own candidate cache, as
/// each is a separate libbpf load.
public func trim(kernel: BTF, objects: [BPFObject]) -> TrimResult {
    var wanted = Set<ArraySlice<UInt8>>()
    for o in objects { wanted.formUnion(Resolver.wantedNames(local: o.btf, records: o.relocations)) }
    let index = CandidateIndex(target: kernel, wanted: wanted)
    var marker = Marker(target: kernel)
    var results: [ObjectResult] = []
    for o in objects {
        let resolutions = Resolver.resolve(local: o.btf, records: o.relocations, target: kernel, index: index)
        for r in resolutions { marker.mark(r) }
        results.append(ObjectResult(object: o.path, resolutions: resolutions))
    }
    return TrimResult(btf: marker.emit(), objects: results)
}
