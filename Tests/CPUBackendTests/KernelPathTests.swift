@testable import CPUBackend
import CPUKernels
import TensorCore
import Testing

/// Every C-kernel path (``CPUISA``, what `TENSOR_CPU_ISA` forces) against the float64
/// references: activations forward, backward and the matmul epilogue, the sparse row gather,
/// the gathered GEMM and the few-bit codes. A path this CPU cannot run is skipped, and the
/// skip says what the CPU lacks.
@Suite("Kernel paths (TENSOR_CPU_ISA)")
struct KernelPathTests {
    static let noAVX512 = Comment(rawValue: CPUISA.avx512.unsupportedReason ?? "")
    static let noAVX2 = Comment(rawValue: CPUISA.avx2.unsupportedReason ?? "")

    @Test("AVX-512: activations forward, backward and epilogue", .enabled(if: CPUISA.avx512.isSupported, noAVX512),
          arguments: Activation.allCases)
    func activationsAVX512(_ activation: Activation) throws { try Self.checkActivation(activation, isa: .avx512) }

    @Test("AVX2: activations forward, backward and epilogue", .enabled(if: CPUISA.avx2.isSupported, noAVX2),
          arguments: Activation.allCases)
    func activationsAVX2(_ activation: Activation) throws { try Self.checkActivation(activation, isa: .avx2) }

    @Test("portable: activations forward, backward and epilogue", arguments: Activation.allCases)
    func activationsPortable(_ activation: Activation) throws { try Self.checkActivation(activation, isa: .portable) }

    @Test("AVX-512: gathers and few-bit codes", .enabled(if: CPUISA.avx512.isSupported, noAVX512))
    func gathersAVX512() { Self.checkGathersAndCodes(isa: .avx512) }

    @Test("AVX2: gathers and few-bit codes", .enabled(if: CPUISA.avx2.isSupported, noAVX2))
    func gathersAVX2() { Self.checkGathersAndCodes(isa: .avx2) }

    @Test("portable: gathers and few-bit codes")
    func gathersPortable() { Self.checkGathersAndCodes(isa: .portable) }

    /// Mesa's 8-bit codes of one row on every path this CPU runs, against float64: the scale
    /// is max|x| times the float32 nearest 1/127, each code roundEven(x / scale) clamped to
    /// +-127 (either neighbour where the float64 quotient is within 1e-4 of a half-integer: the
    /// kernel divides in float32), an all-zero group all zeros, a short last group.
    @Test("every path: 8-bit group quantisation")
    func groupQuantization() {
        let (columns, groupSize) = (64 * 3 + 29, 64)
        var rng = SplitMix(seed: 5)
        var x = (0..<columns).map { _ in Float(rng.next() % 20001) / 1000 - 10 }
        for j in 64..<128 { x[j] = 0 }                                  // an all-zero group
        x[130] = 63.5; x[131] = -63.5; x[132] = 127                      // half-way and extreme codes
        let groups = (columns + groupSize - 1) / groupSize
        for isa in CPUISA.allCases where isa.isSupported {
            var codes = [Int8](repeating: 99, count: columns), scales = [Float](repeating: -1, count: groups)
            te_group_quantize_row(isa.rawValue, x, columns, groupSize, GroupQuantization.scaleFactor, &codes, &scales)
            for g in 0..<groups {
                let members = (g * groupSize)..<min(columns, (g + 1) * groupSize)
                let largest = members.map { Swift.abs(Double(x[$0])) }.max() ?? 0
                let scale = Double(Float(largest) * GroupQuantization.scaleFactor)
                #expect(Double(scales[g]) == scale, "\(isa) group \(g): scale \(scales[g]), expected \(scale)")
                for j in members {
                    let quotient = scale > 0 ? Double(x[j]) / scale : 0
                    let code = Swift.min(127, Swift.max(-127, quotient.rounded(.toNearestOrEven)))
                    let nearTie = Swift.abs(Swift.abs(quotient - quotient.rounded(.down)) - 0.5) < 1e-4
                    let accepted = nearTie ? [quotient.rounded(.down), quotient.rounded(.up)].map { Swift.min(127, Swift.max(-127, $0)) } : [code]
                    #expect(accepted.contains(Double(codes[j])), "\(isa) x[\(j)] = \(x[j]): code \(codes[j]), expected \(accepted)")
                }
            }
        }
    }

