import Foundation
import TestSupport
import Testing
import TensorEngine

/// all-MiniLM-L6-v2 end to end against transformers' BertModel: the committed embeddings of 24
/// texts (Benchmarks/peers/sentence_reference.py: 20 fortunes, an empty text, accents and CJK, a
/// text past the 256-token limit, punctuation), cosine >= 0.99999 on every device.
@Suite(.vulkanValidation) struct SentenceEmbedderTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var text: String
            var embedding: [Double]
        }
        var cases: [Case]
    }

    static func reference() throws -> Reference {
        let data = try Data(contentsOf: URL(fileURLWithPath: ModelFiles.resource("sentence_reference.json")))
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    @Test(arguments: TestDevices.all)
    func embeddingsMatchTransformers(device: Device) throws {
        _ = try ModelFiles.require("model.safetensors")
        let model = try SentenceEmbedder(directory: ModelFiles.directory, on: device)
        let reference = try Self.reference()
        #expect(reference.cases.count == 24)
        // Small batches: the long text pads only its own batch.
        let embeddings = try model.embed(reference.cases.map(\.text), batchSize: 8)
        #expect(embeddings.shape == [24, 384])
        let values = try embeddings.toArray()
        var lowest = 1.0
        for (row, item) in reference.cases.enumerated() {
            let ours = values[(row * 384)..<((row + 1) * 384)].map(Double.init)
            let dot = zip(ours, item.embedding).reduce(0) { $0 + $1.0 * $1.1 }
            let norms = (ours.reduce(0) { $0 + $1 * $1 } * item.embedding.reduce(0) { $0 + $1 * $1 }).squareRoot()
            let cosine = dot / norms
            lowest = min(lowest, cosine)
            #expect(cosine >= 0.99999, "text \(row) (\(item.text.prefix(40))...): cosine \(cosine) on \(device.identifier)")
        }
        print("SentenceEmbedder on \(device.identifier): lowest cosine to transformers \(lowest)")
    }

    /// `configure` reaches every layer, leaves the forward alone and changes what the GELUs
    /// keep; a classifier goes on the pretrained body.
    @Test(arguments: TestDevices.all)
    func configuredMemoryReachesEveryLayerAndKeepsTheForward(device: Device) throws {
        _ = try ModelFiles.require("model.safetensors")
        let exact = try SentenceEmbedder(directory: ModelFiles.directory, on: device)
        let fewBit = try SentenceEmbedder(directory: ModelFiles.directory, on: device) { $0.memory = .fewBit(bits: 3) }
        #expect(fewBit.encoder.configuration.memory == .fewBit(bits: 3))
        #expect(fewBit.encoder.layers.allSatisfy { $0.feedForwardUp.memory == .fewBit(bits: 3) })
        #expect(exact.encoder.layers.allSatisfy { $0.feedForwardUp.memory == .exact })
        let batch = exact.tokenizer.encodeBatch(["A short text.", "Another, slightly longer, text to classify."])
        let ids = try batch.ids(on: device), mask = try batch.attentionMask(on: device, dtype: .float32)
        let labels = try Tensor(int32: [1, 0], shape: [2], on: device)
        var losses: [Float] = [], retained: [[String: Int]] = []
        for body in [exact.encoder, fewBit.encoder] {
            let model = try SequenceClassifier(body: body, classes: 3, seed: 4)
            #expect(model.head.weight.shape == [384, 3])
            #expect(model.parameters.count == body.parameters.count + 2)
            let loss = try model.loss(ids, attentionMask: mask, labels: labels)
            losses.append(try loss.item())
            retained.append(loss.retainedBytesByOp())
        }
        #expect(losses[0] == losses[1], "the forward does not depend on the memory mode")
        let tokens = 2 * batch.length
        #expect(retained[0]["gelu activation (exact)"] == 6 * tokens * 1536 * 4)
        #expect(retained[1]["gelu activation (3-bit)"] == 6 * FewBitCodes.packedWordCount(count: tokens * 1536, bits: 3) * 4)
        #expect(retained[1]["gelu activation (exact)"] == nil)
        #expect(throws: TensorError.self) {
            try SentenceEmbedder(directory: ModelFiles.directory, on: device) { $0.feedForward = 1024 }
        }
    }

    @Test func orderAndBatchingDoNotChangeEmbeddings() throws {
        _ = try ModelFiles.require("model.safetensors")
        let model = try SentenceEmbedder(directory: ModelFiles.directory, on: .cpu)
        let texts = ["A short one.", "A somewhat longer sentence with more words in it.", "Mid length text here."]
        let together = try model.embed(texts).toArray()
        let oneByOne = try texts.flatMap { try model.embed([$0]).toArray() }
        #expect(nmse(together, oneByOne.map(Double.init)) < 1e-10)
        #expect(try model.embed([]).shape == [0, 384])
        #expect(throws: TensorError.self) { try model.embed(texts, batchSize: 0) }
    }

    @Test func tealSparsitySkipsTheCalibratedFractionAndStaysClose() throws {
        _ = try ModelFiles.require("model.safetensors")
        let model = try SentenceEmbedder(directory: ModelFiles.directory, on: .cpu)
        // Short texts: a debug build's sparse paths and sampling are slow.
        let texts = try Self.reference().cases.map(\.text).filter { !$0.isEmpty && $0.count < 120 }
        #expect(texts.count >= 8)
        let (calibration, evaluation) = (Array(texts.prefix(4)), Array(texts.dropFirst(4).prefix(4)))
        let dense = try model.embed(evaluation).toArray()
        let thresholds = try model.calibrateSparsity(0.5, texts: calibration)
        #expect(thresholds.count == 36)
        for (name, layer) in model.linearLayers {
            let threshold = try #require(thresholds[name])
            #expect(threshold > 0)
            let sampled = layer.inputSparsity.sampledSparsity(at: threshold)
            #expect(abs(sampled - 0.5) < 0.01, "\(name): \(sampled) of the calibration inputs at or below \(threshold)")
        }
        let sparse = try model.embed(evaluation).toArray()
        var lowest = 1.0
        for row in 0..<evaluation.count {
            let a = dense[(row * 384)..<((row + 1) * 384)], b = sparse[(row * 384)..<((row + 1) * 384)]
            lowest = min(lowest, zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) })   // both unit norm
        }
        #expect(lowest > 0.9 && lowest < 0.999999, "50% TEAL sparsity: lowest cosine to dense \(lowest)")
        model.clearSparsity()
        #expect(try model.embed(evaluation).toArray() == dense, "clearing the thresholds restores the dense model")
        #expect(throws: TensorError.self) { try model.calibrateSparsity(1, texts: calibration) }
    }

    @Test func aMissingOrBrokenDirectoryThrows() throws {
        #expect(throws: TensorError.self) { try SentenceEmbedder(directory: "/nonexistent", on: .cpu) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("embedder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("not json".utf8).write(to: directory.appendingPathComponent("config.json"))
        #expect(throws: TensorError.self) { try SentenceEmbedder(directory: directory.path, on: .cpu) }
    }
}
