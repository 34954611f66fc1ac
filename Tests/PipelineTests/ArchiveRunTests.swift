import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import Pipeline
import Minimize
import Report
import TestSupport

/// Every regular file below `dir` with its bytes, by relative path.
func tree(_ dir: String) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for rel in try walkFiles(dir) { out[rel] = try readBytes(dir + "/" + rel) }
    return out
}

/// A btfhub-style tree from the test kernels: raw, and the same as `.btf.tar.xz` (one of them
/// with its member under a path prefix), plus an empty tarball, a `.failed` marker, `.xz`,
/// `.gz` and `.zst` single files.
struct Archive {
    let dir: String
    let rawDir: String
    /// Relative output paths the archive tree must produce (`.btf`).
    let expected: [String]

    init() throws {
        guard TestEnv.kernels.count >= 2 else { throw TestFailure("no test kernels in \(TestEnv.kernelsDir): run make testdata") }
        dir = try makeTempDir("archive")
        rawDir = try makeTempDir("raw")
        var expected: [String] = []
        for (i, k) in TestEnv.kernels.enumerated() {
            let name = String(k.dropLast(4))
            let arch = name.contains("arm64") ? "arm64" : "x86_64"
            let sub = "debian/\(i % 2 == 0 ? "12" : "13")/\(arch)"
            try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(rawDir)/\(sub)", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(TestEnv.kernelsDir)/\(k)", toPath: "\(rawDir)/\(sub)/\(name).btf")
            switch i {
            case 0:
                // The member sits under a path prefix inside the tarball.
                let stage = try makeTempDir("stage")
                defer { try? FileManager.default.removeItem(atPath: stage) }
                try FileManager.default.createDirectory(atPath: "\(stage)/some/prefix", withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: "\(TestEnv.kernelsDir)/\(k)", toPath: "\(stage)/some/prefix/\(name).btf")
                try sh(["tar", "-C", stage, "-cJf", "\(dir)/\(sub)/\(name).btf.tar.xz", "some"])
            case 1:
                try sh(["sh", "-c", "xz -c '\(TestEnv.kernelsDir)/\(k)' > '\(dir)/\(sub)/\(name).btf.xz'"])
            case 2:
                try sh(["sh", "-c", "gzip -c '\(TestEnv.kernelsDir)/\(k)' > '\(dir)/\(sub)/\(name).btf.gz'"])
            case 3:
                try sh(["sh", "-c", "zstd -q -c '\(TestEnv.kernelsDir)/\(k)' > '\(dir)/\(sub)/\(name).btf.zst'"])
            default:
                try sh(["tar", "-C", TestEnv.kernelsDir, "-cJf", "\(dir)/\(sub)/\(name).btf.tar.xz", k])
            }
            expected.append("\(sub)/\(name).btf")
        }
        try sh(["tar", "-cJf", "\(dir)/debian/12/x86_64/empty.btf.tar.xz", "-T", "/dev/null"])
        let marker = "\(dir)/debian/12/x86_64/broken-kernel.failed"
        guard FileManager.default.createFile(atPath: marker, contents: Data()) else { throw TestFailure("cannot create \(marker)") }
        self.expected = expected.sorted()
    }

    /// Built once for the whole suite (compressing the kernels is the slow part); read-only.
    nonisolated(unsafe) static var cached: Archive?

    static func shared() throws -> Archive {
        if let a = cached { return a }
        let a = try Archive()
        cached = a
        return a
    }

    /// Nothing to do for the shared tree: it lives in the temporary directory.
    func remove() {}
}

