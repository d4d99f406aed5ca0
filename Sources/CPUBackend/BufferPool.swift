import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// A bounded, thread-safe cache of freed 64-byte-aligned allocations, by size class.
///
/// A fresh 64 MiB buffer costs 20-25 ms of page faults here, more than a GELU over it,
/// so freed memory is kept (up to ``limitBytes`` in total, most recent first) and handed
/// to the next request of the same size class. Size classes are 64-byte multiples up to
/// 4 KiB, then four per power of two (at most 25% slack).
final class BufferPool: Sendable {
    static let shared = BufferPool(limitBytes: 1 << 30)

    /// Most bytes kept in the cache.
    let limitBytes: Int
    /// A pthread-based lock, which ThreadSanitizer understands (see LockedValue).
    private let state = LockedValue(State())

    private struct State {
        /// Cached allocations, oldest first: (size-class bytes, address).
        var entries: [(bytes: Int, address: UInt)] = []
        var cachedBytes = 0
    }

    init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// The size class (capacity) for a request of `bytes`.
    static func sizeClass(for bytes: Int) -> Int {
        let b = max(bytes, 64)
        if b <= 4096 { return (b + 63) & ~63 }
        let top = Int.bitWidth - 1 - (b - 1).leadingZeroBitCount   // 2^top < b <= 2^(top+1)
        let step = 1 << (top - 2)
        return (b + step - 1) / step * step
    }

    /// A 64-byte-aligned block of at least `bytes`, and its capacity; nil when out of memory.
    func acquire(bytes: Int) -> (UnsafeMutableRawPointer, Int)? {
        let capacity = Self.sizeClass(for: bytes)
        let cached: UInt? = state.withLock { s in
            guard let index = s.entries.lastIndex(where: { $0.bytes == capacity }) else { return nil }
            let entry = s.entries.remove(at: index)
            s.cachedBytes -= entry.bytes
            return entry.address
        }
        if let cached, let pointer = UnsafeMutableRawPointer(bitPattern: cached) {
            return (pointer, capacity)
        }
        var pointer: UnsafeMutableRawPointer?
        if posix_memalign(&pointer, 64, capacity) != 0 || pointer == nil {
            // Give the cache back to the system and try once more.
            trim(to: 0)
            if posix_memalign(&pointer, 64, capacity) != 0 { return nil }
        }
        guard let pointer else { return nil }
        return (pointer, capacity)
    }

    /// Returns a block to the cache, evicting the oldest entries beyond the limit.
    func release(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes <= limitBytes else {
            free(pointer)
            return
        }
        let evicted: [UInt] = state.withLock { s in
            s.entries.append((bytes, UInt(bitPattern: pointer)))
            s.cachedBytes += bytes
            var out: [UInt] = []
            while s.cachedBytes > limitBytes || s.entries.count > 512 {
                let old = s.entries.removeFirst()
                s.cachedBytes -= old.bytes
                out.append(old.address)
            }
            return out
        }
        for address in evicted { free(UnsafeMutableRawPointer(bitPattern: address)) }
    }

    /// Frees cached blocks until at most `bytes` stay cached.
    func trim(to bytes: Int) {
        let evicted: [UInt] = state.withLock { s in
            var out: [UInt] = []
            while s.cachedBytes > bytes, !s.entries.isEmpty {
                let old = s.entries.removeFirst()
                s.cachedBytes -= old.bytes
                out.append(old.address)
            }
            return out
        }
        for address in evicted { free(UnsafeMutableRawPointer(bitPattern: address)) }
    }

    /// Bytes currently cached.
    var cachedBytes: Int { state.withLock { $0.cachedBytes } }
}
