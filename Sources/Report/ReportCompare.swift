#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BTF
import Pipeline

/// Two output directories side by side: A (the baseline, e.g. bpftool's outputs) and B.
///
/// Files are paired by their path with compression suffixes dropped (`K.btf.tar.xz` pairs with
/// `K.btf`), so outputs in different formats compare; sizes are of the files as stored, with the
/// raw BTF sizes beside them.
public struct CompareReport: Sendable, Equatable, Decodable {
    public static let schemaID = "btfgen-compare/1"

    /// One file of one side.
    public struct Side: Sendable, Equatable, Decodable {
        /// Relative to its directory.
        public var path: String
        public var bytes: Int
        /// The BTF uncompressed; nil when the file is not BTF.
        public var rawBytes: Int?
        /// Types excluding void; nil when the file is not BTF.
        public var types: Int?
    }

    /// One kernel: the file on each side (nil when only the other side has it).
    public struct Entry: Sendable, Equatable, Decodable {
        /// The pairing key: the path with compression suffixes dropped.
        public var name: String
        public var a: Side?
        public var b: Side?

        /// B − A, when both sides have the file.
        public var deltaBytes: Int? { a.flatMap { a in b.map { $0.bytes - a.bytes } } }
        public var deltaRawBytes: Int? {
            guard let ra = a?.rawBytes, let rb = b?.rawBytes else { return nil }
            return rb - ra
        }
        public var deltaTypes: Int? {
            guard let ta = a?.types, let tb = b?.types else { return nil }
            return tb - ta
        }
    }

    public struct Totals: Sendable, Equatable, Decodable {
        public var aFiles = 0, bFiles = 0, common = 0, onlyA = 0, onlyB = 0
        /// Sums over the kernels both sides have.
        public var aBytes = 0, bBytes = 0, deltaBytes = 0
        /// Sums of raw BTF bytes over the kernels both sides have as BTF.
        public var aRawBytes = 0, bRawBytes = 0, deltaRawBytes = 0
        /// Sums over every file of each side.
        public var aTotalBytes = 0, bTotalBytes = 0
        /// Common kernels where B is smaller than, larger than, or the same size as A.
        public var smaller = 0, larger = 0, same = 0
    }

    public var schema = CompareReport.schemaID
    public var a: String
    public var b: String
    /// Sorted by name.
    public var kernels: [Entry]
    public var onlyA: [String]
    public var onlyB: [String]
    public var totals: Totals

    /// Compares the BTF files below `a` with those below `b`.
    public init(a: String, b: String) throws(FormatError) {
        let sa = try scanBTFFiles(a), sb = try scanBTFFiles(b)
        self.a = sa.root
        self.b = sb.root
        func sides(_ files: [ScannedBTF]) -> [String: Side] {
            var out: [String: Side] = [:]
            for f in files {
                var key = outputName(for: f.path)
                if out[key] != nil { key = f.path }
                out[key] = Side(path: f.path, bytes: f.bytes, rawBytes: f.rawBytes, types: f.types)
            }
            return out
        }
        let ma = sides(sa.files), mb = sides(sb.files)
        kernels = Set(ma.keys).union(mb.keys).sorted().map { Entry(name: $0, a: ma[$0], b: mb[$0]) }
        onlyA = kernels.filter { $0.b == nil }.compactMap { $0.a?.path }
        onlyB = kernels.filter { $0.a == nil }.compactMap { $0.b?.path }
        var t = Totals()
        t.aFiles = ma.count
        t.bFiles = mb.count
        t.onlyA = onlyA.count
        t.onlyB = onlyB.count
        t.aTotalBytes = ma.values.reduce(0) { $0 + $1.bytes }
        t.bTotalBytes = mb.values.reduce(0) { $0 + $1.bytes }
        for e in kernels {
            guard let ea = e.a, let eb = e.b else { continue }
            t.common += 1
            t.aBytes += ea.bytes
            t.bBytes += eb.bytes
            if eb.bytes < ea.bytes { t.smaller += 1 } else if eb.bytes > ea.bytes { t.larger += 1 } else { t.same += 1 }
            if let ra = ea.rawBytes, let rb = eb.rawBytes {
                t.aRawBytes += ra
                t.bRawBytes += rb
            }
        }
        t.deltaBytes = t.bBytes - t.aBytes
        t.deltaRawBytes = t.bRawBytes - t.aRawBytes
        totals = t
    }

