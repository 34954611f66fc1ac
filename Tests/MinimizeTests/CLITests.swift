import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import TestSupport

/// The btfgen command line against `bpftool gen min_core_btf`, and with many objects at once.
@Suite("btfgen CLI")
struct CLITests {
    /// Where bpftool succeeds, btfgen's file is no larger and libbpf relocates the same with
    /// either; where it fails (the ambiguous `edge.bpf.o`, big-endian objects), btfgen still
    /// writes a file and exits 0. Every file the CLI writes is the library's trimmed BTF.
    @Test("no larger than bpftool gen min_core_btf, same relocations",
          .enabled(if: TestEnv.bpftool != nil, "bpftool not found (PATH, /usr/sbin, /sbin)"),
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: Fixture.all)
    func comparedWithBpftool(fixture: Fixture) throws {
        let bpftool = try #require(TestEnv.bpftool)
        let object = try Inputs.object(fixture)
        var summary: [String] = [], failures: Set<String> = []
        defer {
            print("\(fixture) vs bpftool: " + summary.joined(separator: ", ")
                  + (failures.isEmpty ? "" : "; bpftool: " + failures.sorted().joined(separator: "; ")))
        }
        try withTempDir { dir in
            let outputs = try CLI.trimAll(objects: [fixture.path], into: dir + "/btfgen")
            for kernel in TestKernel.all {
                let context = "\(kernel) \(fixture)"
                let mine = try #require(outputs[kernel])
                guard FileManager.default.fileExists(atPath: mine) else {
                    Issue.record("\(context): btfgen exited 0 but wrote no \(mine)")
                    continue
                }
                try expectValidBTF(mine, context)
                let library = trimWithLibrary(try Inputs.btf(kernel), [object]).serialized()
                #expect(try readBytes(mine) == library, "\(context): the CLI's output differs from the library's")

                let theirs = dir + "/bpftool-" + kernel.outputName
                let bp = try runProcess(bpftool, ["gen", "min_core_btf", kernel.path, theirs, fixture.path])
                guard bp.status == 0 else {
                    let why = bp.stderr.split(separator: "\n").first { $0.contains("ambiguity") || $0.contains("Error") }
                        ?? Substring(bp.lastStderrLine)
                    if fixture.bpftoolCanMinimize {
                        Issue.record("\(context): bpftool gen min_core_btf failed unexpectedly (status \(bp.status)): \(bp.stderr)")
                    }
                    summary.append("\(kernel): \(TestEnv.fileSize(mine)) B, bpftool fails")
                    failures.insert(String(why.replacingOccurrences(of: fixture.path, with: String(describing: fixture))))
                    continue
                }
                let mySize = TestEnv.fileSize(mine), theirSize = TestEnv.fileSize(theirs)
                summary.append("\(kernel): \(mySize) B vs \(theirSize) B")
                if mySize > theirSize {
                    // Only where bpftool's file changes an outcome: a 32-bit kernel's pointer size,
                    // which libbpf reads from a `long` that bpftool does not keep.
                    let full = try runProcess(TestEnv.btfgen, ["relocs", fixture.path, "--btf", kernel.path])
                    let withBpftool = try runProcess(TestEnv.btfgen, ["relocs", fixture.path, "--btf", theirs])
                    // The value after the matched spec (`… (0:1 @ offset 4): 8 -> 4 (mem_sz 8 -> 4)`): target
                    // ids differ between the full and any trimmed file.
                    let outcomes = { (o: ProcessOutput) in
                        o.stdoutLines.map { $0.components(separatedBy: "): ").last ?? "" }
                    }
                    #expect(outcomes(full) != outcomes(withBpftool),
                            "\(context): btfgen wrote \(mySize) bytes, bpftool \(theirSize), and bpftool's file changes no outcome")
                }
                if !fixture.isBigEndian {
                    let withTheirs = try Judge.relos(fixture.path, btf: theirs)
                    let withMine = try Judge.relos(fixture.path, btf: mine)
                    #expect(!withMine.lines.isEmpty)
                    #expect(withMine.lines == withTheirs.lines,
                            "\(context): relocations differ (expected: bpftool's BTF, actual: btfgen's)\n\(lineDiff(withTheirs.lines, withMine.lines))")
                    #expect(withMine.load == withTheirs.load)
                }
            }
        }
    }

    /// One run for all fixture objects (the `testdata/bpf` directory, big-endian copies
    /// included): every object relocates with the shared trimmed BTF as with the full one.
    @Test("all objects in one run relocate like the full BTF",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: TestKernel.all)
    func allObjectsInOneRun(kernel: TestKernel) throws {
        try withTempDir { dir in
            let out = dir + "/" + kernel.outputName
            _ = try CLI.run(input: kernel.path, objects: [TestEnv.packageRoot + "/testdata/bpf"], output: out)
            try expectValidBTF(out, "\(kernel) all objects")
            // The big-endian copies have the same relocations, so they add nothing.
            let littleEndian = try Fixture.littleEndian.map { try Inputs.object($0) }
            #expect(try readBytes(out) == trimWithLibrary(try Inputs.btf(kernel), littleEndian).serialized(),
                    "\(kernel): the trimmed BTF for testdata/bpf differs from the one for its little-endian objects")
            for fixture in Fixture.littleEndian {
                let full = try Judge.relos(fixture, kernel: kernel)
                let shared = try Judge.relos(fixture.path, btf: out)
                #expect(!shared.lines.isEmpty)
                #expect(shared.lines == full.lines,
                        "\(kernel) \(fixture): relocations differ (expected: full BTF, actual: all-objects BTF)\n\(lineDiff(full.lines, shared.lines))")
                #expect(shared.load == full.load)
            }
        }
    }

    /// A script written for bpftool runs with btfgen in its place: the same argument list
    /// (`gen min_core_btf INPUT OUTPUT OBJECT...`) writes, silently, the file the default
    /// command writes, and libbpf relocates with it as with bpftool's.
    @Test("bpftool's 'gen min_core_btf' command line, with btfgen in bpftool's place",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"))
    func bpftoolCommandLine() throws {
        let kernel = try #require(TestKernel.testKernels.first, "no test kernels: run make testdata")
        let fixtures = Fixture.littleEndian.filter(\.bpftoolCanMinimize)
        try #require(fixtures.count >= 2, "fewer than two fixtures bpftool can minimize")
        try withTempDir { dir in
            let arguments = { (out: String) in ["gen", "min_core_btf", kernel.path, out] + fixtures.map(\.path) }
            let run = try runProcess(TestEnv.btfgen, arguments(dir + "/bpftool-syntax.btf"))
            #expect(run.status == 0 && run.stdout.isEmpty && run.stderr.isEmpty, "\(run.status): \(run.stdout)\(run.stderr)")
            _ = try CLI.run(input: kernel.path, objects: fixtures.map(\.path), output: dir + "/default.btf")
            #expect(try readBytes(dir + "/bpftool-syntax.btf") == readBytes(dir + "/default.btf"))
            // Without `gen`, the same command goes through the argument parser (the form above
            // skips it): the same file.
            let parsed = try runProcess(TestEnv.btfgen, Array(arguments(dir + "/parsed.btf").dropFirst()))
            #expect(parsed.status == 0 && parsed.stdout.isEmpty && parsed.stderr.isEmpty, "\(parsed.status): \(parsed.stdout)\(parsed.stderr)")
            #expect(try readBytes(dir + "/parsed.btf") == readBytes(dir + "/default.btf"))

            if let bpftool = TestEnv.bpftool {
                let theirs = try runProcess(bpftool, arguments(dir + "/bpftool.btf"))
                #expect(theirs.status == 0, "bpftool: \(theirs.stderr)")
                for fixture in fixtures {
                    let withTheirs = try Judge.relos(fixture.path, btf: dir + "/bpftool.btf")
                    let withMine = try Judge.relos(fixture.path, btf: dir + "/bpftool-syntax.btf")
                    #expect(!withMine.lines.isEmpty && withMine.lines == withTheirs.lines,
                            "\(fixture): relocations differ\n\(lineDiff(withTheirs.lines, withMine.lines))")
                }
            } else {
                print("bpftool not found (PATH, /usr/sbin, /sbin): btfgen's output not compared with bpftool's")
            }

            // bpftool's errors: no object is bad usage; a missing input names the file.
            let noObject = try runProcess(TestEnv.btfgen, ["gen", "min_core_btf", kernel.path, dir + "/x.btf"])
            #expect(noObject.status == 64 && noObject.stderr.contains("at least one OBJECT"), "\(noObject.status): \(noObject.stderr)")
            let noInput = try runProcess(TestEnv.btfgen, ["gen", "min_core_btf", dir + "/nope.btf", dir + "/x.btf"] + fixtures.map(\.path))
            #expect(noInput.status == 2 && noInput.stderr.hasPrefix("btfgen: \(dir)/nope.btf: "), "\(noInput.status): \(noInput.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/x.btf"))
        }
    }

    /// `--version` is answered by the root command, not taken for the default command's missing
    /// `--input`.
    @Test("--version prints the version and exits 0")
    func version() throws {
        let out = try runProcess(TestEnv.btfgen, ["--version"])
        #expect(out.status == 0, "btfgen --version exited \(out.status): \(out.stderr)")
        let printed = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(printed.split(separator: ".").count == 3 && printed.allSatisfy { $0.isNumber || $0 == "." },
                "btfgen --version printed \(printed)")
    }

    /// A kernel whose `struct pglist_data` is only a forward declaration: core_types.bpf.o's
    /// `pg_data_t` relocations then match the kernel's typedef of a FWD (with the full struct they
    /// match nothing). bpftool 7.1 gives up on such a kernel ("unsupported kind: fwd"); btfgen
    /// keeps the FWD, and libbpf relocates with its file as with the full one.
    @Test("a typedef of a forward declaration in the kernel: kept, where bpftool gives up",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"))
    func forwardDeclarationInTheKernel() throws {
        let kernel = try #require(TestKernel.testKernels.first, "no test kernels: run make testdata")
        let fixture = try #require(Fixture.littleEndian.first { $0.file == "core_types.bpf.o" })
        let btf = try Inputs.btf(kernel)
        let target = try #require(btf.ids.first { btf.kind($0) == .struct && btf.name($0) == "pglist_data" })
        var withFwd = BTF(order: btf.order)
        for id in btf.ids {
            if id == target {
                withFwd.append(kind: .fwd, name: btf.nameOffset(id), vlen: 0, kflag: false, sizeOrType: 0, extra: [UInt32]())
            } else {
                withFwd.append(kind: btf.kind(id), name: btf.nameOffset(id), vlen: btf.vlen(id), kflag: btf.kflag(id),
                               sizeOrType: btf.size(id), extra: btf.extraWords(id))
            }
        }
        withFwd.setStrings(btf.strings)
        try withTempDir { dir in
            let full = dir + "/fwd-kernel.btf", trimmed = dir + "/fwd-trimmed.btf"
            try writeBytes(withFwd.serialized(), to: full)
            try expectValidBTF(full, "kernel with a FWD")
            _ = try CLI.run(input: full, objects: [fixture.path], output: trimmed)
            try expectValidBTF(trimmed, "trimmed kernel with a FWD")
            let out = try BTF(parsing: try readBytes(trimmed))
            #expect(out.ids.contains { out.kind($0) == .fwd && out.name($0) == "pglist_data" }, "the FWD was not kept")

            let withFull = try Judge.relos(fixture.path, btf: full)
            let withTrimmed = try Judge.relos(fixture.path, btf: trimmed)
            #expect(withTrimmed.lines == withFull.lines,
                    "relocations differ (expected: full BTF with a FWD, actual: trimmed)\n\(lineDiff(withFull.lines, withTrimmed.lines))")
            let original = try Judge.relos(fixture, kernel: kernel)
            #expect(withFull.lines != original.lines, "the FWD changed no relocation, so this proves nothing")
            #expect(withFull.lines.contains { $0.contains("type_exists [") && $0.contains(" typedef pg_data_t => patched") && $0.hasSuffix(" -> 1") },
                    "pg_data_t does not exist against the FWD: \(withFull.lines.filter { $0.contains("pg_data_t") })")

            if let bpftool = TestEnv.bpftool {
                let theirs = try runProcess(bpftool, ["gen", "min_core_btf", full, dir + "/bpftool.btf", fixture.path])
                let why = theirs.stderr.split(separator: "\n").first { $0.contains("unsupported") } ?? Substring(theirs.lastStderrLine)
                print("bpftool gen min_core_btf on a kernel with a FWD: status \(theirs.status): \(why)")
            }
        }
    }
}
