import Foundation

/// BERT's uncased WordPiece tokenizer: text to token ids `[CLS] ... [SEP]`, the same ids as
/// transformers' `BertTokenizer` (Hugging Face `tokenizers`) gives for an uncased vocabulary.
///
/// Steps: the special tokens `[PAD] [UNK] [CLS] [SEP] [MASK]` written literally in the text
/// are kept as they are; the rest goes through BERT's basic tokenisation (control characters
/// dropped, whitespace normalised, CJK ideographs split, accents stripped, lower-cased,
/// punctuation split off) and then greedy longest-match-first WordPiece: each word is cut
/// into the longest vocabulary token from its start, then the longest `##` continuation
/// token, and so on; a word that cannot be cut that way, or longer than 100 characters,
/// becomes `[UNK]`. Sequences are truncated to ``maxLength`` ids, `[CLS]` and `[SEP]` included.
///
/// ```swift
/// let tokenizer = try WordPieceTokenizer(vocabularyFile: "all-MiniLM-L6-v2/vocab.txt")
/// tokenizer.encode("Hello, world!")          // [101, 7592, 1010, 2088, 999, 102]
/// tokenizer.tokenize("unaffable")            // ["una", "##ffa", "##ble"]
/// let batch = tokenizer.encodeBatch(["Hi.", "A longer one."])
/// let ids = try batch.ids(on: .cpu)          // int32 [2, 6], padded with [PAD] (0)
/// ```
public struct WordPieceTokenizer: Sendable {
    /// The most ids ``encode(_:)`` returns, `[CLS]` and `[SEP]` included (256 for all-MiniLM-L6-v2).
    public let maxLength: Int
    /// A word longer than this many characters becomes `[UNK]` (100, as in BERT).
    public let maxCharactersPerWord = 100
    /// The id of `[CLS]`, which starts every sequence.
    public let classifierID: Int32
    /// The id of `[SEP]`, which ends every sequence.
    public let separatorID: Int32
    /// The id of `[PAD]`, which fills batches.
    public let paddingID: Int32
    /// The id of `[UNK]`, for words the vocabulary cannot spell.
    public let unknownID: Int32

    let vocabulary: WordPieceVocabulary
    /// The special tokens matched literally in the text, as UTF-8, with their ids.
    let specialTokens: [(bytes: [UInt8], id: Int32)]

    /// A tokenizer over a `vocab.txt` (one token per line, line n having id n), which must hold
    /// `[CLS]`, `[SEP]`, `[PAD]` and `[UNK]`.
    ///
    /// ```swift
    /// let tokenizer = try WordPieceTokenizer(vocabularyFile: dir + "/vocab.txt", maxLength: 128)
    /// ```
    public init(vocabularyFile path: String, maxLength: Int = 256) throws(TensorError) {
        try self.init(vocabulary: WordPieceVocabulary(path: path), maxLength: maxLength, source: path)
    }

    /// A tokenizer over a vocabulary given as its tokens in id order.
    ///
    /// ```swift
    /// let tokenizer = try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##able"])
    /// tokenizer.encode("Unable")   // [2, 4, 5, 3]
    /// ```
    public init(vocabulary tokens: [String], maxLength: Int = 256) throws(TensorError) {
        guard !tokens.isEmpty, tokens.count <= Int(Int32.max) else {
            throw .invalidArgument(op: "WordPieceTokenizer", reason: "the vocabulary has \(tokens.count) tokens")
        }
        try self.init(vocabulary: WordPieceVocabulary(tokens: tokens), maxLength: maxLength, source: "vocabulary")
    }

