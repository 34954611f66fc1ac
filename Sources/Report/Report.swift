#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BTF
import Pipeline
import BPFObject
import KernelInput
import CORE
import Minimize

/// A report of a trimming run (or of an output directory): per-kernel sizes and type counts,
/// per kernel × object relocation outcomes, the compatibility matrix and totals.
///
/// The JSON form is the stable interface; its schema is documented in `docs/report-schema.md`
/// (machine-readable: `docs/report-schema.json`). Every other format is rendered from this value.
public struct RunReport: Sendable, Equatable, Decodable {
    /// The `schema` value of reports in this format.
    public static let schemaID = "btfgen-report/2"

    /// How much of the per-kernel detail a report spells out. The model is the same: `full`
    /// also writes every kernel × object's problems (derived from `findings`), as reports of
    /// schema 1 did.
    public enum Detail: String, Sendable, Codable, CaseIterable {
        case summary, full
    }

    /// What a report was made from.
    public enum Source: String, Sendable, Codable {
        /// A `btfgen gen --report` run: inputs, outputs and relocation outcomes.
        case run
        /// `btfgen report DIR`: the files of an output directory only (no input fields).
        case outputs
    }

    /// One relocation that did not resolve.
    public struct Problem: Sendable, Equatable, Decodable {
        public enum Outcome: String, Sendable, Codable {
            /// No matching target: libbpf poisons the instruction; the program loads but fails
            /// verification if that instruction is reachable.
            case unresolved
            /// libbpf refuses to load the object (an ambiguity, say).
            case error

            /// A problem's status (`RelocationProblem.status`) in the report's words.
            init(_ status: RecordStatus) { self = status == .error ? .error : .unresolved }
        }
        public var section: String
        public var relo: Int
        public var kind: String
        public var access: String
        public var outcome: Outcome
        public var reason: String
    }

    /// One distinct unresolved or failing relocation of an object, with how many kernels it
    /// occurs on; which kernels those are, `findingGroups` says.
    public struct Finding: Sendable, Equatable, Decodable {
        public var object: String
        public var section: String
        public var relo: Int
        public var kind: String
        public var access: String
        public var outcome: Problem.Outcome
        public var reason: String
        /// Kernels with this finding.
        public var kernels: Int

        public var problem: Problem {
            Problem(section: section, relo: relo, kind: kind, access: access, outcome: outcome, reason: reason)
        }
    }

    /// The kernels that have exactly the same findings share one group: a report keeps each
    /// distinct set of findings once, however many kernels have it.
    public struct FindingGroup: Sendable, Equatable, Decodable {
        /// Indices into `findings`, ascending.
        public var findings: [Int]
        /// Kernels in the group (those whose `finding_group` names it).
        public var kernels: Int
    }

    /// The outcome of one object's relocations against one kernel: the run's own
    /// `ObjectSummary`, taken over as it is (a report over 2,000 kernels × 100 objects holds
    /// 200,000 of them, once). In a report its `problems` are empty: they are the findings of the
    /// kernel's group for this object (`RunReport.problems(_:_:)`).
    public typealias Object = ObjectSummary

    /// One kernel (one input file, or one output file for `.outputs` reports): the run's own
    /// `KernelResult`, taken over as it is.
    public typealias Kernel = KernelResult

    /// Kernel × object cells, in `kernels` order and `objects` order.
    public struct Matrix: Sendable, Equatable, Decodable {
        public struct Row: Sendable, Equatable, Decodable {
            public var path: String
            public var cells: [String]
        }
        public var objects: [String]
        public var rows: [Row]
    }

    /// Sums over `kernels` and what the outputs would give packed or deduplicated.
    public struct Totals: Sendable, Equatable, Decodable {
        public struct Relocations: Sendable, Equatable, Decodable {
            public var total = 0, resolved = 0, unresolved = 0, errors = 0
        }
        public struct Compat: Sendable, Equatable, Decodable {
            public var ok = 0, unresolved = 0, errors = 0

            /// Counts one kernel × object pair by its outcome.
            mutating func add(_ o: Object) {
                if o.errors > 0 { errors += 1 } else if o.unresolved > 0 { unresolved += 1 } else { ok += 1 }
            }

