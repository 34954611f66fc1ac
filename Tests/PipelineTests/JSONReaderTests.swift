import Foundation
import Testing

import Pipeline

/// The JSON reader a pack's index is read with, against Foundation's own reader and against
/// what it must refuse.
@Suite struct JSONReaderTests {
    /// Compares a parsed value with what JSONSerialization makes of the same text.
    private func same(_ v: JSONValue, _ f: Any) -> Bool {
        switch v {
        case .null: return f is NSNull
        case .bool(let b): return (f as? Bool) == b
        case .int(let i): return (f as? NSNumber)?.int64Value == Int64(i)
        case .uint(let u): return (f as? NSNumber)?.uint64Value == u
        case .double(let d): return (f as? NSNumber)?.doubleValue == d
        case .string(let s): return f as? String == s
        case .inline(let inner): return same(inner, f)
        case .array(let items):
            guard let a = f as? [Any], a.count == items.count else { return false }
            return zip(items, a).allSatisfy { same($0, $1) }
        case .object(let fields):
            guard let o = f as? [String: Any], o.count == fields.count else { return false }
            return fields.allSatisfy { k, v in o[k].map { same(v, $0) } ?? false }
        }
    }

    @Test func readsWhatFoundationReads() throws {
        let texts = [
            #"{"schema": "btfgen-index/1", "entries": [{"path": "a/b.btf", "bytes": 12, "id": null}]}"#,
            #"[0, -1, 9223372036854775807, 1.5, -2.5e-3, 1E2, true, false, null, "", {}, []]"#,
            #"{"esc": "q\"b\\s\/n\nr\rt\tb\bf\fu\u00e9\u0001", "pair": "\ud83d\ude00", "utf8": "é😀"}"#,
            " \n\t{ \"a\" : [ 1 , { \"b\" : [ ] } ] } \r\n",
        ]
        for text in texts {
            let bytes = Array(text.utf8)
            let mine = try JSONValue.parse(bytes)
            let theirs = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            #expect(same(mine, theirs), "\(text)")
        }
    }

    @Test func readsBackWhatItWrites() throws {
        let v = JSONValue.object([
            ("name", .string("tab\there \"quoted\" \u{1} é")), ("n", .int(-42)), ("list", .array([.int(1), .null, .bool(true)])),
            ("nested", .object([("x", .double(0.25))])),
        ])
        for text in [v.rendered(), v.renderedCompact()] {
            let back = try JSONValue.parse(Array(text.utf8))
            #expect(back.rendered() == v.rendered())
        }
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "[01]", "[1.]", "[1e]", "-", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"a\u{1}b\"", "[1] 2", "{1: 2}", "[1 2]", "1e999999",
        String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
    ])
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: JSONParseError.self, "\(text.prefix(40))") { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func sixtyFourLevelsAreEnough() throws {
        let text = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONValue.parse(Array(text.utf8))
    }
}
