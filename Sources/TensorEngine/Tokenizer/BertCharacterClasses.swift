/// The character classes of BERT's basic tokenisation, as transformers' `BertTokenizer`
/// (Hugging Face `tokenizers`' BertNormalizer and BertPreTokenizer) defines them.
///
/// Those take general categories from a Unicode 8.0 table (the `unicode_categories` crate),
/// whitespace, lower-casing and decomposition from current Unicode. So a category test here
/// counts only characters assigned by Unicode 8.0: a newer punctuation mark is not split off,
/// a newer nonspacing mark is not stripped and a newer format character is not dropped,
/// exactly as there. (The older Python tokenizer used Python's own, newer, table.)
///
/// ```swift
/// BertCharacterClasses.isPunctuation("!")   // true
/// ```
enum BertCharacterClasses {
    /// The seven characters assigned by Unicode 8.0 whose category has changed since in a way
    /// that matters here (found by comparing every code point with transformers): their 8.0
    /// punctuation and nonspacing-mark status.
    static let unicode8Punctuation: Set<UInt32> = [0x166D, 0x111C9]          // Po then; So and Mn now
    static let unicode8NonspacingMarks: Set<UInt32> = [0x1734, 0x1171E]      // Mn then; Mc now
    static let unicode8NotNonspacingMarks: Set<UInt32> = [0x1885, 0x1886, 0xA9BD, 0x111C9]  // Lo, Lo, Mc, Po then; Mn now

    /// Assigned in Unicode 8.0 or earlier.
    static func isInUnicode8(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < 8 || (age.major == 8 && age.minor == 0)
    }

    /// Tab, newline, carriage return and every White_Space character: each becomes a space.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D, 0x20: return true
        case 0..<0x80: return false
        default: return scalar.properties.isWhitespace
        }
    }

    /// Removed by cleaning: control (Cc), format (Cf) and private-use (Co) characters, except
    /// tab, newline and carriage return (whitespace); plus NUL and U+FFFD (removed by the caller).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0..<0x20, 0x7F: return true
        case 0x20..<0x7F: return false
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .privateUse: return isInUnicode8(scalar)
            default: return false
            }
        }
    }

    /// Split off as a token of its own: ASCII 33-47, 58-64, 91-96 and 123-126 (which includes
    /// symbols such as `$`, `+` and `^`), and every character of a punctuation category (P*).
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        case 0..<0x80: return false
        default:
            if unicode8Punctuation.contains(scalar.value) { return true }
            switch scalar.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation:
                return isInUnicode8(scalar)
            default: return false
            }
        }
    }

    /// Dropped after canonical decomposition when accents are stripped (Mn).
    static func isNonspacingMark(_ scalar: Unicode.Scalar) -> Bool {
        guard scalar.value >= 0x300 else { return false }
        if unicode8NonspacingMarks.contains(scalar.value) { return true }
        if unicode8NotNonspacingMarks.contains(scalar.value) { return false }
        return scalar.properties.generalCategory == .nonspacingMark && isInUnicode8(scalar)
    }

    /// A CJK ideograph: surrounded by spaces, so each is a word of its own. These are the blocks
    /// `tokenizers` lists (its sixth range starts at U+2B920; the older Python tokenizer's at U+2B820).
    static func isCJKIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
