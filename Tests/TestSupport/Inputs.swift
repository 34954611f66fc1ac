import Foundation
import Synchronization
import Testing

import BPFObject
import BTF

/// A kernel BTF the tests trim: one of the test kernels, or the running kernel's.
public struct TestKernel: Sendable, Hashable, CustomStringConvertible, CustomTestStringConvertible {
    public var name: String
    public var path: String
    public var isRunning = false

    public init(name: String, path: String, isRunning: Bool = false) {
        self.name = name
        self.path = path
        self.isRunning = isRunning
    }

    public var description: String { name }
    public var testDescription: String { name }

    /// The name btfgen gives this kernel's output in a directory (its input file name).
    public var outputName: String { URL(fileURLWithPath: path).lastPathComponent }

    /// The test kernels (`*.btf` in `TestEnv.kernelsDir`), little-endian first, then by name.
    public static let testKernels: [TestKernel] = TestEnv.kernels.map {
        TestKernel(name: String($0.dropLast(4)), path: TestEnv.kernelPath($0))
    }

    /// `/sys/kernel/btf/vmlinux`, when present.
    public static let running: TestKernel? = FileManager.default.isReadableFile(atPath: TestEnv.runningKernelBTF)
        ? TestKernel(name: "running-kernel", path: TestEnv.runningKernelBTF, isRunning: true) : nil

    /// Every kernel the matrix runs over.
    public static let all: [TestKernel] = testKernels + (running.map { [$0] } ?? [])

    /// Kernels kept apart from the test kernels because they are large (the non-deduplicated
    /// CentOS 8 one): `$BTFGEN_LARGE_KERNELS`, else `.build/testdata/kernels-large`.
    public static let large: [TestKernel] = {
        let dir = TestEnv.path(env: "BTFGEN_LARGE_KERNELS", default: ".build/testdata/kernels-large")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".btf") }.sorted().map { TestKernel(name: String($0.dropLast(4)), path: dir + "/" + $0) }
    }()

    /// The kernels the real programs are checked on. `make test` takes a slice that has every
    /// class of kernel once (an old and a new amd64, 32-bit, big-endian, generated from DWARF,
    /// not deduplicated); `BTFGEN_REAL_MATRIX=all` (`make check-real`) takes every kernel.
    public static let realMatrix: [TestKernel] = {
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

/// A real CO-RE program: one cut from Debian's packages by `scripts/fetch-bpf-objects.sh`
/// (`make real-objects`, into `.build/real/objects`), or the generated agent-scale program
/// (`make agent`, `.build/agent/agent.bpf.o`).
public struct RealObject: Sendable, Hashable, CustomStringConvertible, CustomTestStringConvertible {
    /// `libbpf-tools-0.37.0_ds-8/klockstat`, `agent`.
    public var name: String
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    public var description: String { name }
    public var testDescription: String { name }

    public static let objectsDir = TestEnv.path(env: "BTFGEN_REAL_OBJECTS", default: ".build/real/objects")
    public static let agentPath = TestEnv.path(env: "BTFGEN_AGENT_OBJECT", default: ".build/agent/agent.bpf.o")

    /// Every real object there is, sorted by name (the agent last).
    public static let all: [RealObject] = {
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

/// A fixture object in `testdata/bpf` (little-endian) or `testdata/bpf/bpfeb` (big-endian).
public struct Fixture: Sendable, Hashable, CustomStringConvertible, CustomTestStringConvertible {
    /// File name, `core_fields.bpf.o`.
    public var file: String
    public var isBigEndian: Bool

    public init(file: String, isBigEndian: Bool) {
        self.file = file
        self.isBigEndian = isBigEndian
    }

    public var path: String { isBigEndian ? TestEnv.bigEndianFixturePath(file) : TestEnv.fixturePath(file) }
    public var description: String { isBigEndian ? "bpfeb/" + file : file }
    public var testDescription: String { description }

    /// `edge.bpf.o` is built to fail: libbpf reports ambiguities, so it neither loads nor gets
    /// through `bpftool gen min_core_btf` (testdata/bpf/README.md).
    public var isLoadable: Bool { file != "edge.bpf.o" }

    /// Whether bpftool 7.1 (libbpf 1.1) can minimize BTF for it: not for the ambiguous object,
    /// and not for big-endian objects, whose `.BTF.ext` libbpf 1.1 cannot read.
    public var bpftoolCanMinimize: Bool { isLoadable && !isBigEndian }

    public var littleEndian: Fixture { Fixture(file: file, isBigEndian: false) }

    public static let littleEndian = TestEnv.fixtures.map { Fixture(file: $0, isBigEndian: false) }
    public static let bigEndian = TestEnv.bigEndianFixtures.map { Fixture(file: $0, isBigEndian: true) }
    public static let all = littleEndian + bigEndian
    /// Loadable into the running kernel: not `modules.bpf.o`, which reads module types without
    /// guards (its programs pass the verifier only where nf_conntrack, xfs, btrfs and kvm are).
    public static let loadable = littleEndian.filter { $0.isLoadable && $0.file != "modules.bpf.o" }
}

extension TestEnv {
    /// The little-endian fixture objects, parsed (each call parses them again).
    public static func fixtureObjects() throws -> [BPFObject] { try fixturePaths.map { try BPFObject(path: $0) } }
}

/// A value per key, computed once even when tests running in parallel ask for it together.
public final class OnceCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Slot: Sendable {
        let value = Mutex<Result<Value, any Error>?>(nil)
    }

    private let slots = Mutex<[Key: Slot]>([:])

    public init() {}

    public func value(_ key: Key, _ make: (Key) throws -> Value) throws -> Value {
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
public enum Inputs {
    private static let kernels = OnceCache<String, BTF>()
    private static let objects = OnceCache<String, BPFObject>()

    public static func btf(_ kernel: TestKernel) throws -> BTF {
        try kernels.value(kernel.path) { path in try BTF(parsing: try readBytes(path)) }
    }

    public static func object(_ fixture: Fixture) throws -> BPFObject {
        try object(path: fixture.path)
    }

    public static func object(path: String) throws -> BPFObject {
        try objects.value(path) { path in try BPFObject(path: path) }
    }
}

/// Test kernels with their bytes, for tests that patch them: each kernel is read and parsed once
/// per test run.
public enum KernelCache {
    public struct Entry: Sendable {
        public var bytes: [UInt8]
        public var btf: BTF
    }

    private static let entries = OnceCache<String, Entry>()

    /// The test kernel named `name` (a file name in `TestEnv.kernelsDir`).
    public static func load(_ name: String) throws -> Entry {
        try entries.value(name) { name in
            let bytes = try readBytes(TestEnv.kernelPath(name))
            return Entry(bytes: bytes, btf: try BTF(parsing: bytes))
        }
    }
}

/// Orders kernel file names little-endian first, then by name: the tests that take the first
/// kernel patch its bytes as little-endian BTF (the big-endian s390x ones sort early by name).
public func littleEndianFirst(in dir: String) -> (String, String) -> Bool {
    func big(_ name: String) -> Bool {
        FileHandle(forReadingAtPath: dir + "/" + name).map { $0.readData(ofLength: 1).first == 0xeb } ?? false
    }
    return { a, b in big(a) != big(b) ? !big(a) : a < b }
}
