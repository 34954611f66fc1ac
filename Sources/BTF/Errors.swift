/// An error in the bytes of an input file, with the place it was found.
///
/// Its text reads like libbpf's: `prog.bpf.o: .BTF.ext+0x1c4: relo #12: type [57] out of range`.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file the bytes came from, when known.
    public var file: String?
    /// Where in the file: a section and offset (`.BTF+0x18`), a type id (`type [57]`), or both.
    public var location: String
    public var message: String
    /// The format rule the bytes break, when the error comes from one (see `FormatRule`).
    public var rule: FormatRule?

    public init(file: String? = nil, _ location: String, _ message: String, rule: FormatRule? = nil) {
        self.file = file
        self.location = location
        self.message = message
        self.rule = rule
    }

    /// The same error, attributed to `file` unless it already names one.
    public func `in`(file: String) -> FormatError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }

    /// The same error with `prefix` (a section name, say) put before its location.
    public func prefixed(_ prefix: String) -> FormatError {
        var copy = self
        copy.location = copy.location.isEmpty ? prefix : "\(prefix): \(copy.location)"
        return copy
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if !location.isEmpty { parts.append(location) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// Formats a byte offset the way error messages show it: `0x1c4`.
@inlinable
public func hex(_ value: Int) -> String { "0x" + String(value, radix: 16) }

/// A rule of the BTF format that btfgen checks, named as warnings and errors name it.
///
/// btfgen reads every BTF that libbpf's `btf__parse` reads (libbpf 1.1.2, Debian bookworm's, and
/// libbpf ≥ 1.8, which reads the layout section). Each rule is one of two classes:
///
/// - `.error`: always an error. Either libbpf rejects the same bytes, or btfgen would be unsafe
///   or wrong without the rule (it indexes by every type id and string offset, follows
///   modifier chains to their end, and renumbers types).
/// - `.kernel`: the kernel's own rules (`btf_check_all_metas` and the per-kind `check_meta`
///   functions of `kernel/bpf/btf.c`) that libbpf does not apply. BTF that pahole made from old
///   debuginfo breaks some of them (Amazon Linux 2 kernels have structs of size 0 whose members
///   lie past that size); btfgen reads such BTF, records a `FormatWarning`, and rejects it only
///   in strict mode (`BTF(parsing:strict: true)`).
///
/// | rule | class | libbpf 1.1.2 rejects it too | why btfgen checks it |
/// |---|---|---|---|
/// | `header` | error | yes | truncated header, bad magic, header length past the end |
/// | `header-length` | error | no | a header length below 24 puts the sections inside the header |
/// | `section-bounds` | error | yes | type or string section past the end, unaligned, overlapping, over 2 GiB |
/// | `layout-section` | error | no (it ignores `layout_off`/`layout_len`; libbpf ≥ 1.8 and the kernel reject) | the layout section past the end, unaligned, not whole entries, overlapping another section |
/// | `string-section` | error | yes | the string section must start with "" and end with NUL |
/// | `type-section` | error | yes | a type or its vlen entries past the type section; more than 2^31 types |
/// | `unknown-kind` | error | yes (libbpf ≥ 1.8 reads kinds its layout section describes, and so does btfgen) | no layout entry says how long the type is |
/// | `name-offset` | error | no (libbpf ≥ 1.3 `btf_validate_str` rejects) | every name is read through its offset |
/// | `type-id` | error | no (libbpf ≥ 1.3 `btf_validate_id` rejects) | every type id indexes the type table |
/// | `func-proto` | error | no (libbpf ≥ 1.3 rejects) | a func's type is read as a func_proto |
/// | `chain-loop` | error | no (the kernel's "Loop detected") | modifier, array and pointer chains are followed to their end |
/// | `chain-depth` | error | no (the kernel's `MAX_RESOLVE_DEPTH`) | bounds every walk along a chain (`BTFLimits.maxChainDepth`) |
/// | `bitfield-type` | error | no (the kernel's "Invalid member bitfield_size") | libbpf takes a bitfield's size from its type's size word, a type id for a pointer: renumbering would change the result |
/// | `header-version` | kernel | no | the kernel accepts only version 1 |
/// | `header-flags` | kernel | no | the kernel accepts only flags 0 |
/// | `header-tail` | kernel | no | the kernel refuses non-zero header bytes it does not know |
/// | `int-size` | kernel | no | int sizes 1, 2, 4, 8, 16 |
/// | `int-bits` | kernel | no | bits 1…128, offset + bits within the size |
/// | `int-encoding` | kernel | no | at most one of signed/char/bool, no unknown bits |
/// | `float-size` | kernel | no | float sizes 2, 4, 8, 12, 16 |
/// | `enum-size` | kernel | no | enum sizes 1, 2, 4, 8 |
/// | `func-linkage` | kernel | no | linkage static, global or extern (0…2) |
/// | `var-void` | kernel | no | a var has a type |
/// | `decl-tag-component` | kernel | no | component index -1 or above |
/// | `fixed-kind-vlen` | kernel | no | vlen 0 for kinds without vlen entries (int, ptr, array, fwd, modifiers, var, float, tags) |
/// | `member-offset` | kernel | no | a member lies within its struct's size (pahole from old debuginfo writes size-0 structs with members) |
/// | `distilled-base` | error | no (libbpf 1.1 ignores `.BTF.base`; libbpf ≥ 1.5 `btf__relocate` and the kernel reject) | a module's distilled base must map onto the kernel's BTF, type by type, as `btf__relocate` maps it |
public enum FormatRule: String, Sendable, CaseIterable, CustomStringConvertible {
    case header = "header"
    case headerLength = "header-length"
    case sectionBounds = "section-bounds"
    case layoutSection = "layout-section"
    case stringSection = "string-section"
    case typeSection = "type-section"
    case unknownKind = "unknown-kind"
    case nameOffset = "name-offset"
    case typeID = "type-id"
    case funcProto = "func-proto"
    case chainLoop = "chain-loop"
    case chainDepth = "chain-depth"
    case bitfieldType = "bitfield-type"
    case headerVersion = "header-version"
    case headerFlags = "header-flags"
    case headerTail = "header-tail"
    case intSize = "int-size"
    case intBits = "int-bits"
    case intEncoding = "int-encoding"
    case floatSize = "float-size"
    case enumSize = "enum-size"
    case funcLinkage = "func-linkage"
    case varVoid = "var-void"
    case declTagComponent = "decl-tag-component"
    case fixedKindVlen = "fixed-kind-vlen"
    case memberOffset = "member-offset"
    case distilledBase = "distilled-base"

    /// Whether breaking the rule is always an error, or a warning unless parsing is strict.
    public enum Severity: Sendable { case error, kernel }

    public var severity: Severity {
        switch self {
        case .header, .headerLength, .sectionBounds, .layoutSection, .stringSection, .typeSection, .unknownKind,
             .nameOffset, .typeID, .funcProto, .chainLoop, .chainDepth, .bitfieldType, .distilledBase:
            return .error
        case .headerVersion, .headerFlags, .headerTail, .intSize, .intBits, .intEncoding, .floatSize, .enumSize,
             .funcLinkage, .varVoid, .declTagComponent, .fixedKindVlen, .memberOffset:
            return .kernel
        }
    }

    /// Whether libbpf 1.1.2's `btf__parse` also rejects every BTF that breaks this rule.
    public var libbpf112Rejects: Bool {
        switch self {
        case .header, .sectionBounds, .stringSection, .typeSection, .unknownKind: return true
        default: return false
        }
    }

    public var description: String { rawValue }
}

/// A kernel rule (`FormatRule.Severity.kernel`) that a parsed BTF breaks, which libbpf accepts.
public struct FormatWarning: Sendable, Equatable, CustomStringConvertible {
    public var rule: FormatRule
    /// The type that breaks it; nil for the header.
    public var type: TypeID?
    /// Where, as errors say it: `type [7017]`, `.BTF+0x3`.
    public var location: String
    public var message: String

    public init(rule: FormatRule, type: TypeID?, location: String, message: String) {
        self.rule = rule
        self.type = type
        self.location = location
        self.message = message
    }

    /// The error strict mode reports instead.
    public var error: FormatError { FormatError(location, message, rule: rule) }

    /// `type [7017]: member 1 at bit 192 lies past the struct size 0 (member-offset)`.
    public var description: String { "\(location): \(message) (\(rule))" }
}
