/// Limits that keep hostile input from exhausting time or memory.
public enum BTFLimits {
    /// Mirrors libbpf's `BTF_MAX_NR_TYPES`.
    public static let maxTypes = 0x7fff_ffff
    /// Mirrors libbpf's `BTF_MAX_STR_OFFSET`.
    public static let maxStringOffset = 0x7fff_ffff
    /// How far modifier and array chains are followed; the kernel's `MAX_RESOLVE_DEPTH`.
    public static let maxChainDepth = 32
}

public let btfMagic: UInt16 = 0xeb9f

/// Per kind value (0…31): whether it is a known kind, and its extra words (fixed, per vlen entry).
private let kindLayout: [(valid: Bool, fixedWords: UInt8, vlenWords: UInt8)] = (0..<32).map { v in
    guard let k = Kind(rawValue: UInt8(v)), k != .void else { return (false, 0, 0) }
    return (true, UInt8(k.fixedExtraSize / 4), UInt8(k.vlenRecordSize / 4))
}
public let btfHeaderSize = 24

/// Where a BTF blob's sections lie, as its header declares them (offsets from the blob's start).
package struct BTFLayout: Sendable {
    package var order: ByteOrder
    package var headerLength: Int
    package var typeStart: Int
    package var typeLength: Int
    package var stringStart: Int
    package var stringLength: Int
}

extension BTF {
    /// How error messages name a place in a blob: `.BTF+0x18`, or `offset 0x18` for a raw file.
    package static func locator(_ section: String) -> (Int) -> String {
        { offset in section.isEmpty ? "offset \(hex(offset))" : "\(section)+\(hex(offset))" }
    }

    /// Reads and checks the header of a blob of `blobSize` bytes; `header` holds at least its
    /// first `min(blobSize, header length)` bytes.
    package static func layout(header bytes: UnsafeRawBufferPointer, blobSize: Int,
                               at: (Int) -> String) throws(FormatError) -> BTFLayout {
        guard blobSize >= btfHeaderSize, bytes.count >= btfHeaderSize else {
            throw FormatError(at(0), "truncated header: \(blobSize) bytes, need \(btfHeaderSize)")
        }
        let probe = ByteReader(bytes, order: .little)
        let order: ByteOrder
        switch probe.u16(0)! {
        case btfMagic: order = .little
        case btfMagic.byteSwapped: order = .big
        case let m: throw FormatError(at(0), "bad magic 0x\(String(m, radix: 16)), want 0xeb9f")
        }
        let r = ByteReader(bytes, order: order)
        let version = r.u8(2)!, flags = r.u8(3)!
        guard version == 1 else { throw FormatError(at(2), "unsupported version \(version)") }
        guard flags == 0 else { throw FormatError(at(3), "unsupported flags 0x\(String(flags, radix: 16))") }
        let hdrLen = Int(r.u32(4)!)
        guard hdrLen >= btfHeaderSize else { throw FormatError(at(4), "header length \(hdrLen) shorter than \(btfHeaderSize)") }
        guard hdrLen <= blobSize else {
            throw FormatError(at(4), "header length \(hdrLen) past the end (\(blobSize) bytes)")
        }
        precondition(hdrLen <= bytes.count, "BTF.layout needs the whole header")
        // The kernel accepts a longer header only when the fields it does not know are zero.
        for i in btfHeaderSize..<hdrLen where r.u8(i)! != 0 {
            throw FormatError(at(i), "unsupported non-zero header field (header length \(hdrLen))")
        }
        let typeOff = Int(r.u32(8)!), typeLen = Int(r.u32(12)!)
        let strOff = Int(r.u32(16)!), strLen = Int(r.u32(20)!)
        let body = blobSize - hdrLen
        guard typeOff % 4 == 0 else { throw FormatError(at(8), "type section offset \(typeOff) not 4-byte aligned") }
        guard typeLen % 4 == 0 else { throw FormatError(at(12), "type section length \(typeLen) not a multiple of 4") }
        guard typeOff <= body, typeLen <= body - typeOff else {
            throw FormatError(at(12), "type section \(hex(typeOff))+\(typeLen) past the end (\(body) bytes after header)")
        }
        guard strOff <= body, strLen <= body - strOff else {
            throw FormatError(at(20), "string section \(hex(strOff))+\(strLen) past the end (\(body) bytes after header)")
        }
        guard strLen <= BTFLimits.maxStringOffset else { throw FormatError(at(20), "string section too large (\(strLen) bytes)") }
        guard typeOff + typeLen <= strOff || strOff + strLen <= typeOff else {
            throw FormatError(at(16), "type and string sections overlap")
        }
        return BTFLayout(order: order, headerLength: hdrLen, typeStart: hdrLen + typeOff, typeLength: typeLen,
                         stringStart: hdrLen + strOff, stringLength: strLen)
    }

