import Foundation
import Testing

import Pipeline
import KernelInput
import Minimize
import Report
import TestSupport

/// The CSV report of a real run, read back with Python's `csv` module (as a spreadsheet or
/// pandas would read it), holds what the JSON report of the same run holds.
@Suite(.enabled(if: !TestEnv.kernels.isEmpty, "no test kernels: run `make testdata`"))
struct CSVTests {
    /// The rows of a CSV file as Python's `csv.DictReader` reads them, and its header.
    static func readCSV(_ path: String) throws -> (header: [String], rows: [[String: String]]) {
        let script = """
            import csv, json, sys
            with open(sys.argv[1], newline="") as f:
                r = csv.reader(f, strict=True)
                rows = list(r)
            print(json.dumps({"header": rows[0], "rows": [dict(zip(rows[0], row)) for row in rows[1:]],
                              "widths": sorted({len(row) for row in rows})}))
            """
        let out = try python(script, [path])
        guard out.status == 0 else { throw TestFailure("python csv: \(out.stderr)") }
        let parsed = try #require(try parseJSON(out.stdout) as? [String: Any])
        let header = try #require(parsed["header"] as? [String])
        #expect(parsed["widths"] as? [Int] == [header.count], "every row has every column")
        return (header, try #require(parsed["rows"] as? [[String: String]]))
    }

    /// Whether a CSV cell holds a JSON scalar: empty for null, the number, the string.
    static func same(_ cell: String?, _ value: Any?) -> Bool {
        switch value {
        case nil, is NSNull: return cell == ""
        case let s as String: return cell == s
        case let n as NSNumber:
            // Integers as integers ("3349", not "3349.0").
            if n.doubleValue.rounded() == n.doubleValue { return cell == String(n.int64Value) }
            return cell.flatMap(Double.init) == n.doubleValue
        default: return false
        }
    }

    @Test func csvCarriesTheJSONReport() throws {
        let f = try RunFixture.get()
        let json = try #require(try parseJSON(f.reportText) as? [String: Any])
        try withTempDir("csv") { dir in
            let path = dir + "/run.csv"
            // The full detail: every kernel's problems as rows of their own, besides the findings.
            let run = try btfgen(f.genArguments + ["--report", path, "--report-detail", "full", "--pack", dir + "/pack.tar.xz"])
            #expect(run.status == 0, "\(run.stderr)")
            let (header, rows) = try Self.readCSV(path)
            #expect(header.first == "record")
            // The header is the column list docs/report-schema.md gives.
            let doc = try readText(TestEnv.schemaDoc)
            let start = try #require(doc.range(of: "The columns, in order: ")), end = try #require(doc.range(of: ". Columns may be added"))
            let documented = doc[start.upperBound..<end.lowerBound].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            #expect(header == documented)
            #expect(Set(rows.compactMap { $0["record"] }) == ["kernel", "object", "finding", "problem", "total"])

            // Kernels: every field but the per-object lists, in the JSON's order.
            let kernels = try #require(json["kernels"] as? [[String: Any]])
            let kernelRows = rows.filter { $0["record"] == "kernel" }
            #expect(kernelRows.map { $0["path"] } == kernels.map { $0["path"] as? String })
            for (i, (row, k)) in zip(kernelRows, kernels).enumerated() {
                for (key, value) in k where key != "objects" {
                    #expect(header.contains(key), "kernels[].\(key) has no CSV column")
                    if key == "ratio" {
                        // JSONSerialization may round a double by an ulp; JSONDecoder does not.
                        #expect(row[key].flatMap(Double.init) == f.report.kernels[i].ratio, "\(k["path"] ?? ""): ratio")
                        continue
                    }
                    #expect(Self.same(row[key], value), "\(k["path"] ?? ""): \(key): CSV \(row[key] ?? "-") vs JSON \(value)")
                }
            }

            // Objects: the matrix in long form, with each pair's counts.
            let matrix = try #require(json["matrix"] as? [String: Any])
            let matrixObjects = try #require(matrix["objects"] as? [String])
            #expect(matrixObjects == f.objects)
            let matrixRows = try #require(matrix["rows"] as? [[String: Any]])
            var expectedObjects: [[String: String]] = []
            for (m, k) in zip(matrixRows, kernels) {
                let cells = try #require(m["cells"] as? [String])
                let pairs = reportPairs(json, k)
                for (object, cell) in zip(matrixObjects, cells) {
                    var row = ["path": m["path"] as? String ?? "", "object": object, "compat": cell]
                    let pair = pairs.first { $0["object"] as? String == object }
                    for key in ["total", "resolved", "unresolved", "errors"] {
                        row[key] = (pair?[key] as? Int).map { String($0) } ?? ""
                    }
                    expectedObjects.append(row)
                }
            }
            let objectRows = rows.filter { $0["record"] == "object" }
                .map { $0.filter { ["path", "object", "compat", "total", "resolved", "unresolved", "errors"].contains($0.key) } }
            #expect(objectRows == expectedObjects)
            #expect(expectedObjects.contains { $0["compat"] == "skipped" } && expectedObjects.contains { $0["compat"]!.contains(", ") })

            // Findings: each distinct one, every field, in the JSON's order.
            let findings = try #require(json["findings"] as? [[String: Any]])
            let findingRows = rows.filter { $0["record"] == "finding" }
            #expect(findingRows.count == findings.count && !findings.isEmpty)
            for (i, (row, finding)) in zip(findingRows, findings).enumerated() {
                #expect(row["finding"] == String(i))
                for (key, value) in finding {
                    #expect(header.contains(key), "findings[].\(key) has no CSV column")
                    #expect(Self.same(row[key], value), "findings[\(i)].\(key): CSV \(row[key] ?? "-") vs JSON \(value)")
                }
            }

            // Problems: every unresolved and failing relocation of every kernel, every field, as
            // the aggregated report of the shared run gives them.
            var expectedProblems: [[String: String]] = []
            for k in f.report.kernels {
                for o in k.objects {
                    for p in f.report.problems(k, o.object) {
                        expectedProblems.append(["path": k.path, "object": o.object, "section": p.section, "relo": String(p.relo),
                                                 "kind": p.kind, "access": p.access, "outcome": p.outcome.rawValue, "reason": p.reason])
                    }
                }
            }
            let problemKeys = Set(expectedProblems.flatMap(\.keys))
            let problemRows = rows.filter { $0["record"] == "problem" }.map { $0.filter { problemKeys.contains($0.key) } }
            #expect(problemRows.count == f.report.totals.relocations.unresolved + f.report.totals.relocations.errors)
            #expect(problemRows == expectedProblems)
            #expect(problemRows.contains { $0["outcome"] == "error" } && problemRows.contains { $0["outcome"] == "unresolved" })

            // Totals: one row, every scalar; relocations.X in column X, compat.X in compat_X.
            let totalRows = rows.filter { $0["record"] == "total" }
            #expect(totalRows.count == 1)
            let total = try #require(totalRows.first)
            #expect(rows.last == total)
            let totals = try #require(json["totals"] as? [String: Any])
            for (key, value) in totals {
                switch key {
                case "relocations", "compat":
                    for (sub, n) in try #require(value as? [String: Any]) {
                        let column = key == "compat" ? "compat_" + sub : sub
                        #expect(Self.same(total[column], n), "totals.\(key).\(sub): CSV \(total[column] ?? "-") vs JSON \(n)")
                    }
                case "duplicate_groups":
                    // Rebuilt from the kernel rows' duplicate_group numbers.
                    var groups: [Int: [String]] = [:]
                    for row in kernelRows {
                        if let n = row["duplicate_group"].flatMap({ Int($0) }) { groups[n, default: []].append(row["output"] ?? "") }
                    }
                    let expected = try #require(value as? [[String]])
                    #expect(groups.keys.sorted() == Array(1..<(expected.count + 1)))
                    #expect(groups.keys.sorted().map { groups[$0]!.sorted() } == expected)
                    #expect(!expected.isEmpty, "the fixture has a duplicate output")
                case "ratio":
                    #expect(total[key].flatMap(Double.init) == f.report.totals.ratio, "totals.ratio")
                default:
                    #expect(header.contains(key), "totals.\(key) has no CSV column")
                    #expect(Self.same(total[key], value), "totals.\(key): CSV \(total[key] ?? "-") vs JSON \(value)")
                }
            }
            #expect(total["dedup_saved_bytes"] != "" && total["packed_bytes"] != "")
            // The report's own fields: the directories paths are relative to, source and format.
            #expect(Self.same(total["path"], json["input"]) && Self.same(total["output"], json["output"]))
            #expect(Self.same(total["source"], json["source"]) && Self.same(total["output_format"], json["output_format"]))
        }
    }

    /// A report of an output directory (no inputs): the same record types, input columns empty.
    @Test func outputDirectoryReport() throws {
        let f = try RunFixture.get()
        let out = try btfgen(["report", f.output, "--object", f.objects[0], "--format", "csv"])
        #expect(out.status == 0, "\(out.stdout)")
        try withTempDir("csv-dir") { dir in
            try out.stdout.write(toFile: dir + "/dir.csv", atomically: true, encoding: .utf8)
            let (_, rows) = try Self.readCSV(dir + "/dir.csv")
            let total = try #require(rows.last)
            #expect(total["record"] == "total" && total["source"] == "outputs")
            #expect(total["path"] == "" && total["input_bytes"] == "" && total["output"] == f.output)
            #expect(rows.filter { $0["record"] == "kernel" }.allSatisfy { $0["input_bytes"] == "" && $0["output_bytes"] != "" })
            #expect(rows.filter { $0["record"] == "object" }.allSatisfy { $0["object"] == f.objects[0] })
        }
    }
}
