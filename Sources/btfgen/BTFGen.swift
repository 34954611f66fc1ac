#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import BPFObject
import BTF
import KernelInput
import CORE
import Dispatch
import Pipeline
import Report

/// Exit codes, documented in README.md.
enum Exit {
    static let ok: Int32 = 0
    /// At least one kernel failed (its output was not written).
    static let kernelFailed: Int32 = 1
    /// Bad usage, or an object or input that cannot be read at all.
    static let usage: Int32 = 2
}

func warn(_ message: String) {
    writeStandardError(message + "\n")
}

@main
struct BTFGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "btfgen",
        abstract: "Make minimal BTF files for CO-RE eBPF programs.",
        discussion: """
            With --input, --object and --output (the default command), btfgen keeps only the \
            types and members of each kernel BTF that the objects' CO-RE relocations use, so that \
            libbpf computes the same relocations from the small file as from the full one.
            """,
        version: btfgenVersion,
        subcommands: [Gen.self, MinCoreBTF.self, Merge.self, Relocs.self, Report.self, Explain.self, Select.self, Embed.self,
                      BenchParse.self],
        defaultSubcommand: Gen.self
    )

    static func main() {
        tuneAllocator()
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            if let trim = MinCoreBTF.fastPath(arguments) {
                try trim.run()
                return
            }
            var command = try parseAsRoot(bpftoolSpelling(arguments))
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// `gen min_core_btf ...`, as a script written for bpftool spells it, is the `min_core_btf`
/// command; any other argument list is left as it is.
func bpftoolSpelling(_ arguments: [String]) -> [String] {
    arguments.starts(with: ["gen", "min_core_btf"]) ? Array(arguments.dropFirst()) : arguments
}

/// Keeps the multi-megabyte buffers of one kernel (file bytes, type words, strings) in the heap
/// once freed, so the next kernel of a batch reuses those pages instead of mapping and faulting
/// in fresh ones: with glibc's defaults each such buffer is a new mmap.
func tuneAllocator() {
    #if os(Linux)
    _ = glibcMallopt(-3, 256 << 20) // M_MMAP_THRESHOLD
    _ = glibcMallopt(-1, 512 << 20) // M_TRIM_THRESHOLD
    #endif
}

#if os(Linux)
/// glibc's `int mallopt(int, int)`, which the Glibc module does not export.
@_silgen_name("mallopt")
func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif

struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Trim kernel BTFs for a set of BPF objects (the default command)."
    )

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
    var outputFormat: String = "raw"

    @Option(name: .long, help: "Only kernels whose relative path matches this glob ('ubuntu/20.04/**'); may be repeated.")
    var include: [String] = []

    @Option(name: .long, help: "Skip kernels whose relative path matches this glob ('**/arm64/**'); may be repeated.")
    var exclude: [String] = []

    @Option(name: .long, help: "Only kernels under a directory named for this architecture: x86_64 (= amd64), arm64 (= aarch64), s390x, ppc64le (= ppc64el), riscv64, i386 (= x86, i686), arm (= armhf).")
    var arch: String?

    @Option(name: .long, help: "Process the K-th of N deterministic slices of the kernels, balanced by size (e.g. 2/4).")
    var shard: String?

    @Flag(name: .long, help: "Print one JSON line per kernel on stdout.")
    var json = false

    @Flag(name: [.short, .long], help: "Print one line per kernel and every relocation that did not resolve.")
    var verbose = false

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Option(name: .long, help: "Write a report of the run to this file: .json, .md, .csv, .html or .txt (docs/report-schema.md).")
    var report: String?

    @Option(name: .long, help: "Format of --report when its extension does not say: text, json, md, csv or html.")
    var reportFormat: String?

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
            guard outputFormat == "raw" else { throw ValidationError("--pack packs raw outputs: it cannot be combined with --output-format \(outputFormat)") }
            guard pack.hasSuffix(".tar.xz") else { throw ValidationError("--pack writes a .tar.xz: name the file PATH.tar.xz (got \(pack))") }
        }
    }

    func run() throws {
        try Trim(input: input, objects: object, output: output, jobs: jobs, failFast: failFast, sync: sync, strict: strict,
                 outputFormat: outputFormat, include: include, exclude: exclude, arch: arch, shard: shard,
                 json: json, verbose: verbose, quiet: quiet, report: report, reportFormat: reportFormat,
                 reportDetail: reportDetail, failOn: failOn, pack: pack,
                 moduleFiles: module, moduleDirectories: modules, moduleFilter: moduleFilter).run()
    }
}

