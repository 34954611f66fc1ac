import Testing

import BTF
import TestSupport

/// `.BTF.ext` CO-RE records against the small constructed BTF (`Tiny`); the fixture objects'
/// real `.BTF.ext` sections are tested in BPFObjectTests.
@Suite struct ExtTests {
    static func relos(_ t: Tiny) -> [RawRelo] {
        [RawRelo(insnOffset: 0, type: Tiny.pairID.rawValue, access: t.access01.rawValue,
                 kind: RelocationKind.fieldByteOffset.rawValue),
         RawRelo(insnOffset: 16, type: Tiny.typedefID.rawValue, access: t.access0.rawValue,
                 kind: RelocationKind.typeExists.rawValue)]
    }

    @Test(arguments: [ByteOrder.little, .big], [UInt32(16), 20, 32])
    func parsesCORERecords(order: ByteOrder, recordSize: UInt32) throws {
        let t = Tiny(order: order)
        let bytes = makeBTFExt(section: t.sectionName, records: Self.relos(t), recordSize: recordSize, order: order)
        let ext = try BTFExt(parsing: bytes, btf: t.btf)
        #expect(ext.coreRelocationRecordSize == Int(recordSize))
        #expect(ext.coreRelocationCount == 2)
        #expect(ext.funcInfo.isEmpty && ext.lineInfo.isEmpty)
        let group = try #require(ext.coreRelocations.first)
        #expect(t.btf.string(at: group.sectionName) == "kprobe/x")
        #expect(group.records.map(\.insnOffset) == [0, 16])
        #expect(group.records.map(\.type) == [Tiny.pairID, Tiny.typedefID])
        #expect(group.records.map(\.accessString) == [t.access01, t.access0])
        #expect(group.records.map(\.kind) == [.fieldByteOffset, .typeExists])
    }

    @Test(arguments: [UInt32(0), 8, 12, 18, 22])
    func wrongRecordSizeIsRejected(recordSize: UInt32) {
        let t = Tiny()
        let bytes = makeBTFExt(section: t.sectionName, records: Self.relos(t), recordSize: recordSize)
        let error = expectExtError(bytes, btf: t.btf)
        // The record size is the first word of the subsection, right after the 32-byte header.
        expectMessage(error, contains: [".BTF.ext+0x20", "core_relo: record size \(recordSize) invalid"])
    }

    @Test func recordTypeIDOutOfRange() {
        let t = Tiny()
        var relos = Self.relos(t)
        relos[1].type = 99
        let error = expectExtError(makeBTFExt(section: t.sectionName, records: relos), btf: t.btf)
        // Header 32 + record size 4 + group header 8 + record #0 16, then the type field at +4.
        expectMessage(error, contains: [".BTF.ext+\(hex(32 + 4 + 8 + 16 + 4))", "relo #1: type [99] out of range"])
    }

    @Test func recordTypeIDJustPastTheLastType() {
        let t = Tiny()
        var relos = Self.relos(t)
        relos[0].type = UInt32(t.btf.typeCount)
        let error = expectExtError(makeBTFExt(section: t.sectionName, records: relos), btf: t.btf)
        expectMessage(error, contains: [".BTF.ext+0x30", "relo #0: type [\(t.btf.typeCount)] out of range"])
    }

    @Test func accessStringOutOfRange() {
        let t = Tiny()
        var relos = Self.relos(t)
        relos[0].access = UInt32(t.btf.strings.count)
        let error = expectExtError(makeBTFExt(section: t.sectionName, records: relos), btf: t.btf)
        expectMessage(error, contains: [".BTF.ext+0x34", "relo #0: access string offset \(t.btf.strings.count) out of range"])
    }

    @Test func unknownRelocationKind() {
        let t = Tiny()
        var relos = Self.relos(t)
        relos[1].kind = 13
        let error = expectExtError(makeBTFExt(section: t.sectionName, records: relos), btf: t.btf)
        expectMessage(error, contains: [".BTF.ext+\(hex(32 + 4 + 8 + 16 + 12))", "relo #1: unknown kind 13"])
    }

    @Test func sectionNameOutOfRange() {
        let t = Tiny()
        let bytes = makeBTFExt(section: StringOffset(UInt32(t.btf.strings.count + 10)), records: Self.relos(t))
        expectMessage(expectExtError(bytes, btf: t.btf), contains: [".BTF.ext+0x24", "section name offset"])
    }

    @Test func recordCountPastTheSubsection() {
        let t = Tiny()
        var bytes = makeBTFExt(section: t.sectionName, records: Self.relos(t))
        bytes.put32(3, at: 32 + 4 + 4, order: .little)
        expectMessage(expectExtError(bytes, btf: t.btf), contains: [".BTF.ext+0x28", "3 records of 16 bytes past the end"])
    }

    @Test func badMagicAndTruncation() {
        let t = Tiny()
        var bytes = makeBTFExt(section: t.sectionName, records: Self.relos(t))
        expectMessage(expectExtError(Array(bytes[0..<6]), btf: t.btf), contains: [".BTF.ext+0x0", "truncated header"])
        bytes[0] = 0
        expectMessage(expectExtError(bytes, btf: t.btf), contains: [".BTF.ext+0x0", "bad magic"])
    }

    @Test(arguments: RelocationKind.allCases)
    func relocationKindsPrintAsLibbpf(kind: RelocationKind) {
        let libbpf = ["byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
                      "local_type_id", "target_type_id", "type_exists", "type_size", "enumval_exists",
                      "enumval_value", "type_matches"]
        #expect(kind.description == libbpf[Int(kind.rawValue)])
    }
}
