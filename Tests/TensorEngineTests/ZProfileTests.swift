import Foundation
import Testing
import TensorEngine

@Test func zprofile() throws {
    guard let device = TestDevices.all.first(where: { $0.kind == .vulkan }) else { return }
    let x = try Tensor.randn([1400, 64], seed: 1, on: device)
    let w = try Tensor.randn([64, 64], seed: 1, on: device)
    let g = try Tensor.randn([1400, 64], seed: 1, on: device)
    func t(_ name: String, _ body: () throws -> Void) throws {
        try body(); try device.synchronize()
        let s = Date()
        for _ in 0..<3 { try body() }
        try device.synchronize()
        print("PROF \(name): \(Date().timeIntervalSince(s) / 3 * 1000) ms")
    }
    try t("matmul") { _ = try matmul(x, w) }
    try t("linear gelu") { _ = try linear(x, weight: w, activation: .gelu) }
    try t("xT g") { _ = try matmul(x.transposed(), g) }
    try t("g wT") { _ = try matmul(g, w.transposed()) }
    try t("sum0") { _ = try g.sum(axis: 0) }
    try t("softmax") { _ = try softmax(g) }
    try t("binary") { _ = try g + x }
    try t("toArray") { _ = try g.toArray() }
}
