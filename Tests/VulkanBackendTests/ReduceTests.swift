import Testing
import TensorCore
@testable import VulkanBackend

extension VulkanTests {
    @Suite struct Reduce {
        struct Case: Sendable, CustomStringConvertible {
            var outer: Int, axis: Int, inner: Int
            var description: String { "[\(outer), \(axis), \(inner)]" }
        }

        static let cases: [Case] = [
            Case(outer: 1, axis: 1, inner: 1),
            Case(outer: 1, axis: 257, inner: 1),
            Case(outer: 7, axis: 31, inner: 1),
            Case(outer: 3, axis: 1000, inner: 1),
            Case(outer: 1, axis: 7, inner: 31),
            Case(outer: 5, axis: 33, inner: 65),
            Case(outer: 2, axis: 1, inner: 257),
            Case(outer: 300, axis: 3, inner: 2),
            Case(outer: 4, axis: 0, inner: 3),
        ]

        @Test(arguments: cases, [false, true])
        func reduceSum(shape: Case, subgroup: Bool) throws {
            let device = try Fixture.device
            var random = TestRandom(seed: 17)
            let count = shape.outer * shape.axis * shape.inner
            let values = random.floats(count)
            let input = try device.upload(values)
            let out = try device.upload([Float](repeating: .nan, count: shape.outer * shape.inner))
            if subgroup, !device.enabledFeatures.contains(.subgroupArithmetic) {
                print("skip: no subgroup arithmetic on \(device.name)")
                return
            }
            try device.reduceSum(input, outer: shape.outer, axis: shape.axis, inner: shape.inner, scale: 0.5,
                                 into: out, useSubgroup: subgroup)
            var expected = [Double](repeating: 0, count: shape.outer * shape.inner)
            for o in 0..<shape.outer {
                for a in 0..<shape.axis {
                    for j in 0..<shape.inner {
                        expected[o * shape.inner + j] += 0.5 * Double(values[(o * shape.axis + a) * shape.inner + j])
                    }
                }
            }
            expectClose(try device.download(out, count: expected.count), expected, nmse: 1e-11, maxError: 1e-5, "\(shape)")
            Fixture.expectNoValidationMessages()
        }
    }
}
