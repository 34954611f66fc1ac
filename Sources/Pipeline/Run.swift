#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import BTF
import BPFObject
import KernelInput
import CORE
import Minimize

/// One kernel to trim: where it is read from and where its trimmed BTF goes.
public struct KernelJob: Sendable {
    /// Path relative to the input root ("" when the input is a single file).
    public var relativePath: String
    public var inputPath: String
    public var outputPath: String
    public var relativeOutput: String
    /// Named on the command line (a file `--input`), not found by walking a directory: a file
    /// that is neither BTF nor ELF then fails instead of being skipped.
    public var isExplicit = false
    /// Why the job is skipped without being read, decided when planning (another input has
    /// the same output path).
    public var plannedSkip: String?
    /// The kernel's module files (split BTF), appended to it in this order before trimming.
    public var modules: [String] = []
    /// Which modules of a tarball holding a kernel with its modules are read (`--module-filter`).
    public var moduleFilter = ModuleFilter([])
}

/// What happened to one kernel: what a run returns for each job, and as it is, one of a report's
/// `kernels` (`RunReport.Kernel`), decoded back from its JSON.
///
/// Paths are relative to the run's roots (`RunRoots`). A kernel that was skipped or failed has
/// no output (`""`) and nothing measured from its BTF (`nil`), only its size as stored.
public struct KernelResult: Sendable, Equatable, Decodable {
    public enum Status: String, Sendable, Codable {
        case written, skipped, failed
    }
    /// Relative to the input root (for a report of outputs: to the output root).
    public var path: String
    /// Relative to the output root; empty when nothing was written.
    public var output = ""
    public var status = Status.written
    /// Why the kernel was skipped or failed: for a failure, the error line naming the file.
    public var message: String?
    /// The archive member the BTF was read from, for archived inputs.
    public var member: String?
    /// The input file's size as stored (compressed when it is), with its modules.
    public var inputBytes: Int?
    /// The input's BTF, uncompressed and serialized on its own (for an ELF input: `.BTF`).
    public var rawBytes: Int?
    /// Bytes written: the trimmed BTF, or its `.tar.xz` with `--output-format tar.xz`.
    public var outputBytes = 0
    /// Bytes of the trimmed raw BTF.
    public var rawOutputBytes = 0
    /// Types excluding void (id 0).
    public var inputTypes: Int?
    public var outputTypes = 0
    /// Struct and union members.
    public var inputMembers: Int?
    public var outputMembers = 0
    /// One per object, in the run's object order. Their `problems` are dropped once the run has
    /// folded them into its `FindingTable` (`findingGroup`), and are never in a report.
    public var objects: [ObjectSummary] = []
    /// The kernel's set of findings: in the run's `FindingTable` when it collected them
    /// (`runJobs(_:objects:options:collect:progress:)`), in a report an index into its
    /// `findingGroups`; nil when it has none.
    public var findingGroup: Int?
    /// Bytes of the trimmed BTF more than one object needs, counted once; nil when the run did
    /// not attribute bytes.
    public var sharedBytes: Int?
    /// The modules read with the kernel, by name, in the order they were appended; nil for a
    /// kernel read without modules.
    public var modules: [String]?
    /// Module types the output holds under another name (`TrimResult.renames`); nil for a
    /// kernel without modules.
    public var moduleRenames: [ModuleRename]?
    /// Relocations whose outcome with the trimmed BTF would differ from the full one (empty
    /// unless btfgen has a bug; see `trim`). Printed as the kernel finishes; not in reports.
    public var warnings: [String] = []
    /// The kernel's own rules its BTF breaks that libbpf does not check (each is an error with
    /// `--strict`): `type [7017]: member 1 at bit 192 lies past the struct size 0 (member-offset)`.
    /// Printed as the kernel finishes; not in reports.
    public var inputWarnings: [String] = []

    public init(path: String) { self.path = path }

    private enum CodingKeys: String, CodingKey {
        case path, output, status, message, member, inputBytes, rawBytes, outputBytes, rawOutputBytes, inputTypes, outputTypes
        case inputMembers, outputMembers, objects, findingGroup, sharedBytes, modules, moduleRenames
    }

