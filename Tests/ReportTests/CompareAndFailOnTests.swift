import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import Pipeline
import Minimize
import Report
import TestSupport

@Suite(.enabled(if: !TestEnv.kernels.isEmpty, "no test kernels: run `make testdata`"))
struct FailOnTests {
    /// One amd64 kernel, on its own in a directory.
    static func kernelDir(_ dir: String) throws -> String {
        let name = TestEnv.kernels.first { $0.contains("amd64") } ?? TestEnv.kernels[0]
        let input = dir + "/in"
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: input + "/" + name, withDestinationPath: TestEnv.kernelsDir + "/" + name)
        return input
    }

    static func gen(_ dir: String, objects: [String], _ extra: [String]) throws -> ProcessOutput {
        try btfgen(["-i", try kernelDir(dir), "-o", dir + "/out", "-q"]
            + objects.flatMap { ["--object", TestEnv.fixturePath($0)] } + extra)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var objects: [String]
        var failOn: String?
        var status: Int32
        var testDescription: String { "\(objects.joined(separator: "+")) --fail-on \(failOn ?? "-") → \(status)" }
    }

    // Against the amd64 test kernels: core_types.bpf.o resolves everything, flavors.bpf.o has
    // unresolved relocations only, edge.bpf.o has failing ones.
    @Test(arguments: [
        Case(objects: ["core_types.bpf.o"], failOn: "unresolved", status: 0),
        Case(objects: ["core_types.bpf.o"], failOn: "errors", status: 0),
        Case(objects: ["flavors.bpf.o"], failOn: nil, status: 0),
        Case(objects: ["flavors.bpf.o"], failOn: "errors", status: 0),
        Case(objects: ["flavors.bpf.o"], failOn: "unresolved", status: 3),
        Case(objects: ["edge.bpf.o"], failOn: nil, status: 0),
        Case(objects: ["edge.bpf.o"], failOn: "errors", status: 3),
        Case(objects: ["core_types.bpf.o", "edge.bpf.o"], failOn: "unresolved", status: 3),
    ])
    func exitStatus(_ c: Case) throws {
        try withTempDir("failon") { dir in
            let out = try Self.gen(dir, objects: c.objects, c.failOn.map { ["--fail-on", $0] } ?? [])
            #expect(out.status == c.status, "\(out.stderr)")
            if c.status == 3 {
                #expect(out.stderr.contains("--fail-on \(c.failOn!)"))
                #expect(out.stderr.contains(" × "))
            }
            // The outputs are written whatever the verdict.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/out").count == 1)
        }
    }

    @Test func savedReportsAndDirectoriesGateToo() throws {
        try withTempDir("failon-report") { dir in
            let run = try Self.gen(dir, objects: ["flavors.bpf.o"], ["--report", dir + "/run.json"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try btfgen(["report", dir + "/run.json", "--fail-on", "errors"]).status == 0)
            let gate = try btfgen(["report", dir + "/run.json", "--fail-on", "unresolved"])
            #expect(gate.status == 3)
            #expect(!gate.stdout.isEmpty, "the report is printed before the verdict")
            let onDir = try btfgen(["report", dir + "/out", "--object", TestEnv.fixturePath("flavors.bpf.o"), "--fail-on", "unresolved"])
            #expect(onDir.status == 3)
            #expect(try btfgen(["report", dir + "/run.json", "--fail-on", "everything"]).status != 0)
        }
    }

    /// A kernel that fails (exit 1) outranks findings (exit 3), in a run and in its saved report.
    @Test func failedKernelOutranksFindings() throws {
        try withTempDir("failon-failed") { dir in
            let input = try Self.kernelDir(dir)
            var bad = [UInt8](repeating: 0, count: 64)
            // A BTF header whose string section runs past the end of the file.
            bad[0] = 0x9f; bad[1] = 0xeb; bad[2] = 1; bad[4] = 24; bad[20] = 0xff; bad[21] = 0xff
            try Data(bad).write(to: URL(fileURLWithPath: input + "/broken.btf"))
            let out = try btfgen(["-i", input, "-o", dir + "/out", "-q", "--object", TestEnv.fixturePath("edge.bpf.o"),
                                  "--fail-on", "errors", "--report", dir + "/run.json"])
            #expect(out.status == 1, "\(out.stderr)")
            let r = try RunReport(json: try readBytes(dir + "/run.json"), path: "run.json")
            #expect(r.totals.failed == 1)
            let broken = try #require(r.kernels.first { $0.path == "broken.btf" })
            #expect(broken.status == .failed && broken.message != nil)
            #expect(r.matrix.rows.first { $0.path == "broken.btf" }?.cells == ["failed"])
            #expect(try schemaErrors(dir + "/run.json").isEmpty)

            // The saved report gates the same way: the failed kernel (1) before the findings (3).
            for failOn in FailOn.allCases {
                let gate = try btfgen(["report", dir + "/run.json", "--fail-on", failOn.rawValue])
                #expect(gate.status == 1, "report --fail-on \(failOn.rawValue): \(gate.stderr)")
                #expect(gate.stderr.contains("broken.btf"), "\(gate.stderr)")
                #expect(!gate.stdout.isEmpty, "the report is printed before the verdict")
            }
            // Printing alone succeeds whatever the report holds.
            let plain = try btfgen(["report", dir + "/run.json"])
            #expect(plain.status == 0, "\(plain.stderr)")
            #expect(plain.stdout.contains("broken.btf") && plain.stdout.contains("failed"))
        }
    }
}

