@testable import CPUBackend
import TensorCore
import Testing

/// The few-bit encoder and decoder, vector (AVX2) and portable paths, against the layout's
/// host reference (`FewBitCodes.pack`) and codes counted directly from the borders.
@Suite struct FewBitKernelTests {
    /// Sorted distinct borders, values that hit them exactly, NaN and infinities.
    static func problem(bits: Int, count: Int, seed: UInt64) -> (borders: [Float], x: [Float]) {
        var rng = SplitMix(seed: seed)
        let borders = Array(Set((0..<(1 << bits) - 1).map { _ in Float(rng.normal() * 2) })).sorted()
        var x = rng.floats(count, scale: 2.5)
        for i in stride(from: 0, to: count, by: 7) { x[i] = borders[Int(rng.next() % UInt64(borders.count))] }
        x[3 % count] = .nan
        x[5 % count] = .infinity
        x[6 % count] = -.infinity
        return (borders, x)
    }

    /// The number of borders strictly below z (NaN: 0), straight from the definition.
    static func code(_ z: Float, _ borders: [Float]) -> UInt8 {
        UInt8(borders.filter { $0 < z }.count)
    }

    @Test(arguments: 1...8)
    func encodeMatchesTheLayoutWithAndWithoutBias(bits: Int) {
        // 1000 values from element 64 of the stream: whole runs and a partial last run;
        // 37 columns starting at column 11, so bias rows wrap inside vectors and runs.
        let (count, start, columns, column) = (1000, 64, 37, 11)
        var (borders, x) = Self.problem(bits: bits, count: count, seed: UInt64(bits))
        var rng = SplitMix(seed: 99)
        let bias = rng.floats(columns)
        while borders.count < (1 << bits) - 1 { borders.append(borders.last! + 1) }   // rare duplicate draws
        for withBias in [false, true] {
            let z = (0..<count).map { withBias ? x[$0] + bias[(column + $0) % columns] : x[$0] }
            let expected = FewBitCodes.pack(z.map { Self.code($0, borders) }, bits: bits)
            let words = FewBitCodes.packedWordCount(count: count, bits: bits)
            let first = start / 32 * bits
            for portable in [false, true] {
                var out = [UInt32](repeating: 0xDEAD_BEEF, count: first + words)
                x.withUnsafeBufferPointer { xp in
                    bias.withUnsafeBufferPointer { bp in
                        borders.withUnsafeBufferPointer { border in
                            out.withUnsafeMutableBufferPointer { o in
                                let b = withBias ? bp.baseAddress : nil
                                if portable {
                                    var c = column
                                    FewBitKernels.encode(count: count, start: start, borders: border, bits: bits,
                                                         words: o.baseAddress!) { i in
                                        let v = xp[i] + (b?[c] ?? 0)
                                        c = c + 1 == columns ? 0 : c + 1
                                        return v
                                    }
                                } else {
                                    FewBitKernels.encode(xp.baseAddress!, bias: b, columns: columns, column: column,
                                                         count: count, start: start, borders: border, bits: bits,
                                                         words: o.baseAddress!)
                                }
                            }
                        }
                    }
                }
                #expect(Array(out[first...]) == expected, "bits \(bits), bias \(withBias), portable \(portable)")
                #expect(out[..<first].allSatisfy { $0 == 0xDEAD_BEEF }, "words before the start are untouched")
            }
        }
    }

    @Test(arguments: 1...8)
    func decodeIsGradTimesTheLevelOfEachCode(bits: Int) {
        var rng = SplitMix(seed: UInt64(100 + bits))
        let total = 1100
        let codes = (0..<total).map { _ in UInt8(rng.next() % UInt64(1 << bits)) }
        let words = FewBitCodes.pack(codes, bits: bits)
        let levels = rng.floats(1 << bits)
        let grad = rng.floats(total)
        // From element 96 to a partial last run.
        let range = 96..<total
        for portable in [false, true] {
            var out = [Float](repeating: -7, count: total)
            levels.withUnsafeBufferPointer { l in
                words.withUnsafeBufferPointer { w in
                    grad.withUnsafeBufferPointer { g in
                        out.withUnsafeMutableBufferPointer { o in
                            if portable {
                                FewBitKernels.decodeScalar(range: range, levels: l, bits: bits, words: w.baseAddress!,
                                                           gradOut: g.baseAddress!, gradIn: o.baseAddress!)
                            } else {
                                FewBitKernels.decode(range: range, levels: l, bits: bits, words: w.baseAddress!,
                                                     gradOut: g.baseAddress!, gradIn: o.baseAddress!)
                            }
                        }
                    }
                }
            }
            let expected = range.map { grad[$0] * levels[Int(codes[$0])] }
            #expect(Array(out[range]) == expected, "bits \(bits), portable \(portable)")
            #expect(out[..<range.lowerBound].allSatisfy { $0 == -7 }, "elements before the range are untouched")
        }
    }
}
