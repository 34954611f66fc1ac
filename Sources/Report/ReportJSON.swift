import BTF
import Minimize
import Pipeline

extension RunReport {
    /// The fields before `kernels`.
    var headJSON: [(String, JSONValue)] {
        [
            ("schema", .string(schema)),
            ("source", .string(source.rawValue)),
            ("input", input.json),
            ("output", .string(output)),
            ("output_format", outputFormat.json),
            ("detail", .string(detail.rawValue)),
            ("objects", .array(objects.map(JSONValue.string))),
            ("by_object", .array(byObject.map(\.json))),
            ("findings", .array(findings.map(\.json))),
            ("finding_groups", .array(findingGroups.map { g in
                .inline(.object([("kernels", .int(g.kernels)), ("findings", .array(g.findings.map(JSONValue.int)))]))
            })),
        ]
    }

    /// The report as JSON, in the schema of `docs/report-schema.md`, pretty-printed with the
    /// entries of long lists on one line each.
    var renderedJSON: String {
        var all = ""
        renderJSON { all += $0 }
        all.removeLast()
        return all
    }

    /// The JSON report, handed to `emit` a piece at a time (about a megabyte each), written a
    /// kernel and a matrix row at a time: a report of thousands of kernels never exists as one
    /// tree of values, nor whole in memory when `emit` writes to a file.
    public func renderJSON(_ emit: (String) -> Void) {
        var out = "{\n"
        func flush(_ force: Bool = false) {
            if force || out.utf8.count > 1 << 20 {
                emit(out)
                out = ""
            }
        }
        func key(_ k: String) {
            out += "  "
            JSONValue.quote(k, into: &out)
            out += ": "
        }
        // A long list at `indent`, one entry per line, flushed as it grows.
        func list<T>(_ items: [T], indent: String, _ entry: (T) -> JSONValue) {
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += indent + "  "
                entry(item).write(to: &out, indent: indent + "  ")
                out += i == items.count - 1 ? "\n" + indent + "]" : ",\n"
                flush()
            }
        }
        for (k, v) in headJSON {
            key(k)
            v.write(to: &out, indent: "  ")
            out += ",\n"
        }
        key("kernels")
        if detail == .full {
            list(kernels, indent: "  ", kernelJSON)
        } else if kernels.isEmpty {
            out += "[]"
        } else {
            // Written straight into the text, the same bytes `kernelJSON` renders: the kernels
            // are most of a report at archive scale, and a tree of values per kernel cost as
            // much as a tenth of the kernel's trim.
            out += "[\n"
            for (i, k) in kernels.enumerated() {
                out += "    "
                writeKernel(k, to: &out)
                out += i == kernels.count - 1 ? "\n  ]" : ",\n"
                flush()
            }
        }
        out += ",\n"
        key("matrix")
        out += "{\n    \"objects\": "
        JSONValue.array(matrix.objects.map(JSONValue.string)).write(to: &out, indent: "    ")
        out += ",\n    \"rows\": "
        if matrix.rows.isEmpty {
            out += "[]"
        } else {
            // Written straight into the text, the same bytes as `.inline(.object(["path",
            // "cells"]))`: a row per kernel, a cell per object, no tree of values for them.
            out += "[\n"
            for (i, r) in matrix.rows.enumerated() {
                out += "      {\"path\":"
                JSONValue.quote(r.path, into: &out)
                out += ",\"cells\":["
                for (j, c) in r.cells.enumerated() {
                    if j > 0 { out += "," }
                    JSONValue.quote(c, into: &out)
                }
                out += i == matrix.rows.count - 1 ? "]}\n    ]" : "]},\n"
                flush()
            }
        }
        out += "\n  },\n"
        key("totals")
        totals.json.write(to: &out, indent: "  ")
        out += "\n}\n"
        flush(true)
    }

    /// `kernelJSON(k)` of a summary report, written at the kernels' indentation.
    func writeKernel(_ k: Kernel, to out: inout String) {
        func field(_ name: String) { out += ",\n      \""; out += name; out += "\": " }
        func int(_ v: Int?) { if let v { out += String(v) } else { out += "null" } }
        func string(_ v: String?) { if let v { JSONValue.quote(v, into: &out) } else { out += "null" } }
        out += "{\n      \"path\": "
        string(k.path)
        field("output"); string(k.output)
        field("status"); string(k.status.rawValue)
        field("message"); string(k.message)
        field("member"); string(k.member)
        field("input_bytes"); int(k.inputBytes)
        field("raw_bytes"); int(k.rawBytes)
        field("output_bytes"); int(k.outputBytes)
        field("raw_output_bytes"); int(k.rawOutputBytes)
        field("ratio"); if let r = k.ratio, r.isFinite { out += "\(r)" } else { out += "null" }
        field("input_types"); int(k.inputTypes)
        field("output_types"); int(k.outputTypes)
        field("input_members"); int(k.inputMembers)
        field("output_members"); int(k.outputMembers)
        field("finding_group"); int(k.findingGroup)
        field("shared_bytes"); int(k.sharedBytes)
        if let modules = k.modules {
            field("modules")
            JSONValue.array(modules.map(JSONValue.string)).write(to: &out, indent: "      ")
            field("module_renames")
            JSONValue.array((k.moduleRenames ?? []).map(\.json)).write(to: &out, indent: "      ")
        }
        field("objects")
        if k.objects.isEmpty {
            out += "[]"
        } else {
            out += "[\n"
            for (i, o) in k.objects.enumerated() {
                out += "        {\"object\":"
                string(o.object)
                out += ",\"total\":"; int(o.total)
                out += ",\"resolved\":"; int(o.resolved)
                out += ",\"unresolved\":"; int(o.unresolved)
                out += ",\"errors\":"; int(o.errors)
                out += ",\"compat\":"; string(o.compat)
                out += ",\"own_bytes\":"; int(o.ownBytes)
                out += ",\"shared_bytes\":"; int(o.sharedBytes)
                out += i == k.objects.count - 1 ? "}\n      ]" : "},\n"
            }
        }
        out += "\n    }"
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
    /// The problem's fields between the object and the kernel count.
    var json: JSONValue {
        guard case .object(let fields) = problem.json else { return .null }
        return .inline(.object([("object", .string(object))] + fields + [("kernels", .int(kernels))]))
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
