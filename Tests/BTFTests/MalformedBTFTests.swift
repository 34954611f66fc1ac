import Testing

import BTF
import TestSupport

/// Broken BTF, made by patching the bytes of a real kernel BTF (the smallest test kernel): each
/// is rejected with a one-line error that says where.
@Suite struct MalformedBTFTests {
    /// The smallest test kernel's bytes, its model and its layout.
    static func kernel() throws -> (bytes: [UInt8], btf: BTF, layout: RawBTFLayout) {
        guard let name = TestEnv.smallestKernel else {
            throw TestFailure("no test kernels in \(TestEnv.kernelsDir): run `make testdata`")
        }
        let k = try KernelCache.load(name)
        return (k.bytes, k.btf, RawBTFLayout(k.bytes, k.btf))
    }

    @Test func emptyInput() {
        let error = expectFormatError([])
        expectMessage(error, contains: [".BTF+0x0", "truncated header: 0 bytes"])
    }

    @Test(arguments: [2, 8, 20, 23])
    func truncatedHeader(length: Int) throws {
        let (bytes, _, _) = try Self.kernel()
        let error = expectFormatError(Array(bytes[0..<length]))
        expectMessage(error, contains: [".BTF+0x0", "truncated header: \(length) bytes, need 24"])
    }

    @Test func badMagic() throws {
        var (bytes, _, _) = try Self.kernel()
        bytes[0] = 0x7f
        bytes[1] = 0x45
        let error = expectFormatError(bytes)
        expectMessage(error, contains: [".BTF+0x0", "bad magic 0x457f"])
    }

    @Test func sectionNameUsedInLocations() throws {
        var (bytes, _, _) = try Self.kernel()
        bytes[2] = 2
        // Version 2 is a kernel rule (libbpf reads any version): an error in strict mode only.
        expectMessage(expectFormatError(bytes, section: "", strict: true), contains: ["offset 0x2", "unsupported version 2"])
        expectMessage(expectFormatError(bytes, section: ".BTF", strict: true), contains: [".BTF+0x2", "unsupported version 2"])
        let lenient = try BTF(parsing: bytes, section: "")
        #expect(lenient.warnings.map(\.description) == ["offset 0x2: unsupported version 2 (header-version)"])
    }

    @Test func typeSectionPastTheEnd() throws {
        var (bytes, _, _) = try Self.kernel()
        bytes = Array(bytes[0..<(bytes.count - 100)])
        expectMessage(expectFormatError(bytes), contains: [".BTF+0x", "past the end"])
    }

