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
        if kernels.isEmpty {
            out.raw("[]")
        } else {
            // Written straight into the text: the kernels are most of a report at archive scale.
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
            for (i, k) in kernels.enumerated() {
                out.raw("      {\"path\":")
                out.string(k.path)
                out.raw(",\"cells\":[")
                writeCells(k, to: &out)
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

    /// `matrixRow`'s cells for `k`, as JSON strings separated by commas.
    private func writeCells(_ k: Kernel, to out: inout JSONText) {
        for j in objects.indices {
            out.raw(j > 0 ? ",\"" : "\"")
            writeMatrixCell(k, j, to: &out)
            out.char("\"")
        }
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

    /// `k.objects` in `objects` order, as a run and a report of outputs make them; a kernel with
    /// other objects has them matched by name, and those it lacks counted as nothing.
    func aligned(_ k: Kernel) -> [ObjectSummary] {
        if k.objects.isEmpty || k.objects.lazy.map({ $0.object }).elementsEqual(objects) { return k.objects }
        return objects.indices.map { object(k, at: $0) ?? ObjectSummary(object: objects[$0]) }
    }

    /// One kernel, at the kernels' indentation: its fields, its objects' counts as columns in
    /// `objects` order, and with `detail == .full` its problems.
    ///
    /// Columns, not an entry per object: 2,000 kernels × 100 objects are 200,000 pairs, and
    /// each pair's five numbers take a few bytes where the object's path and the keys beside them
    /// took a hundred and fifty (a 46 MB report, against 9 MB).
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
        let pairs = aligned(k)
        // Each column written in a loop of its own, the field read directly: this is most of
        // a report's bytes at archive scale.
        @inline(__always) func column(_ name: StaticString, _ value: (borrowing ObjectSummary) -> Int?) {
            out.char("\"")
            out.raw(name)
            out.raw("\":[")
            for i in pairs.indices {
                if i > 0 { out.char(",") }
                if let v = value(pairs[i]) { out.int(v) } else { out.raw("null") }
            }
            out.char("]")
        }
        out.char("{"); column("total") { $0.total }
        out.raw(", "); column("resolved") { $0.resolved }
        out.raw(", "); column("unresolved") { $0.unresolved }
        out.raw(", "); column("errors") { $0.errors }
        out.raw(",\n        "); column("own_bytes") { $0.ownBytes }
        out.raw(",\n        "); column("shared_bytes") { $0.sharedBytes }
        out.char("}")
        if detail == .full {
            field("problems")
            var first = true
            out.raw("[")
            // The group's findings ascend, and `findings` is in `objects` order: each object's
            // problems come together, in `.BTF.ext` order (as `problems(_:_:)` gives them).
            if let g = k.findingGroup, findingGroups.indices.contains(g) {
                for i in findingGroups[g].findings where findings.indices.contains(i) {
                    out.raw(first ? "\n        " : ",\n        ")
                    first = false
                    findings[i].problem.write(object: findings[i].object, to: &out)
                }
            }
            out.raw(first ? "]" : "\n      ]")
        }
        out.raw("\n    }")
    }
}

extension ModuleRename {
    var json: JSONValue {
        .inline(.object([("module", .string(module)), ("kind", .string(kind)), ("name", .string(name)),
                         ("renamed_to", .string(renamedTo))]))
    }
}

extension RunReport.Problem {
    /// A `problems[]` entry on one line: the object, then the problem's fields.
    func write(object: String, to out: inout JSONText) {
        writeFields(object: object, to: &out)
        out.raw("}")
    }

    /// The entry without its closing brace, for `findings[]` to add the kernel count.
    fileprivate func writeFields(object: String, to out: inout JSONText) {
        out.raw("{\"object\":"); out.string(object)
        out.raw(",\"section\":"); out.string(section)
        out.raw(",\"relo\":"); out.int(relo)
        out.raw(",\"kind\":"); out.string(kind)
        out.raw(",\"access\":"); out.string(access)
        out.raw(",\"outcome\":"); out.string(outcome.rawValue)
        out.raw(",\"reason\":"); out.string(reason)
    }
}

extension RunReport.Finding {
    /// The problem's fields between the object and the kernel count, on one line.
    func write(to out: inout JSONText) {
        problem.writeFields(object: object, to: &out)
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
