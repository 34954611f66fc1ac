import Foundation
import Testing

import BTF

// Where the tests find their inputs and tools. BTFTests has its own copy of this file
// (test targets cannot share sources); keep the two in step.

enum TestEnv {
    /// The package root: three levels up from this file (`Tests/BPFObjectTests/TestSupport.swift`).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A path from the environment, resolved against the package root when relative.
    static func path(env name: String, default fallback: String) -> String {
        let value = ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        return value.hasPrefix("/") ? value : packageRoot + "/" + value
    }

    /// Decompressed kernel BTFs: `$BTFGEN_TEST_KERNELS`, else `.build/testdata/kernels`
    /// (`make testdata` fills it).
    static let kernelsDir = path(env: "BTFGEN_TEST_KERNELS", default: ".build/testdata/kernels")

    /// The libbpf oracle: `$BTFGEN_JUDGE`, else `.build/debug/libbpf-judge`.
    static let judge = path(env: "BTFGEN_JUDGE", default: ".build/debug/libbpf-judge")
    /// Whether bpf() works here (`libbpf-judge probe`). libbpf relocates only inside
    /// `bpf_object__load`, which first loads a trivial program: without bpf() (not root, BPF
    /// disabled) there is no oracle, and the tests that need one skip, saying so.
    static let bpfWorks: Bool = (try? runProcess(judge, ["probe"]))?.status == 0

    /// File names of the test kernels (`*.btf`), sorted; empty when `make testdata` has not run.
    static let kernels: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: kernelsDir)) ?? []
        return names.filter { $0.hasSuffix(".btf") }.sorted(by: littleEndianFirst(in: kernelsDir))
    }()

    static func kernelPath(_ name: String) -> String { kernelsDir + "/" + name }

    /// The kernel the fixtures are relocated against when asking libbpf: the fixtures are built
    /// for x86, so an amd64 one.
    static var targetKernel: String? { kernels.first { $0.contains("amd64") } ?? kernels.first }

    /// The fixture objects' directory, `testdata/bpf`; big-endian twins are in `bpfeb/` below it.
    static let fixturesDir = packageRoot + "/testdata/bpf"

    /// File names of the little-endian fixture objects (`testdata/bpf/*.bpf.o`), sorted.
    static let fixtures: [String] = objects(in: fixturesDir)

    /// File names of the big-endian fixture objects (`testdata/bpf/bpfeb/*.bpf.o`), sorted.
    static let bigEndianFixtures: [String] = objects(in: fixturesDir + "/bpfeb")

    static func fixturePath(_ name: String) -> String { fixturesDir + "/" + name }
    static func bigEndianFixturePath(_ name: String) -> String { fixturesDir + "/bpfeb/" + name }

    private static func objects(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".bpf.o") }.sorted()
    }

    /// An executable named `name` on PATH or in the sbin directories (bpftool lives in /usr/sbin).
    static func tool(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/sbin", "/sbin"]
        return dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
    return [UInt8](data)
}

/// A fresh, empty directory under the system temp dir; the caller removes it (see `withTempDir`).
func makeTempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("btfgen-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func withTempDir<T>(_ body: (String) throws -> T) throws -> T {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

struct ProcessOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable` with `arguments`, collecting stdout and stderr (through files, so a large
/// output cannot fill a pipe and stall the child).
func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
    try withTempDir { dir in
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return ProcessOutput(status: process.terminationStatus,
                             stdout: String(decoding: try readBytes(outPath), as: UTF8.self),
                             stderr: String(decoding: try readBytes(errPath), as: UTF8.self))
    }
}

/// Runs libbpf-judge, failing clearly when it has not been built.
func runJudge(_ arguments: [String]) throws -> ProcessOutput {
    guard FileManager.default.isExecutableFile(atPath: TestEnv.judge) else {
        throw TestFailure("libbpf-judge not found at \(TestEnv.judge): run `swift build --product libbpf-judge` or set BTFGEN_JUDGE")
    }
    return try runProcess(TestEnv.judge, arguments)
}

extension Array where Element == UInt8 {
    /// Stores `value` at `offset` in `order`.
    mutating func put32(_ value: UInt32, at offset: Int, order: ByteOrder) {
        let v = order == .little ? value : value.byteSwapped
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }

    func get32(at offset: Int, order: ByteOrder) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(self[offset + i]) << (8 * UInt32(i)) }
        return order == .little ? v : v.byteSwapped
    }
}

/// Runs `body` expecting it to throw a `FormatError`, and returns the error.
func expectFormatError<T>(sourceLocation: SourceLocation = #_sourceLocation,
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

extension Array where Element == UInt8 {
    /// Replaces every occurrence of `old` with `new` (same length); returns how many there were.
    @discardableResult
    mutating func replaceAll(_ old: [UInt8], with new: [UInt8]) -> Int {
        precondition(old.count == new.count && !old.isEmpty)
        var n = 0
        var i = 0
        while i + old.count <= count {
            if self[i..<(i + old.count)].elementsEqual(old) {
                replaceSubrange(i..<(i + old.count), with: new)
                n += 1
                i += old.count
            } else {
                i += 1
            }
        }
        return n
    }
}

/// Checks that `error` prints as one line that contains each of `parts`.
func expectMessage(_ error: FormatError?, contains parts: [String],
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
func expectSameTypes(_ a: BTF, _ b: BTF, sourceLocation: SourceLocation = #_sourceLocation) {
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
func expectSameBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    if actual == expected { return }
    var i = 0
    while i < min(actual.count, expected.count) && actual[i] == expected[i] { i += 1 }
    Issue.record("\(what): \(actual.count) bytes, expected \(expected.count); first difference at \(hex(i))",
                 sourceLocation: sourceLocation)
}

/// Orders kernel file names little-endian first, then by name: the tests that take the first
/// kernel patch its bytes as little-endian BTF (the big-endian s390x ones sort early by name).
func littleEndianFirst(in dir: String) -> (String, String) -> Bool {
    func big(_ name: String) -> Bool {
        FileHandle(forReadingAtPath: dir + "/" + name).map { $0.readData(ofLength: 1).first == 0xeb } ?? false
    }
    return { a, b in big(a) != big(b) ? !big(a) : a < b }
}
