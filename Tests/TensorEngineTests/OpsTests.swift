import Foundation
import TestSupport
import Testing
import TensorEngine

/// Every frontend op against a float64 reference, on every test device, on odd shapes.
@Suite(.vulkanValidation) struct OpsTests {
    static let sizes = [1, 7, 31, 257]

    @Test(arguments: TestDevices.all)
    func matmulMatchesReference(device: Device) throws {
        var seed: UInt64 = 10
        for (m, n, k) in [(1, 1, 1), (7, 31, 257), (31, 7, 1), (257, 31, 7), (3, 5, 300), (1, 257, 31), (33, 65, 17)] {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    seed += 1
                    let aStored = try Tensor.randn(transposeA ? [k, m] : [m, k], seed: seed, on: device)
                    let bStored = try Tensor.randn(transposeB ? [n, k] : [k, n], seed: seed + 1000, on: device)
                    let a = transposeA ? try aStored.transposed() : aStored
                    let b = transposeB ? try bStored.transposed() : bStored
                    let c = try matmul(a, b)
                    #expect(c.shape == [m, n])
                    let expected = Reference.matmul(doubles(try aStored.toArray()), doubles(try bStored.toArray()),
                                                    m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                    let error = nmse(try c.toArray(), expected)
                    #expect(error < 1e-10, "m \(m) n \(n) k \(k) tA \(transposeA) tB \(transposeB): nmse \(error)")
                }
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func batchedMatmulBroadcastsBatchAxes(device: Device) throws {
        let a = try Tensor.randn([3, 7, 5], seed: 1, on: device)
        let shared = try Tensor.randn([5, 4], seed: 2, on: device)
        let batchedB = try Tensor.randn([3, 5, 4], seed: 3, on: device)
        let av = doubles(try a.toArray()), sv = doubles(try shared.toArray()), bv = doubles(try batchedB.toArray())
        let withShared = try matmul(a, shared).toArray()
        let withBatched = try matmul(a, batchedB).toArray()
        var expectShared: [Double] = [], expectBatched: [Double] = []
        for batch in 0..<3 {
            let block = Array(av[batch * 35 ..< (batch + 1) * 35])
            expectShared += Reference.matmul(block, sv, m: 7, n: 4, k: 5)
            expectBatched += Reference.matmul(block, Array(bv[batch * 20 ..< (batch + 1) * 20]), m: 7, n: 4, k: 5)
        }
        #expect(nmse(withShared, expectShared) < 1e-12)
        #expect(nmse(withBatched, expectBatched) < 1e-12)

        // [2, 1, 3, 4] x [5, 4, 2] broadcasts to [2, 5, 3, 2].
        let left = try Tensor.randn([2, 1, 3, 4], seed: 4, on: device)
        let right = try Tensor.randn([5, 4, 2], seed: 5, on: device)
        let product = try matmul(left, right)
        #expect(product.shape == [2, 5, 3, 2])
        let lv = doubles(try left.toArray()), rv = doubles(try right.toArray())
        var expected: [Double] = []
        for i in 0..<2 {
            for j in 0..<5 {
                expected += Reference.matmul(Array(lv[i * 12 ..< (i + 1) * 12]), Array(rv[j * 8 ..< (j + 1) * 8]), m: 3, n: 2, k: 4)
            }
        }
        #expect(nmse(try product.toArray(), expected) < 1e-12)
        // Batched transposed view of B.
        let bt = try Tensor.randn([3, 4, 5], seed: 6, on: device)
        let viaView = try matmul(a, bt.transposed()).toArray()
        let viaCopy = try matmul(a, bt.transposed().contiguous()).toArray()
        #expect(nmse(viaView, doubles(viaCopy)) < 1e-12)
    }

    @Test(arguments: TestDevices.all)
    func vectorOperandsFollowNumPy(device: Device) throws {
        let v = try Tensor([1, 2, 3], shape: [3], on: device)
        let m = try Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2], on: device)
        let vm = try matmul(v, m)
        #expect(vm.shape == [2])
        #expect(try vm.toArray() == [4, 5])
        let mv = try matmul(try m.transposed(), v)
        #expect(mv.shape == [2])
        #expect(try mv.toArray() == [4, 5])
        let dot = try matmul(v, v)
        #expect(dot.shape == [])
        #expect(try dot.item() == 14)
    }

