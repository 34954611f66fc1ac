#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import BPFObject
import BTF
import KernelInput
import Pipeline
import Minimize
import Report

extension Exit {
    /// `--fail-on` found relocations that are unresolved or fail (and no kernel failed).
    static let findings: Int32 = 3
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print a saved report, report on an output directory, or compare two output directories.",
        discussion: """
            btfgen report run.json
              Re-renders a report saved with `btfgen gen --report run.json` (any format).
            btfgen report OUT [--object OBJ ...]
              Sizes, type and member counts, identical files and packed size of the BTF files in \
            OUT; with --object, each object's relocations resolved against each file.
            btfgen report --compare A B
              Per-kernel size deltas of B against A (say, bpftool's outputs), files only on one \
            side, totals. Files pair up by path with compression suffixes dropped.

            The report goes to stdout as text unless --format or --output says otherwise. With \
            --fail-on, exit as the run would have: 1 when a kernel failed, else 3 when a relocation \
            is unresolved (or fails); without it, 0 whatever the report holds. The JSON schema is \
            in docs/report-schema.md.
            """
    )

    @Argument(help: "A report saved as JSON, or an output directory (or one BTF file).")
    var path: String

    @Option(name: .long, help: "Compare this output directory (A, the baseline) with PATH (B).")
    var compare: String?

    @Option(name: .long, help: "For an output directory: resolve these objects' relocations against each file; may be repeated.")
    var object: [String] = []

    @Option(name: [.short, .long], help: "Write the report to this file instead of stdout (format from its extension).")
    var output: String?

    @Option(name: .long, help: "text, json, md, csv or html (default: from --output's extension, else text).")
    var format: ReportFormat?

    @Option(name: .long, help: "summary or full (every kernel's own list of problems too); default: a saved report's own, else summary.")
    var detail: RunReport.Detail?

    @Option(name: .long, help: "Exit with 3 if a relocation is unresolved or fails (unresolved), or fails (errors).")
    var failOn: FailOn?

    func run() throws {
        let format = try resolveReportFormat(path: output, explicit: format) ?? .text
        let text: String
        var findings: RunReport?
        do throws(FormatError) {
            if let compare {
                guard failOn == nil else { throw FormatError("--fail-on", "does not apply to --compare") }
                guard object.isEmpty else { throw FormatError("--object", "does not apply to --compare") }
                text = try CompareReport(a: compare, b: path).rendered(format)
            } else if looksLikeJSON(path) {
                guard object.isEmpty else { throw FormatError("--object", "does not apply to a saved report") }
                let bytes = try readFile(path)
                if let comparison = try? CompareReport(json: bytes, path: path) {
                    guard failOn == nil else { throw FormatError(file: path, "", "--fail-on does not apply to a comparison") }
                    text = comparison.rendered(format)
                } else {
                    var report = try RunReport(json: bytes, path: path)
                    if let detail { report.detail = detail }
                    findings = report
                    text = report.rendered(format)
                }
            } else {
                let loaded = try loadObjects(object)
                for line in loaded.skipped { warn("btfgen: \(line)") }
                let objects = loaded.objects.filter { !$0.relocations.isEmpty }
                var report = try RunReport(outputsAt: path, objects: objects)
                if let detail { report.detail = detail }
                report.addOutputStatistics()
                findings = report
                text = report.rendered(format)
            }
            if let output {
                try writeUserFile(output, Array(text.utf8))
            } else {
                writeStandardOutput(text)
            }
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
        if let failOn, let findings { try checkFailOn(failOn, findings) }
    }
}

/// Whether `path` is a file holding JSON (by name, or by its first non-blank byte).
private func looksLikeJSON(_ path: String) -> Bool {
    if isDirectory(path) { return false }
    if path.lowercased().hasSuffix(".json") { return true }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var head = [UInt8](repeating: 0, count: 64)
    let n = read(fd, &head, head.count)
    return head.prefix(max(n, 0)).first { ![0x20, 0x09, 0x0a, 0x0d].contains($0) } == UInt8(ascii: "{")
}

/// The report format: `--report-format`/`--format` when given, else the file's extension.
func resolveReportFormat(path: String?, explicit: ReportFormat?) throws -> ReportFormat? {
    if let explicit { return explicit }
    guard let path else { return nil }
    guard let f = ReportFormat(fileName: path) else {
        throw ValidationError("cannot tell the report format of '\(path)' from its extension (.json, .md, .csv, .html, .txt): give --report-format")
    }
    return f
}

/// Writes `report` (its output statistics added: `addOutputStatistics`) to `path` in `format`.
///
/// `totals`, when given, supplies the totals. JSON writes them last, so the output statistics
/// can be worked out while the rest is written; the other formats wait for them first.
func writeReport(_ report: RunReport, to path: String, format: ReportFormat,
                 totals: (() -> RunReport.Totals)? = nil) throws {
    do throws(FormatError) {
        if format == .json {
            // A piece at a time: the JSON of thousands of kernels is never whole in memory.
            try writeUserFile(path) { write in
                var ok = true
                report.renderJSON(totals: totals) { piece in
                    guard ok else { return }
                    ok = piece.withUnsafeBytes { write($0) }
                }
            }
            return
        }
        var report = report
        if let totals { report.totals = totals() }
        try writeUserFile(path, Array(report.rendered(format).utf8))
    } catch {
        warn("btfgen: \(error)")
        throw ExitCode(Exit.usage)
    }
}

/// Exits as a run with `--fail-on` exits: with `Exit.kernelFailed` when `report` has a failed
/// kernel (it takes precedence), else with `Exit.findings` when it has relocations `failOn`
/// counts, naming them.
///
/// `gen` has already printed and exited for its failed kernels; for a saved report this names
/// them.
func checkFailOn(_ failOn: FailOn, _ report: RunReport) throws {
    let failed = report.kernels.filter { $0.status == .failed }
    if !failed.isEmpty {
        warn("btfgen: \(failed.count) of \(report.kernels.count) kernels failed (exit status 1 takes precedence over --fail-on)")
        for k in failed.prefix(20) { warn("btfgen:   " + (k.message ?? "\(k.path): failed")) }
        if failed.count > 20 { warn("btfgen:   and \(failed.count - 20) more") }
        throw ExitCode(Exit.kernelFailed)
    }
    let found = report.findings(failOn)
    guard !found.isEmpty else { return }
    let pairs = report.kernels.reduce(0) { $0 + $1.objects.count }
    let what = failOn == .errors ? "failing" : "unresolved or failing"
    warn("btfgen: --fail-on \(failOn.rawValue): \(found.count) of \(pairs) kernel × object pairs have \(what) relocations")
    for (kernel, o) in found.prefix(20) { warn("btfgen:   \(kernel) × \(o.object): \(o.compat)") }
    if found.count > 20 { warn("btfgen:   and \(found.count - 20) more") }
    throw ExitCode(Exit.findings)
}
