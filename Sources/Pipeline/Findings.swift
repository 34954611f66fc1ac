import CORE

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
    package struct Key: Hashable, Comparable, Sendable {
        var object: Int32
        var record: Int32
        var isError: Bool
        var reason: String

        package static func < (a: Key, b: Key) -> Bool {
            (a.object, a.record, a.isError ? 1 : 0, a.reason) < (b.object, b.record, b.isError ? 1 : 0, b.reason)
        }

        // Not the reason: a record has one or two reasons over a whole archive, and hashing its
        // text cost more than the rest of folding a kernel. Equal keys still hash equal.
        package func hash(into hasher: inout Hasher) {
            hasher.combine(object)
            hasher.combine(record)
            hasher.combine(isError)
        }
    }

    /// A kernel's finding ids as a dictionary key, hashed in one pass (an array hashes an
    /// element at a time, and a kernel of a large program has over a thousand).
    private struct Group: Hashable {
        var ids: [Int32]

        func hash(into hasher: inout Hasher) { ids.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    package struct Entry: Sendable {
        package var key: Key
        package var objectName: String
        package var problem: ObjectSummary.Problem
    }

    package private(set) var entries: [Entry] = []
    /// Each group's entries, ascending.
    package private(set) var groups: [[Int32]] = []
    private var entryOf: [Key: Int32] = [:]
    private var groupOf: [Group: Int] = [:]

    public init() {}

    /// Adds one kernel's findings; its group, or nil when it has none.
    public mutating func fold(_ objects: [ObjectSummary]) -> Int? {
        var ids: [Int32] = []
        for (o, summary) in objects.enumerated() {
            for p in summary.problems {
                let key = Key(object: Int32(o), record: Int32(p.record), isError: p.status == .error, reason: p.reason)
                if let id = entryOf[key] {
                    ids.append(id)
                } else {
                    let id = Int32(entries.count)
                    entries.append(Entry(key: key, objectName: summary.object, problem: p))
                    entryOf[key] = id
                    ids.append(id)
                }
            }
        }
        guard !ids.isEmpty else { return nil }
        ids.sort()
        if let g = groupOf[Group(ids: ids)] { return g }
        groups.append(ids)
        groupOf[Group(ids: ids)] = groups.count - 1
        return groups.count - 1
    }
}
