#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BTF
import Minimize
import Pipeline

// One self-contained HTML page: inline CSS, inline SVG, no scripts, fonts or images.

/// A series of the bar chart: its legend label and colour.
struct ChartSeries {
    var name: String
    var color: String
}

/// One bar group (a kernel): its label and one value per series (nil: no bar).
struct ChartRow {
    var label: String
    var values: [Int?]
    /// Shown after the last bar's value, e.g. the output/input ratio.
    var note: String?
}

extension RunReport {
    /// Written kernels up to which the page draws a bar per kernel; a larger run gets a table
    /// per group instead.
    static let chartedKernels = 200

    /// The report as one self-contained HTML page: the object-first view, then the findings,
    /// then the kernels by group (distro / release / arch), each group folded when the run is
    /// large, so that a page for thousands of kernels stays a few megabytes; then the kernels
    /// read with modules (at most `listedKernels` rows) and the totals.
    public var html: String {
        var body = "<header><h1>btfgen report</h1>\n<p class=\"meta\">"
        body += headerLines.map(htmlEscape).joined(separator: "<br>\n") + "</p></header>\n"
        body += cards()
        if let t = byObjectTable {
            // Coloured where a count is not zero: the outcome at a glance.
            body += htmlTable(t) { col, text in
                guard text != "0", (1...3).contains(col) else { return nil }
                return ["ok", "unres", "err"][col - 1]
            }
        }
        if let t = findingTable(limit: nil) {
            // Long lists start folded (no script needed: <details>).
            body += "<details\(t.rows.count <= 100 ? " open" : "")><summary>\(t.rows.count) distinct unresolved and failing relocations</summary>\n"
            body += htmlTable(t) { col, text in col == 1 ? (text == "error" ? "err" : "unres") : nil }
            body += "</details>\n"
        }
        let isRun = source == .run
        let written = kernels.filter { $0.status == .written }
        if written.count <= Self.chartedKernels {
            let series = isRun
                ? [ChartSeries(name: "input (as stored)", color: "#a7b1bd"), ChartSeries(name: "output", color: "#1f6fb5")]
                : [ChartSeries(name: "output", color: "#1f6fb5")]
            let groups = groupedByDirectory(written.map(\.path)).map { group in
                (group.title, group.indices.map { i -> ChartRow in
                    let k = written[i]
                    return ChartRow(label: nameInGroup(k.path, group.title), values: isRun ? [k.inputBytes, k.outputBytes] : [k.outputBytes],
                                    note: k.ratio.map(percent))
                })
            }
            body += "<section><h2>\(isRun ? "Input vs output size" : "Output size") per kernel</h2>\n"
            body += written.isEmpty ? "<p>No outputs.</p>\n" : svgBarChart(groups: groups, series: series) + "\n"
            body += "</section>\n"
        }
        if kernels.count <= Self.listedKernels {
            if let t = matrixTable { body += htmlTable(t) { col, text in col > 0 ? matrixCellClass(for: text) : nil } }
            body += htmlTable(kernelTable)
        } else {
            if let t = groupTable { body += htmlTable(t) }
            body += groupedMatrix()
        }
        if let t = moduleTable { body += htmlTable(t) }
        body += htmlTable(totalsTable)
        return htmlPage(title: "btfgen report", body: body)
    }

    /// Per group, folded: the matrix cells, one row per distinct (status, cells) with the kernels
    /// that have them (name and output size), in compact markup (end tags the HTML parser
    /// implies are left out). Kernels of one group mostly share a few rows: 2,000 kernels take
    /// a few hundred rows, not 2,000 rows of every object's cell.
    private func groupedMatrix() -> String {
        let labels = objectLabels.map(htmlEscape)
        var out = "<section><h2>Kernels by group</h2>\n<p class=\"note\">kernels with the same cell for every object share a row (N u: N unresolved, N e: N errors), each with its output bytes; open a group to see its kernels</p>\n"
        let head = "<thead><tr><th>kernels (output bytes)<th>status" + labels.map { "<th>" + $0 }.joined() + "</thead>"
        for g in groupedByDirectory(kernels.map(\.path)) {
            let ks = g.indices.map { kernels[$0] }
            let written = ks.filter { $0.status == .written }.count
            let c = Totals.Compat.of(ks)
            out += "<details><summary>\(htmlEscape(g.title.isEmpty ? "." : g.title)): \(ks.count) kernels, \(written) written; "
            out += "\(groupDigits(c.ok)) ok, \(groupDigits(c.unresolved)) unresolved, \(groupDigits(c.errors)) with errors</summary>\n"
            out += "<div class=scroll><table class=m>" + head + "<tbody>\n"
            var rows: [[Int]] = []
            var cellsOfRow: [[String]] = []
            var rowOf: [[String]: Int] = [:]
            for i in g.indices {
                let cells = matrixRow(i).cells
                let key = [kernels[i].status.rawValue] + cells
                if let r = rowOf[key] { rows[r].append(i) } else { rowOf[key] = rows.count; rows.append([i]); cellsOfRow.append(cells) }
            }
            for (row, cells) in zip(rows, cellsOfRow) {
                let names = row.map { i -> String in
                    let k = kernels[i]
                    return htmlEscape(nameInGroup(k.path, g.title)) + (k.status == .written ? " (" + groupDigits(k.outputBytes) + ")" : "")
                }
                out += "<tr><th class=ks>" + names.joined(separator: ", ") + "<td>" + kernels[row[0]].status.rawValue
                for cell in cells {
                    let short = cell.replacing(" unresolved", with: " u").replacing(" errors", with: " e").replacing(" error", with: " e")
                    out += "<td class=" + (matrixCellClass(for: cell) ?? "na") + ">" + htmlEscape(short)
                }
                out += "\n"
            }
            out += "</tbody></table></div></details>\n"
        }
        return out + "</section>\n"
    }

