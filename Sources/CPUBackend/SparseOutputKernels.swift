import TensorCore

/// The output-sparse loops: dot products of the input rows with the listed weight rows only.
enum SparseOutputKernels {
    /// `x[0..<inner] . w[0..<inner]` with four 16-wide accumulators.
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ inner: Int) -> Float {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        var k = 0
        while k + 64 <= inner {
            let xp = UnsafeRawPointer(x + k), wp = UnsafeRawPointer(w + k)
            s0 += xp.loadUnaligned(as: SIMD16<Float>.self) * wp.loadUnaligned(as: SIMD16<Float>.self)
            s1 += xp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                * wp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            s2 += xp.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                * wp.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
            s3 += xp.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
                * wp.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
            k += 64
        }
        while k + 16 <= inner {
            s0 += UnsafeRawPointer(x + k).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(w + k).loadUnaligned(as: SIMD16<Float>.self)
            k += 16
        }
        var total = ((s0 + s1) + (s2 + s3)).sum()
        while k < inner {
            total += x[k] * w[k]
            k += 1
        }
        return total
    }

    /// For each listed output `n = active[i]`, i in `range`: `pre[r, n] = x[r, :] . w[n, :] + bias[n]`
    /// and `y[r, n] = f(pre)` for every input row r. Each weight row is read once for all rows.
    static func rows(x: UnsafePointer<Float>, w: UnsafePointer<Float>, active: UnsafeRawPointer, range: Range<Int>,
                     y: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>?, bias: UnsafePointer<Float>?,
                     activation: Activation, rows: Int, inner: Int, columns: Int) {
        for i in range {
            let n = Int(active.load(fromByteOffset: i * 4, as: Int32.self))
            let wRow = w + n * inner
            for r in 0..<rows {
                var v = dot(x + r * inner, wRow, inner) + (bias?[n] ?? 0)
                pre?[r * columns + n] = v
                // The same activation code as the dense epilogue, one element.
                ActivationKernels.forward(activation, &v, y + r * columns + n, range: 0..<1)
            }
        }
    }
}
