/// A parsed, validated BTF blob: a table of types and a string section.
///
/// Types are kept as their wire words — a fixed record per type plus a flat array of the words
/// that follow it — so that parsing is one linear pass, writing reproduces the input exactly, and
/// the CO-RE resolver reads fields without any per-type allocation. Type 0 is `void`.
public struct BTF: Sendable {
    /// One type's 12-byte header, and where its extra words start in `words`.
    public struct Record: Sendable, Equatable {
        public var nameOffset: UInt32
        public var info: UInt32
        public var sizeOrType: UInt32
        public var firstWord: UInt32

        /// The kind value, 7 bits (`BTF_INFO_KIND`); a value `Kind` has no case for is a kind
        /// btfgen does not know (see `BTF.isKnownKind`).
        @inlinable public var kindValue: UInt8 { UInt8((info >> 24) & 0x7f) }
        /// The vlen, 24 bits (`BTF_INFO_VLEN`).
        @inlinable public var vlen: Int { Int(info & 0xff_ffff) }
        @inlinable public var kflag: Bool { info & 0x8000_0000 != 0 }
    }

    /// The byte order the blob was read in; the writer keeps it unless told otherwise.
    public var order: ByteOrder
    /// The header length the blob declared: 24, or 32 for BTF with a layout section (Linux 7.1,
    /// pahole ≥ 1.31). The writer writes a header of this length; see `serialized(order:)`.
    public var headerLength: UInt32
    /// The layout section's entries, one per kind value from 0, when the blob had one (nil
    /// otherwise). The parser reads types of kinds btfgen does not know with it; the writer
    /// writes it back when `headerLength` is at least 32. Set it with `setLayoutSection`.
    public private(set) var layoutSection: [KindLayout]?
    /// The kernel rules this BTF breaks that libbpf accepts, in type order (header first), as
    /// the parser found them; empty for a BTF built in memory. See `FormatRule`.
    public internal(set) var warnings: [FormatWarning] = []
    /// The number of types of a kind btfgen does not know (read with the layout section).
    public private(set) var unknownKindCount = 0
    /// Extra words per kind value, from `Kind` and `layoutSection`.
    private(set) var sizes: [KindSizes] = KindSizes.table(nil)
    public private(set) var records: [Record]
    /// Each type's kind value, one byte per id (`kinds[0]` is void's 0): what scans over every
    /// type read to pick the ones they look at, 16 times less memory than `records`. A type of a
    /// kind btfgen does not know has 0 here, as `void`, so that no scan takes it for a known kind.
    public private(set) var kinds: [UInt8]
    public private(set) var words: [UInt32]
    public internal(set) var strings: [UInt8]
    /// The pointer size libbpf assumes for this BTF: the size of its first 4- or 8-byte int
    /// named like `long`, else 8 (the 64-bit host's). Mirrors libbpf `determine_ptr_size`.
    public private(set) var pointerSize = 8
    /// The number of words after the type headers, over all types (the type section is
    /// `12 * (typeCount - 1) + 4 * extraWordTotal` bytes).
    public private(set) var extraWordTotal = 0
    /// The number of struct and union members, over all types.
    public private(set) var memberTotal = 0
    /// The kernel modules whose split BTF was appended (`appendSplit`), in order; empty for a
    /// BTF of one piece. The types before the first module's are vmlinux's.
    public internal(set) var modules: [ModuleSpan] = []
    /// The length of vmlinux's string section when modules were appended (0 otherwise).
    var baseStringLength = 0

    /// An empty BTF: `void` and the empty string.
    public init(order: ByteOrder = .host) {
        self.order = order
        self.headerLength = 24
        self.records = [Record(nameOffset: 0, info: 0, sizeOrType: 0, firstWord: 0)]
        self.kinds = [0]
        self.words = []
        self.strings = [0]
    }

    /// A BTF over a parsed type section: `words` holds every type's header and extra words.
    init(order: ByteOrder, headerLength: UInt32, layoutSection: [KindLayout]?, records: [Record], kinds: [UInt8],
         words: [UInt32], strings: [UInt8], memberTotal: Int, unknownKindCount: Int) {
        self.order = order
        self.headerLength = headerLength
        self.layoutSection = layoutSection
        self.sizes = KindSizes.table(layoutSection)
        self.unknownKindCount = unknownKindCount
        self.records = records
        self.kinds = kinds
        self.words = words
        self.strings = strings
        self.pointerSize = computePointerSize()
        self.extraWordTotal = words.count - 3 * (records.count - 1)
        self.memberTotal = memberTotal
    }

    /// Number of type ids, `void` included: valid ids are `0..<typeCount`.
    @inlinable public var typeCount: Int { records.count }

    /// Every id but `void`'s.
    public var ids: some Sequence<TypeID> { (1..<UInt32(records.count)).lazy.map { TypeID($0) } }