    private func cards() -> String {
        let t = totals
        var cards: [(String, String, String)] = [
            ("Kernels", groupDigits(t.kernels), "\(t.outputs) written, \(t.skipped) skipped, \(t.failed) failed"),
        ]
        if let inBytes = t.inputBytes {
            cards.append(("Output bytes", groupDigits(t.outputBytes),
                          "of \(groupDigits(inBytes)) input" + (t.ratio.map { " (\(percent($0)))" } ?? "")))
        } else {
            cards.append(("Output bytes", groupDigits(t.outputBytes), "\(t.outputs) files"))
        }
        if !objects.isEmpty {
            let r = t.relocations
            cards.append(("Relocations", groupDigits(r.total),
                          "\(r.resolved) resolved, \(r.unresolved) unresolved, \(r.errors) errors"))
        }
        cards.append(("Identical outputs", groupDigits(t.identicalOutputs),
                      "\(t.uniqueOutputs) unique; dedup saves \(groupDigits(t.dedupSavedBytes)) bytes"))
        cards.append(("Packed .tar.xz", t.packedBytes.map(groupDigits) ?? "n/a", "all outputs, one archive (bytes)"))
        return "<div class=\"cards\">\n" + cards.map { title, value, note in
            "<div class=\"card\"><div class=\"card-title\">\(htmlEscape(title))</div><div class=\"card-value\">\(htmlEscape(value))</div><div class=\"card-note\">\(htmlEscape(note))</div></div>"
        }.joined(separator: "\n") + "\n</div>\n"
    }
}

/// The CSS class of a compatibility matrix cell.
func matrixCellClass(for text: String) -> String? {
    if text == "ok" { return "ok" }
    if text.contains("error") { return "err" }
    if text.contains("unresolved") { return "unres" }
    if text == "skipped" || text == "failed" || text == "-" { return "na" }
    return nil
}

/// Indices grouped by their path's directory ("ubuntu/20.04/x86_64"), groups in first-seen order;
/// a single group with an empty title when no path has a directory.
func groupedByDirectory(_ paths: [String]) -> [(title: String, indices: [Int])] {
    var order: [String] = []
    var members: [String: [Int]] = [:]
    for (i, p) in paths.enumerated() {
        let dir = p.contains("/") ? dirName(p) : ""
        if members[dir] == nil { order.append(dir) }
        members[dir, default: []].append(i)
    }
    return order.map { ($0.split(separator: "/").joined(separator: " / "), members[$0] ?? []) }
}

/// A kernel's label under its group's heading: the file name, or the whole path when the
/// group has no title (paths without a directory).
func nameInGroup(_ path: String, _ title: String) -> String {
    title.isEmpty ? path : String(path.split(separator: "/").last ?? Substring(path))
}

