import Foundation
import TestSupport
import Testing
import TensorEngine

/// LayerNorm, RMSNorm and softmax on float16 and bfloat16 tensors, on every device: the
/// result keeps the input's type, computed in float32 and rounded once (Vulkan with 16-bit
/// storage: the kernels' 16-bit variants; the CPU: casts around the float32 kernels). The
/// float64 references are computed from the 16-bit inputs as stored (exact in float64); each
/// element must lie within half an ulp of the result type at its magnitude plus the float32
/// slack of the op (see TransformerStorageConformance for where the slacks come from).
@Suite(.vulkanValidation) struct ReducedPrecisionTransformerTests {
    static let eps32 = 0x1p-24

    /// Float64 LayerNorm (`bias` given) or RMSNorm of `x` [rows, columns], and each element's
    /// float32 slack (columns + 16) eps32 ((1 + |xh|) |w| + |b|).
    static func norm(_ x: [Double], columns: Int, weight: [Double], bias: [Double]?,
                     epsilon: Double) -> (values: [Double], slack: [Double]) {
        var values: [Double] = [], slack: [Double] = []
        for start in stride(from: 0, to: x.count, by: columns) {
            let row = x[start..<(start + columns)]
            let mean = bias == nil ? 0 : row.reduce(0, +) / Double(columns)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(columns)
            let rstd = 1 / (variance + epsilon).squareRoot()
            for (c, value) in row.enumerated() {
                let xh = (value - mean) * rstd
                values.append(xh * weight[c] + (bias?[c] ?? 0))
                slack.append(Double(columns + 16) * eps32 * ((1 + abs(xh)) * abs(weight[c]) + abs(bias?[c] ?? 0)))
            }
        }
        return (values, slack)
    }

    @Test(arguments: TestDevices.all)
    func normsOnHalvesKeepTheirType(device: Device) throws {
        let columns = 37
        let weight = try Tensor.randn([columns], seed: 11, on: device)
        let bias = try Tensor.randn([columns], seed: 12, on: device)
        let wv = try weight.toArray().map(Double.init), bv = try bias.toArray().map(Double.init)
        for type in [DType.float16, .bfloat16] {
            // Rows offset by 10: the mean is far from 0 in 16 bits too.
            let x = try (Tensor.randn([3, 5, columns], std: 2, seed: 13, on: device) + 10).cast(to: type)
            let xv = try x.toArray().map(Double.init)
            let layer = try layerNorm(x, weight: weight, bias: bias, epsilon: 1e-5)
            #expect(layer.dtype == type && layer.shape == x.shape)
            let expectedLayer = Self.norm(xv, columns: columns, weight: wv, bias: bv, epsilon: 1e-5)
            ReducedPrecisionTests.expectWithin(try layer.toArray(), expectedLayer.values, slack: expectedLayer.slack,
                                               type: type, "\(type) layerNorm on \(device)")
            let rms = try rmsNorm(x, weight: weight, epsilon: 1e-6)
            #expect(rms.dtype == type && rms.shape == x.shape)
            let expectedRMS = Self.norm(xv, columns: columns, weight: wv, bias: nil, epsilon: 1e-6)
            ReducedPrecisionTests.expectWithin(try rms.toArray(), expectedRMS.values, slack: expectedRMS.slack,
                                               type: type, "\(type) rmsNorm on \(device)")
        }
    }

    @Test(arguments: TestDevices.all)
    func normOfAHalfViewAndHalfParameters(device: Device) throws {
        // A transposed 16-bit view is made contiguous first; 16-bit weight and bias are used as float32.
        let type = DType.bfloat16
        let x = try Tensor.randn([24, 6], seed: 14, on: device).cast(to: type).transposed()   // [6, 24]
        let weight = try Tensor.randn([24], seed: 15, on: device).cast(to: .float16)
        let bias = try Tensor.randn([24], seed: 16, on: device).cast(to: .float16)
        let y = try layerNorm(x, weight: weight, bias: bias, epsilon: 1e-5)
        #expect(y.dtype == type && y.shape == [6, 24])
        let expected = Self.norm(try x.toArray().map(Double.init), columns: 24,
                                 weight: try weight.toArray().map(Double.init), bias: try bias.toArray().map(Double.init),
                                 epsilon: 1e-5)
        ReducedPrecisionTests.expectWithin(try y.toArray(), expected.values, slack: expected.slack, type: type,
                                           "bfloat16 view layerNorm on \(device)")
    }

