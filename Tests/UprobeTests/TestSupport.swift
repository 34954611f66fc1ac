import Foundation
import Testing

import BTF

// Paths and process helpers for the user-space CO-RE tests. The other test targets hold similar
// helpers (test targets cannot share sources).

enum TestEnv {
    /// The package root: three levels up from this file (`Tests/UprobeTests/TestSupport.swift`).
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

    /// The running kernel's BTF.
    static let runningKernelBTF = "/sys/kernel/btf/vmlinux"

    static let buildScript = packageRoot + "/scripts/build-uprobe-fixtures.sh"
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
    return [UInt8](data)
}

func writeBytes(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Runs `body` in a fresh temporary directory, removed afterwards.
func withTempDir<T>(_ body: (String) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("btfgen-uprobe-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

struct ProcessOutput: CustomStringConvertible {
    var command: String
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "`\(command)` exited \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}

/// Runs `executable` with `arguments`, collecting stdout and stderr through files (a large output
/// cannot fill a pipe and stall the child).
func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
    guard FileManager.default.isExecutableFile(atPath: executable) else {
        throw TestFailure("\(executable) not found or not executable")
    }
    return try withTempDir { dir in
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
        return ProcessOutput(command: ([executable] + arguments).joined(separator: " "),
                             status: process.terminationStatus,
                             stdout: String(decoding: try readBytes(outPath), as: UTF8.self),
                             stderr: String(decoding: try readBytes(errPath), as: UTF8.self))
    }
}

/// Runs a command that must succeed, returning its output.
@discardableResult
func runChecked(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
    let out = try runProcess(executable, arguments)
    guard out.status == 0 else { throw TestFailure("\(out)") }
    return out
}

/// Runs libbpf-judge, failing clearly when it has not been built.
func runJudge(_ arguments: [String]) throws -> ProcessOutput {
    guard FileManager.default.isExecutableFile(atPath: TestEnv.judge) else {
        throw TestFailure("libbpf-judge not found at \(TestEnv.judge): run `swift build --product libbpf-judge` or set BTFGEN_JUDGE")
    }
    return try runProcess(TestEnv.judge, arguments)
}

/// The header fields of a raw BTF file, read straight from its bytes (not through our parser).
struct RawBTFHeader {
    var order: ByteOrder
    var headerLength: Int
    var typeStart: Int
    var typeLength: Int
    var stringStart: Int
    var stringLength: Int

    init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 24 else { throw TestFailure("BTF shorter than its header") }
        if bytes[0] == 0x9f && bytes[1] == 0xeb { order = .little } else if bytes[0] == 0xeb && bytes[1] == 0x9f { order = .big } else {
            throw TestFailure("not raw BTF")
        }
        let order = self.order
        func u32(_ at: Int) -> Int {
            let b = bytes[at..<(at + 4)].map(UInt32.init)
            return Int(order == .little ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24)
        }
        headerLength = u32(4)
        typeStart = headerLength + u32(8)
        typeLength = u32(12)
        stringStart = headerLength + u32(16)
        stringLength = u32(20)
    }

    func typeSection(_ bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[typeStart..<(typeStart + typeLength)] }
    func stringSection(_ bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[stringStart..<(stringStart + stringLength)] }
}
