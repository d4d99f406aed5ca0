import CPUKernels

/// The input-sparse loops: compaction of the inputs that survive the threshold, and
/// gather-accumulate over the weight rows they select.
///
/// An input survives when `!(|x| <= t)`: values above the threshold, and NaN (so a NaN
/// input poisons its outputs exactly as it does in the dense product).
enum SparseKernels {
    /// The threshold of channel `k`: one scalar, or one value per channel.
    struct Thresholds {
        let scalar: Float
        let perChannel: UnsafePointer<Float>?

        @inline(__always)
        func keeps(_ value: Float, channel k: Int) -> Bool {
            !(abs(value) <= (perChannel?[k] ?? scalar))
        }
    }

    /// Writes the surviving channels of `x[0..<inner]` to `indices` (ascending) and their
    /// values to `values`; returns how many survived.
    @inline(__always)
    static func compact(_ x: UnsafePointer<Float>, inner: Int, thresholds: Thresholds,
                        indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>) -> Int {
        var count = 0
        for k in 0..<inner {
            let v = x[k]
            // Branch-free: always write, advance only when kept.
            indices[count] = Int32(truncatingIfNeeded: k)
            values[count] = v
            count &+= thresholds.keeps(v, channel: k) ? 1 : 0
        }
        return count
    }