@Suite(.serialized) struct ArchiveRunTests {
    @Test func compressedInputsMirrorTheLayoutAndMatchRawInputs() throws {
        let archive = try Archive.shared()
        defer { archive.remove() }
        let objects = try TestEnv.fixtureObjects()
        let out = try makeTempDir("out"), rawOut = try makeTempDir("rawout")
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: rawOut) }

        let reports = runJobs(try planJobs(RunOptions(input: archive.dir, output: out, jobs: 2)), objects: objects,
                              options: RunOptions(input: archive.dir, output: out, jobs: 2))
        let written = reports.filter { $0.status == .written }.map(\.output).sorted()
        #expect(written == archive.expected)
        let skipped = reports.compactMap { r in r.status == .skipped ? "\(r.path): \(r.message ?? "")" : nil }
        #expect(skipped.sorted() == ["debian/12/x86_64/broken-kernel.failed: failure marker",
                                     "debian/12/x86_64/empty.btf.tar.xz: empty archive"])
        #expect(reports.allSatisfy { $0.status != .failed })
        // The prefixed tarball's member was found.
        #expect(reports.contains { $0.member?.hasPrefix("some/prefix/") == true })

        // Raw inputs give byte-identical outputs.
        _ = runJobs(try planJobs(RunOptions(input: archive.rawDir, output: rawOut, jobs: 1)), objects: objects,
                    options: RunOptions(input: archive.rawDir, output: rawOut, jobs: 1))
        let a = try tree(out), b = try tree(rawOut)
        #expect(a.keys.sorted() == archive.expected)
        #expect(a == b)
        for (rel, bytes) in a {
            let btf = try BTF(parsing: bytes)
            #expect(btf.typeCount > 1, "\(rel) is empty")
        }
    }

    @Test func tarXZOutputIsDeterministicAndHoldsOneMember() throws {
        let archive = try Archive.shared()
        defer { archive.remove() }
        let objects = try TestEnv.fixtureObjects()
        var outs: [[String: [UInt8]]] = []
        for jobs in [1, 2] {
            let out = try makeTempDir("tarout")
            defer { try? FileManager.default.removeItem(atPath: out) }
            var options = RunOptions(input: archive.rawDir, output: out, jobs: jobs)
            options.outputFormat = .tarXZ
            options.sync = jobs == 1 // flushed or not, the same bytes
            _ = runJobs(try planJobs(options), objects: jobs == 1 ? objects : objects.reversed(), options: options)
            outs.append(try tree(out))
            let first = try #require(outs.last?.keys.sorted().first)
            #expect(first.hasSuffix(".btf.tar.xz"))
            let listing = try sh(["tar", "-tJf", out + "/" + first])
            let member = String(first.split(separator: "/").last!.dropLast(7))
            #expect(listing.split(separator: "\n") == [Substring(member)])
        }
        #expect(outs[0] == outs[1])
    }

    @Test func filtersSelectByGlobAndArch() throws {
        let archive = try Archive.shared()
        defer { archive.remove() }
        var options = RunOptions(input: archive.rawDir, output: "/nonexistent", jobs: 1)
        options.include = ["debian/12/**"]
        let twelve = try planJobs(options).map(\.relativePath)
        #expect(!twelve.isEmpty && twelve.allSatisfy { $0.hasPrefix("debian/12/") })
        options.include = []
        options.exclude = ["**/arm64/**"]
        #expect(try planJobs(options).allSatisfy { !$0.relativePath.contains("/arm64/") })
        options.exclude = []
        options.arch = "aarch64"
        let arm = try planJobs(options).map(\.relativePath)
        #expect(!arm.isEmpty && arm.allSatisfy { $0.contains("/arm64/") })
        #expect(globMatches("**/arm64/**", "debian/12/arm64/k.btf"))
        #expect(globMatches("ubuntu/20.04/**", "ubuntu/20.04/x86_64/k.btf.tar.xz"))
        #expect(!globMatches("ubuntu/20.04/**", "ubuntu/22.04/x86_64/k.btf.tar.xz"))
        #expect(globMatches("**", "a.btf") && globMatches("*.btf", "a.btf") && !globMatches("*.btf", "x/a.btf"))
    }

    @Test func shardsPartitionTheRunAndTheirUnionEqualsOneRun() throws {
        let archive = try Archive.shared()
        defer { archive.remove() }
        let objects = try TestEnv.fixtureObjects()
        let whole = try makeTempDir("whole")
        let merged = try makeTempDir("merged")
        defer { try? FileManager.default.removeItem(atPath: whole); try? FileManager.default.removeItem(atPath: merged) }
        let base = RunOptions(input: archive.dir, output: whole, jobs: 2)
        _ = runJobs(try planJobs(base), objects: objects, options: base)
        var seen: [String] = []
        for k in 1...3 {
            var options = RunOptions(input: archive.dir, output: merged, jobs: 2)
            options.shard = (k, 3)
            let jobs = try planJobs(options)
            seen += jobs.map(\.relativePath)
            // The same slice every time.
            #expect(try planJobs(options).map(\.relativePath) == jobs.map(\.relativePath))
            _ = runJobs(jobs, objects: objects, options: options)
        }
        #expect(seen.sorted() == (try planJobs(base)).map(\.relativePath).sorted())
        #expect(Set(seen).count == seen.count)
        #expect(try tree(whole) == (try tree(merged)))
    }

    @Test func aCorruptKernelCostsOnlyItsOwnOutput() throws {
        let archive = try Archive.shared()
        defer { archive.remove() }
        let objects = try TestEnv.fixtureObjects()
        // A truncated kernel in the middle of the batch (in a copy of the raw tree).
        let input = try makeTempDir("corrupt-in")
        defer { try? FileManager.default.removeItem(atPath: input) }
        try FileManager.default.removeItem(atPath: input)
        try FileManager.default.copyItem(atPath: archive.rawDir, toPath: input)
        let victim = archive.expected[archive.expected.count / 2]
        let bytes = try readBytes(input + "/" + victim)
        try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: input + "/" + victim))
        let out = try makeTempDir("corrupt")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let options = RunOptions(input: input, output: out, jobs: 2)
        let reports = runJobs(try planJobs(options), objects: objects, options: options)
        let failed = reports.filter { $0.status == .failed }
        #expect(failed.map(\.path) == [victim])
        #expect(failed.first?.output == "" && failed.first?.rawBytes == nil)
        let message = try #require(failed.first?.message)
        #expect(message.contains(victim) && message.contains("past the end"), "\(message)")
        #expect(!message.contains("\n"))
        let written = try walkFiles(out)
        #expect(written == archive.expected.filter { $0 != victim })

        // --fail-fast stops early: never more outputs than a full run.
        var ff = options
        ff.failFast = true
        ff.jobs = 1
        let out2 = try makeTempDir("failfast")
        defer { try? FileManager.default.removeItem(atPath: out2) }
        ff.output = out2
        let r2 = runJobs(try planJobs(ff), objects: objects, options: ff)
        #expect(r2.count <= reports.count)
        #expect(r2.last?.status == .failed)
    }

    @Test func anUnwritableOutputDirectoryFailsCleanly() throws {
        guard let kernel = TestEnv.kernels.first else { throw TestFailure("no test kernels: run make testdata") }
        let objects = try TestEnv.fixtureObjects()
        let out = try makeTempDir("ro")
        defer {
            chmod(out, 0o755)
            try? FileManager.default.removeItem(atPath: out)
        }
        // A regular file where a directory must go: fails even for root, unlike chmod.
        try #require(FileManager.default.createFile(atPath: out + "/blocked", contents: Data("x".utf8)))
        let options = RunOptions(input: TestEnv.kernelsDir + "/" + kernel, output: out + "/blocked/k.btf", jobs: 1)
        let reports = runJobs(try planJobs(options), objects: objects, options: options)
        guard reports.first?.status == .failed, let message = reports.first?.message else {
            Issue.record("expected a failure, got \(String(describing: reports.first?.status))")
            return
        }
        #expect(message.contains("blocked"), "\(message)")
        #expect(try walkFiles(out) == ["blocked"])
    }

    @Test func atomicWritesLeaveNoTemporaryFiles() throws {
        guard let kernel = TestEnv.kernels.first else { throw TestFailure("no test kernels: run make testdata") }
        let out = try makeTempDir("atomic")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let options = RunOptions(input: TestEnv.kernelsDir + "/" + kernel, output: out, jobs: 1)
        _ = runJobs(try planJobs(options), objects: try TestEnv.fixtureObjects(), options: options)
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(names == [kernel])
    }
}
