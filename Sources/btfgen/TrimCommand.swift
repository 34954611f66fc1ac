#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Dispatch
import BPFObject
import BTF
import KernelInput
import Pipeline
import Minimize
import Report

/// The options of the default command (`Gen`), declared once: names, help, defaults and the
/// checks between them. `Trim(_:)` makes the run of them.
struct TrimOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "A kernel BTF (raw BTF, an ELF file with .BTF, or .btf.tar.xz/.tar.gz/.tar.zst/.xz/.gz/.zst), or a directory walked recursively.")
    var input: String

    @Option(name: .long, help: "A BPF object (.bpf.o) or a directory of them; may be repeated.")
    var object: [String]

    @Option(name: [.short, .long], help: "Output file (for a file input) or directory.")
    var output: String

    @Option(name: [.short, .long], help: "Kernels processed at once (default: number of cores).")
    var jobs: Int = availableProcessorCount()

    @Flag(name: .long, help: "Stop at the first kernel that fails.")
    var failFast = false

    @Flag(name: .long, help: "Flush each output to the disk (fsync) before renaming it into place.")
    var sync = false

    @Flag(name: .long, help: "Fail a kernel whose BTF breaks one of the kernel's own rules that libbpf does not check (by default a warning).")
    var strict = false

    @Option(name: .long, help: "Output format: raw (K.btf) or tar.xz (K.btf.tar.xz holding K.btf).")
    var outputFormat: OutputFormat = .raw

    @Option(name: .long, help: "Only kernels whose relative path matches this glob ('ubuntu/20.04/**'); may be repeated.")
    var include: [String] = []

    @Option(name: .long, help: "Skip kernels whose relative path matches this glob ('**/arm64/**'); may be repeated.")
    var exclude: [String] = []

    @Option(name: .long, help: "Only kernels under a directory named for this architecture: x86_64 (= amd64), arm64 (= aarch64), s390x, ppc64le (= ppc64el), riscv64, i386 (= x86, i686), arm (= armhf).")
    var arch: String?

    @Option(name: .long, help: "Process the K-th of N deterministic slices of the kernels, balanced by size (e.g. 2/4).")
    var shard: Shard?

    @Flag(name: .long, help: "Print one JSON line per kernel on stdout.")
    var json = false

    @Flag(name: [.short, .long], help: "Print one line per kernel and every relocation that did not resolve.")
    var verbose = false

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Option(name: .long, help: "Write a report of the run to this file: .json, .md, .csv, .html or .txt (docs/report-schema.md).")
    var report: String?

    @Option(name: .long, help: "Format of --report when its extension does not say: text, json, md, csv or html.")
    var reportFormat: ReportFormat?

    @Option(name: .long, help: "summary (default: each distinct unresolved relocation once, with its kernels) or full (also every kernel's own list, as schema 1 had it).")
    var reportDetail: RunReport.Detail = .summary

    @Option(name: .long, help: "Exit with 3 if a relocation is unresolved or fails (unresolved), or fails (errors).")
    var failOn: FailOn?

    @Option(name: .long, help: "Also write every output of the run into this one deterministic .tar.xz (paths as under --output).")
    var pack: String?

    @Option(name: .long, help: "A kernel module's BTF for the one kernel --input names (.ko, .ko.xz, .ko.zst, or raw split BTF as in /sys/kernel/btf); may be repeated.")
    var module: [String] = []

    @Option(name: .long, help: "A directory of module files for the one kernel --input names (lib/modules/VERSION/ of a kernel package, or a copy of /sys/kernel/btf); may be repeated.")
    var modules: [String] = []

    @Option(name: .long, help: "Only these modules (names, comma-separated: nf_conntrack,xfs) of --module, --modules and kernel directories.")
    var moduleFilter: [String] = []

    func validate() throws {
        if let arch, archAliases(arch) == nil {
            throw ValidationError("unknown --arch \(arch); accepted: \(acceptedArchitectureNames.joined(separator: ", "))")
        }
        if let pack {
            guard outputFormat == .raw else { throw ValidationError("--pack packs raw outputs: it cannot be combined with --output-format \(outputFormat.rawValue)") }
            guard pack.hasSuffix(".tar.xz") else { throw ValidationError("--pack writes a .tar.xz: name the file PATH.tar.xz (got \(pack))") }
        }
    }
}

