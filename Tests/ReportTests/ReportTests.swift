import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import Pipeline
import Minimize
import Report
import TestSupport

/// A real `--report` checked against the schema and against the files on disk, bpftool and
/// libbpf: every number in it is recomputed independently.
@Suite(.enabled(if: !TestEnv.kernels.isEmpty, "no test kernels: run `make testdata`"))
struct ReportTests {
    @Test func jsonFollowsTheSchema() throws {
        let f = try RunFixture.get()
        let errors = try schemaErrors(f.reportPath)
        #expect(errors.isEmpty, "\(errors.prefix(10).joined(separator: "\n"))")
        // Decoding and encoding again gives the same bytes: the schema has no field the
        // decoder drops.
        #expect(f.report.rendered(.json) == f.reportText)
        #expect(f.report.schema == "btfgen-report/2")
        #expect(f.report.source == .run)
    }

    @Test func schemaDocumentNamesEveryField() throws {
        let schema = try #require(try parseJSON(try readText(TestEnv.schemaPath)) as? [String: Any])
        let doc = try readText(TestEnv.schemaDoc)
        var names = Set<String>()
        func walk(_ value: Any) {
            if let dict = value as? [String: Any] {
                if let props = dict["properties"] as? [String: Any] { names.formUnion(props.keys) }
                dict.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(schema)
        #expect(names.count > 40)
        for name in names.sorted() {
            #expect(doc.contains("`\(name)`") || doc.contains(".\(name)`"), "docs/report-schema.md does not document `\(name)`")
        }
    }

    @Test func kernelsAndPathsAreTheRunsFiles() throws {
        let f = try RunFixture.get()
        let r = f.report
        #expect(r.input == f.input)
        #expect(r.output == f.output)
        #expect(r.outputFormat == "raw")
        #expect(r.objects == f.objects)
        let expected = (Array(f.sources.keys) + ["README.txt"]).sorted()
        #expect(r.kernels.map(\.path) == expected)
        let readme = try #require(r.kernels.first { $0.path == "README.txt" })
        #expect(readme.status == .skipped)
        #expect(readme.message == "not a BTF or ELF file")
        #expect(readme.output == "" && readme.outputBytes == 0 && readme.objects.isEmpty)
        #expect(readme.rawBytes == nil && readme.inputTypes == nil && readme.inputMembers == nil && readme.ratio == nil)
        let json = try #require(try parseJSON(f.reportText) as? [String: Any])
        let entry = try #require((json["kernels"] as? [[String: Any]])?.first { $0["path"] as? String == "README.txt" })
        #expect(entry["ratio"] is NSNull && entry["raw_bytes"] is NSNull && entry["input_bytes"] as? Int == 13)
        let archived = try #require(r.kernels.first { $0.path.hasPrefix("compressed/") })
        #expect(archived.output == "compressed/" + f.first)
        #expect(archived.member == f.first)
    }

    /// Each kernel's output bytes divided among the objects add up to the file, sum to the
    /// object view, and are what `btfgen explain` says for the same kernel and objects.
    @Test func bytesByObjectAddUpAndAgreeWithExplain() throws {
        let f = try RunFixture.get()
        let written = f.report.kernels.filter { $0.status == .written }
        #expect(!written.isEmpty)
        for k in written {
            let own = k.objects.compactMap(\.ownBytes)
            #expect(own.count == f.objects.count, "\(k.path): own bytes for \(own.count) of \(f.objects.count) objects")
            #expect(25 + (k.sharedBytes ?? -1) + own.reduce(0, +) == k.rawOutputBytes, "\(k.path)")
            #expect(k.objects.allSatisfy { ($0.sharedBytes ?? -1) >= 0 && $0.sharedBytes! <= k.sharedBytes! })
        }
        for v in f.report.byObject {
            #expect(v.ownBytes == written.reduce(0) { $0 + ($1.objects.first { $0.object == v.object }?.ownBytes ?? 0) })
            #expect(v.sharedBytes == written.reduce(0) { $0 + ($1.objects.first { $0.object == v.object }?.sharedBytes ?? 0) })
        }
        #expect(f.report.totals.sharedBytes == written.reduce(0) { $0 + ($1.sharedBytes ?? 0) })

        let rel = try #require(f.sources.first { $0.value.hasSuffix("/" + f.first) && !$0.key.hasPrefix("compressed/") && !$0.key.hasPrefix("copy/") }?.key)
        let k = try #require(written.first { $0.path == rel })
        let run = try btfgen(["explain", TestEnv.kernelsDir + "/" + f.first, "--json"] + f.objects.flatMap { ["--object", $0] })
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try parseJSON(run.stdout) as? [String: Any])
        let bytes = try #require(json["bytes"] as? [String: Any])
        #expect(bytes["total"] as? Int == k.rawOutputBytes)
        #expect(bytes["shared"] as? Int == k.sharedBytes)
        let perObject = (bytes["objects"] as? [[String: Any]] ?? []).map { [$0["own"] as? Int ?? -1, $0["shared"] as? Int ?? -1] }
        #expect(perObject == k.objects.map { [$0.ownBytes ?? -2, $0.sharedBytes ?? -2] })
    }

    @Test func sizesAreTheFileSizes() throws {
        let f = try RunFixture.get()
        for k in f.report.kernels {
            #expect(k.inputBytes == statSize(f.input + "/" + k.path), "\(k.path): input_bytes")
            guard k.status == .written else { continue }
            let source = try #require(f.sources[k.path])
            // Raw BTF serialized on its own is the kernel file byte for byte.
            #expect(k.rawBytes == statSize(source), "\(k.path): raw_bytes")
            #expect(k.outputBytes == statSize(f.output + "/" + k.output), "\(k.path): output_bytes")
            #expect(k.rawOutputBytes == k.outputBytes, "\(k.path): raw output")
            #expect(k.ratio == Double(k.outputBytes) / Double(try #require(k.inputBytes)))
        }
        let archived = try #require(f.report.kernels.first { $0.path.hasPrefix("compressed/") })
        #expect(try #require(archived.inputBytes) < (try #require(archived.rawBytes)), "the archived input is stored compressed")
    }

    @Test(.enabled(if: TestEnv.bpftool != nil, "bpftool not found (apt-get install bpftool)"))
    func typeAndMemberCountsAreBpftools() throws {
        let f = try RunFixture.get()
        var kernelCounts: [String: BpftoolCounts] = [:]
        for k in f.report.kernels where k.status == .written {
            let source = try #require(f.sources[k.path])
            if kernelCounts[source] == nil { kernelCounts[source] = try bpftoolCounts(source) }
            let full = try #require(kernelCounts[source])
            let trimmed = try bpftoolCounts(f.output + "/" + k.output)
            #expect(k.inputTypes == full.types, "\(k.path): input_types")
            #expect(k.inputMembers == full.members, "\(k.path): input_members")
            #expect(k.outputTypes == trimmed.types, "\(k.path): output_types")
            #expect(k.outputMembers == trimmed.members, "\(k.path): output_members")
        }
    }

    /// Each kernel × object's counts are libbpf's, from `libbpf-judge relos` with the full kernel.
    ///
    /// The judge loads each program on its own, so one program's error does not hide the others'
    /// relocations; only relocations after an error inside the same program stay unseen. Where
    /// libbpf saw every record the counts must be equal; otherwise at least libbpf's.
    @Test(.enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"))
    func relocationOutcomesAreLibbpfs() throws {
        let f = try RunFixture.get()
        var checkedFailing = 0
        var seen = Set<String>()
        for k in f.report.kernels where k.status == .written {
            let source = try #require(f.sources[k.path])
            guard seen.insert(source).inserted else { continue }
            for o in k.objects {
                let problems = f.report.problems(k, o.object)
                let judged = try judge(object: o.object, kernel: source)
                let patched = judged.filter { $0.outcome == "patched" }.count
                let poisoned = judged.filter { $0.outcome == "poisoned" }.count
                let errors = judged.filter { $0.outcome == "error" }.count
                let what = "\(k.path) × \(o.object)"
                #expect(o.total == o.resolved + o.unresolved + o.errors, "\(what)")
                #expect(problems.count == o.unresolved + o.errors, "\(what)")
                #expect(problems.filter { $0.outcome == .error }.count == o.errors, "\(what)")
                if judged.count == o.total {
                    if errors > 0 { checkedFailing += 1 }
                    #expect(o.resolved == patched, "\(what): resolved")
                    #expect(o.unresolved == poisoned, "\(what): unresolved")
                    #expect(o.errors == errors, "\(what): errors")
                } else {
                    #expect(errors >= 1, "\(what): libbpf skipped relocations without an error")
                    #expect(judged.count < o.total, "\(what)")
                    #expect(o.errors >= errors, "\(what): errors")
                    #expect(o.resolved >= patched && o.unresolved >= poisoned, "\(what)")
                }
                for j in judged {
                    let section = try #require(j.section, "\(what): no .BTF.ext record for \(j.line)")
                    let problem = problems.first { $0.section == section && $0.relo == j.relo }
                    switch j.outcome {
                    case "patched": #expect(problem == nil, "\(what): \(j.line) but the report lists \(String(describing: problem))")
                    case "poisoned": #expect(problem?.outcome == .unresolved, "\(what): \(j.line)")
                    default: #expect(problem?.outcome == .error, "\(what): \(j.line)")
                    }
                }
            }
        }
        #expect(checkedFailing > 0, "edge.bpf.o should fail against the test kernels, every record judged")
    }

    @Test func totalsAreExact() throws {
        let f = try RunFixture.get()
        let r = f.report, t = r.totals
        let written = r.kernels.filter { $0.status == .written }
        #expect(t.kernels == r.kernels.count)
        #expect(t.outputs == written.count)
        #expect(t.skipped == 1 && t.failed == 0)
        #expect(t.inputBytes == r.kernels.reduce(0) { $0 + (statSize(f.input + "/" + $1.path) ?? -1) })
        #expect(t.rawBytes == r.kernels.reduce(0) { $0 + ($1.rawBytes ?? 0) })
        #expect(t.outputBytes == written.reduce(0) { $0 + (statSize(f.output + "/" + $1.output) ?? -1) })
        #expect(t.inputTypes == r.kernels.reduce(0) { $0 + ($1.inputTypes ?? 0) })
        #expect(t.outputTypes == r.kernels.reduce(0) { $0 + $1.outputTypes })
        #expect(t.inputMembers == r.kernels.reduce(0) { $0 + ($1.inputMembers ?? 0) })
        #expect(t.outputMembers == r.kernels.reduce(0) { $0 + $1.outputMembers })
        #expect(t.ratio == Double(t.outputBytes) / Double(try #require(t.inputBytes)))
        let pairs = r.kernels.flatMap(\.objects)
        #expect(t.relocations.total == pairs.reduce(0) { $0 + $1.total })
        #expect(t.relocations.resolved == pairs.reduce(0) { $0 + $1.resolved })
        #expect(t.relocations.unresolved == pairs.reduce(0) { $0 + $1.unresolved })
        #expect(t.relocations.errors == pairs.reduce(0) { $0 + $1.errors })
        #expect(t.compat.ok + t.compat.unresolved + t.compat.errors == pairs.count)
        #expect(t.compat.errors == pairs.filter { $0.errors > 0 }.count)

        // Identical outputs, from the files' bytes.
        let files = try written.map { (name: $0.output, data: try readBytes(f.output + "/" + $0.output)) }
            .sorted { $0.name < $1.name }
        var byContent: [[UInt8]: [String]] = [:]
        for file in files { byContent[file.data, default: []].append(file.name) }
        #expect(t.uniqueOutputs == byContent.count)
        #expect(t.duplicateOutputs == files.count - byContent.count)
        #expect(t.identicalOutputs == byContent.values.filter { $0.count > 1 }.reduce(0) { $0 + $1.count })
        #expect(t.dedupSavedBytes == byContent.reduce(0) { $0 + ($1.value.count - 1) * $1.key.count })
        #expect(t.duplicateGroups == byContent.values.filter { $0.count > 1 }.map { $0.sorted() }.sorted { $0[0] < $1[0] })
        // The fixture holds one kernel twice (copy/): at least that pair is identical.
        #expect(t.duplicateGroups.contains { Set($0).isSuperset(of: ["copy/" + f.first, "compressed/" + f.first]) })

        // All outputs as one deterministic .tar.xz in sorted path order after its index: the
        // archive `--pack` wrote (in a directory it created) is the one the report measured, made
        // again the same, and Python's tarfile reads it back as exactly the output files, in that
        // order; each distinct content is stored once, later copies are hard links to the first.
        let packed = try makePack(files)
        #expect(t.packedBytes == packed.count)
        #expect(t.packedError == nil)
        #expect(try readBytes(f.packPath) == packed)
        #expect(t.packedBytesWithoutDedup == (try makePack(files, dedup: false)).count)
        let listing = try python("""
            import os, sys, tarfile
            with tarfile.open(sys.argv[1], "r:xz") as t:
                links = 0
                for m in t.getmembers():
                    assert (m.isfile() or m.islnk()) and m.mtime == 0 and m.uid == 0 and m.gid == 0, m.name
                    links += m.islnk()
                    print(m.name)
                    if m.name == "btfgen-index.json":
                        continue
                    with open(os.path.join(sys.argv[2], m.name), "rb") as f:
                        assert t.extractfile(m).read() == f.read(), m.name + ": not the output's bytes"
                print(links)
            """, [f.packPath, f.output])
        #expect(listing.status == 0, "\(listing.stderr)")
        var lines = listing.stdout.split(separator: "\n").map(String.init)
        let links = lines.popLast()
        #expect(lines == ["btfgen-index.json"] + files.map(\.name))
        #expect(links == String(t.duplicateOutputs) && t.duplicateOutputs > 0, "hard links in the pack")
    }

    @Test func matrixIsTheObjectsOutcomes() throws {
        let r = try RunFixture.get().report
        #expect(r.matrix.objects == r.objects)
        #expect(r.matrix.rows.map(\.path) == r.kernels.map(\.path))
        for (row, k) in zip(r.matrix.rows, r.kernels) {
            for (cell, object) in zip(row.cells, r.objects) {
                switch k.status {
                case .skipped: #expect(cell == "skipped")
                case .failed: #expect(cell == "failed")
                case .written:
                    let o = try #require(k.objects.first { $0.object == object })
                    let expected = o.errors > 0 ? "\(o.errors) error\(o.errors == 1 ? "" : "s")" + (o.unresolved > 0 ? ", \(o.unresolved) unresolved" : "")
                        : o.unresolved > 0 ? "\(o.unresolved) unresolved" : "ok"
                    #expect(cell == expected)
                }
            }
        }
        let cells = Set(r.matrix.rows.flatMap(\.cells))
        #expect(cells.contains("ok"))
        #expect(cells.contains { $0.hasSuffix(" unresolved") && !$0.contains("error") })
        #expect(cells.contains { $0.contains("error") })
    }

    /// The matrix, rendered: every format carries every cell.
    @Test(arguments: ReportFormat.allCases)
    func everyFormatHasTheMatrix(_ format: ReportFormat) throws {
        let r = try RunFixture.get().report
        let text = r.rendered(format)
        let labels = r.objects.map { String($0.split(separator: "/").last!) }
        for row in r.matrix.rows {
            switch format {
            case .text:
                let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("  \(row.path) ") && row.cells.allSatisfy($0.contains) },
                                        "no matrix line for \(row.path)")
                #expect(line.split(separator: " ", omittingEmptySubsequences: true).count >= row.cells.count + 1)
            case .md:
                #expect(text.contains("| " + ([row.path] + row.cells).joined(separator: " | ") + " |"))
            case .csv:
                // One `object` record per cell (CSVTests reads them column by column).
                let lines = text.split(separator: "\r\n")
                for (object, cell) in zip(r.objects, row.cells) {
                    let quoted = cell.contains(",") ? "\"\(cell)\"" : cell
                    #expect(lines.contains { $0.hasPrefix("object,\(row.path),") && $0.contains(",\(object),") && $0.contains(",\(quoted),") },
                            "no CSV object record for \(row.path) × \(object): \(cell)")
                }
            case .html:
                #expect(text.contains("<th scope=\"row\">\(row.path)</th>"))
                for cell in row.cells { #expect(text.contains(">\(cell)</td>")) }
            case .json:
                let json = try #require(try parseJSON(text) as? [String: Any])
                let rows = try #require((json["matrix"] as? [String: Any])?["rows"] as? [[String: Any]])
                #expect(rows.contains { $0["path"] as? String == row.path && $0["cells"] as? [String] == row.cells })
            }
        }
        if format != .json && format != .csv {
            for label in labels { #expect(text.contains(label)) }
        }
    }

    /// `btfgen report run.json` prints what `--report run.txt` writes, and every format
    /// re-rendered from the saved JSON is what the run itself writes in that format.
    @Test(arguments: ["txt", "md", "csv", "html", "json"])
    func savedReportRendersLikeTheRun(_ ext: String) throws {
        let f = try RunFixture.get()
        try withTempDir("rerender") { dir in
            let path = dir + "/run." + ext
            // With --pack, as the fixture's run: the report then also measures the pack without dedup.
            let run = try btfgen(f.genArguments + ["--report", path, "--pack", dir + "/pack.tar.xz"])
            #expect(run.status == 0, "\(run.stderr)")
            let direct = try readText(path)
            let format = ext == "txt" ? "text" : ext
            let again = try btfgen(["report", f.reportPath, "--format", format])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout == direct, "report \(ext) differs from the run's")
            if ext == "txt" {
                let plain = try btfgen(["report", f.reportPath])
                #expect(plain.stdout == direct, "text is the default")
            }
        }
    }

