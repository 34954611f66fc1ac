import ArgumentParser
import Pipeline

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

    func run() throws {
        try Trim(input: input, objects: object, output: output, jobs: jobs, failFast: failFast, sync: sync, strict: strict,
                 outputFormat: outputFormat, include: include, exclude: exclude, arch: arch, shard: shard,
                 json: json, verbose: verbose, quiet: quiet, report: report, reportFormat: reportFormat,
                 reportDetail: reportDetail, failOn: failOn, pack: pack,
                 moduleFiles: module, moduleDirectories: modules, moduleFilter: moduleFilter).run()
    }
}