    /// Parses and validates a BTF blob (a raw `.btf` file or an ELF `.BTF` section).
    ///
    /// Validation follows libbpf's `btf_parse_hdr`, `btf_parse_str_sec`, `btf_parse_type_sec` and
    /// `btf_sanity_check`, plus the kernel's rules for header tails and modifier loops: every type
    /// id and string offset in range, known kinds only, counts within the section.
    /// - Parameter section: how error locations name the blob (`.BTF` gives `.BTF+0x18`).
    public init(parsing bytes: UnsafeRawBufferPointer, section: String = ".BTF") throws(FormatError) {
        let at = BTF.locator(section)
        let layout = try BTF.layout(header: bytes, blobSize: bytes.count, at: at)
        // Decode the whole type section into host-order words at once.
        let wordCount = layout.typeLength / 4
        let swap = layout.order != ByteOrder.host
        let words = [UInt32](unsafeUninitializedCapacity: wordCount) { dst, initialized in
            let src = UnsafeRawBufferPointer(rebasing: bytes[layout.typeStart..<(layout.typeStart + layout.typeLength)])
            UnsafeMutableRawBufferPointer(dst).copyMemory(from: src)
            if swap { for i in 0..<wordCount { dst[i] = dst[i].byteSwapped } }
            initialized = wordCount
        }
        let strings = Array(UnsafeRawBufferPointer(rebasing: bytes[layout.stringStart..<(layout.stringStart + layout.stringLength)]))
        try self.init(layout: layout, words: words, strings: strings, at: at)
    }

    /// Parses and validates the sections of a blob whose header gave `layout`: `words` is the
    /// type section in host order, `strings` the string section.
    package init(layout sections: BTFLayout, words: [UInt32], strings: [UInt8], at: (Int) -> String) throws(FormatError) {
        let strStart = sections.stringStart, strLen = sections.stringLength
        guard strLen > 0, strings[0] == 0 else {
            throw FormatError(at(strStart), "string section must start with an empty string")
        }
        guard strings[strLen - 1] == 0 else {
            throw FormatError(at(strStart + strLen - 1), "string section is not NUL-terminated")
        }
        // One pass over the words indexes the types and runs the quick validity check of
        // `validate()`. The table is allocated for the most types the section can hold (a type
        // is at least 12 bytes); only the pages written are ever touched. Type ids are checked
        // against the final count through the largest id referenced; a func naming a later type
        // is checked once the table is full.
        let capacity = words.count / 3 + 1
        var pass = IndexPass()
        var kinds: [UInt8] = []
        let records = [Record](unsafeUninitializedCapacity: capacity) { recs, initialized in
            // Filled alongside `records`: only the pages written are touched.
            kinds = [UInt8](unsafeUninitializedCapacity: capacity) { kindBytes, kindsInitialized in
                words.withUnsafeBufferPointer { wp in
                    pass = BTF.indexTypes(wp, into: recs, kinds: kindBytes, strLen: strLen, typeStart: sections.typeStart, at: at)
                }
                kindsInitialized = pass.typeCount + 1
            }
            initialized = pass.typeCount + 1
        }
        if let failure = pass.failure { throw failure }
        var looksValid = pass.looksValid && Int(pass.maxRef) < records.count
        for i in pass.laterFuncs where looksValid {
            let target = Int(records[i].sizeOrType)
            looksValid = target < records.count && records[target].kindValue == Kind.funcProto.rawValue
        }
        self.init(order: sections.order, headerLength: UInt32(sections.headerLength), records: records, kinds: kinds,
                  words: words, strings: strings, memberTotal: pass.members)
        try validate(quickCheckPassed: looksValid)
    }

