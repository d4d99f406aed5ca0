import Dispatch

/// Splits `0..<count` into at most `threads` contiguous chunks and runs `body` on each,
/// in parallel only when every chunk gets at least `grain` items.
///
/// Waking a thread on the other core costs 40-55 us here, so small ranges stay on the
/// calling thread. Chunk boundaries are multiples of `alignment` (for SIMD loops).
@inline(__always)
func parallelFor(count: Int, threads: Int, grain: Int, alignment: Int = 16,
                 _ body: (Range<Int>) -> Void) {
    let chunks = min(max(threads, 1), count / max(grain, 1))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let per = ((count + chunks - 1) / chunks + alignment - 1) / alignment * alignment
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * per
            let end = min(count, start + per)
            if start < end { box.value(start..<end) }
        }
    }
}

/// Carries a value into a `@Sendable` closure.
///
/// `@unchecked Sendable`: used only by ``parallelFor(count:threads:grain:alignment:_:)``,
/// whose chunks touch disjoint index ranges of the buffers the body captures, and which
/// returns only after every chunk has finished.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
