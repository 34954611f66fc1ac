import Foundation

/// Where the tests find their inputs and tools: paths from the environment, resolved against the
/// package root when relative, with defaults under `.build/` (the Makefile sets them all).
public enum TestEnv {
    /// The package root: three levels up from this file (`Tests/TestSupport/TestEnv.swift`).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A path from the environment, resolved against the package root when relative.
    public static func path(env name: String, default fallback: String) -> String {
        let value = ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        return value.hasPrefix("/") ? value : packageRoot + "/" + value
    }

    /// The directory of this test binary: `swift test` builds every product into it (on macOS,
    /// the directory holding the `.xctest` bundle).
    public static let binDir: String = {
        let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        var dir = URL(fileURLWithPath: selfPath).deletingLastPathComponent()
        while dir.path.contains(".xctest") { dir.deleteLastPathComponent() }
        return dir.path
    }()

    /// An executable from `$env`, else the product built beside this test binary, else
    /// `.build/debug/<name>`.
    public static func product(_ name: String, env: String) -> String {
        if let value = ProcessInfo.processInfo.environment[env], !value.isEmpty {
            return value.hasPrefix("/") ? value : packageRoot + "/" + value
        }
        let sibling = binDir + "/" + name
        if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        return packageRoot + "/.build/debug/" + name
    }

    // MARK: Tools

    /// The btfgen CLI: `$BTFGEN_BIN`, else the one built beside this test binary, else
    /// `.build/debug/btfgen`.
    public static let btfgen = product("btfgen", env: "BTFGEN_BIN")

    /// The libbpf oracle: `$BTFGEN_JUDGE`, else the one built beside this test binary, else
    /// `.build/debug/libbpf-judge`.
    public static let judge = product("libbpf-judge", env: "BTFGEN_JUDGE")

    /// Whether bpf() works here (`libbpf-judge probe`). libbpf relocates only inside
    /// `bpf_object__load`, which first loads a trivial program: without bpf() (not root, BPF
    /// disabled) there is no oracle, and the tests that need one skip, saying so.
    public static let bpfWorks: Bool = (try? runProcess(judge, ["probe"]))?.status == 0

    /// The same judge linked with sid's libbpf (≥ 1.5: `btf__relocate`, `btf__distill_base`), for
    /// modules built with a distilled base: `$BTFGEN_JUDGE_SID`, else `.build/judge-sid/libbpf-judge`
    /// (`scripts/build-judge-sid.sh`, which `make test` runs, makes it).
    public static let judgeSid = path(env: "BTFGEN_JUDGE_SID", default: ".build/judge-sid/libbpf-judge")
    public static var hasJudgeSid: Bool { FileManager.default.isExecutableFile(atPath: judgeSid) }

    /// An executable named `name` on PATH or in the sbin and bin directories (bpftool lives in
    /// /usr/sbin).
    public static func tool(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public static let bpftool = tool("bpftool")
    public static let python3 = tool("python3")

    // MARK: Kernels

    /// Decompressed kernel BTFs: `$BTFGEN_TEST_KERNELS`, else `.build/testdata/kernels`
    /// (`make testdata`, or `scripts/testdata-kernels.sh .build/testdata/kernels`, fills it).
    public static let kernelsDir = path(env: "BTFGEN_TEST_KERNELS", default: ".build/testdata/kernels")

    /// File names of the test kernels (`*.btf`), little-endian first, then by name; empty when
    /// `make testdata` has not run.
    public static let kernels: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: kernelsDir)) ?? []
        return names.filter { $0.hasSuffix(".btf") }.sorted(by: littleEndianFirst(in: kernelsDir))
    }()

    public static func kernelPath(_ name: String) -> String { kernelsDir + "/" + name }

    /// The smallest little-endian test kernel (the smallest of any byte order when there is
    /// none), for tests that patch a real BTF.
    public static let smallestKernel: String? = {
        func littleEndian(_ name: String) -> Bool {
            guard let h = FileHandle(forReadingAtPath: kernelPath(name)) else { return false }
            defer { try? h.close() }
            return (try? h.read(upToCount: 2)) == Data([0x9f, 0xeb])
        }
        let little = kernels.filter(littleEndian)
        return (little.isEmpty ? kernels : little).min { fileSize(kernelPath($0)) < fileSize(kernelPath($1)) }
    }()

    /// The kernel the fixtures are relocated against when asking libbpf: the fixtures are built
    /// for x86, so an amd64 one.
    public static var targetKernel: String? { kernels.first { $0.contains("amd64") } ?? kernels.first }

    /// The running kernel's BTF, when the kernel exposes it.
    public static let runningKernelBTF = "/sys/kernel/btf/vmlinux"

    // MARK: Fixture objects

    /// The fixture objects' directory, `testdata/bpf`; big-endian twins are in `bpfeb/` below it.
    public static let fixturesDir = packageRoot + "/testdata/bpf"

    /// File names of the little-endian fixture objects (`testdata/bpf/*.bpf.o`), sorted.
    public static let fixtures: [String] = objects(in: fixturesDir)

    /// File names of the big-endian fixture objects (`testdata/bpf/bpfeb/*.bpf.o`), sorted.
    public static let bigEndianFixtures: [String] = objects(in: fixturesDir + "/bpfeb")

    /// Paths of the little-endian fixture objects, sorted (edge.bpf.o included: btfgen must cope
    /// with it; libbpf on this host loads the others).
    public static let fixturePaths: [String] = fixtures.map(fixturePath)

    public static func fixturePath(_ name: String) -> String { fixturesDir + "/" + name }
    public static func bigEndianFixturePath(_ name: String) -> String { fixturesDir + "/bpfeb/" + name }

    private static func objects(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".bpf.o") }.sorted()
    }

    // MARK: Scripts and documents

    /// Builds the user-space CO-RE fixtures.
    public static let buildScript = packageRoot + "/scripts/build-uprobe-fixtures.sh"

    /// The JSON Schema the reports follow, and the page that explains it.
    public static let schemaPath = packageRoot + "/docs/report-schema.json"
    public static let schemaDoc = packageRoot + "/docs/report-schema.md"

    /// The size of a file, -1 if it does not exist.
    public static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }
}
