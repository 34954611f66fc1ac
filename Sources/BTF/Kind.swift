/// A BTF type id: an index into a BTF's type table, 0 being `void`.
public struct TypeID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static let void = TypeID(0)

    @inlinable public var index: Int { Int(rawValue) }
    public static func < (a: TypeID, b: TypeID) -> Bool { a.rawValue < b.rawValue }
    /// `[57]`, as libbpf prints ids.
    public var description: String { "[\(rawValue)]" }
}

/// An offset into a BTF string section.
public struct StringOffset: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static let empty = StringOffset(0)
}

/// A BTF kind, numbered as in the kernel's `btf.h`.
public enum Kind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case void = 0
    case int = 1
    case ptr = 2
    case array = 3
    case `struct` = 4
    case union = 5
    case `enum` = 6
    case fwd = 7
    case typedef = 8
    case volatile = 9
    case const = 10
    case restrict = 11
    case `func` = 12
    case funcProto = 13
    case `var` = 14
    case datasec = 15
    case float = 16
    case declTag = 17
    case typeTag = 18
    case enum64 = 19

    /// The kind's name as libbpf and bpftool print it (`struct`, `func_proto`, `enum64`).
    public var description: String {
        switch self {
        case .void: return "void"
        case .int: return "int"
        case .ptr: return "ptr"
        case .array: return "array"
        case .struct: return "struct"
        case .union: return "union"
        case .enum: return "enum"
        case .fwd: return "fwd"
        case .typedef: return "typedef"
        case .volatile: return "volatile"
        case .const: return "const"
        case .restrict: return "restrict"
        case .func: return "func"
        case .funcProto: return "func_proto"
        case .var: return "var"
        case .datasec: return "datasec"
        case .float: return "float"
        case .declTag: return "decl_tag"
        case .typeTag: return "type_tag"
        case .enum64: return "enum64"
        }
    }

    /// The upper-case name bpftool's raw dump uses (`STRUCT`, `FUNC_PROTO`).
    public var rawName: String { description == "void" ? "UNKN" : description.uppercased() }

    /// Whether the type's third word is a size (otherwise it is a type id, or unused).
    public var hasSize: Bool {
        switch self {
        case .int, .struct, .union, .enum, .enum64, .datasec, .float: return true
        default: return false
        }
    }

    /// Whether the type's third word refers to another type.
    public var hasTypeRef: Bool {
        switch self {
        case .ptr, .typedef, .volatile, .const, .restrict, .func, .funcProto, .var, .declTag, .typeTag:
            return true
        default: return false
        }
    }

    /// Bytes each vlen entry takes after the 12-byte type header.
    public var vlenRecordSize: Int {
        switch self {
        case .struct, .union, .datasec, .enum64: return 12
        case .enum, .funcProto: return 8
        default: return 0
        }
    }

    /// Bytes of kind-specific data after the header that do not depend on vlen.
    public var fixedExtraSize: Int {
        switch self {
        case .int, .var, .declTag: return 4
        case .array: return 12
        default: return 0
        }
    }

    /// Whether the type is a modifier that CO-RE looks through (`typedef`, `const`, …).
    public var isModifier: Bool {
        switch self {
        case .typedef, .volatile, .const, .restrict, .typeTag: return true
        default: return false
        }
    }

    public var isComposite: Bool { self == .struct || self == .union }
    public var isEnum: Bool { self == .enum || self == .enum64 }
}

/// One entry of a BTF layout section: how many bytes follow a type of one kind value.
///
/// BTF written by pahole ≥ 1.31 (Linux 7.1) carries, after its 32-byte header's `layout_off` and
/// `layout_len`, one entry per kind value the writer knew, so that a reader can step over a type
/// of a kind it does not know: such a type is followed by `infoSize` bytes and then by
/// `vlen × elementSize` bytes. Mirrors the kernel's `struct btf_layout` (`__u8 info_sz`,
/// `__u8 elem_sz`, `__u16 flags`, flags unused so far) in `include/uapi/linux/btf.h`.
public struct KindLayout: Sendable, Equatable {
    /// Bytes of kind-specific data after the 12-byte type header (`info_sz`).
    public var infoSize: UInt8
    /// Bytes of each of the type's vlen entries (`elem_sz`).
    public var elementSize: UInt8
    /// `flags`, kept as read (no flag is defined yet).
    public var flags: UInt16

    /// The size of one entry on the wire.
    public static let byteSize = 4

    public init(infoSize: UInt8, elementSize: UInt8, flags: UInt16 = 0) {
        self.infoSize = infoSize
        self.elementSize = elementSize
        self.flags = flags
    }

    /// The layout libbpf writes for the kinds btfgen knows, `void` (0) to `enum64` (19), in
    /// kind order: what a writer of the 2026 format puts in its layout section.
    public static let known: [KindLayout] = (0...Kind.enum64.rawValue).map { v in
        let k = Kind(rawValue: v)!
        return KindLayout(infoSize: UInt8(k.fixedExtraSize), elementSize: UInt8(k.vlenRecordSize))
    }
}

/// How the `info` word of a type header is split: `kind` in bits 24–30, `vlen` in bits 0–23,
/// `kind_flag` in bit 31.
///
/// The kernel's `BTF_INFO_KIND` and `BTF_INFO_VLEN` (7 and 24 bits since the layout section was
/// introduced, 5 and 16 bits before) apply to every BTF, with or without a layout section: the
/// bits they add were always zero in BTF that older tools wrote, so the wider masks read old
/// files unchanged.
public enum BTFInfo {
    public static let kindMask: UInt32 = 0x7f
    public static let vlenMask: UInt32 = 0xff_ffff
    /// The largest vlen a type header can hold.
    public static let maxVlen = Int(vlenMask)
}

/// What the parser and writer need per kind value (0…127): whether a type of it can be stepped
/// over, whether btfgen knows the kind, and its extra words (fixed, and per vlen entry).
struct KindSizes {
    var valid: Bool
    var known: Bool
    var fixedWords: UInt8
    var vlenWords: UInt8

    /// The table for a BTF with this layout section: btfgen's own sizes for the kinds it knows
    /// (`int` … `enum64`, whatever the layout section says about them, as libbpf does), the layout
    /// section's for every other kind value it describes with sizes that are multiples of 4
    /// (libbpf `btf_type_size_unknown` refuses others). Other kind values are not valid.
    static func table(_ layout: [KindLayout]?) -> [KindSizes] {
        (0...Int(BTFInfo.kindMask)).map { v in
            if let k = Kind(rawValue: UInt8(v)), k != .void {
                return KindSizes(valid: true, known: true, fixedWords: UInt8(k.fixedExtraSize / 4),
                                 vlenWords: UInt8(k.vlenRecordSize / 4))
            }
            guard let layout, v < layout.count, layout[v].infoSize % 4 == 0, layout[v].elementSize % 4 == 0 else {
                return KindSizes(valid: false, known: false, fixedWords: 0, vlenWords: 0)
            }
            return KindSizes(valid: true, known: false, fixedWords: layout[v].infoSize / 4, vlenWords: layout[v].elementSize / 4)
        }
    }
}
