import Foundation
import TestSupport
import Testing
import TensorEngine

/// `slice`, `select`, `split` and `chunk` on every device: views sharing storage, values
/// against host arrays, PyTorch's piece sizes, gradients (written into zeros of the input's
/// shape) against finite differences, and bad input.
@Suite(.vulkanValidation) struct SlicingTests {
    func tensor(_ array: HostArray, on device: Device) throws -> Tensor {
        try Tensor(array.floats, shape: array.shape, on: device)
    }

    @Test(arguments: TestDevices.all)
    func slicesAreViews(device: Device) throws {
        let host = HostArray.ramp([4, 5, 3], from: 0)
        let x = try tensor(host, on: device)
        for (axis, resolved, start, end, step) in [(1, 1, 1, 4, 1), (-1, 2, 0, 3, 2), (0, 0, 1, 4, 2), (1, 1, 2, 2, 1),
                                                   (1, 1, 0, 5, 3), (2, 2, 3, 3, 1)] {
            let s = try x.slice(axis: axis, range: start..<end, step: step)
            #expect(s.storageForBenchmarks === x.storageForBenchmarks, "a view, not a copy")
            let expected = host.slice(axis: resolved, start: start, end: end, step: step)
            #expect(s.shape == expected.shape)
            #expect(try s.toArray() == expected.floats, "axis \(axis) \(start)..<\(end) step \(step)")
        }
        // A slice of a slice of a transpose, and select.
        let t = try x.permuted([2, 0, 1]).slice(axis: 2, range: 1..<5).slice(axis: 1, range: 1..<3)
        #expect(try t.toArray() == HostArray.build([3, 2, 4]) { host.at([$0[1] + 1, $0[2] + 1, $0[0]]) }.floats)
        let row = try x.select(axis: 1, index: -2)
        #expect(row.shape == [4, 3] && row.storageForBenchmarks === x.storageForBenchmarks)
        #expect(try row.toArray() == HostArray.build([4, 3]) { host.at([$0[0], 3, $0[1]]) }.floats)
        let halves = try x.cast(to: .float16).slice(axis: 2, range: 1..<3)
        #expect(try halves.toArray() == host.slice(axis: 2, start: 1, end: 3).floats)
    }

    @Test(arguments: TestDevices.all)
    func splitsAndChunksAsPyTorch(device: Device) throws {
        let host = HostArray.ramp([2, 5], from: 0)
        let x = try tensor(host, on: device)
        func check(_ pieces: [Tensor], _ extents: [Int], _ name: String) throws {
            #expect(pieces.map { $0.shape[1] } == extents, "\(name)")
            var start = 0
            for (piece, extent) in zip(pieces, extents) {
                #expect(try piece.toArray() == host.slice(axis: 1, start: start, end: start + extent).floats, "\(name)")
                start += extent
            }
        }
        try check(split(x, sizes: [2, 0, 3], axis: -1), [2, 0, 3], "sizes")
        try check(split(x, size: 2, axis: 1), [2, 2, 1], "size 2")
        try check(split(x, size: 7, axis: 1), [5], "size 7")
        try check(chunk(x, parts: 2, axis: 1), [3, 2], "2 parts")
        try check(chunk(x, parts: 4, axis: 1), [2, 2, 1], "4 parts (fewer pieces)")
        try check(chunk(x, parts: 5, axis: -1), [1, 1, 1, 1, 1], "5 parts")
        let empty = try Tensor.zeros([3, 0], on: device)
        #expect(try split(empty, size: 2, axis: 1).map(\.shape) == [[3, 0]])
        #expect(try chunk(empty, parts: 3, axis: 1).map(\.shape) == [[3, 0], [3, 0], [3, 0]])
    }

    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: Device) throws {
        try AutogradTests.check("slice with a step", on: device, shapes: [[4, 7]]) { t in
            try weightedSum(t[0].slice(axis: -1, range: 1..<7, step: 2))
        }
        try AutogradTests.check("slice of a transpose", on: device, shapes: [[3, 5]]) { t in
            try weightedSum(t[0].transposed().slice(axis: 0, range: 2..<5))
        }
        try AutogradTests.check("select", on: device, shapes: [[3, 4, 2]]) { t in
            try weightedSum(t[0].select(axis: 1, index: -1)) + weightedSum(t[0].select(axis: 0, index: 1))
        }
        try AutogradTests.check("split, one piece unused", on: device, shapes: [[5, 3]]) { t in
            let pieces = try split(t[0], sizes: [1, 2, 2], axis: 0)
            return try weightedSum(pieces[0]) + weightedSum(pieces[2] * 3)
        }
        try AutogradTests.check("chunk", on: device, shapes: [[2, 7]]) { t in
            let pieces = try chunk(t[0], parts: 3, axis: 1)
            return try weightedSum(concatenate([pieces[2], pieces[0]], axis: 1))
        }
    }

    @Test(arguments: TestDevices.all)
    func badInputsThrowNamingTheProblem(device: Device) throws {
        let x = try Tensor.zeros([2, 5], on: device)
        expectTensorError(["axis 2", "rank 2"]) { () throws(TensorError) in try x.slice(axis: 2, range: 0..<1) }
        expectTensorError(["0..<6", "[2, 5]"]) { () throws(TensorError) in try x.slice(axis: 1, range: 0..<6) }
        expectTensorError(["step 0"]) { () throws(TensorError) in try x.slice(axis: 1, range: 0..<2, step: 0) }
        expectTensorError(["rank-0"]) { () throws(TensorError) in try Tensor(scalar: 1, on: device).slice(axis: 0, range: 0..<1) }
        expectTensorError(["index 2", "[2, 5]"]) { () throws(TensorError) in try x.select(axis: 0, index: 2) }
        expectTensorError(["index -3"]) { () throws(TensorError) in try x.select(axis: 0, index: -3) }
        expectTensorError(["[2, 2]", "sum", "5"]) { () throws(TensorError) in try split(x, sizes: [2, 2], axis: 1) }
        expectTensorError(["[6, -1]"]) { () throws(TensorError) in try split(x, sizes: [6, -1], axis: 1) }
        expectTensorError(["axis -3"]) { () throws(TensorError) in try split(x, sizes: [2], axis: -3) }
        expectTensorError(["size 0"]) { () throws(TensorError) in try split(x, size: 0, axis: 1) }
        expectTensorError(["parts 0"]) { () throws(TensorError) in try chunk(x, parts: 0, axis: 1) }
        expectTensorError(["axis 5"]) { () throws(TensorError) in try chunk(x, parts: 2, axis: 5) }
    }
}
