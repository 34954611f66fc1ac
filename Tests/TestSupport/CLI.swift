#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The btfgen command line, run as a child process (`TestEnv.btfgen`).
public enum CLI {
    /// Runs btfgen with `arguments`; stdout and stderr go through files, so a large output cannot
    /// fill a pipe and stall the child.
    public static func run(_ arguments: [String]) throws -> ProcessOutput {
        try run(TestEnv.btfgen, arguments)
    }

    /// Runs btfgen through a small python3 parent that reports its child's peak RSS
    /// (`RUSAGE_CHILDREN`). Measuring from this process would not work: a child's `ru_maxrss`
    /// starts from its parent's RSS when it is forked (exec records the old memory map's high
    /// water mark), and a test process running many suites is itself hundreds of MB.
    public static func runMeasuringMemory(_ arguments: [String]) throws -> ProcessOutput {
        let dir = try makeTempDir("cli-rss")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
            import resource, subprocess, sys
            r = subprocess.run(sys.argv[2:])
            open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
            sys.exit(r.returncode if r.returncode >= 0 else 128 - r.returncode)
            """
        var run = try run("/usr/bin/env", ["python3", "-c", script, dir + "/rss", TestEnv.btfgen] + arguments)
        run.peakRSSKiB = (try? readBytes(dir + "/rss")).flatMap { Int(String(decoding: $0, as: UTF8.self)) }
        return run
    }

    /// Runs `executable` with posix_spawn, in this process's directory and environment; a child
    /// killed by a signal exits 128 + the signal, as a shell reports it.
    public static func run(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestFailure("\(executable) is not an executable: build it (swift build --product btfgen) or set BTFGEN_BIN")
        }
        let dir = try makeTempDir("cli-run")
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
        guard spawned == 0 else { throw TestFailure("cannot run \(executable): \(String(cString: strerror(spawned)))") }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw TestFailure("waitpid failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS, and 128 + signal otherwise, as a shell reports it.
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        func text(_ path: String) -> String { String(decoding: (try? readBytes(path)) ?? [], as: UTF8.self) }
        return ProcessOutput(command: ([executable] + arguments).joined(separator: " "), status: code,
                             stdout: text(outPath), stderr: text(errPath))
    }

    /// Runs `btfgen -i INPUT --object O... -o OUTPUT -q [--jobs N]`, expecting exit status 0.
    public static func run(input: String, objects: [String], output: String, jobs: Int? = nil) throws -> ProcessOutput {
        var args = ["-i", input]
        for o in objects { args += ["--object", o] }
        args += ["-o", output, "-q"]
        if let jobs { args += ["--jobs", String(jobs)] }
        let out = try runProcess(TestEnv.btfgen, args)
        guard out.status == 0 else {
            throw TestFailure("btfgen \(args.joined(separator: " ")) exited \(out.status): \(out.stderr)")
        }
        return out
    }

    /// Trims every test kernel (one run over the kernel directory) and the running kernel (one
    /// more run, when it has BTF) into `dir`; returns each kernel's output file.
    public static func trimAll(objects: [String], into dir: String) throws -> [TestKernel: String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try run(input: TestEnv.kernelsDir, objects: objects, output: dir)
        if let running = TestKernel.running {
            _ = try run(input: running.path, objects: objects, output: dir + "/")
        }
        var out: [TestKernel: String] = [:]
        for k in TestKernel.all { out[k] = dir + "/" + k.outputName }
        return out
    }

    /// `cc`, when there is one on PATH.
    public static let cc: String? = {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/cc" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// `script` (util-linux), which runs a command on a pseudo-terminal.
    public static let script: String? = ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs the btfgen CLI (through `runProcess`, killed after ten minutes).
public func btfgen(_ arguments: [String]) throws -> ProcessOutput {
    try runProcess(TestEnv.btfgen, arguments, timeout: 600)
}

/// The fixture object the CLI tests trim for (quick to resolve, resolves on every test kernel).
public var coreFields: String { TestEnv.fixturePath("core_fields.bpf.o") }

/// Copies test kernel number `index` (in `TestEnv.kernels`) to `path`, creating its directory.
public func placeKernel(_ index: Int, at path: String) throws {
    guard index < TestEnv.kernels.count else {
        throw TestFailure("no test kernel #\(index) in \(TestEnv.kernelsDir): run make testdata")
    }
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: TestEnv.kernelPath(TestEnv.kernels[index]), toPath: path)
}

/// Parses `--json` output: one object per line.
public func jsonLines(_ run: ProcessOutput, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
    try run.stdoutLines.map { line in
        let value = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
        guard let object = value as? [String: Any] else { throw TestFailure("not a JSON object: \(line)") }
        return object
    }
}
