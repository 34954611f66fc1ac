#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BTF
import Minimize
import Pipeline

/// The formats a report is written in.
public enum ReportFormat: String, Sendable, CaseIterable {
    case text, json, md, csv, html

    /// The format a file name asks for by its extension: `.txt`/`.text`, `.json`, `.md`/`.markdown`,
    /// `.csv`, `.html`/`.htm`; nil for any other.
    public init?(fileName: String) {
        let name = fileName.lowercased()
        guard let dot = name.lastIndex(of: "."), !name[dot...].contains("/") else { return nil }
        switch name[name.index(after: dot)...] {
        case "txt", "text": self = .text
        case "json": self = .json
        case "md", "markdown": self = .md
        case "csv": self = .csv
        case "html", "htm": self = .html
        default: return nil
        }
    }

    /// Also accepts `txt` for `text` and `markdown` for `md`.
    public init?(name: String) {
        switch name.lowercased() {
        case "txt", "text": self = .text
        case "markdown", "md": self = .md
        default: self.init(rawValue: name.lowercased())
        }
    }
}

/// A table as the text, Markdown and HTML renderers share it.
struct ReportTable {
    var title: String
    var note: String?
    var headers: [String]
    var rows: [[String]]
    /// Columns holding numbers, right-aligned.
    var numeric: Set<Int> = []
}

extension RunReport {
    /// The report in `format`.
    public func rendered(_ format: ReportFormat) -> String {
        switch format {
        case .json: return renderedJSON + "\n"
        case .text: return renderText(header: headerLines, tables: tables)
        case .md: return renderMarkdown(title: "btfgen report", header: headerLines, tables: tables)
        case .csv: return csv
        case .html: return html
        }
    }

    /// Short names for the objects: file names, or the paths as given when file names repeat.
    var objectLabels: [String] { shortLabels(objects) }

    var headerLines: [String] {
        var lines: [String] = []
        if let input { lines.append("input: \(input)") }
        lines.append("output: \(output)" + (outputFormat.map { " (\($0))" } ?? ""))
        if source == .outputs { lines.append("made from the output files alone: no input sizes") }
        // A long list of objects is in the Objects table (and in full in the JSON).
        lines.append("objects: " + (objects.isEmpty ? "none" : objects.count > 10
            ? "\(objects.count) (\(objectLabels.prefix(3).joined(separator: ", ")), ...)" : objects.joined(separator: ", ")))
        return lines
    }

    /// Kernels up to which the text and Markdown reports list every kernel and the whole
    /// matrix; a larger run shows its groups instead (the full lists are in JSON and CSV).
    static let listedKernels = 50
    /// Findings the text and Markdown reports list, most kernels first.
    static let listedFindings = 20

    var tables: [ReportTable] {
        let small = kernels.count <= Self.listedKernels
        return [byObjectTable, findingTable(limit: Self.listedFindings), groupTable, small ? kernelTable : nil,
                moduleTable, small ? matrixTable : nil, totalsTable].compactMap { $0 }
    }