    /// What the index pass found.
    private struct IndexPass {
        var typeCount = 0
        /// Whether every type passed `typeLooksValid` (funcs naming later types aside).
        var looksValid = true
        /// The largest type id any type refers to.
        var maxRef: UInt32 = 0
        /// Funcs naming a type not yet indexed when they were: checked once the table is full.
        var laterFuncs: [Int] = []
        /// Struct and union members, over all types.
        var members = 0
        var failure: FormatError?
    }

    /// The index pass: writes each type's record and kind (ids from 1; slot 0 is void's) and
    /// runs the quick validity check, with its state in locals so that it stays in registers.
    private static func indexTypes(_ wp: UnsafeBufferPointer<UInt32>, into recs: UnsafeMutableBufferPointer<Record>,
                                   kinds kindBytes: UnsafeMutableBufferPointer<UInt8>, strLen: Int, typeStart: Int,
                                   at: (Int) -> String) -> IndexPass {
        recs[0] = Record(nameOffset: 0, info: 0, sizeOrType: 0, firstWord: 0)
        kindBytes[0] = 0
        let wordCount = wp.count
        let strLimit = UInt32(strLen)
        // Plain locals, captured by no closure, so that they stay in registers.
        let layout = kindLayout
        var typeCount = 0
        var ok = true
        var maxRef: UInt32 = 0
        var laterFuncs: [Int] = []
        var members = 0
        var failure: FormatError?
        var w = 0
        while w < wordCount {
            let id = typeCount &+ 1
            guard wordCount &- w >= 3 else {
                failure = FormatError(at(typeStart + w * 4), "type [\(id)]: truncated header (\((wordCount - w) * 4) bytes left in type section)")
                break
            }
            let nameOff = wp[w], info = wp[w &+ 1]
            let kindValue = Int((info >> 24) & 0x1f)
            let perKind = layout[kindValue]
            guard perKind.valid else {
                failure = FormatError(at(typeStart + w * 4), "type [\(id)]: unknown kind \(kindValue)")
                break
            }
            let extraWords = Int(perKind.fixedWords) &+ Int(info & 0xffff) &* Int(perKind.vlenWords)
            guard extraWords <= wordCount &- w &- 3, nameOff < strLimit, id <= BTFLimits.maxTypes else {
                let pos = typeStart + w * 4
                if id > BTFLimits.maxTypes {
                    failure = FormatError(at(pos), "too many types")
                } else if nameOff >= strLimit {
                    failure = FormatError(at(pos), "type [\(id)]: name offset \(nameOff) out of range (string section is \(strLen) bytes)")
                } else {
                    let kind = Kind(rawValue: UInt8(kindValue))!
                    failure = FormatError(at(pos), "type [\(id)]: \(kind) with vlen \(info & 0xffff) needs \(extraWords * 4) bytes, \((wordCount - w - 3) * 4) left in type section")
                }
                break
            }
            let r = Record(nameOffset: nameOff, info: info, sizeOrType: wp[w &+ 2], firstWord: UInt32(truncatingIfNeeded: w &+ 3))
            recs[id] = r
            kindBytes[id] = UInt8(truncatingIfNeeded: kindValue)
            typeCount = id
            if kindValue == Int(Kind.struct.rawValue) || kindValue == Int(Kind.union.rawValue) { members &+= r.vlen }
            if ok {
                if kindValue == Int(Kind.func.rawValue) && Int(r.sizeOrType) >= id {
                    laterFuncs.append(id)
                }
                // A later type's record is not written yet: its check waits in laterFuncs.
                // The kind byte, not the record: funcs are almost half of a kernel's types, and
                // the kind table (a byte per type) stays in cache where the records do not.
                ok = BTF.typeLooksValid(r, wp, strLen: strLimit, maxRef: &maxRef) {
                    $0 >= id ? Kind.funcProto.rawValue : kindBytes[$0]
                }
            }
            w &+= 3 &+ extraWords
        }
        return IndexPass(typeCount: typeCount, looksValid: ok, maxRef: maxRef, laterFuncs: laterFuncs, members: members,
                         failure: failure)
    }

