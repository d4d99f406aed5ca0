@testable import CPUBackend
import CPUKernels
import Dispatch
import Testing

/// Visit counts written by disjoint chunks (a chunk that overlapped another would count 2,
/// and ThreadSanitizer would report the race).
final class VisitCounts: @unchecked Sendable {
    let counts: UnsafeMutableBufferPointer<Int>
    init(_ count: Int) { counts = .allocate(capacity: count); counts.initialize(repeating: 0) }
    deinit { counts.deallocate() }
    func visit(_ index: Int) { counts[index] += 1 }
    var allOnce: Bool { counts.allSatisfy { $0 == 1 } }
}

/// `parallelFor` on the spinning worker pool (CPUKernels/WorkerPool.c): every index runs
/// exactly once, whether the pool is free, busy with another thread's job (the chunks go to
/// Dispatch) or called from inside one of its own chunks, and for every chunk count.
@Suite("parallelFor and the worker pool")
struct ParallelTests {
    /// Runs `parallelFor` over `count` and returns how often each index was visited.
    static func visits(count: Int, threads: Int, grain: Int, alignment: Int) -> [Int] {
        let visits = VisitCounts(count)
        parallelFor(count: count, threads: threads, grain: grain, alignment: alignment) { range in
            for index in range { visits.visit(index) }
        }
        return Array(visits.counts)
    }

    @Test("every index once, for chunk counts 1 to 9",
          arguments: [(0, 2), (1, 2), (17, 2), (1000, 2), (1000, 3), (4099, 4), (10_007, 9)])
    func everyIndexOnce(count: Int, threads: Int) {
        for alignment in [1, 16] {
            let visits = Self.visits(count: count, threads: threads, grain: 1, alignment: alignment)
            #expect(visits.allSatisfy { $0 == 1 }, "count \(count), threads \(threads), alignment \(alignment)")
        }
    }

    @Test("consecutive jobs (the workers spinning between them) and jobs after a sleep")
    func consecutiveJobs() {
        for round in 0..<2000 {
            let count = 64 + round % 97
            let visits = Self.visits(count: count, threads: 2, grain: 8, alignment: 1)
            if !visits.allSatisfy({ $0 == 1 }) {
                Issue.record("round \(round): \(visits)")
                return
            }
        }
        te_worker_pool_set_spin(0)   // park at once, so the next job must wake a sleeping worker
        defer { te_worker_pool_set_spin(200_000) }
        for round in 0..<200 {
            let visits = Self.visits(count: 128, threads: 2, grain: 1, alignment: 1)
            #expect(visits.allSatisfy { $0 == 1 }, "round \(round) after parking")
        }
    }

    @Test("concurrent callers and nested loops: the busy pool falls back to Dispatch")
    func concurrentAndNested() {
        let failedRounds = VisitCounts(8)   // per caller: 1 + the rounds that failed
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            failedRounds.visit(caller)
            for _ in 0..<50 {
                let outer = 12 + caller
                let visits = VisitCounts(outer * 40)
                parallelFor(count: outer, threads: 3, grain: 1, alignment: 1) { rows in
                    for row in rows {
                        // A loop inside a chunk finds the pool busy (its own job).
                        parallelFor(count: 40, threads: 2, grain: 1, alignment: 1) { columns in
                            for column in columns { visits.visit(row * 40 + column) }
                        }
                    }
                }
                if !visits.allOnce { failedRounds.visit(caller) }
            }
        }
        #expect(failedRounds.allOnce, "failed rounds per caller (plus 1): \(Array(failedRounds.counts))")
    }
}
