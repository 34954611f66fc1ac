import Foundation
import Testing

import BTF

/// Parses `bytes` (lenient) expecting success, and returns the BTF.
public func expectParses(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> BTF? {
    do {
        return try BTF(parsing: bytes)
    } catch {
        Issue.record("does not parse: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Parses `bytes` expecting a `FormatError`, and returns it.
public func expectFormatError(_ bytes: [UInt8], section: String = ".BTF", strict: Bool = false,
                              sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
    do {
        _ = try BTF(parsing: bytes, section: section, strict: strict)
        Issue.record("parsed without error", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Runs `body` expecting it to throw a `FormatError`, and returns the error.
public func expectFormatError<T>(sourceLocation: SourceLocation = #_sourceLocation,
                                 _ body: () throws -> T) -> FormatError? {
    do {
        _ = try body()
        Issue.record("no error thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as FormatError {
        return error
    } catch {
        Issue.record("threw \(type(of: error)), not FormatError: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Checks that `error` prints as one line that contains each of `parts`.
public func expectMessage(_ error: FormatError?, contains parts: [String],
                          sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else { return }
    let text = error.description
    #expect(!text.contains("\n"), "error message is not one line: \(text)", sourceLocation: sourceLocation)
    for part in parts {
        #expect(text.contains(part), "error message \"\(text)\" lacks \"\(part)\"", sourceLocation: sourceLocation)
    }
}

/// Checks that two BTFs hold the same types and strings, whatever their byte order or how they
/// were built (parsed or appended), reporting the first type that differs.
public func expectSameTypes(_ a: BTF, _ b: BTF, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.typeCount == b.typeCount, sourceLocation: sourceLocation)
    #expect(a.strings == b.strings, "string sections differ", sourceLocation: sourceLocation)
    for i in 0..<min(a.typeCount, b.typeCount) {
        let id = TypeID(UInt32(i))
        let ra = a.records[i], rb = b.records[i]
        if ra.nameOffset != rb.nameOffset || ra.info != rb.info || ra.sizeOrType != rb.sizeOrType
            || !a.extraWords(id).elementsEqual(b.extraWords(id)) {
            Issue.record("type \(id) differs: \(a.kind(id)) '\(a.name(id))' vs \(b.kind(id)) '\(b.name(id))'",
                         sourceLocation: sourceLocation)
            return
        }
    }
}

/// Checks that two byte strings are equal, reporting their lengths and the first differing
/// offset instead of printing megabytes of bytes.
public func expectSameBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
    if actual == expected { return }
    var i = 0
    while i < min(actual.count, expected.count) && actual[i] == expected[i] { i += 1 }
    Issue.record("\(what): \(actual.count) bytes, expected \(expected.count); first difference at \(hex(i))",
                 sourceLocation: sourceLocation)
}

/// Checks that a BTF file parses with btfgen's parser and with libbpf's `btf__parse`, and that
/// both see the same number of types.
public func expectValidBTF(_ path: String, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let bytes = try readBytes(path)
    let ours: BTF
    do {
        ours = try BTF(parsing: bytes)
    } catch {
        Issue.record("\(context): btfgen cannot parse \(path): \(error)", sourceLocation: sourceLocation)
        return
    }
    let libbpf = try runJudge(["parse", path])
    #expect(libbpf.status == 0, "\(context): libbpf cannot parse \(path): \(libbpf.stderr)", sourceLocation: sourceLocation)
    #expect(libbpf.stdoutLines.first == "types \(ours.typeCount - 1)",
            "\(context): libbpf sees \(libbpf.stdoutLines.first ?? "nothing"), btfgen \(ours.typeCount - 1) types",
            sourceLocation: sourceLocation)
}

/// A readable difference between two line lists: the first lines where they part.
public func lineDiff(_ expected: [String], _ actual: [String], limit: Int = 6) -> String {
    var out: [String] = []
    for i in 0..<max(expected.count, actual.count) where out.count < limit {
        let e = i < expected.count ? expected[i] : "<none>", a = i < actual.count ? actual[i] : "<none>"
        if e != a { out.append("line \(i + 1):\n  expected: \(e)\n  actual:   \(a)") }
    }
    return out.joined(separator: "\n")
}
