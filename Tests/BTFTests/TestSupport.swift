import Foundation
import Synchronization
import Testing

import BTF

// Where the tests find their inputs and tools. BPFObjectTests has its own copy of this file
// (test targets cannot share sources); keep the two in step.

enum TestEnv {
    /// The package root: three levels up from this file (`Tests/BTFTests/TestSupport.swift`).
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

    /// File names of the test kernels (`*.btf`), sorted; empty when `make testdata` has not run.
    static let kernels: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: kernelsDir)) ?? []
        return names.filter { $0.hasSuffix(".btf") }.sorted(by: littleEndianFirst(in: kernelsDir))
    }()

    static func kernelPath(_ name: String) -> String { kernelsDir + "/" + name }

    /// The smallest little-endian test kernel (the smallest of any byte order when there is
    /// none), for tests that patch a real BTF.
    static let smallestKernel: String? = {
        func littleEndian(_ name: String) -> Bool {
            guard let h = FileHandle(forReadingAtPath: kernelPath(name)) else { return false }
            defer { try? h.close() }
            return (try? h.read(upToCount: 2)) == Data([0x9f, 0xeb])
        }
        let little = kernels.filter(littleEndian)
        return (little.isEmpty ? kernels : little).min { fileSize(kernelPath($0)) < fileSize(kernelPath($1)) }
    }()

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
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

/// Runs `scripts/make-kernel-variants.py ARGS KERNEL OUT` and returns OUT's bytes: the kernel
/// rewritten in the 2026 format (32-byte header, layout section). Throws when python3 is missing.
func kernelVariant(_ kernel: String, _ arguments: [String] = []) throws -> [UInt8] {
    guard let python = TestEnv.tool("python3") else { throw TestFailure("python3 is not installed") }
    return try withTempDir { dir in
        let out = dir + "/variant.btf"
        let r = try runProcess(python, [TestEnv.packageRoot + "/scripts/make-kernel-variants.py"] + arguments
                                        + [TestEnv.kernelPath(kernel), out])
        guard r.status == 0 else { throw TestFailure("make-kernel-variants.py failed: \(r.stderr)") }
        return try readBytes(out)
    }
}

/// Parses `bytes` (lenient) expecting success, and returns the BTF.
func expectParses(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> BTF? {
    do {
        return try BTF(parsing: bytes)
    } catch {
        Issue.record("does not parse: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Parsed kernels, shared by the tests: each kernel is read and parsed once per test run.
enum KernelCache {
    struct Entry: Sendable {
        var bytes: [UInt8]
        var btf: BTF
    }

    private static let entries = Mutex<[String: Entry]>([:])

    static func load(_ name: String) throws -> Entry {
        if let hit = entries.withLock({ $0[name] }) { return hit }
        let bytes = try readBytes(TestEnv.kernelPath(name))
        let entry = Entry(bytes: bytes, btf: try BTF(parsing: bytes))
        entries.withLock { $0[name] = entry }
        return entry
    }
}

// MARK: Patching BTF bytes

/// Byte offsets of the fields of a parsed BTF blob, for tests that patch them.
struct BTFLayout {
    let order: ByteOrder
    let headerLength: Int
    let typeStart: Int
    /// One past the last byte of the type section.
    let typeEnd: Int
    let stringStart: Int
    let stringLength: Int
    /// Byte offset of each type's header; index 0 (void) is unused.
    let typeOffsets: [Int]

    init(_ bytes: [UInt8], _ btf: BTF) {
        order = btf.order
        func u32(_ off: Int) -> Int { Int(bytes.get32(at: off, order: btf.order)) }
        headerLength = u32(4)
        typeStart = headerLength + u32(8)
        typeEnd = typeStart + u32(12)
        stringStart = headerLength + u32(16)
        stringLength = u32(20)
        var offsets = [0]
        var pos = typeStart
        for i in 1..<btf.typeCount {
            offsets.append(pos)
            let rec = btf.records[i]
            pos += 12 + 4 * btf.extraWordCount(rec)
        }
        typeOffsets = offsets
    }
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

/// Parses `bytes` expecting a `FormatError`, and returns it.
func expectFormatError(_ bytes: [UInt8], section: String = ".BTF", strict: Bool = false,
                       sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
    do {
        _ = try BTF(parsing: bytes, section: section, strict: strict)
        Issue.record("parsed without error", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
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