    @Test("TENSOR_CPU_ISA values: the named path where supported, else the best one below it")
    func selection() {
        #expect(CPUISA.resolve(nil).isa == CPUISA.best)
        #expect(CPUISA.resolve("").isa == CPUISA.best)
        #expect(CPUISA.resolve("portable").isa == .portable)
        let bogus = CPUISA.resolve("sse9")
        #expect(bogus.isa == CPUISA.best && bogus.reason.contains("not one of"))
        for isa in CPUISA.allCases {
            let chosen = CPUISA.resolve(isa.description.uppercased())
            if isa.isSupported {
                #expect(chosen.isa == isa && chosen.reason.contains("forced"))
            } else {
                #expect(chosen.isa < isa && chosen.isa.isSupported && chosen.reason.contains("but"))
            }
        }
        #expect(CPUISA.portable.isSupported)
        #expect(CPUISA.best.isSupported && CPUISA.active.isSupported)
        // The Swift cases are the C header's constants.
        #expect([CPUISA.portable, .avx2, .avx512].map { Int($0.rawValue) }
                == [Int(TE_ISA_PORTABLE), Int(TE_ISA_AVX2), Int(TE_ISA_AVX512)])
        #expect(te_cpu_isa_supported(7) == 0)
    }

    // MARK: - Checks

    /// Forward, backward and the epilogue (bias, pre-activation) of `activation` on `isa`, from
    /// element 3 of the inputs (unaligned start, partial last vector), within 8 conditioned
    /// roundoffs of the float64 definitions, as ActivationTests asks of the device.
    static func checkActivation(_ activation: Activation, isa: CPUISA) throws {
        let xs = activationInputs()
        var rng = SplitMix(seed: 9)
        let grads = rng.floats(xs.count)
        let range = 3..<xs.count
        let n = range.count
        var ys = [Float](repeating: .nan, count: xs.count), ds = ys
        xs.withUnsafeBufferPointer { x in
            grads.withUnsafeBufferPointer { g in
                ys.withUnsafeMutableBufferPointer { y in
                    ActivationKernels.forward(activation, x.baseAddress!, y.baseAddress!, range: range, isa: isa)
                }
                ds.withUnsafeMutableBufferPointer { d in
                    ActivationKernels.backward(activation, x.baseAddress!, g.baseAddress!, d.baseAddress!,
                                               range: range, isa: isa)
                }
            }
        }
        #expect(ys[..<3].allSatisfy(\.isNaN) && ds[..<3].allSatisfy(\.isNaN), "\(isa): elements before the range untouched")
        let x = Array(xs[range]), g = Array(grads[range])
        let (worst, at) = conditionedError(Array(ys[range]), xs: x) { ReferenceActivation.forward(activation, $0) }
        #expect(worst < 8, "\(isa) \(activation): error \(worst) roundoffs (conditioned) at x = \(at)")
        #expect(nmse(Array(ys[range]), x.map { ReferenceActivation.forward(activation, Double($0)) }) < 1e-13)
        let (dWorst, dAt) = conditionedError(Array(ds[range]), xs: x, scale: g) {
            ReferenceActivation.derivative(activation, $0)
        }
        #expect(dWorst < 8, "\(isa) \(activation)': error \(dWorst) roundoffs (conditioned) at x = \(dAt)")
        let dRef = zip(x, g).map { Double($1) * ReferenceActivation.derivative(activation, Double($0)) }
        #expect(nmse(Array(ds[range]), dRef) < 1e-13)

        // Epilogue: v = row + bias (float), pre = v exactly, row = f(v).
        let bias = rng.floats(n, scale: 0.5)
        var row = x, pre = [Float](repeating: .nan, count: n)
        bias.withUnsafeBufferPointer { b in
            pre.withUnsafeMutableBufferPointer { p in
                row.withUnsafeMutableBufferPointer { r in
                    ActivationKernels.epilogueRow(activation, bias: b.baseAddress, pre: p.baseAddress, row: r.baseAddress!,
                                                  count: n, isa: isa)
                }
            }
        }
        let v = zip(x, bias).map { $0 + $1 }
        #expect(pre == v, "\(isa) \(activation): epilogue pre-activation is row + bias")
        let (eWorst, eAt) = conditionedError(row, xs: v) { ReferenceActivation.forward(activation, $0) }
        #expect(eWorst < 8, "\(isa) \(activation) epilogue: error \(eWorst) roundoffs (conditioned) at v = \(eAt)")
    }

    static func checkGathersAndCodes(isa: CPUISA) {
        checkGatherRow(isa: isa)
        for batch in [2, 11] { checkGatheredProduct(isa: isa, batch: batch) }
        for bits in 1...8 {
            FewBitKernelTests.checkEncode(bits: bits, isa: isa)
            FewBitKernelTests.checkDecode(bits: bits, isa: isa)
        }
    }

    /// |y - ref| within (terms + 2) roundoffs of sum |terms| (float accumulation of `terms` products).
    static func close(_ y: Float, _ ref: Double, magnitude: Double, terms: Int) -> Bool {
        abs(Double(y) - ref) <= Double(terms + 2) * Double(Float.ulpOfOne) * magnitude + 1e-30
    }

    /// One row's sparse product over columns 5..<75 of a row stride of 80 (partial vectors at
    /// both ends), 29 listed rows (three blocks of eight and a rest), against float64.
    static func checkGatherRow(isa: CPUISA) {
        let (ldw, rows, count, columns) = (80, 300, 29, 5..<75)
        var rng = SplitMix(seed: 41)
        let w = rng.floats(ldw * rows)
        let indices = (0..<count).map { _ in Int32(rng.next() % UInt64(rows)) }
        let values = rng.floats(count)
        var y = [Float](repeating: -7, count: ldw)
        w.withUnsafeBufferPointer { wp in
            indices.withUnsafeBufferPointer { ip in
                values.withUnsafeBufferPointer { vp in
                    y.withUnsafeMutableBufferPointer { yp in
                        SparseKernels.gatherRow(w: wp.baseAddress!, ldw: ldw, indices: ip.baseAddress!,
                                                values: vp.baseAddress!, count: count, y: yp.baseAddress!,
                                                columns: columns, isa: isa)
                    }
                }
            }
        }
        for c in 0..<ldw {
            guard columns.contains(c) else {
                #expect(y[c] == -7, "\(isa) gather row: column \(c) outside the range untouched")
                continue
            }
            let terms = (0..<count).map { Double(values[$0]) * Double(w[Int(indices[$0]) * ldw + c]) }
            let ref = terms.reduce(0, +), magnitude = terms.reduce(0) { $0 + abs($1) }
            #expect(close(y[c], ref, magnitude: magnitude, terms: count), "\(isa) gather row: column \(c): \(y[c]) vs \(ref)")
        }
    }

    /// The gathered GEMM for `batch` rows over 300 listed rows (two panels deep) and columns
    /// 3..<300 (two panels wide, partial tiles), distinct row strides, against float64.
    static func checkGatheredProduct(isa: CPUISA, batch: Int) {
        let (ldw, wRows, count, ldx, ldy, columns) = (310, 400, 300, 301, 305, 3..<300)
        var rng = SplitMix(seed: UInt64(50 + batch))
        let w = rng.floats(ldw * wRows)
        let indices = (0..<count).map { _ in Int32(rng.next() % UInt64(wRows)) }
        var xs = rng.floats(ldx * batch)
        for i in stride(from: 0, to: xs.count, by: 5) { xs[i] = 0 }   // zeros the portable loop skips
        var y = [Float](repeating: -7, count: ldy * batch)
        w.withUnsafeBufferPointer { wp in
            indices.withUnsafeBufferPointer { ip in
                xs.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        SparseKernels.gatheredProduct(w: wp.baseAddress!, ldw: ldw, indices: ip.baseAddress!, count: count,
                                                      xs: xp.baseAddress!, ldx: ldx, batch: batch, y: yp.baseAddress!,
                                                      ldy: ldy, columns: columns, isa: isa)
                    }
                }
            }
        }
        var bad = 0
        for b in 0..<batch {
            for c in 0..<ldy {
                let got = y[b * ldy + c]
                guard columns.contains(c) else {
                    if got != -7 { bad += 1 }
                    continue
                }
                var ref = 0.0, magnitude = 0.0
                for i in 0..<count {
                    let t = Double(xs[b * ldx + i]) * Double(w[Int(indices[i]) * ldw + c])
                    ref += t
                    magnitude += abs(t)
                }
                if !close(got, ref, magnitude: magnitude, terms: count) { bad += 1 }
            }
        }
        #expect(bad == 0, "\(isa) gathered GEMM, batch \(batch): \(bad) wrong elements")
    }
}
