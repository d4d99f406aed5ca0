import Foundation
import TestSupport
import Testing
import TensorEngine

/// `Tensor.cast(to:)`, `dtype`, raw bytes, views of 16- and 8-bit tensors, moves between
/// devices and `.npy` files, on every device. (Every conversion rule is checked bit for bit
/// by the conformance table's cast cases; these test the frontend around them.)
@Suite(.vulkanValidation) struct CastTests {
    static let values: [Float] = [1, -2, 0.1, 65519.996, 70000, -0.0, 3.14159, 1e-6, .infinity, .nan, 300.7, -1.5]

    @Test(arguments: TestDevices.all)
    func roundTripsMatchFloat64Rounding(device: Device) throws {
        let x = try Tensor(Self.values, shape: [3, 4], on: device)
        let half = try x.cast(to: .float16)
        #expect(half.dtype == .float16 && half.shape == [3, 4])
        #expect(try half.rawBytes().count == 24)
        let back = try half.toArray()
        for (got, value) in zip(back, Self.values) {
            let expected = Float(Float16(value))      // the standard library's rounding, independently
            #expect(got.isNaN ? expected.isNaN : got.bitPattern == expected.bitPattern, "\(value) -> \(got)")
        }
        let brain = try x.cast(to: .bfloat16).toArray()
        #expect(brain[0] == 1 && brain[1] == -2 && brain[4] == 70144 && brain[8] == .infinity && brain[9].isNaN)
        let integers = try x.cast(to: .int32).toInt32Array()
        #expect(integers == [1, -2, 0, 65519, 70000, 0, 3, 0, .max, 0, 300, -1])
        let bytes = try x.cast(to: .uint8).toInt32Array()
        #expect(bytes == [1, 0, 0, 255, 255, 0, 3, 0, 255, 0, 255, 0])
    }

    @Test(arguments: TestDevices.all)
    func viewsOfHalfTensorsAreReadInPlace(device: Device) throws {
        let values = (0..<15).map { Float($0) - 7 }
        let half = try Tensor(values, shape: [3, 5], on: device).cast(to: .float16)
        let transposed = try half.transposed()
        #expect(transposed.dtype == .float16)
        let expected = (0..<15).map { i in values[(i % 3) * 5 + i / 3] }
        #expect(try transposed.toArray() == expected)
        let copy = try transposed.contiguous()
        #expect(copy.dtype == .float16 && copy.isContiguous)
        #expect(try copy.cast(to: .float32).toArray() == expected)
        #expect(try transposed.cast(to: .float32).toArray() == expected)
    }

    @Test func movesBetweenDevicesKeepTheDType() throws {
        for device in TestDevices.all {
            let x = try Tensor([1.5, -2, 3], shape: [3], on: .cpu).cast(to: .bfloat16)
            let moved = try x.to(device)
            #expect(moved.dtype == .bfloat16)
            #expect(try moved.toArray() == [1.5, -2, 3])
            #expect(try moved.rawBytes() == x.rawBytes())
        }
    }

    @Test func npyKeepsHalfAndBytes() throws {
        let half = try Tensor([1, -2, 0.5], shape: [3], on: .cpu).cast(to: .float16)
        let data = try half.npyData()
        #expect(String(decoding: data.prefix(64), as: UTF8.self).contains("'<f2'"))
        let read = try Tensor(npy: data, on: .cpu)
        #expect(read.dtype == .float16)
        #expect(try read.toArray() == [1, -2, 0.5])
        let small = try Tensor([0, 7, 255], shape: [3], on: .cpu).cast(to: .uint8)
        let back = try Tensor(npy: small.npyData(), on: .cpu)
        #expect(back.dtype == .uint8)
        #expect(try back.toInt32Array() == [0, 7, 255])
    }

    @Test(arguments: TestDevices.all)
    func gradientsFlowThroughFloatCasts(device: Device) throws {
        let w = try Tensor([1, 2, 3], shape: [3], on: device).requiringGrad()
        let loss = try (w.cast(to: .bfloat16).cast(to: .float32) * 2).sum()
        try loss.backward()
        #expect(try w.grad?.toArray() == [2, 2, 2])
        #expect(w.grad?.dtype == .float32)
    }

    @Test func badInputThrowsNamingTheProblem() throws {
        do {
            _ = try Tensor(rawBytes: [1, 2, 3], shape: [2], dtype: .float16, on: .cpu)
            Issue.record("3 bytes were accepted for 2 float16 elements")
        } catch {
            #expect("\(error)".contains("3 bytes"))
        }
        let half = try Tensor([1, 2], shape: [2], on: .cpu).cast(to: .float16)
        let labels = try half.cast(to: .int32)
        #expect(throws: TensorError.unsupportedDType(op: "add", dtype: .int32)) { try labels + labels }
        #expect(throws: TensorError.self) { try half.toInt32Array() }
    }
}
