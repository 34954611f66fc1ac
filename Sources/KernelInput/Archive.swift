import BTF
import BPFObject
import CLibArchive

/// What an input file holds once opened.
public enum KernelBytes: Sendable {
    /// The BTF or ELF bytes, and the archive member they came from (nil when not archived).
    case data([UInt8], member: String?)
    /// A tarball holding a kernel with its modules: the `vmlinux` member, and every other
    /// `*.btf` or `*.ko*` member as a module (split BTF, raw or ELF), in member order.
    case withModules(vmlinux: [UInt8], member: String, modules: [(name: String, data: [UInt8])])
    /// Nothing to trim: an empty archive, say.
    case skipped(String)
}

/// Suffixes of the compressed and archived inputs read through libarchive.
public let compressedSuffixes = [".tar.xz", ".tar.gz", ".tar.zst", ".tgz", ".xz", ".gz", ".zst"]

/// libarchive is loaded on first use (CLibArchive.h): where it cannot be, only the compressed
/// inputs and tar.xz outputs that need it fail, each with the reason.
private func requireLibarchive(_ file: String) throws(FormatError) {
    var reason = [CChar](repeating: 0, count: 512)
    guard btfgen_archive_load(&reason, reason.count) != 0 else { return }
    throw FormatError(file: file, "", String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
}

private func archiveError(_ a: OpaquePointer?, _ path: String, _ what: String) -> FormatError {
    let message = archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
    return FormatError(file: path, what, message)
}

/// Opens a kernel input: raw BTF and ELF bytes are returned as they are; `.tar.*`, `.xz`, `.gz`
/// and `.zst` are read in process through libarchive (no temporary extraction).
///
/// A tarball must hold one BTF: the single regular file in it, or the single member whose name
/// ends in `.btf` (under any path prefix). Several candidates are an error; none is a skip. A
/// tarball with a member named `vmlinux` (under any path prefix) is a kernel with its modules:
/// its other `*.btf`, `*.ko`, `*.ko.xz`, `*.ko.zst` members (`KERNEL.btf.tar.xz` holding
/// `vmlinux` and `modules/nf_conntrack.btf`, say) are the modules.
public func openKernelInput(_ bytes: [UInt8], path: String) throws(FormatError) -> KernelBytes {
    let isCompressed = bytes.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) // xz
        || bytes.starts(with: [0x1f, 0x8b]) // gzip
        || bytes.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) // zstd
        || (bytes.count > 262 && bytes[257..<262].elementsEqual("ustar".utf8)) // plain tar
    guard isCompressed else { return .data(bytes, member: nil) }

    try requireLibarchive(path)
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
    var vmlinux: (name: String, data: [UInt8])?
    var modules: [(name: String, data: [UInt8])] = []
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
            let base = member.split(separator: "/").last.map(String.init) ?? member
            let isVmlinux = base == "vmlinux"
            let isModule = !isVmlinux && (base.hasSuffix(".btf") || kernelObjectSuffixes.contains { base.hasSuffix($0) })
            let isCandidate = member.hasSuffix(".btf")
            regularCount += 1
            if isCandidate { candidateNames.append(member) } else { otherNames.append(member) }
            if regularCount > 1 && first.map({ !$0.name.hasSuffix(".btf") }) == true { first = nil }
            // Modules and vmlinux are kept until the end says whether this is a kernel with modules.
            let wanted = regularCount == 1 || (isCandidate && candidate == nil) || isVmlinux || isModule
            guard wanted else { continue } // libarchive skips the unread data
            // Kernel BTFs are a few MB; refuse members that claim absurd sizes up front.
            let declared = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : -1
            guard declared <= archiveMemberLimit else {
                return .failure(FormatError(file: path, "member \(name)", "size \(declared) larger than the \(archiveMemberLimit >> 30) GiB limit"))
            }
            let data: [UInt8]
            switch readMember(a, path: path, member: member) {
            case .success(let d): data = d
            case .failure(let e): return .failure(e)
            }
            if regularCount == 1 { first = (member, data) }
            if isCandidate && candidate == nil { candidate = (member, data) }
            if isVmlinux {
                if let vmlinux { return .failure(FormatError(file: path, "archive", "two vmlinux members: \(vmlinux.name), \(member)")) }
                vmlinux = (member, data)
            } else if isModule {
                modules.append((member, data))
            }
        }
        return .success(())
    }
    try result.get()
    if regularCount == 0 { return .skipped("empty archive") }
    if let vmlinux, regularCount > 1 { return .withModules(vmlinux: vmlinux.data, member: vmlinux.name, modules: modules) }
    if regularCount == 1, let first { return .data(first.data, member: first.name.isEmpty ? nil : first.name) }
    if candidateNames.count == 1, let candidate { return .data(candidate.data, member: candidate.name) }
    let names = (candidateNames.isEmpty ? otherNames : candidateNames).joined(separator: ", ")
    throw FormatError(file: path, "archive", "several candidate BTF members: \(names)")
}

