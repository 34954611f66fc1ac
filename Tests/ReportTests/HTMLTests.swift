#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

import Pipeline
import KernelInput
import Minimize
import Report
import TestSupport

/// The HTML report: one self-contained file, rendered by a real browser (headless Chromium).
///
/// Set `BTFGEN_REPORT_SCREENSHOT=/some/dir` to keep the screenshots for a look.
@Suite(.enabled(if: !TestEnv.kernels.isEmpty, "no test kernels: run `make testdata`"))
struct HTMLTests {
    @Test func selfContained() throws {
        let f = try RunFixture.get()
        let html = f.report.rendered(.html)
        for external in ["<script", "<link", "<img", "<iframe", "<object", "<embed", "src=", "@import", "url(", "@font-face"] {
            #expect(!html.lowercased().contains(external), "the HTML report loads something: \(external)")
        }
        let withoutNamespace = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.contains("http://") && !withoutNamespace.contains("https://"))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        // The chart: an inline SVG with a legend, grouped by the path's directories.
        #expect(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(html.contains(">input (as stored)</text>") && html.contains(">output</text>"))
        #expect(html.contains(">debian / x86_64</text>"))
        #expect(html.contains(">compressed</text>") && html.contains(">copy</text>"))
        // Exact sizes beside the bars.
        for k in f.report.kernels where k.status == .written {
            #expect(html.contains(">\(commas(try #require(k.inputBytes)))</text>"), "\(k.path): input bar label")
            #expect(html.contains(">\(commas(k.outputBytes)) ("), "\(k.path): output bar label")
        }
        // The matrix as a table, cells classed by outcome.
        #expect(html.contains("<h2>Compatibility</h2>"))
        #expect(html.contains("<td class=\"ok\">ok</td>"))
        #expect(html.contains("<td class=\"err\">"))
        #expect(html.contains("<td class=\"unres\">"))
        // The SVG is well-formed XML.
        let start = try #require(html.range(of: "<svg "))
        let end = try #require(html.range(of: "</svg>"))
        let svg = String(html[start.lowerBound..<end.upperBound])
        let parsed = try python("import sys, xml.etree.ElementTree as E\nE.fromstring(open(sys.argv[1]).read()); print('ok')",
                                [try writeTemp(svg, name: "chart.svg")])
        #expect(parsed.stdout == "ok\n", "\(parsed.stderr)")
    }

    @Test func rendersInChromium() throws {
        guard let chromium = Browser.chromium else {
            try Test.cancel("chromium not found and could not be installed (apt-get install chromium): HTML not rendered")
        }
        let f = try RunFixture.get()
        try withTempDir("html") { dir in
            let page = dir + "/report.html"
            let run = try btfgen(f.genArguments + ["--report", page])
            #expect(run.status == 0, "\(run.stderr)")
            // The window the issue asks for: the object-first view, coloured by outcome; then a
            // tall one that reaches the size chart and the matrix.
            let top = try screenshot(chromium, page, dir: dir, name: "report.png", width: 1200, height: 900)
            #expect(top.width == 1200 && top.height == 900)
            #expect(top.colors >= 16, "a blank page: \(top)")
            #expect(top.nonWhite > 0.03 && top.nonWhite < 0.9, "\(top)")
            #expect(top.count("ok") > 500 && top.count("err") > 500, "no coloured object view in the first screen: \(top)")
            let tall = try screenshot(chromium, page, dir: dir, name: "report-tall.png", width: 1200, height: 5000)
            #expect(tall.count("output") > 2000, "no output bars (#1f6fb5): \(tall)")
            #expect(tall.count("input") > 10000, "no input bars (#a7b1bd): \(tall)")
            #expect(tall.count("ok") > 500, "no green 'ok' cells: \(tall)")
            #expect(tall.count("err") > 500, "no red error cells: \(tall)")
            #expect(tall.count("unres") > 500, "no amber unresolved cells: \(tall)")
        }
    }
}

enum Browser {
    /// Headless Chromium: found on PATH, else installed with apt-get when running as root.
    static let chromium: String? = {
        let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"]
        if let found = names.lazy.compactMap(TestEnv.tool).first { return found }
        guard getuid() == 0, let apt = TestEnv.tool("apt-get") else { return nil }
        var env = ProcessInfo.processInfo.environment
        env["DEBIAN_FRONTEND"] = "noninteractive"
        let install = ["install", "-y", "-q", "--no-install-recommends", "chromium"]
        if (try? runProcess(apt, install, timeout: 900, environment: env))?.status != 0 {
            _ = try? runProcess(apt, ["update", "-q"], timeout: 600, environment: env)
            _ = try? runProcess(apt, install, timeout: 900, environment: env)
        }
        return TestEnv.tool("chromium")
    }()
}

