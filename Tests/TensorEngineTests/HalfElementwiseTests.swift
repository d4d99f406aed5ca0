import Foundation
import TestSupport
import Testing
import TensorEngine

/// Tensor-scalar arithmetic, unary functions, sums and means, and the activation backward on
/// float16 and bfloat16 tensors, on every device: the result keeps the input's type (as
/// PyTorch's `x * 2.0`, `x.exp()`, `x.sum()` on half tensors), computed in float32 and rounded
/// once. References are float64 on the 16-bit inputs (exactly representable); each element
/// must lie within half an ulp of the result type at the result's magnitude plus the stated
/// float32 error of the op.
@Suite(.vulkanValidation) struct HalfElementwiseTests {
    static let eps32 = 0x1p-24
    static let types = [DType.float16, .bfloat16]

    static func expectWithin(_ result: Tensor, _ reference: [Double], slack: (Int) -> Double, type: DType,
                             _ what: String) throws {
        #expect(result.dtype == type, "\(what): dtype \(result.dtype)")
        let actual = try result.toArray()
        #expect(actual.count == reference.count)
        for (i, (got, want)) in zip(actual, reference).enumerated() {
            let bound = ReducedPrecisionTests.halfUlp(abs(want) + slack(i), type) + slack(i)
            if !(abs(Double(got) - want) <= bound) {
                Issue.record("\(what) element \(i): got \(got), expected \(want) within \(bound)")
                return
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func scalarArithmeticKeepsTheType(device: Device) throws {
        for type in Self.types {
            let x = try Tensor.randn([6, 11], std: 2, seed: 11, on: device).cast(to: type)
            let view = try x.transposed()                              // read in place
            let xv = try view.toArray().map(Double.init)
            // (what, result, scale, offset): float32 product and sum, each rounded once.
            let cases: [(String, Tensor, Double, Double)] = [
                ("x * 3", try view * 3, 3, 0), ("x + 1", try view + 1, 1, 1), ("-x", try -view, -1, 0),
                ("x / 4", try view / 4, 0.25, 0), ("0.5 * x - 2", try 0.5 * view - 2, 0.5, -2),
                ("scaleShift", try scaleShift(view, scale: -1.5, offset: 0.25), -1.5, 0.25),
            ]
            for (what, result, scale, offset) in cases {
                #expect(result.shape == [11, 6])
                let reference = xv.map { $0 * scale + offset }
                try Self.expectWithin(result, reference, slack: { Self.eps32 * (abs(xv[$0] * scale) + 2 * abs(reference[$0])) },
                                      type: type, "\(type) \(what) on \(device)")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func unaryFunctionsKeepTheType(device: Device) throws {
        for type in Self.types {
            let x = try Tensor.randn([5, 9], seed: 12, on: device).cast(to: type)
            let view = try x.transposed()
            let xv = try view.toArray().map(Double.init)
            let positive = try view.abs() + 0.0625                     // 16-bit all the way
            let pv = try positive.toArray().map(Double.init)
            // Float32 exp, log and sqrt are within a few ulps (2^-19 relative, 2^-21 absolute for log near 1).
            let slack = { (r: Double) in 0x1p-19 * abs(r) + 0x1p-21 }
            let exp = xv.map { Foundation.exp($0) }, log = pv.map { Foundation.log($0) }, sqrt = pv.map { $0.squareRoot() }
            try Self.expectWithin(view.exp(), exp, slack: { slack(exp[$0]) }, type: type, "\(type) exp on \(device)")
            try Self.expectWithin(positive.log(), log, slack: { slack(log[$0]) }, type: type, "\(type) log on \(device)")
            try Self.expectWithin(positive.sqrt(), sqrt, slack: { slack(sqrt[$0]) }, type: type, "\(type) sqrt on \(device)")
            try Self.expectWithin(view.abs(), xv.map(abs), slack: { _ in 0 }, type: type, "\(type) abs on \(device)")
        }
    }

    @Test(arguments: TestDevices.all)
    func sumsAndMeansKeepTheType(device: Device) throws {
        let (rows, columns) = (7, 40)
        for type in Self.types {
            let x = try Tensor.randn([rows, columns], seed: 13, on: device).cast(to: type)
            let xv = try x.toArray().map(Double.init)
            func value(_ r: Int, _ c: Int) -> Double { xv[r * columns + c] }
            // A float32 sum of n terms is within (n - 1) eps32 sum |x| of the exact one.
            let rowSums = (0..<rows).map { r in (0..<columns).reduce(0.0) { $0 + value(r, $1) } }
            let rowMagnitudes = (0..<rows).map { r in (0..<columns).reduce(0.0) { $0 + abs(value(r, $1)) } }
            try Self.expectWithin(x.sum(axis: 1), rowSums, slack: { Double(columns) * Self.eps32 * rowMagnitudes[$0] },
                                  type: type, "\(type) row sums on \(device)")
            let columnMeans = (0..<columns).map { c in (0..<rows).reduce(0.0) { $0 + value($1, c) } / Double(rows) }
            let columnMagnitudes = (0..<columns).map { c in (0..<rows).reduce(0.0) { $0 + abs(value($1, c)) } / Double(rows) }
            let means = try x.transposed().mean(axis: 1, keepDims: true)  // a transposed view, read in place
            #expect(means.shape == [columns, 1])
            try Self.expectWithin(means, columnMeans, slack: { Double(rows + 1) * Self.eps32 * columnMagnitudes[$0] },
                                  type: type, "\(type) column means on \(device)")
            let total = xv.reduce(0, +), magnitude = xv.reduce(0) { $0 + abs($1) }
            let sum = try x.sum()
            #expect(sum.shape == [])
            try Self.expectWithin(sum, [total], slack: { _ in Double(rows * columns) * Self.eps32 * magnitude },
                                  type: type, "\(type) total on \(device)")
            // An empty axis: sum 0 and mean NaN, in the input's type.
            let empty = try Tensor.zeros([3, 0], on: device).cast(to: type)
            let emptySum = try empty.sum(axis: 1), emptyMean = try empty.mean(axis: 1)
            let (emptySums, emptyMeans) = (try emptySum.toArray(), try emptyMean.toArray())
            #expect(emptySum.dtype == type && emptySums == [0, 0, 0])
            #expect(emptyMean.dtype == type && emptyMeans.count == 3 && emptyMeans.allSatisfy(\.isNaN))
        }
    }

    @Test(arguments: TestDevices.all)
    func gradientsFlowThroughHalfScalarUnaryAndSum(device: Device) throws {
        for type in Self.types {
            // d/dx sum(exp(x / 2)) = exp(x / 2) / 2: x / 2 is exact, the float32 gradient is rounded once.
            let x = try Tensor.randn([4, 8], seed: 14, on: device).cast(to: type).requiringGrad()
            let xv = try x.toArray().map(Double.init)
            try (x * 0.5).exp().sum().backward()
            let expected = xv.map { Foundation.exp($0 / 2) / 2 }
            try Self.expectWithin(try #require(x.grad), expected, slack: { 0x1p-19 * expected[$0] },
                                  type: type, "\(type) gradient of sum(exp(x / 2)) on \(device)")
            // d/dx sum_r mean_c sqrt(p) = 1 / (8 * 2 sqrt(p)) over 8 columns.
            let p = try (Tensor.randn([4, 8], seed: 15, on: device).abs() + 0.25).cast(to: type).requiringGrad()
            let pv = try p.toArray().map(Double.init)
            try p.sqrt().mean(axis: 1).sum().backward()
            let slopes = pv.map { 1 / (16 * $0.squareRoot()) }
            try Self.expectWithin(try #require(p.grad), slopes, slack: { 0x1p-19 * slopes[$0] },
                                  type: type, "\(type) gradient of sum(mean(sqrt(p))) on \(device)")
        }
    }

    @Test(arguments: TestDevices.all)
    func activationBackwardOnHalves(device: Device) throws {
        for type in Self.types {
            let x = try Tensor.randn([3, 43], std: 2, seed: 16, on: device).cast(to: type)
            let g = try Tensor.randn([3, 43], seed: 17, on: device).cast(to: type)
            let xv = try x.toArray().map(Double.init), gv = try g.toArray().map(Double.init)
            for activation in [Activation.gelu, .silu, .tanh, .relu] {
                let slopes = xv.map { Reference.derivative(activation, $0) }
                let expected = (0..<xv.count).map { gv[$0] * slopes[$0] }
                // The float32 derivative within a few ulps of the slope, plus an absolute 2e-7 where
                // it crosses 0 (the central difference is within 1e-10).
                try Self.expectWithin(activationBackward(activation, input: x, gradOutput: g), expected,
                                      slack: { 2e-6 * abs(gv[$0]) * (abs(slopes[$0]) + 0.1) }, type: type,
                                      "\(type) \(activation) backward on \(device)")
            }
            let mixed = try activationBackward(.gelu, input: x, gradOutput: g.cast(to: .float32))
            #expect(mixed.dtype == .float32)                           // differing types: float32
        }
    }

    @Test(arguments: TestDevices.all)
    func comparisonsSelectionsAndDropoutOnHalves(device: Device) throws {
        let (rows, columns) = (5, 9)
        for type in Self.types {
            let x = try Tensor.randn([rows, columns], seed: 18, on: device).cast(to: type)
            let y = try Tensor.randn([rows, columns], seed: 19, on: device).cast(to: type)
            let xv = try x.toArray(), yv = try y.toArray()
            let mask = try x .< y
            #expect(mask.dtype == .float32)                            // a mask is float32 whatever the operands
            #expect(try mask.toArray() == zip(xv, yv).map { $0 < $1 ? 1 : 0 })
            #expect(try (x .> 0.5).toArray() == xv.map { $0 > 0.5 ? 1 : 0 })
            let chosen = try `where`(mask, x, y)
            #expect(chosen.dtype == type)
            #expect(try chosen.toArray() == zip(xv, yv).map { Swift.min($0, $1) })
            let (maxima, positions) = try x.reduceWithIndex(.max, axis: 1)
            let rowsOf = (0..<rows).map { Array(xv[($0 * columns)..<(($0 + 1) * columns)]) }
            #expect(maxima.dtype == type)
            #expect(try maxima.toArray() == rowsOf.map { $0.max()! })
            #expect(try positions.toInt32Array() == rowsOf.map { Int32($0.firstIndex(of: $0.max()!)!) })
            let minima = try x.min(axis: 0)
            #expect(minima.dtype == type)
            #expect(try minima.toArray() == (0..<columns).map { c in rowsOf.map { $0[c] }.min()! })
            let (top, _) = try topK(x, k: 3)
            #expect(top.dtype == type)
            #expect(try top.toArray() == rowsOf.flatMap { $0.sorted(by: >).prefix(3) })
            // p = 0.5: kept elements are scaled by exactly 2.
            let dropped = try dropout(x, probability: 0.5, seed: 77)
            #expect(dropped.dtype == type)
            let expected = xv.indices.map { Philox4x32.dropoutUniform(seed: 77, index: UInt64($0)) < 0.5 ? 0 : 2 * xv[$0] }
            #expect(try dropped.toArray() == expected)
        }
    }

    @Test(arguments: TestDevices.all)
    func gradientsFlowThroughHalfSelections(device: Device) throws {
        for type in Self.types {
            // max's gradient lands on each row's maximum; where's on the chosen operand.
            let x = try Tensor([1, 7, 3, 2, -4, 5], shape: [2, 3], on: device).cast(to: type).requiringGrad()
            try x.max(axis: 1).sum().backward()
            let grad = try #require(x.grad)
            #expect(grad.dtype == type)
            #expect(try grad.toArray() == [0, 1, 0, 0, 0, 1])
            let a = try Tensor([1, 2, 3], shape: [3], on: device).cast(to: type).requiringGrad()
            let mask = try Tensor([1, 0, 1], shape: [3], on: device)
            try (`where`(mask, a, 0) * 3).sum().backward()
            #expect(try #require(a.grad).toArray() == [3, 0, 3])
        }
    }

    @Test(arguments: TestDevices.all)
    func sgdAndGradientClippingOnHalfParameters(device: Device) throws {
        for type in Self.types {
            // SGD: p - lr * g with lr * g and the difference exact in both types.
            let p = try Tensor([1, -2, 0.5, 3], shape: [4], on: device).cast(to: type).requiringGrad()
            try (p * 3).sum().backward()
            try SGD(parameters: [p], learningRate: 0.25).step()
            #expect(p.dtype == type)
            #expect(try p.toArray() == [0.25, -2.75, -0.25, 2.25])
            // A global norm of 600: each square (90000) is past float16's range, the norm is not.
            let q = try Tensor.ones([4], on: device).cast(to: type).requiringGrad()
            try (q * 300).sum().backward()
            let norm = try clipGradientNorm([q], maxNorm: 1)
            #expect(abs(Double(norm) - 600) <= 600 * 0x1p-20, "\(type) norm \(norm) on \(device)")
            let clipped = try #require(q.grad)
            #expect(clipped.dtype == type)
            // 300 / 600 rounded once to the type (1e-6 in the factor's denominator is far below it).
            #expect(try clipped.toArray() == [0.5, 0.5, 0.5, 0.5])
        }
    }

    @Test(arguments: TestDevices.all)
    func activationGradientsStayHalf(device: Device) throws {
        let count = 40
        for type in Self.types {
            for activation in [Activation.gelu, .silu, .tanh] {
                let x = try Tensor.randn([count], std: 2, seed: 20, on: device).cast(to: type).requiringGrad()
                let y = try activate(x, activation)
                // The graph keeps the 16-bit input itself, not a float32 copy.
                #expect(y.retainedBytesByOp()["activate \(activation)"] == count * type.byteSize)
                try (y * 0.5).sum().backward()                         // gradOutput 0.5, exact
                let xv = try x.toArray().map(Double.init)
                let slopes = xv.map { Reference.derivative(activation, $0) }
                // As activationBackwardOnHalves: 2e-6 |gradOutput| (|f'| + 0.1) of float32 error.
                try Self.expectWithin(try #require(x.grad), slopes.map { 0.5 * $0 },
                                      slack: { 2e-6 * 0.5 * (abs(slopes[$0]) + 0.1) },
                                      type: type, "\(type) \(activation) gradient on \(device)")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func scalarsTakeTheTensorsType(device: Device) throws {
        for type in Self.types {
            // 0.1 is not representable: the tensor holds 0.1 rounded to its type, and so does
            // the scalar it is compared with (as PyTorch: `half_tensor == 0.1` is true there).
            let x = try Tensor([0.1, 0.2, -1], shape: [3], on: device).cast(to: type)
            #expect(try (x .== 0.1).toArray() == [1, 0, 0])
            #expect(try (0.1 .< x).toArray() == [0, 1, 0])
            let kept = try `where`(x .> 0, x, 0)
            #expect(kept.dtype == type)
            let xv = try x.toArray()
            #expect(try kept.toArray() == [xv[0], xv[1], 0])
            let filled = try `where`(x .> 0, 0.5, x)
            #expect(filled.dtype == type)
            #expect(try filled.toArray() == [0.5, 0.5, xv[2]])
        }
    }

    @Test(arguments: TestDevices.all)
    func crossEntropyOnHalfLogits(device: Device) throws {
        let (batch, classes) = (6, 5)
        let labelValues: [Int32] = [0, 4, 2, -100, 1, 3]                 // one row ignored
        let labels = try Tensor(int32: labelValues, shape: [batch], on: device)
        for type in Self.types {
            let logits = try Tensor.randn([batch, classes], std: 2, seed: 21, on: device).cast(to: type).requiringGrad()
            let lv = try logits.toArray().map(Double.init)
            let loss = try softmaxCrossEntropy(logits: logits, labels: labels)
            #expect(loss.dtype == type && loss.shape == [])
            // float64: mean over the counted rows of logsumexp(row) - row[label], and its
            // gradient (softmax - onehot) / counted.
            let counted = Double(labelValues.filter { $0 != -100 }.count)
            var expectedLoss = 0.0
            var expectedGrad = [Double](repeating: 0, count: batch * classes)
            for r in 0..<batch where labelValues[r] != -100 {
                let row = Array(lv[(r * classes)..<((r + 1) * classes)])
                let top = row.max()!
                let sum = row.reduce(0) { $0 + Foundation.exp($1 - top) }
                expectedLoss += (top + Foundation.log(sum) - row[Int(labelValues[r])]) / counted
                for c in 0..<classes {
                    let p = Foundation.exp(row[c] - top) / sum
                    expectedGrad[r * classes + c] = (p - (c == Int(labelValues[r]) ? 1 : 0)) / counted
                }
            }
            // float32 log-softmax and mean: a few ulps of the terms (2^-20 of |loss| + 2^-20).
            try Self.expectWithin(loss, [expectedLoss], slack: { _ in 0x1p-20 * (abs(expectedLoss) + 1) },
                                  type: type, "\(type) cross-entropy on \(device)")
            try loss.backward()
            try Self.expectWithin(try #require(logits.grad), expectedGrad, slack: { _ in 0x1p-22 },
                                  type: type, "\(type) cross-entropy gradient on \(device)")
        }
    }

    @Test(arguments: TestDevices.all)
    func poolingAndNormalizingKeepTheType(device: Device) throws {
        let (batch, length, features) = (2, 3, 4)
        let maskValues: [Float] = [1, 1, 0, 1, 0, 0]
        let mask = try Tensor(maskValues, shape: [batch, length], on: device)
        for type in Self.types {
            let x = try Tensor.randn([batch, length, features], seed: 22, on: device).cast(to: type)
            let xv = try x.toArray().map(Double.init)
            func value(_ b: Int, _ t: Int, _ f: Int) -> Double { xv[(b * length + t) * features + f] }
            var pooled: [Double] = [], magnitudes: [Double] = []
            for b in 0..<batch {
                let kept = (0..<length).filter { maskValues[b * length + $0] != 0 }
                for f in 0..<features {
                    pooled.append(kept.reduce(0.0) { $0 + value(b, $1, f) } / Double(kept.count))
                    magnitudes.append(kept.reduce(0.0) { $0 + abs(value(b, $1, f)) } / Double(kept.count))
                }
            }
            // float32 sum of at most 3 terms and a division: 4 eps32 of the magnitudes.
            try Self.expectWithin(meanPool(x, mask: mask), pooled, slack: { 4 * Self.eps32 * magnitudes[$0] },
                                  type: type, "\(type) meanPool on \(device)")
            var unit: [Double] = []
            for row in 0..<(batch * length) {
                let v = Array(xv[(row * features)..<((row + 1) * features)])
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                unit += v.map { $0 / norm }
            }
            // float32 squares, sum, square root and division: 8 eps32 of each |unit| <= 1.
            try Self.expectWithin(l2Normalize(x), unit, slack: { _ in 8 * Self.eps32 }, type: type,
                                  "\(type) l2Normalize on \(device)")
        }
    }
}
