#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BTF
import CFatalSignals

/// The message for the current `errno`, as `strerror` gives it.
package func errnoMessage(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// Whether the file at `path` starts with the ELF magic: how a directory of objects tells its
/// objects from other files without reading them.
public func startsWithELFMagic(_ path: String) throws(FormatError) -> Bool {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FormatError(file: path, "", "cannot open: \(errnoMessage())") }
    defer { close(fd) }
    var failure: Int32 = 0
    let head = [UInt8](unsafeUninitializedCapacity: 4) { buf, initialized in
        initialized = preadFully(fd, UnsafeMutableRawBufferPointer(buf), at: 0, failure: &failure)
    }
    if failure != 0 { throw FormatError(file: path, "", "read failed: \(errnoMessage(failure))") }
    return ELFFile.isELF(head)
}

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

/// Writes `bytes` to `path` atomically: into a temporary file in the same directory, then
/// renamed over `path`, so an interrupted run never leaves a truncated file at `path`.
/// - Parameter sync: also flush the file to the disk before the rename (`fsync`), so that not
///   even a power loss can leave an empty file at `path`. It costs a disk round trip per file.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, sync: Bool = false) throws(FormatError) {
    try writeFileAtomically(path, mode: mode, sync: sync) { write in bytes.withUnsafeBytes { _ = write($0) } }
}

/// `writeFileAtomically(_:_:mode:sync:)` with the bytes given a piece at a time: `produce` calls
/// `write` with each piece (it returns false once a write failed; later pieces are dropped), so
/// a large file is never whole in memory.
/// - Parameter uncached: drop the file's pages from the page cache as they reach the disk (a
///   file written once for others to read, such as a report of thousands of kernels: its
///   cached pages would otherwise count against a container's memory limit). No more than two
///   steps of 1 MiB are cached at once: each step's write-back starts as soon as it is written,
///   and is waited for (rarely long: the next step's writing came in between) before it is
///   dropped.
public func writeFileAtomically(_ path: String, mode: mode_t = 0o644, sync: Bool = false, uncached: Bool = false,
                                chunks produce: (_ write: (UnsafeRawBufferPointer) -> Bool) -> Void) throws(FormatError) {
    let dir: String
    if let slash = path.lastIndex(of: "/") { dir = String(path[..<slash]).isEmpty ? "/" : String(path[..<slash]) } else { dir = "." }
    let base = path.split(separator: "/").last.map(String.init) ?? path
    var template = Array("\(dir)/.\(base).tmp-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { throw FormatError(file: path, "", "cannot create temporary file in \(dir): \(errnoMessage())") }
    let tmp = String(cString: template.map { UInt8(bitPattern: $0) } + [0])
    // Removed by the handler of a fatal signal (a mapped input that shrinks) too.
    let slot = btfgen_register_temporary(tmp)
    defer { btfgen_unregister_temporary(slot) }
    var failure: String?
    var written = 0, started = 0, dropped = 0
    produce { buf in
        guard failure == nil else { return false }
        var done = 0
        while done < buf.count {
            let n = write(fd, buf.baseAddress! + done, buf.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = "write failed: \(errnoMessage())"
                return false
            }
            done += n
        }
        written += done
        // Every step: the step's write-back starts, the step before it is waited for (its
        // write-back has had a step's time to finish) and dropped, so no more than two steps
        // are cached at once.
        if uncached && written - started >= uncachedStep {
            syncRange(fd, from: started, to: written, wait: false)
            if started > dropped {
                syncRange(fd, from: dropped, to: started, wait: true)
                _ = posix_fadvise(fd, off_t(dropped), off_t(started - dropped), POSIX_FADV_DONTNEED)
                dropped = started
            }
            started = written
        }
        return true
    }
    if uncached && failure == nil { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) }
    if failure == nil && fchmod(fd, mode) != 0 { failure = "chmod failed: \(errnoMessage())" }
    if failure == nil && sync && fsync(fd) != 0 { failure = "fsync failed: \(errnoMessage())" }
    if close(fd) != 0 && failure == nil { failure = "close failed: \(errnoMessage())" }
    if failure == nil && rename(tmp, path) != 0 { failure = "cannot rename into place: \(errnoMessage())" }
    if let failure {
        unlink(tmp)
        throw FormatError(file: path, "", failure)
    }
}

/// How often an `uncached` write drops what has reached the disk.
private let uncachedStep = 1 << 20

/// Starts the write-back of bytes `from..<to` of `fd` (Linux `sync_file_range`), and with `wait`
/// waits for it: a page that is still dirty stays cached whatever `POSIX_FADV_DONTNEED` says.
/// Looked up at run time (the Glibc module does not export it); without it, nothing happens.
private func syncRange(_ fd: Int32, from: Int, to: Int, wait: Bool) {
    #if canImport(Glibc)
    typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    guard let symbol = syncFileRange else { return }
    // SYNC_FILE_RANGE_WAIT_BEFORE 1, _WRITE 2, _WAIT_AFTER 4.
    _ = unsafeBitCast(symbol, to: SyncFileRange.self)(fd, Int64(from), Int64(to - from), wait ? 7 : 2)
    #endif
}

#if canImport(Glibc)
nonisolated(unsafe) private let syncFileRange = dlsym(nil, "sync_file_range")
#endif

