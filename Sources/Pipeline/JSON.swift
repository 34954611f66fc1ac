/// A JSON value with its object keys in a fixed order, so reports read in schema order and
/// identical runs give identical bytes.
public indirect enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])
    /// Written on one line even inside a pretty-printed document: one entry of a long list.
    case inline(JSONValue)

    /// Pretty-printed with two-space indentation; arrays of scalars stay on one line.
    public func rendered() -> String {
        var out = JSONText()
        write(to: &out, indent: "")
        return out.string
    }

    /// On one line, with no spaces: a JSON Lines record.
    public func renderedCompact() -> String {
        var out = JSONText()
        writeCompact(to: &out)
        return out.string
    }

    private func writeCompact(to out: inout JSONText) {
        switch self {
        case .array(let items):
            out.raw("[")
            for (i, v) in items.enumerated() {
                if i > 0 { out.raw(",") }
                v.writeCompact(to: &out)
            }
            out.raw("]")
        case .object(let fields):
            out.raw("{")
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { out.raw(",") }
                out.string(k)
                out.raw(":")
                v.writeCompact(to: &out)
            }
            out.raw("}")
        case .inline(let v):
            v.writeCompact(to: &out)
        default:
            write(to: &out, indent: "")
        }
    }

    /// An object from a dictionary, keys in sorted order.
    public static func sortedObject(_ fields: [String: JSONValue]) -> JSONValue {
        .object(fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object, .inline: return false
        default: return true
        }
    }

    /// Appends the value, pretty-printed, its nested lines indented by `indent` and two spaces
    /// per level.
    package func write(to out: inout JSONText, indent: String) {
        switch self {
        case .null: out.raw("null")
        case .bool(let b): out.raw(b ? "true" : "false")
        case .int(let i): out.int(i)
        case .uint(let u): out.uint(u)
        case .double(let d): out.double(d)
        case .string(let s): out.string(s)
        case .inline(let v): v.writeCompact(to: &out)
        case .array(let items):
            if items.isEmpty { out.raw("[]"); return }
            if items.allSatisfy(\.isScalar) {
                out.raw("[")
                for (i, v) in items.enumerated() {
                    if i > 0 { out.raw(", ") }
                    v.write(to: &out, indent: indent)
                }
                out.raw("]")
                return
            }
            let inner = indent + "  "
            out.raw("[\n")
            for (i, v) in items.enumerated() {
                out.raw(inner)
                v.write(to: &out, indent: inner)
                out.raw(i == items.count - 1 ? "\n" : ",\n")
            }
            out.raw(indent)
            out.raw("]")
        case .object(let fields):
            if fields.isEmpty { out.raw("{}"); return }
            let inner = indent + "  "
            out.raw("{\n")
            for (i, (k, v)) in fields.enumerated() {
                out.raw(inner)
                out.string(k)
                out.raw(": ")
                v.write(to: &out, indent: inner)
                out.raw(i == fields.count - 1 ? "\n" : ",\n")
            }
            out.raw(indent)
            out.raw("}")
        }
    }
}

/// JSON text as UTF-8 bytes, appended to piece by piece: what `JSONValue` renders into, and what
/// writers of large documents (reports of thousands of kernels) append to directly.
public struct JSONText: Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    /// The text as a `String`.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends `s` as it is (no quoting).
    public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends `s` as it is (no quoting).
    public mutating func raw(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Appends `s` as a JSON string: quoted, with `"`, `\` and control characters escaped.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var run = 0
            for (i, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<i]))
                run = i + 1
                switch c {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case UInt8(ascii: "\n"): raw("\\n")
                case UInt8(ascii: "\r"): raw("\\r")
                case UInt8(ascii: "\t"): raw("\\t")
                default:
                    let hex: StaticString = "0123456789abcdef"
                    raw("\\u00")
                    hex.withUTF8Buffer { h in
                        bytes.append(h[Int(c >> 4)])
                        bytes.append(h[Int(c & 15)])
                    }
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// Appends `s` as a JSON string, or `null`.
    public mutating func string(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    /// Appends `v` in decimal.
    public mutating func int(_ v: Int) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            uint(UInt64(v.magnitude))
        } else {
            uint(UInt64(v))
        }
    }

    /// Appends `v` in decimal, or `null`.
    public mutating func int(_ v: Int?) {
        if let v { int(v) } else { raw("null") }
    }

    /// Appends `v` in decimal.
    public mutating func uint(_ v: UInt64) {
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &digits) { d in
            var n = v, at = d.count
            repeat {
                at -= 1
                d[at] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            } while n > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[at...]))
        }
    }

    /// Appends `d` as Swift prints it (the shortest text that reads back as `d`); `null` when it
    /// is not finite.
    public mutating func double(_ d: Double) {
        if d.isFinite { raw("\(d)") } else { raw("null") }
    }

    /// Appends `d`, or `null`.
    public mutating func double(_ d: Double?) {
        if let d { double(d) } else { raw("null") }
    }
}

extension Optional where Wrapped == Int {
    package var json: JSONValue { map(JSONValue.int) ?? .null }
}

extension Optional where Wrapped == Double {
    package var json: JSONValue { map(JSONValue.double) ?? .null }
}

extension Optional where Wrapped == String {
    package var json: JSONValue { map(JSONValue.string) ?? .null }
}