/// One trimming run as the command line asked for it: the default command's options
/// (`Trim(_:)`, for `Gen`), or bpftool's positional syntax with every option at its default
/// (`MinCoreBTF`, and `main`'s fast path). Plain values, not `TrimOptions`: a parsable type's
/// values exist only once the argument parser has run, which the fast path skips.
struct Trim {
    var input: String
    var objects: [String]
    var output: String
    var jobs = availableProcessorCount()
    var failFast = false
    var sync = false
    var strict = false
    var outputFormat = OutputFormat.raw
    var include: [String] = []
    var exclude: [String] = []
    var arch: String?
    var shard: Shard?
    var json = false
    var verbose = false
    var quiet = false
    var report: String?
    var reportFormat: ReportFormat?
    var reportDetail: RunReport.Detail = .summary
    var failOn: FailOn?
    var pack: String?
    var moduleFiles: [String] = []
    var moduleDirectories: [String] = []
    var moduleFilter: [String] = []

    func run() throws {
        guard !objects.isEmpty else { throw ValidationError("at least one --object is required") }
        let reportAs = try resolveReportFormat(path: report, explicit: reportFormat)
        // The objects are read and prepared on a thread of their own while the run is planned
        // and the first kernels are read (`runJobs(_:loading:...)`). Their errors still come
        // first: any other usage error waits for them (`loadedObjects`).
        let paths = objects
        let loading = Background { () -> TrimObjects? in
            // This thread's allocations come from an arena of its own: the objects' relocation
            // tables are its megabytes of fresh memory.
            adviseHugePages(hugeHeap)
            let loaded: LoadedObjects
            do { loaded = try loadObjects(paths) } catch {
                warn("btfgen: \(error)")
                return nil
            }
            for line in loaded.skipped { warn("btfgen: warning: \(line)") }
            var usable: [BPFObject] = []
            for o in loaded.objects {
                if o.ext == nil {
                    warn("btfgen: \(o.path): no .BTF.ext section, skipped")
                } else if o.relocations.isEmpty {
                    warn("btfgen: \(o.path): no CO-RE relocations, skipped")
                } else {
                    usable.append(o)
                }
            }
            return TrimObjects(usable)
        }
        /// The objects, once loaded; when they cannot be, the run stops with a usage error.
        func loadedObjects() throws -> TrimObjects {
            guard let objects = loading.value else { throw ExitCode(Exit.usage) }
            return objects
        }
        var options = RunOptions(input: input, output: output, jobs: jobs)
        options.failFast = failFast
        options.sync = sync
        options.strict = strict
        // The run's report, only where something reads it: bpftool's command line, once per
        // kernel in a script, asks for none. Either way a finished kernel keeps its counts only
        // (and, for a report, its group of distinct findings); its relocations are described
        // only for a report or --verbose.
        let wantsSummary = report != nil || pack != nil || failOn != nil
        options.describeProblems = wantsSummary || verbose
        options.attributeBytes = report != nil
        let format = outputFormat
        options.outputFormat = format
        options.include = include
        options.exclude = exclude
        options.arch = arch
        options.shard = shard.map { ($0.index, $0.count) }
        options.moduleFilter = ModuleFilter(moduleFilter)
        options.prepareWorker = { adviseHugePages(hugeHeap) }
        if !moduleFiles.isEmpty || !moduleDirectories.isEmpty {
            guard !isDirectory(input) else {
                _ = try loadedObjects()
                throw ValidationError("--module and --modules name one kernel's modules: give --input a kernel file (a directory of kernels holds each kernel's modules beside its vmlinux, see README)")
            }
            do {
                options.modules = try Pipeline.moduleFiles(files: moduleFiles, directories: moduleDirectories, filter: options.moduleFilter)
            } catch {
                _ = try loadedObjects()
                warn("btfgen: \(error)")
                throw ExitCode(Exit.usage)
            }
        }
        let runPlan: RunPlan
        do { runPlan = try planRun(options) } catch {
            _ = try loadedObjects()
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
        let plan = runPlan.jobs
        if runPlan.selected == 0 && runPlan.found > 0 {
            _ = try loadedObjects()
            var filters: [String] = include.map { "--include \($0)" } + exclude.map { "--exclude \($0)" }
            if let arch { filters.append("--arch \(arch)") }
            warn("btfgen: warning: \(filters.joined(separator: " ")) selected none of the \(runPlan.found) files in \(input)")
        }
        let verbose = self.verbose, quiet = self.quiet, json = self.json
        let roots = RunRoots(input: input, output: output, firstJob: plan.first)
        let progress = Progress(total: plan.count, enabled: !quiet && !json && isatty(STDOUT_FILENO) == 1)
        let ran = runJobs(plan, loading: { loading.value }, options: options, collect: wantsSummary ? .findings : .drop) { result, index, done in
            // Messages go on lines of their own, not after the progress line.
            progress.clear()
            if json { print(jsonLine(result)) }
            let job = plan[index]
            switch result.status {
            case .failed:
                warn("btfgen: \(result.message ?? "\(job.inputPath): failed")")
            case .skipped:
                if !quiet { warn("btfgen: \(job.inputPath): skipped: \(result.message ?? "")") }
            case .written:
                for w in result.inputWarnings.prefix(quiet ? 0 : 5) { warn("btfgen: warning: \(job.inputPath): \(w)") }
                if !quiet && result.inputWarnings.count > 5 {
                    warn("btfgen: warning: \(job.inputPath): \(result.inputWarnings.count - 5) more of the kernel's own rules broken (--strict fails the kernel on them)")
                }
                for w in result.warnings { warn("btfgen: warning: \(job.inputPath): trimmed BTF changes a relocation: \(w)") }
                if verbose {
                    let names = result.modules ?? []
                    let more = names.count > 10 ? " and \(names.count - 10) more" : ""
                    let modules = names.isEmpty ? ""
                        : " (\(names.count) module\(names.count == 1 ? "" : "s"): \(names.prefix(10).joined(separator: ", "))\(more))"
                    print("\(job.relativeOutput): \(result.rawBytes ?? 0) -> \(result.outputBytes) bytes, \(result.inputTypes ?? 0) -> \(result.outputTypes) types\(modules)")
                    for r in result.moduleRenames ?? [] {
                        print("  renamed \(r): it shares a name with a vmlinux candidate, which libbpf on the live kernel takes instead")
                    }
                    for o in result.objects {
                        print("  \(o.object): \(o.total) relocations, \(o.resolved) resolved, \(o.unresolved) unresolved, \(o.errors) errors")
                        for p in o.problems {
                            print("    \(p.section) relo #\(p.index) <\(p.kind)> \(p.access): \(p.text)")
                        }
                    }
                }
            }
            progress.update(done: done)
        }
        progress.finish()
        // Nothing was trimmed when the objects could not be read: their error is the run's. What
        // the report and the pack need of the objects is their paths (their names); the rest is
        // freed.
        let objectPaths = try loadedObjects().names
        _ = loading.take()
        guard let (finished, findings) = ran else { throw ExitCode(Exit.usage) }
        #if canImport(Glibc)
        // The jobs' kernels and the objects are freed, but glibc keeps their pages in its arenas
        // (the worker threads' among them), where the report's and the pack's allocations on
        // other threads cannot reuse them: give them back first, so that the report's memory
        // comes on top of what is left, not on top of the run's peak.
        if report != nil || pack != nil { releaseFreedMemory() }
        #endif
        let failed = finished.compactMap { r in r.status == .failed ? r.message ?? "\(r.path): failed" : nil }
        let skipped = finished.count - finished.filter { $0.status == .written }.count - failed.count
        if !quiet && !json {
            let written = finished.filter { $0.status == .written }
            let inBytes = written.reduce(0) { $0 + ($1.rawBytes ?? 0) }, outBytes = written.reduce(0) { $0 + $1.outputBytes }
            let errors = written.reduce(0) { $0 + $1.objects.reduce(0) { $0 + $1.errors } }
            let unresolved = written.reduce(0) { $0 + $1.objects.reduce(0) { $0 + $1.unresolved } }
            var line = "btfgen: \(written.count) of \(plan.count) kernels written to \(output) (\(inBytes) -> \(outBytes) bytes)"
            line += ", \(objectPaths.count) object\(objectPaths.count == 1 ? "" : "s"), \(unresolved) unresolved and \(errors) failing relocations"
            if skipped > 0 { line += ", \(skipped) skipped" }
            if !failed.isEmpty { line += ", \(failed.count) failed" }
            print(line)
        }
        // The failures again, together at the end where they are not lost among a long run's
        // messages; even with --quiet or --json. A one-kernel run has said it all already.
        if !failed.isEmpty && plan.count > 1 {
            fflush(nil)
            var lines = "btfgen: \(failed.count) of \(plan.count) kernels failed:\n"
            for message in failed { lines += "btfgen: failed: \(message)\n" }
            writeStandardError(lines)
        }
        // The report takes the results over as its kernels.
        var summary = wantsSummary
            ? RunReport(run: consume finished, findings: findings, roots: roots, format: format, objects: objectPaths,
                        detail: reportDetail) : nil
        // The pack is made once: the report's packed_bytes is its size. Packing the outputs (xz,
        // a megabyte a second) goes on while a JSON report is written: its totals come last.
        if let built = summary, report != nil || pack != nil {
            // On a worker's thread: the pack's buffers reuse the memory the run freed there.
            let statistics = Background(on: .global()) { built.outputStatistics(withoutDedup: pack != nil) }
            if let report, let reportAs {
                try writeReport(built, to: report, format: reportAs, totals: {
                    var totals = built.totals
                    totals.apply(statistics.value)
                    return totals
                })
            }
            summary?.totals.apply(statistics.value)
            if let summary, let pack { try writePack(statistics.value.pack, summary: summary, to: pack) }
        }
        if !failed.isEmpty { throw ExitCode(Exit.kernelFailed) }
        if let summary, let failOn { try checkFailOn(failOn, summary) }
    }
}

extension Trim {
    /// The run the default command's options ask for.
    init(_ o: TrimOptions) {
        self.init(input: o.input, objects: o.object, output: o.output, jobs: o.jobs, failFast: o.failFast, sync: o.sync,
                  strict: o.strict, outputFormat: o.outputFormat, include: o.include, exclude: o.exclude, arch: o.arch,
                  shard: o.shard, json: o.json, verbose: o.verbose, quiet: o.quiet, report: o.report,
                  reportFormat: o.reportFormat, reportDetail: o.reportDetail, failOn: o.failOn, pack: o.pack,
                  moduleFiles: o.module, moduleDirectories: o.modules, moduleFilter: o.moduleFilter)
    }
}

/// Writes the pack of every output of the run (`makePack`: `btfgen-index.json`, then the
/// outputs in sorted path order, each distinct one stored once) at `path`, atomically.
func writePack(_ packed: [UInt8]?, summary: RunReport, to path: String) throws {
    do throws(FormatError) {
        guard let packed else {
            throw FormatError(file: path, "", "cannot pack the outputs: \(summary.totals.packedError ?? "unknown error")")
        }
        try writeUserFile(path, packed)
    } catch {
        warn("btfgen: \(error)")
        throw ExitCode(Exit.usage)
    }
}

/// A live progress line on a terminal: done/total, rate and ETA, rewritten in place.
final class Progress: @unchecked Sendable {
    private let total: Int
    private let enabled: Bool
    private let start = monotonicNanoseconds()
    private var shown = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(done: Int) {
        guard enabled else { return }
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        print(cFormat("\r[%d/%d] %.1f kernels/s, ETA %.0fs\u{1b}[K", done, total, rate, eta), terminator: "")
        fflush(nil)
        shown = true
    }

