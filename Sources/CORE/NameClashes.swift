import BTF

/// A named struct, union or enum of an application that, once the application is merged into a
/// kernel BTF (`BTF.merging`), has CO-RE candidates from another source too.
public struct NameClash: Sendable, Equatable {
    /// The application's type, as `struct data` or `enum color___v2`.
    public var type: String
    /// Whether the kernel (the merge's base) has a candidate for it.
    public var kernel: Bool
    /// The earlier applications that have one, as indices into the merge's applications, in
    /// order.
    public var applications: [Int]

    public init(type: String, kernel: Bool, applications: [Int]) {
        self.type = type
        self.kernel = kernel
        self.applications = applications
    }
}

/// For each application that `BTF.merging(base:_:)` appends to `base`, in order, its named
/// structs, unions and enums that libbpf's candidate search in the merged BTF would pair with a
/// type of the kernel or of an earlier application, sorted by `type`.
///
/// Two types pair up when their essential names are equal (cut at the last `X___Y`, libbpf
/// `bpf_core_essential_name_len`) and their kinds are CO-RE compatible (libbpf
/// `btf_kind_core_compat`: the same kind, or enum and enum64), as in `bpf_core_add_cands`. Each
/// pair of applications is reported once, under the later one; an application's own flavors
/// (`data` and `data___v2` in one file) are not clashes.
public func mergeNameClashes(base: BTF, applications: [BTF]) -> [[NameClash]] {
    let kinds: Set<Kind> = [.struct, .union, .enum, .enum64]
    // Each application's named types of those kinds, by essential name.
    let named: [[ArraySlice<UInt8>: [TypeID]]] = applications.map { app in
        var byName: [ArraySlice<UInt8>: [TypeID]] = [:]
        for id in app.ids where kinds.contains(app.kind(id)) {
            let e = app.essentialName(id)
            if !e.isEmpty { byName[e, default: []].append(id) }
        }
        return byName
    }
    let wanted = Set(named.flatMap(\.keys))
    let kernel = CandidateIndex(target: base, wanted: wanted, kinds: kinds)
    return applications.indices.map { n in
        let app = applications[n]
        var clashes: [String: NameClash] = [:]
        for (name, ids) in named[n] {
            for id in ids {
                let kind = app.kind(id)
                let inKernel = !kernel.candidates(essentialName: name, kind: kind, in: base).isEmpty
                let earlier = (0..<n).filter { m in
                    named[m][name]?.contains { kindsAreCoreCompatible(applications[m].kind($0), kind) } ?? false
                }
                guard inKernel || !earlier.isEmpty else { continue }
                let text = "\(kind) \(app.name(id))"
                var clash = clashes[text] ?? NameClash(type: text, kernel: false, applications: [])
                clash.kernel = clash.kernel || inKernel
                clash.applications = Array(Set(clash.applications + earlier)).sorted()
                clashes[text] = clash
            }
        }
        return clashes.values.sorted { $0.type < $1.type }
    }
}
