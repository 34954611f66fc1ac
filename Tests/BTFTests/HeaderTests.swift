import Foundation
import Testing

import BTF

/// Headers longer than today's 24 bytes: accepted when the extra bytes are zero (the kernel's
/// rule for fields it does not know), rejected with the offset of the first non-zero byte.
@Suite struct HeaderTests {
    enum Source: String, CaseIterable, CustomTestStringConvertible {
        case constructed, kernel
        var testDescription: String { rawValue }
    }

    /// The BTF's bytes with `extra` zero bytes inserted after the 24-byte header.
    static func withLongHeader(_ source: Source, extra: Int) throws -> (original: BTF, bytes: [UInt8]) {
        let btf: BTF
        switch source {
        case .constructed:
            btf = Tiny().btf
        case .kernel:
            guard let name = TestEnv.smallestKernel else {
                throw TestFailure("no test kernels in \(TestEnv.kernelsDir): run `make testdata`")
            }
            btf = try KernelCache.load(name).btf
        }
        var bytes = btf.serialized()
        #expect(bytes.get32(at: 4, order: btf.order) == 24)
        bytes.insert(contentsOf: [UInt8](repeating: 0, count: extra), at: 24)
        bytes.put32(UInt32(24 + extra), at: 4, order: btf.order)
        return (btf, bytes)
    }

    @Test(arguments: Source.allCases)
    func longerHeaderWithZeroTailParses(source: Source) throws {
        let (original, bytes) = try Self.withLongHeader(source, extra: 8)
        let btf = try BTF(parsing: bytes)
        #expect(btf.headerLength == 32)
        expectSameTypes(btf, original)
        expectSameBytes(btf.serialized(), bytes, "written back with the longer header")

        var short = btf
        short.headerLength = 24
        expectSameBytes(short.serialized(), original.serialized(), "written back with a 24-byte header")
    }

    @Test func libbpfAlsoReadsTheLongerHeader() throws {
        let (original, bytes) = try Self.withLongHeader(.constructed, extra: 8)
        try withTempDir { dir in
            let path = dir + "/long-header.btf"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let out = try runJudge(["parse", path])
            #expect(out.status == 0, "libbpf-judge parse failed: \(out.stderr)")
            #expect(out.stdout == "types \(original.typeCount - 1)\nendian little\n")
        }
    }

    @Test(arguments: Source.allCases, [24, 29, 31])
    func nonZeroHeaderTailIsRejectedAtItsOffset(source: Source, offset: Int) throws {
        var (_, bytes) = try Self.withLongHeader(source, extra: 8)
        bytes[offset] = 0x5a
        let error = expectFormatError(bytes)
        expectMessage(error, contains: [".BTF+\(hex(offset))", "non-zero header field", "header length 32"])
        #expect(error?.location == ".BTF+\(hex(offset))")
    }

    @Test func bigEndianLongerHeader() throws {
        let tiny = Tiny(order: .big).btf
        var bytes = tiny.serialized()
        #expect(Array(bytes[0..<2]) == [0xeb, 0x9f])
        bytes.insert(contentsOf: [0, 0, 0, 0], at: 24)
        bytes.put32(28, at: 4, order: .big)
        let btf = try BTF(parsing: bytes)
        #expect(btf.order == .big)
        #expect(btf.headerLength == 28)
        expectSameTypes(btf, tiny)
        expectSameBytes(btf.serialized(), bytes, "big-endian, written back")
    }

    @Test func headerLengthShorterThan24IsRejected() {
        var bytes = Tiny().btf.serialized()
        bytes.put32(20, at: 4, order: .little)
        expectMessage(expectFormatError(bytes), contains: [".BTF+0x4", "header length 20"])
    }

    @Test func headerLengthPastTheEndIsRejected() {
        var bytes = Tiny().btf.serialized()
        bytes.put32(UInt32(bytes.count + 1), at: 4, order: .little)
        expectMessage(expectFormatError(bytes), contains: [".BTF+0x4", "past the end"])
    }
}
