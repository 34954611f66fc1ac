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
        var out = ""
        write(to: &out, indent: "")
        return out
    }

    /// On one line, with no spaces: a JSON Lines record.
    public func renderedCompact() -> String {
        var out = ""
        writeCompact(to: &out)
        return out
    }

    private func writeCompact(to out: inout String) {
        switch self {
        case .array(let items):
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                v.writeCompact(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { out += "," }
                JSONValue.quote(k, into: &out)
                out += ":"
                v.writeCompact(to: &out)
            }
            out += "}"
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

    package func write(to out: inout String, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): JSONValue.quote(s, into: &out)
        case .inline(let v): v.writeCompact(to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            if items.allSatisfy(\.isScalar) {
                out += "["
                for (i, v) in items.enumerated() {
                    if i > 0 { out += ", " }
                    v.write(to: &out, indent: indent)
                }
                out += "]"
                return
            }
            let inner = indent + "  "
            out += "[\n"
            for (i, v) in items.enumerated() {
                out += inner
                v.write(to: &out, indent: inner)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .object(let fields):
            if fields.isEmpty { out += "{}"; return }
            let inner = indent + "  "
            out += "{\n"
            for (i, (k, v)) in fields.enumerated() {
                out += inner
                JSONValue.quote(k, into: &out)
                out += ": "
                v.write(to: &out, indent: inner)
                out += i == fields.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        }
    }

    package static func quote(_ s: String, into out: inout String) {
        out += "\""
        // Most strings (paths, names, kinds) need no escape: one append, not one per character.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
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
