import BPFObject
import BTF
import Pipeline
import CORE
import Minimize

/// `btfgen explain`: a trim of one kernel with, for each kept type, member and enumerator, the
/// relocations that need it, and the bytes each object accounts for.
public struct ExplainReport: Sendable {
    public let kernelPath: String
    public let objectPaths: [String]
    public let result: TrimResult
    public let explanation: Explanation
    /// Per object, per decision: the records that got it, in file order.
    private let recordsOfDecision: [[[Int]]]
    /// How text names each object: its file name, or its path where two names are the same.
    private let labels: [String]
    private let locals: [BTF]

    public init(kernelPath: String, kernel: BTF, objects: [BPFObject]) {
        self.kernelPath = kernelPath
        objectPaths = objects.map(\.path)
        locals = objects.map(\.btf)
        let names = objectPaths.map { String($0.split(separator: "/").last ?? Substring($0)) }
        labels = Set(names).count == names.count ? names : objectPaths
        result = trim(kernel: kernel, objects: objects)
        explanation = explain(kernel: kernel, result: result)
        recordsOfDecision = result.objects.map { o in
            var byDecision = [[Int]](repeating: [], count: o.resolved.decisions.count)
            for (j, d) in o.resolved.decisionOfRecord.enumerated() { byDecision[Int(d)].append(j) }
            return byDecision
        }
    }

    /// The records behind a reason: a decision's records, or the one record the check before
    /// writing repaired; none for the flexible-array rule.
    public func records(of reason: Explanation.Reason) -> [(object: Int, record: RelocationRecord)] {
        switch reason.cause {
        case .relocation(let o, let d): return recordsOfDecision[o][d].map { (o, result.objects[o].resolved.records[$0]) }
        case .check(let o, let r): return [(o, result.objects[o].resolved.records[r])]
        case .flexibleArray: return []
        }
    }

    /// `struct task_struct`, `.pid` for a member, `(anon)` where there is no name.
    func name(_ item: KeptItem) -> String {
        let btf = explanation.target
        if item.member != nil {
            let s = btf.string(at: Explanation.memberName(item, in: btf))
            return "." + (s.isEmpty ? "(anon)" : s)
        }
        let s = btf.name(item.type)
        return "\(btf.kind(item.type)) \(s.isEmpty ? "(anon)" : s)"
    }

    /// The kept types' ids in the trimmed BTF, by kernel id.
    private var outputIDs: [TypeID: Int] {
        var ids: [TypeID: Int] = [:]
        for item in explanation.items where item.member == nil { ids[item.type] = ids.count + 1 }
        return ids
    }

    private func describe(_ reason: Explanation.Reason) -> String {
        let objects = reason.owners.map { labels[$0] }.joined(separator: ", ")
        switch reason.cause {
        case .relocation, .check:
            let recs = records(of: reason)
            guard let (o, r) = recs.first else { return objects }
            var s = "\(labels[o]) \(r.section) relo #\(r.index) <\(r.kind)> \(localSpec(o, r))"
            if case .check = reason.cause { s += " (the check before writing)" }
            if recs.count > 1 { s += ", and \(recs.count - 1) more relocation\(recs.count == 2 ? "" : "s") asking the same" }
            return s
        case .flexibleArray(let after):
            return "the last member, so that \(name(after).dropFirst()) (a zero-length array) does not read as flexible; for \(objects)"
        }
    }

    /// A record's local spec as `btfgen relocs` prints it: `[18] struct task_struct___old.state (0:0)`.
    func localSpec(_ object: Int, _ r: RelocationRecord) -> String {
        let local = locals[object]
        return (try? AccessSpec(parsing: r.accessString, root: r.type, kind: r.kind, in: local))
            .map { $0.formatted(in: local, withOffset: false) } ?? "\(r.type) \(r.accessString)"
    }

    /// The items to show: all, or the types named `typeName` and their members.
    public func selected(typeName: String?) -> [Int] {
        let items = explanation.items
        guard let typeName else { return Array(items.indices) }
        let btf = explanation.target
        let types = Set(items.filter { $0.member == nil && btf.name($0.type) == typeName }.map(\.type))
        return items.indices.filter { types.contains(items[$0].type) }
    }

