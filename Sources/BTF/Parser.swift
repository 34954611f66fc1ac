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
public let btfHeaderSize = 24

extension BTF {
    /// Parses and validates a BTF blob (a raw `.btf` file or an ELF `.BTF` section).
    ///
    /// Validation follows libbpf's `btf_parse_hdr`, `btf_parse_str_sec`, `btf_parse_type_sec` and
    /// `btf_sanity_check`, plus the kernel's rules for header tails and modifier loops: every type
    /// id and string offset in range, known kinds only, counts within the section.
    /// - Parameter section: how error locations name the blob (`.BTF` gives `.BTF+0x18`).
    public init(parsing bytes: UnsafeRawBufferPointer, section: String = ".BTF") throws(FormatError) {
        func at(_ offset: Int) -> String { section.isEmpty ? "offset \(hex(offset))" : "\(section)+\(hex(offset))" }

        guard bytes.count >= btfHeaderSize else {
            throw FormatError(at(0), "truncated header: \(bytes.count) bytes, need \(btfHeaderSize)")
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
        guard hdrLen <= bytes.count else {
            throw FormatError(at(4), "header length \(hdrLen) past the end (\(bytes.count) bytes)")
        }
        // The kernel accepts a longer header only when the fields it does not know are zero.
        for i in btfHeaderSize..<hdrLen where r.u8(i)! != 0 {
            throw FormatError(at(i), "unsupported non-zero header field (header length \(hdrLen))")
        }
        let typeOff = Int(r.u32(8)!), typeLen = Int(r.u32(12)!)
        let strOff = Int(r.u32(16)!), strLen = Int(r.u32(20)!)
        let body = bytes.count - hdrLen
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
        let strStart = hdrLen + strOff
        guard strLen > 0, r.u8(strStart)! == 0 else {
            throw FormatError(at(strStart), "string section must start with an empty string")
        }
        guard r.u8(strStart + strLen - 1)! == 0 else {
            throw FormatError(at(strStart + strLen - 1), "string section is not NUL-terminated")
        }

        // Pass 1: index the types.
        var records: [Record] = []
        var words: [UInt32] = []
        records.reserveCapacity(typeLen / 24 + 1)
        words.reserveCapacity(typeLen / 6)
        records.append(Record(nameOffset: 0, info: 0, sizeOrType: 0, firstWord: 0))
        var pos = hdrLen + typeOff
        let end = pos + typeLen
        while pos < end {
            let id = records.count
            guard id <= BTFLimits.maxTypes else { throw FormatError(at(pos), "too many types") }
            guard end - pos >= 12 else {
                throw FormatError(at(pos), "type [\(id)]: truncated header (\(end - pos) bytes left in type section)")
            }
            let nameOff = r.u32Unchecked(pos), info = r.u32Unchecked(pos + 4), sizeType = r.u32Unchecked(pos + 8)
            let kindValue = UInt8((info >> 24) & 0x1f)
            guard let kind = Kind(rawValue: kindValue), kind != .void else {
                throw FormatError(at(pos), "type [\(id)]: unknown kind \(kindValue)")
            }
            let vlen = Int(info & 0xffff)
            let extra = kind.fixedExtraSize + vlen * kind.vlenRecordSize
            guard extra <= end - pos - 12 else {
                throw FormatError(at(pos), "type [\(id)]: \(kind) with vlen \(vlen) needs \(extra) bytes, \(end - pos - 12) left in type section")
            }
            guard Int(nameOff) < strLen else {
                throw FormatError(at(pos), "type [\(id)]: name offset \(nameOff) out of range (string section is \(strLen) bytes)")
            }
            records.append(Record(nameOffset: nameOff, info: info, sizeOrType: sizeType, firstWord: UInt32(words.count)))
            var p = pos + 12
            for _ in 0..<(extra / 4) {
                words.append(r.u32Unchecked(p))
                p += 4
            }
            pos = p
        }
        let strings = Array(UnsafeRawBufferPointer(rebasing: bytes[strStart..<(strStart + strLen)]))
        self.init(order: order, headerLength: UInt32(hdrLen), records: records, words: words, strings: strings)
        try validate()
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
        let count = UInt32(records.count)
        let strLen = UInt32(strings.count)
        func fail(_ id: TypeID, _ message: String) -> FormatError { FormatError("type \(id)", message) }
        func checkRef(_ id: TypeID, _ ref: UInt32, _ what: String) throws(FormatError) {
            guard ref < count else { throw fail(id, "\(what) references type [\(ref)] out of range (\(count) types)") }
        }
        func checkName(_ id: TypeID, _ off: UInt32, _ what: String) throws(FormatError) {
            guard off < strLen else { throw fail(id, "\(what) name offset \(off) out of range (string section is \(strLen) bytes)") }
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
                guard [1, 2, 4, 8, 16].contains(rec.sizeOrType) else { throw fail(id, "int size \(rec.sizeOrType) invalid") }
                guard enc.bits <= 128, enc.bits > 0, enc.offset + enc.bits <= rec.sizeOrType * 8 else {
                    throw fail(id, "int bits \(enc.bits) at offset \(enc.offset) do not fit \(rec.sizeOrType) bytes")
                }
                guard enc.raw & 0xf800_0000 == 0, enc.raw >> 24 & 0x7 != 0x3 else {
                    throw fail(id, "int encoding 0x\(String(enc.raw >> 24, radix: 16)) invalid")
                }
            case .float:
                guard [2, 4, 8, 12, 16].contains(rec.sizeOrType) else { throw fail(id, "float size \(rec.sizeOrType) invalid") }
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
                for i in 0..<vlen {
                    let m = member(id, i)
                    try checkName(id, m.name.rawValue, "member \(i)")
                    try checkRef(id, m.type.rawValue, "member \(i)")
                    guard m.bitfieldSize <= 128 else { throw fail(id, "member \(i) bitfield size \(m.bitfieldSize) invalid") }
                    guard UInt64(m.bitOffset) + UInt64(m.bitfieldSize) <= sizeBits else {
                        throw fail(id, "member \(i) at bit \(m.bitOffset) lies past the \(kind) size \(rec.sizeOrType)")
                    }
                }
            case .enum, .enum64:
                if kind == .enum {
                    guard [1, 2, 4, 8].contains(rec.sizeOrType) else { throw fail(id, "enum size \(rec.sizeOrType) invalid") }
                }
                for i in 0..<vlen { try checkName(id, enumValue(id, i).name.rawValue, "enumerator \(i)") }
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
    }

    /// Rejects modifier/array chains that loop or run deeper than the kernel resolves.
    private func checkChains() throws(FormatError) {
        // depth[id]: length of the modifier/array chain starting at id; -1 while being walked.
        var depth = [Int8](repeating: 0, count: records.count)
        for start in 1..<records.count where depth[start] == 0 {
            var path: [Int] = []
            var cur = start
            var base = 0
            while true {
                let k = records[cur].kindValue
                let isChain = k == Kind.typedef.rawValue || k == Kind.const.rawValue || k == Kind.volatile.rawValue
                    || k == Kind.restrict.rawValue || k == Kind.typeTag.rawValue || k == Kind.array.rawValue
                if cur == 0 || !isChain { base = 0; break }
                if depth[cur] > 0 { base = Int(depth[cur]); break }
                if depth[cur] == -1 {
                    throw FormatError("type [\(cur)]", "\(Kind(rawValue: k)!) chain loops back to itself")
                }
                depth[cur] = -1
                path.append(cur)
                guard path.count <= BTFLimits.maxChainDepth else {
                    throw FormatError("type [\(start)]", "modifier/array chain deeper than \(BTFLimits.maxChainDepth)")
                }
                cur = k == Kind.array.rawValue ? Int(words[Int(records[cur].firstWord)]) : Int(records[cur].sizeOrType)
            }
            for (i, id) in path.reversed().enumerated() {
                let d = base + i + 1
                guard d <= BTFLimits.maxChainDepth else {
                    throw FormatError("type [\(id)]", "modifier/array chain deeper than \(BTFLimits.maxChainDepth)")
                }
                depth[id] = Int8(d)
            }
        }
    }
}