    @inlinable public func contains(_ id: TypeID) -> Bool { id.index < records.count }

    // MARK: Type header fields

    /// The type's kind; `.void` for a type of a kind btfgen does not know (`isKnownKind`), so
    /// that code switching over `Kind` treats it as nothing it can follow: a relocation that
    /// reaches one finds no candidate, as with `void`.
    @inlinable public func kind(_ id: TypeID) -> Kind {
        let v = records[id.index].kindValue
        return v <= Kind.enum64.rawValue ? Kind(rawValue: v)! : .void
    }
    /// The kind value as stored (0…127), known to btfgen or not.
    @inlinable public func kindValue(_ id: TypeID) -> UInt8 { records[id.index].kindValue }
    /// Whether btfgen knows the type's kind (`int` … `enum64`). Types of other kinds come from
    /// BTF with a layout section; they are kept and written back, but nothing reads into them.
    @inlinable public func isKnownKind(_ id: TypeID) -> Bool {
        let v = records[id.index].kindValue
        return v != 0 && v <= Kind.enum64.rawValue
    }
    @inlinable public func vlen(_ id: TypeID) -> Int { records[id.index].vlen }
    @inlinable public func kflag(_ id: TypeID) -> Bool { records[id.index].kflag }
    @inlinable public func nameOffset(_ id: TypeID) -> StringOffset { StringOffset(records[id.index].nameOffset) }
    /// The size of an int, float, struct, union, enum or datasec.
    @inlinable public func size(_ id: TypeID) -> UInt32 { records[id.index].sizeOrType }
    /// The type a pointer, modifier, typedef, func, var or tag refers to; a func_proto's return type.
    @inlinable public func referenced(_ id: TypeID) -> TypeID { TypeID(records[id.index].sizeOrType) }

    @inlinable func word(_ id: TypeID, _ i: Int) -> UInt32 { words[Int(records[id.index].firstWord) + i] }

    // MARK: Strings

