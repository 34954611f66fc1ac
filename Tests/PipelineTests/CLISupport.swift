#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The btfgen command line, run as a child process.
enum CLI {
    /// `$BTFGEN_BIN`, else the btfgen built beside this test binary (`swift test` builds every
    /// product into the same directory), else `.build/debug/btfgen`.
    static let btfgen: String = {
        if let env = ProcessInfo.processInfo.environment["BTFGEN_BIN"], !env.isEmpty {
            return env.hasPrefix("/") ? env : Env.root + "/" + env
        }
        let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        let sibling = URL(fileURLWithPath: selfPath).deletingLastPathComponent().appendingPathComponent("btfgen").path
        if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        return Env.root + "/.build/debug/btfgen"
    }()

    struct Run: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        /// btfgen's peak resident set size in KiB, from `runMeasuringMemory` only.
        var peakRSSKiB: Int?

        var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
        var description: String { "exit \(status)\nstdout:\n\(stdout)stderr:\n\(stderr)" }
    }

    /// Runs btfgen with `arguments`; stdout and stderr go through files, so a large output cannot
    /// fill a pipe and stall the child.
    static func run(_ arguments: [String]) throws -> Run {
        try run(btfgen, arguments)
    }

    /// Runs btfgen through a small python3 parent that reports its child's peak RSS
    /// (`RUSAGE_CHILDREN`). Measuring from this process would not work: a child's `ru_maxrss`
    /// starts from its parent's RSS when it is forked (exec records the old memory map's high
    /// water mark), and a test process running many suites is itself hundreds of MB.
    static func runMeasuringMemory(_ arguments: [String]) throws -> Run {
        let dir = try tempDir("cli-rss")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
            import resource, subprocess, sys
            r = subprocess.run(sys.argv[2:])
            open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
            sys.exit(r.returncode if r.returncode >= 0 else 128 - r.returncode)
            """
        var run = try run("/usr/bin/env", ["python3", "-c", script, dir + "/rss", btfgen] + arguments)
        run.peakRSSKiB = (try? read(dir + "/rss")).flatMap { Int(String(decoding: $0, as: UTF8.self)) }
        return run
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Run {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw Failure("\(executable) is not an executable: build it (swift build --product btfgen) or set BTFGEN_BIN")
        }
        let dir = try tempDir("cli-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outPath = dir + "/stdout", errPath = dir + "/stderr"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") }
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv + [nil], envp + [nil])
        guard spawned == 0 else { throw Failure("cannot run \(executable): \(String(cString: strerror(spawned)))") }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure("waitpid failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS, and 128 + signal otherwise, as a shell reports it.
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        func text(_ path: String) -> String { String(decoding: (try? read(path)) ?? [], as: UTF8.self) }
        return Run(status: code, stdout: text(outPath), stderr: text(errPath))
    }

    /// `cc`, when there is one on PATH.
    static let cc: String? = {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/cc" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// `script` (util-linux), which runs a command on a pseudo-terminal.
    static let script: String? = ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The fixture object the CLI tests trim for (quick to resolve, resolves on every test kernel).
var coreFields: String { Env.root + "/testdata/bpf/core_fields.bpf.o" }

/// Copies a test kernel to `path`, creating its directory.
func placeKernel(_ index: Int, at path: String) throws {
    guard index < Env.kernels.count else { throw Failure("no test kernel #\(index) in \(Env.kernelsDir): run make testdata") }
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: Env.kernelsDir + "/" + Env.kernels[index], toPath: path)
}

/// Writes `text` to `path`, creating its directory.
func writeText(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { throw Failure("cannot create \(path)") }
}

/// The size of a file, -1 if it does not exist.
func sizeOf(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}

/// Parses `--json` output: one object per line.
func jsonLines(_ run: CLI.Run, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
    try run.stdoutLines.map { line in
        let value = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
        guard let object = value as? [String: Any] else { throw Failure("not a JSON object: \(line)") }
        return object
    }
}

/// Orders kernel file names little-endian first, then by name: the tests that take the first
/// kernel patch its bytes as little-endian BTF (the big-endian s390x ones sort early by name).
func littleEndianFirst(in dir: String) -> (String, String) -> Bool {
    func big(_ name: String) -> Bool {
        FileHandle(forReadingAtPath: dir + "/" + name).map { $0.readData(ofLength: 1).first == 0xeb } ?? false
    }
    return { a, b in big(a) != big(b) ? !big(a) : a < b }
}
