import BTF

/// What is left of one comparison's steps.
///
/// libbpf bounds the depth of its type comparisons but not their breadth: a struct of four
/// members of one struct type, 24 levels deep, takes 4^24 comparisons, and so does a tree of
/// anonymous members searched for a name. libbpf would spin on such BTF; btfgen stops and says
/// so, as its own outcome (`Resolution.Outcome.limit`), never as one of libbpf's.
final class MatchBudget {
    private let steps: Int
    /// Whether the object's budget, not the comparison's, set `steps`.
    private let limitedByObject: Bool
    private(set) var remaining: Int

    init(steps: Int = CORELimits.matchSteps, limitedByObject: Bool = false) {
        self.steps = steps
        self.limitedByObject = limitedByObject
        remaining = steps
    }

    /// The steps spent so far.
    var used: Int { steps - max(remaining, 0) }

    func spend(_ steps: Int = 1) throws(SpecError) {
        remaining -= steps
        if remaining < 0 {
            throw SpecError(message: limitedByObject
                ? "btfgen's safety limit: type comparisons of this object take more than \(CORELimits.objectMatchSteps) steps"
                : "btfgen's safety limit: one type comparison takes more than \(CORELimits.matchSteps) steps", isLimit: true)
        }
    }
}

/// Whether two names are equal up to their flavor suffixes (`foo` and `foo___v2`).
func essentialNamesEqual(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
    let la = essentialNameLength(a), lb = essentialNameLength(b)
    return la == lb && a.prefix(la).elementsEqual(b.prefix(lb))
}

/// Checks a local and a target type for CO-RE compatibility, for type-based relocations.
///
/// Mirrors libbpf `__bpf_core_types_are_compat`: modifiers and typedefs are skipped, kinds must
/// agree, structs/unions/enums/fwds are compatible by kind alone, ints unless they use the
/// deprecated bit offset, pointers and arrays recursively, func_protos parameter by parameter.
func typesAreCompatible(_ local: BTF, _ localID: TypeID, _ target: BTF, _ targetID: TypeID,
                        level: Int = CORELimits.compatLevel, budget: MatchBudget = MatchBudget()) throws(SpecError) -> Bool {
    guard local.contains(localID), target.contains(targetID) else { throw SpecError(message: "type out of range") }
    if !kindsAreCoreCompatible(local.kind(localID), target.kind(targetID)) { return false }
    var l = localID, t = targetID
    var depth = CORELimits.compatChainDepth
    while true {
        depth -= 1
        if depth < 0 { throw SpecError(message: "type compatibility check too deep") }
        try budget.spend()
        guard let ls = local.skipModsAndTypedefs(l), let ts = target.skipModsAndTypedefs(t) else {
            throw SpecError(message: "cannot resolve type")
        }
        let lk = local.kind(ls), tk = target.kind(ts)
        if !kindsAreCoreCompatible(lk, tk) { return false }
        switch lk {
        case .void, .struct, .union, .enum, .fwd, .enum64:
            return true
        case .int:
            return local.intOffset(ls) == 0 && target.intOffset(ts) == 0
        case .ptr:
            l = local.referenced(ls)
            t = target.referenced(ts)
        case .array:
            l = local.array(ls).element
            t = target.array(ts).element
        case .funcProto:
            let n = local.vlen(ls)
            if n != target.vlen(ts) { return false }
            for i in 0..<n {
                if level <= 0 { throw SpecError(message: "type compatibility check too deep") }
                guard let lp = local.skipModsAndTypedefs(local.param(ls, i).type),
                      let tp = target.skipModsAndTypedefs(target.param(ts, i).type) else { throw SpecError(message: "cannot resolve type") }
                if !(try typesAreCompatible(local, lp, target, tp, level: level - 1, budget: budget)) { return false }
            }
            guard let lr = local.skipModsAndTypedefs(local.referenced(ls)),
                  let tr = target.skipModsAndTypedefs(target.referenced(ts)) else { throw SpecError(message: "cannot resolve type") }
            l = lr
            t = tr
        default:
            return false
        }
    }
}

/// Checks the types of a local and a target member for field relocations.
///
/// Mirrors libbpf `bpf_core_fields_are_compat`.
func fieldsAreCompatible(_ local: BTF, _ localID: TypeID, _ target: BTF, _ targetID: TypeID) throws(SpecError) -> Bool {
    var l = localID, t = targetID
    for _ in 0...CORELimits.resolveDepth {
        guard let ls = local.skipModsAndTypedefs(l), let ts = target.skipModsAndTypedefs(t) else {
            throw SpecError(message: "cannot resolve type")
        }
        let lk = local.kind(ls), tk = target.kind(ts)
        if lk.isComposite && tk.isComposite { return true }
        if !kindsAreCoreCompatible(lk, tk) { return false }
        switch lk {
        case .ptr, .float:
            return true
        case .fwd, .enum, .enum64:
            let ln = local.stringBytes(local.nameOffset(ls)), tn = target.stringBytes(target.nameOffset(ts))
            return essentialNameLength(ln) == 0 || essentialNameLength(tn) == 0 || essentialNamesEqual(ln, tn)
        case .int:
            return local.intOffset(ls) == 0 && target.intOffset(ts) == 0
        case .array:
            l = local.array(ls).element
            t = target.array(ts).element
        default:
            return false
        }
    }
    throw SpecError(message: "array chain too deep")
}

