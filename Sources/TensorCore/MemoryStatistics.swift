/// How much device memory a backend's tensors hold: what `torch.cuda.memory_allocated`,
/// `max_memory_allocated` and `memory_reserved` report, for any backend that keeps count.
///
/// Live bytes are the buffers tensors (and the autograd graph) hold now; the peak is the most
/// live at once since the backend started or since the last
/// ``Backend/resetPeakMemoryStatistics()``; cached bytes are freed buffers the backend keeps
/// for reuse (the process's resident memory includes them, a peak of live bytes does not).
///
/// ```swift
/// let device = Device.cpu
/// device.resetPeakMemoryStatistics()
/// let y = try x.matmul(w).gelu()
/// if let memory = device.memoryStatistics {
///     print(memory.peakLiveBytes - memory.liveBytes)   // transients of the two ops
/// }
/// ```
public struct MemoryStatistics: Sendable, Equatable {
    /// Bytes of buffers alive now (whole allocations, with their rounding).
    public var liveBytes: Int
    /// The most bytes alive at once since the last reset.
    public var peakLiveBytes: Int
    /// Bytes of freed buffers the backend keeps for reuse.
    public var cachedBytes: Int

    public init(liveBytes: Int, peakLiveBytes: Int, cachedBytes: Int) {
        self.liveBytes = liveBytes
        self.peakLiveBytes = peakLiveBytes
        self.cachedBytes = cachedBytes
    }
}

/// A backend's count of live bytes and their peak, safe from any thread.
///
/// ```swift
/// let counter = LiveMemoryCounter()
/// counter.allocated(4096)
/// counter.freed(4096)
/// counter.statistics(cachedBytes: 0).peakLiveBytes   // 4096
/// ```
package final class LiveMemoryCounter: Sendable {
    private let state = LockedValue((live: 0, peak: 0))

    package init() {}

    /// Counts `bytes` more alive.
    package func allocated(_ bytes: Int) {
        state.withLock {
            $0.live += bytes
            $0.peak = max($0.peak, $0.live)
        }
    }

    /// Counts `bytes` fewer alive.
    package func freed(_ bytes: Int) {
        state.withLock { $0.live -= bytes }
    }

    /// Makes the peak the live bytes now.
    package func resetPeak() {
        state.withLock { $0.peak = $0.live }
    }

    /// The counts, with the backend's `cachedBytes`.
    package func statistics(cachedBytes: Int) -> MemoryStatistics {
        state.withLock { MemoryStatistics(liveBytes: $0.live, peakLiveBytes: $0.peak, cachedBytes: cachedBytes) }
    }
}
