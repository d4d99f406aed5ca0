import Foundation
import TestSupport
import Testing
import TensorEngine

/// `layerNorm` and `rmsNorm` on every device: values against a float64 reference (rows of
/// mean 1e4 + noise included), strided and rank-1 inputs, no weight/bias variants, gradients
/// of input, weight and bias against finite differences, what backward retains, and the
/// errors of bad arguments.
@Suite(.vulkanValidation) struct NormalizationTests {
    /// Float64 LayerNorm (centered) or RMSNorm over rows of `columns`.
    static func reference(_ x: [Float], columns: Int, weight: [Float]?, bias: [Float]?, epsilon: Float,
                          centered: Bool) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        let n = Double(columns)
        for start in stride(from: 0, to: x.count, by: columns) {
            let row = x[start..<(start + columns)].map(Double.init)
            let mean = centered ? row.reduce(0, +) / n : 0
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
            let rstd = 1 / (variance + Double(epsilon)).squareRoot()
            for c in 0..<columns {
                y[start + c] = (row[c] - mean) * rstd * Double(weight?[c] ?? 1) + Double(bias?[c] ?? 0)
            }
        }
        return y
    }

    static func values(_ count: Int, seed: UInt64, shift: Float = 0) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return rng.normalFloats(count).map { $0 + shift }
    }

    @Test(arguments: TestDevices.all)
    func valuesMatchFloat64(device: Device) throws {
        let shape = [2, 3, 37]
        for shift: Float in [0, 1e4] {
            let x = Self.values(222, seed: 1, shift: shift), w = Self.values(37, seed: 2), b = Self.values(37, seed: 3)
            let xt = try Tensor(x, shape: shape, on: device)
            let wt = try Tensor(w, shape: [37], on: device), bt = try Tensor(b, shape: [37], on: device)
            let cases: [(String, Tensor, [Double])] = [
                ("layerNorm", try layerNorm(xt, weight: wt, bias: bt, epsilon: 1e-5),
                 Self.reference(x, columns: 37, weight: w, bias: b, epsilon: 1e-5, centered: true)),
                ("layerNorm plain", try layerNorm(xt, weight: nil, bias: nil, epsilon: 1e-12),
                 Self.reference(x, columns: 37, weight: nil, bias: nil, epsilon: 1e-12, centered: true)),
                ("layerNorm bias only", try layerNorm(xt, weight: nil, bias: bt, epsilon: 1e-5),
                 Self.reference(x, columns: 37, weight: nil, bias: b, epsilon: 1e-5, centered: true)),
                ("rmsNorm", try rmsNorm(xt, weight: wt, epsilon: 1e-6),
                 Self.reference(x, columns: 37, weight: w, bias: nil, epsilon: 1e-6, centered: false)),
                ("rmsNorm plain", try rmsNorm(xt, weight: nil, epsilon: 1e-6),
                 Self.reference(x, columns: 37, weight: nil, bias: nil, epsilon: 1e-6, centered: false)),
            ]
            for (name, result, expected) in cases {
                #expect(result.shape == shape)
                let error = nmse(try result.toArray(), expected)
                #expect(error < 1e-10, "\(name) mean \(shift) on \(device.identifier): nmse \(error)")
            }
        }
    }

    /// A transposed view, a rank-1 input, a row of one column (all bias), empty inputs.
    @Test(arguments: TestDevices.all)
    func viewsRanksAndEdges(device: Device) throws {
        let x = Self.values(40, seed: 4)
        let view = try Tensor(x, shape: [8, 5], on: device).transposed()   // [5, 8], strided
        var transposed = [Float](repeating: 0, count: 40)
        for i in 0..<5 { for j in 0..<8 { transposed[i * 8 + j] = x[j * 5 + i] } }
        let viewError = nmse(try layerNorm(view, weight: nil, bias: nil, epsilon: 1e-5).toArray(),
                             Self.reference(transposed, columns: 8, weight: nil, bias: nil, epsilon: 1e-5, centered: true))
        #expect(viewError < 1e-10, "transposed view: nmse \(viewError)")
        let vector = try Tensor(Array(x[0..<9]), shape: [9], on: device)
        let vectorError = nmse(try rmsNorm(vector, weight: nil, epsilon: 1e-6).toArray(),
                               Self.reference(Array(x[0..<9]), columns: 9, weight: nil, bias: nil, epsilon: 1e-6, centered: false))
        #expect(vectorError < 1e-10, "rank 1: nmse \(vectorError)")
        let column = try Tensor([3, -1, 7], shape: [3, 1], on: device)
        let bias = try Tensor([0.5], shape: [1], on: device)
        #expect(try layerNorm(column, weight: nil, bias: bias, epsilon: 1e-5).toArray() == [0.5, 0.5, 0.5])
        #expect(try layerNorm(Tensor.zeros([0, 4], on: device), weight: nil, bias: nil, epsilon: 1e-5).shape == [0, 4])
        #expect(try rmsNorm(Tensor.zeros([3, 0], on: device), weight: nil, epsilon: 1e-5).shape == [3, 0])
    }

    /// Gradients of input, weight and bias against finite differences; the loss weighs each
    /// output differently (a plain sum of a LayerNorm's output has zero gradient).
    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: Device) throws {
        let mix = Self.values(64, seed: 5)
        func weighted(_ y: Tensor) throws -> Tensor {
            try (y * Tensor(Array(mix[0..<y.elementCount]), shape: y.shape, on: device)).sum()
        }
        try AutogradTests.check("layerNorm", on: device, shapes: [[5, 6], [6], [6]]) {
            try weighted(layerNorm($0[0], weight: $0[1], bias: $0[2], epsilon: 1e-5))
        }
        try AutogradTests.check("layerNorm plain", on: device, shapes: [[5, 6]]) {
            try weighted(layerNorm($0[0], weight: nil, bias: nil, epsilon: 1e-5))
        }
        try AutogradTests.check("rmsNorm", on: device, shapes: [[5, 6], [6]]) {
            try weighted(rmsNorm($0[0], weight: $0[1], epsilon: 1e-6))
        }
        // More columns: a short row's small norm makes the float finite difference itself inexact.
        try AutogradTests.check("rmsNorm plain", on: device, shapes: [[4, 16]]) {
            try weighted(rmsNorm($0[0], weight: nil, epsilon: 1e-6))
        }
        // A strided input's gradient comes back in the view's shape.
        try AutogradTests.check("layerNorm transposed", on: device, shapes: [[6, 5], [6]]) {
            try weighted(layerNorm($0[0].transposed(), weight: nil, bias: $0[1], epsilon: 1e-5))
        }
    }

    /// Backward keeps the contiguous input and the per-row statistics (mean and rstd for
    /// LayerNorm, rstd for RMSNorm), nothing else.
    @Test(arguments: TestDevices.all)
    func backwardRetainsInputAndStatistics(device: Device) throws {
        let x = try Tensor.randn([4, 16], seed: 6, on: device).requiringGrad()
        let w = try Tensor.ones([16], on: device)
        let layer = try layerNorm(x, weight: w, bias: nil, epsilon: 1e-5).retainedBytesByOp()
        #expect(layer["layerNorm input"] == 4 * 16 * 4)
        #expect(layer["layerNorm statistics"] == 2 * 4 * 4)
        let rms = try rmsNorm(x, weight: nil, epsilon: 1e-6).retainedBytesByOp()
        #expect(rms["rmsNorm input"] == 4 * 16 * 4)
        #expect(rms["rmsNorm statistics"] == 4 * 4)
        let g = try Tensor.ones([16], on: device).requiringGrad()
        try layerNorm(Tensor.randn([3, 16], seed: 7, on: device), weight: g, bias: nil, epsilon: 1e-5).sum().backward()
        #expect(g.grad?.shape == [16])
    }

    /// The weight's and bias's gradients are column sums over rows in a fixed order (no
    /// atomics): two backward passes give the same bits.
    @Test(arguments: TestDevices.all)
    func parameterGradientsAreDeterministic(device: Device) throws {
        let x = try Tensor.randn([300, 24], mean: 5, seed: 8, on: device)
        let dy = try Tensor.randn([300, 24], seed: 9, on: device)
        var seen: [[Float]] = []
        for _ in 0..<2 {
            let g = try Tensor.ones([24], on: device).requiringGrad(), b = try Tensor.zeros([24], on: device).requiringGrad()
            try layerNorm(x, weight: g, bias: b, epsilon: 1e-5).backward(dy)
            seen.append(try g.grad!.toArray() + b.grad!.toArray())
        }
        #expect(seen[0].map(\.bitPattern) == seen[1].map(\.bitPattern))
    }

    @Test(arguments: TestDevices.all)
    func badArgumentsThrow(device: Device) throws {
        let x = try Tensor.zeros([2, 3], on: device)
        let wrong = try Tensor.ones([2], on: device)
        #expect {
            _ = try layerNorm(x, weight: wrong, bias: nil, epsilon: 1e-5)
        } throws: { error in
            guard case let TensorError.shapeMismatch(_, lhs, rhs, _) = error else { return false }
            return lhs == [2, 3] && rhs == [2]
        }
        #expect(throws: TensorError.self) { _ = try layerNorm(x, weight: nil, bias: Tensor.ones([3, 1], on: device), epsilon: 1e-5) }
        #expect(throws: TensorError.self) { _ = try rmsNorm(x, weight: wrong, epsilon: 1e-6) }
        #expect(throws: TensorError.self) { _ = try rmsNorm(Tensor(scalar: 1, on: device), weight: nil, epsilon: 1e-6) }
        #expect(throws: TensorError.self) { _ = try layerNorm(x, weight: nil, bias: nil, epsilon: -1) }
        #expect(throws: TensorError.self) { _ = try layerNorm(x, weight: nil, bias: nil, epsilon: .nan) }
        let ints = try Tensor(int32: [1, 2, 3], shape: [3], on: device)
        #expect(throws: TensorError.self) { _ = try layerNorm(ints, weight: nil, bias: nil, epsilon: 1e-5) }
        #expect(throws: TensorError.self) { _ = try layerNorm(Tensor.ones([3], on: device), weight: ints, bias: nil, epsilon: 1e-5) }
        if device != .cpu {
            #expect(throws: TensorError.self) {
                _ = try layerNorm(x, weight: Tensor.ones([3], on: .cpu), bias: nil, epsilon: 1e-5)
            }
        }
    }
}