            /// The pairs of `kernels` (written ones: the others have no objects).
            static func of(_ kernels: some Sequence<Kernel>) -> Compat {
                var c = Compat()
                for k in kernels { for o in k.objects { c.add(o) } }
                return c
            }
        }
        public var kernels = 0
        /// Kernels whose output was written.
        public var outputs = 0
        public var skipped = 0
        public var failed = 0
        public var inputBytes: Int?
        public var rawBytes: Int?
        public var outputBytes = 0
        public var rawOutputBytes = 0
        public var inputTypes: Int?
        public var outputTypes = 0
        public var inputMembers: Int?
        public var outputMembers = 0
        /// Distinct output contents among the written outputs.
        public var uniqueOutputs = 0
        /// Outputs whose bytes at least one other output shares (every member of `duplicate_groups`).
        public var identicalOutputs = 0
        /// Outputs byte-identical to another one: `outputs - unique_outputs`.
        public var duplicateOutputs = 0
        /// What keeping one copy of each distinct output would save.
        public var dedupSavedBytes = 0
        /// Output paths with identical contents, two or more each, sorted.
        public var duplicateGroups: [[String]] = []
        /// All outputs as one deterministic `.tar.xz`, in sorted path order; nil when it could
        /// not be built (see `packed_error`).
        public var packedBytes: Int?
        public var packedError: String?
        /// The same pack with every output stored whole (no hard links): measured only for a
        /// run with `--pack`, nil otherwise.
        public var packedBytesWithoutDedup: Int? = nil
        public var relocations = Relocations()
        /// Kernel × object pairs by outcome: `errors` counts pairs with any failing relocation,
        /// `unresolved` those with unresolved ones only.
        public var compat = Compat()
        /// Output bytes more than one object needs, summed over kernels (each counted once per
        /// kernel); nil when not attributed.
        public var sharedBytes: Int?

        /// `output_bytes / input_bytes`; nil without input bytes.
        public var ratio: Double? { ratioOf(outputBytes, inputBytes) }

        /// The dedup and packing totals of `s`.
        public mutating func apply(_ s: OutputStatistics) {
            uniqueOutputs = s.uniqueOutputs
            identicalOutputs = s.identicalOutputs
            duplicateOutputs = s.duplicateOutputs
            dedupSavedBytes = s.dedupSavedBytes
            duplicateGroups = s.duplicateGroups
            packedBytes = s.packedBytes
            packedError = s.packedError
            packedBytesWithoutDedup = s.packedBytesWithoutDedup
        }
    }

    public var schema: String = RunReport.schemaID
    public var source: Source
    /// The directory kernel paths are relative to (nil for `.outputs` reports).
    public var input: String?
    /// The directory output paths are relative to.
    public var output: String
    /// `raw` or `tar.xz` for runs.
    public var outputFormat: String?
    /// The objects whose relocations were resolved, as given on the command line.
    public var objects: [String]
    public var kernels: [Kernel]
    /// Every distinct unresolved or failing relocation, ordered by object (in `objects`
    /// order), then as `.BTF.ext` lists them, then by outcome and reason.
    public var findings: [Finding]
    /// The distinct sets of findings, in the order of the first kernel that has each.
    public var findingGroups: [FindingGroup]
    public var detail: Detail
    public var totals: Totals

    /// The compatibility matrix, worked out from the kernels' counts (as `matrixRow(_:)`): a
    /// report keeps no cells of its own, which at 2,000 kernels × 100 objects would be 200,000
    /// strings beside the counts they are made of. A saved report's `matrix` is read the same way.
    public var matrix: Matrix { Matrix(objects: objects, rows: kernels.indices.map(matrixRow)) }

    /// The matrix row of `kernels[i]`: a cell per object, in `objects` order.
    public func matrixRow(_ i: Int) -> Matrix.Row {
        let k = kernels[i]
        let cells = objects.indices.map { column -> String in
            var text = JSONText()
            writeMatrixCell(k, column, to: &text)
            return text.string
        }
        return Matrix.Row(path: k.path, cells: cells)
    }

    /// The text of `k`'s cell in `column` (no quotes), appended to `out` without making a
    /// String: the JSON writer puts 200,000 of them in a report of 2,000 kernels.
    func writeMatrixCell(_ k: Kernel, _ column: Int, to out: inout JSONText) {
        switch k.status {
        case .skipped: out.raw("skipped")
        case .failed: out.raw("failed")
        case .written:
            if let o = object(k, at: column) { writeCompatCell(unresolved: o.unresolved, errors: o.errors, to: &out) } else { out.raw("-") }
        }
    }