    @Test(arguments: TestDevices.all)
    func linearFusesBiasAndActivation(device: Device) throws {
        for activation in Activation.allCases {
            for (rows, features, outputs) in [(1, 7, 31), (31, 257, 7), (2, 1, 1)] {
                let x = try Tensor.randn([rows, features], seed: 7, on: device)
                let w = try Tensor.randn([features, outputs], std: 0.3, seed: 8, on: device)
                let b = try Tensor.randn([outputs], seed: 9, on: device)
                let y = try linear(x, weight: w, bias: b, activation: activation)
                let z = Reference.matmul(doubles(try x.toArray()), doubles(try w.toArray()), m: rows, n: outputs, k: features)
                let bias = doubles(try b.toArray())
                let expected = z.enumerated().map { Reference.activation(activation, $0.element + bias[$0.offset % outputs]) }
                let error = nmse(try y.toArray(), expected)
                #expect(error < 1e-10, "\(activation) \(rows)x\(features)x\(outputs): nmse \(error)")
            }
        }
        // [batch, seq, in] input and no bias.
        let x3 = try Tensor.randn([2, 3, 5], seed: 1, on: device)
        let w = try Tensor.randn([5, 4], seed: 2, on: device)
        let y3 = try linear(x3, weight: w)
        #expect(y3.shape == [2, 3, 4])
        #expect(nmse(try y3.toArray(), doubles(try matmul(x3, w).toArray())) < 1e-14)
    }

    @Test(arguments: TestDevices.all)
    func activationsMatchIndependentFormulas(device: Device) throws {
        var rng = SeededRandom(seed: 3)
        var values = rng.normalFloats(4099, std: 4)
        values += [0, -0, Float.leastNonzeroMagnitude * 1000, -Float.leastNonzeroMagnitude * 1000, 30, -30, 80, -80, 1e-7, -1e-7]
        let x = try Tensor(values, shape: [values.count], on: device)
        let grad = try Tensor(rng.normalFloats(values.count), shape: [values.count], on: device)
        let gradValues = doubles(try grad.toArray())
        for activation in Activation.allCases + [.leakyReLU(slope: 0.2), .elu(alpha: 0.5)] {
            let y = try activate(x, activation).toArray()
            let expected = values.map { Reference.activation(activation, Double($0)) }
            let error = nmse(y, expected)
            #expect(error < 1e-10, "\(activation) forward nmse \(error)")
            let dx = try activationBackward(activation, input: x, gradOutput: grad).toArray()
            let expectedGrad = values.indices.map { gradValues[$0] * Reference.derivative(activation, Double(values[$0])) }
            let gradError = nmse(dx, expectedGrad)
            #expect(gradError < 1e-9, "\(activation) backward nmse \(gradError)")
        }
        // Shorthands are the same op.
        #expect(try gelu(x).toArray() == activate(x, .gelu).toArray())
        #expect(try relu(x).toArray() == values.map { max($0, 0) })
    }

    @Test(arguments: TestDevices.all)
    func elementwiseBroadcasts(device: Device) throws {
        let cases: [([Int], [Int])] = [([7], [7]), ([31, 7], [7]), ([31, 1], [1, 7]), ([257], []),
                                       ([2, 3, 5], [3, 1]), ([1], [4, 1, 3]), ([0, 3], [3])]
        for (lhsShape, rhsShape) in cases {
            let a = try Tensor.randn(lhsShape, seed: 11, on: device)
            let b = try Tensor.uniform(rhsShape, low: 0.5, high: 2, seed: 12, on: device)
            let shape = try ShapeMath.broadcast(lhsShape, rhsShape, op: "test")
            let av = doubles(try a.toArray()), bv = doubles(try b.toArray())
            for op in BinaryOp.allCases {
                let out = try elementwise(op, a, b)
                #expect(out.shape == shape)
                let expected = (0..<ShapeMath.elementCount(shape)).map { index in
                    op.apply(av[broadcastIndex(index, shape, lhsShape)], bv[broadcastIndex(index, shape, rhsShape)])
                }
                #expect(nmse(try out.toArray(), expected) < 1e-14, "\(op) \(lhsShape) \(rhsShape)")
            }
        }
        // Operands that are views.
        let m = try Tensor.randn([4, 6], seed: 1, on: device)
        let t = try m.transposed()
        let sum = try (t + t).toArray()
        let doubled = try (t * Float(2)).contiguous().toArray()
        #expect(sum == doubled)
    }

