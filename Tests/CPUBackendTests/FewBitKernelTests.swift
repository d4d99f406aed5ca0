@testable import CPUBackend
import TensorCore
import Testing

/// The few-bit encoder and decoder, vector (the active C-kernel path) and portable paths,
/// against the layout's host reference (`FewBitCodes.pack`) and codes counted directly from
/// the borders. KernelPathTests runs the same checks on every path the CPU runs.
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

    /// Encodes with the C kernel of `isa` (nil: the portable closure loop) and compares with the
    /// layout's reference, with and without a bias that wraps inside vectors and runs.
    static func checkEncode(bits: Int, isa: CPUISA?) {
        // 1000 values from element 64 of the stream: whole runs and a partial last run;
        // 37 columns starting at column 11, so bias rows wrap inside vectors and runs.
        let (count, start, columns, column) = (1000, 64, 37, 11)
        var (borders, x) = problem(bits: bits, count: count, seed: UInt64(bits))
        var rng = SplitMix(seed: 99)
        let bias = rng.floats(columns)
        while borders.count < (1 << bits) - 1 { borders.append(borders.last! + 1) }   // rare duplicate draws
        for withBias in [false, true] {
            let z = (0..<count).map { withBias ? x[$0] + bias[(column + $0) % columns] : x[$0] }
            let expected = FewBitCodes.pack(z.map { code($0, borders) }, bits: bits)
            let words = FewBitCodes.packedWordCount(count: count, bits: bits)
            let first = start / 32 * bits
            var out = [UInt32](repeating: 0xDEAD_BEEF, count: first + words)
            x.withUnsafeBufferPointer { xp in
                bias.withUnsafeBufferPointer { bp in
                    borders.withUnsafeBufferPointer { border in
                        out.withUnsafeMutableBufferPointer { o in
                            let b = withBias ? bp.baseAddress : nil
                            if let isa {
                                FewBitKernels.encode(xp.baseAddress!, bias: b, columns: columns, column: column,
                                                     count: count, start: start, borders: border, bits: bits,
                                                     words: o.baseAddress!, isa: isa)
                            } else {
                                var c = column
                                FewBitKernels.encode(count: count, start: start, borders: border, bits: bits,
                                                     words: o.baseAddress!) { i in
                                    let v = xp[i] + (b?[c] ?? 0)
                                    c = c + 1 == columns ? 0 : c + 1
                                    return v
                                }
                            }
                        }
                    }
                }
            }
            let path = isa.map { "\($0)" } ?? "portable closure"
            #expect(Array(out[first...]) == expected, "bits \(bits), bias \(withBias), \(path)")
            #expect(out[..<first].allSatisfy { $0 == 0xDEAD_BEEF }, "words before the start are untouched (\(path))")
        }
    }

    /// Decodes with the C kernel of `isa` (nil: the scalar loop) from element 96 to a partial
    /// last run and compares with grad * levels[code].
    static func checkDecode(bits: Int, isa: CPUISA?) {
        var rng = SplitMix(seed: UInt64(100 + bits))
        let total = 1100
        let codes = (0..<total).map { _ in UInt8(rng.next() % UInt64(1 << bits)) }
        let words = FewBitCodes.pack(codes, bits: bits)
        let levels = rng.floats(1 << bits)
        let grad = rng.floats(total)
        let range = 96..<total
        var out = [Float](repeating: -7, count: total)
        levels.withUnsafeBufferPointer { l in
            words.withUnsafeBufferPointer { w in
                grad.withUnsafeBufferPointer { g in
                    out.withUnsafeMutableBufferPointer { o in
                        if let isa {
                            FewBitKernels.decode(range: range, levels: l, bits: bits, words: w.baseAddress!,
                                                 gradOut: g.baseAddress!, gradIn: o.baseAddress!, isa: isa)
                        } else {
                            FewBitKernels.decodeScalar(range: range, levels: l, bits: bits, words: w.baseAddress!,
                                                       gradOut: g.baseAddress!, gradIn: o.baseAddress!)
                        }
                    }
                }
            }
        }
        let path = isa.map { "\($0)" } ?? "scalar loop"
        let expected = range.map { grad[$0] * levels[Int(codes[$0])] }
        #expect(Array(out[range]) == expected, "bits \(bits), \(path)")
        #expect(out[..<range.lowerBound].allSatisfy { $0 == -7 }, "elements before the range are untouched (\(path))")
    }

    @Test(arguments: 1...8)
    func encodeMatchesTheLayoutWithAndWithoutBias(bits: Int) {
        Self.checkEncode(bits: bits, isa: .active)
        Self.checkEncode(bits: bits, isa: nil)
    }

    @Test(arguments: 1...8)
    func decodeIsGradTimesTheLevelOfEachCode(bits: Int) {
        Self.checkDecode(bits: bits, isa: .active)
        Self.checkDecode(bits: bits, isa: nil)
    }
}