    /// `k`'s summary of `objects[column]`; nil when it has none. A run's kernels list their
    /// objects in `objects` order: it looks there first.
    func object(_ k: Kernel, at column: Int) -> Object? {
        if k.objects.indices.contains(column), k.objects[column].object == objects[column] { return k.objects[column] }
        return k.objects.first { $0.object == objects[column] }
    }

    /// One object across all kernels: the object-first view of the matrix.
    public struct ObjectView: Sendable, Equatable {
        public var object: String
        /// Written kernels where every relocation of the object resolves (`ok`), has unresolved
        /// ones and no failing one (`unresolved`), or a failing one (`errors`: libbpf refuses
        /// the object there).
        public var kernels = Totals.Compat()
        /// Kernels skipped or failed: not written, so not counted above.
        public var notWritten = 0
        /// The object's findings (indices into `findings`), most kernels first.
        public var findings: [Int] = []
        /// Over the written kernels: output bytes only this object needs, and bytes it needs with
        /// other objects; nil when not attributed.
        public var ownBytes: Int?
        public var sharedBytes: Int?
    }

    /// For each object, in `objects` order: how many kernels it is ok, unresolved or failing on,
    /// and which findings cause it.
    public var byObject: [ObjectView] {
        var views = objects.map { ObjectView(object: $0) }
        let column = Dictionary(objects.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for k in kernels {
            guard k.status == .written else {
                for i in views.indices { views[i].notWritten += 1 }
                continue
            }
            for o in k.objects {
                guard let i = column[o.object] else { continue }
                views[i].kernels.add(o)
                if let own = o.ownBytes { views[i].ownBytes = (views[i].ownBytes ?? 0) + own }
                if let shared = o.sharedBytes { views[i].sharedBytes = (views[i].sharedBytes ?? 0) + shared }
            }
        }
        for (n, f) in findings.enumerated() { if let i = column[f.object] { views[i].findings.append(n) } }
        for i in views.indices { views[i].findings.sort(by: onMoreKernels) }
        return views
    }

    /// Orders findings (indices into `findings`) by kernel count, most first, then by index.
    func onMoreKernels(_ a: Int, _ b: Int) -> Bool { (findings[a].kernels, b) > (findings[b].kernels, a) }

    /// The unresolved and failing relocations of `object` against `kernel`, in `.BTF.ext` order.
    public func problems(_ kernel: Kernel, _ object: String) -> [Problem] {
        guard let g = kernel.findingGroup, findingGroups.indices.contains(g) else { return [] }
        return findingGroups[g].findings.compactMap { i in
            findings.indices.contains(i) && findings[i].object == object ? findings[i].problem : nil
        }
    }
}

/// What `--fail-on` turns into a non-zero exit.
public enum FailOn: String, Sendable, CaseIterable {
    /// Any relocation that libbpf would poison or refuse.
    case unresolved
    /// Any relocation that would make libbpf refuse the load.
    case errors
}

/// The matrix cell for one kernel × object.
func compatCell(unresolved: Int, errors: Int) -> String {
    var text = JSONText()
    writeCompatCell(unresolved: unresolved, errors: errors, to: &text)
    return text.string
}

/// `compatCell`'s text appended to `out` as it is (no quotes), without making a String.
func writeCompatCell(unresolved: Int, errors: Int, to out: inout JSONText) {
    func writeErrors() {
        out.int(errors)
        out.raw(errors == 1 ? " error" : " errors")
    }
    switch (unresolved, errors) {
    case (0, 0):
        out.raw("ok")
    case (_, 0):
        out.int(unresolved); out.raw(" unresolved")
    case (0, _):
        writeErrors()
    default:
        writeErrors(); out.raw(", "); out.int(unresolved); out.raw(" unresolved")
    }
}

extension ObjectSummary {
    /// The matrix cell: `ok`, `N unresolved`, `N errors`, or both.
    public var compat: String { compatCell(unresolved: unresolved, errors: errors) }
}

// MARK: - Building

extension RunReport {
    /// The report of a `gen` run from its kernels' results (in job order), taken over as they are.
    ///
    /// `roots` are the run's (`RunRoots` of its `--input` and `--output`): the report's `input`
    /// and `output`, which the results' paths are relative to. Output statistics (dedup,
    /// packing) are added by `addOutputStatistics()`.
    ///
    /// `findings` is what `runJobs(_:objects:options:collect:progress:)` collected, the groups
    /// the results name.
    public init(run results: [KernelResult], findings: FindingTable, roots: RunRoots, format: OutputFormat, objects: [String],
                detail: Detail = .summary) {
        source = .run
        self.input = roots.input
        self.output = roots.output
        outputFormat = format.rawValue
        self.objects = objects
        self.detail = detail
        kernels = results
        // A report keeps problems as findings only; a run that kept them too leaves them here.
        // The run's diagnostics were printed as each kernel finished.
        for i in kernels.indices {
            for o in kernels[i].objects.indices where !kernels[i].objects[o].problems.isEmpty { kernels[i].objects[o].problems = [] }
            if !kernels[i].warnings.isEmpty { kernels[i].warnings = [] }
            if !kernels[i].inputWarnings.isEmpty { kernels[i].inputWarnings = [] }
        }
        self.findings = []
        findingGroups = []
        totals = Totals()
        adoptFindings(findings)
        recompute()
    }

