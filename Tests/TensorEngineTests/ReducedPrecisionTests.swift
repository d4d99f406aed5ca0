import Foundation
import TestSupport
import Testing
import TensorEngine

/// The public ops on float16 and bfloat16 tensors, on every device: `matmul`, `linear` with a
/// fused GELU, activations and elementwise ops take 16-bit operands as they are (Vulkan with
/// 16-bit storage: the kernels' 16-bit variants; the CPU: casts around the float32 kernels),
/// compute in float32 and round the result once. References are float64 on the inputs as
/// rounded to their type; each element must lie within half an ulp of the result type (at
/// the result's magnitude) plus the float32 error (k + 2) eps32 sum |a||b|.
@Suite(.vulkanValidation) struct ReducedPrecisionTests {
    static let eps32 = 0x1p-24

    /// Half the spacing of `type`'s values at magnitude `x`.
    static func halfUlp(_ x: Double, _ type: DType) -> Double {
        let (bits, minExponent) = switch type {
        case .float16: (11, -14)
        case .bfloat16: (8, -126)
        default: (24, -126)
        }
        let exponent = x > 0 ? max(Int(x.exponent), minExponent) : minExponent
        return Double(sign: .plus, exponent: exponent - bits, significand: 1)
    }

    static func expectWithin(_ actual: [Float], _ reference: [Double], slack: [Double], type: DType,
                             _ what: String) {
        #expect(actual.count == reference.count)
        for (i, (got, want)) in zip(actual, reference).enumerated() {
            let bound = halfUlp(abs(want) + slack[i], type) + slack[i]
            if !(abs(Double(got) - want) <= bound) {
                Issue.record("\(what) element \(i): got \(got), expected \(want) within \(bound)")
                return
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func matmulOnHalvesKeepsTheirType(device: Device) throws {
        let (m, n, k) = (9, 70, 33)
        for type in [DType.float16, .bfloat16] {
            let a = try Tensor.randn([m, k], seed: 1, on: device).cast(to: type)
            let b = try Tensor.randn([n, k], seed: 2, on: device).cast(to: type)
            let c = try matmul(a, b.transposed())      // B read transposed, in place
            #expect(c.dtype == type && c.shape == [m, n])
            let av = try a.toArray().map(Double.init), bv = try b.toArray().map(Double.init)
            let reference = Reference.matmul(av, bv, m: m, n: n, k: k, transposeB: true)
            let magnitude = Reference.matmul(av.map(abs), bv.map(abs), m: m, n: n, k: k, transposeB: true)
            Self.expectWithin(try c.toArray(), reference, slack: magnitude.map { Double(k + 2) * Self.eps32 * $0 },
                              type: type, "\(type) matmul on \(device)")
        }
    }

    @Test(arguments: TestDevices.all)
    func linearWithHalfWeightsAndFusedGELU(device: Device) throws {
        let (rows, features, outputs) = (5, 24, 40)
        let x = try Tensor.randn([rows, features], seed: 3, on: device)
        let bias = try Tensor.randn([outputs], seed: 4, on: device)
        for type in [DType.float16, .bfloat16] {
            let w = try Tensor.randn([features, outputs], std: 0.3, seed: 5, on: device).cast(to: type)
            let y = try linear(x, weight: w, bias: bias, activation: .gelu)
            #expect(y.dtype == .float32)      // float32 input, 16-bit weights: float32 result
            let halfX = try x.cast(to: type)
            let h = try linear(halfX, weight: w, bias: bias, activation: .gelu)
            #expect(h.dtype == type)
            for (input, output, outType) in [(x, y, DType.float32), (halfX, h, type)] {
                let xv = try input.toArray().map(Double.init), wv = try w.toArray().map(Double.init)
                let bv = try bias.toArray().map(Double.init)
                let product = Reference.matmul(xv, wv, m: rows, n: outputs, k: features)
                let magnitude = Reference.matmul(xv.map(abs), wv.map(abs), m: rows, n: outputs, k: features)
                let reference = product.enumerated().map { Reference.activation(.gelu, $0.element + bv[$0.offset % outputs]) }
                let slack = magnitude.enumerated().map {
                    1.2 * Double(features + 2) * Self.eps32 * ($0.element + abs(bv[$0.offset % outputs])) + 1e-6
                }
                Self.expectWithin(try output.toArray(), reference, slack: slack, type: outType,
                                  "linear gelu \(input.dtype) x \(type) on \(device)")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func activationsAndElementwiseOnHalfViews(device: Device) throws {
        for type in [DType.float16, .bfloat16] {
            let x = try Tensor.randn([6, 11], std: 2, seed: 6, on: device).cast(to: type)
            let view = try x.transposed()                            // read in place
            let xv = try view.toArray().map(Double.init)
            for activation in [Activation.gelu, .silu, .relu, .tanh] {
                let y = try activate(view, activation)
                #expect(y.dtype == type && y.shape == [11, 6])
                Self.expectWithin(try y.toArray(), xv.map { Reference.activation(activation, $0) },
                                  slack: xv.map { _ in 2e-6 }, type: type, "\(type) \(activation) on \(device)")
            }
            let row = try Tensor.randn([6], seed: 7, on: device).cast(to: type)
            let rv = try row.toArray().map(Double.init)
            let sum = try view + row                                 // broadcast along rows
            #expect(sum.dtype == type)
            let expected = xv.enumerated().map { $0.element + rv[$0.offset % 6] }
            Self.expectWithin(try sum.toArray(), expected, slack: expected.map { 2 * Self.eps32 * abs($0) },
                              type: type, "\(type) add on \(device)")
            let mixed = try view * row.cast(to: .float32)            // differing types: float32
            #expect(mixed.dtype == .float32)
            let product = xv.enumerated().map { $0.element * rv[$0.offset % 6] }
            Self.expectWithin(try mixed.toArray(), product, slack: product.map { Self.eps32 * abs($0) },
                              type: .float32, "\(type) x float32 mul on \(device)")
        }
    }

    @Test(arguments: TestDevices.all)
    func gradientsFlowThroughHalfWeights(device: Device) throws {
        // With gradients the ops run in float32 between casts: the weight's gradient is the
        // float32 one cast to the weight's type.
        let x = try Tensor.randn([4, 8], seed: 8, on: device)
        let w32 = try Tensor.randn([8, 3], seed: 9, on: device).cast(to: .float16).cast(to: .float32)
        let w = try w32.cast(to: .float16).requiringGrad()
        let loss = try gelu(linear(x, weight: w)).sum()
        try loss.backward()
        let grad = try #require(w.grad)
        #expect(grad.dtype == .float16)
        let leaf = w32.requiringGrad()
        try gelu(linear(x, weight: leaf)).sum().backward()
        let wide = try #require(leaf.grad).toArray()
        let expected = try Tensor(wide, shape: [8, 3], on: device).cast(to: .float16).toArray()
        #expect(try grad.toArray() == expected)
    }
}
