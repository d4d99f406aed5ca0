import Foundation
import TensorEngine

/// `tensorbench tokenizer`: WordPieceTokenizer's ids against transformers' on every text of a
/// reference file (Benchmarks/peers/tokenizer_reference.py --all: every fortunes text), and
/// its speed.
enum TokenizerCommand {
    static let help = """
        tensorbench tokenizer [REFERENCE.json] [VOCAB.txt]
          Encodes every text of REFERENCE (default .cache/tokenizer/fortunes_reference.json,
          written by `.venv/bin/python3 Benchmarks/peers/tokenizer_reference.py --all` from
          transformers' BertTokenizer) with WordPieceTokenizer on VOCAB (default
          .cache/models/all-MiniLM-L6-v2/vocab.txt, from `scripts/install-deps --models`) and
          compares the ids exactly: prints the number of texts, of mismatches (the first few
          token by token) and texts/s. Exits 1 on any mismatch. With
          .cache/tokenizer/characters_reference.json (`tokenizer_reference.py --characters`):
          "a" + c + "b" for every Unicode scalar value c.
        """

    struct Reference: Decodable {
        struct Case: Decodable {
            var text: String
            var ids: [Int32]
        }
        var transformers: String
        var tokenizers: String?
        var max_length: Int
        var cases: [Case]
    }

    /// Whether every text matched.
    static func run(_ options: Options, report: inout Report) throws -> Bool {
        let referencePath = options.rest.first ?? ".cache/tokenizer/fortunes_reference.json"
        let vocabularyPath = options.rest.dropFirst().first ?? ".cache/models/all-MiniLM-L6-v2/vocab.txt"
        guard FileManager.default.fileExists(atPath: vocabularyPath) else {
            throw UsageError("\(vocabularyPath) is missing: run scripts/install-deps --models")
        }
        guard FileManager.default.fileExists(atPath: referencePath) else {
            throw UsageError("\(referencePath) is missing: run .venv/bin/python3 Benchmarks/peers/tokenizer_reference.py --all "
                             + "(after scripts/install-deps --peers --models)")
        }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: referencePath)))
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabularyPath, maxLength: reference.max_length)

        let start = DispatchTime.now().uptimeNanoseconds
        let encoded = reference.cases.map { tokenizer.encode($0.text) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        var mismatches = 0
        for (item, ids) in zip(reference.cases, encoded) where ids != item.ids {
            mismatches += 1
            if mismatches <= 5 {
                print("mismatch: \(item.text.debugDescription)")
                print("  ours:         \(ids.map { tokenizer.token(of: $0) ?? "?" })")
                print("  transformers: \(item.ids.map { tokenizer.token(of: $0) ?? "?" })")
            }
        }
        let tokens = encoded.reduce(0) { $0 + $1.count }
        print("""
            tokenizer: \(reference.cases.count) texts, \(tokens) ids, \(mismatches) mismatches against transformers \
            \(reference.transformers) (tokenizers \(reference.tokenizers ?? "?")) BertTokenizer
            speed: \(Int(Double(reference.cases.count) / seconds)) texts/s, \(Int(Double(tokens) / seconds)) ids/s \
            (one thread, \(String(format: "%.2f", seconds)) s)
            """)
        report.notes["tokenizer"] = "\(reference.cases.count) texts, \(mismatches) mismatches"
        return mismatches == 0
    }
}