/// `btfgen gen min_core_btf INPUT OUTPUT OBJECT...`: bpftool's syntax, so that a script
/// written for `bpftool gen min_core_btf` runs with btfgen in bpftool's place. It is the default
/// command on one input with `--quiet`: silent on success, errors on stderr, the same exit codes.
struct MinCoreBTF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "min_core_btf",
        abstract: "bpftool's syntax: trim INPUT for the OBJECTs into OUTPUT (as 'btfgen -q -i INPUT -o OUTPUT --object OBJECT...')."
    )

    @Argument(help: "A kernel BTF (any input btfgen reads), or a directory of them.")
    var input: String

    @Argument(help: "The output file (or directory, for a directory input).")
    var output: String

    @Argument(help: "BPF objects (at least one).")
    var objects: [String] = []

    func validate() throws {
        if objects.isEmpty { throw ValidationError("at least one OBJECT is required, as for bpftool gen min_core_btf") }
    }

    func run() throws {
        try Trim(input: input, objects: objects, output: output, quiet: true).run()
    }

    /// The same run without the argument parser, when `arguments` (after the program name) are
    /// bpftool's `gen min_core_btf INPUT OUTPUT OBJECT...` and nothing else: no option, nothing
    /// that looks like one. Scripts call it once per kernel, and the parser's reflection would be
    /// about a third of such a run. Anything else (`--help`, a missing OBJECT) returns nil and goes
    /// through the parser, which explains it.
    static func fastPath(_ arguments: [String]) -> Trim? {
        guard arguments.count >= 5, arguments.starts(with: ["gen", "min_core_btf"]) else { return nil }
        let positional = arguments.dropFirst(2)
        guard positional.allSatisfy({ !$0.hasPrefix("-") && !$0.isEmpty }) else { return nil }
        let a = Array(positional)
        return Trim(input: a[0], objects: Array(a[2...]), output: a[1], quiet: true)
    }
}

