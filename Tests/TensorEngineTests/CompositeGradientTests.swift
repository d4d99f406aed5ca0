import Foundation
import TestSupport
import Testing
import TensorCore
@testable import TensorEngine

/// The gradient fallback (``CompositeGradient``): ops that have both a composite and a
/// hand-written backward, differentiated through the composite instead, must give the
/// hand-written gradients (within float32 rounding) and a float64 analytic reference; a
/// composite with a primitive that has no differentiable replay throws naming it.
@Suite(.vulkanValidation) struct CompositeGradientTests {
    /// Largest |a - b| over max(1, |b|), elementwise.
    static func relativeError(_ a: [Float], _ b: [Double]) -> Double {
        zip(a, b).map { Swift.abs(Double($0) - $1) / max(1, Swift.abs($1)) }.max() ?? 0
    }

    static func leaf(_ shape: [Int], seed: UInt64, on device: Device) throws -> (Tensor, [Float]) {
        var rng = SeededRandom(seed: seed)
        let values = rng.normalFloats(ShapeMath.elementCount(shape))
        return (try Tensor(values, shape: shape, on: device).requiringGrad(), values)
    }

    @Test(arguments: TestDevices.all)
    func scaleShiftMatchesItsHandWrittenGradient(device: Device) throws {
        let (x, _) = try Self.leaf([5, 7], seed: 1, on: device)
        let (weights, c) = try Self.leaf([5, 7], seed: 2, on: device)
        let fallback = try CompositeGradient.run("scaleShift", inputs: [x], shape: x.shape) { operands, output in
            .scaleShift(input: operands[0].storage, layout: operands[0].layout, scale: -1.5, offset: 0.25,
                        output: output.storage)
        }
        #expect(try fallback.toArray() == scaleShift(x, scale: -1.5, offset: 0.25).toArray())
        try (fallback * weights.detached()).sum().backward()
        let viaComposite = try #require(x.grad).toArray()
        x.clearGrad()
        try (scaleShift(x, scale: -1.5, offset: 0.25) * weights.detached()).sum().backward()
        let handWritten = try #require(x.grad).toArray()
        #expect(viaComposite == handWritten)
        #expect(Self.relativeError(viaComposite, c.map { -1.5 * Double($0) }) < 1e-6)
        #expect(fallback.retainedBytesByOp()["scaleShift"] == 5 * 7 * 4, "backward keeps only the input")
    }

    /// `gelu(x w + b)` through the fused epilogue's composite (product, bias add, activation)
    /// against `linear(..., activation: .gelu)` and float64.
    @Test(arguments: TestDevices.all)
    func fusedLinearEpilogueMatchesItsHandWrittenGradient(device: Device) throws {
        let (rows, inner, columns) = (6, 5, 4)
        let (x, xs) = try Self.leaf([rows, inner], seed: 3, on: device)
        let (w, ws) = try Self.leaf([inner, columns], seed: 4, on: device)
        let (b, bs) = try Self.leaf([columns], seed: 5, on: device)
        let (weights, c) = try Self.leaf([rows, columns], seed: 6, on: device)
        let fallback = try CompositeGradient.run("linear", inputs: [x, w, b], shape: [rows, columns]) { operands, output in
            .matmul(a: operands[0].storage, b: operands[1].storage, c: output.storage,
                    geometry: MatmulGeometry(m: rows, n: columns, k: inner),
                    epilogue: MatmulEpilogue(bias: operands[2].storage, activation: .gelu))
        }
        try (fallback * weights.detached()).sum().backward()
        let viaComposite = try [x, w, b].map { try #require($0.grad).toArray() }
        for t in [x, w, b] { t.clearGrad() }
        try (linear(x, weight: w, bias: b, activation: .gelu) * weights.detached()).sum().backward()
        let handWritten = try [x, w, b].map { try #require($0.grad).toArray() }

        // float64: z = x w + b, dz = c * gelu'(z), gelu'(z) = Phi(z) + z phi(z).
        var dz = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for j in 0..<columns {
                var z = Double(bs[j])
                for k in 0..<inner { z += Double(xs[r * inner + k]) * Double(ws[k * columns + j]) }
                let derivative = 0.5 * erfc(-z / 2.0.squareRoot()) + z * Foundation.exp(-z * z / 2) / (2 * Double.pi).squareRoot()
                dz[r * columns + j] = Double(c[r * columns + j]) * derivative
            }
        }
        let gx = (0..<(rows * inner)).map { i in
            (0..<columns).reduce(0.0) { $0 + dz[(i / inner) * columns + $1] * Double(ws[(i % inner) * columns + $1]) }
        }
        let gw = (0..<(inner * columns)).map { i in
            (0..<rows).reduce(0.0) { $0 + Double(xs[$1 * inner + i / columns]) * dz[$1 * columns + i % columns] }
        }
        let gb = (0..<columns).map { j in (0..<rows).reduce(0.0) { $0 + dz[$1 * columns + j] } }
        for (index, reference) in [gx, gw, gb].enumerated() {
            let name = ["x", "weight", "bias"][index]
            #expect(Self.relativeError(viaComposite[index], handWritten[index].map(Double.init)) < 1e-5,
                    "\(name): composite vs hand-written on \(device.identifier)")
            #expect(Self.relativeError(viaComposite[index], reference) < 1e-4, "\(name) vs float64 on \(device.identifier)")
        }
    }