    @Test func reportFormatComesFromTheExtensionOrTheOption() throws {
        let f = try RunFixture.get()
        try withTempDir("format") { dir in
            let unknown = try btfgen(f.genArguments + ["--report", dir + "/run.out"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("--report-format"))
            let given = try btfgen(f.genArguments + ["--report", dir + "/run.out", "--report-format", "md"])
            #expect(given.status == 0, "\(given.stderr)")
            #expect(try readText(dir + "/run.out").hasPrefix("# btfgen report\n"))
            let bad = try btfgen(f.genArguments + ["--report", dir + "/run.json", "--report-format", "xml"])
            #expect(bad.status != 0)
        }
    }

    /// Reports, like trimmed files, go where they are asked to: missing directories are made.
    @Test func reportsCreateMissingDirectories() throws {
        let f = try RunFixture.get()
        try withTempDir("report-dirs") { dir in
            let run = try btfgen(f.genArguments + ["--report", dir + "/a/b/run.json"])
            #expect(run.status == 0, "\(run.stderr)")
            let written = try readText(dir + "/a/b/run.json")
            #expect(written.hasPrefix("{"))
            let html = try btfgen(["report", f.reportPath, "--output", dir + "/c/d/report.html"])
            #expect(html.status == 0, "\(html.stderr)")
            #expect(try readText(dir + "/c/d/report.html").contains("<svg"))
        }
    }

    @Test func outputDirectoryReport() throws {
        let f = try RunFixture.get()
        let flavors = TestEnv.fixturePath("flavors.bpf.o")
        let out = try btfgen(["report", f.output, "--object", flavors, "--format", "json"])
        #expect(out.status == 0, "\(out.stderr)")
        let r = try RunReport(json: Array(out.stdout.utf8), path: "stdout")
        #expect(r.source == .outputs && r.input == nil && r.totals.inputBytes == nil)
        let written = f.report.kernels.filter { $0.status == .written }
        #expect(r.kernels.map(\.path) == written.map(\.output).sorted())
        for k in r.kernels {
            let original = try #require(written.first { $0.output == k.path })
            #expect(k.outputBytes == statSize(f.output + "/" + k.path))
            #expect(k.outputTypes == original.outputTypes && k.outputMembers == original.outputMembers)
            // The trimmed BTF gives the object the same outcome as the full kernel.
            let full = try #require(original.objects.first { $0.object == flavors })
            let trimmed = try #require(k.objects.first)
            let counts: [Int] = [trimmed.total, trimmed.resolved, trimmed.unresolved, trimmed.errors]
            let fullCounts: [Int] = [full.total, full.resolved, full.unresolved, full.errors]
            #expect(counts == fullCounts, "\(k.path)")
            // One object here, several in the run: all it keeps of the file is its own.
            #expect(trimmed.sharedBytes == 0 && k.sharedBytes == 0)
            #expect(25 + (trimmed.ownBytes ?? .max) <= k.rawOutputBytes)
        }
        #expect(r.totals.uniqueOutputs == f.report.totals.uniqueOutputs)
        #expect(r.totals.packedBytes == f.report.totals.packedBytes)
        let dir = try withTempDir("dirjson") { d -> [String] in
            try out.stdout.write(toFile: d + "/dir.json", atomically: true, encoding: .utf8)
            return try schemaErrors(d + "/dir.json")
        }
        #expect(dir.isEmpty, "\(dir.prefix(5))")
    }
}

/// One line of `libbpf-judge relos`, with the ELF section of its record.
struct JudgedRelocation {
    var line: String
    var relo: Int
    var outcome: String
    var section: String?
}

/// libbpf's outcome for each relocation it processed (`libbpf-judge relos`), each given the ELF
/// section of its program: libbpf names a program after its function symbol, and that symbol's
/// section is the one `.BTF.ext` files the record under.
func judge(object: String, kernel: String) throws -> [JudgedRelocation] {
    let relos = try runProcess(TestEnv.judge, ["relos", object, "--btf", kernel], timeout: 600)
    guard relos.status == 0 else { throw TestFailure("libbpf-judge relos \(object): \(relos.stderr)") }
    let sections = try functionSections(try ELFFile(path: object))
    // "PROG relo #N: KIND SPEC => OUTCOME"
    return relos.stdout.split(separator: "\n").map(String.init).compactMap { line in
        guard let mark = line.range(of: " relo #"), let colon = line.range(of: ": ", range: mark.upperBound..<line.endIndex),
              let n = Int(line[mark.upperBound..<colon.lowerBound]),
              let arrow = line.range(of: " => ", range: colon.upperBound..<line.endIndex) else { return nil }
        let result = line[arrow.upperBound...]
        let outcome = result.hasPrefix("patched") ? "patched" : result.hasPrefix("poisoned") ? "poisoned" : "error"
        return JudgedRelocation(line: line, relo: n, outcome: outcome, section: sections[String(line[..<mark.lowerBound])])
    }
}

/// The section of each function symbol (`STT_FUNC`) of a 64-bit ELF object, by name.
func functionSections(_ elf: ELFFile) throws -> [String: String] {
    guard let symtab = elf.section(named: ".symtab"), let strtab = elf.section(named: ".strtab") else {
        throw TestFailure("\(elf.path): no .symtab/.strtab")
    }
    let syms = Array(try elf.contents(of: symtab)), strs = Array(try elf.contents(of: strtab))
    func u16(_ o: Int) -> Int {
        elf.order == .little ? Int(syms[o]) | Int(syms[o + 1]) << 8 : Int(syms[o]) << 8 | Int(syms[o + 1])
    }
    func u32(_ o: Int) -> Int { elf.order == .little ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2) }
    var out: [String: String] = [:]
    // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64.
    for o in stride(from: 0, to: syms.count - 23, by: 24) where syms[o + 4] & 0xf == 2 {
        let start = u32(o)
        guard start < strs.count, let section = elf.section(index: u16(o + 6)) else { continue }
        let end = strs[start...].firstIndex(of: 0) ?? strs.count
        out[String(decoding: strs[start..<end], as: UTF8.self)] = section.name
    }
    return out
}