    /// Takes `table`'s findings and groups, in canonical order (`findings`' and
    /// `findingGroups`' documented order, whatever order the kernels finished in), and renumbers
    /// the kernels' groups to match.
    mutating func adoptFindings(_ table: FindingTable) {
        let order = table.entries.indices.sorted { table.entries[$0].key < table.entries[$1].key }
        var newIndex = [Int](repeating: 0, count: order.count)
        for (n, old) in order.enumerated() { newIndex[old] = n }
        findings = order.map { old in
            let e = table.entries[old]
            let p = Problem(e.problem)
            return Finding(object: e.objectName, section: p.section, relo: p.relo, kind: p.kind, access: p.access, outcome: p.outcome,
                           reason: p.reason, kernels: 0)
        }
        var groupIndex: [Int: Int] = [:]
        findingGroups = []
        for i in kernels.indices {
            guard let old = kernels[i].findingGroup, table.groups.indices.contains(old) else {
                kernels[i].findingGroup = nil
                continue
            }
            if let g = groupIndex[old] {
                kernels[i].findingGroup = g
                findingGroups[g].kernels += 1
            } else {
                groupIndex[old] = findingGroups.count
                kernels[i].findingGroup = findingGroups.count
                findingGroups.append(FindingGroup(findings: table.groups[old].map { newIndex[Int($0)] }.sorted(), kernels: 1))
            }
        }
        for g in findingGroups { for f in g.findings { findings[f].kernels += g.kernels } }
    }

    /// A report of the BTF files below `root` (or of the single file `root`): sizes, type and
    /// member counts, and, with `objects`, each object's relocations resolved against each file.
    public init(outputsAt root: String, objects: [BPFObject]) throws(FormatError) {
        let files = try scanBTFFiles(root)
        source = .outputs
        input = nil
        output = files.root
        outputFormat = nil
        self.objects = objects.map(\.path)
        let prepared = TrimObjects(objects)
        detail = .summary
        var table = FindingTable()
        kernels = files.files.map { f in
            var k = Kernel(path: f.path)
            k.output = f.path
            k.member = f.member
            k.outputBytes = f.bytes
            k.rawOutputBytes = f.rawBytes ?? 0
            guard let btf = f.btf else {
                k.status = .skipped
                k.output = ""
                k.outputBytes = 0
                k.message = f.error
                return k
            }
            k.outputTypes = btf.typeCount - 1
            k.outputMembers = memberCount(btf)
            if !objects.isEmpty {
                let result = trim(kernel: btf, objects: prepared)
                var summaries = result.objects.map { summarize($0) }
                let bytes = attributeBytes(kernel: btf, result: consume result)
                attribute(bytes, to: &summaries)
                k.findingGroup = table.fold(summaries)
                // The problems live on as the findings just folded.
                for o in summaries.indices { summaries[o].problems = [] }
                k.objects = summaries
                k.sharedBytes = bytes.shared
            }
            return k
        }
        findings = []
        findingGroups = []
        totals = Totals()
        adoptFindings(table)
        recompute()
    }

