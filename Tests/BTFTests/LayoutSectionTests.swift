import Foundation
import Testing

import BTF
import TestSupport

/// BTF in the 2026 format (Linux 7.1, pahole ≥ 1.31): a 32-byte header with `layout_off` and
/// `layout_len`, a layout section between the types and the strings, and types of kinds btfgen
/// does not know. The files are made at test time from the smallest test kernel by
/// `scripts/make-kernel-variants.py`.
@Suite struct LayoutSectionTests {
    static func kernel() throws -> (name: String, entry: KernelCache.Entry) {
        guard let name = TestEnv.smallestKernel else {
            throw TestFailure("no test kernels in \(TestEnv.kernelsDir): run `make testdata`")
        }
        return (name, try KernelCache.load(name))
    }

    @Test func kernelWithLayoutSectionRoundTrips() throws {
        let (name, k) = try Self.kernel()
        let bytes = try kernelVariant(name)
        #expect(bytes.get32(at: 4, order: .little) == 32)
        let btf = try BTF(parsing: bytes, strict: true)
        #expect(btf.headerLength == 32)
        #expect(btf.layoutSection == KindLayout.known)
        #expect(btf.unknownKindCount == 0)
        #expect(btf.warnings.isEmpty)
        expectSameTypes(btf, k.btf)
        expectSameBytes(btf.serialized(), bytes, "2026 format written back")
        #expect(btf.serializedSize == bytes.count)

        // What trimmed output carries: a 24-byte header and no layout section.
        var old = btf
        old.headerLength = 24
        expectSameBytes(old.serialized(), k.bytes, "written with a 24-byte header")
        var noLayout = btf
        try noLayout.setLayoutSection(nil)
        let plain32 = noLayout.serialized()
        #expect(plain32.get32(at: 24, order: .little) == 0 && plain32.get32(at: 28, order: .little) == 0)
        expectSameTypes(try BTF(parsing: plain32, strict: true), k.btf)
    }

    @Test func bigEndianKernelWithLayoutSectionRoundTrips() throws {
        let (name, k) = try Self.kernel()
        let big = try BTF(parsing: try kernelVariant(name)).serialized(order: .big)
        let btf = try BTF(parsing: big, strict: true)
        #expect(btf.order == .big)
        #expect(btf.layoutSection == KindLayout.known)
        expectSameTypes(btf, k.btf)
        expectSameBytes(btf.serialized(), big, "big-endian 2026 format written back")
    }

    /// libbpf 1.1.2 ignores the header past `str_len`: it reads a little-endian 2026 file.
    @Test func libbpfReadsTheKernelWithLayoutSection() throws {
        let (name, k) = try Self.kernel()
        try withTempDir { dir in
            let path = dir + "/k2026.btf"
            try Data(try kernelVariant(name)).write(to: URL(fileURLWithPath: path))
            let out = try runJudge(["parse", path])
            #expect(out.status == 0, "libbpf-judge parse failed: \(out.stderr)")
            #expect(out.stdout == "types \(k.btf.typeCount - 1)\nendian little\n")
        }
    }

