import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import TestSupport

@Suite struct FileIOTests {
    /// Names in `dir` that look like `writeFileAtomically`'s temporary files.
    static func leftovers(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp-") }
    }

    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func writesANewFile() throws {
        try withTempDir { dir in
            let path = dir + "/out.btf"
            let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try writeFileAtomically(path, bytes)
            #expect(try readFile(path) == bytes)
            #expect(Self.mode(path) == 0o644)
            #expect(Self.leftovers(dir).isEmpty)
        }
    }

    @Test func replacesAnExistingFileAndAppliesTheMode() throws {
        try withTempDir { dir in
            let path = dir + "/out.btf"
            try writeFileAtomically(path, Array(repeating: 1, count: 5000))
            try writeFileAtomically(path, [2, 3], mode: 0o600)
            #expect(try readFile(path) == [2, 3])
            #expect(Self.mode(path) == 0o600)
            try writeFileAtomically(path, [])
            #expect(try readFile(path) == [])
            #expect(Self.leftovers(dir).isEmpty)
        }
    }

    /// How many of the first `length` bytes of the file at `path` are in the page cache
    /// (`mincore`), in pages.
    static func cachedPages(_ path: String, length: Int) -> Int {
        guard length > 0 else { return 0 }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        guard let map = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return 0 }
        defer { munmap(map, length) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vec = [UInt8](repeating: 0, count: (length + page - 1) / page)
        guard mincore(map, length, &vec) == 0 else { return 0 }
        return vec.reduce(0) { $0 + Int($1 & 1) }
    }

    /// Where `uncachedWritesKeepTwoStepsCached` writes: the package's own directory, on a disk
    /// (the system's temporary directory may be a tmpfs).
    static let diskDir = TestEnv.packageRoot + "/.build"

    /// Whether the file system of directory `dir` drops a file's pages from the cache once they
    /// are on the disk (a tmpfs never does: it has no disk): a file synced and advised
    /// `POSIX_FADV_DONTNEED` is then no longer cached.
    static func dropsWrittenPages(_ dir: String) -> Bool {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/probe-\(getpid())"
        defer { unlink(path) }
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard fd >= 0 else { return false }
        let bytes = [UInt8](repeating: 1, count: 1 << 20)
        let wrote = write(fd, bytes, bytes.count) == bytes.count && fsync(fd) == 0
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
        return wrote && cachedPages(path, length: bytes.count) == 0
    }

    /// A report of thousands of kernels is written `uncached` (`writeUserFile`): while it is
    /// written, no more than two steps of it (1 MiB each) are in the page cache, which counts
    /// against a container's memory limit. A page still dirty stays cached, so this holds only
    /// if each step is written back before it is dropped.
    @Test(.enabled(if: dropsWrittenPages(diskDir), "the package's .build keeps written pages cached (a tmpfs?): nothing to measure"))
    func uncachedWritesKeepTwoStepsCached() throws {
        let dir = Self.diskDir + "/tmp-uncached-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/report.json"
        let piece = [UInt8](repeating: 0x41, count: 64 << 10), pieces = 160 // 10 MiB
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var most = 0, checked = 0
        try writeFileAtomically(path, uncached: true) { write in
            for n in 0..<pieces {
                guard piece.withUnsafeBytes(write) else { return }
                // The temporary file being written, found by its name.
                guard let tmp = Self.leftovers(dir).first else { continue }
                most = max(most, Self.cachedPages(dir + "/" + tmp, length: (n + 1) * piece.count))
                checked += 1
            }
        }
        #expect(checked == pieces)
        #expect(statSize(path) == pieces * piece.count)
        // Two steps, and the piece that crossed into a third.
        #expect(most * page <= (2 << 20) + piece.count, "\(most * page) bytes cached at most")
        #expect(most * page >= 1 << 20, "the measure itself: \(most * page) bytes cached at most")
    }

    @Test func missingDirectoryThrows() throws {
        try withTempDir { dir in
            let path = dir + "/no/such/dir/out.btf"
            let error = expectFormatError { try writeFileAtomically(path, [1, 2, 3]) }
            expectMessage(error, contains: [path, "cannot create temporary file in \(dir)/no/such/dir"])
        }
    }

