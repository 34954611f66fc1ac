/// A CO-RE relocation kind, numbered as in libbpf's `enum bpf_core_relo_kind`.
public enum RelocationKind: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case fieldByteOffset = 0
    case fieldByteSize = 1
    case fieldExists = 2
    case fieldSigned = 3
    case fieldLShiftU64 = 4
    case fieldRShiftU64 = 5
    case typeIDLocal = 6
    case typeIDTarget = 7
    case typeExists = 8
    case typeSize = 9
    case enumvalExists = 10
    case enumvalValue = 11
    case typeMatches = 12

    /// The name libbpf prints (`core_relo_kind_str`): `byte_off`, `type_matches`, …
    public var description: String {
        switch self {
        case .fieldByteOffset: return "byte_off"
        case .fieldByteSize: return "byte_sz"
        case .fieldExists: return "field_exists"
        case .fieldSigned: return "signed"
        case .fieldLShiftU64: return "lshift_u64"
        case .fieldRShiftU64: return "rshift_u64"
        case .typeIDLocal: return "local_type_id"
        case .typeIDTarget: return "target_type_id"
        case .typeExists: return "type_exists"
        case .typeSize: return "type_size"
        case .enumvalExists: return "enumval_exists"
        case .enumvalValue: return "enumval_value"
        case .typeMatches: return "type_matches"
        }
    }

    public var isFieldBased: Bool { rawValue <= 5 }
    public var isTypeBased: Bool { [6, 7, 8, 9, 12].contains(rawValue) }
    public var isEnumValueBased: Bool { self == .enumvalExists || self == .enumvalValue }
}

/// The `.BTF.ext` section: func_info, line_info and CO-RE relocation records, grouped by the ELF
/// section (program) they belong to.
public struct BTFExt: Sendable {
    public struct FuncInfo: Sendable, Equatable {
        public var insnOffset: UInt32
        public var type: TypeID
    }

    public struct LineInfo: Sendable, Equatable {
        public var insnOffset: UInt32
        public var fileName: StringOffset
        public var line: StringOffset
        public var lineColumn: UInt32
    }

    /// One CO-RE relocation record (`struct bpf_core_relo`).
    public struct CORERelocation: Sendable, Equatable {
        /// Offset in bytes of the instruction to patch, from the start of its section.
        public var insnOffset: UInt32
        public var type: TypeID
        public var accessString: StringOffset
        public var kind: RelocationKind
    }

    /// The records of one subsection that belong to one ELF section.
    public struct Group<Record: Sendable>: Sendable {
        public var sectionName: StringOffset
        public var records: [Record]
    }

    /// The func_info and line_info groups, without their records (btfgen reads none of them).
    public var funcInfo: [Group<FuncInfo>] = []
    public var lineInfo: [Group<LineInfo>] = []
    public var coreRelocations: [Group<CORERelocation>] = []
    /// The record sizes the header declared, as read (0 for an absent subsection).
    public var funcInfoRecordSize = 0, lineInfoRecordSize = 0, coreRelocationRecordSize = 0

    public init() {}

