import CPUKernels
import Dispatch

/// Splits `0..<count` into at most `threads` contiguous chunks and runs `body` on each,
/// in parallel only when every chunk gets at least `grain` items.
///
/// The chunks run on the calling thread and the pooled workers of `te_worker_pool_run`
/// (CPUKernels/WorkerPool.c), which spin for a while after each job, so consecutive parallel
/// ops start without waking a thread (40-55 us on the 2-core hosts measured). When the pool
/// is busy (another thread's job, or a parallel loop inside a chunk) the chunks go to
/// Dispatch instead. Small ranges stay on the calling thread. Chunk boundaries are multiples
/// of `alignment` (for SIMD loops).
@inline(__always)
func parallelFor(count: Int, threads: Int, grain: Int, alignment: Int = 16,
                 _ body: (Range<Int>) -> Void) {
    let chunks = min(max(threads, 1), count / max(grain, 1))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let per = ((count + chunks - 1) / chunks + alignment - 1) / alignment * alignment
    let chunk: (Int) -> Void = { index in
        let start = index * per
        let end = min(count, start + per)
        if start < end { body(start..<end) }
    }
    if runOnWorkerPool(chunks: chunks, threads: threads, chunk) { return }
    withoutActuallyEscaping(chunk) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { box.value($0) }
    }
}

/// Runs `chunk(0..<chunks)` on the worker pool; false (nothing run) when the pool is busy.
private func runOnWorkerPool(chunks: Int, threads: Int, _ chunk: (Int) -> Void) -> Bool {
    withoutActuallyEscaping(chunk) { escapable in
        var job = escapable
        return withUnsafeMutablePointer(to: &job) { pointer in
            te_worker_pool_run(chunks, Int32(clamping: threads), { context, index in
                context?.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
            }, pointer) != 0
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
