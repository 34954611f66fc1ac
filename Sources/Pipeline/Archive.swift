import BTF
import CLibArchive

/// What an input file holds once opened.
public enum KernelBytes: Sendable {
    /// The BTF or ELF bytes, and the archive member they came from (nil when not archived).
    case data([UInt8], member: String?)
    /// Nothing to trim: an empty archive, say.
    case skipped(String)
}

/// Suffixes of the compressed and archived inputs read through libarchive.
public let compressedSuffixes = [".tar.xz", ".tar.gz", ".tar.zst", ".tgz", ".xz", ".gz", ".zst"]

private func archiveError(_ a: OpaquePointer?, _ path: String, _ what: String) -> FormatError {
    let message = archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
    return FormatError(file: path, what, message)
}

/// Opens a kernel input: raw BTF and ELF bytes are returned as they are; `.tar.*`, `.xz`, `.gz`
/// and `.zst` are read in process through libarchive (no temporary extraction).
///
/// A tarball must hold one BTF: the single regular file in it, or the single member whose name
/// ends in `.btf` (under any path prefix). Several candidates are an error; none is a skip.
public func openKernelInput(_ bytes: [UInt8], path: String) throws(FormatError) -> KernelBytes {
    let isCompressed = bytes.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) // xz
        || bytes.starts(with: [0x1f, 0x8b]) // gzip
        || bytes.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) // zstd
        || (bytes.count > 262 && bytes[257..<262].elementsEqual("ustar".utf8)) // plain tar
    guard isCompressed else { return .data(bytes, member: nil) }

    guard let a = archive_read_new() else { throw FormatError(file: path, "", "libarchive: out of memory") }
    defer { archive_read_free(a) }
    archive_read_support_filter_xz(a)
    archive_read_support_filter_gzip(a)
    archive_read_support_filter_zstd(a)
    archive_read_support_format_tar(a)
    archive_read_support_format_empty(a)
    archive_read_support_format_raw(a)
    // Only what can become the answer is kept in memory: the first regular member (the answer
    // when it is the only one) and the first `*.btf` member. Other members' data is skipped, so
    // a tarball full of large files costs no more than two of them.
    var regularCount = 0
    var first: (name: String, data: [UInt8])?
    var candidate: (name: String, data: [UInt8])?
    var candidateNames: [String] = []
    var otherNames: [String] = []
    let result: Result<Void, FormatError> = bytes.withUnsafeBytes { buf in
        guard archive_read_open_memory(a, buf.baseAddress, buf.count) == ARCHIVE_OK else {
            return .failure(archiveError(a, path, "archive"))
        }
        var entry: OpaquePointer?
        while true {
            let r = archive_read_next_header(a, &entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else { return .failure(archiveError(a, path, "archive header")) }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            let isRaw = archive_format(a) == ARCHIVE_FORMAT_RAW
            guard isRaw || archive_entry_filetype(entry) == 0o100000 else { continue }
            let member = isRaw ? "" : name
            let isCandidate = member.hasSuffix(".btf")
            regularCount += 1
            if isCandidate { candidateNames.append(member) } else { otherNames.append(member) }
            if regularCount > 1 && first.map({ !$0.name.hasSuffix(".btf") }) == true { first = nil }
            let wanted = regularCount == 1 || (isCandidate && candidate == nil)
            guard wanted else { continue } // libarchive skips the unread data
            // Kernel BTFs are a few MB; refuse members that claim absurd sizes up front.
            let declared = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : -1
            guard declared < 1 << 31 else { return .failure(FormatError(file: path, "member \(name)", "size \(declared) too large")) }
            var data: [UInt8] = []
            if declared > 0 { data.reserveCapacity(Int(declared)) }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                if n == 0 { break }
                guard n > 0 else { return .failure(archiveError(a, path, "member \(name.isEmpty ? "data" : name)")) }
                data.append(contentsOf: chunk[0..<n])
                guard data.count < 1 << 31 else { return .failure(FormatError(file: path, "member \(name)", "more than 2 GiB of data")) }
            }
            if regularCount == 1 { first = (member, data) }
            if isCandidate && candidate == nil { candidate = (member, data) }
        }
        return .success(())
    }
    try result.get()
    if regularCount == 0 { return .skipped("empty archive") }
    if regularCount == 1, let first { return .data(first.data, member: first.name.isEmpty ? nil : first.name) }
    if candidateNames.count == 1, let candidate { return .data(candidate.data, member: candidate.name) }
    let names = (candidateNames.isEmpty ? otherNames : candidateNames).joined(separator: ", ")
    throw FormatError(file: path, "archive", "several candidate BTF members: \(names)")
}

/// A deterministic `.tar.xz` holding the given files, in the given order: fixed mtime (0),
/// owner root:root, mode 0644, POSIX ustar headers, so identical inputs give identical bytes.
public func makeTarXZ(_ files: [(name: String, data: [UInt8])]) throws(FormatError) -> [UInt8] {
    guard let a = archive_write_new() else { throw FormatError("tar.xz", "libarchive: out of memory") }
    archive_write_set_format_ustar(a)
    archive_write_add_filter_xz(a)
    archive_write_set_bytes_in_last_block(a, 1)
    let total = files.reduce(0) { $0 + $1.data.count }
    var buffer = [UInt8](repeating: 0, count: total + 64 * 1024 + files.count * 1024)
    // libarchive keeps this pointer and updates the count on every write until the archive is
    // closed, so it must outlive the open call (an `&local` would not).
    let used = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    used.initialize(to: 0)
    defer { used.deallocate() }
    let status: Result<Void, FormatError> = buffer.withUnsafeMutableBytes { buf in
        // Freed here, while the buffer and the count it writes to are still valid.
        defer { archive_write_free(a) }
        guard archive_write_open_memory(a, buf.baseAddress, buf.count, used) == ARCHIVE_OK else {
            return .failure(archiveError(a, "tar.xz", "open"))
        }
        for f in files {
            guard let e = archive_entry_new() else { return .failure(FormatError("tar.xz", "libarchive: out of memory")) }
            defer { archive_entry_free(e) }
            archive_entry_set_pathname(e, f.name)
            archive_entry_set_size(e, la_int64_t(f.data.count))
            archive_entry_set_filetype(e, 0o100000)
            archive_entry_set_perm(e, 0o644)
            archive_entry_set_mtime(e, 0, 0)
            archive_entry_set_uid(e, 0)
            archive_entry_set_gid(e, 0)
            archive_entry_set_uname(e, "root")
            archive_entry_set_gname(e, "root")
            guard archive_write_header(a, e) == ARCHIVE_OK else { return .failure(archiveError(a, f.name, "tar header")) }
            let n = f.data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            guard n == f.data.count else { return .failure(archiveError(a, f.name, "tar data")) }
        }
        guard archive_write_close(a) == ARCHIVE_OK else { return .failure(archiveError(a, "tar.xz", "close")) }
        return .success(())
    }
    try status.get()
    return Array(buffer[0..<used.pointee])
}
