import Foundation

/// Runs libbpf-judge, the oracle (see the header comment of Sources/libbpf-judge/judge.c),
/// failing clearly when it has not been built.
public func runJudge(_ arguments: [String]) throws -> ProcessOutput {
    guard FileManager.default.isExecutableFile(atPath: TestEnv.judge) else {
        throw TestFailure("libbpf-judge not found at \(TestEnv.judge): run `swift build --product libbpf-judge` or set BTFGEN_JUDGE")
    }
    return try runProcess(TestEnv.judge, arguments)
}

/// What libbpf-judge says about relocations.
public enum Judge {
    public struct Relos: Sendable {
        public var run: ProcessOutput
        /// `PROG relo #N: KIND SPEC => OUTCOME`, sorted by program and relo index.
        public var lines: [String] { run.stdoutLines }
        /// `load: ok` or `load: failed (E)`.
        public var load: String { run.lastStderrLine }
    }

    private static let fullRelos = OnceCache<[String], Relos>()

    /// `libbpf-judge relos OBJ --btf BTF`: what libbpf does with each CO-RE relocation.
    public static func relos(_ object: String, btf: String) throws -> Relos {
        Relos(run: try runJudge(["relos", object, "--btf", btf]))
    }

    /// `relos` against a full kernel, run once per (object, kernel) for the whole test run.
    public static func relos(_ fixture: Fixture, kernel: TestKernel) throws -> Relos {
        try fullRelos.value([fixture.path, kernel.path]) { key in try relos(key[0], btf: key[1]) }
    }
}
