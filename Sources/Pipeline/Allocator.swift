#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Advises the next `bytes` of the calling thread's malloc arena for transparent huge pages
/// (`MADV_HUGEPAGE`: in the "madvise" mode many distributions choose, the kernel gives huge
/// pages only to memory so advised; in "always" the arena has them anyway, in "never" the
/// advice is moot).
///
/// glibc gives each thread that allocates its own arena: the main thread's is the heap, each
/// other thread's a mapping of its own. Trimming one kernel writes about 10 MB of fresh memory
/// (its index, the objects' relocation tables), and on a virtual machine a fresh 4 KB page
/// costs more to fault in than its bytes cost to compute: in 2 MB pages it costs about a fifth
/// of the run's time less. The advice covers what the thread's later allocations are given,
/// when the arena keeps what is freed (a trim threshold above `bytes`, as the command line
/// sets it). Nothing is touched until it is used; memory is then taken 2 MB at a time, a
/// megabyte or two more of peak memory per thread.
public func adviseHugePages(_ bytes: Int) {
    #if os(Linux)
    let huge = 2 << 20
    // Where the arena hands out memory next. The 2 MB around it already have 4 KB pages (a
    // thread's arena begins with its own bookkeeping, the heap follows the program's data), and
    // would never get a huge one: the rest of them is taken, for good (address space, not
    // memory: only its first page is touched), so that what the thread allocates next starts
    // at the next 2 MB boundary.
    if let probe = malloc(64) {
        let next = Int(bitPattern: probe)
        free(probe)
        let boundary = (next + 4096 + huge - 1) & ~(huge - 1)
        // Kept where the compiler sees it used: an allocation nothing reads may be left out.
        if boundary - next > 8192, let spacer = malloc(boundary - next - 8192) {
            arenaSpacers.withLock { $0.append(UInt(bitPattern: spacer)) }
        }
    }
    guard let block = malloc(bytes) else { return }
    let start = (Int(bitPattern: block) + huge - 1) & ~(huge - 1)
    let end = (Int(bitPattern: block) + bytes) & ~(huge - 1)
    if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, 14 /* MADV_HUGEPAGE */) }
    free(block)
    #endif
}

/// The allocations `adviseHugePages` keeps at the start of arenas.
private let arenaSpacers = Mutex<[UInt]>([])
