/// An object's CO-RE relocation records, kept compact: one fixed-size entry per record, and each
/// section name and access string once. Element `i` is a `RelocationRecord` built on demand, with
/// its strings; the loops that run once per record (preparing, resolving, the check before
/// writing) read the fields they need with the accessors below and touch no string.
///
/// A real program has tens of thousands of records over a few hundred access strings and
/// sections: as `RelocationRecord`s they would be 96 bytes each, with two strings to retain on
/// every copy and release at the end.
public struct RelocationTable: RandomAccessCollection, Sendable, Equatable {
    @usableFromInline
    struct Entry: Sendable, Equatable {
        @usableFromInline var section: Int32
        @usableFromInline var index: Int32
        @usableFromInline var insn: Int32
        @usableFromInline var type: TypeID
        @usableFromInline var access: Int32
        /// The access string's offset in the object's string section, or `noOffset`.
        @usableFromInline var accessOffset: UInt32
        @usableFromInline var kind: RelocationKind
        @usableFromInline var instruction: Instruction?

        @usableFromInline
        init(section: Int32, index: Int32, insn: Int32, type: TypeID, access: Int32, accessOffset: UInt32,
             kind: RelocationKind, instruction: Instruction?) {
            self.section = section
            self.index = index
            self.insn = insn
            self.type = type
            self.access = access
            self.accessOffset = accessOffset
            self.kind = kind
            self.instruction = instruction
        }
    }

    @usableFromInline static let noOffset = UInt32.max

    @usableFromInline var entries: [Entry] = []
    /// The section names the records are in, each once.
    public private(set) var sections: [String] = []
    /// The access strings the records carry, each once.
    public private(set) var accessStrings: [String] = []
    private var sectionIndex: [String: Int32] = [:]
    private var accessIndex: [String: Int32] = [:]

    public init() {}

    /// A table of `records`, in their order.
    public init(_ records: some Sequence<RelocationRecord>) {
        for r in records {
            append(section: section(named: r.section), index: r.index, insn: r.insn, type: r.type,
                   access: accessString(r.accessString), accessOffset: r.accessStringOffset, kind: r.kind,
                   instruction: r.instruction)
        }
    }

    /// Room for `count` records in all.
    public mutating func reserveCapacity(_ count: Int) { entries.reserveCapacity(count) }

    /// The number naming section `name` in `append`, adding it when it is new.
    public mutating func section(named name: String) -> Int32 {
        if let known = sectionIndex[name] { return known }
        let n = Int32(sections.count)
        sections.append(name)
        sectionIndex[name] = n
        return n
    }

    /// The number naming access string `s` in `append`, adding it when it is new.
    public mutating func accessString(_ s: String) -> Int32 {
        if let known = accessIndex[s] { return known }
        let n = Int32(accessStrings.count)
        accessStrings.append(s)
        accessIndex[s] = n
        return n
    }

    /// Adds a record: `section` and `access` are numbers from `section(named:)` and
    /// `accessString(_:)`.
    @inlinable
    public mutating func append(section: Int32, index: Int, insn: Int, type: TypeID, access: Int32,
                                accessOffset: StringOffset?, kind: RelocationKind, instruction: Instruction?) {
        assert(sections.indices.contains(Int(section)) && accessStrings.indices.contains(Int(access)))
        entries.append(Entry(section: section, index: Int32(truncatingIfNeeded: index), insn: Int32(truncatingIfNeeded: insn),
                             type: type, access: access, accessOffset: accessOffset?.rawValue ?? Self.noOffset,
                             kind: kind, instruction: instruction))
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }

    public subscript(i: Int) -> RelocationRecord {
        let e = entries[i]
        return RelocationRecord(section: sections[Int(e.section)], index: Int(e.index), insn: Int(e.insn), type: e.type,
                                accessString: accessStrings[Int(e.access)], kind: e.kind, instruction: e.instruction,
                                accessStringOffset: e.accessOffset == Self.noOffset ? nil : StringOffset(e.accessOffset))
    }

    // MARK: One field of record `i`

    /// The name of the section record `i` is in, and its index among that section's records.
    public func section(_ i: Int) -> String { sections[Int(entries[i].section)] }
    @inlinable public func indexInSection(_ i: Int) -> Int { Int(entries[i].index) }
    @inlinable public func type(_ i: Int) -> TypeID { entries[i].type }
    @inlinable public func kind(_ i: Int) -> RelocationKind { entries[i].kind }
    /// The instruction index within the section.
    @inlinable public func insn(_ i: Int) -> Int { Int(entries[i].insn) }
    @inlinable public func instruction(_ i: Int) -> Instruction? { entries[i].instruction }
    public func accessString(_ i: Int) -> String { accessStrings[Int(entries[i].access)] }
    /// The access string's number in `accessStrings`: records with the same number have the
    /// same access string.
    @inlinable public func accessStringNumber(_ i: Int) -> Int32 { entries[i].access }
    @inlinable public func accessStringOffset(_ i: Int) -> StringOffset? {
        let o = entries[i].accessOffset
        return o == Self.noOffset ? nil : StringOffset(o)
    }

    /// Tables are equal when their records are, whatever the order of their string lists.
    public static func == (a: RelocationTable, b: RelocationTable) -> Bool {
        a.count == b.count && a.elementsEqual(b)
    }
}