/// `n` with thousands separators: 5,234,567.
func groupDigits(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

func htmlEscape(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

/// `t` as an HTML table; `cellClass(column, text)` adds a CSS class to a body cell.
func htmlTable(_ t: ReportTable, cellClass: (Int, String) -> String? = { _, _ in nil }) -> String {
    var out = "<section><h2>\(htmlEscape(t.title))</h2>\n"
    if let note = t.note { out += "<p class=\"note\">\(htmlEscape(note))</p>\n" }
    out += "<div class=\"scroll\"><table>\n"
    if t.headers.contains(where: { !$0.isEmpty }) {
        out += "<thead><tr>" + t.headers.enumerated().map { c, h in
            "<th\(t.numeric.contains(c) ? " class=\"num\"" : "")>\(htmlEscape(h))</th>"
        }.joined() + "</tr></thead>\n"
    }
    out += "<tbody>\n"
    for row in t.rows {
        out += "<tr>" + row.enumerated().map { c, cell in
            var classes: [String] = []
            if t.numeric.contains(c) { classes.append("num") }
            if let k = cellClass(c, cell) { classes.append(k) }
            let cls = classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\""
            let text = t.numeric.contains(c) ? (Int(cell).flatMap { String($0) == cell ? groupDigits($0) : nil } ?? cell) : cell
            return (c == 0 ? "<th scope=\"row\"\(cls)>" : "<td\(cls)>") + htmlEscape(text) + (c == 0 ? "</th>" : "</td>")
        }.joined() + "</tr>\n"
    }
    out += "</tbody></table></div></section>\n"
    return out
}

/// A horizontal bar chart: one row per kernel, one bar per series, exact byte counts beside the
/// bars, optional group headings, a legend and gridlines.
///
/// The scale is logarithmic when the values span more than 20× (kernel BTFs shrink 100-fold and
/// more, and a linear scale would hide the outputs), linear from 0 otherwise (comparisons).
func svgBarChart(groups: [(title: String, rows: [ChartRow])], series: [ChartSeries]) -> String {
    let allValues = groups.flatMap { $0.rows.flatMap { $0.values.compactMap { $0 } } }.filter { $0 > 0 }
    let maxLabel = groups.flatMap { $0.rows.map(\.label.count) }.max() ?? 10
    let shown = min(maxLabel, 56)
    let width = 1100.0
    let labelWidth = min(400.0, max(140.0, Double(shown) * 6.6 + 20))
    let valueWidth = 190.0
    let plot = width - labelWidth - valueWidth
    let barH = 11.0, gap = 3.0
    let rowH = Double(series.count) * barH + Double(series.count - 1) * gap + 12
    let headH = 28.0
    let top = 58.0
    let hasTitles = groups.contains { !$0.title.isEmpty }

    let minValue = Double(allValues.min() ?? 1), maxValue = Double(allValues.max() ?? 10)
    let isLog = maxValue / minValue > 20
    // Gridlines as (position in 0...1, label).
    var ticks: [(Double, String)] = []
    let position: (Int) -> Double
    if isLog {
        let lo = floor(log10(minValue))
        var hi = ceil(log10(maxValue))
        if hi <= lo { hi = lo + 1 }
        position = { (log10(Double($0)) - lo) / (hi - lo) }
        for p in Int(lo)...Int(hi) { ticks.append(((Double(p) - lo) / (hi - lo), powerOfTenLabel(p, pow(10.0, Double(p))))) }
    } else {
        // A round step (1, 2 or 5 × 10^k) giving 4 to 10 gridlines.
        let unit = pow(10.0, floor(log10(maxValue)))
        let step = max(1, [1, 0.5, 0.2].map { $0 * unit }.first { maxValue / $0 >= 4 } ?? unit)
        let end = ceil(maxValue / step) * step
        position = { Double($0) / end }
        var v = 0.0
        while v <= end + step / 2 {
            ticks.append((v / end, groupDigits(Int(v))))
            v += step
        }
    }
    func x(_ v: Int) -> Double { labelWidth + plot * position(v) }
    let scaleName = isLog ? "bytes, log scale" : "bytes"

    var height = top
    for g in groups { height += (hasTitles ? headH : 0) + Double(g.rows.count) * rowH }
    height += 30

    func f(_ v: Double) -> String { cFormat("%.1f", v) }
    var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"system-ui, 'DejaVu Sans', sans-serif\" font-size=\"12\">\n"
    let names = series.map { $0.name }.joined(separator: " vs ")
    svg += "<title>\(htmlEscape(names)) per kernel (\(scaleName))</title>\n"
    // Legend.
    var lx = labelWidth
    for s in series {
        svg += "<rect x=\"\(f(lx))\" y=\"8\" width=\"14\" height=\"14\" rx=\"2\" fill=\"\(s.color)\"/>"
        svg += "<text x=\"\(f(lx + 20))\" y=\"19.5\" fill=\"#222\">\(htmlEscape(s.name))</text>\n"
        lx += 26 + Double(s.name.count) * 7.2 + 16
    }
    svg += "<text x=\"\(f(width - 8))\" y=\"19.5\" text-anchor=\"end\" fill=\"#666\">\(scaleName)</text>\n"
    // Gridlines and their labels, top and bottom.
    for (at, label) in ticks {
        let gx = labelWidth + plot * at
        svg += "<line x1=\"\(f(gx))\" y1=\"\(f(top - 8))\" x2=\"\(f(gx))\" y2=\"\(f(height - 24))\" stroke=\"#e3e6ea\"/>"
        svg += "<text x=\"\(f(gx))\" y=\"\(f(top - 14))\" text-anchor=\"middle\" fill=\"#666\" font-size=\"11\">\(label)</text>"
        svg += "<text x=\"\(f(gx))\" y=\"\(f(height - 10))\" text-anchor=\"middle\" fill=\"#666\" font-size=\"11\">\(label)</text>\n"
    }
    var y = top
    for g in groups {
        if hasTitles {
            svg += "<text x=\"4\" y=\"\(f(y + 18))\" font-weight=\"bold\" fill=\"#111\">\(htmlEscape(g.title.isEmpty ? "(top level)" : g.title))</text>"
            svg += "<line x1=\"4\" y1=\"\(f(y + headH - 3))\" x2=\"\(f(width - 4))\" y2=\"\(f(y + headH - 3))\" stroke=\"#c9ced4\"/>\n"
            y += headH
        }
        for row in g.rows {
            let label = row.label.count > shown ? String(row.label.prefix(shown - 1)) + "…" : row.label
            let mid = y + rowH / 2
            svg += "<g><title>\(htmlEscape(row.label))</title>"
            svg += "<text x=\"\(f(labelWidth - 8))\" y=\"\(f(mid + 4))\" text-anchor=\"end\" fill=\"#222\">\(htmlEscape(label))</text>"
            var by = y + 6
            for (i, value) in row.values.enumerated() where i < series.count {
                if let value {
                    let end = value > 0 ? x(value) : labelWidth
                    svg += "<rect x=\"\(f(labelWidth))\" y=\"\(f(by))\" width=\"\(f(max(end - labelWidth, 1)))\" height=\"\(f(barH))\" fill=\"\(series[i].color)\"/>"
                    var text = groupDigits(value)
                    if i == row.values.count - 1, let note = row.note { text += " (\(note))" }
                    svg += "<text x=\"\(f(end + 5))\" y=\"\(f(by + barH - 1.5))\" fill=\"#333\" font-size=\"11\">\(htmlEscape(text))</text>"
                }
                by += barH + gap
            }
            svg += "</g>\n"
            y += rowH
        }
    }
    svg += "<line x1=\"\(f(labelWidth))\" y1=\"\(f(top - 8))\" x2=\"\(f(labelWidth))\" y2=\"\(f(height - 24))\" stroke=\"#888\"/>\n"
    svg += "</svg>"
    return "<div class=\"scroll\">" + svg + "</div>"
}

/// "1 B", "10 kB", "1 MB": decimal units, so every gridline label is an exact power of ten.
func powerOfTenLabel(_ p: Int, _ v: Double) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    guard p >= 0 else { return String(v) }
    let u = min(p / 3, units.count - 1)
    let mantissa = Int(pow(10.0, Double(p - u * 3)))
    return "\(mantissa) \(units[u])"
}

