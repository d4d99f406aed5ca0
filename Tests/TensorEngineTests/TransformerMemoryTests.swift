import Foundation
import TestSupport
import Testing
import TensorEngine

/// Training-memory modes of a whole transformer (``SavedActivations``) on every device: the
/// forward of every mode is the exact forward bit for bit; every parameter's gradient lies
/// within the mode's documented bound of exact; `retainedBytesByOp()` of one layer matches
/// the bytes counted by hand.
@Suite(.vulkanValidation) struct TransformerMemoryTests {
    static func configuration(_ placement: NormPlacement, _ saved: SavedActivations) -> TransformerConfiguration {
        TransformerConfiguration(vocabulary: 40, features: 32, heads: 4, layers: 2, feedForward: 64, maxLength: 16,
                                 normPlacement: placement, dropout: 0, saved: saved)
    }

    /// Bounds on the nmse of all parameter gradients (concatenated) against exact, for this
    /// 2-layer model of 32 features at init (weights std 0.02, norms weight 1 and bias 0):
    /// memory-sharing is float32 rounding (x_hat recovered from y with weight 1, bias 0:
    /// measured 3e-14 to 7e-14); the 8-bit modes are each op's ~3e-5 (a dequantised element is
    /// within max|x| / 254 of x) carried through the layers: measured 1.5e-5 to 3.2e-5 on the
    /// CPU and lavapipe, post- and pre-LN, groups of 64 (a row of 32 here) and of 8.
    static let bounds: [(String, SavedActivations, Double)] = [
        ("memory-sharing", .memorySharing, 1e-9),
        ("mesa", .mesa(groupSize: 64), 2e-4),
        ("memory-sharing mesa", .memorySharingMesa(groupSize: 64), 2e-4),
        ("mesa groups of 8", .mesa(groupSize: 8), 2e-4),
    ]

    static func gradients(_ configuration: TransformerConfiguration, device: Device) throws -> (hidden: [Float], grads: [Float]) {
        let body = try TransformerEncoder(configuration, seed: 5, on: device)
        var rng = SeededRandom(seed: 6)
        let ids = try Tensor(int32: (0..<24).map { _ in Int32(rng.next() % 40) }, shape: [2, 12], on: device)
        let mask = try Tensor([Float](repeating: 1, count: 20) + [0, 0, 0, 0], shape: [2, 12], on: device)
        let hidden = try configuration.normPlacement == .post ? body(ids, attentionMask: mask) : body(ids, causal: true)
        let r = try Tensor(rng.normalFloats(hidden.elementCount), shape: hidden.shape, on: device)
        try (hidden * r).sum().backward()
        return (try hidden.toArray(), try body.parameters.flatMap { try $0.grad!.toArray() })
    }

    @Test(arguments: TestDevices.all)
    func everyModeStaysWithinItsBoundOfExact(device: Device) throws {
        for placement in [NormPlacement.post, .pre] {
            let exact = try Self.gradients(Self.configuration(placement, .exact), device: device)
            for (name, saved, bound) in Self.bounds {
                let result = try Self.gradients(Self.configuration(placement, saved), device: device)
                #expect(result.hidden == exact.hidden, "\(name) \(placement): the forward differs from exact")
                let error = nmse(result.grads, doubles(exact.grads))
                #expect(error < bound, "\(name) \(placement) on \(device.identifier): gradient nmse \(error) vs exact")
            }
        }
    }

    /// One post-LN layer, x [2, 5, 16] (10 rows; 4 heads of 4; feed-forward 32), by hand. x comes
    /// out of an op, as in a model (an embedding sum, a norm's output), so the query, key and
    /// value projections keep one copy of it in every mode (a leaf would be quantised per
    /// projection: it may be a parameter, updated in place).
    /// Float32 tensors of 10 x 16 are 640 bytes, 10 x 32 1,280; in 8 bits with groups of 64 (longer
    /// than a row: one group per row), 10 x 16 is 160 code bytes + 10 scales = 200 bytes and
    /// 10 x 32 is 320 + 40 = 360. Attention's q, k, v, out are [2, 4, 5, 4] (40 rows of 4:
    /// 640 bytes in float32, 160 + 160 in 8 bits) and its log-sum-exp [2, 4, 5] (160 bytes).
    @Test(arguments: TestDevices.all)
    func layerAccountingMatchesHandCount(device: Device) throws {
        let weights = 4 * 16 * 16 * 4 + 16 * 32 * 4 + 32 * 16 * 4
        let expected: [(SavedActivations, [String: Int])] = [
            (.exact, ["linear input": 640 + 640 + 640 + 1280,   // x (q, k, v share it), merged heads, attended, GELU output
                      "linear weight": weights, "gelu activation (exact)": 1280,
                      "scaledDotProductAttention": 4 * 640 + 160,
                      "layerNorm input": 2 * 640, "layerNorm statistics": 2 * (40 + 40)]),
            (.memorySharing, ["linear input": 640 + 640 + 1280,  // attended is the attention norm's output
                              "linear weight": weights, "gelu activation (exact)": 1280,
                              "scaledDotProductAttention": 4 * 640 + 160,
                              "layerNorm output": 2 * 640, "layerNorm statistics": 2 * 40]),
            (.mesa(groupSize: 64), ["linear input (int8)": 200 + 200 + 200 + 360,
                                    "linear weight": weights, "gelu activation (exact)": 1280,
                                    "scaledDotProductAttention (int8)": 3 * (160 + 160),
                                    "layerNorm input (int8)": 2 * 200]),
            (.memorySharingMesa(groupSize: 64), ["linear input (int8)": 200 + 200 + 360,
                                                 "linear weight": weights, "gelu activation (exact)": 1280,
                                                 "scaledDotProductAttention (int8)": 3 * (160 + 160),
                                                 "layerNorm output (int8)": 2 * 200, "layerNorm statistics": 2 * 40]),
        ]
        for (saved, bytes) in expected {
            let layer = try TransformerEncoderLayer(features: 16, heads: 4, feedForward: 32, dropout: 0, saved: saved,
                                                    seed: 3, on: device)
            let x = try Tensor.randn([2, 5, 16], seed: 4, on: device).requiringGrad() * 1
            let retained = try layer(x).sum().retainedBytesByOp().filter { $0.value > 0 }
            #expect(retained == bytes, "\(saved) on \(device.identifier)")
        }
    }
}