    /// A report's kernel (keys in snake case, converted by the decoder). Its objects come as
    /// columns with no names (`ObjectColumns`): the report that holds the kernel names them.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        output = try c.decode(String.self, forKey: .output)
        status = try c.decode(Status.self, forKey: .status)
        message = try c.decodeIfPresent(String.self, forKey: .message)
        member = try c.decodeIfPresent(String.self, forKey: .member)
        inputBytes = try c.decodeIfPresent(Int.self, forKey: .inputBytes)
        rawBytes = try c.decodeIfPresent(Int.self, forKey: .rawBytes)
        outputBytes = try c.decode(Int.self, forKey: .outputBytes)
        rawOutputBytes = try c.decode(Int.self, forKey: .rawOutputBytes)
        inputTypes = try c.decodeIfPresent(Int.self, forKey: .inputTypes)
        outputTypes = try c.decode(Int.self, forKey: .outputTypes)
        inputMembers = try c.decodeIfPresent(Int.self, forKey: .inputMembers)
        outputMembers = try c.decode(Int.self, forKey: .outputMembers)
        objects = try c.decode(ObjectColumns.self, forKey: .objects).summaries
        findingGroup = try c.decodeIfPresent(Int.self, forKey: .findingGroup)
        sharedBytes = try c.decodeIfPresent(Int.self, forKey: .sharedBytes)
        modules = try c.decodeIfPresent([String].self, forKey: .modules)
        moduleRenames = try c.decodeIfPresent([ModuleRename].self, forKey: .moduleRenames)
    }

    /// `output_bytes / input_bytes` of a written kernel; nil otherwise or without input bytes.
    public var ratio: Double? { status == .written ? ratioOf(outputBytes, inputBytes) : nil }
}

/// `num / den`; nil without a positive `den`.
package func ratioOf(_ num: Int, _ den: Int?) -> Double? {
    guard let den, den > 0 else { return nil }
    return Double(num) / Double(den)
}

/// The directories a run's result paths are relative to: `--input` (its directory when it names
/// a file) and `--output` (its directory when the first output is not inside it, as when it
/// names the output file).
public struct RunRoots: Sendable, Equatable {
    public var input: String
    public var output: String

    public init(input: String, output: String, firstJob: KernelJob?) {
        self.input = isDirectory(input) ? trimSlashes(input) : dirName(input)
        self.output = trimSlashes(output)
        if let firstJob, !isInside(firstJob.outputPath, self.output) { self.output = dirName(output) }
    }

    /// `job`'s input path relative to the input root.
    public func path(of job: KernelJob) -> String { relative(job.inputPath, to: input) ?? job.relativePath }

    /// `job`'s output path relative to the output root.
    public func output(of job: KernelJob) -> String { relative(job.outputPath, to: output) ?? job.relativeOutput }
}

/// Relocation counts of one object against one kernel, with the ones that did not resolve.
///
/// A run keeps one per kernel × object until its report is written, and the report takes them
/// over as its cells (`RunReport.Object`); decoded from a report's JSON, `problems` is empty.
public struct ObjectSummary: Sendable, Equatable {
    public struct Problem: Sendable, Equatable {
        public var section: String
        public var index: Int
        /// The record's index among all of the object's records, in `.BTF.ext` order.
        public var record: Int
        public var access: String
        public var kind: RelocationKind
        /// `.poisoned` or `.error`.
        public var status: RecordStatus
        /// libbpf's reason (`RelocationProblem.reason`).
        public var reason: String

        /// As `-v` prints it: `poisoned (REASON)` or `error: REASON`.
        public var text: String { RelocationProblem(status: status, reason: reason).text }
    }

    public var object: String
    public var problems: [Problem] = []
    // 32-bit fields: a run over 2,000 kernels × 100 objects keeps 200,000 of these until its
    // report is written. Bytes are -1 where not attributed.
    private var total32: Int32 = 0, resolved32: Int32 = 0, unresolved32: Int32 = 0, errors32: Int32 = 0
    private var own32: Int32 = -1, shared32: Int32 = -1

    public init(object: String) { self.object = object }