    @Test func typeNameOffsetOutOfRange() throws {
        var (bytes, btf, layout) = try Self.kernel()
        let id = 1
        bytes.put32(UInt32(layout.stringLength + 3), at: layout.typeOffsets[id], order: btf.order)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: [".BTF+\(hex(layout.typeOffsets[id]))", "type [\(id)]",
                                        "name offset \(layout.stringLength + 3) out of range"])
    }

    @Test func memberNameOffsetOutOfRange() throws {
        var (bytes, btf, layout) = try Self.kernel()
        let id = try #require(btf.ids.first { btf.kind($0) == .struct && btf.vlen($0) > 2 })
        // Member 2's name: header (12 bytes) + two members (12 bytes each).
        bytes.put32(UInt32(layout.stringLength), at: layout.typeOffsets[id.index] + 12 + 24, order: btf.order)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: ["type \(id)", "member 2 name offset \(layout.stringLength) out of range"])
    }

    @Test(arguments: [Kind.ptr, .typedef, .const, .func])
    func referencedTypeIDOutOfRange(kind: Kind) throws {
        var (bytes, btf, layout) = try Self.kernel()
        let id = try #require(btf.ids.first { btf.kind($0) == kind })
        let bad = UInt32(btf.typeCount + 7)
        bytes.put32(bad, at: layout.typeOffsets[id.index] + 8, order: btf.order)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: ["type \(id)", "\(kind) references type [\(bad)] out of range"])
    }

    @Test func memberTypeIDOutOfRange() throws {
        var (bytes, btf, layout) = try Self.kernel()
        let id = try #require(btf.ids.first { btf.kind($0) == .struct && btf.vlen($0) > 0 })
        bytes.put32(UInt32(btf.typeCount), at: layout.typeOffsets[id.index] + 12 + 4, order: btf.order)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: ["type \(id)", "member 0 references type [\(btf.typeCount)] out of range"])
    }

    @Test func vlenPastTheTypeSection() throws {
        var (bytes, btf, layout) = try Self.kernel()
        // The last type whose vlen counts records: no 65535 of them fit in what follows it.
        let id = try #require(btf.ids.reversed().first { btf.kind($0).vlenRecordSize > 0 })
        let offset = layout.typeOffsets[id.index]
        let left = layout.typeEnd - offset - 12
        let kind = btf.kind(id)
        #expect(0xffff * kind.vlenRecordSize > left)
        let info = bytes.get32(at: offset + 4, order: btf.order)
        bytes.put32(info | 0xffff, at: offset + 4, order: btf.order)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: [".BTF+\(hex(offset))", "type \(id)", "\(kind) with vlen 65535",
                                        "\(left) left in type section"])
    }

    @Test func unknownKind() throws {
        var (bytes, btf, layout) = try Self.kernel()
        let offset = layout.typeOffsets[5]
        let info = bytes.get32(at: offset + 4, order: btf.order)
        bytes.put32(info & ~0x1f00_0000 | 25 << 24, at: offset + 4, order: btf.order)
        expectMessage(expectFormatError(bytes), contains: [".BTF+\(hex(offset))", "type [5]", "unknown kind 25"])
    }

    @Test func cyclicTypedefChain() throws {
        var (bytes, btf, layout) = try Self.kernel()
        // typedef A -> typedef B -> ...: point B back at A.
        let a = try #require(btf.ids.first { btf.kind($0) == .typedef && btf.kind(btf.referenced($0)) == .typedef })
        let b = btf.referenced(a)
        bytes.put32(a.rawValue, at: layout.typeOffsets[b.index] + 8, order: btf.order)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: ["typedef chain loops back to itself"])
        #expect(error?.location == "type \(a)" || error?.location == "type \(b)")
    }

    @Test func selfReferentialConst() throws {
        var (bytes, btf, layout) = try Self.kernel()
        let id = try #require(btf.ids.first { btf.kind($0) == .const })
        bytes.put32(id.rawValue, at: layout.typeOffsets[id.index] + 8, order: btf.order)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: ["type \(id)", "const chain loops back to itself"])
    }

    @Test func arrayOfItselfLoops() throws {
        var (bytes, btf, layout) = try Self.kernel()
        let id = try #require(btf.ids.first { btf.kind($0) == .array })
        bytes.put32(id.rawValue, at: layout.typeOffsets[id.index] + 12, order: btf.order)
        expectMessage(expectFormatError(bytes), contains: ["type \(id)", "array chain loops back to itself"])
    }

    @Test(arguments: [32, 33, 40])
    func modifierChainDepth(depth: Int) throws {
        var tiny = Tiny().btf
        var last = Tiny.intID
        for _ in 0..<depth {
            last = tiny.append(kind: .const, name: .empty, vlen: 0, kflag: false, sizeOrType: last.rawValue, extra: [])
        }
        let bytes = tiny.serialized()
        if depth <= BTFLimits.maxChainDepth {
            #expect(try BTF(parsing: bytes).typeCount == tiny.typeCount)
        } else {
            expectMessage(expectFormatError(bytes), contains: ["modifier/array chain deeper than 32"])
        }
    }

    @Test func stringSectionWithoutTerminatingNUL() throws {
        var (bytes, _, layout) = try Self.kernel()
        let last = layout.stringStart + layout.stringLength - 1
        bytes[last] = 0x41
        expectMessage(expectFormatError(bytes), contains: [".BTF+\(hex(last))", "not NUL-terminated"])
    }
}
