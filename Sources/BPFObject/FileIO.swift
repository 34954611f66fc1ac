#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BTF

/// The message for the current `errno`, as `strerror` gives it.
func errnoMessage(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// Reads a whole file into memory.
///
/// - Throws: a `FormatError` naming `path` when it cannot be opened or read, or is a directory or
///   a device.
public func readFile(_ path: String) throws(FormatError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FormatError(file: path, "", "cannot open: \(errnoMessage())") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw FormatError(file: path, "", "cannot stat: \(errnoMessage())") }
    guard (st.st_mode & S_IFMT) != S_IFDIR else { throw FormatError(file: path, "", "is a directory") }
    // A device never ends (/dev/zero, /dev/urandom): reading it would take all memory. Regular
    // files and pipes (`-i <(xz -dc K.btf.xz)`) are read to their end.
    guard (st.st_mode & S_IFMT) != S_IFCHR && (st.st_mode & S_IFMT) != S_IFBLK else {
        throw FormatError(file: path, "", "is a device, not a file")
    }
    // Read straight into an array of the size stat reports; files that report no size or grow
    // meanwhile (procfs, pipes) go on in chunks.
    let hint = max(Int(st.st_size), 0)
    var failure: Int32 = 0
    var bytes = [UInt8](unsafeUninitializedCapacity: hint) { buf, initialized in
        var done = 0
        while done < hint {
            let n = read(fd, buf.baseAddress! + done, hint - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            if n == 0 { break }
            done += n
        }
        initialized = done
    }
    if failure != 0 { throw FormatError(file: path, "", "read failed: \(errnoMessage(failure))") }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while bytes.count >= hint {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw FormatError(file: path, "", "read failed: \(errnoMessage())")
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// Writes `bytes` to `path` atomically: into a temporary file in the same directory, flushed,
/// then renamed over `path`. An interrupted run never leaves a truncated file at `path`.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(FormatError) {
    let dir: String
    if let slash = path.lastIndex(of: "/") { dir = String(path[..<slash]).isEmpty ? "/" : String(path[..<slash]) } else { dir = "." }
    let base = path.split(separator: "/").last.map(String.init) ?? path
    var template = Array("\(dir)/.\(base).tmp-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { throw FormatError(file: path, "", "cannot create temporary file in \(dir): \(errnoMessage())") }
    let tmp = String(cString: template.map { UInt8(bitPattern: $0) } + [0])
    var failure: String?
    bytes.withUnsafeBytes { buf in
        var done = 0
        while done < buf.count {
            let n = write(fd, buf.baseAddress! + done, buf.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = "write failed: \(errnoMessage())"
                return
            }
            done += n
        }
    }
    if failure == nil && fchmod(fd, mode) != 0 { failure = "chmod failed: \(errnoMessage())" }
    if failure == nil && fsync(fd) != 0 { failure = "fsync failed: \(errnoMessage())" }
    if close(fd) != 0 && failure == nil { failure = "close failed: \(errnoMessage())" }
    if failure == nil && rename(tmp, path) != 0 { failure = "cannot rename into place: \(errnoMessage())" }
    if let failure {
        unlink(tmp)
        throw FormatError(file: path, "", failure)
    }
}
