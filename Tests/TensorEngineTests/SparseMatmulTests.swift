import Foundation
import TestSupport
import Testing
import TensorEngine

/// Input- and output-sparse products against float64 references, on every test device.
@Suite(.vulkanValidation) struct SparseMatmulTests {
    /// x [rows, k] with about `zeros` of its entries exactly 0, the rest normal.
    static func sparseValues(_ count: Int, zeros: Double, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in rng.nextUniform() < zeros ? 0 : Float(rng.nextNormal()) }
    }

    /// The reference: x with every |x| <= t[k] set to 0, times w, in float64.
    static func reference(_ x: [Float], _ w: [Float], rows: Int, k: Int, n: Int, thresholds: [Float]) -> [Double] {
        let kept = x.indices.map { i in abs(x[i]) <= thresholds[i % k] ? 0 : Double(x[i]) }
        return Reference.matmul(kept, doubles(w), m: rows, n: n, k: k)
    }

    @Test(arguments: TestDevices.all)
    func everyPathMatchesTheThresholdedDenseProduct(device: Device) throws {
        var seed: UInt64 = 100
        for (rows, k, n) in [(1, 1, 1), (1, 257, 131), (4, 64, 33), (7, 31, 17), (16, 129, 65), (3, 300, 5)] {
            for zeros in [0.0, 0.5, 0.9, 1.0] {
                for threshold: Float in [0, 0.5] {
                    seed += 1
                    let xv = Self.sparseValues(rows * k, zeros: zeros, seed: seed)
                    let x = try Tensor(xv, shape: [rows, k], on: device)
                    let w = try Tensor.randn([k, n], seed: seed + 1, on: device)
                    let expected = Self.reference(xv, try w.toArray(), rows: rows, k: k, n: n,
                                                  thresholds: [Float](repeating: threshold, count: k))
                    let auto = try sparseMatmul(x, w, threshold: threshold)
                    #expect(auto.shape == [rows, n])
                    #expect(nmse(try auto.toArray(), expected) < 1e-10, "auto \(rows)x\(k)x\(n) zeros \(zeros) t \(threshold)")
                    for mode in SparseMode.allCases {
                        let y = try sparseMatmul(x, w, threshold: threshold, mode: mode)
                        #expect(nmse(try y.toArray(), expected) < 1e-10, "\(mode) \(rows)x\(k)x\(n) zeros \(zeros) t \(threshold)")
                    }
                }
            }
        }
    }

    /// Shapes above the CPU's threading threshold: the list split across cores (one row) and
    /// the columns split across cores (several rows), odd column counts.
    @Test(arguments: TestDevices.all)
    func threadedShapesMatchTheReference(device: Device) throws {
        for (rows, k, n) in [(1, 1024, 515), (1, 999, 1037), (3, 1024, 515)] {
            let xv = Self.sparseValues(rows * k, zeros: 0.5, seed: UInt64(k + rows))
            let x = try Tensor(xv, shape: [rows, k], on: device)
            let w = try Tensor.randn([k, n], seed: 5, on: device)
            let expected = Self.reference(xv, try w.toArray(), rows: rows, k: k, n: n,
                                          thresholds: [Float](repeating: 0, count: k))
            for mode in SparseMode.allCases {
                let y = try sparseMatmul(x, w, threshold: 0, mode: mode)
                #expect(nmse(try y.toArray(), expected) < 1e-10, "\(mode) \(rows)x\(k)x\(n)")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func perChannelThresholdsAndLeadingAxes(device: Device) throws {
        let (k, n) = (37, 23)
        let xv = Self.sparseValues(2 * 3 * k, zeros: 0.3, seed: 7)
        let tv = (0..<k).map { Float($0 % 5) * 0.3 }
        let x = try Tensor(xv, shape: [2, 3, k], on: device)
        let w = try Tensor.randn([k, n], seed: 8, on: device)
        let y = try sparseMatmul(x, w, threshold: Tensor(tv, shape: [k], on: device))
        #expect(y.shape == [2, 3, n])
        let expected = Self.reference(xv, try w.toArray(), rows: 6, k: k, n: n, thresholds: tv)
        #expect(nmse(try y.toArray(), expected) < 1e-10)

        // A rank-1 input is one row; a transposed weight view is read correctly.
        let v = try Tensor(Array(xv.prefix(k)), shape: [k], on: device)
        let wT = try Tensor.randn([n, k], seed: 9, on: device)
        let yv = try sparseMatmul(v, try wT.transposed(), threshold: 0)
        #expect(yv.shape == [n])
        let dense = try matmul(v, try wT.transposed())
        #expect(nmse(try yv.toArray(), doubles(try dense.toArray())) < 1e-10)
    }

    @Test(arguments: TestDevices.all)
    func invalidArgumentsThrow(device: Device) throws {
        let x = try Tensor.ones([2, 4], on: device), w = try Tensor.ones([4, 3], on: device)
        #expect(throws: TensorError.self) { try sparseMatmul(x, try Tensor.ones([5, 3], on: device), threshold: 0) }
        #expect(throws: TensorError.self) { try sparseMatmul(x, try Tensor.ones([4], on: device), threshold: 0) }
        #expect(throws: TensorError.self) { try sparseMatmul(x, w, threshold: -1) }
        #expect(throws: TensorError.self) { try sparseMatmul(x, w, threshold: .nan) }
        #expect(throws: TensorError.self) { try sparseMatmul(x, w, threshold: try Tensor.ones([3], on: device)) }
        let active = try Tensor(int32: [0, 7], shape: [2], on: device)
        #expect(throws: TensorError.self) { try outputSparseMatmul(x, try Tensor.ones([3, 4], on: device), activeRows: active) }
        let floats = try Tensor([0, 1], shape: [2], on: device)
        #expect(throws: TensorError.self) { try outputSparseMatmul(x, try Tensor.ones([3, 4], on: device), activeRows: floats) }
    }

    @Test(arguments: TestDevices.all)
    func outputSparseComputesOnlyListedRows(device: Device) throws {
        let (rows, k, n) = (3, 67, 29)
        let x = try Tensor.randn([rows, k], seed: 20, on: device)
        let w = try Tensor.randn([n, k], seed: 21, on: device)
        let bias = try Tensor.randn([n], seed: 22, on: device)
        let xv = doubles(try x.toArray()), wv = doubles(try w.toArray()), bv = doubles(try bias.toArray())
        for list: [Int32] in [[], [5], [28, 0, 13, 13], (0..<Int32(n)).map { $0 }] {
            for activation in [Activation.identity, .relu, .gelu] {
                let y = try outputSparseMatmul(x, w, activeRows: Tensor(int32: list, shape: [list.count], on: device),
                                               bias: bias, activation: activation)
                #expect(y.shape == [rows, n])
                var expected = [Double](repeating: 0, count: rows * n)
                for j in Set(list.map(Int.init)) {
                    for r in 0..<rows {
                        var acc = bv[j]
                        for c in 0..<k { acc += xv[r * k + c] * wv[j * k + c] }
                        expected[r * n + j] = Reference.activation(activation, acc)
                    }
                }
                let got = try y.toArray()
                #expect(nmse(got, expected) < 1e-9, "\(activation) \(list)")
                for j in 0..<n where !list.contains(Int32(j)) {
                    #expect((0..<rows).allSatisfy { got[$0 * n + j] == 0 }, "unlisted output \(j) must be 0")
                }
            }
        }
    }
}
