import Foundation
import TestSupport
import Testing
import TensorEngine

/// The transformer modules: a post-LN and a pre-LN layer against a float64 re-statement of BERT's
/// and GPT's layer, masks, causality, dropout modes, parameter names, and a short training run
/// on every device.
@Suite(.vulkanValidation) struct TransformerModuleTests {
    /// Row-major float64 helpers for the reference layer.
    static func linear(_ x: [Double], rows: Int, _ w: [Double], _ b: [Double], inputs: Int, outputs: Int) -> [Double] {
        (0..<(rows * outputs)).map { index in
            let (r, o) = (index / outputs, index % outputs)
            return (0..<inputs).reduce(b[o]) { $0 + x[r * inputs + $1] * w[$1 * outputs + o] }
        }
    }

    static func layerNorm(_ x: [Double], rows: Int, features: Int, _ g: [Double], _ b: [Double], epsilon: Double) -> [Double] {
        (0..<rows).flatMap { r -> [Double] in
            let row = Array(x[(r * features)..<((r + 1) * features)])
            let mean = row.reduce(0, +) / Double(features)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(features)
            return row.enumerated().map { ($0.element - mean) / (variance + epsilon).squareRoot() * g[$0.offset] + b[$0.offset] }
        }
    }

    /// One layer in float64 on [batch, length, features]; `keep[b][j]` false hides key j of batch b.
    static func referenceLayer(_ layer: TransformerEncoderLayer, _ x: [Double], batch: Int, length: Int, features: Int,
                               heads: Int, keep: [[Bool]], causal: Bool) throws -> [Double] {
        func p(_ name: String) throws -> [Double] { try layer.parameter(named: name)!.toArray().map(Double.init) }
        let rows = batch * length, headSize = features / heads, ff = layer.feedForwardUp.weight.shape[1]
        func attention(_ input: [Double]) throws -> [Double] {
            let q = linear(input, rows: rows, try p("attention.query.weight"), try p("attention.query.bias"), inputs: features, outputs: features)
            let k = linear(input, rows: rows, try p("attention.key.weight"), try p("attention.key.bias"), inputs: features, outputs: features)
            let v = linear(input, rows: rows, try p("attention.value.weight"), try p("attention.value.bias"), inputs: features, outputs: features)
            var merged = [Double](repeating: 0, count: rows * features)
            for b in 0..<batch {
                for h in 0..<heads {
                    for i in 0..<length {
                        var scores = [Double](repeating: -.infinity, count: length)
                        for j in 0..<length where keep[b][j] && !(causal && j > i) {
                            scores[j] = (0..<headSize).reduce(0) {
                                $0 + q[(b * length + i) * features + h * headSize + $1] * k[(b * length + j) * features + h * headSize + $1]
                            } / Double(headSize).squareRoot()
                        }
                        let top = scores.max()!
                        let weights = scores.map { exp($0 - top) }
                        let total = weights.reduce(0, +)
                        for d in 0..<headSize {
                            merged[(b * length + i) * features + h * headSize + d] = (0..<length).reduce(0) {
                                $0 + weights[$1] / total * v[(b * length + $1) * features + h * headSize + d]
                            }
                        }
                    }
                }
            }
            return linear(merged, rows: rows, try p("attention.output.weight"), try p("attention.output.bias"), inputs: features, outputs: features)
        }
        func feedForward(_ input: [Double]) throws -> [Double] {
            let up = linear(input, rows: rows, try p("feedForwardUp.weight"), try p("feedForwardUp.bias"), inputs: features, outputs: ff)
                .map { $0 * 0.5 * erfc(-$0 / 2.0.squareRoot()) }
            return linear(up, rows: rows, try p("feedForwardDown.weight"), try p("feedForwardDown.bias"), inputs: ff, outputs: features)
        }
        let epsilon = 1e-5
        func norm(_ prefix: String, _ input: [Double]) throws -> [Double] {
            layerNorm(input, rows: rows, features: features, try p(prefix + ".weight"), try p(prefix + ".bias"), epsilon: epsilon)
        }
        func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map(+) }
        if layer.normPlacement == .post {
            let attended = try norm("attentionNorm", add(x, try attention(x)))
            return try norm("feedForwardNorm", add(attended, try feedForward(attended)))
        }
        let attended = add(x, try attention(try norm("attentionNorm", x)))
        return add(attended, try feedForward(try norm("feedForwardNorm", attended)))
    }

    @Test(arguments: TestDevices.all)
    func layersMatchFloat64(device: Device) throws {
        let (batch, length, features, heads) = (2, 5, 8, 2)
        let keep = [[true, true, true, true, true], [true, true, true, false, false]]
        let x = (0..<(batch * length * features)).map { Float(sin(Double($0) * 0.73)) }
        let mask = try Tensor(keep.flatMap { $0.map { $0 ? Float(1) : 0 } }, shape: [batch, length], on: device)
        for (placement, causal) in [(NormPlacement.post, false), (.pre, true)] {
            let layer = try TransformerEncoderLayer(features: features, heads: heads, feedForward: 16,
                                                    normPlacement: placement, dropout: 0, seed: 3, on: device)
            // Non-trivial norm parameters, so a swapped weight and bias would show.
            for name in ["attentionNorm", "feedForwardNorm"] {
                try layer.loadParameters([name + ".weight": Tensor((0..<features).map { 1 + Float($0) * 0.1 }, shape: [features], on: device),
                                          name + ".bias": Tensor((0..<features).map { Float($0) * 0.05 - 0.2 }, shape: [features], on: device)],
                                         strict: false)
            }
            let input = try Tensor(x, shape: [batch, length, features], on: device)
            let got = try layer(input, mask: MultiHeadAttention.additiveMask(mask), causal: causal).toArray()
            let expected = try Self.referenceLayer(layer, x.map(Double.init), batch: batch, length: length, features: features,
                                                   heads: heads, keep: keep, causal: causal)
            let error = nmse(got, expected)
            #expect(error < 1e-10, "\(placement) causal \(causal) on \(device.identifier): nmse \(error)")
        }
    }

    @Test(arguments: TestDevices.all)
    func causalLanguageModelNeverLooksAhead(device: Device) throws {
        let config = TransformerConfiguration(vocabulary: 11, features: 8, heads: 2, layers: 2, feedForward: 16,
                                              maxLength: 6, normPlacement: .pre, dropout: 0)
        let model = try CausalLanguageModel(config, seed: 5, on: device)
        let a = try model.logits(Tensor(int32: [1, 2, 3, 4, 5, 6], shape: [1, 6], on: device)).toArray()
        let b = try model.logits(Tensor(int32: [1, 2, 3, 9, 0, 7], shape: [1, 6], on: device)).toArray()
        #expect(Array(a[0..<(3 * 11)]) == Array(b[0..<(3 * 11)]), "positions before the change must not move")
        #expect(Array(a[(3 * 11)...]) != Array(b[(3 * 11)...]))
        #expect(throws: TensorError.self) { try model.logits(Tensor(int32: [Int32](repeating: 1, count: 7), shape: [1, 7], on: device)) }
    }

    @Test func masksDropoutAndNames() throws {
        let mask = try MultiHeadAttention.additiveMask(Tensor(int32: [1, 1, 0], shape: [1, 3], on: .cpu))
        #expect(mask.shape == [1, 1, 1, 3])
        #expect(try mask.toArray() == [0, 0, -Float.greatestFiniteMagnitude])

        let drop = try Dropout(probability: 0.5, seed: 1)
        let x = try Tensor.ones([256], on: .cpu)
        let first = try drop(x).toArray(), second = try drop(x).toArray()
        #expect(first != second, "each call draws the next seed")
        #expect(Set(first).isSubset(of: [0, 2]))
        drop.setTraining(false)
        #expect(try drop(x).toArray() == [Float](repeating: 1, count: 256))
        #expect(throws: TensorError.self) { try Dropout(probability: 1.5) }

        let config = TransformerConfiguration(vocabulary: 20, features: 8, heads: 2, layers: 2, feedForward: 16,
                                              maxLength: 4, tokenTypes: 2, normPlacement: .post)
        let encoder = try TransformerEncoder(config, on: .cpu)
        let names = encoder.namedParameters.map(\.name)
        #expect(names.count == 5 + 2 * 16)
        #expect(names.contains("layers.1.attention.value.bias") && names.contains("embeddingNorm.weight"))
        #expect(Set(names).count == names.count)
        encoder.setTraining(false)
        #expect(!encoder.layers[0].dropout.isTraining && !encoder.embeddingDropout.isTraining)
    }

    @Test(arguments: TestDevices.all)
    func classifierTrainsAndDevicesAgree(device: Device) throws {
        let config = TransformerConfiguration(vocabulary: 13, features: 16, heads: 4, layers: 1, feedForward: 32,
                                              maxLength: 6, normPlacement: .post, dropout: 0)
        let model = try SequenceClassifier(config, classes: 3, seed: 2, on: device)
        let ids = try Tensor(int32: (0..<24).map { Int32(($0 * 7) % 13) }, shape: [4, 6], on: device)
        let mask = try Tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0], shape: [4, 6], on: device)
        let labels = try Tensor(int32: [0, 1, 2, 1], shape: [4], on: device)
        let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-2)
        var losses: [Float] = []
        for _ in 0..<8 {
            optimizer.zeroGrad()
            let loss = try model.loss(ids, attentionMask: mask, labels: labels)
            try loss.backward()
            try clipGradientNorm(optimizer.parameters, maxNorm: 1)
            try optimizer.step()
            losses.append(try loss.item())
        }
        #expect(losses.last! < losses.first! * 0.8, "loss \(losses) on \(device.identifier)")
        // Every parameter received a gradient (padding and pooling do not cut any off).
        #expect(model.parameters.allSatisfy { $0.grad != nil })
    }
}
