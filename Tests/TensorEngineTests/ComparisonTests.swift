import Foundation
import TestSupport
import Testing
import TensorEngine

/// The comparisons on every device: float32 0/1 masks against float64 with NaN, signed zeros,
/// infinities and ties; broadcasting, scalars on either side, the pointwise operators; no
/// gradient; mismatched shapes throw naming both.
@Suite(.vulkanValidation) struct ComparisonTests {
    static let a: [Float] = [1, 5, -2, .nan, 3, .infinity, -.infinity, 0, -0.0, 7, .nan, 2]
    static let b: [Float] = [3, 4, -2, 1, .nan, .infinity, -1, -0.0, 0, 7, .nan, -.infinity]

    /// The float64 truth of each relation, written here (NaN makes every relation false but !=).
    static func truth(_ name: String, _ x: Double, _ y: Double) -> Float {
        let holds: Bool
        switch name {
        case "equal": holds = x == y
        case "notEqual": holds = x != y
        case "less": holds = x < y
        case "lessEqual": holds = x <= y
        case "greater": holds = x > y
        default: holds = x >= y
        }
        return holds ? 1 : 0
    }

    @Test(arguments: TestDevices.all)
    func masksMatchFloat64(device: Device) throws {
        let x = try Tensor(Self.a, shape: [12], on: device), y = try Tensor(Self.b, shape: [12], on: device)
        let results: [(String, Tensor)] = [
            ("equal", try equal(x, y)), ("notEqual", try notEqual(x, y)), ("less", try less(x, y)),
            ("lessEqual", try lessEqual(x, y)), ("greater", try greater(x, y)), ("greaterEqual", try greaterEqual(x, y)),
        ]
        for (name, result) in results {
            #expect(result.dtype == .float32 && result.shape == [12])
            let expected = (0..<12).map { Self.truth(name, Double(Self.a[$0]), Double(Self.b[$0])) }
            #expect(try result.toArray() == expected, "\(name) on \(device.identifier)")
        }
        // The operators and methods are the same functions.
        #expect(try (x .< y).toArray() == results[2].1.toArray())
        #expect(try x.greaterEqual(y).toArray() == results[5].1.toArray())
        #expect(try (x .!= y).toArray() == results[1].1.toArray())
    }

    @Test(arguments: TestDevices.all)
    func broadcastsAndTakesScalars(device: Device) throws {
        let values = (0..<12).map { Float($0 % 5) - 2 }   // [3, 4]: ties with the row below
        let m = try Tensor(values, shape: [3, 4], on: device)
        let rowValues: [Float] = [0, -1, 1, .nan]
        let row = try Tensor(rowValues, shape: [4], on: device)
        let got = try lessEqual(m, row)
        #expect(got.shape == [3, 4])
        #expect(try got.toArray() == (0..<12).map { Self.truth("lessEqual", Double(values[$0]), Double(rowValues[$0 % 4])) })
        #expect(try (m .> 0).toArray() == values.map { $0 > 0 ? 1 : 0 })
        #expect(try greater(0.5, m).toArray() == values.map { 0.5 > $0 ? 1 : 0 })
        #expect(try m.equal(-2).toArray() == values.map { $0 == -2 ? 1 : 0 })
        #expect(try (1 .<= m).toArray() == values.map { 1 <= $0 ? 1 : 0 })
        let column = try Tensor([1, 0, -1], shape: [3, 1], on: device)
        #expect(try notEqual(column, row).shape == [3, 4])
    }

    @Test(arguments: TestDevices.all)
    func masksHaveNoGradientAndBadShapesThrow(device: Device) throws {
        let x = try Tensor([1, 2, 3], shape: [3], on: device).requiringGrad()
        let mask = try less(x, 2)
        #expect(!mask.requiresGrad)
        #expect(try mask.toArray() == [1, 0, 0])
        // A mask times the input differentiates through the input only.
        try (x * mask).sum().backward()
        #expect(try x.grad!.toArray() == [1, 0, 0])

        let y = try Tensor([1, 2, 3, 4], shape: [4], on: device)
        do {
            _ = try greater(x.detached(), y)
            Issue.record("mismatched shapes did not throw")
        } catch {
            #expect("\(error)".contains("[3]") && "\(error)".contains("[4]"), "\(error)")
        }
        let ints = try Tensor(int32: [1, 2, 3], shape: [3], on: device)
        #expect(throws: TensorError.self) { try equal(ints, x.detached()) }
    }
}
