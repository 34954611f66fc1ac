import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import TestSupport

/// The trimmed bytes depend only on what the relocations use: not on object order, thread
/// count or the objects' byte order.
@Suite("Deterministic output")
struct DeterminismTests {
    /// `--jobs 1` with the objects in one order and `--jobs 2` with them reversed, over a kernel
    /// directory holding every test kernel (and the running kernel's BTF, when present).
    @Test("object order and --jobs do not change the output")
    func orderAndJobs() throws {
        try withTempDir { dir in
            let kernels = dir + "/kernels"
            try FileManager.default.createDirectory(atPath: kernels, withIntermediateDirectories: true)
            for k in TestKernel.all {
                try FileManager.default.createSymbolicLink(atPath: kernels + "/" + k.outputName, withDestinationPath: k.path)
            }
            let objects = Fixture.all.map(\.path)
            _ = try CLI.run(input: kernels, objects: objects, output: dir + "/a", jobs: 1)
            _ = try CLI.run(input: kernels, objects: objects.reversed(), output: dir + "/b", jobs: 2)
            let a = try FileManager.default.contentsOfDirectory(atPath: dir + "/a").sorted()
            let b = try FileManager.default.contentsOfDirectory(atPath: dir + "/b").sorted()
            #expect(a == TestKernel.all.map(\.outputName).sorted())
            #expect(a == b)
            for name in a where b.contains(name) {
                #expect(try readBytes(dir + "/a/" + name) == readBytes(dir + "/b/" + name),
                        "\(name): --jobs 1 in object order and --jobs 2 reversed give different bytes")
            }
        }
    }

    /// A big-endian build of a fixture asks for the same (kind, type, access) triples as the
    /// little-endian one (clang may emit a triple more often, e.g. the extra `byte_sz` of
    /// `BPF_CORE_READ_BITFIELD_PROBED` on bpfeb), so the trimmed BTF must be byte-identical.
    @Test("big-endian objects trim like little-endian ones", arguments: TestKernel.all, Fixture.bigEndian)
    func bigEndianLikeLittleEndian(kernel: TestKernel, fixture: Fixture) throws {
        let be = try Inputs.object(fixture), le = try Inputs.object(fixture.littleEndian)
        #expect(be.btf.order == .big && le.btf.order == .little)
        func accesses(_ o: BPFObject) -> Set<String> {
            Set(o.relocations.map { "\($0.kind) \(o.btf.kind($0.type)) \(o.btf.name($0.type)) \($0.accessString)" })
        }
        #expect(accesses(be) == accesses(le), "\(fixture): the big- and little-endian builds relocate different accesses")
        let btf = try Inputs.btf(kernel)
        #expect(trimWithLibrary(btf, [be]).serialized() == trimWithLibrary(btf, [le]).serialized(),
                "\(kernel) \(fixture): the big-endian object gives a different trimmed BTF")
    }

    /// A big-endian kernel (a test kernel rewritten in big-endian order) gives, through the CLI,
    /// a big-endian trimmed file whose bytes are the little-endian output's, byte-swapped; and
    /// libbpf, which reads either order, relocates every object the same with it.
    @Test("a big-endian kernel gives a big-endian output that relocates the same",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: Array(TestKernel.testKernels.filter { !$0.name.contains("s390x") }.prefix(1)))
    func bigEndianKernel(kernel: TestKernel) throws {
        let btf = try Inputs.btf(kernel)
        #expect(btf.order == .little)
        try withTempDir { dir in
            let bigKernel = dir + "/big.btf"
            try writeBytes(btf.serialized(order: .big), to: bigKernel)
            let objects = Fixture.littleEndian.map(\.path)
            _ = try CLI.run(input: bigKernel, objects: objects, output: dir + "/big-out.btf")
            _ = try CLI.run(input: kernel.path, objects: objects, output: dir + "/little-out.btf")
            let big = try readBytes(dir + "/big-out.btf"), little = try readBytes(dir + "/little-out.btf")
            #expect(Array(big.prefix(2)) == [0xEB, 0x9F], "the output of a big-endian kernel is not big-endian")
            let reread = try BTF(parsing: big)
            #expect(reread.order == .big)
            #expect(reread.serialized(order: .little) == little, "the big-endian output is not the little-endian one byte-swapped")
            for fixture in Fixture.littleEndian {
                let fromBig = try Judge.relos(fixture.path, btf: dir + "/big-out.btf")
                let fromLittle = try Judge.relos(fixture.path, btf: dir + "/little-out.btf")
                #expect(!fromBig.lines.isEmpty)
                #expect(fromBig.lines == fromLittle.lines,
                        "\(fixture): relocations differ (expected: little-endian output, actual: big-endian)\n\(lineDiff(fromLittle.lines, fromBig.lines))")
            }
        }
    }
}
