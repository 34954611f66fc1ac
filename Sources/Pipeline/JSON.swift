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
        // Most numbers of a report are counts of a digit or two.
        if v < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v))
            return
        }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &digits) { raw in
            let d = raw.bindMemory(to: UInt8.self)
            var n = v, at = d.count
            repeat {
                at -= 1
                d[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n % 10)
                n /= 10
            } while n > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: d[at...]))
        }
    }

    /// Appends one ASCII character.
    public mutating func char(_ c: Unicode.Scalar) {
        bytes.append(UInt8(truncatingIfNeeded: c.value))
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

/// Why a text is not JSON, and where.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    /// The byte offset at which the text stops being JSON.
    public var offset: Int
    public var message: String

    public var description: String { "\(message) at byte \(offset)" }
}

extension JSONValue {
    /// Parses `bytes` as one JSON value (RFC 8259), objects keeping their keys in order. Numbers
    /// without a fraction or exponent that fit an `Int` are `.int`, others `.double`. Nesting
    /// deeper than 64 levels is refused (btfgen's own documents nest four deep).
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        var p = JSONParser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.at == bytes.count else { throw p.fail("text after the value") }
        return v
    }

    /// The value of `key` in an object (the first, if repeated); nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var at = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ message: String) -> JSONParseError { JSONParseError(offset: at, message: message) }

    mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0a || bytes[at] == 0x0d || bytes[at] == 0x09 { at += 1 }
    }

    mutating func literal(_ word: StaticString, _ v: JSONValue) throws(JSONParseError) -> JSONValue {
        let w = word.withUTF8Buffer { Array($0) }
        guard bytes.count - at >= w.count, bytes[at..<at + w.count].elementsEqual(w) else { throw fail("not a JSON value") }
        at += w.count
        return v
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard at < bytes.count else { throw fail("unexpected end") }
        switch bytes[at] {
        case UInt8(ascii: "{"):
            guard depth < 64 else { throw fail("nested too deep") }
            at += 1
            var fields: [(String, JSONValue)] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(fields) }
            while true {
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                at += 1
                skipSpace()
                fields.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard at < bytes.count else { throw fail("unexpected end") }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                guard bytes[at] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                at += 1
                return .object(fields)
            }
        case UInt8(ascii: "["):
            guard depth < 64 else { throw fail("nested too deep") }
            at += 1
            var items: [JSONValue] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard at < bytes.count else { throw fail("unexpected end") }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                guard bytes[at] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                at += 1
                return .array(items)
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return try number()
        }
    }

    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = at
        var integral = true
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
        let digits = at
        while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
        guard at > digits, bytes[digits] != UInt8(ascii: "0") || at == digits + 1 else { throw fail("not a JSON value") }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            integral = false
            at += 1
            let f = at
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
            guard at > f else { throw fail("no digits after '.'") }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            integral = false
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            let e = at
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
            guard at > e else { throw fail("no digits in the exponent") }
        }
        let text = String(decoding: bytes[start..<at], as: UTF8.self)
        if integral, let i = Int(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else { throw JSONParseError(offset: start, message: "number out of range") }
        return .double(d)
    }

    /// A string, at its opening quote.
    mutating func string() throws(JSONParseError) -> String {
        at += 1
        var out: [UInt8] = []
        while true {
            guard at < bytes.count else { throw fail("unterminated string") }
            let c = bytes[at]
            at += 1
            switch c {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard at < bytes.count else { throw fail("unterminated string") }
                let e = bytes[at]
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xd800..<0xdc00).contains(scalar) {
                        guard bytes.count - at >= 6, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate")
                        }
                        at += 2
                        let low = try hex4()
                        guard (0xdc00..<0xe000).contains(low) else { throw fail("unpaired surrogate") }
                        scalar = 0x10000 + (scalar - 0xd800) << 10 + (low - 0xdc00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("unpaired surrogate") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw fail("bad escape")
                }
            default:
                guard c >= 0x20 else { throw fail("control character in a string") }
                out.append(c)
            }
        }
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - at >= 4 else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[at]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | UInt32(d)
            at += 1
        }
        return v
    }
}
