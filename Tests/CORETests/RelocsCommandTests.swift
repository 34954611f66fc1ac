import Foundation
import Testing
import TestSupport

/// `btfgen relocs`, the command users read to learn what libbpf will do: its listing is
/// libbpf's own list of CO-RE records, its text and JSON forms say the same thing, and with
/// `--btf` each outcome is the one libbpf computes against that kernel.
@Suite("btfgen relocs")
struct RelocsCommandTests {
    /// One element of `btfgen relocs --json`.
    struct Record: Decodable {
        var section: String
        var relo: Int
        var insn: Int
        var kind: String
        var spec: String
        var status: String?
        var value: UInt64?
        var result: String?
    }

    /// Runs `btfgen relocs ARGS` twice, as text and as JSON; both must succeed.
    static func relocs(_ arguments: [String]) throws -> (records: [Record], text: [String], stderr: String) {
        let text = try runProcess(TestEnv.btfgen, ["relocs"] + arguments)
        let json = try runProcess(TestEnv.btfgen, ["relocs"] + arguments + ["--json"])
        guard text.status == 0, json.status == 0 else {
            throw TestFailure("btfgen relocs \(arguments.joined(separator: " ")) exited \(text.status)/\(json.status): \(text.stderr)\(json.stderr)")
        }
        let records = try JSONDecoder().decode([Record].self, from: Data(json.stdout.utf8))
        return (records, text.stdoutLines, text.stderr)
    }

    /// libbpf's spec with the resolved offset libbpf appends to field specs removed:
    /// `[6] struct task_struct.tgid (0:1 @ offset 4)` → `[6] struct task_struct.tgid (0:1)`.
    static func withoutOffset(_ spec: String) -> String {
        guard let at = spec.range(of: " @ offset ", options: .backwards),
              let close = spec[at.upperBound...].firstIndex(of: ")") else { return spec }
        return String(spec[..<at.lowerBound] + spec[close...])
    }

    @Test("text and JSON list the same records, one line each, in file order", arguments: Fixture.all)
    func textAndJSONAgree(fixture: Fixture) throws {
        let listed = try Self.relocs([fixture.path])
        #expect(!listed.records.isEmpty, "\(fixture): no CO-RE records listed")
        #expect(listed.text == listed.records.map { "\($0.section) insn \($0.insn): <\($0.kind)> \($0.spec)" })
        // File order: sections as they come, each one's records by index from 0.
        var next: [String: Int] = [:]
        for r in listed.records {
            #expect(r.relo == next[r.section, default: 0], "\(fixture): \(r.section) relo #\(r.relo) out of order")
            next[r.section] = r.relo + 1
        }
        let sectionsInOrder = listed.records.map(\.section).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
        #expect(Set(sectionsInOrder).count == sectionsInOrder.count, "\(fixture): a section's records are split")
    }

    @Test("the listing is libbpf's records",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: Fixture.littleEndian)
    func listingIsLibbpfs(fixture: Fixture) throws {
        let kernel = try #require(TestKernel.all.first)
        let listed = try Self.relocs([fixture.path])
        let judged = try runJudge(["records", fixture.path, "--btf", kernel.path])
        #expect(judged.status == 0, "libbpf-judge records: \(judged.stderr)")
        #expect(listed.records.count == judged.stdoutLines.count, "\(fixture): \(listed.records.count) records listed, libbpf has \(judged.stdoutLines.count)")
        var specsCompared = 0
        for (r, line) in zip(listed.records, judged.stdoutLines) {
            // SECTION relo #N: insn I: KIND SPEC
            let expected = "\(r.section) relo #\(r.relo): insn \(r.insn): \(r.kind) "
            #expect(line.hasPrefix(expected), "\(fixture): btfgen lists \(expected)…, libbpf \(line)")
            let spec = String(line.dropFirst(expected.count))
            if line.hasPrefix(expected) && spec != "?" {
                #expect(r.spec == Self.withoutOffset(spec), "\(fixture): \(line)")
                specsCompared += 1
            }
        }
        #expect(specsCompared > 0, "\(fixture): libbpf printed no spec to compare")
    }

