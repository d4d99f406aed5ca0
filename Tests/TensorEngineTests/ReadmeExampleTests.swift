import Foundation
import TestSupport
import Testing
import TensorEngine

/// The README's example, compiled and run here; a test keeps the two texts identical.
@Suite(.vulkanValidation) struct ReadmeExampleTests {
    // BEGIN README EXAMPLE
    func readmeExample() throws {
        let device = Device.default                                   // or .cpu, or try Device.vulkan(index: 0)
        let x = try Tensor.randn([64, 784], seed: 0, on: device)
        let w1 = try Tensor.randn([784, 256], std: 0.05, seed: 1, on: device)
        let b1 = try Tensor.zeros([256], on: device)
        let h = try linear(x, weight: w1, bias: b1, activation: .gelu)  // one fused kernel
        let w2 = try Tensor.randn([256, 10], std: 0.05, seed: 2, on: device)
        let logits = try matmul(h, w2)                                // also h.matmul(w2)
        let values: [Float] = try logits.toArray()                    // synchronises
        print(logits.shape, values[0..<3])
    }
    // END README EXAMPLE

    @Test func exampleRuns() throws {
        try readmeExample()
    }

    @Test func readmeShowsThisExample() throws {
        let here = URL(fileURLWithPath: #filePath)
        let source = try String(contentsOf: here, encoding: .utf8)
        let readme = try String(contentsOf: here.deletingLastPathComponent().appendingPathComponent("../../README.md").standardized,
                                encoding: .utf8)
        let begin = source.range(of: "    // BEGIN README EXAMPLE\n")!, end = source.range(of: "    // END README EXAMPLE")!
        let body = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .dropFirst().dropLast(2).map { $0.dropFirst(8) }.joined(separator: "\n")
        #expect(readme.contains("import TensorEngine\n\n" + body + "\n```"), "README's example differs from ReadmeExampleTests.readmeExample")
    }
}
