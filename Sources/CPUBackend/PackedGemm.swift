import CPUKernels

/// The built-in matrix product when OpenBLAS is absent: the packed C kernel (GemmBody.h, an
/// AVX-512 12 x 32 or AVX2 6 x 16 register tile) on the ``CPUISA/active`` path, else the
/// portable ``SwiftGemm``. Rows of C are split between the threads.
///
/// Where OpenBLAS is loaded it does every product: measured single-threaded (CPU time) on a
/// Zen 5 core, OpenBLAS 0.3.21's Cooperlake kernel runs at the core's FMA peak (190-220
/// GFLOP/s at n = 64...1024) and the packed kernel reaches 112-208 GFLOP/s, so it wins at no
/// size. ``preferredOverOpenBLAS(m:n:k:)`` is the one place that decision lives.
///
/// ```swift
/// PackedGemm.multiply(m: 4, n: 3, k: 2, a: a, transposeA: false, b: b, transposeB: false,
///                     c: c, threads: 2, isa: CPUISA.active)
/// ```
enum PackedGemm {
    /// What runs the products on the `isa` path, for ``CPUDevice/details``.
    static func kernelDescription(isa: CPUISA) -> String {
        isa == .portable ? "Swift kernel, portable path" : "packed C kernel, \(isa)"
    }

    /// Whether the packed kernel should replace OpenBLAS for this shape (today: never; see above).
    static func preferredOverOpenBLAS(m: Int, n: Int, k: Int) -> Bool { false }

    /// Rows per thread below which a product stays on one thread: a chunk must carry about
    /// 8 MFLOP (40 us at 200 GFLOP/s) to outweigh waking the other core (40-55 us).
    static func rowGrain(n: Int, k: Int) -> Int { max(1, 4_000_000 / max(1, n * k)) }

    /// C[m, n] = op(A) op(B) (k > 0), row-major, A stored [m, k] (or [k, m] when `transposeA`)
    /// and B [k, n] (or [n, k]).
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, transposeA: Bool,
                         b: UnsafePointer<Float>, transposeB: Bool, c: UnsafeMutablePointer<Float>,
                         threads: Int, isa: CPUISA) {
        let grain = isa == .portable ? max(4, 65536 / max(1, n * k / 64)) : rowGrain(n: n, k: k)
        // Chunks of whole register tiles (12 rows on AVX-512, 6 on AVX2; 4 for the Swift kernel).
        parallelFor(count: m, threads: threads, grain: grain, alignment: isa == .portable ? 4 : 12) { rows in
            let done = isa != .portable
                && te_sgemm(isa.rawValue, transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k,
                            a, transposeA ? m : k, b, transposeB ? k : n, c, n,
                            rows.lowerBound, rows.upperBound) != 0
            if !done {
                SwiftGemm.multiply(m: m, n: n, k: k, a: a, transposeA: transposeA,
                                   b: b, transposeB: transposeB, c: c, rows: rows)
            }
        }
    }
}
