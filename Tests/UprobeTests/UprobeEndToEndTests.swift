import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import Pipeline
import Minimize
import Report
import TestSupport

/// The user-space CO-RE scenario of testdata/uprobe, run for real: an application in two
/// versions whose `struct data` differs, one uprobe program compiled against v1, and for each
/// version `btfgen merge` (running kernel + that version's BTF), `btfgen` trimming, and libbpf
/// loading the program with only the trimmed file, attached to the application's `add_test`.
///
/// Everything is built from source at test time (scripts/build-uprobe-fixtures.sh: gcc, pahole,
/// clang, cc + libbpf). The test is cancelled, with the reason, when a tool is missing, when the
/// running kernel has no BTF, or when it cannot attach uprobes (not root, no bpf()).
@Suite struct UprobeEndToEndTests {
    /// The built fixtures in a temporary directory.
    struct Fixtures {
        let dir: String
        var runner: String { dir + "/uprobe_runner" }
        var coreObject: String { dir + "/uprobe.bpf.o" }
        var controlObject: String { dir + "/uprobe_nocore.bpf.o" }
        func app(_ v: Int) -> String { dir + "/app-v\(v)" }
        func appBTF(_ v: Int) -> String { dir + "/app-v\(v).btf" }
    }

    /// What the app printed, and what the uprobe stored.
    struct Run: Equatable {
        var printed: Int
        var sum: Int
        var hits: Int
    }