/// Every regular member of a tarball (plain, or compressed as inputs may be), in member order,
/// with the member a hard link names (its data then empty). Members larger than
/// `archiveMemberLimit` are refused.
public func readTarMembers(_ bytes: [UInt8], path: String) throws(FormatError) -> [(name: String, data: [UInt8], linkTo: String?)] {
    try requireLibarchive(path)
    guard let a = archive_read_new() else { throw FormatError(file: path, "", "libarchive: out of memory") }
    defer { archive_read_free(a) }
    archive_read_support_filter_xz(a)
    archive_read_support_filter_gzip(a)
    archive_read_support_filter_zstd(a)
    archive_read_support_format_tar(a)
    archive_read_support_format_empty(a)
    var members: [(name: String, data: [UInt8], linkTo: String?)] = []
    let result: Result<Void, FormatError> = bytes.withUnsafeBytes { buf in
        guard archive_read_open_memory(a, buf.baseAddress, buf.count) == ARCHIVE_OK else {
            return .failure(archiveError(a, path, "archive"))
        }
        var entry: OpaquePointer?
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let r = archive_read_next_header(a, &entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else { return .failure(archiveError(a, path, "archive header")) }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            if let link = archive_entry_hardlink(entry) {
                members.append((name, [], String(cString: link)))
                continue
            }
            guard archive_entry_filetype(entry) == 0o100000 else { continue }
            var data: [UInt8] = []
            while true {
                let n = chunk.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                if n == 0 { break }
                guard n > 0 else { return .failure(archiveError(a, path, "member \(name)")) }
                guard data.count + n <= archiveMemberLimit else {
                    return .failure(FormatError(file: path, "member \(name)", "larger than the \(archiveMemberLimit >> 30) GiB limit"))
                }
                data.append(contentsOf: chunk[0..<n])
            }
            members.append((name, data, nil))
        }
        return .success(())
    }
    try result.get()
    return members
}

/// The most bytes read from one decompressed archive member: 1 GiB. A kernel BTF is a few MB;
/// only an ELF vmlinux with its debug information comes near this.
public let archiveMemberLimit = 1 << 30

/// How far into a decompressed member its own headers say it extends.
private enum MemberExtent {
    /// Not known yet: fewer bytes than a header have been read.
    case undecided
    /// Raw BTF, exactly this long (header length plus the furthest section end). Data after it
    /// is an error: a BTF member is one BTF.
    case btf(Int)
    /// ELF, at least this long; `final` once the section header table has been read and every
    /// section's end is known. Data after it is not read (tools append signatures and padding).
    case elf(Int, final: Bool)
    /// Neither BTF nor ELF: only the first bytes are kept, enough for the error to show them.
    case other
}