    /// Survivor flags of 16 inputs starting at channel `k` (1 where kept, else 0): NaN
    /// survives, as in ``keeps(_:channel:)``.
    @inline(__always)
    static func keeps16(_ x: UnsafePointer<Float>, _ k: Int, _ thresholds: Thresholds) -> SIMD16<Int32> {
        let v = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD16<Float>.self)
        let t = thresholds.perChannel.map { UnsafeRawPointer($0 + k).loadUnaligned(as: SIMD16<Float>.self) }
            ?? SIMD16(repeating: thresholds.scalar)
        let skipped = (v .<= t) .& (v .>= -t)
        return SIMD16<Int32>(repeating: 1).replacing(with: 0, where: skipped)
    }

    /// The number of surviving channels of `x[0..<inner]`, and `flags[k] |= 1` for each of
    /// them (the union over rows). Branch-free, 16 channels at a time.
    static func countAndMark(_ x: UnsafePointer<Float>, inner: Int, thresholds: Thresholds,
                             flags: UnsafeMutablePointer<Int32>) -> Int {
        var total = SIMD16<Int32>()
        var k = 0
        while k + 16 <= inner {
            let kept = keeps16(x, k, thresholds)
            total &+= kept
            let f = UnsafeMutableRawPointer(flags + k)
            f.storeBytes(of: f.loadUnaligned(as: SIMD16<Int32>.self) | kept, as: SIMD16<Int32>.self)
            k += 16
        }
        var count = Int(total.wrappedSum())
        while k < inner {
            let kept: Int32 = thresholds.keeps(x[k], channel: k) ? 1 : 0
            count &+= Int(kept)
            flags[k] |= kept
            k += 1
        }
        return count
    }

    /// The number of set flags (each 0 or 1).
    static func countFlags(_ flags: UnsafePointer<Int32>, _ count: Int) -> Int {
        var total = SIMD16<Int32>()
        var k = 0
        while k + 16 <= count {
            total &+= UnsafeRawPointer(flags + k).loadUnaligned(as: SIMD16<Int32>.self)
            k += 16
        }
        var sum = Int(total.wrappedSum())
        while k < count {
            sum += Int(flags[k])
            k += 1
        }
        return sum
    }

    /// The thresholded input `x~` (skipped values set to +0), `count` elements of a row-major
    /// matrix with `inner` columns.
    static func threshold(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                          inner: Int, thresholds: Thresholds, range: Range<Int>) {
        for i in range {
            let v = x[i]
            out[i] = thresholds.keeps(v, channel: i % inner) ? v : 0
        }
    }

    /// `y[columns] = sum over i < count of values[i] * w[indices[i], columns]`: one input row's
    /// product, by the C kernel of `isa` (`te_gather_rows`, AVX-512 or AVX2) where the CPU runs
    /// it, else by ``gatherAccumulate(w:ldw:indices:count:xs:ldx:batch:y:ldy:columns:)``.
    static func gatherRow(w: UnsafePointer<Float>, ldw: Int, indices: UnsafePointer<Int32>, values: UnsafePointer<Float>,
                          count: Int, y: UnsafeMutablePointer<Float>, columns: Range<Int>, isa: CPUISA = .active) {
        if te_gather_rows(isa.rawValue, w, ldw, indices, values, count, y, columns.lowerBound, columns.upperBound) != 0 { return }
        gatherAccumulate(w: w, ldw: ldw, indices: indices, count: count, xs: values, ldx: 0, batch: 1,
                         y: y, ldy: ldw, columns: columns)
    }

    /// `y[b, columns] = sum over i < count of xs[b * ldx + i] * w[indices[i], columns]` for `batch`
    /// rows: a small GEMM over the listed weight rows (`te_gathered_gemm`, the C kernel of `isa`)
    /// for more than one row where the CPU runs it; one row, or no C kernel, takes
    /// ``gatherAccumulate(w:ldw:indices:count:xs:ldx:batch:y:ldy:columns:)``, which also skips zero inputs.
    static func gatheredProduct(w: UnsafePointer<Float>, ldw: Int, indices: UnsafePointer<Int32>, count: Int,
                                xs: UnsafePointer<Float>, ldx: Int, batch: Int, y: UnsafeMutablePointer<Float>,
                                ldy: Int, columns: Range<Int>, isa: CPUISA = .active) {
        if batch > 1, te_gathered_gemm(isa.rawValue, w, ldw, indices, count, xs, ldx, batch, y, ldy,
                                       columns.lowerBound, columns.upperBound) != 0 { return }
        gatherAccumulate(w: w, ldw: ldw, indices: indices, count: count, xs: xs, ldx: ldx, batch: batch,
                         y: y, ldy: ldy, columns: columns)
    }

    /// `y[b, columns] = sum over i < count of xs[b * ldx + i] * w[indices[i], columns]` for each
    /// of `batch` rows of y (row stride `ldy`). Eight weight rows are applied per pass over a
    /// y row, so y is read and written once per eight rows of W; columns are visited in chunks
    /// whose slice of y stays in the L2 cache across the whole index list.
    static func gatherAccumulate(w: UnsafePointer<Float>, ldw: Int, indices: UnsafePointer<Int32>, count: Int,
                                 xs: UnsafePointer<Float>, ldx: Int, batch: Int,
                                 y: UnsafeMutablePointer<Float>, ldy: Int, columns: Range<Int>) {
        let chunk = max(256, min(columns.count, (65536 / max(batch, 1)) & ~15))
        var c0 = columns.lowerBound
        while c0 < columns.upperBound {
            let c1 = min(c0 + chunk, columns.upperBound)
            for b in 0..<batch { (y + b * ldy + c0).update(repeating: 0, count: c1 - c0) }
            var i = 0
            while i + 8 <= count {
                let p0 = w + Int(indices[i]) * ldw, p1 = w + Int(indices[i + 1]) * ldw
                let p2 = w + Int(indices[i + 2]) * ldw, p3 = w + Int(indices[i + 3]) * ldw
                let p4 = w + Int(indices[i + 4]) * ldw, p5 = w + Int(indices[i + 5]) * ldw
                let p6 = w + Int(indices[i + 6]) * ldw, p7 = w + Int(indices[i + 7]) * ldw
                for b in 0..<batch {
                    let x = UnsafeRawPointer(xs + b * ldx + i).loadUnaligned(as: SIMD8<Float>.self)
                    if x == SIMD8() { continue }
                    row8(y + b * ldy, p0, p1, p2, p3, p4, p5, p6, p7, x, c0, c1)
                }
                i += 8
            }
            while i + 4 <= count {
                let r0 = w + Int(indices[i]) * ldw, r1 = w + Int(indices[i + 1]) * ldw
                let r2 = w + Int(indices[i + 2]) * ldw, r3 = w + Int(indices[i + 3]) * ldw
                for b in 0..<batch {
                    let x = xs + b * ldx + i
                    let a0 = x[0], a1 = x[1], a2 = x[2], a3 = x[3]
                    if a0 == 0, a1 == 0, a2 == 0, a3 == 0 { continue }
                    row4(y + b * ldy, r0, r1, r2, r3, a0, a1, a2, a3, c0, c1)
                }
                i += 4
            }
            while i < count {
                let r0 = w + Int(indices[i]) * ldw
                for b in 0..<batch {
                    let a0 = xs[b * ldx + i]
                    if a0 == 0 { continue }
                    row1(y + b * ldy, r0, a0, c0, c1)
                }
                i += 1
            }
            c0 = c1
        }
    }

    /// `y[c0..<c1] += a0 r0 + a1 r1 + a2 r2 + a3 r3`, 16 columns per step.
    @inline(__always)
    static func row4(_ y: UnsafeMutablePointer<Float>, _ r0: UnsafePointer<Float>, _ r1: UnsafePointer<Float>,
                     _ r2: UnsafePointer<Float>, _ r3: UnsafePointer<Float>,
                     _ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ c0: Int, _ c1: Int) {
        var j = c0
        while j + 16 <= c1 {
            let yp = UnsafeMutableRawPointer(y + j)
            var acc = yp.loadUnaligned(as: SIMD16<Float>.self)
            acc += a0 * UnsafeRawPointer(r0 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a1 * UnsafeRawPointer(r1 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a2 * UnsafeRawPointer(r2 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a3 * UnsafeRawPointer(r3 + j).loadUnaligned(as: SIMD16<Float>.self)
            yp.storeBytes(of: acc, as: SIMD16<Float>.self)
            j += 16
        }
        while j < c1 {
            y[j] += a0 * r0[j] + a1 * r1[j] + a2 * r2[j] + a3 * r3[j]
            j += 1
        }
    }

    /// `y[c0..<c1] += sum over i of a[i] r_i` for eight weight rows, 16 columns per step.
    @inline(__always)
    static func row8(_ y: UnsafeMutablePointer<Float>, _ r0: UnsafePointer<Float>, _ r1: UnsafePointer<Float>,
                     _ r2: UnsafePointer<Float>, _ r3: UnsafePointer<Float>, _ r4: UnsafePointer<Float>,
                     _ r5: UnsafePointer<Float>, _ r6: UnsafePointer<Float>, _ r7: UnsafePointer<Float>,
                     _ a: SIMD8<Float>, _ c0: Int, _ c1: Int) {
        var j = c0
        while j + 16 <= c1 {
            let yp = UnsafeMutableRawPointer(y + j)
            var acc = yp.loadUnaligned(as: SIMD16<Float>.self)
            acc += a[0] * UnsafeRawPointer(r0 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a[1] * UnsafeRawPointer(r1 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a[2] * UnsafeRawPointer(r2 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a[3] * UnsafeRawPointer(r3 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a[4] * UnsafeRawPointer(r4 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a[5] * UnsafeRawPointer(r5 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a[6] * UnsafeRawPointer(r6 + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += a[7] * UnsafeRawPointer(r7 + j).loadUnaligned(as: SIMD16<Float>.self)
            yp.storeBytes(of: acc, as: SIMD16<Float>.self)
            j += 16
        }
        while j < c1 {
            var v = y[j] + a[0] * r0[j] + a[1] * r1[j] + a[2] * r2[j] + a[3] * r3[j]
            v += a[4] * r4[j] + a[5] * r5[j] + a[6] * r6[j] + a[7] * r7[j]
            y[j] = v
            j += 1
        }
    }

    /// `y[0..<count] += partial[0..<count]`.
    static func add(_ partial: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var j = 0
        while j + 16 <= count {
            let yp = UnsafeMutableRawPointer(y + j)
            let sum = yp.loadUnaligned(as: SIMD16<Float>.self) + UnsafeRawPointer(partial + j).loadUnaligned(as: SIMD16<Float>.self)
            yp.storeBytes(of: sum, as: SIMD16<Float>.self)
            j += 16
        }
        while j < count {
            y[j] += partial[j]
            j += 1
        }
    }

    /// `y[c0..<c1] += a0 r0`.
    @inline(__always)
    static func row1(_ y: UnsafeMutablePointer<Float>, _ r0: UnsafePointer<Float>, _ a0: Float, _ c0: Int, _ c1: Int) {
        var j = c0
        while j + 16 <= c1 {
            let yp = UnsafeMutableRawPointer(y + j)
            let acc = yp.loadUnaligned(as: SIMD16<Float>.self) + a0 * UnsafeRawPointer(r0 + j).loadUnaligned(as: SIMD16<Float>.self)
            yp.storeBytes(of: acc, as: SIMD16<Float>.self)
            j += 16
        }
        while j < c1 {
            y[j] += a0 * r0[j]
            j += 1
        }
    }
}
