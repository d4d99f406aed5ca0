import Foundation
import TensorEngine

/// The fine-tuning task of `tensorbench finetune`: topic classification of Debian's fortunes,
/// the `topicCount` largest topics, texts that appear in one of them only, split train/test by
/// a hash of the text (FNV-1a 64 of its UTF-8, test when it is 0 mod 5), tokenised by the
/// model's WordPiece tokenizer (truncated to `maxLength`), in fixed batches.
struct FinetuneData {
    struct Batch {
        let tokens: TokenBatch
        let labels: [Int32]
    }

    let topics: [String]
    let trainCount: Int
    let testCount: Int
    /// One batch per training step, drawn without replacement from the shuffled training
    /// texts (reshuffled after each pass), each padded to its longest text.
    let steps: [Batch]
    /// The test texts (the first `testLimit` of the test split in corpus order), in batches.
    let test: [Batch]

    init(corpus: FortunesCorpus, tokenizer: WordPieceTokenizer, topicCount: Int, steps stepCount: Int, batch: Int,
         testLimit: Int?, testBatch: Int = 32, seed: UInt64) throws {
        let largest = corpus.topics.sorted { ($0.texts.count, $1.name) > ($1.texts.count, $0.name) }.prefix(topicCount)
        guard largest.count == topicCount else { throw UsageError("fortunes has only \(largest.count) topics") }
        topics = largest.map(\.name)
        var owners: [String: Set<Int>] = [:]
        for (label, topic) in largest.enumerated() {
            for text in topic.texts { owners[text, default: []].insert(label) }
        }
        var train: [(String, Int32)] = [], test: [(String, Int32)] = []
        var seen: Set<String> = []
        for (label, topic) in largest.enumerated() {
            for text in topic.texts where owners[text]?.count == 1 && seen.insert(text).inserted {
                if Self.hash(text) % 5 == 0 { test.append((text, Int32(label))) } else { train.append((text, Int32(label))) }
            }
        }
        if let testLimit { test = Self.spread(test, count: testLimit) }
        trainCount = train.count
        testCount = test.count
        var stream = IndexStream(seed: seed)
        var order: [Int] = []
        var batches: [Batch] = []
        for _ in 0..<stepCount {
            var members: [(String, Int32)] = []
            for _ in 0..<batch {
                if order.isEmpty { order = Self.shuffled(train.count, &stream) }
                members.append(train[order.removeLast()])
            }
            batches.append(Batch(tokens: tokenizer.encodeBatch(members.map(\.0)), labels: members.map(\.1)))
        }
        steps = batches
        self.test = stride(from: 0, to: test.count, by: testBatch).map { start in
            let members = test[start..<min(start + testBatch, test.count)]
            return Batch(tokens: tokenizer.encodeBatch(members.map(\.0)), labels: members.map(\.1))
        }
    }

    /// FNV-1a, 64 bits, of the UTF-8 bytes: the same split on every machine and run.
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// A Fisher-Yates permutation of 0..<count from `stream`.
    static func shuffled(_ count: Int, _ stream: inout IndexStream) -> [Int] {
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, stream.next(below: i + 1)) }
        return order
    }

    /// `count` items evenly spread over `items` (every topic represented, order kept).
    static func spread<T>(_ items: [T], count: Int) -> [T] {
        guard count < items.count else { return items }
        return (0..<count).map { items[$0 * items.count / count] }
    }

    /// Every batch's ids, mask and labels padded to one width, for the peer: ids and mask
    /// [batches, rows, width], labels [batches, rows].
    static func padded(_ batches: [Batch], prefix: String, paddingID: Int32) throws -> [String: Tensor] {
        let rows = batches.map(\.tokens.count).max() ?? 0, width = batches.map(\.tokens.length).max() ?? 0
        var ids = [Int32](repeating: paddingID, count: batches.count * rows * width)
        var mask = [Float](repeating: 0, count: ids.count)
        var labels = [Int32](repeating: -1, count: batches.count * rows)
        for (b, batch) in batches.enumerated() {
            let t = batch.tokens
            for row in 0..<t.count {
                labels[b * rows + row] = batch.labels[row]
                for column in 0..<t.length {
                    ids[(b * rows + row) * width + column] = t.ids[row * t.length + column]
                    mask[(b * rows + row) * width + column] = Float(t.attentionMask[row * t.length + column])
                }
            }
        }
        return [prefix + "tokens": try Tensor(int32: ids, shape: [batches.count, rows, width], on: .cpu),
                prefix + "mask": try Tensor(mask, shape: [batches.count, rows, width], on: .cpu),
                prefix + "labels": try Tensor(int32: labels, shape: [batches.count, rows], on: .cpu)]
    }
}

/// This process's resident memory from /proc/self/status: the current (VmRSS) and the peak
/// so far (VmHWM), in bytes; nil where the file is missing (not Linux).
enum ResidentMemory {
    static func read(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let number = line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
            return number.map { $0 * 1024 }   // the file says kB
        }
        return nil
    }

    static var current: Int? { read("VmRSS") }
    static var peak: Int? { read("VmHWM") }
}