/// Reads the current archive member's data, never more than its format needs: after its first
/// bytes the extent is known from the BTF header (`hdr_len + max(type_off + type_len, str_off +
/// str_len)`) or the ELF header (program and section header tables, then every section's end),
/// always at most `archiveMemberLimit`. A decompression bomb (a small header followed by
/// gigabytes of zeros) is thus refused after reading a few bytes past its header.
private func readMember(_ a: OpaquePointer, path: String, member: String) -> Result<[UInt8], FormatError> {
    func at(_ offset: Int) -> String { (member.isEmpty ? "" : "member \(member): ") + "offset \(hex(offset))" }
    var data: [UInt8] = []
    var extent = MemberExtent.undecided
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        // How many bytes to ask for: up to the next decision point, or one past the BTF's end
        // (to see whether anything follows it).
        let want: Int
        switch extent {
        case .undecided: want = (data.count < btfHeaderSize ? btfHeaderSize : elf64HeaderSize) - data.count
        case .btf(let end): want = min(chunk.count, end + 1 - data.count)
        case .elf(let end, let final):
            if final && data.count >= end { return .success(data) }
            want = min(chunk.count, end - data.count)
        case .other: return .success(data)
        }
        guard want > 0 else { return .success(data) }
        let n = chunk.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, want) }
        if n == 0 { break }
        guard n > 0 else { return .failure(archiveError(a, path, member.isEmpty ? "data" : "member \(member)")) }
        if case .btf(let end) = extent, data.count + n > end {
            return .failure(FormatError(file: path, at(end), "data after the end of the BTF (its header declares \(end) bytes)"))
        }
        data.append(contentsOf: chunk[0..<n])
        do throws(FormatError) {
            switch extent {
            case .undecided, .elf(_, final: false):
                extent = try memberExtent(data, at: at)
            default: break
            }
        } catch {
            return .failure(error.in(file: path))
        }
        if case .btf(let end) = extent {
            if data.count > end {
                return .failure(FormatError(file: path, at(end), "data after the end of the BTF (its header declares \(end) bytes)"))
            }
            data.reserveCapacity(end)
        }
    }
    return .success(data)
}

private let elf64HeaderSize = 64

/// Reads header fields of a member's first bytes; a field past the bytes reads as 0 (callers
/// check the length first).
private struct HeaderFields {
    let bytes: [UInt8]
    let order: ByteOrder

    func u(_ offset: Int, _ size: Int) -> Int {
        guard offset >= 0, size <= bytes.count, offset <= bytes.count - size else { return 0 }
        var v: UInt64 = 0
        for i in 0..<size {
            let b = UInt64(bytes[offset + (order == .little ? size - 1 - i : i)])
            v = v << 8 | b
        }
        return Int(clamping: v)
    }
}