struct Relocs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List an object's CO-RE relocations, or resolve them against a kernel BTF.",
        discussion: "One line per CO-RE record, in file order, in libbpf's vocabulary."
    )

    @Argument(help: "A BPF object (.bpf.o).")
    var object: String

    @Option(name: .long, help: "Resolve each relocation against this kernel BTF (raw, ELF, or compressed as --input takes it: .btf.tar.xz and the rest).")
    var btf: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Option(name: .long, help: "A module's BTF (.ko, .ko.xz, .ko.zst or raw split BTF) appended to --btf: candidates are searched as on a live kernel with it loaded; may be repeated.")
    var module: [String] = []

    @Option(name: .long, help: "A directory of module files appended to --btf (lib/modules/VERSION/, a copy of /sys/kernel/btf); may be repeated.")
    var modules: [String] = []

    @Option(name: .long, help: "Only these modules (comma-separated names) of --module and --modules.")
    var moduleFilter: [String] = []

    func run() throws {
        let obj: BPFObject
        let kernel: BTF?
        do {
            obj = try BPFObject(path: object)
            let files = try moduleFiles(files: module, directories: modules, filter: ModuleFilter(moduleFilter))
            if btf == nil && !files.isEmpty { throw FormatError("--module", "modules need --btf (their vmlinux)") }
            kernel = try btf.map { path throws(FormatError) in try loadKernelFile(path, modules: files) }
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
        if obj.relocations.isEmpty {
            warn("btfgen: \(object): \(obj.ext == nil ? "no .BTF.ext section" : "no CO-RE relocations")")
            return
        }
        var resolutions: [Resolution] = []
        if let kernel {
            let index = CandidateIndex(target: kernel, wanted: Resolver.wantedNames(local: obj.btf, records: obj.relocations))
            resolutions = Resolver.resolve(local: obj.btf, records: obj.relocations, target: kernel, index: index)
        }
        var jsonRows: [JSONValue] = []
        for (i, r) in obj.relocations.enumerated() {
            let spec = (try? AccessSpec(parsing: r.accessString, root: r.type, kind: r.kind, in: obj.btf))
                .map { $0.formatted(in: obj.btf, withOffset: false) } ?? "\(r.type) \(r.accessString)"
            var line = "\(r.section) insn \(r.insn): <\(r.kind)> \(spec)"
            var row: [String: JSONValue] = ["section": .string(r.section), "relo": .int(r.index), "insn": .int(r.insn),
                                            "kind": .string(r.kind.description), "type_id": .int(Int(r.type.rawValue)),
                                            "access": .string(r.accessString), "spec": .string(spec)]
            if let kernel {
                let res = resolutions[i]
                let result: String
                switch res.outcome {
                case .error(let m):
                    result = "error: \(m)"
                    row["status"] = .string("error")
                    row["error"] = .string(m)
                case .limit(let m):
                    result = "error: not resolved: \(m)"
                    row["status"] = .string("error")
                    row["error"] = .string("not resolved: \(m)")
                case .value(let v):
                    if v.poison {
                        result = v.poisonedAccess ? "poisoned: \(res.describe(targetBTF: kernel).dropFirst("poisoned (".count).dropLast())"
                            : "poisoned: no matching target"
                        row["status"] = .string("unresolved")
                    } else {
                        let matched = res.targets.first.map { " matched \($0.formatted(in: kernel)):" } ?? " no target:"
                        result = "\(matched.dropFirst()) \(res.describe(targetBTF: kernel))"
                        row["status"] = .string("resolved")
                        row["original"] = .uint(v.original)
                        row["value"] = .uint(v.new)
                        if let t = res.targets.first { row["target"] = .string(t.formatted(in: kernel)) }
                    }
                }
                row["result"] = .string(result)
                line += " => \(result)"
            }
            if json { jsonRows.append(.sortedObject(row)) } else { print(line) }
        }
        if json {
            print(JSONValue.array(jsonRows).rendered())
        }
    }
}

struct BenchParse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-parse",
        abstract: "Time parsing and validating a BTF file (used by make bench).",
        shouldDisplay: false
    )

    @Argument var file: String
    @Argument var iterations: Int = 20

    func run() throws {
        // Read + parse + validate, as libbpf's btf__parse opens, reads and checks the file.
        var times: [Double] = []
        for _ in 0..<max(1, iterations) {
            let start = monotonicNanoseconds()
            _ = try loadKernelFile(file)
            times.append(Double(monotonicNanoseconds() - start) / 1e6)
        }
        let mean = times.reduce(0, +) / Double(times.count)
        print(cFormat("btfgen parse: %d iters, %.3f ms/iter, min %.3f ms", times.count, mean, times.min() ?? 0))
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
/// row lists, with the same values (paths relative to `inputRoot` and `outputRoot`; for a
/// skipped or failed kernel `output` is `""` and `raw_bytes` and `input_types` are null), plus
/// `error` (failed) or `reason` (skipped).
func jsonLine(_ r: KernelReport, inputRoot: String, outputRoot: String) -> String {
    let k = RunReport.Kernel(r, inputRoot: inputRoot, outputRoot: outputRoot)
    var row: [String: JSONValue] = [
        "path": .string(k.path), "output": .string(k.output), "status": .string(k.status.rawValue),
        "input_bytes": k.inputBytes.map(JSONValue.int) ?? .null, "raw_bytes": k.rawBytes.map(JSONValue.int) ?? .null,
        "output_bytes": .int(k.outputBytes), "input_types": k.inputTypes.map(JSONValue.int) ?? .null,
        "output_types": .int(k.outputTypes),
    ]
    switch r.status {
    case .written: break
    case .failed(let m): row["error"] = .string(m)
    case .skipped(let m): row["reason"] = .string(m)
    }
    row["objects"] = .array(k.objects.map { o in
        .sortedObject(["object": .string(o.object), "total": .int(o.total), "resolved": .int(o.resolved),
                       "unresolved": .int(o.unresolved), "errors": .int(o.errors)])
    })
    return JSONValue.sortedObject(row).renderedCompact()
}
