import Foundation
import TestSupport
import Testing
import TensorEngine

/// The reference ids (Benchmarks/peers/tokenizer_reference.py writes them with transformers'
/// BertTokenizer): `{"cases": [{"text", "ids"}], ...}`.
struct TokenizerReference: Decodable {
    struct Case: Decodable {
        var text: String
        var ids: [Int32]
    }
    var transformers: String
    var max_length: Int
    var cases: [Case]
}

/// WordPieceTokenizer: ids equal to transformers' BertTokenizer on the real vocabulary for 50
/// fortunes texts and hand-picked hard cases, and WordPiece's rules on a vocabulary made here.
@Suite(.vulkanValidation) struct WordPieceTokenizerTests {
    @Test func idsEqualTransformersOnTheReferenceTable() throws {
        let tokenizer = try WordPieceTokenizer(vocabularyFile: ModelFiles.require("vocab.txt"))
        let data = try Data(contentsOf: URL(fileURLWithPath: ModelFiles.resource("tokenizer_reference.json")))
        let reference = try JSONDecoder().decode(TokenizerReference.self, from: data)
        #expect(reference.cases.count == 84 && reference.max_length == tokenizer.maxLength)
        for item in reference.cases {
            let ids = tokenizer.encode(item.text)
            #expect(ids == item.ids, """
                \(item.text.debugDescription)
                ours:         \(ids.map { tokenizer.token(of: $0) ?? "?" })
                transformers: \(item.ids.map { tokenizer.token(of: $0) ?? "?" })
                """)
        }
    }

    @Test func realVocabularyBasics() throws {
        let tokenizer = try WordPieceTokenizer(vocabularyFile: ModelFiles.require("vocab.txt"))
        #expect(tokenizer.vocabularySize == 30522)
        #expect([tokenizer.paddingID, tokenizer.unknownID, tokenizer.classifierID, tokenizer.separatorID] == [0, 100, 101, 102])
        #expect(tokenizer.encode("Hello, world!") == [101, 7592, 1010, 2088, 999, 102])
        #expect(tokenizer.tokenize("Héllo, WORLD!") == ["hello", ",", "world", "!"])
        #expect(tokenizer.encode("") == [101, 102])
        #expect(tokenizer.id(of: "##ing") != nil && tokenizer.token(of: 101) == "[CLS]" && tokenizer.token(of: 30522) == nil)
    }

    /// A vocabulary small enough to work the expected pieces out by hand.
    static let tiny = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "una", "##aff", "##able", "##ffa",
                       "##ble", "a", "##a", "!", ",", "hello", "cafe", "e\u{301}", "\u{09CB}", "x"]

    @Test func greedyLongestMatchFirst() throws {
        let t = try WordPieceTokenizer(vocabulary: Self.tiny)
        // "unaffable": "una" is the longest start, then "##ffa", "##ble" (not un ##aff ##able).
        #expect(t.tokenize("unaffable") == ["una", "##ffa", "##ble"])
        #expect(t.tokenize("UNABLE") == ["una", "##ble"])
        // One unmatchable remainder makes the whole word [UNK]; other words are unaffected.
        #expect(t.tokenize("unaffablez hello") == ["[UNK]", "hello"])
        // Punctuation is split off; accents stripped before the lookup (café -> cafe).
        #expect(t.tokenize("Hello,café!") == ["hello", ",", "cafe", "!"])
        // Tokens are compared as bytes: the vocabulary's "e\u{301}" and "\u{09CB}" are never
        // matched by canonically equivalent text (accents are stripped; U+09CB decomposes to two
        // spacing marks, which stay).
        #expect(t.tokenize("e\u{301}") == ["[UNK]"])
        #expect(t.tokenize("\u{09CB}") == ["[UNK]"])
    }

    @Test func longWordsBecomeUnknown() throws {
        let t = try WordPieceTokenizer(vocabulary: Self.tiny)
        #expect(t.tokenize(String(repeating: "a", count: 100)) == ["a"] + Array(repeating: "##a", count: 99))
        #expect(t.tokenize(String(repeating: "a", count: 101)) == ["[UNK]"])
        // The limit counts characters after normalisation: 101 "á" are 101 "a".
        #expect(t.tokenize(String(repeating: "á", count: 101)) == ["[UNK]"])
    }

    @Test func specialTokensInTheTextAreKept() throws {
        let t = try WordPieceTokenizer(vocabulary: Self.tiny)
        #expect(t.encode("hello [MASK] x[SEP]a [mask]") == [2, 15, 4, 19, 3, 11, 1, 1, 1, 3])
    }

    @Test func truncationKeepsClassifierAndSeparator() throws {
        let t = try WordPieceTokenizer(vocabulary: Self.tiny, maxLength: 4)
        #expect(t.encode("a a a a a") == [2, 11, 11, 3])
        #expect(t.encode("a") == [2, 11, 3])
        #expect(try WordPieceTokenizer(vocabulary: Self.tiny, maxLength: 2).encode("a a") == [2, 3])
    }

    @Test(arguments: TestDevices.all)
    func batchesPadAndMask(device: Device) throws {
        let t = try WordPieceTokenizer(vocabulary: Self.tiny)
        let batch = t.encodeBatch(["hello", "unaffable, x!", ""])
        #expect(batch.count == 3 && batch.length == 8 && batch.lengths == [3, 8, 2])
        #expect(batch.ids == [2, 15, 3, 0, 0, 0, 0, 0,
                              2, 6, 9, 10, 14, 19, 13, 3,
                              2, 3, 0, 0, 0, 0, 0, 0])
        #expect(batch.attentionMask == [1, 1, 1, 0, 0, 0, 0, 0,  1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 0, 0, 0, 0, 0, 0])
        let ids = try batch.ids(on: device)
        #expect(ids.shape == [3, 8] && ids.dtype == .int32 && ids.device == device)
        #expect(try ids.toInt32Array() == batch.ids)
        let mask = try batch.attentionMask(on: device, dtype: .float32)
        #expect(mask.dtype == .float32)
        #expect(try mask.toArray() == batch.attentionMask.map(Float.init))
        #expect(try batch.attentionMask(on: device).toInt32Array() == batch.attentionMask)
        #expect(try batch.lengths(on: device).toInt32Array() == [3, 8, 2])
        #expect(t.encodeBatch([]).ids.isEmpty)
    }

    @Test func badVocabulariesThrow() throws {
        #expect(throws: TensorError.self) { try WordPieceTokenizer(vocabulary: ["[CLS]", "[SEP]", "[PAD]"]) }   // no [UNK]
        #expect(throws: TensorError.self) { try WordPieceTokenizer(vocabulary: []) }
        #expect(throws: TensorError.self) { try WordPieceTokenizer(vocabulary: Self.tiny, maxLength: 1) }
        #expect(throws: TensorError.self) { try WordPieceTokenizer(vocabularyFile: "/nonexistent/vocab.txt") }
        let path = NSTemporaryDirectory() + "te-vocab-\(getpid()).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data([0x5B, 0x50, 0x41, 0x44, 0x5D, 0x0A, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: path))
        #expect(throws: TensorError.self) { try WordPieceTokenizer(vocabularyFile: path) }   // not UTF-8
        try Data("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhi\r\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try WordPieceTokenizer(vocabularyFile: path).encode("Hi") == [2, 4, 3])   // CRLF lines
    }
}
