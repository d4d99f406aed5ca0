import Foundation
import TestSupport
import Testing
import TensorEngine

/// max/min/argmax/argmin along an axis and topK on every device: float64 references with
/// ties, NaN and infinities, every axis, keepDims, gradients to the chosen positions and
/// against finite differences, bad axes and k.
@Suite(.vulkanValidation) struct TopKTests {
    /// [3, 5] with ties (7 twice in row 0), a NaN in row 1, infinities in row 2.
    static let values: [Float] = [7, 1, 7, -3, 0,
                                  2, .nan, 9, .nan, -1,
                                  -.infinity, 4, .infinity, 4, -0.0]

    /// The first NaN, else the first strict extreme: PyTorch's rule, in float64.
    static func extreme(_ line: [Double], largest: Bool) -> Int {
        if let nan = line.firstIndex(where: \.isNaN) { return nan }
        return line.indices.reduce(0) { best, i in (largest ? line[i] > line[best] : line[i] < line[best]) ? i : best }
    }

    static func line(_ axis: Int, _ at: Int) -> [Double] {
        axis == 1 ? (0..<5).map { Double(values[at * 5 + $0]) } : (0..<3).map { Double(values[$0 * 5 + at]) }
    }

    static func same(_ got: [Float], _ expected: [Double]) -> Bool {
        got.count == expected.count && zip(got, expected).allSatisfy { ($0.isNaN && $1.isNaN) || Double($0) == $1 }
    }

