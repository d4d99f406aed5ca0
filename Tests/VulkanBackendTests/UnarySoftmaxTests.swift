import Foundation
import Testing
import TensorCore
@testable import VulkanBackend

extension VulkanTests {
    @Suite struct UnaryAndSoftmax {
        @Test(arguments: UnaryOp.allCases)
        func unary(op: UnaryOp) throws {
            let device = try Fixture.device
            var random = TestRandom(seed: 31)
            let positive = op == .log || op == .sqrt
            let values = random.floats(1000, positive ? 0.01 : -10, 10) + (positive ? [1, 4, 100] : [0, -1, 1])
            let input = try device.upload(values)
            let out = try device.makeBuffer(elementCount: values.count)
            try device.unary(op, input, count: values.count, into: out)
            let expected = values.map { op.apply(Double($0)) }
            expectClose(try device.download(out, count: values.count), expected, nmse: 1e-11, maxError: 1e-5, "\(op)")
            Fixture.expectNoValidationMessages()
        }

        struct Case: Sendable, CustomStringConvertible {
            var rows: Int, columns: Int
            var description: String { "\(rows)x\(columns)" }
        }

        @Test(arguments: [Case(rows: 1, columns: 1), Case(rows: 7, columns: 31), Case(rows: 3, columns: 1000),
                          Case(rows: 300, columns: 10)], [false, true])
        func softmax(shape: Case, logarithm: Bool) throws {
            let device = try Fixture.device
            var random = TestRandom(seed: 37)
            var values = random.floats(shape.rows * shape.columns, -30, 30)
            values[0] = 80   // exp would overflow without the max subtraction
            let input = try device.upload(values)
            let out = try device.makeBuffer(elementCount: values.count)
            try device.softmax(input, rows: shape.rows, columns: shape.columns, logarithm: logarithm, into: out)
            var expected = [Double](repeating: 0, count: values.count)
            for row in 0..<shape.rows {
                let slice = values[(row * shape.columns)..<((row + 1) * shape.columns)].map(Double.init)
                let top = slice.max()!
                let total = slice.reduce(0) { $0 + Foundation.exp($1 - top) }
                for (column, x) in slice.enumerated() {
                    expected[row * shape.columns + column] = logarithm ? x - top - Foundation.log(total)
                        : Foundation.exp(x - top) / total
                }
            }
            expectClose(try device.download(out, count: values.count), expected, nmse: 1e-11, maxError: 1e-5,
                        "softmax \(shape) log=\(logarithm)")
            Fixture.expectNoValidationMessages()
        }
    }
}
