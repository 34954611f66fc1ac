import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import Pipeline
import Minimize
import Report
import TestSupport

/// Before a trimmed file is written, every relocation is resolved again against it; where an
/// outcome differs, every matching candidate of that relocation's local type is kept (then, if
/// still needed, those candidates whole) and the file is built again. The marker has never needed it on real inputs, so the tests make it needed:
/// the first pass leaves relocations unmarked, and the repaired file must still give libbpf
/// the full BTF's outcomes.
@Suite("The check before writing repairs what marking missed")
struct SafetyNetTests {
    @Test("relocations left unmarked are repaired",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: Fixture.littleEndian.filter(\.isLoadable))
    func unmarkedRelocationsAreRepaired(fixture: Fixture) throws {
        let kernel = try #require(TestKernel.testKernels.first, "no test kernels: run make testdata")
        let btf = try Inputs.btf(kernel), object = try Inputs.object(fixture)
        let normal = trim(kernel: btf, objects: [object])
        let sabotaged = trim(kernel: btf, objects: TrimObjects([object]), leavingUnmarked: Set(object.relocations.indices))
        #expect(normal.mismatches.isEmpty && sabotaged.mismatches.isEmpty,
                "\(fixture): still different after the fallback: \(sabotaged.mismatches)")
        #expect(sabotaged.repaired > 0, "\(fixture): nothing was left unmarked")
        #expect(normal.repaired == 0, "\(fixture): the normal run needed the fallback for \(normal.repaired) relocations")
        // The repair keeps every matching candidate (then whole ones), never less than the first pass.
        #expect(sabotaged.btf.typeCount >= normal.btf.typeCount)
        try withTempDir { dir in
            let path = dir + "/repaired.btf"
            try writeBytes(sabotaged.btf.serialized(), to: path)
            try expectValidBTF(path, "\(fixture) repaired")
            let full = try Judge.relos(fixture, kernel: kernel)
            let repaired = try Judge.relos(fixture.path, btf: path)
            #expect(repaired.lines == full.lines,
                    "\(fixture): relocations differ (expected: full BTF, actual: repaired)\n\(lineDiff(full.lines, repaired.lines))")
        }
    }
}
