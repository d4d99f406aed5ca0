import Foundation
import TestSupport
import Testing
import TensorEngine

/// LayerNorm, RMSNorm, softmax and attention on float16 and bfloat16 tensors, on every device: the
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

    /// Float64 softmax(q k^T scale) v for [1, heads, length, dim] operands (causal optional),
    /// and each element's float32 slack: sum_j p_j |v_j| times the relative error of the
    /// probabilities (see storageAttentionCase in TransformerStorageConformance).
    static func attention(_ q: [Double], _ k: [Double], _ v: [Double], heads: Int, lq: Int, lk: Int, dim: Int,
                          causal: Bool) -> (values: [Double], slack: [Double]) {
        let scale = 1 / Double(Float(dim).squareRoot())
        var values: [Double] = [], slack: [Double] = []
        for h in 0..<heads {
            for i in 0..<lq {
                let visible = causal ? min(lk, i + 1) : lk
                var scores: [Double] = [], a = 0.0
                for j in 0..<visible {
                    var dot = 0.0, magnitude = 0.0
                    for d in 0..<dim {
                        dot += q[(h * lq + i) * dim + d] * k[(h * lk + j) * dim + d]
                        magnitude += abs(q[(h * lq + i) * dim + d] * k[(h * lk + j) * dim + d])
                    }
                    scores.append(dot * scale)
                    a = max(a, magnitude * scale)
                }
                let top = scores.max()!
                let weights = scores.map { exp($0 - top) }
                let total = weights.reduce(0, +)
                let relative = 2 * Double(dim) * eps32 * a + 2 * eps32 * Double(3 + lk / 16) * (3 + 4 * a)
                    + 2 * Double(lk) * eps32 + 8 * eps32
                for d in 0..<dim {
                    var sum = 0.0, absolute = 0.0
                    for j in 0..<visible {
                        sum += weights[j] / total * v[(h * lk + j) * dim + d]
                        absolute += weights[j] / total * abs(v[(h * lk + j) * dim + d])
                    }
                    values.append(sum)
                    slack.append(relative * absolute)
                }
            }
        }
        return (values, slack)
    }

    @Test(arguments: TestDevices.all)
    func attentionOnHalvesKeepsTheirType(device: Device) throws {
        let (heads, lq, lk, dim) = (3, 9, 21, 16)
        for type in [DType.float16, .bfloat16] {
            let q = try Tensor.randn([1, heads, lq, dim], seed: 22, on: device).cast(to: type)
            // Key and value as transposed 16-bit views: made contiguous (in 16 bits) first.
            let k = try Tensor.randn([1, heads, dim, lk], seed: 23, on: device).cast(to: type).permuted([0, 1, 3, 2])
            let v = try Tensor.randn([1, heads, lk, dim], seed: 24, on: device).cast(to: type)
            let qv = try q.toArray().map(Double.init), kv = try k.toArray().map(Double.init)
            let vv = try v.toArray().map(Double.init)
            for causal in [false, true] {
                let y = try scaledDotProductAttention(query: q, key: k, value: v, causal: causal)
                #expect(y.dtype == type && y.shape == [1, heads, lq, dim])
                let expected = Self.attention(qv, kv, vv, heads: heads, lq: lq, lk: lk, dim: dim, causal: causal)
                ReducedPrecisionTests.expectWithin(try y.toArray(), expected.values, slack: expected.slack, type: type,
                                                   "\(type) attention causal \(causal) on \(device)")
            }
            // Operands of different types give float32.
            let mixed = try scaledDotProductAttention(query: q.cast(to: .float32), key: k, value: v)
            #expect(mixed.dtype == .float32)
            let expected = Self.attention(qv, kv, vv, heads: heads, lq: lq, lk: lk, dim: dim, causal: false)
            ReducedPrecisionTests.expectWithin(try mixed.toArray(), expected.values, slack: expected.slack, type: .float32,
                                               "float32 x \(type) attention on \(device)")
        }
    }

    @Test(arguments: TestDevices.all)
    func attentionGradientOnHalves(device: Device) throws {
        // With gradients the fused attention runs in float32 between casts.
        let type = DType.float16
        let stored = try (0..<3).map { (seed) throws(TensorError) in
            try Tensor.randn([1, 2, 5, 8], seed: UInt64(25 + seed), on: device).cast(to: type)
        }
        let scale = try Tensor.randn([1, 2, 5, 8], seed: 28, on: device)
        let leaves = stored.map { $0.requiringGrad() }
        let y = try scaledDotProductAttention(query: leaves[0], key: leaves[1], value: leaves[2], causal: true)
        #expect(y.dtype == type)
        try (y.cast(to: .float32) * scale).sum().backward()
        let wide = try stored.map { (t) throws(TensorError) in try t.cast(to: .float32).requiringGrad() }
        try (scaledDotProductAttention(query: wide[0], key: wide[1], value: wide[2], causal: true)
            .cast(to: type).cast(to: .float32) * scale).sum().backward()
        for (leaf, reference) in zip(leaves, wide) {
            let grad = try #require(leaf.grad), expected = try #require(reference.grad)
            #expect(grad.dtype == type)
            #expect(try grad.toArray() == expected.cast(to: type).toArray())
        }
    }
}
