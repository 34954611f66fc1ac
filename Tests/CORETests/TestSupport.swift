import Foundation
import Synchronization
import Testing

import BPFObject
import KernelInput
import BTF

// Inputs, tools and caches shared by the differential tests. Test targets cannot share sources,
// so Tests/MinimizeTests/TestSupport.swift is a symbolic link to this file.

enum TestEnv {
    /// The package root: three levels up from this file (`Tests/<Target>/TestSupport.swift`).
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
    /// (`scripts/testdata-kernels.sh .build/testdata/kernels` fills it).
    static let kernelsDir = path(env: "BTFGEN_TEST_KERNELS", default: ".build/testdata/kernels")

    /// The libbpf oracle: `$BTFGEN_JUDGE`, else `.build/debug/libbpf-judge`.
    static let judge = path(env: "BTFGEN_JUDGE", default: ".build/debug/libbpf-judge")
    /// Whether bpf() works here (`libbpf-judge probe`). libbpf relocates only inside
    /// `bpf_object__load`, which first loads a trivial program: without bpf() (not root, BPF
    /// disabled) there is no oracle, and the tests that need one skip, saying so.
    static let bpfWorks: Bool = (try? runProcess(judge, ["probe"]))?.status == 0
    /// The same judge linked with sid's libbpf (≥ 1.5: `btf__relocate`, `btf__distill_base`), for
    /// modules built with a distilled base: `$BTFGEN_JUDGE_SID`, else `.build/judge-sid/libbpf-judge`
    /// (`scripts/build-judge-sid.sh`, which `make test` runs, makes it).
    static let judgeSid = path(env: "BTFGEN_JUDGE_SID", default: ".build/judge-sid/libbpf-judge")
    static var hasJudgeSid: Bool { FileManager.default.isExecutableFile(atPath: judgeSid) }

    /// The btfgen CLI: `$BTFGEN_BIN`, else the one built beside this test binary (`swift test`
    /// builds every product into the same directory), else `.build/debug/btfgen`.
    static let btfgen: String = {
        if let env = ProcessInfo.processInfo.environment["BTFGEN_BIN"], !env.isEmpty {
            return env.hasPrefix("/") ? env : packageRoot + "/" + env
        }
        let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        let sibling = URL(fileURLWithPath: selfPath).deletingLastPathComponent().appendingPathComponent("btfgen").path
        if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        return packageRoot + "/.build/debug/btfgen"
    }()

    /// The running kernel's BTF, when the kernel exposes it.
    static let runningKernelBTF = "/sys/kernel/btf/vmlinux"

    /// An executable named `name` on PATH or in the sbin directories (bpftool lives in /usr/sbin).
    static func tool(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/sbin", "/sbin"]
        return dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let bpftool = tool("bpftool")

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }
}

/// A kernel BTF the tests trim: one of the test kernels, or the running kernel's.
struct TestKernel: Sendable, Hashable, CustomStringConvertible, CustomTestStringConvertible {
    var name: String
    var path: String
    var isRunning = false

    var description: String { name }
    var testDescription: String { name }

    /// The name btfgen gives this kernel's output in a directory (its input file name).
    var outputName: String { URL(fileURLWithPath: path).lastPathComponent }

    /// The test kernels (`*.btf` in `TestEnv.kernelsDir`), sorted by name.
    static let testKernels: [TestKernel] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: TestEnv.kernelsDir)) ?? []
        return names.filter { $0.hasSuffix(".btf") }.sorted(by: littleEndianFirst(in: TestEnv.kernelsDir)).map {
            TestKernel(name: String($0.dropLast(4)), path: TestEnv.kernelsDir + "/" + $0)
        }
    }()

    /// `/sys/kernel/btf/vmlinux`, when present.
    static let running: TestKernel? = FileManager.default.isReadableFile(atPath: TestEnv.runningKernelBTF)
        ? TestKernel(name: "running-kernel", path: TestEnv.runningKernelBTF, isRunning: true) : nil

    /// Every kernel the matrix runs over.
    static let all: [TestKernel] = testKernels + (running.map { [$0] } ?? [])
}

/// A real CO-RE program: one cut from Debian's packages by `scripts/fetch-bpf-objects.sh`
/// (`make real-objects`, into `.build/real/objects`), or the generated agent-scale program
/// (`make agent`, `.build/agent/agent.bpf.o`).
struct RealObject: Sendable, Hashable, CustomStringConvertible, CustomTestStringConvertible {
    /// `libbpf-tools-0.37.0_ds-8/klockstat`, `agent`.
    var name: String
    var path: String

    var description: String { name }
    var testDescription: String { name }

