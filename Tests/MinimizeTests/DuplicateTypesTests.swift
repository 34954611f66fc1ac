import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import CORE
import TestSupport

/// pahole leaves some named types duplicated in the kernels it encodes (a few hundred in
/// Ubuntu 18.04's aws and fips kernels): libbpf then finds several candidates that agree, and
/// the trimmed file needs only the first (as bpftool keeps it).
@Suite("Residual duplicate types")
struct DuplicateTypesTests {
    /// A real kernel with a second copy of every struct and union the real programs look up,
    /// appended after the originals (the copies refer to the same member types).
    static func withDuplicates(_ btf: BTF, names: Set<ArraySlice<UInt8>>) -> (BTF, Int) {
        var out = BTF(order: btf.order)
        for i in 1..<btf.typeCount {
            let r = btf.records[i]
            out.append(info: r.info, name: StringOffset(r.nameOffset), sizeOrType: r.sizeOrType, extra: btf.extraWords(TypeID(UInt32(i))))
        }
        var copies = 0
        for i in 1..<btf.typeCount {
            let id = TypeID(UInt32(i)), r = btf.records[i]
            guard btf.kind(id).isComposite, names.contains(btf.essentialName(id)) else { continue }
            out.append(info: r.info, name: StringOffset(r.nameOffset), sizeOrType: r.sizeOrType, extra: btf.extraWords(id))
            copies += 1
        }
        out.setStrings(btf.strings)
        return (out, copies)
    }

    @Test("no larger than bpftool's, and libbpf relocates the same",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          .enabled(if: !RealObject.all.isEmpty, "no real objects: run make real-objects"))
    func duplicatesAreLeftOut() throws {
        let kernel = try #require(TestKernel.testKernels.first { $0.name == "debian-bookworm-6.1.0-56-amd64" }, "no 6.1 amd64 test kernel")
        let btf = try Inputs.btf(kernel)
        let objects = RealObject.all
        var names = Set<ArraySlice<UInt8>>()
        for o in objects {
            let obj = try Inputs.object(path: o.path)
            names.formUnion(Resolver.wantedNames(local: obj.btf, records: obj.relocations))
        }
        let (dup, copies) = Self.withDuplicates(btf, names: names)
        #expect(copies > 100, "only \(copies) duplicated types")
        try withTempDir { dir in
            let input = dir + "/dup.btf", ours = dir + "/ours.btf", theirs = dir + "/theirs.btf"
            try writeBytes(dup.serialized(), to: input)
            var args = ["-i", input, "-o", ours, "-q"]
            for o in objects { args += ["--object", o.path] }
            let run = try runProcess(TestEnv.btfgen, args)
            #expect(run.status == 0 || run.status == 3, "btfgen exited \(run.status): \(run.stderr)")
            for o in objects {
                let full = try Judge.relos(o.path, btf: input)
                if full.run.status == 1 && full.lines.isEmpty { continue }
                let small = try Judge.relos(o.path, btf: ours)
                #expect(small.lines == full.lines, "\(o): relocations differ\n\(lineDiff(full.lines, small.lines))")
            }
            if let bpftool = TestEnv.bpftool {
                let bp = try runProcess(bpftool, ["gen", "min_core_btf", input, theirs] + objects.map(\.path))
                if bp.status == 0 {
                    print("\(copies) duplicated types: btfgen \(TestEnv.fileSize(ours)) bytes, bpftool \(TestEnv.fileSize(theirs)) bytes")
                    #expect(TestEnv.fileSize(ours) <= TestEnv.fileSize(theirs))
                } else {
                    print("bpftool gen min_core_btf failed on the duplicated kernel: \(bp.stderr.split(separator: "\n").last ?? "")")
                }
            }
        }
    }
}