    /// With `--btf`, the outcomes: the judge names relocations by program, btfgen by section, so
    /// the two are compared as multisets of (relo #, kind, local spec, outcome, value).
    @Test("with --btf, every outcome is libbpf's",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: TestKernel.all, Fixture.littleEndian)
    func outcomesAreLibbpfs(kernel: TestKernel, fixture: Fixture) throws {
        let resolved = try Self.relocs([fixture.path, "--btf", kernel.path])
        let judged = try Judge.relos(fixture, kernel: kernel)
        #expect(resolved.text.count == resolved.records.count)
        for (line, r) in zip(resolved.text, resolved.records) {
            #expect(line.hasSuffix(" => " + (r.result ?? "")), "\(kernel) \(fixture): text and JSON disagree: \(line)")
        }

        func key(relo: Int, kind: String, spec: String, outcome: String) -> String {
            "#\(relo) \(kind) \(spec) => \(outcome)"
        }
        let ours = resolved.records.map { r -> String in
            let outcome: String
            switch r.status {
            case "resolved": outcome = r.kind == "target_type_id" ? "patched" : "patched \(r.value.map(String.init) ?? "?")"
            case "unresolved": outcome = "poisoned"
            default:
                let message = r.result.map { $0.hasPrefix("error: ") ? String($0.dropFirst(7)) : $0 } ?? "?"
                outcome = r.kind == "target_type_id" ? "error" : "error: " + message
            }
            return key(relo: r.relo, kind: r.kind, spec: r.spec, outcome: outcome)
        }.sorted()
        let theirs = try judged.lines.map { text -> String in
            let j = try #require(JudgeLine(text), "cannot parse judge line: \(text)")
            let outcome: String
            switch j.outcome {
            case .patched(_, _, let new, _): outcome = j.kind == "target_type_id" ? "patched" : "patched \(new)"
            case .poisoned: outcome = "poisoned"
            case .error(let message): outcome = j.kind == "target_type_id" ? "error" : "error: " + message
            }
            return key(relo: j.relo, kind: j.kind, spec: Self.withoutOffset(j.spec), outcome: outcome)
        }.sorted()
        #expect(!theirs.isEmpty)
        #expect(ours == theirs, "\(kernel) \(fixture): btfgen relocs --btf differs from libbpf\n\(lineDiff(theirs, ours))")
    }

    /// `--btf` reads a kernel as `--input` does: a btfhub-style `.btf.tar.xz` (its member under
    /// a path prefix) gives the lines the raw file gives; an empty archive is an error naming it.
    @Test("--btf takes a compressed kernel, as --input does")
    func compressedKernel() throws {
        let kernel = try #require(TestKernel.testKernels.first, "no test kernels: run make testdata")
        let fixture = try #require(Fixture.littleEndian.first { $0.file == "core_types.bpf.o" })
        try withTempDir { dir in
            try FileManager.default.createDirectory(atPath: dir + "/stage/boot", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: kernel.path, toPath: dir + "/stage/boot/k.btf")
            let tar = try runProcess("/usr/bin/env", ["tar", "-C", dir + "/stage", "-cJf", dir + "/k.btf.tar.xz", "boot/k.btf"])
            try #require(tar.status == 0, "tar: \(tar.stderr)")
            let raw = try Self.relocs([fixture.path, "--btf", kernel.path])
            let packed = try Self.relocs([fixture.path, "--btf", dir + "/k.btf.tar.xz"])
            #expect(!raw.text.isEmpty && packed.text == raw.text)
            #expect(packed.records.map(\.result) == raw.records.map(\.result))

            let empty = try runProcess("/usr/bin/env", ["tar", "-cJf", dir + "/empty.btf.tar.xz", "-T", "/dev/null"])
            try #require(empty.status == 0, "tar: \(empty.stderr)")
            let run = try runProcess(TestEnv.btfgen, ["relocs", fixture.path, "--btf", dir + "/empty.btf.tar.xz"])
            #expect(run.status == 2 && run.stderr == "btfgen: \(dir)/empty.btf.tar.xz: no kernel BTF: empty archive\n", "\(run.status): \(run.stderr)")
        }
    }

    /// Objects without `.BTF.ext` are skipped with a warning by `relocs` and by trimming alike.
    @Test("an object without .BTF.ext: nothing listed, a warning, and trimming skips it")
    func objectWithoutExt() throws {
        try withTempDir { dir in
            // A fixture whose .BTF.ext is renamed in .shstrtab (".rel.BTF.ext" may share the bytes).
            let fixture = try #require(Fixture.littleEndian.first { $0.file == "core_fields.bpf.o" })
            let bytes = try readBytes(fixture.path)
            let name = Array(".BTF.ext\0".utf8)
            var renamed = bytes, found = 0
            for i in 0...(bytes.count - name.count) where Array(bytes[i..<i + name.count]) == name {
                renamed[i + 7] = UInt8(ascii: "x")
                found += 1
            }
            try #require(found > 0)
            let object = dir + "/noext.bpf.o"
            try writeBytes(renamed, to: object)
            for arguments in [[object], [object, "--json"]] {
                let out = try runProcess(TestEnv.btfgen, ["relocs"] + arguments)
                #expect(out.status == 0, "\(out.stderr)")
                #expect(out.stdout.isEmpty, "relocs \(arguments): \(out.stdout)")
                #expect(out.stderr.contains("noext.bpf.o: no .BTF.ext section"), "relocs \(arguments): \(out.stderr)")
            }
            let kernel = try #require(TestKernel.all.first)
            func trim(_ objects: [String], _ output: String) throws -> ProcessOutput {
                let out = try runProcess(TestEnv.btfgen, ["-i", kernel.path] + objects.flatMap { ["--object", $0] } + ["-o", dir + "/" + output])
                #expect(out.status == 0, "btfgen exited \(out.status): \(out.stderr)")
                return out
            }
            let alone = try trim([object], "alone.btf")
            #expect(alone.stderr.contains("noext.bpf.o: no .BTF.ext section, skipped"), "\(alone.stderr)")
            let both = try trim([object, fixture.path], "both.btf")
            #expect(both.stderr.contains("skipped"))
            _ = try trim([fixture.path], "fixture.btf")
            #expect(try readBytes(dir + "/both.btf") == readBytes(dir + "/fixture.btf"),
                    "the skipped object changed the output")
        }
    }
}
