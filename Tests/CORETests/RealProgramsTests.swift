import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import CORE
import TestSupport

/// Real CO-RE programs (Debian's libbpf-tools and xdp-tools, the generated agent) against real
/// kernels: every relocation's outcome and the counts equal libbpf's.
@Suite("Real programs resolve as libbpf resolves them")
struct RealProgramsTests {
    @Test("the real programs are there")
    func realProgramsArePresent() {
        #expect(RealObject.all.count >= 50,
                "\(RealObject.all.count) real objects in \(RealObject.objectsDir): run make real-objects (and make agent)")
        #expect(RealObject.all.contains { $0.name == "agent" }, "no \(RealObject.agentPath): run make agent")
    }

    @Test("outcomes and counts equal libbpf's",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: TestKernel.realMatrix, RealObject.all)
    func outcomesEqualLibbpfs(kernel: TestKernel, object: RealObject) throws {
        try expectResolutionsMatchLibbpf(object.path, name: object.name, kernel: kernel)
    }

    /// The shortcut (one decision per distinct question and state of the candidate cache) gives
    /// what record-by-record resolution gives, on every real object.
    /// On the first kernel of the matrix (`make check-real`: every kernel): record by record
    /// takes about a minute per kernel.
    @Test("shared decisions equal record-by-record resolution",
          arguments: ProcessInfo.processInfo.environment["BTFGEN_REAL_MATRIX"] == "all" ? TestKernel.realMatrix : Array(TestKernel.realMatrix.prefix(1)))
    func sharedDecisionsEqualRecordByRecord(kernel: TestKernel) throws {
        let target = try Inputs.btf(kernel)
        for object in RealObject.all {
            // Record by record, the agent on a non-deduplicated kernel is 35,334 records × 476
            // candidates compared afresh: minutes (libbpf itself takes about 10 s there).
            if object.name == "agent" && TestKernel.large.contains(kernel) {
                print("skipped: \(kernel) agent: record-by-record resolution is too slow on a non-deduplicated kernel")
                continue
            }
            let o = try Inputs.object(path: object.path)
            let prepared = PreparedRelocations(local: o.btf, records: o.relocations)
            let index = CandidateIndex(target: target, wanted: prepared.wantedNames, kinds: prepared.wantedKinds)
            let shared = Resolver.resolve(prepared, target: target, index: index)
            let single = Resolver.resolveUnshared(prepared, target: target, index: index)
            for (a, b) in zip(shared, single) where a.outcome != b.outcome || a.targets != b.targets {
                Issue.record("\(kernel) \(object) \(a.record.section) relo #\(a.record.index): shared \(a.describe(targetBTF: target)), record by record \(b.describe(targetBTF: target))")
            }
            // The status byte the counts and reports read says what the full outcome says.
            let all = Resolver.resolveAll(prepared, target: target, index: index)
            for i in 0..<all.count {
                let expected: RecordStatus
                switch all.outcome(i) {
                case .value(let v): expected = v.poison ? .poisoned : .patched
                case .error, .limit: expected = .error
                }
                if all.statusOfRecord[i] != expected {
                    Issue.record("\(kernel) \(object) record \(i): status \(all.statusOfRecord[i]), outcome \(all[i].describe(targetBTF: target))")
                }
            }
            // The decisions come in the order the records first get them, each used: what byte
            // attribution walks instead of the records.
            var firstUse: [Int32] = [], seen = Set<Int32>()
            for d in all.decisionOfRecord where seen.insert(d).inserted { firstUse.append(d) }
            #expect(firstUse == Array(0..<Int32(all.decisions.count)), "\(kernel) \(object)")
        }
    }
}
