import Foundation
import TestSupport
import Testing
import TensorEngine

/// `embedding` and `gather` on every device: values against the table, the scatter-add
/// gradient with repeated indices against a float64 reference, finite differences, bitwise
/// determinism of backward, rank-0/1/3 index shapes, and the errors.
@Suite(.vulkanValidation) struct EmbeddingTests {
    static func table(_ rows: Int, _ columns: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return rng.normalFloats(rows * columns)
    }

    @Test(arguments: TestDevices.all)
    func lookupCopiesRowsForEveryIndexShape(device: Device) throws {
        let (rows, columns) = (11, 5)
        let values = Self.table(rows, columns, seed: 1)
        let weight = try Tensor(values, shape: [rows, columns], on: device)
        for shape in [[], [1], [7], [2, 3, 2]] as [[Int]] {
            let count = shape.reduce(1, *)
            let ids = (0..<count).map { Int32(($0 * 7 + 3) % rows) }
            let e = try embedding(Tensor(int32: ids, shape: shape, on: device), weight: weight)
            #expect(e.shape == shape + [columns])
            let expected = ids.flatMap { values[Int($0) * columns..<(Int($0) + 1) * columns] }
            #expect(try e.toArray() == expected, "indices \(shape) on \(device.identifier)")
        }
        let empty = try embedding(Tensor(int32: [], shape: [0, 4], on: device), weight: weight)
        #expect(empty.shape == [0, 4, columns])
    }

    /// Repeated indices accumulate: all-equal, a few hot ones and distinct ones, against float64.
    @Test(arguments: TestDevices.all)
    func gradientScatterAddsRepeatedIndices(device: Device) throws {
        let (rows, columns) = (13, 6)
        let patterns: [[Int32]] = [
            [Int32](repeating: 4, count: 40),
            (0..<40).map { [0, 12, 5][$0 % 3] },
            (0..<40).map { Int32(($0 * 5) % rows) },
        ]
        for ids in patterns {
            let weight = try Tensor(Self.table(rows, columns, seed: 2), shape: [rows, columns], on: device).requiringGrad()
            let upstream = Self.table(ids.count, columns, seed: 3)
            let e = try embedding(Tensor(int32: ids, shape: [4, 10], on: device), weight: weight)
            try (e * Tensor(upstream, shape: [4, 10, columns], on: device)).sum().backward()
            var expected = [Double](repeating: 0, count: rows * columns)
            for (n, id) in ids.enumerated() {
                for c in 0..<columns { expected[Int(id) * columns + c] += Double(upstream[n * columns + c]) }
            }
            let got = try weight.grad!.toArray()
            #expect(nmse(got, expected) < 1e-12, "indices \(ids.prefix(4))... on \(device.identifier)")
            #expect(weight.grad!.shape == [rows, columns])
        }
    }

    /// Two backward passes give the same bits (no float atomics in arbitrary order), with
    /// several workgroups of work and a hot index.
    @Test(arguments: TestDevices.all)
    func backwardIsBitwiseDeterministic(device: Device) throws {
        let (rows, columns, count) = (50, 33, 300)
        let ids = (0..<count).map { Int32($0 % 4 == 0 ? 7 : ($0 * 13) % rows) }
        let upstream = try Tensor(Self.table(count, columns, seed: 4).map { $0 * 1e3 }, shape: [count, columns], on: device)
        func gradient() throws -> [UInt32] {
            let weight = try Tensor(Self.table(rows, columns, seed: 5), shape: [rows, columns], on: device).requiringGrad()
            try (embedding(Tensor(int32: ids, shape: [count], on: device), weight: weight) * upstream).sum().backward()
            return try weight.grad!.toArray().map(\.bitPattern)
        }
        #expect(try gradient() == gradient())
        let x = try Tensor(Self.table(count, 4, seed: 6), shape: [count, 4], on: device)
        let picks = try Tensor(int32: (0..<count).map { Int32($0 % 3 == 0 ? 0 : $0 % 4) }, shape: [count, 1], on: device)
        func gatherGradient() throws -> [UInt32] {
            let leaf = x.detached().requiringGrad()
            try (gather(leaf, axis: 1, indices: picks) * 3.25).sum().backward()
            return try leaf.grad!.toArray().map(\.bitPattern)
        }
        #expect(try gatherGradient() == gatherGradient())
    }

    @Test(arguments: TestDevices.all)
    func embeddingGradientMatchesFiniteDifferences(device: Device) throws {
        let ids = try Tensor(int32: [1, 3, 1, 0, 3, 3], shape: [2, 3], on: device)
        try AutogradTests.check("embedding", on: device, shapes: [[4, 3], [2, 3, 3]]) { t in
            try (embedding(ids, weight: t[0]) * t[1]).sum()
        }
    }

    @Test(arguments: TestDevices.all)
    func gatherMatchesTorchSemantics(device: Device) throws {
        let x = try Tensor((0..<24).map(Float.init), shape: [2, 3, 4], on: device)
        // Axis 1 (also as -2), indices narrower than x on axis 2.
        let i = try Tensor(int32: [2, 0, 1, 1, 1, 2], shape: [2, 1, 3], on: device)
        for axis in [1, -2] {
            let y = try gather(x, axis: axis, indices: i)
            #expect(y.shape == [2, 1, 3])
            // out[a][0][c] = x[a][i[a][0][c]][c]
            #expect(try y.toArray() == [8, 1, 6, 16, 17, 22])
        }
        let rows = try gather(x, axis: 0, indices: Tensor(int32: [1, 0, 1], shape: [1, 1, 3], on: device))
        #expect(try rows.toArray() == [12, 1, 14])
        let scalar = try gather(Tensor(scalar: 5, on: device), axis: 0, indices: Tensor(int32: [0], shape: [], on: device))
        #expect(scalar.shape == [])
        #expect(try scalar.item() == 5)
        let vector = try gather(Tensor([4, 5, 6], shape: [3], on: device), axis: -1,
                                indices: Tensor(int32: [2, 2, 0, 1, 2], shape: [5], on: device))
        #expect(try vector.toArray() == [6, 6, 4, 5, 6])
    }