    /// Recomputes the sums from `kernels` (output statistics are left as they are).
    mutating func recompute() {
        var t = totals
        t.kernels = kernels.count
        t.outputs = kernels.filter { $0.status == .written }.count
        t.skipped = kernels.filter { $0.status == .skipped }.count
        t.failed = kernels.filter { $0.status == .failed }.count
        let isRun = source == .run
        t.inputBytes = isRun ? kernels.reduce(0) { $0 + ($1.inputBytes ?? 0) } : nil
        t.rawBytes = isRun ? kernels.reduce(0) { $0 + ($1.rawBytes ?? 0) } : nil
        t.inputTypes = isRun ? kernels.reduce(0) { $0 + ($1.inputTypes ?? 0) } : nil
        t.inputMembers = isRun ? kernels.reduce(0) { $0 + ($1.inputMembers ?? 0) } : nil
        t.outputBytes = kernels.reduce(0) { $0 + $1.outputBytes }
        t.rawOutputBytes = kernels.reduce(0) { $0 + $1.rawOutputBytes }
        t.outputTypes = kernels.reduce(0) { $0 + $1.outputTypes }
        t.outputMembers = kernels.reduce(0) { $0 + $1.outputMembers }
        t.relocations = .init()
        t.compat = .init()
        // Not `kernels.flatMap(\.objects)`: at 2,000 kernels × 100 objects that copy alone is 10 MB.
        for o in kernels.lazy.flatMap(\.objects) {
            t.relocations.total += o.total
            t.relocations.resolved += o.resolved
            t.relocations.unresolved += o.unresolved
            t.relocations.errors += o.errors
        }
        t.compat = .of(kernels)
        let attributed = kernels.compactMap(\.sharedBytes)
        t.sharedBytes = attributed.isEmpty ? nil : attributed.reduce(0, +)
        totals = t
    }

    /// The written outputs read back, in sorted path order (their paths relative to `output`),
    /// and an error line for each that cannot be read: what `packedBytes` measures and
    /// `btfgen --pack` writes.
    public func writtenOutputs() -> (files: [(name: String, data: [UInt8])], unreadable: [String]) {
        var files: [(name: String, data: [UInt8])] = []
        var unreadable: [String] = []
        // Identical outputs share one buffer: what is held grows with distinct contents.
        var seen = Set<Contents>()
        for k in kernels where k.status == .written {
            do throws(FormatError) {
                let data = Contents(try readFile(joinPath(output, k.output)))
                files.append((k.output, seen.insert(data).memberAfterInsert.bytes))
            } catch {
                unreadable.append(error.description)
            }
        }
        files.sort { $0.name < $1.name }
        return (files, unreadable)
    }

    /// What the written outputs give deduplicated and packed (`outputStatistics`).
    public struct OutputStatistics: Sendable {
        public var uniqueOutputs = 0, identicalOutputs = 0, duplicateOutputs = 0, dedupSavedBytes = 0
        public var duplicateGroups: [[String]] = []
        public var packedBytes: Int?
        public var packedError: String?
        public var packedBytesWithoutDedup: Int?
        /// The pack itself; nil when it could not be made.
        public var pack: [UInt8]?
    }

    /// Reads the written outputs back and works out the dedup and packing totals: outputs that
    /// are byte-identical to another, the bytes keeping one copy of each would save, and the
    /// size of the pack `--pack` writes (`makePack`: its index and every output, sorted path
    /// order, each distinct output stored once). With `withoutDedup`, also the size of the same
    /// pack storing every output whole.
    ///
    /// It reads nothing of the report but its kernels' outputs, so it can run while the rest of
    /// the report is written: the totals come last (`renderJSON(totals:_:)`).
    public func outputStatistics(withoutDedup: Bool = false) -> OutputStatistics {
        var s = OutputStatistics()
        let (files, unreadable) = writtenOutputs()
        let groups = Array(Dictionary(grouping: files.indices, by: { Contents(files[$0].data) }).values)
        s.uniqueOutputs = groups.count
        s.identicalOutputs = groups.filter { $0.count > 1 }.reduce(0) { $0 + $1.count }
        s.duplicateOutputs = files.count - groups.count
        s.dedupSavedBytes = groups.reduce(0) { $0 + ($1.count - 1) * files[$1[0]].data.count }
        s.duplicateGroups = groups.filter { $0.count > 1 }.map { $0.map { files[$0].name } }.sorted { $0[0] < $1[0] }
        if !unreadable.isEmpty {
            s.packedError = "cannot read outputs: " + unreadable.joined(separator: "; ")
            return s
        }
        do throws(FormatError) {
            let pack = try makePack(files)
            s.packedBytes = pack.count
            s.pack = pack
            if withoutDedup { s.packedBytesWithoutDedup = try makePack(files, dedup: false).count }
        } catch {
            s.packedBytes = nil
            s.pack = nil
            s.packedError = error.description
        }
        return s
    }