    /// Kernels read with their modules: which modules, and the module types written under
    /// another name. Up to `listedKernels` rows (the rest are in the JSON).
    var moduleTable: ReportTable? {
        let withModules = kernels.filter { $0.modules != nil }
        guard !withModules.isEmpty else { return nil }
        var rows = withModules.prefix(Self.listedKernels).map { k -> [String] in
            let names = k.modules ?? [], renames = k.moduleRenames ?? []
            let listed = names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", ... (\(names.count - 10) more)" : "")
            return [k.path, String(names.count), listed,
                    renames.isEmpty ? "-" : renames.map { "\($0.kind) \($0.name) of \($0.module) as \($0.renamedTo)" }.joined(separator: "; ")]
        }
        if withModules.count > Self.listedKernels {
            rows.append(["(\(withModules.count - Self.listedKernels) more kernels with modules in the JSON)", "", "", ""])
        }
        return ReportTable(title: "Modules",
                           note: "kernels read with module BTF; renamed: module types the output holds under another name, so that read as one file they are no local type's candidates where vmlinux serves it (libbpf's rule)",
                           headers: ["kernel", "modules", "names", "renamed"], rows: rows, numeric: [1])
    }

    /// The object-first view: per object, its kernels by outcome and its most common findings.
    var byObjectTable: ReportTable? {
        guard !objects.isEmpty else { return nil }
        let labels = objectLabels
        let views = byObject
        let attributed = views.contains { $0.ownBytes != nil }
        let rows = views.enumerated().map { i, v -> [String] in
            let top = v.findings.prefix(3).map { f in
                let x = findings[f]
                return "\(x.section) #\(x.relo) \(x.kind) \(x.access) (\(x.kernels))"
            }
            let more = v.findings.count > 3 ? "; \(v.findings.count - 3) more" : ""
            let bytes = attributed ? [String(v.ownBytes ?? 0), String(v.sharedBytes ?? 0)] : []
            return [labels[i], String(v.kernels.ok), String(v.kernels.unresolved), String(v.kernels.errors), String(v.notWritten)]
                + bytes + [String(v.findings.count), top.joined(separator: "; ") + more]
        }
        let bytesNote = attributed
            ? "; own bytes: output bytes only this object needs, shared bytes: those it needs with other objects, summed over kernels (btfgen explain shows why)"
            : ""
        return ReportTable(title: "Objects",
                           note: "kernels where the object is ok, has unresolved relocations only, or has failing ones; its distinct findings, most kernels first (kernel count in parentheses)" + bytesNote,
                           headers: ["object", "ok", "unresolved", "errors", "not written"] + (attributed ? ["own bytes", "shared bytes"] : [])
                               + ["findings", "most common"],
                           rows: rows, numeric: attributed ? [1, 2, 3, 4, 5, 6, 7] : [1, 2, 3, 4, 5])
    }

    /// Distinct findings, most kernels first; `limit` rows at most (nil: all).
    func findingTable(limit: Int?) -> ReportTable? {
        guard !findings.isEmpty else { return nil }
        let labels = Dictionary(zip(objects, objectLabels), uniquingKeysWith: { a, _ in a })
        let order = findings.indices.sorted(by: onMoreKernels)
        let shown = limit.map { Array(order.prefix($0)) } ?? order
        let rows = shown.map { i -> [String] in
            let f = findings[i]
            return [labels[f.object] ?? f.object, f.outcome.rawValue, f.section, "#\(f.relo)", f.kind, f.access, f.reason, String(f.kernels)]
        }
        let note = shown.count < findings.count
            ? "the \(shown.count) findings on most kernels of \(findings.count); every one, with its kernels, is in the JSON and CSV reports"
            : "each distinct unresolved or failing relocation, with the number of kernels it occurs on"
        return ReportTable(title: "Unresolved and failing relocations", note: note,
                           headers: ["object", "outcome", "section", "relo", "kind", "access", "reason", "kernels"],
                           rows: rows, numeric: [7])
    }

    /// Kernels grouped by directory (distro / release / arch in a btfhub-style tree).
    var groupTable: ReportTable? {
        let groups = groupedByDirectory(kernels.map(\.path))
        guard groups.count > 1 || kernels.count > Self.listedKernels else { return nil }
        let rows = groups.map { g -> [String] in
            let ks = g.indices.map { kernels[$0] }
            let written = ks.filter { $0.status == .written }
            let c = Totals.Compat.of(written)
            return [g.title.isEmpty ? "." : g.title, String(ks.count), String(written.count), String(ks.count - written.count),
                    String(c.ok), String(c.unresolved), String(c.errors), String(written.reduce(0) { $0 + $1.outputBytes })]
        }
        return ReportTable(title: "Kernel groups",
                           note: "by directory; kernel × object pairs that are ok, have unresolved relocations only, or failing ones",
                           headers: ["group", "kernels", "written", "not written", "ok", "unresolved", "errors", "output bytes"],
                           rows: rows, numeric: [1, 2, 3, 4, 5, 6, 7])
    }

    var kernelTable: ReportTable {
        let isRun = source == .run
        // The output column only when outputs are not named as `gen` names them from the input.
        let suffix = outputFormat == OutputFormat.tarXZ.rawValue ? ".tar.xz" : ""
        let showOutput = kernels.contains { k in
            k.status == .written && k.output != k.path && k.output != outputName(for: k.path) + suffix
        }
        var headers = ["kernel"]
        if showOutput { headers.append("output") }
        headers += ["status"]
        if isRun { headers += ["input bytes", "raw BTF bytes"] }
        headers += ["output bytes"]
        if isRun { headers += ["ratio"] }
        headers += isRun ? ["types kept", "members kept"] : ["types", "members"]
        let rows = kernels.map { k -> [String] in
            var row = [k.path]
            if showOutput { row.append(k.output) }
            row.append(k.status.rawValue + (k.message.map { ": \($0)" } ?? ""))
            let written = k.status == .written
            if isRun { row += [k.inputBytes.map { String($0) } ?? "-", k.rawBytes.map { String($0) } ?? "-"] }
            row.append(written ? String(k.outputBytes) : "-")
            if isRun { row.append(k.ratio.map(percent) ?? "-") }
            if !written {
                row += ["-", "-"]
            } else if isRun {
                row += ["\(k.outputTypes) of \(k.inputTypes ?? 0)", "\(k.outputMembers) of \(k.inputMembers ?? 0)"]
            } else {
                row += [String(k.outputTypes), String(k.outputMembers)]
            }
            return row
        }
        let numeric = Set(headers.indices.filter { !["kernel", "output", "status"].contains(headers[$0]) })
        return ReportTable(title: "Kernels", note: isRun ? "ratio = output bytes / input bytes; types exclude void" : nil,
                           headers: headers, rows: rows, numeric: numeric)
    }

    var matrixTable: ReportTable? {
        guard !objects.isEmpty else { return nil }
        return ReportTable(title: "Compatibility",
                           note: "kernel × object: ok, N unresolved (libbpf poisons the instructions), N errors (libbpf refuses to load the object)",
                           headers: ["kernel"] + objectLabels,
                           rows: matrix.rows.map { [$0.path] + $0.cells })
    }

    var totalsTable: ReportTable {
        let t = totals
        var rows: [[String]] = [
            ["kernels", "\(t.kernels) (\(t.outputs) written, \(t.skipped) skipped, \(t.failed) failed)"],
        ]
        if let inBytes = t.inputBytes {
            rows.append(["input bytes", "\(inBytes) as stored, \(t.rawBytes ?? 0) raw BTF"])
        }
        rows.append(["output bytes", "\(t.outputBytes)" + (t.ratio.map { " (\(percent($0)) of input)" } ?? "")
                        + (t.outputBytes != t.rawOutputBytes ? ", \(t.rawOutputBytes) raw BTF" : "")])
        rows.append(["types", t.inputTypes.map { "\(t.outputTypes) of \($0) kept" } ?? String(t.outputTypes)])
        rows.append(["members", t.inputMembers.map { "\(t.outputMembers) of \($0) kept" } ?? String(t.outputMembers)])
        if !objects.isEmpty {
            let r = t.relocations
            rows.append(["relocations", "\(r.total) (\(r.resolved) resolved, \(r.unresolved) unresolved, \(r.errors) errors)"])
            rows.append(["kernel × object", "\(t.compat.ok) ok, \(t.compat.unresolved) with unresolved, \(t.compat.errors) with errors"])
            rows.append(["findings", "\(findings.count) distinct unresolved or failing relocations in \(findingGroups.count) distinct sets of kernels' findings"])
        }
        rows.append(["identical outputs", "\(t.identicalOutputs) of \(t.outputs) share their bytes with another; \(t.uniqueOutputs) unique, "
                        + "\(t.duplicateOutputs) redundant copies: dedup would save \(t.dedupSavedBytes) bytes"])
        if kernels.count <= Self.listedKernels {
            for g in t.duplicateGroups { rows.append(["  same bytes", g.joined(separator: ", ")]) }
        } else if !t.duplicateGroups.isEmpty {
            rows.append(["  same bytes", "\(t.duplicateGroups.count) groups of identical outputs (listed in the JSON's totals.duplicate_groups)"])
        }
        rows.append(["packed", t.packedBytes.map { "\($0) bytes: all \(t.outputs) outputs as one .tar.xz with its index"
                        + (t.packedBytesWithoutDedup.map { " (\($0) bytes with every output stored whole)" } ?? "") }
                        ?? "unavailable: \(t.packedError ?? "not computed")"])
        return ReportTable(title: "Totals", note: nil, headers: ["", ""], rows: rows)
    }

    /// The CSV report's columns, in order. Every row has all of them; `record` says which of
    /// the others it fills (see `csv`).
    static let csvColumns = [
        "record", "path", "output", "status", "message", "member",
        "input_bytes", "raw_bytes", "output_bytes", "raw_output_bytes", "ratio",
        "input_types", "output_types", "input_members", "output_members", "duplicate_group",
        "object", "total", "resolved", "unresolved", "errors", "compat",
        "section", "relo", "kind", "access", "outcome", "reason", "finding", "finding_group",
        "kernels", "outputs", "skipped", "failed", "compat_ok", "compat_unresolved", "compat_errors",
        "unique_outputs", "identical_outputs", "duplicate_outputs", "dedup_saved_bytes",
        "packed_bytes", "packed_error", "source", "output_format", "own_bytes", "shared_bytes",
        "modules", "module_renames", "packed_bytes_without_dedup",
    ]

    /// Everything the JSON report holds, as one table with a fixed header (`csvColumns`), one
    /// record per row, told apart by the first column:
    ///
    /// - `kernel`, one per kernel: the kernel table, and `duplicate_group`, the 1-based index of
    ///   the kernel's output in `totals.duplicate_groups` (empty when its bytes are unique);
    ///   for a kernel read with modules, `modules` (their names, space-separated) and
    ///   `module_renames` (`module:kind:name:renamed_to`, space-separated);
    /// - `object`, one per kernel × object, in matrix order: the relocation counts (empty
    ///   when the kernel was not written) and `compat`, the matrix cell;
    /// - `finding`, one per distinct unresolved or failing relocation (`finding` its index in the
    ///   JSON's `findings`, `kernels` the kernels it occurs on), and the kernels' `finding_group`;
    /// - `problem`, with `--report-detail full` only: one per kernel × unresolved or failing
    ///   relocation, with the `finding` it is;
    /// - `total`, one, last: the totals (`total` … `errors` count relocations), with `path` and
    ///   `output` the directories the other rows' paths are relative to.
    ///
    /// Columns a record does not use are empty, as are values JSON has as `null`.
    var csv: String {
        let columns = Self.csvColumns
        let index = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        var out = csvRow(columns)
        func row(_ record: String, _ fields: KeyValuePairs<String, String?>) {
            var cells = [String](repeating: "", count: columns.count)
            cells[0] = record
            for (key, value) in fields {
                guard let i = index[key] else { preconditionFailure("no CSV column \(key)") }
                cells[i] = value ?? ""
            }
            out += csvRow(cells)
        }
        func num(_ v: Int?) -> String? { v.map { String($0) } }
        func real(_ v: Double?) -> String? { v.map { "\($0)" } }

        var groupOf: [String: Int] = [:]
        for (n, group) in totals.duplicateGroups.enumerated() { for name in group { groupOf[name] = n + 1 } }
        for k in kernels {
            let written = k.status == .written
            row("kernel", ["path": k.path, "output": k.output, "status": k.status.rawValue, "message": k.message,
                           "member": k.member, "input_bytes": num(k.inputBytes), "raw_bytes": num(k.rawBytes),
                           "output_bytes": num(k.outputBytes), "raw_output_bytes": num(k.rawOutputBytes),
                           "ratio": real(k.ratio), "input_types": num(k.inputTypes), "output_types": num(k.outputTypes),
                           "input_members": num(k.inputMembers), "output_members": num(k.outputMembers),
                           "duplicate_group": written ? num(groupOf[k.output]) : nil, "finding_group": num(k.findingGroup),
                           "shared_bytes": num(k.sharedBytes), "modules": k.modules?.joined(separator: " "),
                           "module_renames": k.moduleRenames?.map { "\($0.module):\($0.kind):\($0.name):\($0.renamedTo)" }
                               .joined(separator: " ")])
        }
        for (i, k) in kernels.enumerated() {
            for (name, cell) in zip(objects, matrixRow(i).cells) {
                let o = k.objects.first { $0.object == name }
                row("object", ["path": k.path, "object": name, "total": num(o?.total), "resolved": num(o?.resolved),
                               "unresolved": num(o?.unresolved), "errors": num(o?.errors), "compat": cell,
                               "own_bytes": num(o?.ownBytes), "shared_bytes": num(o?.sharedBytes)])
            }
        }
        for (i, f) in findings.enumerated() {
            row("finding", ["object": f.object, "section": f.section, "relo": num(f.relo), "kind": f.kind, "access": f.access,
                            "outcome": f.outcome.rawValue, "reason": f.reason, "finding": num(i), "kernels": num(f.kernels)])
        }
        if detail == .full {
            for k in kernels {
                guard let g = k.findingGroup, findingGroups.indices.contains(g) else { continue }
                for i in findingGroups[g].findings {
                    let f = findings[i]
                    row("problem", ["path": k.path, "object": f.object, "section": f.section, "relo": num(f.relo),
                                    "kind": f.kind, "access": f.access, "outcome": f.outcome.rawValue, "reason": f.reason,
                                    "finding": num(i)])
                }
            }
        }
        let t = totals
        row("total", ["path": input, "output": output, "input_bytes": num(t.inputBytes), "raw_bytes": num(t.rawBytes),
                      "output_bytes": num(t.outputBytes), "raw_output_bytes": num(t.rawOutputBytes), "ratio": real(t.ratio),
                      "input_types": num(t.inputTypes), "output_types": num(t.outputTypes),
                      "input_members": num(t.inputMembers), "output_members": num(t.outputMembers),
                      "total": num(t.relocations.total), "resolved": num(t.relocations.resolved),
                      "unresolved": num(t.relocations.unresolved), "errors": num(t.relocations.errors),
                      "kernels": num(t.kernels), "outputs": num(t.outputs), "skipped": num(t.skipped), "failed": num(t.failed),
                      "compat_ok": num(t.compat.ok), "compat_unresolved": num(t.compat.unresolved),
                      "compat_errors": num(t.compat.errors), "unique_outputs": num(t.uniqueOutputs),
                      "identical_outputs": num(t.identicalOutputs), "duplicate_outputs": num(t.duplicateOutputs),
                      "dedup_saved_bytes": num(t.dedupSavedBytes), "packed_bytes": num(t.packedBytes),
                      "packed_error": t.packedError, "packed_bytes_without_dedup": num(t.packedBytesWithoutDedup),
                      "source": source.rawValue, "output_format": outputFormat,
                      "shared_bytes": num(t.sharedBytes)])
        return out
    }
}

