import Foundation
import Testing

import BPFObject
import BTF

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
}
