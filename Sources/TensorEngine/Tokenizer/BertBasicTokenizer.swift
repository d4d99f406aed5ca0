import Foundation

/// BERT's uncased basic tokenisation: text to the words WordPiece then splits.
///
/// In order, as `tokenizers`' BertNormalizer and BertPreTokenizer do it: drop NUL, U+FFFD
/// and control characters and turn every whitespace character into a space; put spaces
/// around CJK ideographs; decompose canonically (NFD) and drop nonspacing marks (accents);
/// lower-case each character (full mappings, no context: a final capital sigma becomes σ);
/// split at whitespace; split off each punctuation character as a word of its own.
/// Words come back as UTF-8 bytes with their length in characters (Unicode scalars).
///
/// ```swift
/// BertBasicTokenizer.words("Héllo, WORLD!".unicodeScalars).map { String(decoding: $0.bytes, as: UTF8.self) }
/// // ["hello", ",", "world", "!"]
/// ```
enum BertBasicTokenizer {
    struct Word {
        var bytes: [UInt8]
        /// Unicode scalars in the word (the limit on a word's length counts these).
        var characters: Int
    }

    static func words(_ text: some Sequence<Unicode.Scalar>) -> [Word] {
        var words: [Word] = []
        var current = Word(bytes: [], characters: 0)
        func finish() {
            if current.characters > 0 { words.append(current) }
            current = Word(bytes: [], characters: 0)
        }
        for scalar in normalized(text) {
            if BertCharacterClasses.isWhitespace(scalar) {
                finish()
            } else if BertCharacterClasses.isPunctuation(scalar) {
                finish()
                current.bytes.append(contentsOf: UTF8.encode(scalar)!)
                current.characters = 1
                finish()
            } else {
                current.bytes.append(contentsOf: UTF8.encode(scalar)!)
                current.characters += 1
            }
        }
        finish()
        return words
    }

    /// The text after cleaning, CJK spacing, accent stripping and lower-casing.
    static func normalized(_ text: some Sequence<Unicode.Scalar>) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        var isASCII = true
        for scalar in text {
            let value = scalar.value
            if value == 0 || value == 0xFFFD || BertCharacterClasses.isControl(scalar) { continue }
            if BertCharacterClasses.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if BertCharacterClasses.isCJKIdeograph(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
            if value >= 0x80 { isASCII = false }
        }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(cleaned.count)
        if isASCII {
            for scalar in cleaned {
                let value = scalar.value
                result.append((65...90).contains(value) ? Unicode.Scalar(value + 32)! : scalar)
            }
            return result
        }
        let decomposed = String(cleaned).decomposedStringWithCanonicalMapping
        for scalar in decomposed.unicodeScalars where !BertCharacterClasses.isNonspacingMark(scalar) {
            if scalar.isASCII {
                let value = scalar.value
                result.append((65...90).contains(value) ? Unicode.Scalar(value + 32)! : scalar)
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return result
    }
}