    /// Erases the progress line (carriage return, erase to end of line) so that the next
    /// message starts at the beginning of an empty line; `update` draws it again.
    func clear() {
        guard shown else { return }
        print("\r\u{1b}[K", terminator: "")
        fflush(nil)
        shown = false
    }

    func finish() {
        if shown { print("") }
        fflush(nil)
    }
}

/// One kernel as a JSON line: the keys of the report's `kernels[]` entry that README's `--json`
/// row lists, with the same values (for a skipped or failed kernel `output` is `""` and
/// `raw_bytes` and `input_types` are null), plus `error` (failed) or `reason` (skipped).
func jsonLine(_ k: KernelResult) -> String {
    var row: [String: JSONValue] = [
        "path": .string(k.path), "output": .string(k.output), "status": .string(k.status.rawValue),
        "input_bytes": k.inputBytes.map(JSONValue.int) ?? .null, "raw_bytes": k.rawBytes.map(JSONValue.int) ?? .null,
        "output_bytes": .int(k.outputBytes), "input_types": k.inputTypes.map(JSONValue.int) ?? .null,
        "output_types": .int(k.outputTypes),
    ]
    switch k.status {
    case .written: break
    case .failed: row["error"] = .string(k.message ?? "")
    case .skipped: row["reason"] = .string(k.message ?? "")
    }
    row["objects"] = .array(k.objects.map { o in
        .sortedObject(["object": .string(o.object), "total": .int(o.total), "resolved": .int(o.resolved),
                       "unresolved": .int(o.unresolved), "errors": .int(o.errors)])
    })
    return JSONValue.sortedObject(row).renderedCompact()
}

#if canImport(Glibc)
/// glibc's `malloc_trim(0)`: returns the free pages of every arena to the system. Looked up at
/// run time (the Glibc module does not export `malloc.h`); a C library without it does nothing.
func releaseFreedMemory() {
    typealias MallocTrim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(nil, "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
}
#endif
