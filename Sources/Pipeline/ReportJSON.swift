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
        case .array, .object: return false
        default: return true
        }
    }

    private func write(to out: inout String, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): JSONValue.quote(s, into: &out)
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

    static func quote(_ s: String, into out: inout String) {
        out += "\""
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
    var json: JSONValue { map(JSONValue.int) ?? .null }
}

extension Optional where Wrapped == Double {
    var json: JSONValue { map(JSONValue.double) ?? .null }
}

extension Optional where Wrapped == String {
    var json: JSONValue { map(JSONValue.string) ?? .null }
}

extension RunReport {
    /// The report as JSON, in the schema of `docs/report-schema.md`.
    public var json: JSONValue {
        .object([
            ("schema", .string(schema)),
            ("source", .string(source.rawValue)),
            ("input", input.json),
            ("output", .string(output)),
            ("output_format", outputFormat.json),
            ("objects", .array(objects.map(JSONValue.string))),
            ("kernels", .array(kernels.map(\.json))),
            ("matrix", .object([
                ("objects", .array(matrix.objects.map(JSONValue.string))),
                ("rows", .array(matrix.rows.map { r in
                    .object([("path", .string(r.path)), ("cells", .array(r.cells.map(JSONValue.string)))])
                })),
            ])),
            ("totals", totals.json),
        ])
    }
}

extension RunReport.Kernel {
    var json: JSONValue {
        .object([
            ("path", .string(path)),
            ("output", .string(output)),
            ("status", .string(status.rawValue)),
            ("message", message.json),
            ("member", member.json),
            ("input_bytes", inputBytes.json),
            ("raw_bytes", rawBytes.json),
            ("output_bytes", .int(outputBytes)),
            ("raw_output_bytes", .int(rawOutputBytes)),
            ("ratio", ratio.json),
            ("input_types", inputTypes.json),
            ("output_types", .int(outputTypes)),
            ("input_members", inputMembers.json),
            ("output_members", .int(outputMembers)),
            ("objects", .array(objects.map(\.json))),
        ])
    }
}

extension RunReport.Object {
    var json: JSONValue {
        .object([
            ("object", .string(object)),
            ("total", .int(total)),
            ("resolved", .int(resolved)),
            ("unresolved", .int(unresolved)),
            ("errors", .int(errors)),
            ("compat", .string(compat)),
            ("problems", .array(problems.map { p in
                .object([
                    ("section", .string(p.section)),
                    ("relo", .int(p.relo)),
                    ("kind", .string(p.kind)),
                    ("access", .string(p.access)),
                    ("outcome", .string(p.outcome.rawValue)),
                    ("reason", .string(p.reason)),
                ])
            })),
        ])
    }
}

extension RunReport.Totals {
    var json: JSONValue {
        .object([
            ("kernels", .int(kernels)),
            ("outputs", .int(outputs)),
            ("skipped", .int(skipped)),
            ("failed", .int(failed)),
            ("input_bytes", inputBytes.json),
            ("raw_bytes", rawBytes.json),
            ("output_bytes", .int(outputBytes)),
            ("raw_output_bytes", .int(rawOutputBytes)),
            ("ratio", ratio.json),
            ("input_types", inputTypes.json),
            ("output_types", .int(outputTypes)),
            ("input_members", inputMembers.json),
            ("output_members", .int(outputMembers)),
            ("unique_outputs", .int(uniqueOutputs)),
            ("identical_outputs", .int(identicalOutputs)),
            ("duplicate_outputs", .int(duplicateOutputs)),
            ("dedup_saved_bytes", .int(dedupSavedBytes)),
            ("duplicate_groups", .array(duplicateGroups.map { .array($0.map(JSONValue.string)) })),
            ("packed_bytes", packedBytes.json),
            ("packed_error", packedError.json),
            ("relocations", .object([
                ("total", .int(relocations.total)),
                ("resolved", .int(relocations.resolved)),
                ("unresolved", .int(relocations.unresolved)),
                ("errors", .int(relocations.errors)),
            ])),
            ("compat", .object([
                ("ok", .int(compat.ok)),
                ("unresolved", .int(compat.unresolved)),
                ("errors", .int(compat.errors)),
            ])),
        ])
    }
}
