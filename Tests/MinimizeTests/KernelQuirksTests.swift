import Foundation
import Testing

import BTF
import TestSupport

/// Kernels libbpf reads that the kernel's own rules would refuse, and the 2026 format, through
/// the command line with the real programs: btfgen trims them, warns where a rule is broken,
/// fails them only with `--strict`, and libbpf relocates the same with the trimmed file.
@Suite("Kernel quirks through the command line")
struct KernelQuirksTests {
    static let base = "debian-bookworm-6.1.0-56-amd64"

    /// A few real objects (libbpf-tools of both versions): enough to reach task_struct.
    static var objects: [RealObject] {
        RealObject.all.filter { ["execsnoop", "opensnoop", "biolatency", "tcpconnect", "runqlat"].contains($0.name.split(separator: "/").last.map(String.init) ?? "") }
    }

    /// Trims `kernel` with btfgen (extra arguments first) and checks libbpf relocates every
    /// object the same with the output as with `reference` (the kernel libbpf reads as is).
    func trimAndJudge(_ kernel: String, reference: String, extra: [String] = [], dir: String) throws -> ProcessOutput {
        let out = dir + "/out.btf"
        var args = extra + ["-i", kernel, "-o", out]
        for o in Self.objects { args += ["--object", o.path] }
        let run = try runProcess(TestEnv.btfgen, args)
        guard run.status == 0 else { return run }
        let head = try readBytes(out)
        #expect(head.count >= 24 && head[4] == 24, "trimmed output's header is not 24 bytes")
        for o in Self.objects {
            let full = try Judge.relos(o.path, btf: reference)
            let small = try Judge.relos(o.path, btf: out)
            #expect(!full.lines.isEmpty, "\(o): libbpf relocated nothing with \(reference)")
            #expect(small.lines == full.lines, "\(o): relocations differ\n\(lineDiff(full.lines, small.lines))")
        }
        return run
    }

    /// Sets the size of the first struct named `name` to 0 in a raw little-endian BTF, as old
    /// pahole wrote some structs (members keep their offsets).
    static func zeroSize(_ bytes: [UInt8], struct name: String) throws -> [UInt8] {
        let btf = try BTF(parsing: bytes)
        guard let id = (1..<btf.typeCount).map({ TypeID(UInt32($0)) }).first(where: { btf.kind($0) == .struct && btf.name($0) == name }) else {
            throw TestFailure("no struct \(name)")
        }
        let typeOff = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        let at = 24 + typeOff + (Int(btf.records[id.index].firstWord) - 1) * 4
        var out = bytes
        for i in 0..<4 { out[at + i] = 0 }
        return out
    }

    @Test("a struct of size 0 with members (old pahole): trimmed with a warning, failed with --strict",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf is the judge"),
          .enabled(if: !RealObject.all.isEmpty, "no real objects: run make real-objects"))
    func zeroSizedStruct() throws {
        let kernel = try #require(TestKernel.testKernels.first { $0.name == Self.base })
        try withTempDir { dir in
            let quirky = dir + "/quirky.btf"
            try writeBytes(try Self.zeroSize(try readBytes(kernel.path), struct: "task_struct"), to: quirky)
            let run = try trimAndJudge(quirky, reference: quirky, dir: dir)
            #expect(run.status == 0, "btfgen exited \(run.status): \(run.stderr)")
            #expect(run.stderr.contains("warning: \(quirky): type [") && run.stderr.contains("(member-offset)"),
                    "no member-offset warning: \(run.stderr)")
            let strict = try trimAndJudge(quirky, reference: quirky, extra: ["--strict"], dir: dir)
            #expect(strict.status == 1, "--strict exited \(strict.status)")
            let lines = strict.stderr.split(separator: "\n").filter { $0.hasPrefix("btfgen: \(quirky)") }
            #expect(lines.count == 1 && lines[0].contains("type ["), "--strict: \(strict.stderr)")
        }
    }

    @Test("the 2026 format (32-byte header, kind layout, a type of unknown kind): trimmed to a BTF libbpf 1.1 reads",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf is the judge"),
          .enabled(if: !RealObject.all.isEmpty, "no real objects: run make real-objects"))
    func format2026() throws {
        let kernel = try #require(TestKernel.testKernels.first { $0.name == Self.base })
        let script = TestEnv.packageRoot + "/scripts/make-kernel-variants.py"
        try withTempDir { dir in
            let v2026 = dir + "/k2026.btf", unknown = dir + "/unknown.btf"
            #expect(try runProcess("/usr/bin/python3", [script, kernel.path, v2026]).status == 0)
            #expect(try runProcess("/usr/bin/python3", [script, "--unknown-kind", "25", "--reference", kernel.path, unknown]).status == 0)
            // libbpf 1.1 reads the 32-byte header: it judges the 2026 file itself.
            let run = try trimAndJudge(v2026, reference: v2026, dir: dir)
            #expect(run.status == 0, "btfgen exited \(run.status): \(run.stderr)")
            // It cannot read a type of unknown kind: the plain kernel is the reference.
            let withUnknown = try trimAndJudge(unknown, reference: kernel.path, dir: dir)
            #expect(withUnknown.status == 0, "btfgen exited \(withUnknown.status): \(withUnknown.stderr)")
        }
    }
}