    public var total: Int { get { Int(total32) } set { total32 = Int32(clamping: newValue) } }
    public var resolved: Int { get { Int(resolved32) } set { resolved32 = Int32(clamping: newValue) } }
    public var unresolved: Int { get { Int(unresolved32) } set { unresolved32 = Int32(clamping: newValue) } }
    public var errors: Int { get { Int(errors32) } set { errors32 = Int32(clamping: newValue) } }
    /// Bytes of the kernel's trimmed BTF that only this object needs, and that it needs with
    /// other objects (`Explanation.Bytes`); nil when the run did not attribute bytes.
    public var ownBytes: Int? {
        get { own32 < 0 ? nil : Int(own32) }
        set { own32 = newValue.map { Int32(clamping: $0) } ?? -1 }
    }
    public var sharedBytes: Int? {
        get { shared32 < 0 ? nil : Int(shared32) }
        set { shared32 = newValue.map { Int32(clamping: $0) } ?? -1 }
    }
}

/// A report kernel's `objects`: one column per count, an entry per object in the report's
/// `objects` order (every column empty for a kernel not written).
struct ObjectColumns: Decodable {
    var total: [Int], resolved: [Int], unresolved: [Int], errors: [Int]
    var ownBytes: [Int?], sharedBytes: [Int?]

    /// The summaries, unnamed (`object` empty).
    var summaries: [ObjectSummary] {
        get throws {
            let n = total.count
            guard [resolved.count, unresolved.count, errors.count, ownBytes.count, sharedBytes.count].allSatisfy({ $0 == n }) else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "objects: columns of different lengths"))
            }
            return (0..<n).map { i in
                var o = ObjectSummary(object: "")
                o.total = total[i]
                o.resolved = resolved[i]
                o.unresolved = unresolved[i]
                o.errors = errors[i]
                o.ownBytes = ownBytes[i]
                o.sharedBytes = sharedBytes[i]
                return o
            }
        }
    }
}

/// Options of a trimming run.
public struct RunOptions: Sendable {
    public var input: String
    public var output: String
    public var jobs: Int
    public var failFast = false
    /// Flush each output to the disk before renaming it into place.
    public var sync = false
    public var outputFormat: OutputFormat = .raw
    /// Globs on the path relative to the input directory; a kernel is taken when it matches an
    /// include (or there are none) and no exclude.
    public var include: [String] = []
    public var exclude: [String] = []
    /// Only kernels whose path has this architecture as a directory component.
    public var arch: String?
    /// `(K, N)`: process the K-th (1-based) of N deterministic slices.
    public var shard: (index: Int, count: Int)?
    /// The kernel's own BTF rules that libbpf does not apply fail the kernel instead of warning.
    public var strict = false
    /// Whether each kernel's unresolved and failing relocations are described (the `problems`
    /// of its objects): what `--verbose` prints and a report aggregates. The counts are there
    /// either way; bpftool's command line needs no more.
    public var describeProblems = true
    /// Whether each kernel's output bytes are attributed to the objects (`ownBytes`,
    /// `sharedBytes`): what a report shows.
    public var attributeBytes = false
    /// Module files for a single kernel input (`--module`, `--modules`, already filtered).
    public var modules: [String] = []
    /// Which modules a kernel directory's module files contribute (`--module-filter`).
    public var moduleFilter = ModuleFilter([])
    /// Run by each worker thread but the caller's before its first kernel (the command line
    /// advises their malloc arenas for huge pages, `adviseHugePages`, as it did its own).
    public var prepareWorker: (@Sendable () -> Void)?

    public init(input: String, output: String, jobs: Int) {
        self.input = input
        self.output = output
        self.jobs = max(1, jobs)
    }
}

/// How trimmed BTFs are written.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Raw BTF, `K.btf`.
    case raw
    /// `K.btf.tar.xz` holding the single member `K.btf` (deterministic archive).
    case tarXZ = "tar.xz"
}

/// The output name for an input kernel file: compression and archive suffixes are dropped and
/// raw BTF keeps its name (`K.btf.tar.xz` → `K.btf`, `vmlinux` → `vmlinux`).
public func outputName(for relative: String) -> String {
    var name = relative
    for suffix in [".tar.xz", ".tar.gz", ".tar.zst", ".tgz", ".xz", ".gz", ".zst"] where name.hasSuffix(suffix) {
        name.removeLast(suffix.count)
        break
    }
    return name
}

/// The jobs of a run, and how many files the input held before `--include`, `--exclude` and
/// `--arch` selected among them.
public struct RunPlan: Sendable {
    public var jobs: [KernelJob]
    /// Files found below a directory input (1 for a file input), before any filter.
    public var found: Int
    /// Files left after `--include`, `--exclude` and `--arch` (before `--shard`).
    public var selected: Int
}

