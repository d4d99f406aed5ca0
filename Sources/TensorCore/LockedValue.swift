#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value guarded by a `pthread_mutex_t`, used like `Synchronization.Mutex`:
///
/// ```swift
/// let counts = LockedValue([String: Int]())
/// counts.withLock { $0["relu", default: 0] += 1 }
/// ```
///
/// Why not `Mutex`: on Linux it blocks in raw futex syscalls that ThreadSanitizer does not
/// intercept (and the toolchain's Synchronization library is not instrumented), so TSan sees
/// no ordering between two `withLock` bodies and reports their accesses as races. TSan
/// intercepts pthread mutexes, so code under this lock needs no suppressions.
///
/// `@unchecked Sendable`: `value` is only read or written inside `withLock`, with `mutex`
/// held; the mutex has an allocation of its own, so it never moves while in use.
package final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// A lock guarding `value`.
    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` on the value with the lock held and returns its result.
    package func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
