import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import Pipeline
import Minimize
import Report
import TestSupport

/// Whole runs of the btfgen command line over directory trees made in each test: what is
/// written, skipped and failed, the exit code, the messages and `--json` lines. One test at a
/// time: on a 2-core machine the suite would otherwise slow the time-limited hostile-input runs.
@Suite(.serialized) struct CLIRunTests {
    /// A fresh directory for one test, removed after it.
    private func scratch(_ tag: String, _ body: (String) throws -> Void) throws {
        let dir = try makeTempDir(tag)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    /// btfgen trimming `input` for core_fields.bpf.o into `output`, with `extra` options.
    private func gen(_ input: String, _ output: String, _ extra: [String] = []) throws -> ProcessOutput {
        try CLI.run(["-i", input, "-o", output, "--object", coreFields] + extra)
    }

    /// The files below `dir`, or none when it does not exist.
    private func files(_ dir: String) throws -> [String] {
        FileManager.default.fileExists(atPath: dir) ? try walkFiles(dir) : []
    }

    // MARK: 1. output collisions

    @Test func inputsWithTheSameOutputPathAreResolvedWhenPlanning() throws {
        try scratch("collide") { dir in
            let input = dir + "/in"
            // The compressed inputs hold a different kernel, so the output shows which one won.
            try placeKernel(0, at: input + "/x/k.btf")
            try placeKernel(1, at: dir + "/stage/k.btf")
            try sh(["sh", "-c", "xz -0 -T1 -c '\(dir)/stage/k.btf' > '\(input)/x/k.btf.xz'"])
            try sh(["tar", "-C", dir + "/stage", "-cJf", input + "/x/k.btf.tar.xz", "k.btf"])
            let reference = dir + "/reference.btf"
            #expect(try gen(input + "/x/k.btf", reference).status == 0)

            for jobs in ["1", "2"] {
                let out = dir + "/out-j\(jobs)"
                let run = try gen(input, out, ["-j", jobs, "--json"])
                #expect(run.status == 0, "\(run)")
                #expect(try files(out) == ["x/k.btf"])
                #expect(try readBytes(out + "/x/k.btf") == (try readBytes(reference)), "-j \(jobs): the first input in sorted order must win")
                let lines = try jsonLines(run)
                let status = Dictionary(uniqueKeysWithValues: lines.map { ($0["path"] as? String ?? "?", $0["status"] as? String ?? "?") })
                #expect(status == ["x/k.btf": "written", "x/k.btf.xz": "skipped", "x/k.btf.tar.xz": "skipped"])
                for loser in ["x/k.btf.tar.xz", "x/k.btf.xz"] {
                    #expect(lines.first { $0["path"] as? String == loser }?["reason"] as? String == "same output as x/k.btf")
                    #expect(run.stderrLines.contains("btfgen: \(input)/\(loser): skipped: same output as x/k.btf"), "\(run)")
                }
            }
            // Sliced runs agree: the winner is written by exactly one slice, whatever the split.
            let sliced = dir + "/out-sliced"
            var written = 0
            for k in 1...2 {
                let run = try gen(input, sliced, ["--shard", "\(k)/2", "--json"])
                #expect(run.status == 0, "\(run)")
                written += try jsonLines(run).filter { $0["status"] as? String == "written" }.count
            }
            #expect(written == 1)
            #expect(try files(sliced) == ["x/k.btf"])
            #expect(try readBytes(sliced + "/x/k.btf") == (try readBytes(reference)))
        }
    }

    /// The plan decides collisions before `--shard`, so every slice agrees on the winner.
    @Test func collisionsAreDecidedBeforeSharding() throws {
        try scratch("collide-plan") { dir in
            for name in ["x/k.btf", "x/k.btf.gz", "x/k.btf.tar.xz", "x/k.btf.xz", "y/k.btf.zst"] {
                try writeText(name, to: dir + "/in/" + name)
            }
            var options = RunOptions(input: dir + "/in", output: dir + "/out", jobs: 1)
            let whole = try planJobs(options)
            #expect(whole.map { $0.plannedSkip ?? "" } == ["", "same output as x/k.btf", "same output as x/k.btf",
                                                            "same output as x/k.btf", ""])
            var slices: [String: String] = [:]
            for k in 1...3 {
                options.shard = (k, 3)
                for job in try planJobs(options) { slices[job.relativePath] = job.plannedSkip ?? "" }
            }
            #expect(slices == Dictionary(uniqueKeysWithValues: whole.map { ($0.relativePath, $0.plannedSkip ?? "") }))
        }
    }

    // MARK: 2. decompression bombs

    /// A few KB that decompress to hundreds of MB: a BTF header (24 bytes, empty sections)
    /// followed by zeros, as `.zst` and inside a `.tar.zst`, and an ELF header whose section
    /// table ends at byte 128, followed by zeros. Each fails on its own, after reading little
    /// more than its header: the run's peak memory stays far below the decompressed sizes.
    @Test func decompressionBombsFailWithBoundedMemory() throws {
        try scratch("bomb") { dir in
            let input = dir + "/in"
            try placeKernel(0, at: input + "/good.btf")
            // More than the 200 MB the run may use: reading a bomb whole would fail the test.
            let zeros = 300 << 20
            let btfHeader = "printf '\\237\\353\\001\\000\\030\\000\\000\\000'; head -c 16 /dev/zero"
            try sh(["sh", "-c", "{ \(btfHeader); head -c \(zeros) /dev/zero; } | zstd -1 -q -c > '\(input)/bomb.btf.zst'"])
            // ELF64, little-endian, e_shoff 64, e_shentsize 64, e_shnum 1 (the null section).
            var elf: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1] + [UInt8](repeating: 0, count: 121)
            func put(_ value: Int, at offset: Int, size: Int) {
                for i in 0..<size { elf[offset + i] = UInt8((value >> (8 * i)) & 0xff) }
            }
            put(1, at: 0x10, size: 2); put(247, at: 0x12, size: 2); put(1, at: 0x14, size: 4)
            put(64, at: 0x28, size: 8); put(64, at: 0x34, size: 2); put(64, at: 0x3a, size: 2); put(1, at: 0x3c, size: 2)
            try Data(elf).write(to: URL(fileURLWithPath: dir + "/elf-header"))
            try sh(["sh", "-c", "{ cat '\(dir)/elf-header'; head -c \(zeros) /dev/zero; } | zstd -1 -q -c > '\(input)/vmlinux-bomb.zst'"])
            // A tar member: a sparse file costs no disk.
            try FileManager.default.createDirectory(atPath: dir + "/stage", withIntermediateDirectories: true)
            try sh(["sh", "-c", "cd '\(dir)/stage' && { \(btfHeader); } > k.btf && truncate -s \(zeros) k.btf && tar -cf - k.btf | zstd -1 -q -c > '\(input)/member.btf.tar.zst'"])
            for bomb in ["bomb.btf.zst", "vmlinux-bomb.zst", "member.btf.tar.zst"] {
                #expect(TestEnv.fileSize(input + "/" + bomb) < 1 << 20, "\(bomb) is not small")
            }

            let run = try CLI.runMeasuringMemory(["-i", input, "-o", dir + "/out", "--object", coreFields, "-j", "1"])
            #expect(run.status == 1, "\(run)")
            #expect(try files(dir + "/out") == ["good.btf"])
            let failures = run.stderrLines.filter { $0.hasPrefix("btfgen: failed: ") }
            #expect(failures == [
                "btfgen: failed: \(input)/bomb.btf.zst: offset 0x18: data after the end of the BTF (its header declares 24 bytes)",
                "btfgen: failed: \(input)/member.btf.tar.zst: member k.btf: offset 0x18: data after the end of the BTF (its header declares 24 bytes)",
                "btfgen: failed: \(input)/vmlinux-bomb.zst: ELF file has no .BTF section",
            ], "\(run)")
            let peak = try #require(run.peakRSSKiB, "no peak memory measured")
            #expect(peak < 200 * 1024, "peak memory \(peak) KiB for \(zeros >> 20) MiB bombs")
        }
    }

    /// Peak memory is a matter of jobs, not of how many kernels the archive holds: nothing of a
    /// finished kernel is kept but its report line. Ten times the kernels (symlinks to the test
    /// kernels) peak within a few MB of one pass over them (4 MB more here; keeping every kernel
    /// would be 200 MB more), with the same two jobs.
    @Test func peakMemoryDoesNotGrowWithTheArchive() throws {
        try scratch("memory") { dir in
            var peaks: [Int] = []
            for copies in [1, 10] {
                let input = dir + "/in\(copies)"
                for c in 0..<copies {
                    for (i, name) in TestEnv.kernels.enumerated() {
                        let path = input + "/copy\(c)/\(i)/" + name
                        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: TestEnv.kernelsDir + "/" + name)
                    }
                }
                let run = try CLI.runMeasuringMemory(["-i", input, "-o", dir + "/out\(copies)", "-q", "-j", "2",
                                                      "--object", TestEnv.packageRoot + "/testdata/bpf"])
                #expect(run.status == 0, "\(run)")
                #expect(try files(dir + "/out\(copies)").count == copies * TestEnv.kernels.count)
                peaks.append(try #require(run.peakRSSKiB, "no peak memory measured"))
            }
            #expect(peaks[1] <= peaks[0] + 12 * 1024,
                    "peak memory \(peaks[0]) KiB over \(TestEnv.kernels.count) kernels, \(peaks[1]) KiB over \(10 * TestEnv.kernels.count)")
        }
    }

    // MARK: 3. files that are neither BTF nor ELF

    @Test func filesThatAreNeitherBTFNorELF() throws {
        try scratch("notbtf") { dir in
            let input = dir + "/in"
            try placeKernel(0, at: input + "/a/good.btf")
            try writeText("hello\n", to: input + "/a/README")
            try writeText("garbage", to: input + "/a/bad.btf")
            try writeText("garbage", to: input + "/a/vmlinux-6.1")
            try sh(["sh", "-c", "printf xx | xz -c > '\(input)/a/small.btf.xz'"])
            try sh(["tar", "-cJf", input + "/a/empty.btf.tar.xz", "-T", "/dev/null"])
            try writeText("", to: input + "/a/old.failed")

            let run = try gen(input, dir + "/out", ["-j", "2"])
            #expect(run.status == 1, "\(run)")
            #expect(try files(dir + "/out") == ["a/good.btf"])
            #expect(run.stderrLines.filter { $0.hasPrefix("btfgen: failed: ") } == [
                "btfgen: failed: \(input)/a/bad.btf: offset 0x0: not a BTF or ELF file (magic 67 61 72 62)",
                "btfgen: failed: \(input)/a/small.btf.xz: offset 0x0: not a BTF or ELF file (magic 78 78)",
                "btfgen: failed: \(input)/a/vmlinux-6.1: offset 0x0: not a BTF or ELF file (magic 67 61 72 62)",
            ], "\(run)")
            for skipped in ["README: skipped: not a BTF or ELF file", "empty.btf.tar.xz: skipped: empty archive",
                            "old.failed: skipped: failure marker"] {
                #expect(run.stderrLines.contains("btfgen: \(input)/a/\(skipped)"), "\(run)")
            }

            // Named on the command line, any file must be a kernel.
            let named = try gen(input + "/a/README", dir + "/named.btf")
            #expect(named.status == 1)
            #expect(named.stderrLines == ["btfgen: \(input)/a/README: offset 0x0: not a BTF or ELF file (magic 68 65 6c 6c)"], "\(named)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/named.btf"))

            // So must it have something to trim: what a directory run skips fails when named.
            try writeText("", to: input + "/a/empty.btf")
            for (name, why) in [("empty.btf", "empty file"), ("empty.btf.tar.xz", "empty archive"), ("old.failed", "failure marker")] {
                let one = try gen(input + "/a/" + name, dir + "/one.btf")
                #expect(one.status == 1, "\(name): \(one)")
                #expect(one.stderrLines == ["btfgen: \(input)/a/\(name): nothing to trim: \(why)"], "\(one)")
                #expect(!FileManager.default.fileExists(atPath: dir + "/one.btf"))
            }
        }
    }

    // MARK: 4. objects in a directory that are not BPF objects

    @Test(.enabled(if: CLI.cc != nil, "no cc on PATH: cannot build a host object to put among the BPF objects"))
    func objectDirectoriesSkipHostObjects() throws {
        let cc = try #require(CLI.cc)
        try scratch("objects") { dir in
            let objects = dir + "/objects"
            try FileManager.default.createDirectory(atPath: objects, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: coreFields, toPath: objects + "/core_fields.bpf.o")
            try writeText("int answer(void) { return 42; }\n", to: dir + "/host.c")
            try sh([cc, "-c", dir + "/host.c", "-o", objects + "/host.o"])
            try writeText("not an object", to: objects + "/junk.o")
            try placeKernel(0, at: dir + "/k.btf")

            let run = try CLI.run(["-i", dir + "/k.btf", "-o", dir + "/dir.btf", "--object", objects])
            #expect(run.status == 0, "\(run)")
            #expect(run.stderrLines == [
                "btfgen: warning: \(objects)/host.o: no .BTF section (not a BPF object), skipped",
                "btfgen: warning: \(objects)/junk.o: not an ELF file, skipped",
            ], "\(run)")
            let direct = try gen(dir + "/k.btf", dir + "/direct.btf")
            #expect(direct.status == 0)
            #expect(try readBytes(dir + "/dir.btf") == (try readBytes(dir + "/direct.btf")))

            // Named explicitly, an object that cannot be read stops the run.
            let named = try CLI.run(["-i", dir + "/k.btf", "-o", dir + "/named.btf", "--object", objects + "/host.o"])
            #expect(named.status == 2, "\(named)")
            #expect(named.stderrLines.count == 1 && named.stderr.contains("\(objects)/host.o: no .BTF section"), "\(named)")
        }
    }

    /// The objects are read on a thread of their own while the first kernels are: one that
    /// cannot be read is still the run's only error (not a kernel that failed meanwhile), with
    /// exit status 2 and nothing written.
    @Test func anUnreadableObjectIsTheOnlyErrorWhileKernelsAreRead() throws {
        try scratch("objects-first") { dir in
            try placeKernel(0, at: dir + "/in/a/k.btf")
            try writeText("garbage", to: dir + "/in/b/bad.btf")
            try writeText("not an object", to: dir + "/bad.o")
            for jobs in ["1", "2"] {
                let run = try CLI.run(["-i", dir + "/in", "-o", dir + "/out", "--object", dir + "/bad.o", "--jobs", jobs])
                #expect(run.status == 2, "\(run)")
                #expect(run.stderrLines.count == 1 && run.stderr.contains("\(dir)/bad.o"), "\(run)")
                #expect(try files(dir + "/out").isEmpty, "\(run)")
            }
        }
    }

    // MARK: 5. output directory inside the input directory

    @Test func anOutputDirectoryInsideTheInputIsNotRead() throws {
        try scratch("nest") { dir in
            let nest = dir + "/nest"
            try placeKernel(0, at: nest + "/debian/12/x86_64/k.btf")
            for output in [nest + "/out", nest + "/./out", nest + "/out"] {
                let run = try gen(nest, output, ["--json"])
                #expect(run.status == 0, "\(run)")
                #expect(try jsonLines(run).map { $0["path"] as? String } == ["debian/12/x86_64/k.btf"], "\(run)")
            }
            #expect(try files(nest) == ["debian/12/x86_64/k.btf", "out/debian/12/x86_64/k.btf"])

            // Outputs over the inputs themselves: refused.
            let same = try gen(nest, nest + "/")
            #expect(same.status == 2, "\(same)")
            #expect(same.stderrLines == ["btfgen: \(nest)/: the output directory is the input directory"], "\(same)")
        }
    }

    // MARK: 5b. an input that shrinks while it is read

    /// Objects are mapped, not copied: a writer truncating one meanwhile takes pages from under
    /// btfgen. That is one line naming the file and exit status 2, no crash, and no output or
    /// temporary file left (`BTFGEN_TEST_SHRINK_MAPPED` truncates the file right after mapping it).
    @Test func anObjectThatShrinksWhileMappedFailsWithOneLine() throws {
        try scratch("shrink") { dir in
            let object = dir + "/prog.bpf.o", out = dir + "/out"
            try FileManager.default.copyItem(atPath: coreFields, toPath: object)
            try placeKernel(0, at: dir + "/in/debian/12/x86_64/k.btf")
            let run = try CLI.run("/usr/bin/env", ["BTFGEN_TEST_SHRINK_MAPPED=" + object, TestEnv.btfgen,
                                                   "-i", dir + "/in", "-o", out, "--object", object])
            #expect(run.status == 2, "\(run)")
            #expect(run.stderrLines == ["btfgen: \(object): offset 0x0: the file shrank while btfgen read it (was it being written?)"],
                    "\(run)")
            #expect(try files(out).isEmpty, "\(run)")
            #expect(try files(dir).filter { $0.contains(".tmp-") }.isEmpty)
        }
    }

    // MARK: 6. --arch

    @Test func archValuesAreCheckedAndEmptySelectionsWarn() throws {
        try scratch("arch") { dir in
            let input = dir + "/in"
            try placeKernel(0, at: input + "/debian/12/x86_64/a.btf")
            try placeKernel(1, at: input + "/debian/12/arm64/b.btf")

            let unknown = try gen(input, dir + "/out", ["--arch", "x86-64"])
            #expect(unknown.status == 64, "\(unknown)")
            #expect(unknown.stderr.contains("unknown --arch x86-64; accepted: x86_64, amd64, arm64, aarch64, s390x, ppc64le"), "\(unknown)")
            #expect(try files(dir + "/out").isEmpty)

            for (arch, expected) in [("aarch64", ["debian/12/arm64/b.btf"]), ("AMD64", ["debian/12/x86_64/a.btf"])] {
                let out = dir + "/out-" + arch
                let run = try gen(input, out, ["--arch", arch])
                #expect(run.status == 0 && run.stderr.isEmpty, "\(run)")
                #expect(try files(out) == expected)
            }

            let none = try gen(input, dir + "/none", ["--arch", "s390x"])
            #expect(none.status == 0, "\(none)")
            #expect(none.stderrLines == ["btfgen: warning: --arch s390x selected none of the 2 files in \(input)"], "\(none)")
            let included = try gen(input, dir + "/none", ["--include", "ubuntu/**", "-q"])
            #expect(included.stderrLines == ["btfgen: warning: --include ubuntu/** selected none of the 2 files in \(input)"], "\(included)")
        }
    }

    // MARK: 7. the failures at the end of a run

    /// A corrupt kernel in the middle of a batch: each failure is printed when it happens and
    /// again, one line each, after the counts; with --quiet and --json too.
    @Test(arguments: [[String](), ["-q"], ["--json"]])
    func failedKernelsAreListedAtTheEnd(_ flags: [String]) throws {
        try scratch("summary") { dir in
            let input = dir + "/in"
            try placeKernel(0, at: input + "/a.btf")
            try placeKernel(1, at: dir + "/whole.btf")
            let bytes = try readBytes(dir + "/whole.btf")
            try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: input + "/b.btf"))
            try Data(bytes[0..<4096]).write(to: URL(fileURLWithPath: input + "/c.btf"))

            let run = try gen(input, dir + "/out", flags + ["-j", "1"])
            #expect(run.status == 1, "\(run)")
            #expect(try files(dir + "/out") == ["a.btf"])
            let lines = run.stderrLines
            let head = try #require(lines.firstIndex(of: "btfgen: 2 of 3 kernels failed:"), "\(run)")
            let listed = Array(lines[(head + 1)...])
            #expect(listed.count == 2, "\(run)")
            for (line, name) in zip(listed, ["b.btf", "c.btf"]) {
                #expect(line.hasPrefix("btfgen: failed: \(input)/\(name): ") && line.contains("past the end"), "\(run)")
            }
            // The same lines were printed as the kernels failed.
            for line in listed {
                let message = line.dropFirst("btfgen: failed: ".count)
                #expect(lines[..<head].contains("btfgen: " + message), "\(message) was not printed when it failed")
            }
            // Not a terminal: no progress line, nothing to erase.
            #expect(!(run.stdout + run.stderr).contains("\r") && !(run.stdout + run.stderr).contains("\u{1b}"))
            if flags == ["-q"] { #expect(run.stdout.isEmpty) }
            if flags.isEmpty { #expect(run.stdoutLines.last?.hasSuffix(", 2 failed") == true, "\(run)") }
        }
    }

    /// On a terminal (through `script`), the progress line is erased before a message, so no
    /// message starts in the middle of a line.
    @Test(.enabled(if: CLI.script != nil, "no script(1): cannot run btfgen on a pseudo-terminal"))
    func messagesAreNotGluedToTheProgressLine() throws {
        try scratch("tty") { dir in
            let input = dir + "/in"
            for (i, name) in ["a.btf", "c.btf", "e.btf"].enumerated() { try placeKernel(i, at: input + "/" + name) }
            // Two corrupt kernels: their first 4 KB.
            let bytes = try readBytes(input + "/a.btf")
            for name in ["b.btf", "d.btf"] { try Data(bytes[0..<4096]).write(to: URL(fileURLWithPath: input + "/" + name)) }
            let command = [TestEnv.btfgen, "-i", input, "-o", dir + "/out", "--object", coreFields, "-j", "1"]
                .map { "'\($0)'" }.joined(separator: " ")
            let run = try CLI.run(try #require(CLI.script), ["-qec", command, "/dev/null"])
            #expect(run.status == 1, "\(run)")
            let transcript = run.stdout
            #expect(transcript.contains("\r\u{1b}[K"), "no progress line was erased:\n\(transcript.debugDescription)")
            var messages = 0
            // By scalars: a String would take the terminal's "\r\n" as one character.
            for line in transcript.unicodeScalars.split(separator: "\n").map(String.init) {
                guard let at = line.range(of: "btfgen: ") else { continue }
                messages += 1
                let before = line[..<at.lowerBound]
                #expect(before.isEmpty || before.hasSuffix("\r\u{1b}[K"), "message glued to other output: \(line.debugDescription)")
            }
            #expect(messages >= 6, "\(transcript.debugDescription)")
        }
    }

    // MARK: 8. --json lines

    @Test func jsonLinesHaveTheDocumentedKeysAndTheReportsValues() throws {
        try scratch("json") { dir in
            let input = dir + "/in", out = dir + "/out"
            try placeKernel(0, at: input + "/good.btf")
            try placeKernel(1, at: dir + "/whole.btf")
            let bytes = try readBytes(dir + "/whole.btf")
            try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: input + "/corrupt.btf"))
            try sh(["tar", "-cJf", input + "/empty.btf.tar.xz", "-T", "/dev/null"])

            let run = try gen(input, out, ["--json", "--report", dir + "/run.json"])
            #expect(run.status == 1, "\(run)")
            let lines = try jsonLines(run)
            // One line per kernel as each finishes (README): in the order the jobs end, not by path.
            #expect(lines.map { $0["path"] as? String ?? "?" }.sorted() == ["corrupt.btf", "empty.btf.tar.xz", "good.btf"])
            let common: Set = ["path", "output", "status", "input_bytes", "raw_bytes", "output_bytes", "input_types",
                               "output_types", "objects"]
            let byPath = Dictionary(uniqueKeysWithValues: lines.map { ($0["path"] as? String ?? "?", $0) })

            let good = try #require(byPath["good.btf"])
            #expect(Set(good.keys) == common)
            #expect(good["status"] as? String == "written")
            #expect(good["output"] as? String == "good.btf")
            #expect(good["output_bytes"] as? Int == TestEnv.fileSize(out + "/good.btf"))
            #expect(good["input_bytes"] as? Int == TestEnv.fileSize(input + "/good.btf"))
            #expect(good["raw_bytes"] as? Int == TestEnv.fileSize(input + "/good.btf"))
            let kernel = try BTF(parsing: try readBytes(input + "/good.btf"))
            let trimmed = try BTF(parsing: try readBytes(out + "/good.btf"))
            #expect(good["input_types"] as? Int == kernel.typeCount - 1)
            #expect(good["output_types"] as? Int == trimmed.typeCount - 1)
            let objects = try #require(good["objects"] as? [[String: Any]])
            #expect(objects.count == 1)
            if let o = objects.first {
                #expect(Set(o.keys) == ["object", "total", "resolved", "unresolved", "errors"])
                #expect(o["object"] as? String == coreFields)
                let total = o["total"] as? Int ?? -1
                #expect(total > 0 && total == (o["resolved"] as? Int ?? 0) + (o["unresolved"] as? Int ?? 0) + (o["errors"] as? Int ?? 0))
            }

            let corrupt = try #require(byPath["corrupt.btf"])
            #expect(Set(corrupt.keys) == common.union(["error"]))
            #expect(corrupt["status"] as? String == "failed")
            #expect((corrupt["error"] as? String)?.hasPrefix("\(input)/corrupt.btf: ") == true)
            #expect(corrupt["input_bytes"] as? Int == TestEnv.fileSize(input + "/corrupt.btf"))

            let empty = try #require(byPath["empty.btf.tar.xz"])
            #expect(Set(empty.keys) == common.union(["reason"]))
            #expect(empty["status"] as? String == "skipped")
            #expect(empty["reason"] as? String == "empty archive")
            #expect(empty["input_bytes"] as? Int == TestEnv.fileSize(input + "/empty.btf.tar.xz"))

            for line in [corrupt, empty] {
                #expect(line["output"] as? String == "")
                #expect(line["raw_bytes"] is NSNull && line["input_types"] is NSNull)
                #expect(line["output_bytes"] as? Int == 0 && line["output_types"] as? Int == 0)
                #expect((line["objects"] as? [Any])?.isEmpty == true)
            }
            #expect(try files(out) == ["good.btf"])

            // The same values as the report's kernels[].
            let report = try #require(try JSONSerialization.jsonObject(with: Data(readBytes(dir + "/run.json"))) as? [String: Any])
            let kernels = try #require(report["kernels"] as? [[String: Any]])
            #expect(kernels.count == lines.count)
            for kernel in kernels {
                let line = try #require(byPath[kernel["path"] as? String ?? "?"], "no line for \(kernel["path"] ?? "?")")
                for key in common.subtracting(["objects"]) {
                    #expect(sameJSONValue(line[key], kernel[key]), "\(line["path"] ?? "?") \(key): \(line[key] ?? "?") in the line, \(kernel[key] ?? "?") in the report")
                }
                #expect(line["error"] as? String ?? line["reason"] as? String == kernel["message"] as? String)
            }
        }
    }

    /// `-i in/`, `-o out//` and `--object dir/` (as shell completion writes them) name files
    /// without doubled slashes in messages and reports.
    @Test func trailingSlashesDoNotDoubleInNames() throws {
        try scratch("slashes") { dir in
            let input = dir + "/in", objects = dir + "/objects"
            try placeKernel(0, at: input + "/a/good.btf")
            try writeText("not BTF", to: input + "/a/bad.btf")
            try FileManager.default.createDirectory(atPath: objects, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: coreFields, toPath: objects + "/fields.bpf.o")

            let run = try CLI.run(["-i", input + "/", "-o", dir + "/out//", "--object", objects + "/", "--json"])
            #expect(run.status == 1, "\(run)")
            let lines = try jsonLines(run)
            #expect(lines.map { $0["path"] as? String ?? "?" }.sorted() == ["a/bad.btf", "a/good.btf"], "one line per kernel, as each finishes")
            let names = lines.flatMap { ($0["objects"] as? [[String: Any]] ?? []).map { $0["object"] as? String } }
            #expect(names == [objects + "/fields.bpf.o"])
            #expect(run.stderrLines.contains { $0.hasPrefix("btfgen: failed: \(input)/a/bad.btf: ") }, "\(run)")
            #expect(!(run.stdout + run.stderr).contains("//"), "\(run)")
            #expect(try files(dir + "/out") == ["a/good.btf"])
        }
    }

    /// `--pack` writes the same bytes whatever `--jobs`, holds only what was written (a failed
    /// kernel is left out, as from the tree), and takes only a `.tar.xz` of raw outputs.
    @Test func packIsDeterministicAndChecked() throws {
        try scratch("pack") { dir in
            let input = dir + "/in"
            try placeKernel(0, at: input + "/a/x86_64/one.btf")
            try placeKernel(1, at: input + "/b/arm64/two.btf")
            try writeText("not BTF", to: input + "/b/arm64/bad.btf")
            var packs: [[UInt8]] = []
            for jobs in ["1", "2"] {
                let run = try gen(input, dir + "/out" + jobs, ["-j", jobs, "-q", "--pack", dir + "/pack\(jobs).tar.xz"])
                #expect(run.status == 1, "\(run)")
                packs.append(try readBytes(dir + "/pack\(jobs).tar.xz"))
            }
            #expect(packs[0] == packs[1], "--pack differs between --jobs 1 and --jobs 2")
            let listing = try sh(["tar", "-tJf", dir + "/pack1.tar.xz"])
            #expect(listing.split(separator: "\n") == ["btfgen-index.json", "a/x86_64/one.btf", "b/arm64/two.btf"])

            for (extra, says) in [(["--pack", dir + "/p.tgz"], "--pack writes a .tar.xz"),
                                  (["--pack", dir + "/p.tar.xz", "--output-format", "tar.xz"], "--pack packs raw outputs")] {
                let run = try gen(input, dir + "/out3", extra)
                #expect(run.status == 64 && run.stderr.contains(says), "\(run)")
                #expect(try files(dir + "/out3").isEmpty)
            }
        }
    }

    // MARK: 9. archives and filters through the command line

    @Test func aTarballWithTwoBTFMembersFailsAlone() throws {
        try scratch("two-members") { dir in
            let input = dir + "/in"
            try placeKernel(0, at: input + "/a/good.btf")
            try placeKernel(1, at: dir + "/stage/one.btf")
            try placeKernel(2, at: dir + "/stage/two.btf")
            try sh(["tar", "-C", dir + "/stage", "-cJf", input + "/a/both.btf.tar.xz", "one.btf", "two.btf"])
            try placeKernel(3, at: input + "/b/other.btf")

            let run = try gen(input, dir + "/out", ["-j", "2"])
            #expect(run.status == 1, "\(run)")
            #expect(try files(dir + "/out") == ["a/good.btf", "b/other.btf"])
            #expect(run.stderrLines.filter { $0.hasPrefix("btfgen: failed: ") }
                    == ["btfgen: failed: \(input)/a/both.btf.tar.xz: archive: several candidate BTF members: one.btf, two.btf"], "\(run)")
        }
    }

    @Test func tarGzAndTarZstInputsGiveTheRawInputsOutputs() throws {
        try scratch("tar-formats") { dir in
            let kernels = min(TestEnv.kernels.count, 2)
            try #require(kernels == 2, "needs two test kernels: run make testdata")
            for i in 0..<kernels {
                let name = "k\(i).btf"
                try placeKernel(i, at: "\(dir)/raw/v/\(name)")
                try FileManager.default.createDirectory(atPath: dir + "/gz/v", withIntermediateDirectories: true)
                try FileManager.default.createDirectory(atPath: dir + "/zst/v", withIntermediateDirectories: true)
                try sh(["tar", "-C", dir + "/raw/v", "-czf", "\(dir)/gz/v/\(name).tar.gz", name])
                try sh(["sh", "-c", "tar -C '\(dir)/raw/v' -cf - \(name) | zstd -q -c > '\(dir)/zst/v/\(name).tar.zst'"])
            }
            var trees: [String: [String: [UInt8]]] = [:]
            for format in ["raw", "gz", "zst"] {
                let run = try gen(dir + "/" + format, dir + "/out-" + format)
                #expect(run.status == 0 && run.stderr.isEmpty, "\(format): \(run)")
                trees[format] = try tree(dir + "/out-" + format)
            }
            #expect(trees["raw"]?.keys.sorted() == ["v/k0.btf", "v/k1.btf"])
            #expect(trees["gz"] == trees["raw"])
            #expect(trees["zst"] == trees["raw"])
        }
    }

    /// libarchive is loaded only when a compressed input or a tar.xz output needs it: where it
    /// cannot be loaded, raw kernels are still trimmed and each compressed one fails with the
    /// reason, in one line.
    @Test func withoutLibarchiveOnlyCompressedInputsFail() throws {
        try scratch("no-libarchive") { dir in
            let input = dir + "/in"
            try placeKernel(0, at: input + "/raw.btf")
            try placeKernel(1, at: dir + "/stage/packed.btf")
            try sh(["tar", "-C", dir + "/stage", "-cJf", input + "/packed.btf.tar.xz", "packed.btf"])
            let missing = dir + "/no/libarchive.so.13"
            let run = try CLI.run("/usr/bin/env", ["BTFGEN_LIBARCHIVE=" + missing, TestEnv.btfgen,
                                                   "-i", input, "-o", dir + "/out", "--object", coreFields, "-j", "1"])
            #expect(run.status == 1, "\(run)")
            #expect(try files(dir + "/out") == ["raw.btf"])
            let failures = run.stderrLines.filter { $0.hasPrefix("btfgen: failed: ") }
            #expect(failures.count == 1 && failures[0].contains("packed.btf.tar.xz") && failures[0].contains("cannot load libarchive")
                    && failures[0].contains(missing), "\(run)")

            let normal = try gen(input, dir + "/out2")
            #expect(normal.status == 0, "\(normal)")
            #expect(try files(dir + "/out2") == ["packed.btf", "raw.btf"])
        }
    }

    @Test func includeExcludeArchAndShardThroughTheCommandLine() throws {
        try scratch("filters") { dir in
            let input = dir + "/in"
            let layout = ["ubuntu/20.04/x86_64/a.btf", "ubuntu/20.04/arm64/b.btf", "debian/12/x86_64/c.btf"]
            for (i, rel) in layout.enumerated() { try placeKernel(i, at: input + "/" + rel) }
            let cases: [([String], [String])] = [
                (["--include", "ubuntu/20.04/**"], ["ubuntu/20.04/arm64/b.btf", "ubuntu/20.04/x86_64/a.btf"]),
                (["--exclude", "**/arm64/**"], ["debian/12/x86_64/c.btf", "ubuntu/20.04/x86_64/a.btf"]),
                (["--include", "ubuntu/**", "--arch", "amd64"], ["ubuntu/20.04/x86_64/a.btf"]),
                (["--include", "debian/**", "--include", "**/arm64/**", "--exclude", "debian/12/**"], ["ubuntu/20.04/arm64/b.btf"]),
            ]
            for (n, (flags, expected)) in cases.enumerated() {
                let out = dir + "/out\(n)"
                let run = try gen(input, out, flags)
                #expect(run.status == 0, "\(flags): \(run)")
                #expect(try files(out) == expected, "\(flags)")
            }
            // Two slices: disjoint, and together the whole run.
            let whole = try gen(input, dir + "/whole")
            #expect(whole.status == 0)
            var seen: [String] = []
            for k in 1...2 {
                let run = try gen(input, dir + "/sliced", ["--shard", "\(k)/2", "--json"])
                #expect(run.status == 0, "\(run)")
                seen += try jsonLines(run).compactMap { $0["path"] as? String }
            }
            #expect(seen.sorted() == layout.sorted())
            #expect(try tree(dir + "/sliced") == (try tree(dir + "/whole")))
        }
    }

    @Test(arguments: ["0/2", "3/2", "x", "1/0", "2", "1/2/3", "/2", "1/"])
    func invalidShardValuesAreUsageErrors(_ value: String) throws {
        try scratch("shard") { dir in
            try placeKernel(0, at: dir + "/in/k.btf")
            let run = try gen(dir + "/in", dir + "/out", ["--shard", value])
            #expect(run.status == 64, "--shard \(value): \(run)")
            #expect(run.stderr.contains("The value '\(value)' is invalid for '--shard <shard>'"), "--shard \(value): \(run)")
            #expect(run.stderr.contains("Process the K-th of N"), "the option's help follows: \(run)")
            #expect(try files(dir + "/out").isEmpty)
        }
    }
}

/// Whether two scalars from `JSONSerialization` are the same JSON value (null, number or string).
private func sameJSONValue(_ a: Any?, _ b: Any?) -> Bool {
    switch (a, b) {
    case (is NSNull, is NSNull): return true
    case (let x as String, let y as String): return x == y
    case (let x as Int, let y as Int): return x == y
    default: return false
    }
}