    /// The string at `offset`, or "" for an offset past the section (validation rules that out).
    public func string(at offset: StringOffset) -> String {
        let start = Int(offset.rawValue)
        guard start < strings.count else { return "" }
        return strings.withUnsafeBufferPointer { buf in
            var end = start
            while end < buf.count && buf[end] != 0 { end += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: buf[start..<end]), as: UTF8.self)
        }
    }

    /// The type's name; "" for an anonymous type.
    public func name(_ id: TypeID) -> String { string(at: nameOffset(id)) }

    /// The length of the NUL-terminated string at `offset`.
    public func stringLength(at offset: StringOffset) -> Int {
        let start = Int(offset.rawValue)
        guard start < strings.count else { return 0 }
        return strings.withUnsafeBufferPointer { buf in
            var end = start
            while end < buf.count && buf[end] != 0 { end += 1 }
            return end - start
        }
    }

    // MARK: Kind-specific data

    /// A struct or union member.
    public struct Member: Sendable, Equatable {
        public var name: StringOffset
        public var type: TypeID
        /// Offset of the member from the start of its struct, in bits.
        public var bitOffset: UInt32
        /// Width of a bitfield member, 0 for an ordinary member.
        public var bitfieldSize: UInt32
    }

    /// Member `i` of a struct or union.
    public func member(_ id: TypeID, _ i: Int) -> Member {
        let base = Int(records[id.index].firstWord) + 3 * i
        let offset = words[base + 2]
        if records[id.index].kflag {
            return Member(name: StringOffset(words[base]), type: TypeID(words[base + 1]),
                          bitOffset: offset & 0xff_ffff, bitfieldSize: offset >> 24)
        }
        return Member(name: StringOffset(words[base]), type: TypeID(words[base + 1]), bitOffset: offset, bitfieldSize: 0)
    }

    public func members(_ id: TypeID) -> [Member] { (0..<vlen(id)).map { member(id, $0) } }

    /// An enumerator of an enum or enum64; `value` holds the raw 64 bits (sign-extended for a
    /// signed 32-bit enum).
    public struct EnumValue: Sendable, Equatable {
        public var name: StringOffset
        public var value: UInt64
    }

    /// Enumerator `i` of an enum or enum64.
    public func enumValue(_ id: TypeID, _ i: Int) -> EnumValue {
        let r = records[id.index]
        if r.kindValue == Kind.enum64.rawValue {
            let base = Int(r.firstWord) + 3 * i
            return EnumValue(name: StringOffset(words[base]),
                             value: UInt64(words[base + 2]) << 32 | UInt64(words[base + 1]))
        }
        let base = Int(r.firstWord) + 2 * i
        let raw = words[base + 1]
        let value = r.kflag ? UInt64(bitPattern: Int64(Int32(bitPattern: raw))) : UInt64(raw)
        return EnumValue(name: StringOffset(words[base]), value: value)
    }

    /// Whether an enum's values are signed (its kflag).
    public func enumIsSigned(_ id: TypeID) -> Bool { kflag(id) }

    public struct ArrayInfo: Sendable, Equatable {
        public var element: TypeID
        public var index: TypeID
        public var count: UInt32
    }

    public func array(_ id: TypeID) -> ArrayInfo {
        ArrayInfo(element: TypeID(word(id, 0)), index: TypeID(word(id, 1)), count: word(id, 2))
    }

    /// An int's encoding word: flags (signed 1, char 2, bool 4), bit offset and bit width.
    public struct IntEncoding: Sendable, Equatable {
        public var raw: UInt32
        public var isSigned: Bool { (raw >> 24) & 1 != 0 }
        public var isChar: Bool { (raw >> 24) & 2 != 0 }
        public var isBool: Bool { (raw >> 24) & 4 != 0 }
        public var offset: UInt32 { (raw >> 16) & 0xff }
        public var bits: UInt32 { raw & 0xff }
    }

    public func intEncoding(_ id: TypeID) -> IntEncoding { IntEncoding(raw: word(id, 0)) }

    /// A func_proto parameter.
    public struct Param: Sendable, Equatable {
        public var name: StringOffset
        public var type: TypeID
    }

    public func param(_ id: TypeID, _ i: Int) -> Param {
        let base = Int(records[id.index].firstWord) + 2 * i
        return Param(name: StringOffset(words[base]), type: TypeID(words[base + 1]))
    }

    /// A datasec entry: a var (or func) and where it sits in the section.
    public struct SectionVar: Sendable, Equatable {
        public var type: TypeID
        public var offset: UInt32
        public var size: UInt32
    }

    public func sectionVar(_ id: TypeID, _ i: Int) -> SectionVar {
        let base = Int(records[id.index].firstWord) + 3 * i
        return SectionVar(type: TypeID(words[base]), offset: words[base + 1], size: words[base + 2])
    }

    /// A var's linkage, or a decl_tag's component index (-1 for the whole declaration).
    public func extraWord(_ id: TypeID) -> UInt32 { word(id, 0) }

    /// All extra words of a type, as stored after its header.
    public func extraWords(_ id: TypeID) -> ArraySlice<UInt32> {
        let r = records[id.index]
        let start = Int(r.firstWord)
        return words[start..<(start + extraWordCount(r))]
    }

    /// Number of 32-bit words after the 12-byte header of this type record, for any kind the
    /// BTF can hold (the layout section gives the sizes of kinds btfgen does not know).
    public func extraWordCount(_ r: Record) -> Int {
        let s = sizes[Int(r.kindValue)]
        return Int(s.fixedWords) + r.vlen * Int(s.vlenWords)
    }

    /// Number of 32-bit words after the 12-byte header of a type of this kind and vlen, for the
    /// kinds btfgen knows (0 for others: see `extraWordCount(_:)`).
    @inlinable
    public static func extraWordCount(kindValue: UInt8, vlen: Int) -> Int {
        guard let kind = Kind(rawValue: kindValue) else { return 0 }
        return kind.fixedExtraSize / 4 + vlen * kind.vlenRecordSize / 4
    }

    // MARK: Building

    /// Appends a type and returns its id. `extra` holds the words after the type's header;
    /// the caller is responsible for them matching `kind` and `vlen` (the writer does not check).
    @discardableResult
    public mutating func append(kind: Kind, name: StringOffset, vlen: Int, kflag: Bool,
                                sizeOrType: UInt32, extra: some Collection<UInt32>) -> TypeID {
        let info = (kflag ? 0x8000_0000 : 0) | UInt32(kind.rawValue) << 24 | UInt32(vlen) & BTFInfo.vlenMask
        records.append(Record(nameOffset: name.rawValue, info: info, sizeOrType: sizeOrType,
                              firstWord: UInt32(words.count)))
        words.append(contentsOf: extra)
        noteAppended()
        return TypeID(UInt32(records.count - 1))
    }

    private mutating func noteAppended() {
        let r = records[records.count - 1]
        let known = sizes[Int(r.kindValue)].known
        kinds.append(known ? r.kindValue : 0)
        if !known { unknownKindCount += 1 }
        extraWordTotal += extraWordCount(r)
        if r.kindValue == Kind.struct.rawValue || r.kindValue == Kind.union.rawValue { memberTotal += r.vlen }
    }

    /// Removes the types from id `first` on and the strings from offset `stringCount` on: undoes
    /// appends made since the BTF had those counts.
    mutating func truncate(types first: Int, strings stringCount: Int) {
        guard first < records.count else { strings.removeSubrange(min(stringCount, strings.count)...); return }
        for i in first..<records.count {
            let r = records[i]
            if !sizes[Int(r.kindValue)].known { unknownKindCount -= 1 }
            extraWordTotal -= extraWordCount(r)
            if r.kindValue == Kind.struct.rawValue || r.kindValue == Kind.union.rawValue { memberTotal -= r.vlen }
        }
        words.removeSubrange(Int(records[first].firstWord)...)
        records.removeSubrange(first...)
        kinds.removeSubrange(first...)
        strings.removeSubrange(min(stringCount, strings.count)...)
    }

    /// Appends a type copied from another BTF with its header word `info` unchanged.
    @discardableResult
    public mutating func append(info: UInt32, name: StringOffset, sizeOrType: UInt32,
                                extra: some Collection<UInt32>) -> TypeID {
        records.append(Record(nameOffset: name.rawValue, info: info, sizeOrType: sizeOrType,
                              firstWord: UInt32(words.count)))
        words.append(contentsOf: extra)
        noteAppended()
        return TypeID(UInt32(records.count - 1))
    }

    /// Gives the BTF a layout section (nil: none), which the writer writes with a header of 32
    /// bytes or more. The sizes of the kinds btfgen knows never come from it; a type of a kind
    /// btfgen does not know must keep its size.
    /// - Throws: `FormatError` (`unknown-kind`) when such a type's size would change.
    public mutating func setLayoutSection(_ entries: [KindLayout]?) throws(FormatError) {
        let table = KindSizes.table(entries)
        if unknownKindCount > 0 {
            for i in 1..<records.count {
                let v = Int(records[i].kindValue)
                if !sizes[v].known && (table[v].valid != sizes[v].valid || table[v].fixedWords != sizes[v].fixedWords
                                       || table[v].vlenWords != sizes[v].vlenWords) {
                    throw FormatError("type [\(i)]", "the layout section would change the size of kind \(v)", rule: .unknownKind)
                }
            }
        }
        layoutSection = entries
        sizes = table
    }

    /// Replaces the string section (used by builders that intern strings themselves).
    public mutating func setStrings(_ strings: [UInt8]) {
        self.strings = strings
        pointerSize = computePointerSize()
    }

    /// The names libbpf takes for `long` (any order of `long`, `int`, `unsigned`).
    public static let longAliases: [[UInt8]] = [
        "long", "long int", "int long", "unsigned long", "long unsigned", "unsigned long int",
        "unsigned int long", "long unsigned int", "long int unsigned", "int unsigned long", "int long unsigned",
    ].map { Array($0.utf8) }

    private func computePointerSize() -> Int {
        for i in 1..<records.count {
            let r = records[i]
            guard r.kindValue == Kind.int.rawValue, r.sizeOrType == 4 || r.sizeOrType == 8 else { continue }
            let start = Int(r.nameOffset)
            guard start < strings.count else { continue }
            var end = start
            while end < strings.count && strings[end] != 0 { end += 1 }
            let name = strings[start..<end]
            if BTF.longAliases.contains(where: { $0.elementsEqual(name) }) { return Int(r.sizeOrType) }
        }
        return 8
    }
}

