import Foundation

/// A WordPiece vocabulary: one token per line, the line number its id. Tokens are compared
/// as UTF-8 bytes, never as Swift strings (which would equate canonically equivalent
/// spellings such as "é" and "e\u{301}" where the reference tokenizer does not).
///
/// ```swift
/// let vocabulary = try WordPieceVocabulary(path: "vocab.txt")
/// vocabulary.wordStart[ArraySlice("hello".utf8)]   // 7592
/// ```
struct WordPieceVocabulary: Sendable {
    /// Every token by id.
    var tokens: [String]
    /// Ids of tokens that may start a word, by their bytes.
    var wordStart: [ArraySlice<UInt8>: Int32] = [:]
    /// Ids of continuation tokens ("##" + piece), by the piece's bytes.
    var continuation: [ArraySlice<UInt8>: Int32] = [:]
    /// The longest token, in bytes (no candidate longer than this can match).
    var longestToken = 0

    init(path: String) throws(TensorError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .io(path: path, reason: "cannot read the vocabulary: \(error.localizedDescription)")
        }
        // Split the bytes, not the String: "\r\n" is one Character and would not split at "\n".
        var lines: [String] = []
        for line in [UInt8](data).split(separator: 0x0A, omittingEmptySubsequences: false) {
            let content = line.last == 0x0D ? line.dropLast() : line
            guard let token = String(validating: content, as: UTF8.self) else {
                throw .io(path: path, reason: "line \(lines.count + 1) of the vocabulary is not valid UTF-8")
            }
            lines.append(token)
        }
        if lines.last == "" { lines.removeLast() }   // the file's final newline
        guard !lines.isEmpty else { throw .io(path: path, reason: "the vocabulary is empty") }
        guard lines.count <= Int(Int32.max) else { throw .io(path: path, reason: "the vocabulary has too many tokens") }
        self.init(tokens: lines)
    }

    init(tokens: [String]) {
        self.tokens = tokens
        for (index, token) in tokens.enumerated() {
            let bytes = Array(token.utf8)
            // A repeated token keeps its last id, as transformers' vocabulary reader does.
            wordStart[bytes[...]] = Int32(index)
            if bytes.count > 2, bytes[0] == UInt8(ascii: "#"), bytes[1] == UInt8(ascii: "#") {
                continuation[bytes[2...]] = Int32(index)
            }
            longestToken = max(longestToken, bytes.count)
        }
    }

    /// The id of `token`, matched byte for byte.
    func id(of token: String) -> Int32? {
        wordStart[Array(token.utf8)[...]]
    }
}