/// Plans the jobs for `options`; see `planRun`.
public func planJobs(_ options: RunOptions) throws(FormatError) -> [KernelJob] {
    try planRun(options).jobs
}

/// Plans the jobs for `options`: a file gives one job; a directory, one per file below it.
///
/// A single input file goes to `--output` itself, or into it when it is an existing directory.
/// For a directory, the output directory is left out of the walk when it lies inside the input
/// (a second run must not read the first one's outputs). Inputs whose outputs would have the same
/// path (`x/k.btf`, `x/k.btf.xz`, `x/k.btf.tar.xz` all give `x/k.btf`) are resolved here, before
/// `--shard`, so the result does not depend on the slice or on `--jobs`: the first in sorted
/// relative-path order is trimmed, the others are skipped naming it.
public func planRun(_ options: RunOptions) throws(FormatError) -> RunPlan {
    guard pathExists(options.input) else { throw FormatError(file: options.input, "", "no such file or directory") }
    let suffix = options.outputFormat == .tarXZ ? ".tar.xz" : ""
    if isDirectory(options.input) {
        if isDirectory(options.output) && sameFile(options.input, options.output) {
            throw FormatError(file: options.output, "", "the output directory is the input directory")
        }
        var aliases: Set<String>?
        if let arch = options.arch {
            guard let known = archAliases(arch) else {
                throw FormatError("--arch", "unknown architecture \(arch) (accepted: \(acceptedArchitectureNames.joined(separator: ", ")))")
            }
            aliases = known
        }
        var files = try walkFiles(options.input, excluding: [options.output])
        // A directory holding a file named `vmlinux` whose other files are all modules is one
        // kernel with its modules (the shape of /sys/kernel/btf): see `isModuleFile`.
        let kernelDirs = Set(files.compactMap { rel -> String? in
            rel == "vmlinux" ? "" : rel.hasSuffix("/vmlinux") ? String(rel.dropLast("/vmlinux".count)) : nil
        }.filter { dir in
            files.allSatisfy { rel in
                guard let inside = path(rel, inside: dir) else { return true }
                return inside == "vmlinux" || isModuleFile(inside)
            }
        })
        if kernelDirs.contains("") {
            var job = singleJob(options, base: String(trimSlashes(options.input).split(separator: "/").last ?? "vmlinux"),
                                input: joinPath(trimSlashes(options.input), "vmlinux"), suffix: suffix)
            job.modules = try moduleFiles(files: [], directories: [options.input], filter: options.moduleFilter)
            return RunPlan(jobs: [job], found: files.count, selected: 1)
        }
        var modulesOf: [String: [String]] = [:]
        if !kernelDirs.isEmpty {
            files = files.filter { rel in
                var dir = rel
                while let slash = dir.lastIndex(of: "/") {
                    dir = String(dir[..<slash])
                    if kernelDirs.contains(dir) {
                        if !rel.hasSuffix("/vmlinux") || dir != String(rel.dropLast("/vmlinux".count)) {
                            if options.moduleFilter.admits(rel) { modulesOf[dir, default: []].append(joinPath(trimSlashes(options.input), rel)) }
                            return false
                        }
                        return true
                    }
                }
                return true
            }
        }
        let selected = files.filter { rel in
            if !options.include.isEmpty && !options.include.contains(where: { globMatches($0, rel) }) { return false }
            if options.exclude.contains(where: { globMatches($0, rel) }) { return false }
            if let aliases, !pathHasArch(rel, aliases) { return false }
            return true
        }
        // `files` is sorted, so the first input to claim an output path is the first in order.
        var claimed: [String: String] = [:]
        var jobs = selected.map { rel in
            // A kernel directory `D/vmlinux` with modules gives `D.btf`.
            let kernelDir = rel.hasSuffix("/vmlinux") ? String(rel.dropLast("/vmlinux".count)) : nil
            let out = (kernelDir.map { $0 + ".btf" } ?? outputName(for: rel)) + suffix
            var job = KernelJob(relativePath: kernelDir ?? rel, inputPath: joinPath(trimSlashes(options.input), rel),
                                outputPath: joinPath(trimSlashes(options.output), out), relativeOutput: out)
            if let kernelDir { job.modules = modulesOf[kernelDir] ?? [] }
            if let winner = claimed[out] {
                job.plannedSkip = "same output as \(winner)"
            } else {
                claimed[out] = rel
            }
            return job
        }
        if let (k, n) = options.shard {
            jobs = shard(jobs, sizes: jobs.map { fileSize($0.inputPath) }, index: k, count: n)
        }
        for i in jobs.indices { jobs[i].moduleFilter = options.moduleFilter }
        return RunPlan(jobs: jobs, found: files.count, selected: selected.count)
    }
    let base = String(options.input.split(separator: "/").last ?? Substring(options.input))
    var job = singleJob(options, base: base, input: options.input, suffix: suffix)
    job.modules = options.modules
    job.moduleFilter = options.moduleFilter
    return RunPlan(jobs: [job], found: 1, selected: 1)
}