    init(vocabulary: WordPieceVocabulary, maxLength: Int, source: String) throws(TensorError) {
        guard maxLength >= 2 else {
            throw .invalidArgument(op: "WordPieceTokenizer", reason: "maxLength \(maxLength) leaves no room for [CLS] and [SEP]")
        }
        func required(_ token: String) throws(TensorError) -> Int32 {
            guard let id = vocabulary.id(of: token) else {
                throw .io(path: source, reason: "the vocabulary has no \(token) token")
            }
            return id
        }
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        classifierID = try required("[CLS]")
        separatorID = try required("[SEP]")
        paddingID = try required("[PAD]")
        unknownID = try required("[UNK]")
        specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary.id(of: token).map { (Array(token.utf8), $0) }
        }
    }

    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { vocabulary.tokens.count }

    /// The id of a vocabulary token (`"##ing"` for a continuation), or nil.
    ///
    /// ```swift
    /// tokenizer.id(of: "hello")   // 7592
    /// ```
    public func id(of token: String) -> Int32? { vocabulary.id(of: token) }

    /// The token of an id, or nil outside the vocabulary.
    ///
    /// ```swift
    /// tokenizer.token(of: 101)    // "[CLS]"
    /// ```
    public func token(of id: Int32) -> String? {
        vocabulary.tokens.indices.contains(Int(id)) ? vocabulary.tokens[Int(id)] : nil
    }

    /// The ids of `text`: `[CLS]`, its WordPiece tokens, `[SEP]`, at most ``maxLength`` in all
    /// (the tokens past `maxLength - 2` are dropped, as transformers' `truncation=True` does).
    ///
    /// ```swift
    /// tokenizer.encode("Hello, world!")   // [101, 7592, 1010, 2088, 999, 102]
    /// tokenizer.encode("")                // [101, 102]
    /// ```
    public func encode(_ text: String) -> [Int32] {
        var ids = [classifierID]
        ids += pieceIDs(text, limit: maxLength - 2)
        ids.append(separatorID)
        return ids
    }

    /// The WordPiece tokens of `text`, without `[CLS]`, `[SEP]` or truncation.
    ///
    /// ```swift
    /// tokenizer.tokenize("Héllo, WORLD!")   // ["hello", ",", "world", "!"]
    /// ```
    public func tokenize(_ text: String) -> [String] {
        pieceIDs(text, limit: .max).map { vocabulary.tokens[Int($0)] }
    }

    /// The ids of `texts`, padded with `[PAD]` to the longest (each truncated to ``maxLength``),
    /// with the attention mask and the lengths.
    ///
    /// ```swift
    /// let batch = tokenizer.encodeBatch(["Hi.", "A longer one."])
    /// batch.lengths        // [4, 6]
    /// batch.attentionMask  // [1, 1, 1, 1, 0, 0,  1, 1, 1, 1, 1, 1]
    /// ```
    public func encodeBatch(_ texts: [String]) -> TokenBatch {
        TokenBatch(sequences: texts.map(encode), paddingID: paddingID)
    }

    /// The WordPiece ids of `text` without `[CLS]`/`[SEP]`, at most `limit` of them.
    func pieceIDs(_ text: String, limit: Int) -> [Int32] {
        var ids: [Int32] = []
        var segmentStart = text.utf8.startIndex
        let bytes = text.utf8
        var index = bytes.startIndex
        // Special tokens written in the text are matched first, on the raw text, leftmost first.
        while index < bytes.endIndex, ids.count < limit {
            if bytes[index] == UInt8(ascii: "["), let special = specialToken(at: index, in: bytes) {
                appendPieces(of: text.unicodeScalars[segmentStart..<index], to: &ids, limit: limit)
                if ids.count < limit { ids.append(special.id) }
                index = bytes.index(index, offsetBy: special.length)
                segmentStart = index
            } else {
                index = bytes.index(after: index)
            }
        }
        if ids.count < limit { appendPieces(of: text.unicodeScalars[segmentStart..<bytes.endIndex], to: &ids, limit: limit) }
        return ids
    }

    private func specialToken(at index: String.UTF8View.Index, in bytes: String.UTF8View) -> (id: Int32, length: Int)? {
        for special in specialTokens {
            var position = index
            var matched = true
            for byte in special.bytes {
                guard position < bytes.endIndex, bytes[position] == byte else { matched = false; break }
                position = bytes.index(after: position)
            }
            if matched { return (special.id, special.bytes.count) }
        }
        return nil
    }

    private func appendPieces(of segment: Substring.UnicodeScalarView, to ids: inout [Int32], limit: Int) {
        guard !segment.isEmpty else { return }
        for word in BertBasicTokenizer.words(segment) {
            guard ids.count < limit else { return }
            for id in wordPieces(word) {
                guard ids.count < limit else { return }
                ids.append(id)
            }
        }
    }

    /// Greedy longest-match-first: the longest vocabulary token at the word's start, then the
    /// longest `##` continuation after it, ...; `[UNK]` for the whole word if any step fails.
    func wordPieces(_ word: BertBasicTokenizer.Word) -> [Int32] {
        guard word.characters <= maxCharactersPerWord else { return [unknownID] }
        let bytes = word.bytes
        var pieces: [Int32] = []
        var start = 0
        while start < bytes.count {
            var end = min(bytes.count, start + vocabulary.longestToken)
            var found: Int32?
            while end > start {
                if end == bytes.count || !Self.isContinuationByte(bytes[end]) {
                    let candidate = bytes[start..<end]
                    if let id = start == 0 ? vocabulary.wordStart[candidate] : vocabulary.continuation[candidate] {
                        found = id
                        break
                    }
                }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }

    /// A UTF-8 byte that continues a character (10xxxxxx): a piece never ends before one.
    private static func isContinuationByte(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
}
