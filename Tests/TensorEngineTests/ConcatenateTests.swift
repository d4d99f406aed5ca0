import Foundation
import TestSupport
import Testing
import TensorEngine

/// `concatenate` and `stack` on every device: values against arrays built on the host from
/// multi-indices (any dtype, views as inputs, empty extents, negative axes), gradients
/// against finite differences, and a TensorError naming the problem for each bad input.
@Suite(.vulkanValidation) struct ConcatenateTests {
    func tensor(_ array: HostArray, on device: Device) throws -> Tensor {
        try Tensor(array.floats, shape: array.shape, on: device)
    }

    @Test(arguments: TestDevices.all)
    func concatenatesAlongEveryAxis(device: Device) throws {
        let a = HostArray.ramp([2, 3, 4], from: 0), b = HostArray.ramp([2, 5, 4], from: 100)
        let empty = HostArray.ramp([2, 0, 4], from: 0)
        let expected = HostArray.concatenate([a, empty, b], axis: 1)
        for axis in [1, -2] {
            let c = try concatenate([tensor(a, on: device), tensor(empty, on: device), tensor(b, on: device)], axis: axis)
            #expect(c.shape == [2, 8, 4])
            #expect(try c.toArray() == expected.floats)
        }
        let d = HostArray.ramp([1, 3, 4], from: -50), e = HostArray.ramp([2, 3, 1], from: 7)
        #expect(try concatenate([tensor(a, on: device), tensor(d, on: device)], axis: 0).toArray()
                == HostArray.concatenate([a, d], axis: 0).floats)
        #expect(try concatenate([tensor(e, on: device), tensor(a, on: device)], axis: -1).toArray()
                == HostArray.concatenate([e, a], axis: 2).floats)
        // One input is the identity; all-empty inputs give an empty result.
        #expect(try concatenate([tensor(a, on: device)], axis: 2).toArray() == a.floats)
        #expect(try concatenate([tensor(empty, on: device), tensor(empty, on: device)], axis: 0).shape == [4, 0, 4])
    }

    /// Transposed, broadcast and sliced (offset) inputs are read in place.
    @Test(arguments: TestDevices.all)
    func concatenatesViews(device: Device) throws {
        let m = HostArray.ramp([3, 4], from: 0)           // transposed to [4, 3]
        let row = HostArray.ramp([1, 3], from: 40)        // broadcast to [4, 3]
        let tall = HostArray.ramp([7, 3], from: -20)      // rows 2..<6
        let views = [try tensor(m, on: device).transposed(), try tensor(row, on: device).expanded(to: [4, 3]),
                     try tensor(tall, on: device).slice(axis: 0, range: 2..<6)]
        let hosts = [m.transposed, HostArray.build([4, 3]) { row.at([0, $0[1]]) }, tall.slice(axis: 0, start: 2, end: 6)]
        for axis in [0, 1] {
            #expect(try concatenate(views, axis: axis).toArray() == HostArray.concatenate(hosts, axis: axis).floats)
        }
        // Enough elements for several workgroups, with a column slab per input.
        let left = HostArray.ramp([67, 131], from: 0), right = HostArray.ramp([67, 70], from: -3000)
        let wide = try concatenate([tensor(left, on: device), tensor(right, on: device)], axis: 1)
        #expect(try wide.toArray() == HostArray.concatenate([left, right], axis: 1).floats)
    }

    /// Every dtype, with odd extents and a transposed view so that 1- and 2-byte elements of
    /// different inputs share 32-bit words.
    @Test(arguments: TestDevices.all)
    func concatenatesEveryDType(device: Device) throws {
        let a = HostArray.ramp([3, 5], from: 1), b = HostArray.ramp([5, 3], from: 60)
        for dtype in DType.allCases {
            let x = try tensor(a, on: device).cast(to: dtype), y = try tensor(b, on: device).cast(to: dtype).transposed()
            for axis in [0, 1] {
                let c = try concatenate([x, y, x], axis: axis)
                #expect(c.dtype == dtype)
                let expected = HostArray.concatenate([a, b.transposed, a], axis: axis)
                // Integer types truncate the halves.
                let values = dtype.isFloatingPoint ? expected.floats : expected.values.map { Float($0.rounded(.towardZero)) }
                #expect(try c.toArray() == values, "\(dtype) axis \(axis)")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func stacksAlongANewAxis(device: Device) throws {
        let a = HostArray.ramp([2, 3], from: 0), b = HostArray.ramp([2, 3], from: 10), c = HostArray.ramp([2, 3], from: 20)
        let tensors = try [a, b, c].map { try tensor($0, on: device) }
        let hosts = [a, b, c]
        for (axis, resolved) in [(0, 0), (1, 1), (2, 2), (-1, 2), (-3, 0)] {
            let s = try stack(tensors, axis: axis)
            var shape = [2, 3]
            shape.insert(3, at: resolved)
            #expect(s.shape == shape)
            let expected = HostArray.build(shape) { index in
                var i = index
                let k = i.remove(at: resolved)
                return hosts[k].at(i)
            }
            #expect(try s.toArray() == expected.floats, "axis \(axis)")
        }
        let scalars = try [1, 2, 3].map { try Tensor(scalar: Float($0), on: device) }
        #expect(try stack(scalars, axis: -1).toArray() == [1, 2, 3])
        let halves = try stack([tensors[0].cast(to: .float16), tensors[1].transposed().transposed().cast(to: .float16)], axis: 1)
        #expect(try halves.toArray() == HostArray.build([2, 2, 3]) { [a, b][$0[1]].at([$0[0], $0[2]]) }.floats)
    }

    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: Device) throws {
        try AutogradTests.check("concatenate last axis", on: device, shapes: [[2, 3], [2, 1], [2, 4]]) { t in
            try weightedSum(concatenate(t, axis: -1))
        }
        try AutogradTests.check("concatenate a transposed input", on: device, shapes: [[3, 2], [4, 3]]) { t in
            try weightedSum(concatenate([t[0].transposed(), t[1].slice(axis: 0, range: 1..<3)], axis: 0))
        }
        try AutogradTests.check("concatenate one input twice", on: device, shapes: [[2, 2]]) { t in
            try weightedSum(concatenate([t[0], t[0] * 3], axis: 0))
        }
        try AutogradTests.check("stack", on: device, shapes: [[2, 3], [2, 3]]) { t in
            try weightedSum(stack([t[0], t[1].transposed().transposed()], axis: 1))
        }
    }

    @Test(arguments: TestDevices.all)
    func badInputsThrowNamingTheProblem(device: Device) throws {
        let a = try Tensor.zeros([2, 3], on: device), b = try Tensor.zeros([3, 3], on: device)
        expectTensorError(["at least one tensor"]) { () throws(TensorError) in try concatenate([], axis: 0) }
        expectTensorError(["axis 2", "rank 2"]) { () throws(TensorError) in try concatenate([a, b], axis: 2) }
        expectTensorError(["axis -3"]) { () throws(TensorError) in try concatenate([a, b], axis: -3) }
        expectTensorError(["[2, 3]", "[3, 3]", "tensor 1"]) { () throws(TensorError) in try concatenate([a, b], axis: 1) }
        expectTensorError(["[2, 3]", "[2, 3, 1]", "rank"]) { () throws(TensorError) in
            try concatenate([a, Tensor.zeros([2, 3, 1], on: device)], axis: 0)
        }
        expectTensorError(["rank-0"]) { () throws(TensorError) in try concatenate([Tensor(scalar: 1, on: device)], axis: 0) }
        expectTensorError(["float16", "float32", "tensor 1"]) { () throws(TensorError) in
            try concatenate([a, a.cast(to: .float16)], axis: 0)
        }
        expectTensorError(["at least one tensor"]) { () throws(TensorError) in try stack([], axis: 0) }
        expectTensorError(["axis 3"]) { () throws(TensorError) in try stack([a, a], axis: 3) }
        expectTensorError(["axis -4"]) { () throws(TensorError) in try stack([a, a], axis: -4) }
        expectTensorError(["[2, 3]", "[3, 3]"]) { () throws(TensorError) in try stack([a, b], axis: 0) }
        expectTensorError(["int32", "float32"]) { () throws(TensorError) in try stack([a, a.cast(to: .int32)], axis: 0) }
    }

    @Test func mixedDevicesThrow() throws {
        guard let gpu = TestDevices.vulkan else { return }
        let a = try Tensor.zeros([2, 3], on: .cpu), b = try Tensor.zeros([2, 3], on: gpu)
        expectTensorError(["different devices"]) { () throws(TensorError) in try concatenate([a, b], axis: 0) }
        expectTensorError(["different devices"]) { () throws(TensorError) in try stack([a, b], axis: 0) }
    }
}