/// The extent of a member from its first bytes; see `MemberExtent`.
private func memberExtent(_ d: [UInt8], at: (Int) -> String) throws(FormatError) -> MemberExtent {
    let limit = archiveMemberLimit
    func tooLarge(_ field: Int, _ what: String, _ end: Int?) -> FormatError {
        FormatError(at(field), "\(what) ends at \(end.map(String.init) ?? "more than 2^63"), past the \(limit >> 30) GiB limit for an archive member")
    }
    if d.count >= 2 && (d[0] == 0x9f && d[1] == 0xeb || d[0] == 0xeb && d[1] == 0x9f) {
        guard d.count >= btfHeaderSize else { return .undecided }
        let h = HeaderFields(bytes: d, order: d[0] == 0x9f ? .little : .big)
        // Four u32 fields: the sums cannot overflow an Int.
        let typeEnd = h.u(8, 4) + h.u(12, 4), strEnd = h.u(16, 4) + h.u(20, 4)
        // At least the header itself, so that a short `hdr_len` gets the parser's error for it.
        let end = max(btfHeaderSize, h.u(4, 4) + max(typeEnd, strEnd))
        guard end <= limit else { throw tooLarge(typeEnd >= strEnd ? 12 : 20, "BTF", end) }
        return .btf(end)
    }
    guard ELFFile.isELF(d) else { return d.count >= elf64HeaderSize ? .other : .undecided }
    let is64 = d.count > 4 && d[4] == 2
    guard d.count >= (is64 ? 64 : 52) else { return .undecided }
    // An unknown class or byte order: the ELF reader says what is wrong with these bytes.
    guard d[4] == 1 || d[4] == 2, d[5] == 1 || d[5] == 2 else { return .elf(d.count, final: true) }
    let h = HeaderFields(bytes: d, order: d[5] == 1 ? .little : .big)
    let word = is64 ? 8 : 4
    let phoff = h.u(is64 ? 0x20 : 0x1c, word), shoff = h.u(is64 ? 0x28 : 0x20, word)
    let shoffField = is64 ? 0x28 : 0x20
    let phentsize = h.u(is64 ? 0x36 : 0x2a, 2), phnum = h.u(is64 ? 0x38 : 0x2c, 2)
    let shentsize = h.u(is64 ? 0x3a : 0x2e, 2), minEntry = is64 ? 64 : 40
    var shnum = h.u(is64 ? 0x3c : 0x30, 2)
    let (phEnd, o1) = phoff.addingReportingOverflow(phnum * phentsize)
    guard !o1, phEnd <= limit else { throw tooLarge(is64 ? 0x20 : 0x1c, "program header table", o1 ? nil : phEnd) }
    var end = max(is64 ? 64 : 52, phEnd)
    // No section headers, or entries too small to read: the ELF reader refuses those.
    guard shoff != 0, shentsize >= minEntry else { return .elf(end, final: true) }
    let (firstEnd, o2) = shoff.addingReportingOverflow(shentsize)
    guard !o2, firstEnd <= limit else { throw tooLarge(shoffField, "section header table", o2 ? nil : firstEnd) }
    if shnum == 0 {
        // Extended numbering: the count is section 0's sh_size.
        guard d.count >= firstEnd else { return .elf(max(end, firstEnd), final: false) }
        shnum = h.u(shoff + (is64 ? 0x20 : 0x14), word)
    }
    let (tableSize, o3) = shnum.multipliedReportingOverflow(by: shentsize)
    let (tableEnd, o4) = shoff.addingReportingOverflow(tableSize)
    guard !o3, !o4, tableEnd <= limit else { throw tooLarge(shoffField, "section header table", o3 || o4 ? nil : tableEnd) }
    end = max(end, tableEnd)
    guard d.count >= tableEnd else { return .elf(end, final: false) }
    for i in 0..<shnum {
        let entry = shoff + i * shentsize
        if h.u(entry + 4, 4) == 8 { continue } // SHT_NOBITS: no bytes in the file
        let (sectionEnd, o) = h.u(entry + (is64 ? 0x18 : 0x10), word).addingReportingOverflow(h.u(entry + (is64 ? 0x20 : 0x14), word))
        guard !o, sectionEnd <= limit else { throw tooLarge(entry, "section [\(i)]", o ? nil : sectionEnd) }
        end = max(end, sectionEnd)
    }
    return .elf(end, final: true)
}