    /// Builds the fixtures into `dir`, or cancels the test saying what is missing.
    static func build(into dir: String) throws -> Fixtures {
        guard FileManager.default.isReadableFile(atPath: TestEnv.runningKernelBTF) else {
            try Test.cancel("\(TestEnv.runningKernelBTF) is not readable: the running kernel has no BTF")
        }
        let out = try runProcess("/bin/bash", [TestEnv.buildScript, dir + "/fixtures"])
        if out.status == 3 { try Test.cancel("cannot build the uprobe fixtures: \(out.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        guard out.status == 0 else { throw TestFailure("\(out)") }
        return Fixtures(dir: dir + "/fixtures")
    }

    /// Loads `object` (with `btf` as libbpf's btf_custom_path), attaches it to `app`'s add_test,
    /// runs `app` once; cancels the test when this system cannot attach uprobes.
    static func run(_ f: Fixtures, object: String, app: String, btf: String?) throws -> Run {
        var args = ["run", object, app]
        if let btf { args += ["--btf", btf] }
        let out = try runProcess(f.runner, args)
        if out.status == 3 { try Test.cancel("cannot attach uprobes here: \(out.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        guard out.status == 0 else { throw TestFailure("\(out)") }
        var fields: [String: Int] = [:]
        for line in out.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2, let v = Int(parts[1]) { fields[String(parts[0])] = v }
        }
        guard let printed = fields["app"], let sum = fields["sum"], let hits = fields["hits"] else {
            throw TestFailure("unexpected runner output: \(out)")
        }
        return Run(printed: printed, sum: sum, hits: hits)
    }

    @Test(.enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): nothing can be loaded"))
    func coreUprobeReadsTheRightFieldsInEveryVersion() throws {
        try withTempDir { dir in
            let f = try Self.build(into: dir)
            let merged = dir + "/merged", trimmed = dir + "/trimmed"
            try FileManager.default.createDirectory(atPath: merged, withIntermediateDirectories: true)

            // 1. Merge: the running kernel + each version's application BTF.
            for v in [1, 2] {
                let out = try runChecked(TestEnv.btfgen, ["merge", "--base", TestEnv.runningKernelBTF, f.appBTF(v),
                                                          "--output", "\(merged)/v\(v).btf"])
                #expect(out.stdout.contains("btfgen: merged"), "\(out)")
                let judged = try runJudge(["parse", "\(merged)/v\(v).btf"])
                #expect(judged.status == 0, "libbpf rejects the merged BTF: \(judged)")
            }

            // 2. Trim the directory of merged BTFs for the CO-RE program.
            let trim = try runChecked(TestEnv.btfgen, ["--input", merged, "--object", f.coreObject, "--output", trimmed])
            #expect(trim.stdout.contains("2 of 2 kernels written"), "\(trim)")
            #expect(trim.stdout.contains("0 unresolved and 0 failing relocations"), "\(trim)")
            // A single merged file trims to the same bytes.
            try runChecked(TestEnv.btfgen, ["-i", "\(merged)/v2.btf", "--object", f.coreObject, "-o", dir + "/single.btf"])
            #expect(try readBytes(dir + "/single.btf") == readBytes("\(trimmed)/v2.btf"))

            for v in [1, 2] {
                let path = "\(trimmed)/v\(v).btf"
                // The trimmed file holds the application's struct data, in this version's layout.
                let small = try loadKernelFile(path)
                let data = small.ids.first { small.kind($0) == .struct && small.name($0) == "data" }
                #expect(data.map { small.size($0) } == (v == 1 ? 12 : 16))
                // libbpf relocates the same from the trimmed file as from the merged one.
                let fromTrimmed = try runJudge(["relos", f.coreObject, "--btf", path])
                let fromMerged = try runJudge(["relos", f.coreObject, "--btf", "\(merged)/v\(v).btf"])
                #expect(fromTrimmed.status == 0 && fromTrimmed.stdout == fromMerged.stdout, "\(fromTrimmed)\n\(fromMerged)")
                #expect(fromTrimmed.stdout.contains("struct data.c (0:1 @ offset 4) => patched insn #10: 4 -> \(v == 1 ? 4 : 8)"),
                        "\(fromTrimmed)")

                // 3. The real thing: the probe, loaded with only the trimmed BTF, sees what the app computed.
                let run = try Self.run(f, object: f.coreObject, app: f.app(v), btf: path)
                #expect(run.printed == 1234)
                #expect(run == Run(printed: run.printed, sum: run.printed, hits: 1), "v\(v) with CO-RE")
            }

            // The control, with v1's offsets compiled in: right for v1, wrong for v2 (it reads b).
            let control1 = try Self.run(f, object: f.controlObject, app: f.app(1), btf: nil)
            #expect(control1 == Run(printed: 1234, sum: 1234, hits: 1), "v1 without CO-RE")
            let control2 = try Self.run(f, object: f.controlObject, app: f.app(2), btf: nil)
            #expect(control2.printed == 1234 && control2.hits == 1)
            #expect(control2.sum == 1000 + 7, "v2 without CO-RE reads a + b")
        }
    }

    /// Without the application's types, the CO-RE program does not load at all: the kernel has
    /// no `struct data`, so libbpf poisons the relocated instructions and the verifier refuses them.
    @Test(.enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"))
    func coreUprobeNeedsTheApplicationBTF() throws {
        try withTempDir { dir in
            let f = try Self.build(into: dir)
            let judged = try runJudge(["relos", f.coreObject])
            #expect(judged.stdout.contains("struct data.a (0:0 @ offset 0) => poisoned"), "\(judged)")
            let out = try runProcess(f.runner, ["run", f.coreObject, f.app(1)])
            if out.status == 3 { try Test.cancel("cannot attach uprobes here: \(out.stderr)") }
            #expect(out.status == 1, "\(out)")
        }
    }

    /// Two layouts of `struct data` in one merged file: btfgen reports libbpf's ambiguity error
    /// for the relocation whose candidates disagree, trimming still writes a file, and btfgen
    /// merge notes the name clash when the base or an earlier application already has the type.
    @Test(.enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"))
    func nameClashesGiveLibbpfsAmbiguityError() throws {
        try withTempDir { dir in
            let f = try Self.build(into: dir)
            let both = dir + "/both.btf"
            try runChecked(TestEnv.btfgen, ["merge", "--base", TestEnv.runningKernelBTF, f.appBTF(1), f.appBTF(2), "-o", both])

            // In-process: the resolver's verdict per relocation.
            let object = try BPFObject(path: f.coreObject)
            let result = trim(kernel: try loadKernelFile(both), objects: [object])
            let errors = result.objects[0].resolutions.compactMap { r -> String? in
                if case .error(let m) = r.outcome { return "\(r.record.accessString): \(m)" } else { return nil }
            }
            #expect(errors == ["0:1: field offset ambiguity: 64 != 32"])

            // libbpf says the same.
            let judged = try runJudge(["relos", f.coreObject, "--btf", both])
            #expect(judged.stdout.contains("struct data.c (0:1 @ offset 4) => error: field offset ambiguity: 64 != 32"), "\(judged)")

            // The CLI reports it and still writes the trimmed file (exit 0).
            let out = try runChecked(TestEnv.btfgen, ["-i", both, "--object", f.coreObject, "-o", dir + "/both-trimmed.btf", "-v"])
            #expect(out.stdout.contains("1 errors"), "\(out)")
            #expect(out.stdout.contains("error: field offset ambiguity: 64 != 32"), "\(out)")
            #expect(FileManager.default.fileExists(atPath: dir + "/both-trimmed.btf"))

            // Merging onto a base that already has `struct data` notes the clash.
            let v2 = dir + "/v2.btf"
            try runChecked(TestEnv.btfgen, ["merge", "--base", TestEnv.runningKernelBTF, f.appBTF(2), "-o", v2])
            let clash = try runChecked(TestEnv.btfgen, ["merge", "--base", v2, f.appBTF(1), "-o", dir + "/clash.btf"])
            #expect(clash.stderr.contains("struct data is also a kernel type"), "\(clash)")

            // Two applications defining `struct data`: the later one's note names the earlier.
            let apps = try runChecked(TestEnv.btfgen, ["merge", "--base", TestEnv.runningKernelBTF, f.appBTF(2), f.appBTF(1),
                                                       "-o", dir + "/merged/apps.btf"])
            #expect(apps.stderr.contains("note: \(f.appBTF(1)): struct data is also a type of \(f.appBTF(2)); "), "\(apps)")
            #expect(!apps.stderr.contains("note: \(f.appBTF(2)): struct data"), "\(apps)")
        }
    }
}