/// The path of `rel` inside directory `dir` ("" for the root), nil when it is not below it.
private func path(_ rel: String, inside dir: String) -> String? {
    if dir.isEmpty { return rel }
    return rel.hasPrefix(dir + "/") ? String(rel.dropFirst(dir.count + 1)) : nil
}

/// Whether a file found beside a `vmlinux` (at `inside`, relative to their directory) is a
/// module of that kernel: anything under `modules/`, a `*.ko*`, or a file named like
/// /sys/kernel/btf's (no dot, nothing a kernel file's name would have). A directory with a
/// `vmlinux` and, say, `other.btf` is a directory of kernels, as before modules were read.
func isModuleFile(_ inside: String) -> Bool {
    if inside.hasPrefix("modules/") { return true }
    guard !inside.contains("/") else { return false }
    if kernelObjectSuffixes.contains(where: { inside.hasSuffix($0) }) { return true }
    return !inside.contains(".") && !looksLikeKernelFile(inside)
}

/// The job of a run with one kernel: its output is `--output`, or a file named after `base` in
/// it when it is a directory.
private func singleJob(_ options: RunOptions, base: String, input: String, suffix: String) -> KernelJob {
    var job: KernelJob
    if isDirectory(options.output) || options.output.hasSuffix("/") {
        let out = outputName(for: base) + suffix
        job = KernelJob(relativePath: base, inputPath: input, outputPath: joinPath(trimSlashes(options.output), out), relativeOutput: out)
    } else {
        job = KernelJob(relativePath: base, inputPath: input, outputPath: options.output, relativeOutput: base)
    }
    job.isExplicit = true
    return job
}

/// Whether a file name looks like a kernel BTF input: `*.btf`, a compressed one (`*.btf.xz`,
/// `*.btf.gz`, `*.btf.zst`), a tarball (`*.tar`, `*.tar.*`, `*.tgz`) or `vmlinux*`. Such a file
/// found in a directory fails when it holds neither BTF nor ELF; other files are skipped.
public func looksLikeKernelFile(_ relativePath: String) -> Bool {
    let base = String(relativePath.split(separator: "/").last ?? Substring(relativePath))
    if base.hasPrefix("vmlinux") || base.hasSuffix(".tgz") { return true }
    var name = base
    for suffix in [".xz", ".gz", ".zst"] where name.hasSuffix(suffix) {
        name.removeLast(suffix.count)
        break
    }
    return name.hasSuffix(".btf") || name.hasSuffix(".tar")
}

/// Counts struct/union members in a BTF.
package func memberCount(_ btf: BTF) -> Int { btf.memberTotal }

/// Trims one kernel for all objects and writes its output atomically; the result's paths are
/// relative to `roots`.
public func runJob(_ job: KernelJob, objects: [BPFObject], roots: RunRoots, format: OutputFormat = .raw, sync: Bool = false,
                   strict: Bool = false) -> KernelResult {
    runJob(job, objects: TrimObjects(objects), roots: roots, format: format, sync: sync, strict: strict)
}

/// `runJob(_:objects:roots:format:sync:strict:)` with the objects prepared once for the run;
/// `problems`: `RunOptions.describeProblems`.
public func runJob(_ job: KernelJob, objects: TrimObjects, roots: RunRoots, format: OutputFormat = .raw, sync: Bool = false,
                   strict: Bool = false, problems: Bool = true, attribution: Bool = false) -> KernelResult {
    runJob(job, objects: { objects }, roots: roots, format: format, sync: sync, strict: strict, problems: problems,
           attribution: attribution)
}

