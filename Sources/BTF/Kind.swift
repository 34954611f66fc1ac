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