/// Bytes as a dictionary key, hashed in one pass: an `ArraySlice<UInt8>` key hashes a byte at a
/// time, which made names the costliest keys a trim looks up.
public struct ByteKey: Hashable, Sendable {
    public let bytes: ArraySlice<UInt8>

    @inlinable public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    @inlinable public static func == (a: ByteKey, b: ByteKey) -> Bool { a.bytes == b.bytes }

    @inlinable public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// Interns strings for a BTF being built: each distinct string is stored once, in the order
/// first added, so the same sequence of additions always gives the same bytes.
public struct StringTableBuilder: Sendable {
    public private(set) var bytes: [UInt8] = [0]
    private var offsets: [ByteKey: UInt32] = [ByteKey([]): 0]

    public init() {}

    /// Adds `s` (looked up without a copy; copied only when new).
    public mutating func add(_ s: ArraySlice<UInt8>) -> StringOffset {
        if let off = offsets[ByteKey(s)] { return StringOffset(off) }
        let off = UInt32(bytes.count)
        bytes.append(contentsOf: s)
        bytes.append(0)
        offsets[ByteKey(ArraySlice(Array(s)))] = off
        return StringOffset(off)
    }

    public mutating func add(_ s: some Collection<UInt8>) -> StringOffset { add(ArraySlice(s)) }

    public mutating func add(_ s: String) -> StringOffset { add(ArraySlice(s.utf8)) }

    /// Adds the string at `offset` of `btf`.
    public mutating func add(from btf: BTF, _ offset: StringOffset) -> StringOffset {
        if offset.rawValue == 0 { return .empty }
        let start = Int(offset.rawValue)
        let len = btf.stringLength(at: offset)
        return add(btf.strings[start..<(start + len)])
    }
}
