/// The portable single-precision matrix product: where OpenBLAS cannot be loaded and the CPU runs
/// no C kernel path (``CPUISA/portable``), or the packed C kernel could not allocate its buffers.
///
/// C[m, n] = op(A) op(B), row-major, with A read as [m, k] (or [k, m] when `transposeA`)
/// and B as [k, n] (or [n, k]). Blocks of B are packed row-major so the inner loop streams
/// contiguous rows; a 4 x 16 register tile accumulates over each block of k.
enum SwiftGemm {
    static let kc = 256
    static let nc = 512

    /// Computes rows `rows` of C.
    static func multiply(m: Int, n: Int, k: Int,
                         a: UnsafePointer<Float>, transposeA: Bool,
                         b: UnsafePointer<Float>, transposeB: Bool,
                         c: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        for i in rows { (c + i * n).update(repeating: 0, count: n) }
        guard k > 0, !rows.isEmpty else { return }
        let packedB = UnsafeMutablePointer<Float>.allocate(capacity: kc * nc)
        let packedA = UnsafeMutablePointer<Float>.allocate(capacity: kc * 4)
        defer {
            packedB.deallocate()
            packedA.deallocate()
        }
        var p0 = 0
        while p0 < k {
            let kb = min(kc, k - p0)
            var j0 = 0
            while j0 < n {
                let nb = min(nc, n - j0)
                // Pack B[p0..<p0+kb, j0..<j0+nb] row-major with row length nb.
                for p in 0..<kb {
                    let to = packedB + p * nb
                    if transposeB {
                        for j in 0..<nb { to[j] = b[(j0 + j) * k + p0 + p] }
                    } else {
                        to.update(from: b + (p0 + p) * n + j0, count: nb)
                    }
                }
                var i = rows.lowerBound
                while i < rows.upperBound {
                    let mb = min(4, rows.upperBound - i)
                    // Pack A[i..<i+mb, p0..<p0+kb] as [kb][4].
                    for p in 0..<kb {
                        for r in 0..<4 {
                            let row = i + min(r, mb - 1)
                            packedA[p * 4 + r] = transposeA ? a[(p0 + p) * m + row] : a[row * k + p0 + p]
                        }
                    }
                    tile(packedA: packedA, packedB: packedB, kb: kb, nb: nb,
                         c: c + i * n + j0, ldc: n, rows: mb)
                    i += mb
                }
                j0 += nb
            }
            p0 += kb
        }
    }

    /// C[0..<rows, 0..<nb] += packedA^T-block x packedB, 16 columns at a time.
    @inline(__always)
    static func tile(packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>, kb: Int, nb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int) {
        var j = 0
        while j + 16 <= nb {
            var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
            for p in 0..<kb {
                let bv = UnsafeRawPointer(packedB + p * nb + j).loadUnaligned(as: SIMD16<Float>.self)
                let ap = packedA + p * 4
                c0 += ap[0] * bv
                c1 += ap[1] * bv
                c2 += ap[2] * bv
                c3 += ap[3] * bv
            }
            for r in 0..<rows {
                let target = UnsafeMutableRawPointer(c + r * ldc + j)
                let acc = r == 0 ? c0 : r == 1 ? c1 : r == 2 ? c2 : c3
                let sum = target.loadUnaligned(as: SIMD16<Float>.self) + acc
                target.storeBytes(of: sum, as: SIMD16<Float>.self)
            }
            j += 16
        }
        while j < nb {
            for r in 0..<rows {
                var sum: Float = 0
                for p in 0..<kb { sum += packedA[p * 4 + r] * packedB[p * nb + j] }
                c[r * ldc + j] += sum
            }
            j += 1
        }
    }
}