/// A deterministic `.tar.xz` holding the given files, in the given order: fixed mtime (0),
/// owner root:root, mode 0644, POSIX ustar headers, so identical inputs give identical bytes.
///
/// With `hardLinkDuplicates`, a file whose bytes equal an earlier one's is stored as a hard
/// link to it (a ustar `1` member, no data): GNU tar and Python's `tarfile` extract every file,
/// and the archive holds each distinct content once, so that compressing it costs time and
/// memory for the distinct contents only.
public func makeTarXZ(_ files: [(name: String, data: [UInt8])], hardLinkDuplicates: Bool = false) throws(FormatError) -> [UInt8] {
    try requireLibarchive("tar.xz")
    guard let a = archive_write_new() else { throw FormatError("tar.xz", "libarchive: out of memory") }
    archive_write_set_format_ustar(a)
    // The tar is written uncompressed and then compressed on its own (`btfgen_xz_compress`):
    // libarchive's xz filter always takes preset 6's 94 MB encoder, and initialising it costs
    // more than compressing a few trimmed BTFs.
    archive_write_set_bytes_in_last_block(a, 1)
    // The first file with each content, for each later one that has it.
    var linkTo = [String?](repeating: nil, count: files.count)
    if hardLinkDuplicates {
        var firstWith: [Contents: String] = [:]
        for (i, f) in files.enumerated() {
            if let first = firstWith[Contents(f.data)] { linkTo[i] = first } else { firstWith[Contents(f.data)] = f.name }
        }
    }
    let total = files.indices.reduce(0) { $0 + (linkTo[$1] == nil ? files[$1].data.count : 0) }
    // Left uninitialised: libarchive writes the tar's bytes, and the pages past its end (the
    // allowance for headers is generous) are never touched, so never resident.
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: total + 64 * 1024 + files.count * 1024, alignment: 16)
    defer { buf.deallocate() }
    // libarchive keeps this pointer and updates the count on every write until the archive is
    // closed, so it must outlive the open call (an `&local` would not).
    let used = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    used.initialize(to: 0)
    defer { used.deallocate() }
    let status: Result<Void, FormatError> = {
        // Freed here, while the buffer and the count it writes to are still valid.
        defer { archive_write_free(a) }
        guard archive_write_open_memory(a, buf.baseAddress, buf.count, used) == ARCHIVE_OK else {
            return .failure(archiveError(a, "tar.xz", "open"))
        }
        for (i, f) in files.enumerated() {
            guard let e = archive_entry_new() else { return .failure(FormatError("tar.xz", "libarchive: out of memory")) }
            defer { archive_entry_free(e) }
            archive_entry_set_pathname(e, f.name)
            if let first = linkTo[i] { archive_entry_set_hardlink(e, first) }
            archive_entry_set_size(e, la_int64_t(linkTo[i] == nil ? f.data.count : 0))
            archive_entry_set_filetype(e, 0o100000)
            archive_entry_set_perm(e, 0o644)
            archive_entry_set_mtime(e, 0, 0)
            archive_entry_set_uid(e, 0)
            archive_entry_set_gid(e, 0)
            archive_entry_set_uname(e, "root")
            archive_entry_set_gname(e, "root")
            guard archive_write_header(a, e) == ARCHIVE_OK else { return .failure(archiveError(a, f.name, "tar header")) }
            if linkTo[i] != nil { continue }
            let n = f.data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            guard n == f.data.count else { return .failure(archiveError(a, f.name, "tar data")) }
        }
        guard archive_write_close(a) == ARCHIVE_OK else { return .failure(archiveError(a, "tar.xz", "close")) }
        return .success(())
    }()
    try status.get()
    let tarLength = used.pointee
    var message = [CChar](repeating: 0, count: 512)
    var rc: Int32 = 0
    // Room for incompressible data, uninitialised: xz output is a small part of it, and only
    // the pages it writes become resident.
    let out = [UInt8](unsafeUninitializedCapacity: btfgen_xz_bound(tarLength)) { o, initialized in
        var outLength = 0
        rc = btfgen_xz_compress(buf.baseAddress?.assumingMemoryBound(to: UInt8.self), tarLength, o.baseAddress, o.count,
                                &outLength, &message, message.count)
        initialized = rc == 0 ? outLength : 0
    }
    guard rc == 0 else { throw FormatError("tar.xz", String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    return out
}

/// A file's bytes as a dictionary key, compared byte for byte.
package struct Contents: Hashable {
    package let bytes: [UInt8]
    package init(_ bytes: [UInt8]) { self.bytes = bytes }
    /// The size and the first and last 64 bytes: a BTF's header gives its section sizes, so
    /// outputs that differ almost always differ there, and `==` settles the rest. (Hashing
    /// every byte cost as much as all the rest of a report's dedup.)
    package func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.count)
        bytes.withUnsafeBytes { b in
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: b.prefix(64)))
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: b.suffix(64)))
        }
    }
    package static func == (a: Contents, b: Contents) -> Bool { a.bytes == b.bytes }
}