    /// Parses `.BTF.ext` against the object's `.BTF`, whose strings and types it refers to.
    ///
    /// Mirrors libbpf's `btf_ext__new` / `btf_ext_setup_info`: the declared record size is
    /// honoured (it must be at least the known size and a multiple of 4), every section name,
    /// type id and access string is checked against `btf`.
    public init(parsing bytes: UnsafeRawBufferPointer, btf: BTF, section: String = ".BTF.ext") throws(FormatError) {
        func at(_ offset: Int) -> String { "\(section)+\(hex(offset))" }
        guard bytes.count >= 8 else { throw FormatError(at(0), "truncated header: \(bytes.count) bytes") }
        let probe = ByteReader(bytes, order: .little)
        let order: ByteOrder
        switch probe.u16(0)! {
        case btfMagic: order = .little
        case btfMagic.byteSwapped: order = .big
        case let m: throw FormatError(at(0), "bad magic 0x\(String(m, radix: 16)), want 0xeb9f")
        }
        let r = ByteReader(bytes, order: order)
        guard r.u8(2)! == 1 else { throw FormatError(at(2), "unsupported version \(r.u8(2)!)") }
        guard r.u8(3)! == 0 else { throw FormatError(at(3), "unsupported flags 0x\(String(r.u8(3)!, radix: 16))") }
        let hdrLen = Int(r.u32(4)!)
        // func_info and line_info are mandatory in the header; core_relo came later.
        guard hdrLen >= 24 else { throw FormatError(at(4), "header length \(hdrLen) shorter than 24") }
        guard hdrLen <= bytes.count else { throw FormatError(at(4), "header length \(hdrLen) past the end (\(bytes.count) bytes)") }

        func subsection(_ fieldOffset: Int) throws(FormatError) -> (start: Int, length: Int)? {
            guard fieldOffset + 8 <= hdrLen else { return nil }
            let off = Int(r.u32(fieldOffset)!), len = Int(r.u32(fieldOffset + 4)!)
            if len == 0 { return nil }
            let body = bytes.count - hdrLen
            guard off <= body, len <= body - off else {
                throw FormatError(at(fieldOffset), "subsection \(hex(off))+\(len) past the end (\(body) bytes after header)")
            }
            guard off % 4 == 0 else { throw FormatError(at(fieldOffset), "subsection offset \(off) not 4-byte aligned") }
            return (hdrLen + off, len)
        }

        /// Walks one subsection: a record size, then groups of (section name, count, records),
        /// each handed to `group` with its record count and where its records start; returns the
        /// record size. func_info and line_info records are checked for size only and not kept:
        /// libbpf checks no more of them when it reads the object, and btfgen reads nothing in
        /// them (a real program has tens of thousands of line_info records). Not generic over
        /// the record type: unspecialized, it looked up the type's metadata for every record.
        func walk(_ sub: (start: Int, length: Int), name: String, minSize: Int,
                  group: (StringOffset, _ count: Int, _ start: Int, _ recordSize: Int) throws(FormatError) -> Void) throws(FormatError) -> Int {
            let end = sub.start + sub.length
            guard sub.length >= 4 else { throw FormatError(at(sub.start), "\(name): subsection too short for a record size") }
            let recSize = Int(r.u32(sub.start)!)
            guard recSize >= minSize, recSize % 4 == 0 else {
                throw FormatError(at(sub.start), "\(name): record size \(recSize) invalid (need a multiple of 4, at least \(minSize))")
            }
            var pos = sub.start + 4
            while pos < end {
                guard end - pos >= 8 else { throw FormatError(at(pos), "\(name): truncated section header") }
                let nameOff = r.u32(pos)!, n = Int(r.u32(pos + 4)!)
                guard Int(nameOff) < btf.strings.count, nameOff != 0 else {
                    throw FormatError(at(pos), "\(name): section name offset \(nameOff) out of range")
                }
                guard n > 0 else { throw FormatError(at(pos + 4), "\(name): section with no records") }
                pos += 8
                let (total, overflow) = n.multipliedReportingOverflow(by: recSize)
                guard !overflow, total <= end - pos else {
                    throw FormatError(at(pos - 4), "\(name): \(n) records of \(recSize) bytes past the end of the subsection")
                }
                try group(StringOffset(nameOff), n, pos, recSize)
                pos += total
            }
            return recSize
        }

        let typeCount = UInt32(btf.typeCount)
        let strCount = UInt32(btf.strings.count)
        if let sub = try subsection(8) {
            var groups: [Group<FuncInfo>] = []
            funcInfoRecordSize = try walk(sub, name: "func_info", minSize: 8) { name, _, _, _ in
                groups.append(Group(sectionName: name, records: []))
            }
            funcInfo = groups
        }
        if let sub = try subsection(16) {
            var groups: [Group<LineInfo>] = []
            lineInfoRecordSize = try walk(sub, name: "line_info", minSize: 16) { name, _, _, _ in
                groups.append(Group(sectionName: name, records: []))
            }
            lineInfo = groups
        }
        if let sub = try subsection(24) {
            var groups: [Group<CORERelocation>] = []
            coreRelocationRecordSize = try walk(sub, name: "core_relo", minSize: 16) { name, n, start, recSize throws(FormatError) in
                var records: [CORERelocation] = []
                records.reserveCapacity(n)
                // Records are numbered within their section, as libbpf's `relo #N` is; `walk`
                // checked that they lie inside the subsection.
                var p = start
                for i in 0..<n {
                    let insn = r.u32Unchecked(p), t = r.u32Unchecked(p + 4), access = r.u32Unchecked(p + 8), k = r.u32Unchecked(p + 12)
                    guard t < typeCount else { throw FormatError(at(p + 4), "relo #\(i): type [\(t)] out of range") }
                    guard access < strCount else { throw FormatError(at(p + 8), "relo #\(i): access string offset \(access) out of range") }
                    guard let kind = RelocationKind(rawValue: k) else { throw FormatError(at(p + 12), "relo #\(i): unknown kind \(k)") }
                    guard insn % 8 == 0 else { throw FormatError(at(p), "relo #\(i): instruction offset \(insn) not a multiple of 8") }
                    records.append(CORERelocation(insnOffset: insn, type: TypeID(t), accessString: StringOffset(access), kind: kind))
                    p += recSize
                }
                groups.append(Group(sectionName: name, records: records))
            }
            coreRelocations = groups
        }
    }

