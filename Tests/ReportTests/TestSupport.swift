#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

// Paths, tools and process helpers for the report tests. The other test targets hold similar
// helpers (test targets cannot share sources).

enum TestEnv {
    /// The package root: three levels up from this file (`Tests/ReportTests/TestSupport.swift`).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The directory of this test binary: `swift test` builds every product into it.
    static let binDir: String = {
        let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        return URL(fileURLWithPath: selfPath).deletingLastPathComponent().path
    }()

    /// An executable from `$env`, else the product built beside this test binary, else
    /// `.build/debug/<name>`.
    static func product(_ name: String, env: String) -> String {
        if let value = ProcessInfo.processInfo.environment[env], !value.isEmpty {
            return value.hasPrefix("/") ? value : packageRoot + "/" + value
        }
        let sibling = binDir + "/" + name
        if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        return packageRoot + "/.build/debug/" + name
    }

    /// The btfgen CLI: `$BTFGEN_BIN`, else the one built beside this test binary.
    static let btfgen = product("btfgen", env: "BTFGEN_BIN")
    /// The libbpf oracle: `$BTFGEN_JUDGE`, else the one built beside this test binary.
    static let judge = product("libbpf-judge", env: "BTFGEN_JUDGE")
    /// Whether bpf() works here (`libbpf-judge probe`). libbpf relocates only inside
    /// `bpf_object__load`, which first loads a trivial program: without bpf() (not root, BPF
    /// disabled) there is no oracle, and the tests that need one skip, saying so.
    static let bpfWorks: Bool = (try? runProcess(judge, ["probe"]))?.status == 0

    /// Decompressed kernel BTFs: `$BTFGEN_TEST_KERNELS`, else `.build/testdata/kernels`.
    static let kernelsDir: String = {
        let v = ProcessInfo.processInfo.environment["BTFGEN_TEST_KERNELS"] ?? ""
        return v.isEmpty ? packageRoot + "/.build/testdata/kernels" : (v.hasPrefix("/") ? v : packageRoot + "/" + v)
    }()

    /// File names of the test kernels (`*.btf`), sorted; empty when `make testdata` has not run.
    static let kernels: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: kernelsDir)) ?? [])
        .filter { $0.hasSuffix(".btf") }.sorted(by: littleEndianFirst(in: kernelsDir))

    /// The little-endian fixture objects, `testdata/bpf/*.bpf.o` (libbpf on this host loads these).
    static let fixtures: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: packageRoot + "/testdata/bpf")) ?? [])
        .filter { $0.hasSuffix(".bpf.o") }.sorted().map { packageRoot + "/testdata/bpf/" + $0 }

    static func fixture(_ name: String) -> String { packageRoot + "/testdata/bpf/" + name }

    /// An executable named `name` on PATH or in the sbin directories (bpftool lives in /usr/sbin).
    static func tool(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let bpftool = tool("bpftool")
    static let python3 = tool("python3")

    /// The JSON Schema the reports follow.
    static let schemaPath = packageRoot + "/docs/report-schema.json"
    static let schemaDoc = packageRoot + "/docs/report-schema.md"
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
    return [UInt8](data)
}

func readText(_ path: String) throws -> String { String(decoding: try readBytes(path), as: UTF8.self) }

/// `st_size` from stat(2), following symbolic links.
func statSize(_ path: String) -> Int? {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : nil
}

/// A fresh directory under the system temp dir.
func makeTempDir(_ tag: String) throws -> String {
    let dir = NSTemporaryDirectory() + "btfgen-report-\(tag)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func withTempDir<T>(_ tag: String, _ body: (String) throws -> T) throws -> T {
    let dir = try makeTempDir(tag)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

struct ProcessOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable` with `arguments`, collecting stdout and stderr through files (so a large
/// output cannot fill a pipe and stall the child); kills it after `timeout` seconds.
func runProcess(_ executable: String, _ arguments: [String], timeout: Double = 600,
                environment: [String: String]? = nil) throws -> ProcessOutput {
    guard FileManager.default.isExecutableFile(atPath: executable) else {
        throw TestFailure("\(executable) not found or not executable (build it, or set the matching environment variable)")
    }
    return try withTempDir("proc") { dir in
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                throw TestFailure("\(executable) \(arguments.joined(separator: " ")): timed out after \(Int(timeout))s")
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        try out.close()
        try err.close()
        return ProcessOutput(status: process.terminationStatus,
                             stdout: String(decoding: try readBytes(outPath), as: UTF8.self),
                             stderr: String(decoding: try readBytes(errPath), as: UTF8.self))
    }
}

/// Runs the btfgen CLI.
func btfgen(_ arguments: [String]) throws -> ProcessOutput { try runProcess(TestEnv.btfgen, arguments) }

/// Parses JSON text into Foundation objects.
func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

/// Runs a Python 3 script (`python3 -c SCRIPT ARGS...`), failing clearly when there is no python3.
func python(_ script: String, _ arguments: [String]) throws -> ProcessOutput {
    guard let py = TestEnv.python3 else { throw TestFailure("python3 not found") }
    return try runProcess(py, ["-c", script] + arguments)
}

/// Validates the JSON file at `path` against `docs/report-schema.json` with python3's
/// `jsonschema` (Draft 2020-12); returns the validation errors, one per line.
func schemaErrors(_ path: String) throws -> [String] {
    let script = """
        import json, sys
        try:
            import jsonschema
        except ImportError:
            print("python3 module jsonschema is missing (apt-get install python3-jsonschema)", file=sys.stderr)
            sys.exit(2)
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        v = jsonschema.Draft202012Validator(schema)
        for e in sorted(v.iter_errors(json.load(open(sys.argv[2]))), key=lambda e: list(e.path)):
            print("/".join(str(p) for p in e.absolute_path) + ": " + e.message)
        """
    let out = try python(script, [TestEnv.schemaPath, path])
    guard out.status == 0 else { throw TestFailure("schema check failed to run: \(out.stderr)") }
    return out.stdout.split(separator: "\n").map(String.init)
}

/// bpftool's view of a BTF file: its types (`[N] KIND ...` lines, void excluded) and the
/// members of its structs and unions (the sum of their `vlen=`).
struct BpftoolCounts: Equatable {
    var types: Int
    var members: Int
}

func bpftoolCounts(_ path: String) throws -> BpftoolCounts {
    guard let bpftool = TestEnv.bpftool else { throw TestFailure("bpftool not found") }
    let out = try runProcess(bpftool, ["btf", "dump", "file", path, "format", "raw"])
    guard out.status == 0 else { throw TestFailure("bpftool btf dump \(path): \(out.stderr)") }
    var counts = BpftoolCounts(types: 0, members: 0)
    for line in out.stdout.split(separator: "\n") where line.hasPrefix("[") {
        counts.types += 1
        let fields = line.split(separator: " ")
        guard fields.count > 1, fields[1] == "STRUCT" || fields[1] == "UNION" else { continue }
        if let v = fields.first(where: { $0.hasPrefix("vlen=") }), let n = Int(v.dropFirst(5)) { counts.members += n }
    }
    return counts
}

/// Orders kernel file names little-endian first, then by name: the tests that take the first
/// kernel patch its bytes as little-endian BTF (the big-endian s390x ones sort early by name).
func littleEndianFirst(in dir: String) -> (String, String) -> Bool {
    func big(_ name: String) -> Bool {
        FileHandle(forReadingAtPath: dir + "/" + name).map { $0.readData(ofLength: 1).first == 0xeb } ?? false
    }
    return { a, b in big(a) != big(b) ? !big(a) : a < b }
}