    @Test(arguments: TestDevices.all)
    func normModulesOnHalvesWithGradients(device: Device) throws {
        // Modules' parameters require gradients, so the graph runs in float32 between casts:
        // the same values, and the input's gradient is the float32 one cast to its type.
        let columns = 20
        let norm = try LayerNorm(columns, on: device), rms = try RMSNorm(columns, on: device)
        for type in [DType.float16, .bfloat16] {
            let stored = try Tensor.randn([4, columns], std: 3, seed: 17, on: device).cast(to: type)
            let xv = try stored.toArray().map(Double.init)
            let ones = [Double](repeating: 1, count: columns), zeros = [Double](repeating: 0, count: columns)
            for (name, module, bias) in [("LayerNorm", norm as any Layer, Optional(zeros)), ("RMSNorm", rms as any Layer, nil)] {
                let x = stored.requiringGrad()
                let y = try module(x)
                #expect(y.dtype == type)
                let epsilon = bias == nil ? 1e-6 : 1e-5
                let expected = Self.norm(xv, columns: columns, weight: ones, bias: bias, epsilon: epsilon)
                ReducedPrecisionTests.expectWithin(try y.toArray(), expected.values, slack: expected.slack, type: type,
                                                   "\(type) \(name) on \(device)")
                let scale = try Tensor.randn([4, columns], seed: 18, on: device)
                try (y.cast(to: .float32) * scale).sum().backward()
                let grad = try #require(x.grad)
                #expect(grad.dtype == type)
                let leaf = try stored.cast(to: .float32).requiringGrad()
                try (module(leaf).cast(to: type).cast(to: .float32) * scale).sum().backward()
                let wide = try #require(leaf.grad)
                #expect(try grad.toArray() == wide.cast(to: type).toArray())
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func softmaxOnHalfViews(device: Device) throws {
        for type in [DType.float16, .bfloat16] {
            // Softmax down the columns of a stored [6, 150] matrix: wide rows, read in place.
            for shape in [[6, 150], [40, 6]] {
                let x = try Tensor.randn(shape, std: 3, seed: 19, on: device).cast(to: type).transposed()
                let xv = try x.toArray().map(Double.init)
                let columns = shape[0]
                for logarithm in [false, true] {
                    let y = try softmax(x, logarithm: logarithm)
                    #expect(y.dtype == type && y.shape == [shape[1], shape[0]])
                    var expected: [Double] = [], slack: [Double] = []
                    for start in stride(from: 0, to: xv.count, by: columns) {
                        let row = xv[start..<(start + columns)]
                        let top = row.max()!, dmax = top - row.min()!
                        let total = row.reduce(0) { $0 + exp($1 - top) }
                        for value in row {
                            if logarithm {
                                let v = value - top - log(total)
                                expected.append(v)
                                slack.append(0x1p-21 + (Double(columns) + 4 * (3 + 2 * dmax) + 16) * Self.eps32
                                             * (1 + abs(value) + abs(top) + log(total)))
                            } else {
                                let p = exp(value - top) / total
                                expected.append(p)
                                slack.append((Double(columns) + 2 * (6 + 2 * (top - value) + 2 * dmax) + 8) * Self.eps32 * p)
                            }
                        }
                    }
                    ReducedPrecisionTests.expectWithin(try y.toArray(), expected, slack: slack, type: type,
                                                       "\(type) softmax(log: \(logarithm)) \(shape)T on \(device)")
                }
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func softmaxGradientOnHalves(device: Device) throws {
        // With a gradient, softmax runs in float32 between casts: x's gradient is the float32
        // graph's, cast to x's type.
        let stored = try Tensor.randn([5, 9], seed: 20, on: device).cast(to: .bfloat16)
        let scale = try Tensor.randn([5, 9], seed: 21, on: device)
        let x = stored.requiringGrad()
        let y = try softmax(x)
        #expect(y.dtype == .bfloat16)
        try (y.cast(to: .float32) * scale).sum().backward()
        let leaf = try stored.cast(to: .float32).requiringGrad()
        try (softmax(leaf).cast(to: .bfloat16).cast(to: .float32) * scale).sum().backward()
        let grad = try #require(x.grad), wide = try #require(leaf.grad)
        #expect(grad.dtype == .bfloat16)
        #expect(try grad.toArray() == wide.cast(to: .bfloat16).toArray())
    }

    @Test(arguments: TestDevices.all)
    func integerInputsAreRejected(device: Device) throws {
        let labels = try Tensor(int32: [1, 2, 3], shape: [1, 3], on: device)
        #expect(throws: TensorError.self) { try softmax(labels) }
        #expect(throws: TensorError.self) { try rmsNorm(labels, weight: nil, epsilon: 1e-6) }
    }
}
