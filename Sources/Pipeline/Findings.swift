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
    package struct Key: Comparable, Sendable {
        var object: Int32
        var record: Int32
        var isError: Bool
        var reason: String

        package static func < (a: Key, b: Key) -> Bool {
            (a.object, a.record, a.isError ? 1 : 0, a.reason) < (b.object, b.record, b.isError ? 1 : 0, b.reason)
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
    /// The entries of each object's record, chained: `firstEntry[object][record]`, then
    /// `nextEntry[entry]`, -1 ending both. A record has one or two findings over a whole archive,
    /// so finding one takes two array reads and a comparison of reasons, not a hash of the key.
    private var firstEntry: [[Int32]] = []
    private var nextEntry: [Int32] = []
    private var groupOf: [Group: Int] = [:]

    public init() {}

    /// Adds one kernel's findings; its group, or nil when it has none.
    public mutating func fold(_ objects: [ObjectSummary]) -> Int? {
        var ids: [Int32] = []
        ids.reserveCapacity(objects.reduce(0) { $0 + $1.problems.count })
        if firstEntry.count < objects.count { firstEntry += Array(repeating: [], count: objects.count - firstEntry.count) }
        for o in objects.indices {
            // The problems' fields read in place: a copy of each would retain its three strings.
            for p in objects[o].problems.indices {
                let record = objects[o].problems[p].record
                let isError = objects[o].problems[p].status == .error
                if firstEntry[o].count <= record { firstEntry[o] += Array(repeating: -1, count: record + 1 - firstEntry[o].count) }
                var id = firstEntry[o][record]
                while id >= 0 && (entries[Int(id)].key.isError != isError || entries[Int(id)].key.reason != objects[o].problems[p].reason) {
                    id = nextEntry[Int(id)]
                }
                if id < 0 {
                    id = Int32(entries.count)
                    let problem = objects[o].problems[p]
                    entries.append(Entry(key: Key(object: Int32(o), record: Int32(record), isError: isError, reason: problem.reason),
                                         objectName: objects[o].object, problem: problem))
                    nextEntry.append(firstEntry[o][record])
                    firstEntry[o][record] = id
                }
                ids.append(id)
            }
        }
        guard !ids.isEmpty else { return nil }
        // A kernel's problems come object by object, each object's in record order, one per
        // record: kernels with the same findings list their ids in the same order, so the ids
        // as they came name the group. Only a new group is sorted.
        let key = Group(ids: ids)
        if let g = groupOf[key] { return g }
        groups.append(ids.sorted())
        groupOf[key] = groups.count - 1
        return groups.count - 1
    }
}
