import Testing

import BTF
import TestSupport

/// A small BTF built with `BTF.append`:
///
///     [1] INT 'int' size=4 bits=32 signed
///     [2] STRUCT 'pair' size=8 vlen=2: 'a' [1] bit 0, 'b' [1] bit 32
///     [3] PTR -> [2]
///     [4] TYPEDEF 'pair_t' -> [2]
///
/// Its string table also holds a section name (`kprobe/x`) and access strings (`0:1`, `0`) for
/// `.BTF.ext` tests.
struct Tiny {
    var btf: BTF
    var sectionName: StringOffset
    var access01: StringOffset
    var access0: StringOffset

    static let intID = TypeID(1), pairID = TypeID(2), ptrID = TypeID(3), typedefID = TypeID(4)

    init(order: ByteOrder = .little) {
        var strings = StringTableBuilder()
        var btf = BTF(order: order)
        let int = btf.append(kind: .int, name: strings.add("int"), vlen: 0, kflag: false, sizeOrType: 4,
                             extra: [UInt32(1) << 24 | 32])
        let a = strings.add("a"), b = strings.add("b")
        let pair = btf.append(kind: .struct, name: strings.add("pair"), vlen: 2, kflag: false, sizeOrType: 8,
                              extra: [a.rawValue, int.rawValue, 0, b.rawValue, int.rawValue, 32])
        btf.append(kind: .ptr, name: .empty, vlen: 0, kflag: false, sizeOrType: pair.rawValue, extra: [])
        btf.append(kind: .typedef, name: strings.add("pair_t"), vlen: 0, kflag: false, sizeOrType: pair.rawValue, extra: [])
        sectionName = strings.add("kprobe/x")
        access01 = strings.add("0:1")
        access0 = strings.add("0")
        btf.setStrings(strings.bytes)
        self.btf = btf
    }
}

/// One `struct bpf_core_relo` for `makeBTFExt`.
struct RawRelo {
    var insnOffset: UInt32
    var type: UInt32
    var access: UInt32
    var kind: UInt32
}

/// A `.BTF.ext` with only a CO-RE subsection: a 32-byte header, then the record size and one
/// group of records for `section`. Records longer than 16 bytes are zero-padded.
func makeBTFExt(section: StringOffset, records: [RawRelo], recordSize: UInt32 = 16,
                order: ByteOrder = .little) -> [UInt8] {
    var body = ByteWriter(order: order)
    body.u32(recordSize)
    body.u32(section.rawValue)
    body.u32(UInt32(records.count))
    for r in records {
        body.u32(r.insnOffset)
        body.u32(r.type)
        body.u32(r.access)
        body.u32(r.kind)
        for _ in 0..<max(0, Int(recordSize) - 16) { body.u8(0) }
    }
    var w = ByteWriter(order: order)
    w.u16(btfMagic)
    w.u8(1)
    w.u8(0)
    w.u32(32)                        // hdr_len
    w.u32(0); w.u32(0)               // func_info off, len
    w.u32(0); w.u32(0)               // line_info off, len
    w.u32(0); w.u32(UInt32(body.bytes.count)) // core_relo off, len
    w.append(body.bytes)
    return w.bytes
}

/// Parses `.BTF.ext` bytes expecting a `FormatError`, and returns it.
func expectExtError(_ bytes: [UInt8], btf: BTF, sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
    do {
        _ = try BTFExt(parsing: bytes, btf: btf)
        Issue.record("parsed without error", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}