// MARK: - Shared renderers

/// The shortest trailing path of each path that no other path ends with: `edge.bpf.o` and
/// `bpfeb/edge.bpf.o` for `testdata/bpf/edge.bpf.o` and `testdata/bpf/bpfeb/edge.bpf.o`.
func shortLabels(_ paths: [String]) -> [String] {
    let parts = paths.map { $0.split(separator: "/", omittingEmptySubsequences: false).map(String.init) }
    return paths.indices.map { i in
        for n in 1...max(parts[i].count, 1) {
            let tail = parts[i].suffix(n)
            let clash = paths.indices.contains { j in j != i && paths[j] != paths[i] && parts[j].suffix(n).elementsEqual(tail) }
            if !clash { return tail.joined(separator: "/") }
        }
        return paths[i]
    }
}

/// `ratio` as a percentage with two decimals ("0.46%"); the exact value is in the JSON.
func percent(_ ratio: Double) -> String { cFormat("%.2f%%", ratio * 100) }

func renderText(header: [String], tables: [ReportTable]) -> String {
    var out = header.joined(separator: "\n") + "\n"
    for t in tables {
        out += "\n" + t.title + "\n"
        if let note = t.note { out += "(" + note + ")\n" }
        let showHeaders = t.headers.contains { !$0.isEmpty }
        let all = (showHeaders ? [t.headers] : []) + t.rows
        let widths = t.headers.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        for row in all {
            var line = ""
            for (c, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[c] - cell.count))
                if c > 0 { line += "  " }
                line += t.numeric.contains(c) ? pad + cell : (c == row.count - 1 ? cell : cell + pad)
            }
            out += "  " + line + "\n"
        }
    }
    return out
}

func renderMarkdown(title: String, header: [String], tables: [ReportTable]) -> String {
    func cell(_ s: String) -> String {
        s.replacing("\\", with: "\\\\").replacing("|", with: "\\|")
            .replacing("\n", with: " ")
    }
    var out = "# \(title)\n\n"
    for line in header { out += "- \(cell(line))\n" }
    for t in tables {
        out += "\n## \(t.title)\n\n"
        if let note = t.note { out += "\(cell(note))\n\n" }
        out += "| " + t.headers.map(cell).joined(separator: " | ") + " |\n"
        out += "|" + t.headers.indices.map { t.numeric.contains($0) ? " ---: |" : " --- |" }.joined() + "\n"
        for row in t.rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
    }
    return out
}

/// One RFC 4180 line: fields with a comma, quote or line break are quoted.
func csvRow(_ fields: [String]) -> String {
    fields.map { f in
        f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + f.replacing("\"", with: "\"\"") + "\"" : f
    }.joined(separator: ",") + "\r\n"
}
