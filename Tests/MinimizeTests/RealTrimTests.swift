import Foundation
import Testing

import BTF
import TestSupport

/// The real programs (Debian's libbpf-tools and xdp-tools, the generated agent) trimmed
/// together for each real kernel, as a release pipeline runs btfgen: libbpf relocates every
/// program the same with the trimmed file as with the full one, the report counts what libbpf
/// counts, and the file is no larger than bpftool's.
@Suite("Real programs trimmed for real kernels")
struct RealTrimTests {
    @Test("libbpf relocates the same, the report counts the same, no larger than bpftool",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          .enabled(if: !RealObject.all.isEmpty, "no real objects: run make real-objects"),
          arguments: TestKernel.realMatrix)
    func trimmedRelocatesTheSame(kernel: TestKernel) throws {
        let objects = RealObject.all
        try withTempDir { dir in
            let out = dir + "/" + kernel.outputName, report = dir + "/report.json"
            var args = ["-i", kernel.path, "-o", out, "-q", "--report", report]
            for o in objects { args += ["--object", o.path] }
            let run = try runProcess(TestEnv.btfgen, args)
            #expect(run.status == 0 || run.status == 3, "\(kernel): btfgen exited \(run.status): \(run.stderr)")
            try expectValidBTF(out, "\(kernel) trimmed")

            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
            let kernels = json?["kernels"] as? [[String: Any]] ?? []
            let reported = reportPairs(json ?? [:], kernels.first ?? [:]).reduce(into: [String: [Int]]()) { acc, o in
                acc[o["object"] as? String ?? ""] = ["resolved", "unresolved", "errors"].map { k in o[k] as? Int ?? -1 }
            }
            #expect((kernels.first?["warnings"] as? [String] ?? []).isEmpty, "\(kernel): \(kernels.first?["warnings"] ?? "")")

            var judged = 0, totals = [0, 0, 0]
            for o in objects {
                let full = try Judge.relos(o.path, btf: kernel.path)
                if full.run.status == 1 && full.lines.isEmpty {
                    print("skipped: \(kernel) \(o): libbpf fails the load before it relocates")
                    continue
                }
                judged += 1
                let small = try Judge.relos(o.path, btf: out)
                #expect(small.lines == full.lines,
                        "\(kernel) \(o): relocations differ (expected: full BTF, actual: trimmed)\n\(lineDiff(full.lines, small.lines))")
                #expect(small.load == full.load, "\(kernel) \(o): load \(small.load) with the trimmed BTF, \(full.load) with the full one")
                if full.load == "load: ok" {
                    let counts = [" => patched", " => poisoned", " => error"].map { m in full.lines.filter { $0.contains(m) }.count }
                    for i in 0..<3 { totals[i] += counts[i] }
                    #expect(reported[o.path] == counts, "\(kernel) \(o): report [resolved, unresolved, errors] \(reported[o.path] ?? []), libbpf \(counts)")
                }
            }
            #expect(judged > objects.count / 2, "\(kernel): libbpf relocated only \(judged) of \(objects.count) objects")

            let ours = TestEnv.fileSize(out)
            var bpftoolBytes = "n/a"
            if let bpftool = TestEnv.bpftool {
                let theirs = dir + "/bpftool.btf"
                let bp = try runProcess(bpftool, ["gen", "min_core_btf", kernel.path, theirs] + objects.map(\.path))
                if bp.status == 0 {
                    let size = TestEnv.fileSize(theirs)
                    bpftoolBytes = String(size)
                    #expect(ours <= size, "\(kernel): btfgen wrote \(ours) bytes, bpftool \(size)")
                } else {
                    bpftoolBytes = "failed (\(bp.stderr.split(separator: "\n").last ?? ""))"
                }
            }
            // One line per kernel for `make check-real`'s summary (scripts/check-real-summary.sh).
            print("check-real: \(kernel.name)\tobjects=\(objects.count)\tjudged=\(judged)\tpatched=\(totals[0])\tpoisoned=\(totals[1])\terrors=\(totals[2])\tbtfgen=\(ours)\tbpftool=\(bpftoolBytes)\tinput=\(TestEnv.fileSize(kernel.path))")
        }
    }
}