    @Test(arguments: TestDevices.all)
    func scalarArithmetic(device: Device) throws {
        let x = try Tensor([1, -2, 3], shape: [3], on: device)
        #expect(try (x + 1).toArray() == [2, -1, 4])
        #expect(try (x - 1).toArray() == [0, -3, 2])
        #expect(try (x * 2).toArray() == [2, -4, 6])
        #expect(try (x / 2).toArray() == [0.5, -1, 1.5])
        #expect(try (-x).toArray() == [-1, 2, -3])
        #expect(try (Float(3) * x).toArray() == [3, -6, 9])
    }

    @Test(arguments: TestDevices.all)
    func reductionsMatchReference(device: Device) throws {
        for shape in [[257], [7, 31], [3, 257, 5], [31, 1, 7], [2, 0, 3]] {
            let x = try Tensor.randn(shape, seed: 21, on: device)
            let values = doubles(try x.toArray())
            for axis in 0..<shape.count {
                let outer = shape[..<axis].reduce(1, *), length = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
                var expected = [Double](repeating: 0, count: outer * inner)
                for o in 0..<outer { for l in 0..<length { for i in 0..<inner {
                    expected[o * inner + i] += values[(o * length + l) * inner + i]
                } } }
                let sum = try x.sum(axis: axis)
                var reduced = shape
                reduced.remove(at: axis)
                #expect(sum.shape == reduced)
                #expect(nmse(try sum.toArray(), expected) < 1e-12, "sum \(shape) axis \(axis)")
                let mean = try x.mean(axis: -shape.count + axis, keepDims: true)
                var kept = shape
                kept[axis] = 1
                #expect(mean.shape == kept)
                let meanValues = try mean.toArray()
                if length > 0 {
                    #expect(nmse(meanValues, expected.map { $0 / Double(length) }) < 1e-12)
                } else {
                    #expect(meanValues.allSatisfy { $0.isNaN })
                }
            }
        }
        let total = try Tensor([1, 2, 3, 4], shape: [2, 2], on: device)
        #expect(try total.sum().item() == 10)
        #expect(try total.mean().item() == 2.5)
    }

    @Test(arguments: TestDevices.all)
    func viewsAndLayout(device: Device) throws {
        let x = try Tensor((0..<24).map(Float.init), shape: [2, 3, 4], on: device)
        let p = try x.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(!p.isContiguous)
        let pv = try p.toArray()
        for i in 0..<4 { for j in 0..<2 { for k in 0..<3 {
            #expect(pv[(i * 2 + j) * 3 + k] == Float(j * 12 + k * 4 + i))
        } } }
        let flat = try p.reshaped([-1, 6])
        #expect(flat.shape == [4, 6])
        #expect(try flat.toArray() == pv)
        let t = try x.transposed()
        #expect(t.shape == [2, 4, 3])
        #expect(try t.transposed().toArray() == x.toArray())
    }
}

/// The row-major index into an operand of `operand` shape that broadcasts to `shape` at flat `index`.
func broadcastIndex(_ index: Int, _ shape: [Int], _ operand: [Int]) -> Int {
    var remaining = index, result = 0, scale = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        let coordinate = remaining % shape[axis]
        remaining /= shape[axis]
        let own = axis - (shape.count - operand.count)
        if own >= 0 {
            if operand[own] != 1 { result += coordinate * scale }
            scale *= operand[own]
        }
    }
    return result
}