/// `runJob` with objects that may still be loading: the kernel is read first, and `objects`
/// asked for (waited for) only to trim it; nil, they could not be loaded, and nothing is written.
func runJob(_ job: KernelJob, objects: () -> TrimObjects?, roots: RunRoots, format: OutputFormat, sync: Bool,
            strict: Bool, problems: Bool, attribution: Bool) -> KernelResult {
    var result = KernelResult(path: roots.path(of: job))
    // As stored, also for a kernel that fails or is skipped before it is read (0 for a pipe
    // until it has been read).
    result.inputBytes = fileSize(job.inputPath)
    // What reading the kernel learnt of the file, kept for the report also when it then fails.
    var facts = InputFacts()
    /// Nothing was parsed, or nothing written: no BTF to measure, no output.
    func notWritten(_ status: KernelResult.Status, _ why: String) -> KernelResult {
        var r = KernelResult(path: result.path)
        r.inputBytes = result.inputBytes
        r.member = result.member
        // A skipped input, when it is the one file named with `--input`, is a failure: the user
        // asked for its output, and nothing was written (`btfgen -i empty.btf -o out.btf` must
        // not exit 0 without `out.btf`). In a directory, the same input is only reported and
        // skipped.
        if status == .skipped && job.isExplicit && job.plannedSkip == nil {
            r.status = .failed
            r.message = "\(job.inputPath): nothing to trim: \(why)"
        } else {
            r.status = status
            r.message = why
        }
        return r
    }
    do throws(FormatError) {
        if let why = job.plannedSkip { return notWritten(.skipped, why) }
        if job.relativePath.hasSuffix(".failed") { return notWritten(.skipped, "failure marker") }
        // A file that is neither BTF nor ELF fails when it was named on the command line or its
        // name says it is a kernel (`*.btf`, `*.btf.tar.xz`, `vmlinux*`); anything else in a
        // directory (a README, a checksum list) is skipped.
        let unrecognized: Unrecognized = job.isExplicit || looksLikeKernelFile(job.relativePath) ? .fail : .skip
        facts.storedBytes = result.inputBytes ?? 0
        var kernel: BTF
        let read = try readKernel(job.inputPath, strict: strict, modules: job.moduleFilter, unrecognized: unrecognized, facts: &facts)
        result.inputBytes = facts.storedBytes
        result.member = facts.member
        switch read {
        case .kernel(let btf): kernel = btf
        case .skipped(let why): return notWritten(.skipped, why)
        }
        for module in job.modules {
            try appendModule(module, to: &kernel)
            facts.storedBytes += fileSize(module)
            result.inputBytes = facts.storedBytes
        }
        guard let objects = objects() else { return notWritten(.failed, "\(job.inputPath): the objects could not be read") }
        let trimmed = trim(kernel: kernel, objects: objects)
        // A type of a kind btfgen does not know is stepped over when nothing needs it; a
        // relocation that reaches one cannot be written in a BTF that libbpf 1.1 reads.
        if trimmed.btf.unknownKindCount > 0 {
            throw FormatError(file: job.inputPath, "", "a relocation needs a type of a kind btfgen does not know; it cannot be written")
        }
        var out = trimmed.btf.serialized()
        result.rawOutputBytes = out.count
        if format == .tarXZ {
            let member = String(outputName(for: job.relativeOutput).split(separator: "/").last ?? "vmlinux.btf")
            out = try makeTarXZ([(member, out)])
        }
        let dir = job.outputPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !dir.isEmpty { try makeDirectories(dir) }
        try writeFileAtomically(job.outputPath, out, sync: sync)
        result.output = roots.output(of: job)
        result.outputBytes = out.count
        result.rawBytes = kernel.serializedSize
        result.inputTypes = kernel.typeCount - 1
        result.outputTypes = trimmed.btf.typeCount - 1
        result.inputMembers = memberCount(kernel)
        result.outputMembers = memberCount(trimmed.btf)
        result.objects = trimmed.objects.map { summarize($0, problems: problems) }
        result.warnings = trimmed.mismatches
        result.inputWarnings = kernel.warnings.map(\.description)
        if !kernel.modules.isEmpty {
            result.modules = kernel.modules.map(\.name)
            result.moduleRenames = trimmed.renames
        }
        if attribution {
            // The trim's last use: attribution marks on its marker.
            let bytes = attributeBytes(kernel: kernel, result: consume trimmed)
            attribute(bytes, to: &result.objects)
            result.sharedBytes = bytes.shared
        }
    } catch {
        result.inputBytes = facts.storedBytes
        result.member = facts.member
        return notWritten(.failed, error.description)
    }
    return result
}