    @Test(arguments: TestDevices.all)
    func gatherGradientMatchesFiniteDifferences(device: Device) throws {
        let i = try Tensor(int32: [2, 0, 2, 2, 1, 0, 0, 0], shape: [2, 4], on: device)
        try AutogradTests.check("gather", on: device, shapes: [[2, 3], [2, 4]]) { t in
            try (gather(t[0], axis: 1, indices: i) * t[1]).sum()
        }
        let j = try Tensor(int32: [1, 1, 0], shape: [1, 3], on: device)
        try AutogradTests.check("gather axis 0", on: device, shapes: [[2, 3]]) { t in
            try (gather(t[0], axis: 0, indices: j) * gather(t[0], axis: 0, indices: j)).sum()
        }
    }

    @Test(arguments: TestDevices.all)
    func badIndicesAndShapesThrow(device: Device) throws {
        let weight = try Tensor.zeros([10, 4], on: device)
        for bad: Int32 in [10, -1, 1_000_000] {
            let ids = try Tensor(int32: [0, bad, 3], shape: [3], on: device)
            let error = #expect(throws: TensorError.self) { try embedding(ids, weight: weight) }
            #expect("\(error.map { "\($0)" } ?? "")".contains("index \(bad) at position 1 is outside 0..<10"))
        }
        #expect(throws: TensorError.self) { try embedding(Tensor([1], shape: [1], on: device), weight: weight) }
        #expect(throws: TensorError.self) { try embedding(Tensor(int32: [1], shape: [1], on: device), weight: Tensor.zeros([10], on: device)) }
        #expect(throws: TensorError.self) {
            try embedding(Tensor(int32: [1], shape: [1], on: device), weight: weight.cast(to: .int32))
        }
        if device.kind != .cpu {
            #expect(throws: TensorError.self) { try embedding(Tensor(int32: [1], shape: [1], on: device), weight: Tensor.zeros([10, 4], on: .cpu)) }
        }
        let x = try Tensor.zeros([2, 3], on: device)
        let error = #expect(throws: TensorError.self) { try gather(x, axis: 1, indices: Tensor(int32: [0, 3], shape: [1, 2], on: device)) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("index 3 at position 1 is outside 0..<3"))
        #expect(throws: TensorError.self) { try gather(x, axis: 2, indices: Tensor(int32: [0], shape: [1, 1], on: device)) }
        #expect(throws: TensorError.self) { try gather(x, axis: 0, indices: Tensor(int32: [0], shape: [1], on: device)) }
        #expect(throws: TensorError.self) { try gather(x, axis: 0, indices: Tensor(int32: [0, 0, 0, 0], shape: [1, 4], on: device)) }
        #expect(throws: TensorError.self) { try gather(x, axis: 0, indices: Tensor([0], shape: [1, 1], on: device)) }
    }

    /// 2-byte tables: rows copied bit for bit (odd widths end mid-word), the output in the
    /// table's dtype, the gradient summed in float32 and rounded once to it.
    @Test(arguments: TestDevices.all)
    func halfPrecisionTables(device: Device) throws {
        let (rows, columns) = (9, 5)
        for dtype in [DType.float16, .bfloat16] {
            let table = try Tensor(Self.table(rows, columns, seed: 7), shape: [rows, columns], on: device).cast(to: dtype)
            let exact = try table.toArray()
            let ids: [Int32] = [3, 8, 3, 0, 3, 5, 3]
            let weight = table.detached().requiringGrad()
            let e = try embedding(Tensor(int32: ids, shape: [7], on: device), weight: weight)
            #expect(e.dtype == dtype && e.shape == [7, columns])
            #expect(try e.toArray() == ids.flatMap { exact[Int($0) * columns..<(Int($0) + 1) * columns] })
            let upstream = Self.table(ids.count, columns, seed: 8)
            try (e.cast(to: .float32) * Tensor(upstream, shape: [7, columns], on: device)).sum().backward()
            #expect(weight.grad!.dtype == dtype)
            var expected = [Double](repeating: 0, count: rows * columns)
            for (n, id) in ids.enumerated() {
                for c in 0..<columns { expected[Int(id) * columns + c] += Double(upstream[n * columns + c]) }
            }
            let got = try weight.grad!.toArray()
            let tolerance = dtype == .float16 ? 1e-3 : 8e-3
            for i in got.indices {
                #expect(abs(Double(got[i]) - expected[i]) <= tolerance * max(1, abs(expected[i])), "\(dtype) element \(i)")
            }
        }
        let ints = try Tensor(int32: [10, 20, 30, 40, 50, 60], shape: [2, 3], on: device)
        let picked = try gather(ints, axis: 1, indices: Tensor(int32: [2, 2, 0, 1], shape: [2, 2], on: device))
        #expect(try picked.toInt32Array() == [30, 30, 40, 50])
    }

    @Test func backwardRetainsOnlyTheIndices() throws {
        let weight = try Tensor.randn([100, 16], seed: 1, on: .cpu).requiringGrad()
        let loss = try embedding(Tensor(int32: [1, 2, 3, 4, 5, 6], shape: [2, 3], on: .cpu), weight: weight).sum()
        #expect(loss.retainedBytesByOp()["embedding indices"] == 6 * 4)
        #expect(loss.retainedBytesByOp().values.reduce(0, +) == 6 * 4)
    }
}
