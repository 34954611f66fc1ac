#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// printf-style formatting of numbers (`cFormat("%.2f", x)`), as the C library does it, without
/// Foundation: btfgen starts in a few milliseconds, and Foundation's loading would double that.
public func cFormat(_ format: String, _ arguments: CVarArg...) -> String {
    withVaList(arguments) { list in
        var buffer = [UInt8](repeating: 0, count: 128)
        let needed = Int(buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, list) })
        guard needed >= buffer.count else { return String(decoding: buffer.prefix(max(needed, 0)), as: UTF8.self) }
        return withVaList(arguments) { again in
            buffer = [UInt8](repeating: 0, count: needed + 1)
            _ = buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, again) }
            return String(decoding: buffer.prefix(needed), as: UTF8.self)
        }
    }
}

/// Writes `text` to standard error, as one write.
public func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { writeAll(2, $0) }
}

/// Writes `text` to standard output, after anything `print` buffered.
public func writeStandardOutput(_ text: String) {
    fflush(nil)
    var text = text
    text.withUTF8 { writeAll(1, $0) }
}

private func writeAll(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        done += n
    }
}

/// glibc's `sched_getaffinity`, which its headers only declare under _GNU_SOURCE.
@_silgen_name("sched_getaffinity")
private func sched_getaffinity(_ pid: pid_t, _ size: Int, _ mask: UnsafeMutableRawPointer) -> Int32

/// The CPUs this process may run on (its affinity mask, as `nproc` counts them).
public func availableProcessorCount() -> Int {
    var set = cpu_set_t()
    if sched_getaffinity(0, MemoryLayout<cpu_set_t>.size, &set) == 0 {
        let count = withUnsafeBytes(of: &set) { $0.reduce(0) { $0 + $1.nonzeroBitCount } }
        if count > 0 { return count }
    }
    return max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
}

/// Monotonic time in nanoseconds.
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