    /// Parses `.BTF.ext` held in an array.
    public init(parsing bytes: [UInt8], btf: BTF, section: String = ".BTF.ext") throws(FormatError) {
        let result: Result<BTFExt, FormatError> = bytes.withUnsafeBytes { buf in
            do throws(FormatError) { return .success(try BTFExt(parsing: buf, btf: btf, section: section)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// The number of CO-RE records in all sections.
    public var coreRelocationCount: Int { coreRelocations.reduce(0) { $0 + $1.records.count } }
}

/// The instruction a CO-RE relocation patches (`struct bpf_insn`), decoded in the object's byte
/// order; for a 64-bit immediate load (`ldimm64`), also the second half.
public struct Instruction: Sendable, Equatable {
    public var code: UInt8
    public var dst: UInt8
    public var src: UInt8
    public var offset: Int16
    public var imm: Int32
    /// The next instruction's fields, when there is one in the section.
    public var next: (code: UInt8, dst: UInt8, src: UInt8, offset: Int16, imm: Int32)?

    public init(code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, offset: Int16 = 0, imm: Int32 = 0,
                next: (code: UInt8, dst: UInt8, src: UInt8, offset: Int16, imm: Int32)? = nil) {
        self.code = code
        self.dst = dst
        self.src = src
        self.offset = offset
        self.imm = imm
        self.next = next
    }

    /// Decodes the instruction at `offset` of a program section's bytes (and the next one, when
    /// it is there). Nil when fewer than 8 bytes are left.
    public init?(_ bytes: UnsafeRawBufferPointer, at offset: Int, order: ByteOrder) {
        // One bounds check for the 8 bytes (16 with the next instruction); a real program has
        // tens of thousands of records.
        @inline(__always)
        func decode(_ o: Int) -> (code: UInt8, dst: UInt8, src: UInt8, offset: Int16, imm: Int32) {
            let word = bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self)
            let v = order == .little ? UInt64(littleEndian: word) : UInt64(bigEndian: word)
            // In memory: code, registers, off (2 bytes), imm (4 bytes); the register nibbles are
            // a C bitfield whose order follows the byte order.
            let code: UInt8, regs: UInt8, off: UInt16, imm: UInt32
            if order == .little {
                code = UInt8(truncatingIfNeeded: v)
                regs = UInt8(truncatingIfNeeded: v >> 8)
                off = UInt16(truncatingIfNeeded: v >> 16)
                imm = UInt32(truncatingIfNeeded: v >> 32)
            } else {
                code = UInt8(truncatingIfNeeded: v >> 56)
                regs = UInt8(truncatingIfNeeded: v >> 48)
                off = UInt16(truncatingIfNeeded: v >> 32)
                imm = UInt32(truncatingIfNeeded: v)
            }
            let (dst, src) = order == .little ? (regs & 0xf, regs >> 4) : (regs >> 4, regs & 0xf)
            return (code, dst, src, Int16(bitPattern: off), Int32(bitPattern: imm))
        }
        guard offset >= 0, bytes.count >= 8, offset <= bytes.count - 8 else { return nil }
        let first = decode(offset)
        self.init(code: first.code, dst: first.dst, src: first.src, offset: first.offset, imm: first.imm,
                  next: offset <= bytes.count - 16 ? decode(offset + 8) : nil)
    }

    public static func == (a: Instruction, b: Instruction) -> Bool {
        guard a.code == b.code, a.dst == b.dst, a.src == b.src, a.offset == b.offset, a.imm == b.imm else { return false }
        switch (a.next, b.next) {
        case (nil, nil): return true
        case let (x?, y?): return x.code == y.code && x.dst == y.dst && x.src == y.src && x.offset == y.offset && x.imm == y.imm
        default: return false
        }
    }

    /// `BPF_CLASS(code)`.
    public var instructionClass: UInt8 { code & 0x07 }
    /// LDX, ST or STX: an instruction that accesses memory at `offset`.
    public var isMemoryAccess: Bool { (1...3).contains(instructionClass) }
    /// `BPF_LD | BPF_IMM | BPF_DW`.
    public var isLoadImm64: Bool { code == 0x18 }
}

/// One CO-RE relocation record of a BPF object, with its names resolved.
public struct RelocationRecord: Sendable, Equatable {
    /// The ELF section (program) the instruction is in, e.g. `kprobe/do_nanosleep`.
    public var section: String
    /// Index of the record within its section, as libbpf numbers `relo #N`.
    public var index: Int
    /// Instruction index (byte offset / 8) within the section.
    public var insn: Int
    public var type: TypeID
    public var accessString: String
    public var kind: RelocationKind
    /// The instruction the record patches, read from its section; nil when the record was made
    /// without its object (then the patch rules of `bpf_core_patch_insn` are not applied).
    public var instruction: Instruction?
    /// Where the access string is in the object's string section, when read from an object:
    /// records of one object with the same offset have the same access string.
    public var accessStringOffset: StringOffset?

    public init(section: String, index: Int, insn: Int, type: TypeID, accessString: String, kind: RelocationKind,
                instruction: Instruction? = nil, accessStringOffset: StringOffset? = nil) {
        self.accessStringOffset = accessStringOffset
        self.section = section
        self.index = index
        self.insn = insn
        self.type = type
        self.accessString = accessString
        self.kind = kind
        self.instruction = instruction
    }
}
