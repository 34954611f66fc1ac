import BTF
import Minimize
import Pipeline

extension RunReport {
    /// The report as JSON, in the schema of `docs/report-schema.md`, pretty-printed with the
    /// entries of long lists on one line each.
    var renderedJSON: String {
        var all: [UInt8] = []
        renderJSON { all += $0 }
        all.removeLast()
        return String(decoding: all, as: UTF8.self)
    }

    /// The JSON report, handed to `emit` a piece at a time (about a megabyte each), written a
    /// kernel and a matrix row at a time: a report of thousands of kernels never exists as one
    /// tree of values, nor whole in memory when `emit` writes to a file.
    ///
    /// `finalTotals`, when given, supplies the totals instead of `totals`; it is called once,
    /// after everything before them has been handed to `emit` (work on the totals, such as
    /// `outputStatistics`, can go on while the rest is written).
    public func renderJSON(totals finalTotals: (() -> Totals)? = nil, _ emit: ([UInt8]) -> Void) {
        var out = JSONText()
        out.bytes.reserveCapacity(1 << 20 + 1 << 16)
        func flush(_ force: Bool = false) {
            if force || out.bytes.count > 1 << 20 {
                emit(out.bytes)
                out.bytes.removeAll(keepingCapacity: true)
            }
        }
        func key(_ k: StaticString) {
            out.raw("  \"")
            out.raw(k)
            out.raw("\": ")
        }
        // A long list at the top level, one entry per line, flushed as it grows; what `JSONValue`
        // writes for an array of `.inline` entries, written straight into the text.
        func list<T>(_ items: [T], _ entry: (T, inout JSONText) -> Void) {
            guard !items.isEmpty else { out.raw("[]"); return }
            out.raw("[\n")
            for (i, item) in items.enumerated() {
                out.raw("    ")
                entry(item, &out)
                out.raw(i == items.count - 1 ? "\n  ]" : ",\n")
                flush()
            }
        }
        out.raw("{\n")
        key("schema"); out.string(schema); out.raw(",\n")
        key("source"); out.string(source.rawValue); out.raw(",\n")
        key("input"); out.string(input); out.raw(",\n")
        key("output"); out.string(output); out.raw(",\n")
        key("output_format"); out.string(outputFormat); out.raw(",\n")
        key("detail"); out.string(detail.rawValue); out.raw(",\n")
        key("objects"); writeStrings(objects, to: &out); out.raw(",\n")
        key("by_object"); list(byObject) { v, out in v.json.write(to: &out, indent: "    ") }; out.raw(",\n")
        key("findings"); list(findings) { f, out in f.write(to: &out) }; out.raw(",\n")
        key("finding_groups")
        list(findingGroups) { g, out in
            out.raw("{\"kernels\":")
            out.int(g.kernels)
            out.raw(",\"findings\":[")
            for (i, f) in g.findings.enumerated() {
                if i > 0 { out.raw(",") }
                out.int(f)
            }
            out.raw("]}")
        }
        out.raw(",\n")
        key("kernels")
        if detail == .full {
            if kernels.isEmpty { out.raw("[]") }
            for (i, k) in kernels.enumerated() {
                out.raw(i == 0 ? "[\n    " : "    ")
                kernelJSON(k).write(to: &out, indent: "    ")
                out.raw(i == kernels.count - 1 ? "\n  ]" : ",\n")
                flush()
            }
        } else if kernels.isEmpty {
            out.raw("[]")
        } else {
            // Written straight into the text, the same bytes `kernelJSON` renders: the kernels
            // are most of a report at archive scale.
            out.raw("[\n")
            for (i, k) in kernels.enumerated() {
                out.raw("    ")
                writeKernel(k, to: &out)
                out.raw(i == kernels.count - 1 ? "\n  ]" : ",\n")
                flush()
            }
        }
        out.raw(",\n")
        key("matrix")
        out.raw("{\n    \"objects\": ")
        writeStrings(objects, to: &out)
        out.raw(",\n    \"rows\": ")
        if kernels.isEmpty {
            out.raw("[]")
        } else {
            // The same bytes as `.inline(.object(["path", "cells"]))`: a row per kernel, a cell
            // per object.
            out.raw("[\n")
            for i in kernels.indices {
                let r = matrixRow(i)
                out.raw("      {\"path\":")
                out.string(r.path)
                out.raw(",\"cells\":[")
                for (j, c) in r.cells.enumerated() {
                    if j > 0 { out.raw(",") }
                    out.string(c)
                }
                out.raw(i == kernels.count - 1 ? "]}\n    ]" : "]},\n")
                flush()
            }
        }
        out.raw("\n  },\n")
        key("totals")
        if let finalTotals {
            flush(true)
            finalTotals().json.write(to: &out, indent: "  ")
        } else {
            totals.json.write(to: &out, indent: "  ")
        }
        out.raw("\n}\n")
        flush(true)
    }

    /// A list of strings on one line, as `JSONValue` writes an array of scalars.
    private func writeStrings(_ items: [String], to out: inout JSONText) {
        out.raw("[")
        for (i, s) in items.enumerated() {
            if i > 0 { out.raw(", ") }
            out.string(s)
        }
        out.raw("]")
    }