    @Test(arguments: TestDevices.all)
    func axisExtremesMatchFloat64(device: Device) throws {
        let x = try Tensor(Self.values, shape: [3, 5], on: device)
        for axis in [0, 1, -1, -2] {
            let resolved = axis < 0 ? axis + 2 : axis
            let count = resolved == 1 ? 3 : 5
            for largest in [true, false] {
                let positions = (0..<count).map { Self.extreme(Self.line(resolved, $0), largest: largest) }
                let expectedValues = (0..<count).map { Self.line(resolved, $0)[positions[$0]] }
                let got = largest ? try x.max(axis: axis) : try x.min(axis: axis)
                #expect(got.shape == [count])
                #expect(Self.same(try got.toArray(), expectedValues), "\(largest ? "max" : "min") axis \(axis)")
                let index = largest ? try x.argmax(axis: axis) : try x.argmin(axis: axis)
                #expect(index.dtype == .int32)
                #expect(try index.toInt32Array() == positions.map(Int32.init), "arg\(largest ? "max" : "min") axis \(axis)")
            }
        }
        #expect(try x.max(axis: 1, keepDims: true).shape == [3, 1])
        #expect(try x.argmin(axis: 0, keepDims: true).shape == [1, 5])
        // Several workgroups of outputs, read through a transposed view.
        let wide = try Tensor((0..<(7 * 300)).map { Float(($0 * 37) % 101) }, shape: [7, 300], on: device)
        let expected = (0..<300).map { j in (0..<7).map { Double((($0 * 300 + j) * 37) % 101) } }
        #expect(try wide.transposed().argmax(axis: 1).toInt32Array()
            == expected.map { Int32(Self.extreme($0, largest: true)) })
    }

    @Test(arguments: TestDevices.all)
    func maxGradientGoesToTheFirstMaximum(device: Device) throws {
        let x = try Tensor([7, 1, 7, -3, 0, 2], shape: [2, 3], on: device).requiringGrad()
        let loss = try (x.max(axis: 1) * Tensor([10, 20], shape: [2], on: device)).sum()
        try loss.backward()
        #expect(try x.grad!.toArray() == [10, 0, 0, 0, 0, 20])
        #expect(loss.retainedBytesByOp()["max indices"] == 8)
        try AutogradTests.check("max axis 0", on: device, shapes: [[4, 3]]) { t in
            try (t[0].max(axis: 0) * Tensor([1, -2, 3], shape: [3], on: device)).sum()
        }
        try AutogradTests.check("min axis -1", on: device, shapes: [[3, 5]]) { t in
            try (t[0].min(axis: -1, keepDims: true) * Tensor([1, -2, 3], shape: [3, 1], on: device)).sum()
        }
    }

    /// Stable sort in float64 with NaN above everything: the reference order.
    static func reference(_ row: [Float], k: Int, largest: Bool) -> [Int] {
        func key(_ i: Int) -> (Int, Double) {
            row[i].isNaN ? (largest ? 0 : 1, 0) : (largest ? 1 : 0, largest ? -Double(row[i]) : Double(row[i]))
        }
        return Array(row.indices.sorted { key($0) < key($1) || (key($0) == key($1) && $0 < $1) }.prefix(k))
    }

    @Test(arguments: TestDevices.all)
    func topKMatchesASortInFloat64(device: Device) throws {
        let x = try Tensor(Self.values, shape: [3, 5], on: device)
        for largest in [true, false] {
            for k in [0, 1, 3, 5] {
                let (values, indices) = try topK(x, k: k, largest: largest)
                #expect(values.shape == [3, k] && indices.shape == [3, k] && indices.dtype == .int32)
                var expectedIndices: [Int32] = [], expectedValues: [Double] = []
                for r in 0..<3 {
                    let row = Array(Self.values[(r * 5)..<(r * 5 + 5)])
                    for i in Self.reference(row, k: k, largest: largest) {
                        expectedIndices.append(Int32(i))
                        expectedValues.append(Double(row[i]))
                    }
                }
                #expect(try indices.toInt32Array() == expectedIndices, "k \(k) largest \(largest)")
                #expect(Self.same(try values.toArray(), expectedValues), "k \(k) largest \(largest)")
            }
        }
        // Along axis 0: the columns.
        let (v0, i0) = try topK(x, k: 2, axis: 0)
        #expect(v0.shape == [2, 5])
        var expected0 = [Int32](repeating: 0, count: 10)
        for c in 0..<5 {
            let column = (0..<3).map { Self.values[$0 * 5 + c] }
            for (j, i) in Self.reference(column, k: 2, largest: true).enumerated() { expected0[j * 5 + c] = Int32(i) }
        }
        #expect(try i0.toInt32Array() == expected0)
        // More rows than a workgroup.
        let many = try Tensor((0..<(300 * 6)).map { Float(($0 * 7) % 13) }, shape: [300, 6], on: device)
        let (_, manyIndices) = try topK(many, k: 2)
        let manyExpected = (0..<300).flatMap { r in
            Self.reference((0..<6).map { Float(((r * 6 + $0) * 7) % 13) }, k: 2, largest: true).map(Int32.init)
        }
        #expect(try manyIndices.toInt32Array() == manyExpected)
    }

    @Test(arguments: TestDevices.all)
    func topKGradientScattersToTheIndices(device: Device) throws {
        let x = try Tensor([3, 1, 4, 1, 5, 9], shape: [2, 3], on: device).requiringGrad()
        let (values, _) = try topK(x, k: 2)
        try (values * Tensor([1, 2, 3, 4], shape: [2, 2], on: device)).sum().backward()
        #expect(try x.grad!.toArray() == [2, 0, 1, 0, 4, 3])
        try AutogradTests.check("topK axis 0", on: device, shapes: [[5, 3]]) { t in
            let (v, _) = try topK(t[0], k: 2, axis: 0, largest: false)
            return try (v * Tensor([1, -2, 3, 0.5, 4, -1], shape: [2, 3], on: device)).sum()
        }
    }

    @Test(arguments: TestDevices.all)
    func badAxesAndKThrow(device: Device) throws {
        let x = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], on: device)
        #expect(throws: TensorError.self) { try x.max(axis: 2) }
        #expect(throws: TensorError.self) { try x.argmin(axis: -3) }
        #expect(throws: TensorError.self) { try topK(x, k: 4) }
        #expect(throws: TensorError.self) { try topK(x, k: -1) }
        #expect(throws: TensorError.self) { try topK(x, k: 1, axis: 2) }
        #expect(throws: TensorError.self) { try Tensor.zeros([2, 0], on: device).max(axis: 1) }
        #expect(throws: TensorError.self) { try Tensor(scalar: 1, on: device).argmax(axis: 0) }
    }
}