    static let objectsDir = TestEnv.path(env: "BTFGEN_REAL_OBJECTS", default: ".build/real/objects")
    static let agentPath = TestEnv.path(env: "BTFGEN_AGENT_OBJECT", default: ".build/agent/agent.bpf.o")

    /// Every real object there is, sorted by name (the agent last).
    static let all: [RealObject] = {
        let fm = FileManager.default
        var found: [RealObject] = []
        for package in ((try? fm.contentsOfDirectory(atPath: objectsDir)) ?? []).sorted() {
            let dir = objectsDir + "/" + package
            for file in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() where file.hasSuffix(".bpf.o") {
                found.append(RealObject(name: package + "/" + String(file.dropLast(6)), path: dir + "/" + file))
            }
        }
        if fm.isReadableFile(atPath: agentPath) { found.append(RealObject(name: "agent", path: agentPath)) }
        return found
    }()
}

extension TestKernel {
    /// Kernels kept apart from the test kernels because they are large (the non-deduplicated
    /// CentOS 8 one): `$BTFGEN_LARGE_KERNELS`, else `.build/testdata/kernels-large`.
    static let large: [TestKernel] = {
        let dir = TestEnv.path(env: "BTFGEN_LARGE_KERNELS", default: ".build/testdata/kernels-large")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".btf") }.sorted().map { TestKernel(name: String($0.dropLast(4)), path: dir + "/" + $0) }
    }()

    /// The kernels the real programs are checked on. `make test` takes a slice that has every
    /// class of kernel once (an old and a new amd64, 32-bit, big-endian, generated from DWARF,
    /// not deduplicated); `BTFGEN_REAL_MATRIX=all` (`make check-real`) takes every kernel.
    static let realMatrix: [TestKernel] = {
        let all = testKernels + large
        if ProcessInfo.processInfo.environment["BTFGEN_REAL_MATRIX"] == "all" { return all }
        let slice = ["debian-bookworm-6.1.0-56-amd64", "debian-bullseye-5.10.0-46-amd64"]
        let classes = ["i386", "686", "armhf", "armmp", "s390x", "sid", "centos"]
        var picked = all.filter { slice.contains($0.name) }
        for c in classes {
            if let k = all.first(where: { $0.name.contains(c) }), !picked.contains(k) { picked.append(k) }
        }
        return picked
    }()
}

/// A fixture object in `testdata/bpf` (little-endian) or `testdata/bpf/bpfeb` (big-endian).
struct Fixture: Sendable, Hashable, CustomStringConvertible, CustomTestStringConvertible {
    /// File name, `core_fields.bpf.o`.
    var file: String
    var isBigEndian: Bool

    var path: String { TestEnv.packageRoot + "/testdata/bpf/" + (isBigEndian ? "bpfeb/" : "") + file }
    var description: String { isBigEndian ? "bpfeb/" + file : file }
    var testDescription: String { description }

    /// `edge.bpf.o` is built to fail: libbpf reports ambiguities, so it neither loads nor gets
    /// through `bpftool gen min_core_btf` (testdata/bpf/README.md).
    var isLoadable: Bool { file != "edge.bpf.o" }

    /// Whether bpftool 7.1 (libbpf 1.1) can minimize BTF for it: not for the ambiguous object,
    /// and not for big-endian objects, whose `.BTF.ext` libbpf 1.1 cannot read.
    var bpftoolCanMinimize: Bool { isLoadable && !isBigEndian }

    var littleEndian: Fixture { Fixture(file: file, isBigEndian: false) }

    private static func list(_ bigEndian: Bool) -> [Fixture] {
        let dir = TestEnv.packageRoot + "/testdata/bpf" + (bigEndian ? "/bpfeb" : "")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".bpf.o") }.sorted().map { Fixture(file: $0, isBigEndian: bigEndian) }
    }

    static let littleEndian = list(false)
    static let bigEndian = list(true)
    static let all = littleEndian + bigEndian
    /// Loadable into the running kernel: not `modules.bpf.o`, which reads module types without
    /// guards (its programs pass the verifier only where nf_conntrack, xfs, btrfs and kvm are).
    static let loadable = littleEndian.filter { $0.isLoadable && $0.file != "modules.bpf.o" }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
    return [UInt8](data)
}

func writeBytes(_ bytes: [UInt8], to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw TestFailure("cannot write \(path)") }
}

/// A fresh directory under the system temp dir.
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

struct ProcessOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String

    var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    /// The last line on stderr (libbpf-judge ends with `load: ok` / `load: failed (E)`).
    var lastStderrLine: String { stderr.split(separator: "\n").last.map(String.init) ?? "" }
}

/// Runs `executable` with `arguments`, collecting stdout and stderr (through files, so a large
/// output cannot fill a pipe and stall the child).
func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
    guard FileManager.default.isExecutableFile(atPath: executable) else { throw TestFailure("\(executable) is not an executable") }
    return try withTempDir { dir in
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: TestEnv.packageRoot)
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