    /// A float16 product and a bfloat16 GELU through their storage composites (casts around
    /// the float32 op) against the hand-written path (cast, float32 op, cast).
    @Test(arguments: TestDevices.all)
    func sixteenBitStorageCompositesMatchTheirHandWrittenGradients(device: Device) throws {
        let (a32, av) = try Self.leaf([9, 4], seed: 7, on: device)
        let (b32, bv) = try Self.leaf([4], seed: 8, on: device)
        let a = try a32.detached().cast(to: .float16).requiringGrad()
        let b = try b32.detached().cast(to: .float16).requiringGrad()
        let types = OperandTypes(a: .float16, b: .float16, c: .float16)
        let fallback = try CompositeGradient.run("mul", inputs: [a, b], shape: [9, 4], dtype: .float16) { operands, output in
            .binary(.mul, a: operands[0].storage, aLayout: .contiguous([9, 4]), b: operands[1].storage,
                    bLayout: StridedLayout(shape: [9, 4], strides: [0, 1]), output: output.storage, types: types)
        }
        #expect(fallback.dtype == .float16)
        #expect(try fallback.toArray() == (a * b).toArray())
        try fallback.cast(to: .float32).sum().backward()
        let viaComposite = try [a, b].map { try #require($0.grad).toArray() }
        a.clearGrad()
        b.clearGrad()
        try (a * b).cast(to: .float32).sum().backward()
        let handWritten = try [a, b].map { try #require($0.grad).toArray() }
        #expect(viaComposite == handWritten)
        // d(sum a*b)/da[r, j] = b[j]; /db[j] = sum_r a[r, j] (operands rounded to float16 first).
        let ah = av.map { Double(Float(Float16($0))) }, bh = bv.map { Double(Float(Float16($0))) }
        #expect(Self.relativeError(viaComposite[0], (0..<36).map { bh[$0 % 4] }) < 1e-3)
        #expect(Self.relativeError(viaComposite[1], (0..<4).map { j in (0..<9).reduce(0.0) { $0 + ah[$1 * 4 + j] } }) < 4e-3)

        let x = try a32.detached().cast(to: .bfloat16).requiringGrad()
        let activated = try CompositeGradient.run("gelu", inputs: [x], shape: [9, 4], dtype: .bfloat16) { operands, output in
            .activate(.gelu, input: operands[0].storage, layout: .contiguous([9, 4]), output: output.storage,
                      types: OperandTypes(a: .bfloat16, c: .bfloat16))
        }
        try activated.cast(to: .float32).sum().backward()
        let geluViaComposite = try #require(x.grad).toArray()
        x.clearGrad()
        try gelu(x).cast(to: .float32).sum().backward()
        #expect(geluViaComposite == (try #require(x.grad).toArray()))
    }

    @Test(arguments: TestDevices.all)
    func aPrimitiveWithoutReplayThrowsNamingIt(device: Device) throws {
        let (x, _) = try Self.leaf([4, 3], seed: 9, on: device)
        let (w, _) = try Self.leaf([3, 5], seed: 10, on: device)
        let table = try #require(try ActivationMemory.fewBit(bits: 3).table(for: .gelu, op: "test"))
        let codes = try FewBitSaved.allocate(count: 20, table: table, on: device)
        do {
            _ = try CompositeGradient.run("linear", inputs: [x, w], shape: [4, 5]) { operands, output in
                .matmul(a: operands[0].storage, b: operands[1].storage, c: output.storage,
                        geometry: MatmulGeometry(m: 4, n: 5, k: 3),
                        epilogue: MatmulEpilogue(activation: .gelu, fewBit: codes.output))
            }
            Issue.record("a few-bit epilogue has no differentiable replay")
        } catch let TensorError.unsupportedOperation(op, _, _) {
            #expect(op == "activateFewBit")
        }
        do {
            _ = try CompositeGradient.run("dropout", inputs: [x], shape: [4, 3]) { operands, output in
                .dropout(input: operands[0].storage, count: 12, probability: 0.5, seed: 1, offset: 0, output: output.storage)
            }
            Issue.record("dropout has no composite")
        } catch let TensorError.unsupportedOperation(op, _, _) {
            #expect(op == "dropout")
        }
        // Without a recorded gradient nothing is lowered: the forward alone runs.
        let plain = try withNoGrad {
            try CompositeGradient.run("dropout", inputs: [x], shape: [4, 3]) { operands, output in
                .dropout(input: operands[0].storage, count: 12, probability: 0, seed: 1, offset: 0, output: output.storage)
            }
        }
        #expect(try plain.toArray() == x.toArray())
    }
}

/// The replay of each primitive (``CompositeProgram/Step``): its gradient against finite
/// differences, through strided, broadcast and offset layouts.
@Suite(.vulkanValidation) struct CompositeProgramTests {
    @Test(arguments: TestDevices.all)
    func everyReplayedPrimitiveHasTheFiniteDifferenceGradient(device: Device) throws {
        let transposed = StridedLayout(shape: [4, 3], strides: [1, 4])
        let row = StridedLayout(shape: [3, 4], strides: [0, 1], offset: 2)
        // Slots: 0 = x [3, 4], 1 = y [6]; 2...9 written by the steps.
        let program = CompositeProgram(steps: [
            .cast(source: 0, layout: transposed, destination: 2, type: nil),                    // x^T
            .unary(.exp, input: 2, layout: .contiguous([12]), output: 3),
            .binary(.mul, a: 0, aLayout: .contiguous([3, 4]), b: 1, bLayout: row, output: 4),   // x * y[2..<6]
            .scaleShift(input: 4, layout: .contiguous([12]), scale: 0.5, offset: 1, output: 5),
            .activate(.silu, input: 5, layout: .contiguous([12]), output: 6),
            .softmax(input: 6, layout: .contiguous([3, 4]), logarithm: false, output: 7),
            .reduceSum(input: 3, layout: StridedLayout(shape: [1, 12, 1], strides: [0, 1, 0]), scale: 2, output: 8),
            .fill(slot: 9, value: 0.25, count: 1),
            .select(condition: 9, conditionLayout: StridedLayout(shape: [12], strides: [0]), a: 7,
                    aLayout: .contiguous([12]), b: 3, bLayout: .contiguous([12]), output: 9),
            .matmul(a: 9, b: 2, c: 5, geometry: MatmulGeometry(m: 3, n: 3, k: 4)),             // [3, 4] x [4, 3]
            .binary(.add, a: 5, aLayout: .contiguous([9]), b: 8, bLayout: StridedLayout(shape: [9], strides: [0]),
                    output: 5),
        ], inputSlots: [0, 1], outputSlot: 5, slotCount: 10)
        try AutogradTests.check("composite program", on: device, shapes: [[3, 4], [6]]) { inputs in
            try program.replay(inputs, on: device).sum()
        }
    }

    /// A float16, batched product with B read transposed, through the storage composite.
    @Test(arguments: TestDevices.all)
    func batchedTransposedMatmulMatchesItsHandWrittenGradient(device: Device) throws {
        var rng = SeededRandom(seed: 11)
        let a = try Tensor(rng.normalFloats(2 * 3 * 5), shape: [2, 3, 5], on: device).cast(to: .float16).requiringGrad()
        let b = try Tensor(rng.normalFloats(2 * 4 * 5), shape: [2, 4, 5], on: device).cast(to: .float16).requiringGrad()
        let geometry = MatmulGeometry(m: 3, n: 4, k: 5, batch: 2, transposeB: true, batchStrideA: 15, batchStrideB: 20,
                                      types: OperandTypes(a: .float16, b: .float16, c: .float16))
        let fallback = try CompositeGradient.run("matmul", inputs: [a, b], shape: [2, 3, 4], dtype: .float16) { operands, output in
            .matmul(a: operands[0].storage, b: operands[1].storage, c: output.storage, geometry: geometry, epilogue: .none)
        }
        let handWritten = try matmul(a, b.transposed())
        #expect(try fallback.toArray() == handWritten.toArray())
        let weights = try Tensor(rng.normalFloats(24), shape: [2, 3, 4], on: device)
        try (fallback.cast(to: .float32) * weights).sum().backward()
        let viaComposite = try [a, b].map { try #require($0.grad).toArray() }
        a.clearGrad()
        b.clearGrad()
        try (handWritten.cast(to: .float32) * weights).sum().backward()
        for (index, tensor) in [a, b].enumerated() {
            let expected = try #require(tensor.grad).toArray()
            #expect(CompositeGradientTests.relativeError(viaComposite[index], expected.map(Double.init)) < 2e-3,
                    "operand \(index) on \(device.identifier)")
        }
    }
}
