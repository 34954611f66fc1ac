import Foundation
import Testing

import BTF

/// Real kernel BTFs (testdata/kernels, decompressed by `make testdata`): parse, write back,
/// swap byte order, and compare with libbpf and bpftool.
@Suite struct KernelRoundTripTests {
    @Test func testKernelsArePresent() {
        #expect(!TestEnv.kernels.isEmpty,
                "no *.btf in \(TestEnv.kernelsDir): run `make testdata` or set BTFGEN_TEST_KERNELS")
    }

    @Test(arguments: TestEnv.kernels)
    func parsesAndWritesBackByteForByte(kernel: String) throws {
        let k = try KernelCache.load(kernel)
        #expect(k.btf.order == .little)
        #expect(k.btf.headerLength == 24)
        #expect(k.btf.typeCount > 1000)
        let out = k.btf.serialized()
        expectSameBytes(out, k.bytes, "written back")
    }

    @Test(arguments: TestEnv.kernels)
    func bigEndianCopyParsesBackToTheSameModel(kernel: String) throws {
        let k = try KernelCache.load(kernel)
        let big = k.btf.serialized(order: .big)
        #expect(Array(big[0..<2]) == [0xeb, 0x9f])
        let back = try BTF(parsing: big)
        #expect(back.order == .big)
        #expect(back.headerLength == k.btf.headerLength)
        expectSameTypes(back, k.btf)
        expectSameBytes(back.serialized(), big, "big-endian BTF written back in its own order")
        expectSameBytes(back.serialized(order: .little), k.bytes, "big-endian BTF written little-endian")
    }

    @Test(arguments: TestEnv.kernels)
    func libbpfAcceptsTheBigEndianFileWeWrite(kernel: String) throws {
        let k = try KernelCache.load(kernel)
        try withTempDir { dir in
            let path = dir + "/" + kernel + ".be"
            try Data(k.btf.serialized(order: .big)).write(to: URL(fileURLWithPath: path))
            let big = try runJudge(["parse", path])
            #expect(big.status == 0, "libbpf-judge parse failed: \(big.stderr)")
            #expect(big.stdout == "types \(k.btf.typeCount - 1)\nendian big\n")
        }
        let little = try runJudge(["parse", TestEnv.kernelPath(kernel)])
        #expect(little.status == 0, "libbpf-judge parse failed: \(little.stderr)")
        #expect(little.stdout == "types \(k.btf.typeCount - 1)\nendian little\n")
    }

    @Test(.enabled(if: TestEnv.tool("bpftool") != nil, "bpftool is not installed (apt-get install bpftool)"),
          arguments: TestEnv.kernels)
    func typeCountMatchesBpftool(kernel: String) throws {
        let k = try KernelCache.load(kernel)
        let dump = try runProcess(TestEnv.tool("bpftool")!,
                                  ["btf", "dump", "file", TestEnv.kernelPath(kernel), "format", "raw"])
        #expect(dump.status == 0, "bpftool failed: \(dump.stderr)")
        let count = dump.stdout.split(separator: "\n").count { $0.hasPrefix("[") }
        #expect(count == k.btf.typeCount - 1)
    }
}