/// Gives each object (in the trim's order) its own and shared bytes from `bytes`.
package func attribute(_ bytes: Explanation.Bytes, to objects: inout [ObjectSummary]) {
    for i in objects.indices where i < bytes.own.count {
        objects[i].ownBytes = bytes.own[i]
        objects[i].sharedBytes = bytes.sharedWith[i]
    }
}

/// `r`'s counts and, with `problems`, each unresolved or failing relocation described.
package func summarize(_ r: ObjectResult, problems: Bool = true) -> ObjectSummary {
    var s = ObjectSummary(object: r.object)
    s.total = r.total
    s.errors = r.errors
    s.unresolved = r.unresolved
    s.resolved = r.resolvedCount
    let left = problems ? r.unresolved + r.errors : 0
    guard left > 0 else { return s }
    let resolved = r.resolved, records = resolved.records
    // A decision that fails or poisons before the patch step reads the same for every record
    // that asks it (the patch step leaves such outcomes as they are): described once.
    // (The index of its problem in `s.problems`: an array of optional problems would release
    // each of them one by one at the end.)
    var problemOfDecision = [Int32](repeating: -1, count: resolved.decisions.count)
    s.problems.reserveCapacity(left)
    resolved.statusOfRecord.withUnsafeBufferPointer { status in
        resolved.decisionOfRecord.withUnsafeBufferPointer { decisionOf in
            // The records not patched, most of a big program's records are: a scan of the status
            // bytes that stops at the last of those still to be found, and passes eight patched
            // records at a time.
            let bytes = UnsafeRawBufferPointer(status)
            let eightPatched = UInt64(RecordStatus.patched.rawValue) &* 0x0101_0101_0101_0101
            var found = 0, j = 0
            while found < left && j < status.count {
                if j & 7 == 0, j + 8 <= bytes.count, bytes.loadUnaligned(fromByteOffset: j, as: UInt64.self) == eightPatched {
                    j += 8
                    continue
                }
                defer { j += 1 }
                if status[j] == .patched { continue }
                found += 1
                let d = Int(decisionOf[j])
                let shared: Bool
                switch resolved.decisions[d].outcome {
                case .error, .limit: shared = true
                case .value(let v): shared = v.poison
                }
                let status: RecordStatus, reason: String
                if shared, problemOfDecision[d] >= 0 {
                    let known = Int(problemOfDecision[d])
                    (status, reason) = (s.problems[known].status, s.problems[known].reason)
                } else {
                    guard let p = resolved[j].problem else { continue }
                    (status, reason) = (p.status, p.reason)
                    if shared { problemOfDecision[d] = Int32(s.problems.count) }
                }
                // The record's fields one by one: `records[j]` would build the whole record.
                s.problems.append(.init(section: records.section(j), index: records.indexInSection(j), record: j,
                                        access: records.accessString(j), kind: records.kind(j), status: status,
                                        reason: reason))
            }
        }
    }
    return s
}

/// Runs all jobs on `options.jobs` threads; `progress` is called (serially) after each kernel,
/// with the result, the index of its job and how many kernels are done. Results come back in
/// job order whatever the thread count (without the jobs `--fail-fast` never started), their
/// paths relative to `RunRoots(input: options.input, output: options.output, firstJob:)`.
public func runJobs(_ jobs: [KernelJob], objects: [BPFObject], options: RunOptions,
                    progress: @escaping @Sendable (KernelResult, Int, Int) -> Void = { _, _, _ in }) -> [KernelResult] {
    runJobs(jobs, objects: objects, options: options, state: RunState(count: jobs.count, collect: .keep), progress: progress).results
}

/// What a run keeps of each kernel's problems once `progress` has seen them.
public enum ProblemKeeping: Sendable {
    /// All of them, in the results.
    case keep
    /// Nothing: the results carry counts only.
    case drop
    /// Distinct findings, in a `FindingTable`; each result names its group.
    case findings
}