/// What a screenshot holds: its size, how many colours, the share of non-white pixels and how
/// many pixels have each of the report's marker colours.
struct Screenshot: CustomStringConvertible {
    var width: Int
    var height: Int
    var colors: Int
    var nonWhite: Double
    var marks: [String: Int]

    func count(_ mark: String) -> Int { marks[mark] ?? 0 }
    var description: String { "\(width)x\(height), \(colors) colours, \(Int(nonWhite * 100))% non-white, \(marks)" }
}

/// The report's colours (ReportHTML.swift), as the checks look for them.
let markColors: [String: (Int, Int, Int)] = [
    "output": (0x1f, 0x6f, 0xb5), "input": (0xa7, 0xb1, 0xbd),
    "ok": (0xe6, 0xf4, 0xea), "err": (0xfc, 0xe4, 0xe2), "unres": (0xfe, 0xf3, 0xd6),
]

func screenshot(_ chromium: String, _ page: String, dir: String, name: String, width: Int, height: Int) throws -> Screenshot {
    let png = dir + "/" + name
    let out = try runProcess(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                        "--user-data-dir=\(dir)/profile", "--screenshot=\(png)",
                                        "--window-size=\(width),\(height)", "file://" + page], timeout: 180)
    guard out.status == 0, FileManager.default.fileExists(atPath: png) else {
        throw TestFailure("chromium --screenshot failed (\(out.status)): \(out.stderr.suffix(2000))")
    }
    if let keep = ProcessInfo.processInfo.environment["BTFGEN_REPORT_SCREENSHOT"], !keep.isEmpty {
        try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: keep + "/" + name)
        try? FileManager.default.copyItem(atPath: png, toPath: keep + "/" + name)
        try? FileManager.default.removeItem(atPath: keep + "/report.html")
        try? FileManager.default.copyItem(atPath: page, toPath: keep + "/report.html")
    }
    let marks = markColors.map { "\($0.key)=\($0.value.0),\($0.value.1),\($0.value.2)" }
    let result = try python(pngScript, [png] + marks)
    guard result.status == 0, let json = try parseJSON(result.stdout) as? [String: Any] else {
        throw TestFailure("cannot decode \(png): \(result.stderr)")
    }
    return Screenshot(width: json["width"] as? Int ?? 0, height: json["height"] as? Int ?? 0,
                      colors: json["colors"] as? Int ?? 0, nonWhite: json["nonwhite"] as? Double ?? 0,
                      marks: json["marks"] as? [String: Int] ?? [:])
}

/// Decodes an 8-bit RGB/RGBA, non-interlaced PNG with the standard library (zlib, the five
/// row filters) and prints its size, colour count, non-white share and marker-colour counts
/// (within ±6 per channel) as JSON.
let pngScript = """
    import json, struct, sys, zlib
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'not a PNG'
    pos, idat = 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        elif kind == b'IEND':
            break
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    marks = {}
    for m in sys.argv[2:]:
        name, rgb = m.split('=')
        marks[name] = tuple(int(v) for v in rgb.split(','))
    prev, counts, i = bytearray(stride), {}, 0
    for y in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if f == 1:
            for x in range(bpp, stride): line[x] = (line[x] + line[x - bpp]) & 255
        elif f == 2:
            for x in range(stride): line[x] = (line[x] + prev[x]) & 255
        elif f == 3:
            for x in range(stride): line[x] = (line[x] + ((line[x - bpp] if x >= bpp else 0) + prev[x]) // 2) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            px = bytes(line[x:x + 3])
            counts[px] = counts.get(px, 0) + 1
        prev = line
    total = w * h
    white = counts.get(b'\\xff\\xff\\xff', 0)
    found = {name: sum(n for px, n in counts.items() if all(abs(px[k] - rgb[k]) <= 6 for k in range(3)))
             for name, rgb in marks.items()}
    print(json.dumps({'width': w, 'height': h, 'colors': len(counts), 'nonwhite': (total - white) / total, 'marks': found}))
    """

/// `n` with thousands separators, as the HTML report prints it.
func commas(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return out
}

/// Writes `text` to a file in a directory removed when the tests exit.
func writeTemp(_ text: String, name: String) throws -> String {
    let dir = try makeTempDir("file")
    registerCleanup(dir)
    try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    return dir + "/" + name
}