    @Test func unwritableDirectoryThrowsAndLeavesNoTemporaryFile() throws {
        try withTempDir { dir in
            let ro = dir + "/ro"
            try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: false)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: ro)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ro) }
            let path = ro + "/out.btf"
            if access(ro, W_OK) == 0 {
                // root (CAP_DAC_OVERRIDE) writes anyway; the rename test below covers cleanup.
                try writeFileAtomically(path, [1])
                #expect(try readFile(path) == [1])
            } else {
                let error = expectFormatError { try writeFileAtomically(path, [1]) }
                expectMessage(error, contains: [path, "cannot create temporary file in \(ro)", "Permission denied"])
                #expect(!FileManager.default.fileExists(atPath: path))
            }
            #expect(Self.leftovers(ro).isEmpty)
        }
    }

    @Test func failedRenameRemovesTheTemporaryFile() throws {
        try withTempDir { dir in
            // The target is a non-empty directory: the temporary file is written, the rename fails.
            let path = dir + "/target"
            try FileManager.default.createDirectory(atPath: path + "/child", withIntermediateDirectories: true)
            let error = expectFormatError { try writeFileAtomically(path, [1, 2, 3]) }
            expectMessage(error, contains: [path, "cannot rename into place"])
            #expect(Self.leftovers(dir).isEmpty, "left \(Self.leftovers(dir))")
            #expect(FileManager.default.fileExists(atPath: path + "/child"))
        }
    }
}

/// `readRawBTFFile` reads the sections straight from the file: it must give exactly what
/// parsing the whole file's bytes gives, in both byte orders, and the same errors.
@Suite struct RawBTFReadTests {
    @Test(arguments: TestEnv.kernels)
    func sameAsParsingTheBytes(_ name: String) throws {
        let path = TestEnv.kernelPath(name)
        let bytes = try readFile(path)
        let parsed = try BTF(parsing: bytes, section: "")
        let read = try #require(try readRawBTFFile(path))
        #expect(read.fileSize == bytes.count)
        // Never `#expect(a == b)` on kernel-sized arrays: on a mismatch Swift Testing diffs
        // them element by element, for hours.
        expectSameBytes(read.btf.serialized(), bytes, "\(name) read and written back")
        #expect(read.btf.records.count == parsed.records.count)
        let differing = read.btf.records.indices.first { read.btf.records[$0] != parsed.records[$0] }
        #expect(differing == nil, "\(name): record \(differing ?? 0) differs")
        try withTempDir { dir in
            let big = dir + "/big.btf"
            try writeFileAtomically(big, parsed.serialized(order: .big))
            let readBig = try #require(try readRawBTFFile(big))
            #expect(readBig.btf.order == .big)
            expectSameBytes(readBig.btf.serialized(order: parsed.order), bytes, "\(name) through big-endian and back")
        }
    }

    @Test func otherFilesAreLeftToTheWholeFileReader() throws {
        try withTempDir { dir in
            for (name, bytes) in [("empty", [UInt8]()), ("one", [0x9f]), ("elf", [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])] {
                try writeFileAtomically(dir + "/" + name, bytes)
                #expect(try readRawBTFFile(dir + "/" + name) == nil, "\(name)")
            }
            #expect(try readRawBTFFile(dir) == nil, "a directory")
        }
    }

    @Test func errorsNameTheFileAndOffset() throws {
        let kernel = try #require(TestEnv.kernels.first)
        var bytes = try readFile(TestEnv.kernelPath(kernel))
        try withTempDir { dir in
            let path = dir + "/cut.btf"
            try writeFileAtomically(path, Array(bytes.prefix(bytes.count / 2)))
            let cut = expectFormatError { _ = try readRawBTFFile(path) }
            expectMessage(cut, contains: [path, "offset 0x", "past the end"])
            bytes[bytes.count - 1] = 0x41 // the string section's final NUL
            try writeFileAtomically(path, bytes)
            let unterminated = expectFormatError { _ = try readRawBTFFile(path) }
            expectMessage(unterminated, contains: [path, "offset \(hex(bytes.count - 1))", "not NUL-terminated"])
        }
    }
}