/// `btfgen report --compare` against bpftool's `gen min_core_btf` outputs.
@Suite(.enabled(if: !TestEnv.kernels.isEmpty, "no test kernels: run `make testdata`"),
       .enabled(if: TestEnv.bpftool != nil, "bpftool not found (apt-get install bpftool)"))
struct CompareTests {
    @Test func againstBpftool() throws {
        let bpftool = try #require(TestEnv.bpftool)
        let objects = ["core_fields.bpf.o", "flavors.bpf.o"].map(TestEnv.fixturePath)
        try withTempDir("compare") { dir in
            let a = dir + "/bpftool", b = dir + "/btfgen"
            try FileManager.default.createDirectory(atPath: a, withIntermediateDirectories: true)
            for k in TestEnv.kernels {
                let out = try runProcess(bpftool, ["gen", "min_core_btf", TestEnv.kernelsDir + "/" + k, a + "/" + k] + objects, timeout: 600)
                #expect(out.status == 0, "bpftool gen min_core_btf \(k): \(out.stderr)")
            }
            // B in the other output format: pairs by name with compression suffixes dropped.
            let gen = try btfgen(["-i", TestEnv.kernelsDir, "-o", b, "-q", "--output-format", "tar.xz"]
                + objects.flatMap { ["--object", $0] })
            #expect(gen.status == 0, "\(gen.stderr)")
            try FileManager.default.copyItem(atPath: a + "/" + TestEnv.kernels[0], toPath: a + "/only-a.btf")
            try FileManager.default.createDirectory(atPath: b + "/extra", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: a + "/" + TestEnv.kernels[0], toPath: b + "/extra/only-b.btf")

            let out = try btfgen(["report", "--compare", a, b, "--format", "json"])
            #expect(out.status == 0, "\(out.stderr)")
            try out.stdout.write(toFile: dir + "/compare.json", atomically: true, encoding: .utf8)
            let errors = try schemaErrors(dir + "/compare.json")
            #expect(errors.isEmpty, "\(errors.prefix(5))")
            let c = try CompareReport(json: Array(out.stdout.utf8), path: "compare.json")
            #expect(c.rendered(.json) == out.stdout)
            #expect(c.onlyA == ["only-a.btf"])
            #expect(c.onlyB == ["extra/only-b.btf"])
            #expect(c.totals.common == TestEnv.kernels.count)
            for e in c.kernels where e.a != nil && e.b != nil {
                let sa = try #require(e.a), sb = try #require(e.b)
                #expect(sa.path == e.name && sb.path == e.name + ".tar.xz")
                #expect(sa.bytes == statSize(a + "/" + sa.path))
                #expect(sb.bytes == statSize(b + "/" + sb.path))
                #expect(e.deltaBytes == sb.bytes - sa.bytes)
                #expect(sa.rawBytes == sa.bytes, "bpftool writes raw BTF")
                // B's raw size: the archive's single member, read back independently.
                #expect(sb.rawBytes == (try unpackedSize(b + "/" + sb.path)))
                #expect(sa.types == (try bpftoolCounts(a + "/" + sa.path)).types)
                #expect(e.deltaTypes == (try #require(sb.types)) - (try #require(sa.types)))
            }
            let common = c.kernels.filter { $0.a != nil && $0.b != nil }
            #expect(c.totals.aBytes == common.reduce(0) { $0 + $1.a!.bytes })
            #expect(c.totals.bBytes == common.reduce(0) { $0 + $1.b!.bytes })
            #expect(c.totals.deltaBytes == c.totals.bBytes - c.totals.aBytes)
            #expect(c.totals.aTotalBytes == c.kernels.reduce(0) { $0 + ($1.a?.bytes ?? 0) })
            #expect(c.totals.smaller + c.totals.larger + c.totals.same == c.totals.common)

            let text = try btfgen(["report", "--compare", a, b])
            #expect(text.status == 0)
            #expect(text.stdout.contains("Only in A") && text.stdout.contains("only-a.btf"))
            #expect(text.stdout.contains("Only in B") && text.stdout.contains("extra/only-b.btf"))
            for e in common { #expect(text.stdout.contains(e.name)) }
            // A saved comparison renders again.
            let again = try btfgen(["report", dir + "/compare.json"])
            #expect(again.stdout == text.stdout)
        }
    }
}

/// The size of the single member of a `.tar.xz`, through Python's tarfile.
func unpackedSize(_ path: String) throws -> Int {
    let out = try python("import sys, tarfile\nprint(tarfile.open(sys.argv[1]).getmembers()[0].size)", [path])
    guard let n = Int(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw TestFailure(out.stderr) }
    return n
}
