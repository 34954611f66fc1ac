#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A failure of a test's own making (a missing input, a tool that failed), thrown to end it.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
    return [UInt8](data)
}

public func readText(_ path: String) throws -> String { String(decoding: try readBytes(path), as: UTF8.self) }

public func writeBytes(_ bytes: [UInt8], to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw TestFailure("cannot write \(path)") }
}

/// Writes `text` to `path`, creating its directory.
public func writeText(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { throw TestFailure("cannot create \(path)") }
}

/// `st_size` from stat(2), following symbolic links (`TestEnv.fileSize` does not).
public func statSize(_ path: String) -> Int? {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : nil
}

/// A fresh, empty directory under the system temp dir, `btfgen-TAG-UUID`; the caller removes it
/// (see `withTempDir`).
public func makeTempDir(_ tag: String = "tests") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("btfgen-\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs `body` in a fresh temporary directory, removed afterwards.
public func withTempDir<T>(_ tag: String = "tests", _ body: (String) throws -> T) throws -> T {
    let dir = try makeTempDir(tag)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

nonisolated(unsafe) private var cleanupPaths: [String] = []
private let cleanupLock = NSLock()

/// Removes `path` when the test process exits.
public func registerCleanup(_ path: String) {
    cleanupLock.lock()
    defer { cleanupLock.unlock() }
    if cleanupPaths.isEmpty {
        atexit {
            for p in cleanupPaths { try? FileManager.default.removeItem(atPath: p) }
        }
    }
    cleanupPaths.append(path)
}

/// Parses JSON text into Foundation objects.
public func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}
