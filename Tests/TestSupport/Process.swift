#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What a child process did.
public struct ProcessOutput: Sendable, CustomStringConvertible {
    /// The command line, for messages.
    public var command: String
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// Whether it was killed for running past its time (`runProcess(_:_:killingAfter:)`).
    public var timedOut = false
    /// Its peak resident set size in KiB, from `CLI.runMeasuringMemory` only.
    public var peakRSSKiB: Int?

    public init(command: String, status: Int32, stdout: String, stderr: String, timedOut: Bool = false) {
        self.command = command
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
    }

    public var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    public var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    /// The last line on stderr (libbpf-judge ends with `load: ok` / `load: failed (E)`).
    public var lastStderrLine: String { stderr.split(separator: "\n").last.map(String.init) ?? "" }

    public var description: String { "`\(command)` exited \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}

/// Runs `executable` with `arguments` in `directory` (the package root unless given), collecting
/// stdout and stderr (through files, so a large output cannot fill a pipe and stall the child).
/// With a `timeout`, kills it after that many seconds and throws.
public func runProcess(_ executable: String, _ arguments: [String], timeout: Double? = nil,
                       environment: [String: String]? = nil, in directory: String? = nil) throws -> ProcessOutput {
    guard FileManager.default.isExecutableFile(atPath: executable) else {
        throw TestFailure("\(executable) is not an executable (build it, or set the matching environment variable)")
    }
    let out = try spawn(executable, arguments, timeout: timeout, environment: environment, directory: directory)
    if out.timedOut, let timeout {
        throw TestFailure("\(executable) \(arguments.joined(separator: " ")): timed out after \(Int(timeout))s")
    }
    return out
}

/// Runs `executable` with `arguments`, killing it after `seconds`: never throws, and says in
/// `timedOut` whether it had to kill it (status -1 when it could not be run at all).
public func runProcess(_ executable: String, _ arguments: [String], killingAfter seconds: Double) -> ProcessOutput {
    do {
        return try spawn(executable, arguments, timeout: seconds, environment: nil, directory: nil)
    } catch {
        return ProcessOutput(command: ([executable] + arguments).joined(separator: " "), status: -1, stdout: "",
                             stderr: "cannot run \(executable): \(error)")
    }
}

private func spawn(_ executable: String, _ arguments: [String], timeout: Double?, environment: [String: String]?,
                   directory: String?) throws -> ProcessOutput {
    try withTempDir("proc") { dir in
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? TestEnv.packageRoot)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var timedOut = false
        if let timeout {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning {
                if Date() > deadline {
                    timedOut = true
                    process.terminate()
                    break
                }
                usleep(5_000)
            }
        }
        process.waitUntilExit()
        try out.close()
        try err.close()
        return ProcessOutput(command: ([executable] + arguments).joined(separator: " "),
                             status: process.terminationStatus,
                             stdout: String(decoding: try readBytes(outPath), as: UTF8.self),
                             stderr: String(decoding: try readBytes(errPath), as: UTF8.self),
                             timedOut: timedOut)
    }
}

/// Runs a command that must succeed, returning its output.
@discardableResult
public func runChecked(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
    let out = try runProcess(executable, arguments)
    guard out.status == 0 else { throw TestFailure("\(out)") }
    return out
}

/// Runs a command found on PATH (`/usr/bin/env ARGS...`) in `cwd`, failing the test when it
/// fails; returns its stdout and stderr.
@discardableResult
public func sh(_ args: [String], cwd: String? = nil) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let out = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0 else { throw TestFailure("\(args.joined(separator: " ")) failed: \(out)") }
    return out
}

/// Runs a Python 3 script (`python3 -c SCRIPT ARGS...`), failing clearly when there is no
/// python3; kills it after ten minutes.
public func python(_ script: String, _ arguments: [String]) throws -> ProcessOutput {
    guard let py = TestEnv.python3 else { throw TestFailure("python3 not found") }
    return try runProcess(py, ["-c", script] + arguments, timeout: 600)
}
