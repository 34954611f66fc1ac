/// The unresolved and failing relocations of a run, kept once each however many kernels have
/// them: what a report needs of a finished kernel's problems, so that a run over thousands of
/// kernels holds distinct findings, not kernels × findings.
///
/// `fold` takes one kernel's object summaries and gives back its group: the index of its set
/// of findings, shared by every kernel with the same set. Indices are in the order kernels were
/// folded (completion order in a parallel run); `RunReport` puts them in canonical order.
public struct FindingTable: Sendable {
    /// What identifies a finding: the object (its index in the run), the record (its index in
    /// the object's `.BTF.ext` order), the outcome and libbpf's reason.
    struct Key: Hashable, Comparable, Sendable {
        var object: Int32
        var record: Int32
        var isError: Bool
        var reason: String

        static func < (a: Key, b: Key) -> Bool {
            (a.object, a.record, a.isError ? 1 : 0, a.reason) < (b.object, b.record, b.isError ? 1 : 0, b.reason)
        }
    }

    struct Entry: Sendable {
        var key: Key
        var objectName: String
        var problem: RunReport.Problem
    }

    private(set) var entries: [Entry] = []
    /// Each group's entries, ascending.
    private(set) var groups: [[Int32]] = []
    private var entryOf: [Key: Int32] = [:]
    /// The same entries by the problem's text as described (`ObjectSummary.Problem.reason`): a
    /// finding seen on an earlier kernel costs one lookup, not a new `RunReport.Problem`.
    private var entryOfText: [TextKey: Int32] = [:]
    private struct TextKey: Hashable, Sendable {
        var object: Int32
        var record: Int32
        var text: String
    }
    private var groupOf: [[Int32]: Int] = [:]

    public init() {}

    /// Adds one kernel's findings; its group, or nil when it has none.
    public mutating func fold(_ objects: [ObjectSummary]) -> Int? {
        var ids: [Int32] = []
        for (o, summary) in objects.enumerated() {
            for p in summary.problems {
                let text = TextKey(object: Int32(o), record: Int32(p.record), text: p.reason)
                if let id = entryOfText[text] {
                    ids.append(id)
                    continue
                }
                let problem = RunReport.Problem(p)
                let key = Key(object: Int32(o), record: Int32(p.record), isError: problem.outcome == .error, reason: problem.reason)
                if let id = entryOf[key] {
                    entryOfText[text] = id
                    ids.append(id)
                } else {
                    let id = Int32(entries.count)
                    entries.append(Entry(key: key, objectName: summary.object, problem: problem))
                    entryOf[key] = id
                    entryOfText[text] = id
                    ids.append(id)
                }
            }
        }
        guard !ids.isEmpty else { return nil }
        ids.sort()
        if let g = groupOf[ids] { return g }
        groups.append(ids)
        groupOf[ids] = groups.count - 1
        return groups.count - 1
    }
}