    /// Reads a comparison saved as JSON.
    public init(json bytes: [UInt8], path: String) throws(FormatError) {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            self = try decoder.decode(CompareReport.self, from: Data(bytes))
        } catch {
            throw FormatError(file: path, "", "invalid comparison: \(error)")
        }
        guard schema == CompareReport.schemaID else {
            throw FormatError(file: path, "", "schema \"\(schema)\" is not \(CompareReport.schemaID)")
        }
    }

    /// The comparison in `format`.
    public func rendered(_ format: ReportFormat) -> String {
        switch format {
        case .json: return json.rendered() + "\n"
        case .text: return renderText(header: headerLines, tables: tables)
        case .md: return renderMarkdown(title: "btfgen comparison", header: headerLines, tables: tables)
        case .csv: return csv
        case .html: return html
        }
    }

    var headerLines: [String] {
        ["A: \(a) (\(totals.aFiles) files)", "B: \(b) (\(totals.bFiles) files)", "delta = B − A"]
    }

    /// Whether raw BTF sizes differ from file sizes somewhere (compressed outputs on a side).
    private var showRaw: Bool {
        kernels.contains { e in [e.a, e.b].contains { s in s.map { $0.rawBytes != nil && $0.rawBytes != $0.bytes } ?? false } }
    }

    var tables: [ReportTable] {
        var headers = ["kernel", "A bytes", "B bytes", "delta", "delta %"]
        if showRaw { headers += ["A raw BTF", "B raw BTF", "raw delta"] }
        headers += ["A types", "B types"]
        let rows = kernels.filter { $0.a != nil && $0.b != nil }.map { e -> [String] in
            var row = [e.name, num(e.a?.bytes), num(e.b?.bytes), signed(e.deltaBytes), deltaPercent(e.deltaBytes, e.a?.bytes)]
            if showRaw { row += [num(e.a?.rawBytes), num(e.b?.rawBytes), signed(e.deltaRawBytes)] }
            row += [num(e.a?.types), num(e.b?.types)]
            return row
        }
        var tables = [ReportTable(title: "Kernels on both sides", note: nil, headers: headers, rows: rows,
                                  numeric: Set(1..<headers.count))]
        let sideHeaders = ["file", "bytes", "raw BTF", "types"]
        func sideRows(_ pick: (Entry) -> Side?) -> [[String]] {
            kernels.compactMap { e in pick(e).map { [$0.path, String($0.bytes), num($0.rawBytes), num($0.types)] } }
        }
        if !onlyA.isEmpty {
            tables.append(ReportTable(title: "Only in A", note: a, headers: sideHeaders,
                                      rows: sideRows { $0.b == nil ? $0.a : nil }, numeric: [1, 2, 3]))
        }
        if !onlyB.isEmpty {
            tables.append(ReportTable(title: "Only in B", note: b, headers: sideHeaders,
                                      rows: sideRows { $0.a == nil ? $0.b : nil }, numeric: [1, 2, 3]))
        }
        let t = totals
        var totalRows = [
            ["kernels", "\(t.common) on both sides, \(t.onlyA) only in A, \(t.onlyB) only in B"],
            ["bytes (both sides)", "A \(t.aBytes), B \(t.bBytes), delta \(signed(t.deltaBytes)) (\(deltaPercent(t.deltaBytes, t.aBytes)))"],
            ["B vs A", "\(t.smaller) smaller, \(t.larger) larger, \(t.same) same size"],
            ["all files", "A \(t.aFiles) files, \(t.aTotalBytes) bytes; B \(t.bFiles) files, \(t.bTotalBytes) bytes"],
        ]
        if showRaw {
            totalRows.insert(["raw BTF (both sides)", "A \(t.aRawBytes), B \(t.bRawBytes), delta \(signed(t.deltaRawBytes))"], at: 2)
        }
        tables.append(ReportTable(title: "Totals", note: nil, headers: ["", ""], rows: totalRows))
        return tables
    }

    var csv: String {
        var out = csvRow(["name", "a_path", "b_path", "a_bytes", "b_bytes", "delta_bytes", "a_raw_bytes", "b_raw_bytes",
                          "delta_raw_bytes", "a_types", "b_types", "delta_types"])
        for e in kernels {
            out += csvRow([e.name, e.a?.path ?? "", e.b?.path ?? "", opt(e.a?.bytes), opt(e.b?.bytes), opt(e.deltaBytes),
                           opt(e.a?.rawBytes), opt(e.b?.rawBytes), opt(e.deltaRawBytes),
                           opt(e.a?.types), opt(e.b?.types), opt(e.deltaTypes)])
        }
        return out
    }

    public var json: JSONValue {
        func side(_ s: Side?) -> JSONValue {
            guard let s else { return .null }
            return .object([("path", .string(s.path)), ("bytes", .int(s.bytes)), ("raw_bytes", s.rawBytes.json), ("types", s.types.json)])
        }
        let t = totals
        return .object([
            ("schema", .string(schema)),
            ("a", .string(a)),
            ("b", .string(b)),
            ("kernels", .array(kernels.map { e in
                .object([("name", .string(e.name)), ("a", side(e.a)), ("b", side(e.b)), ("delta_bytes", e.deltaBytes.json),
                         ("delta_raw_bytes", e.deltaRawBytes.json), ("delta_types", e.deltaTypes.json)])
            })),
            ("only_a", .array(onlyA.map(JSONValue.string))),
            ("only_b", .array(onlyB.map(JSONValue.string))),
            ("totals", .object([
                ("a_files", .int(t.aFiles)), ("b_files", .int(t.bFiles)), ("common", .int(t.common)),
                ("only_a", .int(t.onlyA)), ("only_b", .int(t.onlyB)),
                ("a_bytes", .int(t.aBytes)), ("b_bytes", .int(t.bBytes)), ("delta_bytes", .int(t.deltaBytes)),
                ("a_raw_bytes", .int(t.aRawBytes)), ("b_raw_bytes", .int(t.bRawBytes)), ("delta_raw_bytes", .int(t.deltaRawBytes)),
                ("a_total_bytes", .int(t.aTotalBytes)), ("b_total_bytes", .int(t.bTotalBytes)),
                ("smaller", .int(t.smaller)), ("larger", .int(t.larger)), ("same", .int(t.same)),
            ])),
        ])
    }

    public var html: String {
        var body = "<header><h1>btfgen comparison</h1>\n<p class=\"meta\">"
        body += headerLines.map(htmlEscape).joined(separator: "<br>\n") + "</p></header>\n"
        let t = totals
        let cards = [
            ("Kernels on both sides", groupDigits(t.common), "\(t.onlyA) only in A, \(t.onlyB) only in B"),
            ("Bytes A → B", "\(groupDigits(t.aBytes)) → \(groupDigits(t.bBytes))", "delta \(signed(t.deltaBytes)) (\(deltaPercent(t.deltaBytes, t.aBytes)))"),
            ("B vs A", "\(t.smaller) smaller", "\(t.larger) larger, \(t.same) same size"),
        ]
        body += "<div class=\"cards\">\n" + cards.map { title, value, note in
            "<div class=\"card\"><div class=\"card-title\">\(htmlEscape(title))</div><div class=\"card-value\">\(htmlEscape(value))</div><div class=\"card-note\">\(htmlEscape(note))</div></div>"
        }.joined(separator: "\n") + "\n</div>\n"
        let groups = groupedByDirectory(kernels.map(\.name)).map { g in
            (g.title, g.indices.map { i -> ChartRow in
                let e = kernels[i]
                let label = g.title.isEmpty ? e.name : String(e.name.split(separator: "/").last ?? Substring(e.name))
                return ChartRow(label: label, values: [e.a?.bytes, e.b?.bytes],
                                note: e.deltaBytes.map { "\(signed($0)), \(deltaPercent($0, e.a?.bytes))" })
            })
        }
        body += "<section><h2>File size per kernel: A vs B</h2>\n"
        body += kernels.isEmpty ? "<p>No files.</p>\n"
            : svgBarChart(groups: groups, series: [ChartSeries(name: "A", color: "#a7b1bd"), ChartSeries(name: "B", color: "#1f6fb5")]) + "\n"
        body += "</section>\n"
        for table in tables { body += htmlTable(table) }
        return htmlPage(title: "btfgen comparison", body: body)
    }
}

private func num(_ v: Int?) -> String { v.map(String.init) ?? "-" }
private func opt(_ v: Int?) -> String { v.map(String.init) ?? "" }
private func signed(_ v: Int?) -> String { v.map { $0 > 0 ? "+\($0)" : String($0) } ?? "-" }
private func deltaPercent(_ delta: Int?, _ base: Int?) -> String {
    guard let delta, let base, base > 0 else { return "-" }
    return cFormat("%+.2f%%", Double(delta) / Double(base) * 100)
}