func htmlPage(title: String, body: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(htmlEscape(title))</title>
    <style>
    :root { color-scheme: light; }
    body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; font-size: 14px;
           color: #1d2329; background: #fff; margin: 24px 32px; line-height: 1.4; }
    h1 { font-size: 22px; margin: 0 0 4px; }
    h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #dde1e5; padding-bottom: 4px; }
    .meta { color: #555; margin: 0 0 16px; font-size: 13px; }
    .note { color: #555; margin: 0 0 8px; font-size: 13px; }
    .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin: 8px 0; }
    .card { border: 1px solid #dde1e5; border-radius: 6px; padding: 10px 14px; background: #f7f9fb; }
    .card-title { font-size: 12px; color: #555; text-transform: uppercase; letter-spacing: .04em; }
    .card-value { font-size: 20px; font-weight: 600; margin: 2px 0; font-variant-numeric: tabular-nums; white-space: nowrap; }
    .card-note { font-size: 12px; color: #555; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; font-size: 13px; }
    th, td { border: 1px solid #dde1e5; padding: 4px 8px; text-align: left; vertical-align: top; }
    thead th { background: #eef1f4; }
    tbody th { font-weight: normal; white-space: nowrap; }
    tbody th.ks { white-space: normal; min-width: 16em; max-width: 32em; }
    .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    .ok { background: #e6f4ea; color: #136c2e; }
    .unres { background: #fef3d6; color: #8a5300; }
    .err { background: #fce4e2; color: #b3261e; font-weight: 600; }
    .na { background: #f1f3f4; color: #666; }
    .chart { max-width: 100%; height: auto; }
    summary { cursor: pointer; color: #444; margin-top: 20px; }
    footer { margin-top: 32px; color: #777; font-size: 12px; }
    </style>
    </head>
    <body>
    \(body)<footer>btfgen · self-contained report: no scripts, fonts or images are loaded.</footer>
    </body>
    </html>

    """
}