    /// Text for a terminal: the byte table, then each kept type and member with its reasons
    /// (`reasonsShown` of them; the rest counted).
    public func text(typeName: String? = nil, reasonsShown: Int = 3) -> String {
        let b = explanation.bytes
        let items = explanation.items
        let types = items.filter { $0.member == nil }.count
        var out = "\(kernelPath): \(b.total) bytes kept for \(objectPaths.count) object\(objectPaths.count == 1 ? "" : "s"): "
            + "\(types) types, \(items.count - types) members and enumerators\n\n"
        out += "Bytes by object (own: only this object needs them; shared: other objects need them too)\n"
        let width = max(24, labels.map(\.count).max() ?? 0)
        func row(_ label: String, _ a: String, _ c: String) -> String {
            label + String(repeating: " ", count: max(0, width - label.count)) + leftPad(a, 8) + leftPad(c, 8) + "\n"
        }
        out += row("object", "own", "shared")
        for (i, p) in labels.enumerated() { out += row(p, "\(b.own[i])", "\(b.sharedWith[i])") }
        out += row("shared, counted once", "", "\(b.shared)")
        out += row("header", "\(b.header)", "")
        out += row("total", "\(b.total)", "")
        let ids = outputIDs
        out += "\n"
        for i in selected(typeName: typeName) {
            let item = items[i]
            let bytes = explanation.recordBytes(item)
            if item.member == nil {
                out += "[\(ids[item.type] ?? 0)] \(name(item)) (kernel \(item.type)): \(bytes) bytes\n"
            } else {
                out += "  \(name(item)): \(bytes) bytes\n"
            }
            let rs = explanation.reasonsOfItem[i]
            let indent = item.member == nil ? "    " : "      "
            for r in rs.prefix(reasonsShown) { out += indent + describe(explanation.reasons[Int(r)]) + "\n" }
            if rs.count > reasonsShown { out += indent + "and \(rs.count - reasonsShown) more reason\(rs.count - reasonsShown == 1 ? "" : "s")\n" }
        }
        return out
    }

    /// `btfgen-explain/1`: the byte table, every reason with all its records, every kept item
    /// with its reasons (docs/explain-schema.md).
    public func json(typeName: String? = nil) -> JSONValue {
        let b = explanation.bytes
        let ids = outputIDs
        let btf = explanation.target
        let objects: [JSONValue] = objectPaths.indices.map { i in
            .inline(.object([("object", .string(objectPaths[i])), ("own", .int(b.own[i])), ("shared", .int(b.sharedWith[i]))]))
        }
        let shown = selected(typeName: typeName)
        let wanted = Set(shown.flatMap { explanation.reasonsOfItem[$0] })
        var reasons: [JSONValue] = []
        for (r, reason) in explanation.reasons.enumerated() where wanted.contains(Int32(r)) {
            var fields: [(String, JSONValue)] = [("id", .int(r))]
            switch reason.cause {
            case .relocation: fields.append(("cause", .string("relocation")))
            case .check: fields.append(("cause", .string("check")))
            case .flexibleArray(let after):
                fields.append(("cause", .string("flexible_array")))
                fields.append(("after", .string(String(name(after).dropFirst()))))
            }
            fields.append(("objects", .array(reason.owners.map { .string(objectPaths[$0]) })))
            fields.append(("records", .array(records(of: reason).map { o, r in
                .inline(.object([("section", .string(r.section)), ("relo", .int(r.index)), ("insn", .int(r.insn)),
                                 ("kind", .string(r.kind.description)), ("access", .string(r.accessString)),
                                 ("spec", .string(localSpec(o, r)))]))
            })))
            reasons.append(.object(fields))
        }
        let items: [JSONValue] = shown.map { i in
            let item = explanation.items[i]
            var fields: [(String, JSONValue)] = [("id", .int(ids[item.type] ?? 0)), ("kernel_id", .int(item.type.index)),
                                                 ("kind", .string(btf.kind(item.type).description))]
            if let m = item.member {
                fields.append(("type", .string(name(KeptItem(type: item.type)))))
                fields.append(("member", .int(m)))
            }
            fields.append(("name", .string(item.member == nil ? btf.name(item.type) : String(name(item).dropFirst()))))
            fields.append(("bytes", .int(explanation.recordBytes(item))))
            fields.append(("reasons", .array(explanation.reasonsOfItem[i].map { .int(Int($0)) })))
            return .inline(.object(fields))
        }
        return .object([
            ("schema", .string("btfgen-explain/1")),
            ("kernel", .string(kernelPath)),
            ("bytes", .object([("total", .int(b.total)), ("header", .int(b.header)), ("types", .int(b.types)),
                               ("strings", .int(b.strings)), ("shared", .int(b.shared)), ("objects", .array(objects))])),
            ("reasons", .array(reasons)),
            ("items", .array(items)),
        ])
    }
}

private func leftPad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