/// `count` bytes at `offset`, or an error if the file ends first (it shrank while being read).
package func readExactly(_ fd: Int32, at offset: Int, count: Int, path: String) throws(FormatError) -> [UInt8] {
    var failure: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
        initialized = preadFully(fd, UnsafeMutableRawBufferPointer(buf), at: offset, failure: &failure)
    }
    if failure != 0 { throw FormatError(file: path, "", "read failed: \(errnoMessage(failure))") }
    guard bytes.count == count else { throw FormatError(file: path, "offset \(hex(offset + bytes.count))", "file ended while being read") }
    return bytes
}

package func readWords(_ fd: Int32, at offset: Int, count: Int, path: String) throws(FormatError) -> [UInt32] {
    var failure: Int32 = 0
    var got = 0
    let words = [UInt32](unsafeUninitializedCapacity: count) { buf, initialized in
        got = preadFully(fd, UnsafeMutableRawBufferPointer(buf), at: offset, failure: &failure)
        initialized = got == count * 4 ? count : 0
    }
    if failure != 0 { throw FormatError(file: path, "", "read failed: \(errnoMessage(failure))") }
    guard words.count == count else { throw FormatError(file: path, "offset \(hex(offset + got))", "file ended while being read") }
    return words
}

/// Whether `bytes` start with the raw BTF magic, in either byte order.
package func hasBTFMagic(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && (bytes[0] == 0x9f && bytes[1] == 0xeb || bytes[0] == 0xeb && bytes[1] == 0x9f)
}

/// Reads the BTF blob of `size` bytes at `offset` of `fd` straight into a `BTF`: the type and
/// string sections go from the file into the BTF's own storage, without a copy of the blob in
/// between (a kernel BTF is 4-6 MB, and a batch reads thousands).
/// `section` names the blob in errors, as `BTF(parsing:section:)` does: "" for a raw file,
/// ".BTF" in an ELF file.
///
/// Nil, having read only the header, when the header is longer than the first page holds
/// (only hostile files have one): the caller reads the blob whole.
package func readBTFBlob(_ fd: Int32, at offset: Int, size: Int, section: String, path: String,
                     strict: Bool) throws(FormatError) -> BTF? {
    let head = try readExactly(fd, at: offset, count: min(size, 4096), path: path)
    let at = BTF.locator(section)
    do throws(FormatError) {
        if head.count >= btfHeaderSize && hasBTFMagic(head) {
            let declared = head.withUnsafeBytes { ByteReader($0, order: head[0] == 0x9f ? .little : .big).u32(4)! }
            if Int(declared) > head.count && Int(declared) <= size { return nil }
        }
        let layout = try withBytes(head) { buf throws(FormatError) in try BTF.layout(header: buf, blobSize: size, at: at, strict: strict) }
        var words = try readWords(fd, at: offset + layout.typeStart, count: layout.typeLength / 4, path: path)
        if layout.order != ByteOrder.host {
            words.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] = w[i].byteSwapped } }
        }
        let strings = try readExactly(fd, at: offset + layout.stringStart, count: layout.stringLength, path: path)
        // The 2026 format's kind-layout section, which sizes types of kinds btfgen does not know.
        let kindLayout = layout.layoutLength == 0 ? nil
            : try readExactly(fd, at: offset + layout.layoutStart, count: layout.layoutLength, path: path)
        return try BTF(layout: layout, words: words, strings: strings, layoutSection: kindLayout, at: at, strict: strict)
    } catch {
        throw error.in(file: path)
    }
}

/// Reads into `buffer` from `offset` until it is full or the file ends; the bytes read.
private func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int, failure: inout Int32) -> Int {
    prefault(buffer)
    var done = 0
    while done < buffer.count {
        let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
        if n < 0 {
            if errno == EINTR { continue }
            failure = errno
            break
        }
        if n == 0 { break }
        done += n
    }
    return done
}

/// Maps in the whole pages of a large fresh buffer with one call (`MADV_POPULATE_WRITE`, Linux
/// 5.14), before a read fills it: one fault per 4 KB page costs more than the copy on a virtual
/// machine. Elsewhere, or on an older kernel, the pages fault in as they are written.
func prefault(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
    let page = 4096
    guard buffer.count >= 16 * page, let base = buffer.baseAddress else { return }
    let start = (Int(bitPattern: base) + page - 1) & ~(page - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(page - 1)
    guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(p, end - start, 23 /* MADV_POPULATE_WRITE */)
    #endif
}

/// A regular file mapped read-only into memory, unmapped when the last reference goes.
///
/// Its pages come straight from the page cache, as they are touched: nothing is copied, and no
/// fresh memory is zeroed for it (on a virtual machine, a megabyte of fresh memory costs about
/// as much as parsing it). A file truncated while mapped would fault (SIGBUS) when its lost pages
/// are touched; the handler of CFatalSignals turns that into a one-line error naming the file.
package final class MappedFile: @unchecked Sendable {
    package let path: String
    package let bytes: UnsafeRawBufferPointer
    private let slot: Int

    /// Maps the file at `path`; nil when it is not a regular file or cannot be mapped (then
    /// read it instead).
    package init?(path: String) throws(FormatError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError(file: path, "", "cannot open: \(errnoMessage())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return nil }
        let size = Int(st.st_size)
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else { return nil }
        self.path = path
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        slot = Int(btfgen_register_mapping(base, size, path))
        // The tests' stand-in for a writer truncating the file while it is read.
        if let victim = getenv("BTFGEN_TEST_SHRINK_MAPPED"), String(cString: victim) == path { _ = truncate(path, 0) }
    }

    deinit {
        btfgen_unregister_mapping(Int32(slot))
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }
}
