#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Work done on a thread of its own while the caller goes on; `value` waits for it.
///
/// A thread of its own, not a dispatch queue's: the threads that wait for it may be all the
/// dispatch pool has (a run's workers wait for the objects), and a block queued behind them
/// would never start.
public final class Background<Value: Sendable>: @unchecked Sendable {
    // Written once, by the work's thread, before `done` is signalled; read only after a wait.
    private var result: Value?
    private let done = DispatchSemaphore(value: 0)

    /// `queue`: run the work there instead, on a thread of the dispatch pool, when nothing that
    /// waits for it holds the pool's threads. A pool thread has run a job before and reuses the
    /// memory its arena was given (glibc's arenas are per thread); a new thread starts an arena
    /// of its own.
    public init(on queue: DispatchQueue? = nil, _ work: @escaping @Sendable () -> Value) {
        if let queue {
            queue.async {
                self.result = work()
                self.done.signal()
            }
            return
        }
        let run = Unmanaged.passRetained(Job { self.result = work(); self.done.signal() }).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, { context in
            Unmanaged<Job>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, run) == 0 {
            pthread_detach(thread)
        } else {
            // No thread to be had: the work is done here, before the caller goes on.
            Unmanaged<Job>.fromOpaque(run).takeRetainedValue().body()
        }
    }

    /// The value, once the work is done.
    public var value: Value {
        done.wait()
        defer { done.signal() }
        return result!
    }

    /// The value, once the work is done, no longer kept here: `value` must not be asked after it.
    public func take() -> Value {
        done.wait()
        defer { done.signal() }
        defer { result = nil }
        return result!
    }
}

private final class Job {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
