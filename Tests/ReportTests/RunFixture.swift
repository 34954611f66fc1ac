import Foundation
import Testing

import Pipeline
import KernelInput
import Minimize
import Report
import TestSupport

/// One `btfgen --report run.json --pack packs/all.tar.xz` run over the test kernels laid out like an archive, made once
/// and shared by the tests:
///
///     input/debian/x86_64/K.btf, input/debian/arm64/K.btf   every test kernel (symlinks)
///     input/compressed/K0.btf.tar.xz                        the first amd64 kernel, archived
///     input/copy/K0.btf                                     the same kernel again: a duplicate output
///     input/README.txt                                      not a kernel: skipped
struct RunFixture: Sendable {
    var root: String
    var input: String
    var output: String
    var reportPath: String
    /// The run's `--pack`: every output in one .tar.xz.
    var packPath: String
    var reportText: String
    var report: RunReport
    var objects: [String]
    /// The raw kernel file behind each input path (for bpftool and libbpf).
    var sources: [String: String]
    /// The first amd64 kernel's file name (archived and duplicated).
    var first: String

    /// The arguments of the run, without `--report`.
    var genArguments: [String] {
        ["-i", input, "-o", output, "-q", "-j", "2"] + objects.flatMap { ["--object", $0] }
    }

    static let shared: Result<RunFixture, TestFailure> = {
        do { return .success(try RunFixture()) } catch let e as TestFailure { return .failure(e) } catch {
            return .failure(TestFailure("\(error)"))
        }
    }()

    static func get() throws -> RunFixture { try shared.get() }

    private init() throws {
        guard let first = TestEnv.kernels.first(where: { $0.contains("amd64") }) ?? TestEnv.kernels.first else {
            throw TestFailure("no test kernels in \(TestEnv.kernelsDir): run `make testdata`")
        }
        self.first = first
        root = try makeTempDir("run")
        registerCleanup(root)
        input = root + "/input"
        output = root + "/output"
        reportPath = root + "/run.json"
        packPath = root + "/packs/all.tar.xz"
        objects = TestEnv.fixturePaths
        let fm = FileManager.default
        sources = [:]
        for name in TestEnv.kernels {
            let rel = "debian/\(name.contains("arm64") ? "arm64" : "x86_64")/\(name)"
            try fm.createDirectory(atPath: input + "/" + (rel as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: input + "/" + rel, withDestinationPath: TestEnv.kernelsDir + "/" + name)
            sources[rel] = TestEnv.kernelsDir + "/" + name
        }
        let firstPath = TestEnv.kernelsDir + "/" + first
        try fm.createDirectory(atPath: input + "/compressed", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: input + "/copy", withIntermediateDirectories: true)
        let archive = try makeTarXZ([(first, try readBytes(firstPath))])
        try Data(archive).write(to: URL(fileURLWithPath: input + "/compressed/\(first).tar.xz"))
        sources["compressed/\(first).tar.xz"] = firstPath
        try fm.createSymbolicLink(atPath: input + "/copy/" + first, withDestinationPath: firstPath)
        sources["copy/" + first] = firstPath
        try Data("not a kernel\n".utf8).write(to: URL(fileURLWithPath: input + "/README.txt"))

        let run = try runProcess(TestEnv.btfgen, ["-i", input, "-o", output, "-q", "-j", "2"]
            + objects.flatMap { ["--object", $0] } + ["--report", reportPath, "--pack", packPath], timeout: 600)
        guard run.status == 0 else { throw TestFailure("btfgen --report --pack failed (\(run.status)): \(run.stderr)") }
        reportText = try readText(reportPath)
        report = try RunReport(json: Array(reportText.utf8), path: reportPath)
    }
}
