import Foundation
import Testing

import BTF
import TestSupport

/// libbpf is the judge: a trimmed BTF must make libbpf compute exactly the relocations it
/// computes from the full kernel BTF, and must be a BTF both parsers accept.
@Suite("Trimmed BTF relocates like the full BTF")
struct TrimmedBTFTests {
    @Test("the test kernels are there")
    func testKernelsArePresent() {
        #expect(!TestKernel.testKernels.isEmpty,
                "no *.btf in \(TestEnv.kernelsDir): run scripts/testdata-kernels.sh .build/testdata/kernels (or make testdata)")
        #expect(!Fixture.littleEndian.isEmpty && Fixture.bigEndian.count == Fixture.littleEndian.count,
                "fixture objects missing in testdata/bpf or testdata/bpf/bpfeb")
    }

    @Test("libbpf's relocations are the same from the trimmed BTF",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: TestKernel.all, Fixture.littleEndian)
    func sameRelocations(kernel: TestKernel, fixture: Fixture) throws {
        let object = try Inputs.object(fixture)
        let trimmed = trimWithLibrary(try Inputs.btf(kernel), [object])
        try withTempDir { dir in
            let path = dir + "/" + kernel.outputName
            try writeBytes(trimmed.serialized(), to: path)
            try expectValidBTF(path, "\(kernel) \(fixture)")

            let full = try Judge.relos(fixture, kernel: kernel)
            let small = try Judge.relos(fixture.path, btf: path)
            #expect(full.run.status == 0, "\(kernel) \(fixture): libbpf-judge on the full BTF: \(full.run.stderr)")
            if !object.relocations.isEmpty {
                #expect(!full.lines.isEmpty, "\(kernel) \(fixture): libbpf reported no relocations")
            }
            #expect(small.lines == full.lines,
                    "\(kernel) \(fixture): relocations differ (expected: full BTF, actual: trimmed)\n\(lineDiff(full.lines, small.lines))")
            #expect(small.load == full.load, "\(kernel) \(fixture): load \(small.load) with the trimmed BTF, \(full.load) with the full one")
            #expect(small.run.status == full.run.status)
        }
    }
}