    /// `outputStatistics(withoutDedup:)`, applied to the totals. Returns the pack; nil when it
    /// could not be made.
    @discardableResult
    public mutating func addOutputStatistics(withoutDedup: Bool = false) -> [UInt8]? {
        let s = outputStatistics(withoutDedup: withoutDedup)
        totals.apply(s)
        return s.pack
    }

    /// The kernel × object pairs that `failOn` counts as findings, as `(kernel path, object)`.
    public func findings(_ failOn: FailOn) -> [(kernel: String, object: Object)] {
        kernels.flatMap { k in
            k.objects.filter { failOn == .errors ? $0.errors > 0 : $0.errors + $0.unresolved > 0 }.map { (k.path, $0) }
        }
    }

    /// Reads a report saved as JSON.
    public init(json bytes: [UInt8], path: String) throws(FormatError) {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let schema: String
        do {
            schema = try decoder.decode(SchemaProbe.self, from: Data(bytes)).schema
        } catch {
            throw FormatError(file: path, "", "not a btfgen report (no \"schema\" field): \(error)")
        }
        guard schema == RunReport.schemaID else {
            throw FormatError(file: path, "", "schema \"\(schema)\" is not \(RunReport.schemaID)")
        }
        do {
            self = try decoder.decode(RunReport.self, from: Data(bytes))
        } catch {
            throw FormatError(file: path, "", "invalid report: \(error)")
        }
        // A kernel's objects are columns in `objects` order: they take their names from it.
        for k in kernels.indices where !kernels[k].objects.isEmpty {
            guard kernels[k].objects.count == objects.count else {
                throw FormatError(file: path, "", "invalid report: kernels[\(k)].objects has \(kernels[k].objects.count) entries, objects \(objects.count)")
            }
            for i in objects.indices { kernels[k].objects[i].object = objects[i] }
        }
    }
}

struct SchemaProbe: Decodable {
    var schema: String
}


extension RunReport.Problem {
    init(_ p: ObjectSummary.Problem) {
        self.init(section: p.section, relo: p.index, kind: p.kind.description, access: p.access,
                  outcome: Outcome(p.status), reason: p.reason)
    }
}

// MARK: - Output directories

/// One BTF file found below an output directory.
public struct ScannedBTF: Sendable {
    /// Relative to the scanned root.
    public var path: String
    /// The file's size.
    public var bytes: Int
    /// The BTF's size uncompressed, nil when it could not be read.
    public var rawBytes: Int?
    public var member: String?
    public var btf: BTF?
    public var error: String?

    public var types: Int? { btf.map { $0.typeCount - 1 } }
}

/// Reads every file below `root` (hidden files skipped), or `root` itself when it is a file,
/// as BTF: raw, ELF `.BTF`, or compressed/archived as `gen` reads inputs. Files that are not BTF
/// come back with `error` set.
public func scanBTFFiles(_ root: String) throws(FormatError) -> (root: String, files: [ScannedBTF]) {
    guard pathExists(root) else { throw FormatError(file: root, "", "no such file or directory") }
    let base: String, rels: [String]
    if isDirectory(root) {
        base = trimSlashes(root)
        rels = try walkFiles(root)
    } else {
        base = dirName(root)
        rels = [String(root.split(separator: "/").last ?? Substring(root))]
    }
    var out: [ScannedBTF] = []
    for rel in rels {
        let path = joinPath(base, rel)
        var f = ScannedBTF(path: rel, bytes: fileSize(path))
        do throws(FormatError) {
            var facts = InputFacts()
            facts.storedBytes = f.bytes
            defer {
                f.bytes = facts.storedBytes
                f.member = facts.member
            }
            switch try readKernel(path, modules: nil, facts: &facts) {
            case .skipped(let why):
                f.error = why
            case .kernel(let btf):
                f.btf = btf
                f.rawBytes = btf.serializedSize
            }
        } catch {
            f.error = error.description
        }
        out.append(f)
    }
    return (base, out)
}