/// `runJobs`, keeping of each finished kernel only its counts and, with `.findings`, its group
/// of distinct findings: memory grows with distinct findings, not with kernels × findings.
public func runJobs(_ jobs: [KernelJob], objects: [BPFObject], options: RunOptions, collect: ProblemKeeping,
                    progress: @escaping @Sendable (KernelResult, Int, Int) -> Void = { _, _, _ in }) -> (results: [KernelResult], findings: FindingTable) {
    let state = RunState(count: jobs.count, collect: collect)
    return runJobs(jobs, objects: objects, options: options, state: state, progress: progress)
}

/// `runJobs(_:objects:options:collect:progress:)` with the objects still being loaded (and
/// prepared) on another thread (a `Background`'s value): `objects` waits for them. Each worker
/// reads its first kernel meanwhile and waits only to trim it: one kernel and one big object
/// take about as long to read each, and the two together about as long as either. When they
/// could not be loaded (nil), nothing is trimmed or reported, and the run returns nil.
public func runJobs(_ jobs: [KernelJob], loading objects: @escaping @Sendable () -> TrimObjects?, options: RunOptions,
                    collect: ProblemKeeping, progress: @escaping @Sendable (KernelResult, Int, Int) -> Void = { _, _, _ in })
    -> (results: [KernelResult], findings: FindingTable)? {
    let state = RunState(count: jobs.count, collect: collect)
    let run = runJobs(jobs, objects: objects, options: options, state: state, progress: progress)
    return objects() == nil ? nil : run
}

private func runJobs(_ jobs: [KernelJob], objects: [BPFObject], options: RunOptions, state: RunState,
                     progress: @escaping @Sendable (KernelResult, Int, Int) -> Void) -> (results: [KernelResult], findings: FindingTable) {
    let objects = TrimObjects(objects)
    return runJobs(jobs, objects: { objects }, options: options, state: state, progress: progress)
}

private func runJobs(_ jobs: [KernelJob], objects: @escaping @Sendable () -> TrimObjects?, options: RunOptions, state: RunState,
                     progress: @escaping @Sendable (KernelResult, Int, Int) -> Void) -> (results: [KernelResult], findings: FindingTable) {
    let workers = min(options.jobs, max(jobs.count, 1))
    let roots = RunRoots(input: options.input, output: options.output, firstJob: jobs.first)
    let caller = pthread_self()
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        if pthread_equal(pthread_self(), caller) == 0 { options.prepareWorker?() }
        while let i = state.next() {
            let result = runJob(jobs[i], objects: objects, roots: roots, format: options.outputFormat, sync: options.sync,
                                strict: options.strict, problems: options.describeProblems, attribution: options.attributeBytes)
            // Without objects nothing of the run is reported, not even a kernel that failed
            // before it needed them.
            guard objects() != nil else {
                state.stop()
                return
            }
            state.finish(i, result, stop: result.status == .failed && options.failFast, progress: progress)
        }
    }
    return state.finished()
}

private final class RunState: Sendable {
    private struct Shared {
        var nextIndex = 0
        var stopped = false
        var done = 0
        var results: [KernelResult?]
        var collect: ProblemKeeping
        var findings = FindingTable()
    }
    private let shared: Mutex<Shared>

    init(count: Int, collect: ProblemKeeping) {
        shared = Mutex(Shared(results: Array(repeating: nil, count: count), collect: collect))
    }

    func next() -> Int? {
        shared.withLock { s in
            guard !s.stopped, s.nextIndex < s.results.count else { return nil }
            s.nextIndex += 1
            return s.nextIndex - 1
        }
    }

    /// No job is started after this.
    func stop() {
        shared.withLock { $0.stopped = true }
    }

    func finish(_ i: Int, _ result: KernelResult, stop: Bool, progress: (KernelResult, Int, Int) -> Void) {
        shared.withLock { s in
            s.done += 1
            if stop { s.stopped = true }
            progress(result, i, s.done)
            var kept = result
            if s.collect == .findings { kept.findingGroup = s.findings.fold(result.objects) }
            if s.collect != .keep { for o in kept.objects.indices { kept.objects[o].problems = [] } }
            s.results[i] = kept
        }
    }

    func finished() -> (results: [KernelResult], findings: FindingTable) {
        shared.withLock { s in (s.results.compactMap { $0 }, s.findings) }
    }
}
