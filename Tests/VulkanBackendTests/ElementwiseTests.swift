import Testing
import TensorCore
@testable import VulkanBackend

/// float64 reference of a strided read.
func referenceStrided(_ source: [Float], _ layout: StridedLayout) -> [Double] {
    let count = layout.elementCount
    var result = [Double](repeating: 0, count: count)
    for index in 0..<count {
        var rest = index
        var offset = layout.offset
        for axis in stride(from: layout.shape.count - 1, through: 0, by: -1) {
            offset += (rest % layout.shape[axis]) * layout.strides[axis]
            rest /= layout.shape[axis]
        }
        result[index] = Double(source[offset])
    }
    return result
}

extension VulkanTests {
    @Suite struct Elementwise {
        @Test(arguments: [1, 7, 31, 257, 100_003])
        func fill(count: Int) throws {
            let device = try Fixture.device
            let buffer = try device.upload([Float](repeating: -5, count: count + 3))
            try device.fill(buffer, value: 2.5, count: count)
            let values = try device.download(buffer, count: count + 3)
            #expect(values.prefix(count).allSatisfy { $0 == 2.5 })
            #expect(values.suffix(3).allSatisfy { $0 == -5 })
            Fixture.expectNoValidationMessages()
        }

        @Test(arguments: [1, 7, 257, 65_537])
        func scaleShift(count: Int) throws {
            let device = try Fixture.device
            var random = TestRandom(seed: UInt64(count))
            let input = random.floats(count, -10, 10)
            let a = try device.upload(input)
            let out = try device.makeBuffer(elementCount: count)
            try device.scaleShift(a, scale: -1.5, offset: 0.25, count: count, into: out)
            let expected = input.map { Double($0) * -1.5 + 0.25 }
            expectClose(try device.download(out, count: count), expected, nmse: 1e-13, maxError: 1e-6, "scaleShift")
            // In place.
            try device.scaleShift(a, scale: 2, offset: 0, count: count, into: a)
            #expect(try device.download(a, count: count) == input.map { $0 * 2 })
            Fixture.expectNoValidationMessages()
        }

        static let layouts: [StridedLayout] = [
            // contiguous
            StridedLayout(shape: [5, 7], strides: [7, 1]),
            // transpose of [7, 5]
            StridedLayout(shape: [5, 7], strides: [1, 5]),
            // offset slice with a step
            StridedLayout(shape: [3, 4], strides: [14, 3], offset: 2),
            // broadcast a row
            StridedLayout(shape: [6, 9], strides: [0, 1]),
            // rank 8 that cannot be merged (permuted strides)
            StridedLayout(shape: [2, 3, 2, 3, 2, 2, 3, 2],
                          strides: [1, 2 * 2 * 3 * 2 * 2 * 3 * 2, 2, 2 * 3 * 2 * 2 * 3 * 2 * 2, 4, 2 * 2 * 2 * 3, 2 * 3 * 2, 2 * 2 * 3 * 2 * 2 * 3 * 2 * 3]),
            // 3-D permutation of [4, 5, 6] to [6, 4, 5]
            StridedLayout(shape: [6, 4, 5], strides: [1, 30, 6]),
            // a scalar
            StridedLayout(shape: [], strides: []),
        ]

        @Test(arguments: layouts)
        func copyStrided(layout: StridedLayout) throws {
            let device = try Fixture.device
            var sourceCount = layout.offset + 1
            for axis in layout.shape.indices { sourceCount += (layout.shape[axis] - 1) * layout.strides[axis] }
            var random = TestRandom(seed: 3)
            let source = random.floats(sourceCount)
            let input = try device.upload(source)
            let output = try device.makeBuffer(elementCount: layout.elementCount)
            try device.copyStrided(from: input, layout: layout, to: output)
            let expected = referenceStrided(source, layout)
            #expect(try device.download(output, count: layout.elementCount).map(Double.init) == expected)
            Fixture.expectNoValidationMessages()
        }

        struct BinaryCase: Sendable, CustomStringConvertible {
            var a: [Int]
            var b: [Int]
            var description: String { "\(a) op \(b)" }
        }

        static let binaryCases: [BinaryCase] = [
            BinaryCase(a: [257], b: [257]),
            BinaryCase(a: [7, 31], b: [31]),
            BinaryCase(a: [7, 1], b: [1, 31]),
            BinaryCase(a: [1], b: [3, 5]),
            BinaryCase(a: [2, 3, 1, 5], b: [3, 4, 1]),
            BinaryCase(a: [1, 1, 1], b: [1]),
        ]

        @Test(arguments: binaryCases, BinaryOp.allCases)
        func binary(shapes: BinaryCase, op: BinaryOp) throws {
            let device = try Fixture.device
            let shape = try ShapeMath.broadcast(shapes.a, shapes.b, op: "test")
            func layout(_ operand: [Int]) -> StridedLayout {
                let padded = [Int](repeating: 1, count: shape.count - operand.count) + operand
                let strides = ShapeMath.contiguousStrides(padded)
                return StridedLayout(shape: shape, strides: zip(padded, strides).map { $0 == 1 ? 0 : $1 })
            }
            var random = TestRandom(seed: 7)
            let aValues = random.floats(ShapeMath.elementCount(shapes.a))
            let bValues = random.floats(ShapeMath.elementCount(shapes.b), 0.5, 2)
            let a = try device.upload(aValues)
            let b = try device.upload(bValues)
            let count = ShapeMath.elementCount(shape)
            let out = try device.makeBuffer(elementCount: count)
            let aLayout = layout(shapes.a)
            let bLayout = layout(shapes.b)
            try device.binary(op, a, aLayout, b, bLayout, into: out)
            let left = referenceStrided(aValues, aLayout)
            let right = referenceStrided(bValues, bLayout)
            let expected = zip(left, right).map { op.apply($0, $1) }
            expectClose(try device.download(out, count: count), expected, nmse: 1e-13, maxError: 1e-6, "\(op) \(shapes)")
            Fixture.expectNoValidationMessages()
        }
    }
}