    /// Parses and validates a BTF blob held in an array.
    public init(parsing bytes: [UInt8], section: String = ".BTF") throws(FormatError) {
        let result: Result<BTF, FormatError> = bytes.withUnsafeBytes { buf in
            do throws(FormatError) { return .success(try BTF(parsing: buf, section: section)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// Checks what the index pass cannot: references between types, names, sizes, loops.
    ///
    /// Mirrors libbpf `btf_validate_type` (ids and string offsets) and part of the kernel's
    /// `btf_check_all_metas` (int encodings, member offsets, modifier loops).
    public func validate() throws(FormatError) {
        try validate(quickCheckPassed: allTypesLookValid())
    }

    /// `validate()`, given the outcome of the quick boolean pass (the parser runs it while it
    /// indexes the types). The common case, valid input, passes it; the checks below run only
    /// to say what is wrong (and are what defines validity).
    private func validate(quickCheckPassed: Bool) throws(FormatError) {
        if quickCheckPassed {
            try checkChains()
            try checkBitfields()
            return
        }
        let count = UInt32(records.count)
        let strLen = UInt32(strings.count)
        func fail(_ id: TypeID, _ message: String) -> FormatError { FormatError("type \(id)", message) }
        func checkRef(_ id: TypeID, _ ref: UInt32, _ what: @autoclosure () -> String) throws(FormatError) {
            guard ref < count else { throw fail(id, "\(what()) references type [\(ref)] out of range (\(count) types)") }
        }
        func checkName(_ id: TypeID, _ off: UInt32, _ what: @autoclosure () -> String) throws(FormatError) {
            guard off < strLen else { throw fail(id, "\(what()) name offset \(off) out of range (string section is \(strLen) bytes)") }
        }
        for raw in 1..<count {
            let id = TypeID(raw)
            let rec = records[Int(raw)]
            let kind = Kind(rawValue: rec.kindValue)!
            let vlen = rec.vlen
            switch kind {
            case .void:
                throw fail(id, "unknown kind 0")
            case .int:
                let enc = intEncoding(id)
                switch rec.sizeOrType {
                case 1, 2, 4, 8, 16: break
                default: throw fail(id, "int size \(rec.sizeOrType) invalid")
                }
                guard enc.bits <= 128, enc.bits > 0, enc.offset + enc.bits <= rec.sizeOrType * 8 else {
                    throw fail(id, "int bits \(enc.bits) at offset \(enc.offset) do not fit \(rec.sizeOrType) bytes")
                }
                guard enc.raw & 0xf800_0000 == 0, enc.raw >> 24 & 0x7 != 0x3 else {
                    throw fail(id, "int encoding 0x\(String(enc.raw >> 24, radix: 16)) invalid")
                }
            case .float:
                switch rec.sizeOrType {
                case 2, 4, 8, 12, 16: break
                default: throw fail(id, "float size \(rec.sizeOrType) invalid")
                }
            case .ptr, .typedef, .volatile, .const, .restrict, .typeTag:
                try checkRef(id, rec.sizeOrType, "\(kind)")
            case .func:
                try checkRef(id, rec.sizeOrType, "func")
                guard Kind(rawValue: records[Int(rec.sizeOrType)].kindValue) == .funcProto else {
                    throw fail(id, "func refers to [\(rec.sizeOrType)], which is not a func_proto")
                }
                guard vlen <= 2 else { throw fail(id, "func linkage \(vlen) invalid") }
            case .var:
                try checkRef(id, rec.sizeOrType, "var")
                guard rec.sizeOrType != 0 else { throw fail(id, "var of type void") }
            case .declTag:
                try checkRef(id, rec.sizeOrType, "decl_tag")
                let component = Int32(bitPattern: extraWord(id))
                guard component >= -1 else { throw fail(id, "decl_tag component index \(component) invalid") }
            case .array:
                let a = array(id)
                try checkRef(id, a.element.rawValue, "array element")
                try checkRef(id, a.index.rawValue, "array index")
            case .struct, .union:
                let sizeBits = UInt64(rec.sizeOrType) * 8
                let first = Int(rec.firstWord)
                let kflag = rec.kflag
                for i in 0..<vlen {
                    let base = first + 3 * i
                    let nameOff = words[base], type = words[base + 1], offset = words[base + 2]
                    let bitOffset = kflag ? offset & 0xff_ffff : offset
                    let bitfieldSize = kflag ? offset >> 24 : 0
                    if nameOff >= strLen { try checkName(id, nameOff, "member \(i)") }
                    if type >= count { try checkRef(id, type, "member \(i)") }
                    guard UInt64(bitOffset) + UInt64(bitfieldSize) <= sizeBits else {
                        throw fail(id, "member \(i) at bit \(bitOffset) lies past the \(kind) size \(rec.sizeOrType)")
                    }
                }
            case .enum, .enum64:
                if kind == .enum {
                    switch rec.sizeOrType {
                    case 1, 2, 4, 8: break
                    default: throw fail(id, "enum size \(rec.sizeOrType) invalid")
                    }
                }
                let stride = kind == .enum64 ? 3 : 2
                let first = Int(rec.firstWord)
                for i in 0..<vlen where words[first + stride * i] >= strLen {
                    try checkName(id, words[first + stride * i], "enumerator \(i)")
                }
            case .fwd:
                guard vlen == 0 else { throw fail(id, "fwd with vlen \(vlen)") }
            case .funcProto:
                try checkRef(id, rec.sizeOrType, "func_proto return")
                for i in 0..<vlen {
                    let p = param(id, i)
                    try checkName(id, p.name.rawValue, "param \(i)")
                    try checkRef(id, p.type.rawValue, "param \(i)")
                }
            case .datasec:
                for i in 0..<vlen {
                    let v = sectionVar(id, i)
                    try checkRef(id, v.type.rawValue, "datasec entry \(i)")
                }
            }
            if !kind.isComposite && !kind.isEnum && kind != .funcProto && kind != .datasec && kind != .func && vlen != 0 {
                throw fail(id, "\(kind) with non-zero vlen \(vlen)")
            }
        }
        try checkChains()
        try checkBitfields()
    }

    /// Rejects bitfield members whose type (modifiers and typedefs skipped) is not an int or an
    /// enum. Mirrors the kernel's `btf_generic_check_kflag_member` ("Invalid member
    /// bitfield_size"). libbpf would take such a member's byte size from the type's size field,
    /// which for a pointer holds a type id: a trimmed, renumbered BTF would relocate differently.
    /// Runs after `checkChains`, so every modifier chain is known to end.
    private func checkBitfields() throws(FormatError) {
        let composites: UInt32 = 1 << Kind.struct.rawValue | 1 << Kind.union.rawValue
        let withBitfields = kinds.withUnsafeBufferPointer { kinds in
            records.withUnsafeBufferPointer { recs in
                (1..<recs.count).filter { composites >> (kinds[$0] & 0x1f) & 1 != 0 && recs[$0].kflag }
            }
        }
        for index in withBitfields {
            let r = records[index]
            let base = Int(r.firstWord)
            for i in 0..<r.vlen where words[base + 3 * i + 2] >> 24 != 0 {
                var t = Int(words[base + 3 * i + 1])
                var k = records[t].kindValue
                while k == Kind.typedef.rawValue || k == Kind.const.rawValue || k == Kind.volatile.rawValue
                        || k == Kind.restrict.rawValue || k == Kind.typeTag.rawValue {
                    t = Int(records[t].sizeOrType)
                    k = records[t].kindValue
                }
                guard k == Kind.int.rawValue || k == Kind.enum.rawValue || k == Kind.enum64.rawValue else {
                    let kind = Kind(rawValue: k).map { "\($0)" } ?? "void"
                    throw FormatError("type [\(index)]", "member \(i) is a bitfield of \(kind) [\(t)]: only ints and enums can be bitfields")
                }
            }
        }
    }

    /// The checks of `validate()` as one tight pass over the raw words, answering only yes or no.
    private func allTypesLookValid() -> Bool {
        let strLen = UInt32(strings.count)
        var maxRef: UInt32 = 0
        return records.withUnsafeBufferPointer { recs in
            words.withUnsafeBufferPointer { w in
                for i in 1..<recs.count where !BTF.typeLooksValid(recs[i], w, strLen: strLen, maxRef: &maxRef,
                                                                  kindOf: { $0 < recs.count ? recs[$0].kindValue : 0 }) {
                    return false
                }
                return Int(maxRef) < recs.count
            }
        }
    }

    /// Whether one type passes every check of `validate()` that looks at it alone: string
    /// offsets below `strLen`, sizes, encodings, member offsets, vlen. The type ids it refers to
    /// raise `maxRef`, which the caller compares with the type count. `kindOf` gives the kind of
    /// the type a func refers to (0 when there is none).
    @inline(__always)
    static func typeLooksValid(_ r: Record, _ w: UnsafeBufferPointer<UInt32>, strLen: UInt32, maxRef: inout UInt32,
                               kindOf: (Int) -> UInt8) -> Bool {
        let k = r.kindValue
        let vlen = r.vlen
        let first = Int(r.firstWord)
        let st = r.sizeOrType
        switch k {
        case 4, 5: // struct, union
            let sizeBits = UInt64(st) * 8
            var base = first
            for _ in 0..<vlen {
                let offset = w[base + 2]
                let bitOffset = r.kflag ? offset & 0xff_ffff : offset
                let bitfieldSize = r.kflag ? offset >> 24 : 0
                maxRef = max(maxRef, w[base + 1])
                if w[base] >= strLen || UInt64(bitOffset) + UInt64(bitfieldSize) > sizeBits { return false }
                base += 3
            }
        case 6, 19: // enum, enum64
            if k == 6 && st != 1 && st != 2 && st != 4 && st != 8 { return false }
            let stride = k == 19 ? 3 : 2
            var base = first
            for _ in 0..<vlen {
                if w[base] >= strLen { return false }
                base += stride
            }
        case 13: // func_proto
            maxRef = max(maxRef, st)
            var base = first
            for _ in 0..<vlen {
                maxRef = max(maxRef, w[base + 1])
                if w[base] >= strLen { return false }
                base += 2
            }
        case 2, 8, 9, 10, 11, 18: // ptr, typedef, volatile, const, restrict, type_tag
            maxRef = max(maxRef, st)
            if vlen != 0 { return false }
        case 12: // func
            maxRef = max(maxRef, st)
            if kindOf(Int(st)) != 13 || vlen > 2 { return false }
        case 1: // int
            let enc = w[first]
            let bits = enc & 0xff, off = (enc >> 16) & 0xff
            if (st != 1 && st != 2 && st != 4 && st != 8 && st != 16) || bits == 0 || bits > 128
                || off + bits > st * 8 || enc & 0xf800_0000 != 0 || (enc >> 24) & 7 == 3 || vlen != 0 { return false }
        case 3: // array
            maxRef = max(maxRef, w[first], w[first + 1])
            if vlen != 0 { return false }
        case 7: // fwd
            if vlen != 0 { return false }
        case 14: // var
            maxRef = max(maxRef, st)
            if st == 0 || vlen != 0 { return false }
        case 15: // datasec
            var base = first
            for _ in 0..<vlen {
                maxRef = max(maxRef, w[base])
                base += 3
            }
        case 16: // float
            if (st != 2 && st != 4 && st != 8 && st != 12 && st != 16) || vlen != 0 { return false }
        case 17: // decl_tag
            maxRef = max(maxRef, st)
            if Int32(bitPattern: w[first]) < -1 || vlen != 0 { return false }
        default:
            return false
        }
        return true
    }

    /// Rejects chains the kernel's resolver refuses: modifier/array chains and modifier/pointer
    /// chains that loop or run deeper than it resolves. A pointer to a struct ends a pointer
    /// chain (`struct node { struct node *next; }` is fine); a pointer to itself, or to a typedef
    /// of itself, is the kernel's "Loop detected".
    ///
    /// One scan over the types; each chain length is memoised (per relation) so every type is
    /// walked once. Modifier/pointer chains are walked from pointers only: chains of modifiers
    /// alone are the modifier/array walks'.
    private func checkChains() throws(FormatError) {
        // Chain lengths from each type, one array per relation; -1 while being walked.
        var arrayDepth = [Int8](repeating: 0, count: records.count)
        var pointerDepth = [Int8](repeating: 0, count: records.count)
        let failure: FormatError? = records.withUnsafeBufferPointer { recs in
            kinds.withUnsafeBufferPointer { kinds in
                words.withUnsafeBufferPointer { words in
                    arrayDepth.withUnsafeMutableBufferPointer { arrayDepth in
                        pointerDepth.withUnsafeMutableBufferPointer { pointerDepth in
                            BTF.firstBadChain(recs, kinds, words, arrayDepth: arrayDepth, pointerDepth: pointerDepth)
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
    }

    /// The work of `checkChains`: walks the chains from every modifier, array and pointer in id
    /// order and returns what is wrong with the first bad one.
    private static func firstBadChain(_ recs: UnsafeBufferPointer<Record>, _ kinds: UnsafeBufferPointer<UInt8>,
                                      _ words: UnsafeBufferPointer<UInt32>, arrayDepth: UnsafeMutableBufferPointer<Int8>,
                                      pointerDepth: UnsafeMutableBufferPointer<Int8>) -> FormatError? {
        let modifiers: UInt32 = 1 << Kind.typedef.rawValue | 1 << Kind.const.rawValue | 1 << Kind.volatile.rawValue
            | 1 << Kind.restrict.rawValue | 1 << Kind.typeTag.rawValue
        let ptr: UInt32 = 1 << Kind.ptr.rawValue
        let arrayChain = modifiers | 1 << Kind.array.rawValue, pointerChain = modifiers | ptr
        // The chain being walked; a walk ends by the time it is one longer than the limit.
        var path = [Int](repeating: 0, count: BTFLimits.maxChainDepth + 1)
        /// Walks the chain of `chainKinds` from `start`, recording lengths in `depth`.
        func walk(_ start: Int, _ chainKinds: UInt32, _ depth: UnsafeMutableBufferPointer<Int8>, _ what: String) -> FormatError? {
            var length = 0
            var cur = start
            var base = 0
            while true {
                let k = kinds[cur] & 0x1f
                if cur == 0 || chainKinds >> k & 1 == 0 { base = 0; break }
                if depth[cur] > 0 { base = Int(depth[cur]); break }
                if depth[cur] == -1 {
                    return FormatError("type [\(cur)]", "\(Kind(rawValue: k)!) chain loops back to itself")
                }
                depth[cur] = -1
                guard length < BTFLimits.maxChainDepth else {
                    return FormatError("type [\(start)]", "\(what) chain deeper than \(BTFLimits.maxChainDepth)")
                }
                path[length] = cur
                length += 1
                cur = k == Kind.array.rawValue ? Int(words[Int(recs[cur].firstWord)]) : Int(recs[cur].sizeOrType)
            }
            for i in (0..<length).reversed() {
                let d = base + length - i
                guard d <= BTFLimits.maxChainDepth else {
                    return FormatError("type [\(path[i])]", "\(what) chain deeper than \(BTFLimits.maxChainDepth)")
                }
                depth[path[i]] = Int8(d)
            }
            return nil
        }
        for start in 1..<recs.count {
            let bit: UInt32 = 1 << (kinds[start] & 0x1f)
            if bit & arrayChain != 0 && arrayDepth[start] == 0,
               let failure = walk(start, arrayChain, arrayDepth, "modifier/array") {
                return failure
            }
            if bit & ptr != 0 && pointerDepth[start] == 0,
               let failure = walk(start, pointerChain, pointerDepth, "modifier/pointer") {
                return failure
            }
        }
        return nil
    }
}
