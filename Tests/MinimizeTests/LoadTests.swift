import Foundation
import Testing
import TestSupport

/// A real load into the running kernel: each program of a loadable fixture loads with the
/// running kernel's trimmed BTF exactly when it loads with its full BTF.
@Suite("Programs load with the trimmed BTF of the running kernel")
struct LoadTests {
    @Test("each program loads as with the full BTF",
          .enabled(if: TestKernel.running != nil, "no /sys/kernel/btf/vmlinux: the running kernel has no BTF"),
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): nothing can be loaded"),
          arguments: Fixture.loadable)
    func loadsLikeFullBTF(fixture: Fixture) throws {
        let kernel = try #require(TestKernel.running)
        let trimmed = trimWithLibrary(try Inputs.btf(kernel), [try Inputs.object(fixture)])
        try withTempDir { dir in
            let path = dir + "/vmlinux"
            try writeBytes(trimmed.serialized(), to: path)
            let full = try runJudge(["load", fixture.path, "--btf", kernel.path])
            let small = try runJudge(["load", fixture.path, "--btf", path])
            #expect(!full.stdoutLines.isEmpty, "\(fixture): libbpf-judge load printed nothing: \(full.stderr)")
            #expect(full.stdoutLines.contains { $0.hasSuffix(": ok") },
                    "\(fixture): no program loads even with the full BTF, so the comparison proves nothing: \(full.stdoutLines)")
            #expect(small.stdoutLines == full.stdoutLines,
                    "\(fixture): per-program load results differ (expected: full BTF, actual: trimmed)\n\(lineDiff(full.stdoutLines, small.stdoutLines))")
            #expect(small.status == full.status)
            if full.status != 0 {
                print("note: \(fixture) does not load on the running kernel even with its full BTF: \(full.stdoutLines)")
            }
        }
    }
}
