import BTF

/// Matches a local spec against one candidate type of the target BTF.
///
/// Mirrors libbpf `bpf_core_spec_match`: returns the target spec when the candidate matches,
/// nil when it does not, and throws where libbpf returns an error (which fails the load).
func matchSpec(_ localSpec: AccessSpec, local: BTF, target: BTF, candidate: TypeID,
               budget: MatchBudget = MatchBudget()) throws(SpecError) -> AccessSpec? {
    var spec = AccessSpec(root: candidate, kind: localSpec.kind)
    if localSpec.kind.isTypeBased {
        let ok = localSpec.kind == .typeMatches
            ? try typesMatch(local, localSpec.root, target, candidate, budget: budget)
            : try typesAreCompatible(local, localSpec.root, target, candidate, budget: budget)
        return ok ? spec : nil
    }
    if localSpec.kind.isEnumValueBased {
        guard let t = target.skipModsAndTypedefs(candidate), target.kind(t).isEnum,
              let localName = localSpec.accessors.first?.name else { return nil }
        let ln = local.stringBytes(localName)
        let lLen = essentialNameLength(ln)
        for i in 0..<target.vlen(t) {
            let tn = target.stringBytes(target.enumValue(t, i).name)
            if essentialNameLength(tn) == lLen && ln.prefix(lLen).elementsEqual(tn.prefix(lLen)) {
                spec.accessors.append(Accessor(type: t, index: i, name: target.enumValue(t, i).name))
                spec.raw.append(i)
                return spec
            }
        }
        return nil
    }
    let ptrSize = target.pointerSize
    var targetID = candidate
    // One allocation each instead of growing from empty: every candidate of every distinct
    // question builds a spec. The target's path is longer than the local one only by the
    // anonymous members it steps through.
    spec.raw.reserveCapacity(localSpec.raw.count + 4)
    spec.accessors.reserveCapacity(localSpec.accessors.count)
    for (i, acc) in localSpec.accessors.enumerated() {
        guard let t = target.skipModsAndTypedefs(targetID) else { throw SpecError(message: "cannot resolve target type \(targetID)") }
        targetID = t
        if acc.name != nil {
            guard let next = try matchMember(local: local, acc, target: target, t, &spec, budget: budget) else { return nil }
            targetID = next
        } else {
            if i > 0 {
                guard target.kind(targetID) == .array else { return nil }
                let a = target.array(targetID)
                let flex = isFlexibleArray(target, spec.accessors[spec.accessors.count - 1], a)
                if !flex && acc.index >= Int(a.count) { return nil }
                guard let elem = target.skipModsAndTypedefs(a.element) else { throw SpecError(message: "cannot resolve target type \(a.element)") }
                targetID = elem
            }
            guard spec.raw.count < CORELimits.specLength else { throw SpecError(message: "target spec longer than \(CORELimits.specLength)") }
            spec.accessors.append(Accessor(type: targetID, index: acc.index, name: nil))
            spec.raw.append(acc.index)
            guard let sz = target.resolveSize(targetID, pointerSize: ptrSize) else {
                throw SpecError(message: "cannot resolve size of target type \(targetID)")
            }
            spec.bitOffset &+= UInt32(truncatingIfNeeded: Int64(acc.index) &* sz &* 8)
        }
    }
    return spec
}

/// Finds the target member a named local accessor refers to, descending into anonymous
/// members in order. Returns the member's type id when found and compatible.
///
/// Mirrors libbpf `bpf_core_match_member`: a same-named but incompatible member ends the search
/// at its level (an enclosing anonymous member's parent goes on looking), and, as in libbpf,
/// that member's speculative offset is not taken back.
private func matchMember(local: BTF, _ acc: Accessor, target: BTF, _ targetID: TypeID,
                         _ spec: inout AccessSpec, budget: MatchBudget) throws(SpecError) -> TypeID? {
    guard let t = target.skipModsAndTypedefs(targetID) else { throw SpecError(message: "cannot resolve target type \(targetID)") }
    guard target.kind(t).isComposite else { return nil }
    let localMember = local.member(acc.type, acc.index)
    let localName = local.stringBytes(localMember.name)
    for i in 0..<target.vlen(t) {
        try budget.spend()
        let m = target.member(t, i)
        guard spec.raw.count < CORELimits.specLength else { throw SpecError(message: "target spec longer than \(CORELimits.specLength)") }
        spec.bitOffset &+= m.bitOffset
        spec.raw.append(i)
        if target.stringIsEmpty(m.name) {
            if let found = try matchMember(local: local, acc, target: target, m.type, &spec, budget: budget) { return found }
        } else if target.string(m.name, equals: localName) {
            guard try fieldsAreCompatible(local, localMember.type, target, m.type) else { return nil }
            spec.accessors.append(Accessor(type: t, index: i, name: m.name))
            return m.type
        }
        spec.bitOffset &-= m.bitOffset
        spec.raw.removeLast()
    }
    return nil
}
