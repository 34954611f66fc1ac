import Foundation
import Testing

import BTF
import TestSupport

/// Headers longer than 24 bytes: accepted; bytes past the fields btfgen knows that are not zero
/// break the kernel's rule for fields it does not know (a warning, an error when strict).
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

    /// Header bytes past the fields btfgen knows (past `str_len` in a header shorter than 32
    /// bytes, past `layout_len` in a longer one): libbpf reads the BTF whatever they hold, the
    /// kernel refuses non-zero ones. A warning naming the first non-zero byte, an error when
    /// strict.
    @Test(arguments: Source.allCases, [(28, 24), (28, 27), (40, 32), (40, 39)])
    func nonZeroHeaderTailIsAWarningAtItsOffset(source: Source, header: (length: Int, offset: Int)) throws {
        var (original, bytes) = try Self.withLongHeader(source, extra: header.length - 24)
        bytes[header.offset] = 0x5a
        let error = expectFormatError(bytes, strict: true)
        expectMessage(error, contains: [".BTF+\(hex(header.offset))", "non-zero header field", "header length \(header.length)"])
        #expect(error?.location == ".BTF+\(hex(header.offset))")
        #expect(error?.rule == .headerTail)
        let btf = try BTF(parsing: bytes)
        expectSameTypes(btf, original)
        #expect(btf.warnings.map(\.rule) == [.headerTail])
        #expect(btf.warnings.first?.location == ".BTF+\(hex(header.offset))")
    }

    /// A 32-byte header's `layout_off` means nothing while `layout_len` is 0 (the kernel's
    /// `btf_parse_layout_sec`).
    @Test func layoutOffsetWithoutLengthIsIgnored() throws {
        var (original, bytes) = try Self.withLongHeader(.constructed, extra: 8)
        bytes.put32(0x5a, at: 24, order: .little)
        let btf = try BTF(parsing: bytes, strict: true)
        expectSameTypes(btf, original)
        #expect(btf.layoutSection == nil)
        #expect(btf.warnings.isEmpty)
    }

    /// Version and flags are the kernel's rules; libbpf 1.1.2 reads any.
    @Test(arguments: [(2, UInt8(2), "unsupported version 2", FormatRule.headerVersion),
                      (3, UInt8(1), "unsupported flags 0x1", FormatRule.headerFlags)])
    func versionAndFlagsAreWarnings(offset: Int, value: UInt8, message: String, rule: FormatRule) throws {
        var bytes = Tiny().btf.serialized()
        bytes[offset] = value
        let error = expectFormatError(bytes, strict: true)
        expectMessage(error, contains: [".BTF+\(hex(offset))", message])
        #expect(error?.rule == rule)
        #expect(try BTF(parsing: bytes).warnings.map(\.rule) == [rule])
        try withTempDir { dir in
            let path = dir + "/header.btf"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let out = try runJudge(["parse", path])
            #expect(out.status == 0, "libbpf-judge parse failed: \(out.stderr)")
        }
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

/// The parser's type table is first allocated for 20 bytes a type; a section of smaller types
/// (12-byte pointers only) overflows it and is indexed again: every type is still there.
@Suite struct SmallTypesTests {
    @Test(arguments: [1, 4, 5, 6, 100, 10_000])
    func aSectionOfPointersOnlyIsIndexedWhole(count: Int) throws {
        var bytes: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        let typeLength = UInt32(12 * count)
        bytes += [0x9f, 0xeb, 1, 0]
        u32(24); u32(0); u32(typeLength); u32(typeLength); u32(1)
        for i in 0..<count {
            u32(0); u32(2 << 24); u32(UInt32(i % 16)) // PTR to one of the first 16 (chains under 32 deep)
        }
        bytes.append(0)
        let btf = try BTF(parsing: bytes)
        #expect(btf.typeCount == count + 1)
        #expect((1...count).allSatisfy { btf.records[$0].kindValue == 2 && btf.records[$0].sizeOrType == UInt32(($0 - 1) % 16) })
        #expect(btf.serialized() == bytes)
    }
}