/// Names match for `type_matches`: both anonymous, or equal up to flavor.
///
/// Mirrors libbpf `bpf_core_names_match`.
func namesMatch(_ local: BTF, _ l: StringOffset, _ target: BTF, _ t: StringOffset) -> Bool {
    let ln = local.stringBytes(l), tn = target.stringBytes(t)
    if tn.isEmpty { return ln.isEmpty }
    return essentialNamesEqual(ln, tn)
}

/// Checks whether a local type matches a target type, for `type_matches` relocations.
///
/// Mirrors libbpf `__bpf_core_types_match`: stricter than compatibility — struct members must
/// exist by name with matching types, enum values by name, int sizes and signedness must agree,
/// array lengths must agree.
func typesMatch(_ local: BTF, _ localID: TypeID, _ target: BTF, _ targetID: TypeID,
                behindPointer: Bool = false, level: Int = CORELimits.compatLevel,
                budget: MatchBudget = MatchBudget()) throws(SpecError) -> Bool {
    if level <= 0 { throw SpecError(message: "type match check too deep") }
    var l = localID, t = targetID
    var behind = behindPointer
    var depth = CORELimits.compatChainDepth
    while true {
        depth -= 1
        if depth < 0 { throw SpecError(message: "type match check too deep") }
        try budget.spend()
        guard let ls = local.skipModsAndTypedefs(l), let ts = target.skipModsAndTypedefs(t) else {
            throw SpecError(message: "cannot resolve type")
        }
        if !namesMatch(local, local.nameOffset(ls), target, target.nameOffset(ts)) { return false }
        let lk = local.kind(ls), tk = target.kind(ts)
        switch lk {
        case .void:
            return lk == tk
        case .fwd:
            let lf = local.kflag(ls)
            if behind {
                if lk == tk { return lf == target.kflag(ts) }
                return (tk == .struct && !lf) || (tk == .union && lf)
            }
            return lk == tk && lf == target.kflag(ts)
        case .enum, .enum64:
            guard tk.isEnum else { return false }
            // At most every local enumerator against every target one.
            try budget.spend(local.vlen(ls) * target.vlen(ts))
            return enumsMatch(local, ls, target, ts)
        case .struct, .union:
            if behind {
                if lk == tk { return true }
                if tk != .fwd { return false }
                return (lk == .union) == target.kflag(ts)
            }
            if lk != tk { return false }
            return try compositesMatch(local, ls, target, ts, behindPointer: behind, level: level, budget: budget)
        case .int:
            if lk != tk { return false }
            return local.size(ls) == target.size(ts) && local.intEncoding(ls).isSigned == target.intEncoding(ts).isSigned
        case .ptr:
            if lk != tk { return false }
            behind = true
            l = local.referenced(ls)
            t = target.referenced(ts)
        case .array:
            if lk != tk { return false }
            let la = local.array(ls), ta = target.array(ts)
            if la.count != ta.count { return false }
            l = la.element
            t = ta.element
        case .funcProto:
            if lk != tk { return false }
            let n = local.vlen(ls)
            if n != target.vlen(ts) { return false }
            for i in 0..<n {
                if !(try typesMatch(local, local.param(ls, i).type, target, target.param(ts, i).type,
                                    behindPointer: behind, level: level - 1, budget: budget)) { return false }
            }
            l = local.referenced(ls)
            t = target.referenced(ts)
        default:
            return false
        }
    }
}

/// Mirrors libbpf `bpf_core_enums_match`.
func enumsMatch(_ local: BTF, _ l: TypeID, _ target: BTF, _ t: TypeID) -> Bool {
    if local.size(l) != target.size(t) { return false }
    let ln = local.vlen(l), tn = target.vlen(t)
    if ln > tn { return false }
    for i in 0..<ln {
        let name = local.enumValue(l, i).name
        var matched = false
        for j in 0..<tn where namesMatch(local, name, target, target.enumValue(t, j).name) {
            matched = true
            break
        }
        if !matched { return false }
    }
    return true
}

/// Mirrors libbpf `bpf_core_composites_match`.
func compositesMatch(_ local: BTF, _ l: TypeID, _ target: BTF, _ t: TypeID,
                     behindPointer: Bool, level: Int, budget: MatchBudget = MatchBudget()) throws(SpecError) -> Bool {
    let ln = local.vlen(l), tn = target.vlen(t)
    if ln > tn { return false }
    for i in 0..<ln {
        let lm = local.member(l, i)
        var matched = false
        for j in 0..<tn {
            try budget.spend()
            let tm = target.member(t, j)
            if !namesMatch(local, lm.name, target, tm.name) { continue }
            if try typesMatch(local, lm.type, target, tm.type, behindPointer: behindPointer, level: level - 1, budget: budget) {
                matched = true
                break
            }
        }
        if !matched { return false }
    }
    return true
}