/// A value per key, computed once even when tests running in parallel ask for it together.
final class OnceCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Slot: Sendable {
        let value = Mutex<Result<Value, any Error>?>(nil)
    }

    private let slots = Mutex<[Key: Slot]>([:])

    func value(_ key: Key, _ make: (Key) throws -> Value) throws -> Value {
        let slot = slots.withLock { slots in
            if let s = slots[key] { return s }
            let s = Slot()
            slots[key] = s
            return s
        }
        return try slot.value.withLock { stored in
            if let stored { return try stored.get() }
            let result = Result { try make(key) }
            stored = result
            return try result.get()
        }
    }
}

/// Parsed kernels and objects, shared by all tests of a run: each file is parsed once.
enum Inputs {
    private static let kernels = OnceCache<String, BTF>()
    private static let objects = OnceCache<String, BPFObject>()

    static func btf(_ kernel: TestKernel) throws -> BTF {
        try kernels.value(kernel.path) { path in try BTF(parsing: try readBytes(path)) }
    }

    static func object(_ fixture: Fixture) throws -> BPFObject {
        try object(path: fixture.path)
    }

    static func object(path: String) throws -> BPFObject {
        try objects.value(path) { path in try BPFObject(path: path) }
    }
}

/// libbpf-judge, the oracle (see the header comment of Sources/libbpf-judge/judge.c).
enum Judge {
    struct Relos: Sendable {
        var run: ProcessOutput
        /// `PROG relo #N: KIND SPEC => OUTCOME`, sorted by program and relo index.
        var lines: [String] { run.stdoutLines }
        /// `load: ok` or `load: failed (E)`.
        var load: String { run.lastStderrLine }
    }

    private static let fullRelos = OnceCache<[String], Relos>()

    static func run(_ arguments: [String]) throws -> ProcessOutput {
        guard FileManager.default.isExecutableFile(atPath: TestEnv.judge) else {
            throw TestFailure("libbpf-judge not found at \(TestEnv.judge): run `swift build --product libbpf-judge` or set BTFGEN_JUDGE")
        }
        return try runProcess(TestEnv.judge, arguments)
    }

    /// `libbpf-judge relos OBJ --btf BTF`: what libbpf does with each CO-RE relocation.
    static func relos(_ object: String, btf: String) throws -> Relos {
        Relos(run: try run(["relos", object, "--btf", btf]))
    }

    /// `relos` against a full kernel, run once per (object, kernel) for the whole test run.
    static func relos(_ fixture: Fixture, kernel: TestKernel) throws -> Relos {
        try fullRelos.value([fixture.path, kernel.path]) { key in try relos(key[0], btf: key[1]) }
    }
}

/// Checks that a BTF file parses with btfgen's parser and with libbpf's `btf__parse`, and that
/// both see the same number of types.
func expectValidBTF(_ path: String, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let bytes = try readBytes(path)
    let ours: BTF
    do {
        ours = try BTF(parsing: bytes)
    } catch {
        Issue.record("\(context): btfgen cannot parse \(path): \(error)", sourceLocation: sourceLocation)
        return
    }
    let libbpf = try Judge.run(["parse", path])
    #expect(libbpf.status == 0, "\(context): libbpf cannot parse \(path): \(libbpf.stderr)", sourceLocation: sourceLocation)
    #expect(libbpf.stdoutLines.first == "types \(ours.typeCount - 1)",
            "\(context): libbpf sees \(libbpf.stdoutLines.first ?? "nothing"), btfgen \(ours.typeCount - 1) types",
            sourceLocation: sourceLocation)
}

/// A readable difference between two line lists: the first lines where they part.
func lineDiff(_ expected: [String], _ actual: [String], limit: Int = 6) -> String {
    var out: [String] = []
    for i in 0..<max(expected.count, actual.count) where out.count < limit {
        let e = i < expected.count ? expected[i] : "<none>", a = i < actual.count ? actual[i] : "<none>"
        if e != a { out.append("line \(i + 1):\n  expected: \(e)\n  actual:   \(a)") }
    }
    return out.joined(separator: "\n")
}

/// Orders kernel file names little-endian first, then by name: the tests that take the first
/// kernel patch its bytes as little-endian BTF (the big-endian s390x ones sort early by name).
func littleEndianFirst(in dir: String) -> (String, String) -> Bool {
    func big(_ name: String) -> Bool {
        FileHandle(forReadingAtPath: dir + "/" + name).map { $0.readData(ofLength: 1).first == 0xeb } ?? false
    }
    return { a, b in big(a) != big(b) ? !big(a) : a < b }
}