    /// `kernelJSON(k)` of a summary report, written at the kernels' indentation.
    func writeKernel(_ k: Kernel, to out: inout JSONText) {
        func field(_ name: StaticString) { out.raw(",\n      \""); out.raw(name); out.raw("\": ") }
        out.raw("{\n      \"path\": ")
        out.string(k.path)
        field("output"); out.string(k.output)
        field("status"); out.string(k.status.rawValue)
        field("message"); out.string(k.message)
        field("member"); out.string(k.member)
        field("input_bytes"); out.int(k.inputBytes)
        field("raw_bytes"); out.int(k.rawBytes)
        field("output_bytes"); out.int(k.outputBytes)
        field("raw_output_bytes"); out.int(k.rawOutputBytes)
        field("ratio"); out.double(k.ratio)
        field("input_types"); out.int(k.inputTypes)
        field("output_types"); out.int(k.outputTypes)
        field("input_members"); out.int(k.inputMembers)
        field("output_members"); out.int(k.outputMembers)
        field("finding_group"); out.int(k.findingGroup)
        field("shared_bytes"); out.int(k.sharedBytes)
        if let modules = k.modules {
            field("modules")
            JSONValue.array(modules.map(JSONValue.string)).write(to: &out, indent: "      ")
            field("module_renames")
            JSONValue.array((k.moduleRenames ?? []).map(\.json)).write(to: &out, indent: "      ")
        }
        field("objects")
        if k.objects.isEmpty {
            out.raw("[]")
        } else {
            out.raw("[\n")
            for (i, o) in k.objects.enumerated() {
                out.raw("        {\"object\":")
                out.string(o.object)
                out.raw(",\"total\":"); out.int(o.total)
                out.raw(",\"resolved\":"); out.int(o.resolved)
                out.raw(",\"unresolved\":"); out.int(o.unresolved)
                out.raw(",\"errors\":"); out.int(o.errors)
                out.raw(",\"compat\":"); out.string(o.compat)
                out.raw(",\"own_bytes\":"); out.int(o.ownBytes)
                out.raw(",\"shared_bytes\":"); out.int(o.sharedBytes)
                out.raw(i == k.objects.count - 1 ? "}\n      ]" : "},\n")
            }
        }
        out.raw("\n    }")
    }

    /// One kernel; with `detail == .full`, each object's problems too.
    func kernelJSON(_ k: Kernel) -> JSONValue {
        var modules: [(String, JSONValue)] = []
        if let names = k.modules {
            modules = [("modules", .array(names.map(JSONValue.string))),
                       ("module_renames", .array((k.moduleRenames ?? []).map(\.json)))]
        }
        return .object([
            ("path", .string(k.path)),
            ("output", .string(k.output)),
            ("status", .string(k.status.rawValue)),
            ("message", k.message.json),
            ("member", k.member.json),
            ("input_bytes", k.inputBytes.json),
            ("raw_bytes", k.rawBytes.json),
            ("output_bytes", .int(k.outputBytes)),
            ("raw_output_bytes", .int(k.rawOutputBytes)),
            ("ratio", k.ratio.json),
            ("input_types", k.inputTypes.json),
            ("output_types", .int(k.outputTypes)),
            ("input_members", k.inputMembers.json),
            ("output_members", .int(k.outputMembers)),
            ("finding_group", k.findingGroup.json),
            ("shared_bytes", k.sharedBytes.json),
        ] + modules + [
            ("objects", .array(k.objects.map { o in
                var fields: [(String, JSONValue)] = [
                    ("object", .string(o.object)),
                    ("total", .int(o.total)),
                    ("resolved", .int(o.resolved)),
                    ("unresolved", .int(o.unresolved)),
                    ("errors", .int(o.errors)),
                    ("compat", .string(o.compat)),
                    ("own_bytes", o.ownBytes.json),
                    ("shared_bytes", o.sharedBytes.json),
                ]
                guard detail == .full else { return .inline(.object(fields)) }
                fields.append(("problems", .array(problems(k, o.object).map { .inline($0.json) })))
                return .object(fields)
            })),
        ])
    }
}

extension ModuleRename {
    var json: JSONValue {
        .inline(.object([("module", .string(module)), ("kind", .string(kind)), ("name", .string(name)),
                         ("renamed_to", .string(renamedTo))]))
    }
}

extension RunReport.Problem {
    var json: JSONValue {
        .object([
            ("section", .string(section)),
            ("relo", .int(relo)),
            ("kind", .string(kind)),
            ("access", .string(access)),
            ("outcome", .string(outcome.rawValue)),
            ("reason", .string(reason)),
        ])
    }
}

extension RunReport.Finding {
    /// The problem's fields between the object and the kernel count, on one line.
    func write(to out: inout JSONText) {
        out.raw("{\"object\":"); out.string(object)
        out.raw(",\"section\":"); out.string(section)
        out.raw(",\"relo\":"); out.int(relo)
        out.raw(",\"kind\":"); out.string(kind)
        out.raw(",\"access\":"); out.string(access)
        out.raw(",\"outcome\":"); out.string(outcome.rawValue)
        out.raw(",\"reason\":"); out.string(reason)
        out.raw(",\"kernels\":"); out.int(kernels)
        out.raw("}")
    }
}

extension RunReport.ObjectView {
    var json: JSONValue {
        .object([
            ("object", .string(object)),
            ("kernels_ok", .int(kernels.ok)),
            ("kernels_unresolved", .int(kernels.unresolved)),
            ("kernels_errors", .int(kernels.errors)),
            ("kernels_not_written", .int(notWritten)),
            ("own_bytes", ownBytes.json),
            ("shared_bytes", sharedBytes.json),
            ("findings", .array(findings.map(JSONValue.int))),
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
            ("packed_bytes_without_dedup", packedBytesWithoutDedup.json),
            ("shared_bytes", sharedBytes.json),
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