    /// A type of kind 25, which no one knows yet, stepped over with its layout entry (4 bytes,
    /// then 8 per vlen entry): kept, written back, and `kind` says `.void` for it.
    @Test(arguments: [false, true])
    func unknownKindIsSkippedWithTheLayoutSection(referenced: Bool) throws {
        let (name, k) = try Self.kernel()
        let bytes = try kernelVariant(name, ["--unknown-kind", "25"] + (referenced ? ["--reference"] : []))
        let btf = try BTF(parsing: bytes, strict: true)
        let unknown = TypeID(UInt32(k.btf.typeCount))
        #expect(btf.typeCount == k.btf.typeCount + (referenced ? 2 : 1))
        #expect(btf.unknownKindCount == 1)
        #expect(btf.layoutSection?.count == 26)
        #expect(btf.layoutSection?[25] == KindLayout(infoSize: 4, elementSize: 8))
        #expect(!btf.isKnownKind(unknown))
        #expect(btf.kindValue(unknown) == 25)
        #expect(btf.kind(unknown) == .void)
        #expect(btf.kinds[unknown.index] == 0)
        #expect(btf.vlen(unknown) == 2)
        #expect(Array(btf.extraWords(unknown)) == [0x1111_1111, 1, 2, 3, 4])
        if referenced {
            let typedef = TypeID(unknown.rawValue + 1)
            #expect(btf.kind(typedef) == .typedef)
            #expect(btf.referenced(typedef) == unknown)
            #expect(btf.name(typedef) == "btfgen_unknown_t")
        }
        for id in k.btf.ids.prefix(1000) { #expect(btf.kind(id) == k.btf.kind(id)) }
        expectSameBytes(btf.serialized(), bytes, "unknown kind written back")
        expectSameBytes(btf.serialized(order: .big), try BTF(parsing: btf.serialized(order: .big)).serialized(),
                        "unknown kind, big-endian, written back")
        try btf.validate(strict: true)
        // Its size comes from the layout section, which can no longer be taken away.
        var copy = btf
        #expect(throws: FormatError.self) { try copy.setLayoutSection(nil) }
        #expect(throws: FormatError.self) { try copy.setLayoutSection(KindLayout.known) }
        try copy.setLayoutSection(btf.layoutSection)
    }

    /// Without a layout entry for it, an unknown kind is an error at its offset, as in libbpf.
    @Test func unknownKindWithoutLayoutEntryIsAnError() throws {
        let (name, _) = try Self.kernel()
        var bytes = try kernelVariant(name, ["--unknown-kind", "25"])
        // Shrink the layout section to kinds 0..19: kind 25 is no longer described.
        let strOff = Int(bytes.get32(at: 16, order: .little)), layoutOff = Int(bytes.get32(at: 24, order: .little))
        bytes.removeSubrange((32 + layoutOff + 80)..<(32 + strOff))
        bytes.put32(80, at: 28, order: .little)
        bytes.put32(UInt32(layoutOff + 80), at: 16, order: .little)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: ["type [", "unknown kind 25"])
        #expect(error?.rule == .unknownKind)
    }

    /// The info word's kind is 7 bits and vlen 24 bits, with or without a layout section: a
    /// kind value of 36 is not struct (4), a vlen of 0x10001 is not 1.
    @Test func kindAndVlenUseTheWideMasks() throws {
        let (_, k) = try Self.kernel()
        let layout = RawBTFLayout(k.bytes, k.btf)
        // The last one-member struct: 65537 members do not fit in what follows it.
        let id = try #require(k.btf.ids.reversed().first { k.btf.kind($0) == .struct && k.btf.vlen($0) == 1 })
        let offset = layout.typeOffsets[id.index]
        let info = k.bytes.get32(at: offset + 4, order: k.btf.order)
        var kind36 = k.bytes
        kind36.put32(info | 0x2000_0000, at: offset + 4, order: k.btf.order)
        expectMessage(expectFormatError(kind36), contains: ["type \(id)", "unknown kind 36"])
        var vlenWide = k.bytes
        vlenWide.put32(info | 0x1_0000, at: offset + 4, order: k.btf.order)
        expectMessage(expectFormatError(vlenWide), contains: ["type \(id)", "with vlen 65537"])
    }

    /// The layout section is checked as the kernel's `btf_parse_layout_sec` checks it.
    @Test(arguments: [
        ("unaligned", 24, UInt32(2), 24, "layout section offset 2 not 4-byte aligned"),
        ("partial entry", 28, UInt32(6), 28, "not a multiple of 4"),
        ("past the end", 28, UInt32(0x1000_0000), 28, "past the end"),
        ("over the types", 24, UInt32(4), 24, "layout and type sections overlap"),
        ("over the strings", 28, UInt32(0x1000), 24, "layout and string sections overlap"),
    ])
    func badLayoutSectionIsAnError(what: String, field: Int, value: UInt32, reported: Int, message: String) throws {
        let (name, _) = try Self.kernel()
        var bytes = try kernelVariant(name)
        bytes.put32(value, at: field, order: .little)
        let error = expectFormatError(bytes)
        expectMessage(error, contains: [".BTF+\(hex(reported))", message])
        #expect(error?.rule == .layoutSection, "\(what)")
    }

    /// A BTF built in memory carries a layout section only when given one.
    @Test func builtBTFHasNoLayoutSection() throws {
        var tiny = Tiny().btf
        #expect(tiny.layoutSection == nil)
        #expect(tiny.serialized().get32(at: 4, order: .little) == 24)
        tiny.headerLength = 32
        try tiny.setLayoutSection(KindLayout.known)
        let bytes = tiny.serialized()
        #expect(bytes.get32(at: 24, order: .little) == bytes.get32(at: 12, order: .little))
        #expect(bytes.get32(at: 28, order: .little) == 80)
        let back = try BTF(parsing: bytes, strict: true)
        expectSameTypes(back, tiny)
        #expect(back.layoutSection == KindLayout.known)
    }
}
