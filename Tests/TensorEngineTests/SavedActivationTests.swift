import Foundation
import TestSupport
import Testing
import TensorEngine

/// Mesa's 8-bit storage and memory-sharing normalisation per op, on every device: the forward
/// is the exact forward bit for bit; the backward equals its own float64 definition
/// (``SavedActivationReference``) and lies within a documented bound of the exact backward;
/// `retainedBytesByOp()` reports what each mode keeps, as computed by hand.
@Suite(.vulkanValidation) struct SavedActivationTests {
    static func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return rng.normalFloats(count, std: scale)
    }

    /// Mesa's bound for normal inputs in groups of 64: each dequantised element is within
    /// scale / 2 = max|x| / 254 of x, an error of variance about (2.5 sigma / 127)^2 / 12, so the
    /// weight gradient's nmse against exact is about 3e-5; asserted below 1e-4.
    static let int8LinearBound = 1e-4

    /// A linear layer keeping its input in 8 bits: the same output and input gradient as
    /// exact, bit for bit; the weight gradient is deq(x)^T g in float64 (a row of 100 in groups of
    /// 64 has a short last group; one group is all zero).
    @Test(arguments: TestDevices.all)
    func linearInt8KeepsItsDefinition(device: Device) throws {
        let (rows, features, outputs) = (6, 100, 7)
        var x = Self.values(rows * features, seed: 1)
        for c in 64..<100 { x[2 * features + c] = 0 }
        let w = Self.values(features * outputs, seed: 2), r = Self.values(rows * outputs, seed: 3)
        func run(_ storage: ActivationStorage) throws -> (y: [Float], gx: [Float], gw: [Float]) {
            let xt = try Tensor(x, shape: [rows, features], on: device).requiringGrad()
            let wt = try Tensor(w, shape: [features, outputs], on: device).requiringGrad()
            let y = try linear(xt, weight: wt, inputStorage: storage)
            try (y * Tensor(r, shape: [rows, outputs], on: device)).sum().backward()
            return (try y.toArray(), try xt.grad!.toArray(), try wt.grad!.toArray())
        }
        let exact = try run(.float32), small = try run(.int8(groupSize: 64))
        #expect(small.y == exact.y)
        #expect(small.gx == exact.gx)
        let restored = SavedActivationReference.dequantized(x, columns: features, groupSize: 64)
        var expected = [Double](repeating: 0, count: features * outputs)
        for i in 0..<rows { for f in 0..<features { for o in 0..<outputs {
            expected[f * outputs + o] += restored[i * features + f] * Double(r[i * outputs + o])
        } } }
        let definition = nmse(small.gw, expected)
        #expect(definition < 1e-10, "int8 weight gradient vs its float64 definition on \(device.identifier): \(definition)")
        let fromExact = nmse(small.gw, doubles(exact.gw))
        #expect(fromExact < Self.int8LinearBound && fromExact > 0, "vs exact: \(fromExact)")
    }

    /// Every dequantised value lies within scale / 2 of the input (the definition's own bound),
    /// here through softmax, whose backward from the 8-bit output y~ is y~ * (g - sum(g * y~)).
    @Test(arguments: TestDevices.all)
    func softmaxInt8BackwardIsItsDefinition(device: Device) throws {
        let (rows, columns) = (5, 37)
        let x = Self.values(rows * columns, seed: 4, scale: 2), g = Self.values(rows * columns, seed: 5)
        let xt = try Tensor(x, shape: [rows, columns], on: device).requiringGrad()
        let y = try softmax(xt, storage: .int8(groupSize: 16))
        #expect(try y.toArray() == softmax(Tensor(x, shape: [rows, columns], on: device)).toArray())
        try y.backward(Tensor(g, shape: [rows, columns], on: device))
        let probabilities = try y.toArray()
        let restored = SavedActivationReference.dequantized(probabilities, columns: columns, groupSize: 16)
        for i in probabilities.indices {
            let rowStart = i - i % columns, groupStart = rowStart + (i % columns) / 16 * 16
            let largest = probabilities[groupStart..<min(groupStart + 16, rowStart + columns)].map(abs).max()!
            #expect(abs(restored[i] - Double(probabilities[i])) <= Double(largest) / 254 * (1 + 1e-6))
        }
        var expected = [Double](repeating: 0, count: x.count)
        for r in 0..<rows {
            let range = (r * columns)..<((r + 1) * columns)
            let dot = range.reduce(0.0) { $0 + Double(g[$1]) * restored[$1] }
            for i in range { expected[i] = restored[i] * (Double(g[i]) - dot) }
        }
        let error = nmse(try xt.grad!.toArray(), expected)
        #expect(error < 1e-10, "softmax int8 on \(device.identifier): \(error)")
    }

    /// The four modes of LayerNorm and RMSNorm: forward bit for bit the exact one; backward
    /// against its float64 definition (input int8: the exact backward at the dequantised x;
    /// output: from y with xh = (y - b) / w; output int8: from the dequantised y) and against
    /// the exact backward. Bounds against exact: float32 memory-sharing is rounding only
    /// (< 1e-9); int8 input < 1e-4 (Mesa's rate, as for linear layers); int8 output < 5e-3,
    /// since x_hat = (y~ - b) / w divides y's quantisation error (max|y| / 254 per group) by the
    /// weight, and these weights, normal around 1.5, include some near 0 (measured: LayerNorm
    /// 1.7e-3, RMSNorm 2.4e-4, both devices).
    @Test(arguments: TestDevices.all)
    func normalizationModesKeepTheirDefinitions(device: Device) throws {
        let (rows, columns) = (7, 80)
        let x = Self.values(rows * columns, seed: 6, scale: 3).map { $0 + 1 }
        let dy = Self.values(rows * columns, seed: 7)
        let w = Self.values(columns, seed: 8).map { $0 + 1.5 }, b = Self.values(columns, seed: 9)
        for centered in [true, false] {
            let epsilon = centered ? 1e-5 : 1e-6
            func run(_ memory: NormalizationMemory, _ storage: ActivationStorage) throws -> (y: [Float], dx: [Float], dw: [Float]) {
                let xt = try Tensor(x, shape: [rows, columns], on: device).requiringGrad()
                let wt = try Tensor(w, shape: [columns], on: device).requiringGrad()
                let bt = try Tensor(b, shape: [columns], on: device)
                let y = centered
                    ? try layerNorm(xt, weight: wt, bias: bt, epsilon: Float(epsilon), memory: memory, storage: storage)
                    : try rmsNorm(xt, weight: wt, epsilon: Float(epsilon), memory: memory, storage: storage)
                try y.backward(Tensor(dy, shape: [rows, columns], on: device))
                return (try y.toArray(), try xt.grad!.toArray(), try wt.grad!.toArray())
            }
            let name = centered ? "layerNorm" : "rmsNorm"
            let bias = centered ? b : nil
            let exact = try run(.input, .float32)
            let rstd = SavedActivationReference.statistics(x.map(Double.init), columns: columns, centered: centered,
                                                           epsilon: epsilon).map(\.1)
            let exactReference = SavedActivationReference.normBackwardFromInput(x.map(Double.init), dy: dy, weight: w,
                                                                                columns: columns, centered: centered,
                                                                                epsilon: epsilon)
            let modes: [(String, NormalizationMemory, ActivationStorage, Double)] = [
                ("input int8", .input, .int8(groupSize: 32), 1e-4), ("output", .output, .float32, 1e-9),
                ("output int8", .output, .int8(groupSize: 32), 5e-3),
            ]
            for (mode, memory, storage, bound) in modes {
                let result = try run(memory, storage)
                #expect(result.y == exact.y, "\(name) \(mode): forward differs from exact")
                let definition: (dx: [Double], dw: [Double], db: [Double])
                switch (memory, storage) {
                case (.input, _):
                    let restored = SavedActivationReference.dequantized(x, columns: columns, groupSize: 32)
                    definition = SavedActivationReference.normBackwardFromInput(restored, dy: dy, weight: w, columns: columns,
                                                                                centered: centered, epsilon: epsilon)
                case (.output, .float32):
                    definition = SavedActivationReference.normBackwardFromOutput(
                        exact.y.map(Double.init), rstd: rstd, dy: dy, weight: w, bias: bias, columns: columns, centered: centered)
                case (.output, _):
                    definition = SavedActivationReference.normBackwardFromOutput(
                        SavedActivationReference.dequantized(exact.y, columns: columns, groupSize: 32), rstd: rstd, dy: dy,
                        weight: w, bias: bias, columns: columns, centered: centered)
                }
                let own = nmse(result.dx + result.dw, definition.dx + definition.dw)
                #expect(own < 1e-9, "\(name) \(mode) on \(device.identifier) vs its definition: \(own)")
                let fromExact = nmse(result.dx + result.dw, exactReference.dx + exactReference.dw)
                #expect(fromExact < bound, "\(name) \(mode) on \(device.identifier) vs exact: \(fromExact)")
            }
        }
    }

    /// Memory-sharing with zero weights: x_hat of a zero-weight column is taken as 0, so its
    /// weight gradient is 0 and its input gradient is the float64 definition's; every other
    /// column's gradients are the exact ones. Nothing is NaN or infinite.
    @Test(arguments: TestDevices.all)
    func memorySharingHandlesZeroWeights(device: Device) throws {
        let (rows, columns) = (4, 24)
        let x = Self.values(rows * columns, seed: 10), dy = Self.values(rows * columns, seed: 11)
        var w = Self.values(columns, seed: 12).map { $0 + 1 }
        let zero = [0, 5, 23]
        for c in zero { w[c] = 0 }
        let b = Self.values(columns, seed: 13)
        let xt = try Tensor(x, shape: [rows, columns], on: device).requiringGrad()
        let wt = try Tensor(w, shape: [columns], on: device).requiringGrad()
        let y = try layerNorm(xt, weight: wt, bias: Tensor(b, shape: [columns], on: device), epsilon: 1e-5, memory: .output)
        try y.backward(Tensor(dy, shape: [rows, columns], on: device))
        let dx = try xt.grad!.toArray(), dw = try wt.grad!.toArray()
        #expect(dx.allSatisfy(\.isFinite) && dw.allSatisfy(\.isFinite))
        for c in zero { #expect(dw[c] == 0) }
        let rstd = SavedActivationReference.statistics(x.map(Double.init), columns: columns, centered: true, epsilon: 1e-5).map(\.1)
        let definition = SavedActivationReference.normBackwardFromOutput(try y.toArray().map(Double.init), rstd: rstd, dy: dy,
                                                                         weight: w, bias: b, columns: columns, centered: true)
        #expect(nmse(dx + dw, definition.dx + definition.dw) < 1e-9)
        let exact = SavedActivationReference.normBackwardFromInput(x.map(Double.init), dy: dy, weight: w, columns: columns,
                                                                   centered: true, epsilon: 1e-5)
        let kept = dx.indices.filter { !zero.contains($0 % columns) }
        let keptColumns = (0..<columns).filter { !zero.contains($0) }
        #expect(nmse(kept.map { dx[$0] } + keptColumns.map { dw[$0] },
                     kept.map { exact.dx[$0] } + keptColumns.map { exact.dw[$0] }) < 1e-9)
    }

    /// Attention keeping q, k, v in 8 bits: the same output; gradients are exact attention's at
    /// the dequantised q, k, v (checked against the engine's exact attention run on them, itself
    /// conformance-tested against float64), and within 1e-3 of exact.
    @Test(arguments: TestDevices.all)
    func attentionInt8IsExactAttentionAtDequantisedInputs(device: Device) throws {
        let shape = [2, 3, 9, 8]
        let count = shape.reduce(1, *)
        let inputs = (0..<3).map { Self.values(count, seed: 20 + UInt64($0)) }
        let g = Self.values(count, seed: 30)
        func run(_ values: [[Float]], _ storage: ActivationStorage) throws -> (y: [Float], grads: [Float]) {
            let tensors = try values.map { try Tensor($0, shape: shape, on: device).requiringGrad() }
            let y = try scaledDotProductAttention(query: tensors[0], key: tensors[1], value: tensors[2], causal: true,
                                                  storage: storage)
            try y.backward(Tensor(g, shape: shape, on: device))
            return (try y.toArray(), try tensors.flatMap { try $0.grad!.toArray() })
        }
        let exact = try run(inputs, .float32), small = try run(inputs, .int8(groupSize: 64))
        #expect(small.y == exact.y)
        let restored = inputs.map { SavedActivationReference.dequantized($0, columns: 8, groupSize: 64).map(Float.init) }
        let atRestored = try run(restored, .float32)
        let own = nmse(small.grads, doubles(atRestored.grads))
        #expect(own < 1e-12, "attention int8 vs exact attention at the dequantised inputs: \(own)")
        let fromExact = nmse(small.grads, doubles(exact.grads))
        #expect(fromExact < 1e-3, "attention int8 vs exact: \(fromExact)")
    }

    /// `retainedBytesByOp` per mode, computed by hand for x [6, 100] (groups of 64: two per row,
    /// 12 scales of 4 bytes; 600 one-byte codes in 150 words).
    @Test(arguments: TestDevices.all)
    func accountingCountsCodesScalesAndSharedBuffersOnce(device: Device) throws {
        let x = try Tensor.randn([6, 100], seed: 40, on: device).requiringGrad()
        let layer = try Linear(100, 7, inputStorage: .int8(groupSize: 64), seed: 1, on: device)
        let linearBytes = try layer(x).sum().retainedBytesByOp()
        #expect(linearBytes["linear input (int8)"] == 600 + 12 * 4)
        #expect(linearBytes["linear input"] == nil)
        #expect(linearBytes["linear weight"] == 100 * 7 * 4)
        // Memory-sharing: the norm's output is the linear layer's input, one buffer.
        let norm = try LayerNorm(100, memory: .output, on: device)
        let exactLayer = try Linear(100, 7, seed: 1, on: device)
        let sharedBytes = try exactLayer(norm(x)).sum().retainedBytesByOp()
        #expect(sharedBytes["layerNorm output"] == 600 * 4)
        #expect(sharedBytes["layerNorm statistics"] == 6 * 4)
        #expect(sharedBytes["linear input"] == nil)
        // Memory-sharing in 8 bits with an 8-bit linear layer: one set of codes.
        let smallNorm = try LayerNorm(100, memory: .output, storage: .int8(groupSize: 64), on: device)
        let smallBytes = try layer(smallNorm(x)).sum().retainedBytesByOp()
        #expect(smallBytes["layerNorm output (int8)"] == 600 + 12 * 4)
        #expect(smallBytes["linear input (int8)"] == nil)
        // Input mode in 8 bits: the codes only, no statistics (recomputed in backward).
        let inputBytes = try layerNorm(x, weight: nil, bias: nil, epsilon: 1e-5, storage: .int8(groupSize: 64)).sum()
            .retainedBytesByOp()
        #expect(inputBytes["layerNorm input (int8)"] == 600 + 12 * 4)
        #expect(inputBytes["layerNorm statistics"] == nil)
        // Three projections of one input keep one set of codes.
        let projections = try (0..<3).map { try Linear(100, 4, inputStorage: .int8(groupSize: 64), seed: UInt64($0), on: device) }
        let h = try x * 2
        let summed = try projections.map { try $0(h) }.reduce(Tensor.zeros([6, 4], on: device)) { try $0 + $1 }
        #expect(try summed.sum().retainedBytesByOp()["linear input (int8)"] == 600 + 12 * 4)
    }

    @Test func badGroupSizesThrow() throws {
        let x = try Tensor.randn([2, 8], seed: 1, on: .cpu).requiringGrad()
        let w = try Tensor.randn([8, 3], seed: 2, on: .cpu)
        #expect(throws: TensorError.self) { try linear(x, weight: w, inputStorage: .int8(groupSize: 0)) }
        #expect(throws: TensorError.self) { try layerNorm(x, weight: nil, bias: nil, epsilon: 1e-5, storage: .int8(groupSize: -1)) }
        #expect(throws: TensorError.self) { try Linear(8, 3, inputStorage: .int8(groupSize: 0), on: .cpu) }
        #expect(throws: TensorError.self) { try softmax(x, storage: .int8(groupSize: 0)) }
    }
}
