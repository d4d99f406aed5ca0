/// Packing of few-bit codes: the host reference for the CPU and Vulkan kernels.
///
/// Codes of b bits (1...8) are an LSB-first bit stream: code i occupies stream bits
/// [i*b, (i+1)*b), and stream bit p is bit p % 32 of word p / 32. Read as little-endian
/// bytes, 8 codes take exactly b bytes. For b = 3, 5, 6, 7 codes straddle word boundaries
/// (code 10 of a 3-bit stream is bits 30...32). Unused high bits of the last word are 0.
///
/// ```swift
/// let words = FewBitCodes.pack([1, 3, 5, 6, 6, 6, 7, 7], bits: 3)
/// FewBitCodes.bytes(words, count: 8, bits: 3)        // [89, 109, 255]
/// FewBitCodes.unpack(words, count: 8, bits: 3)       // [1, 3, 5, 6, 6, 6, 7, 7]
/// FewBitCodes.packedWordCount(count: 8, bits: 3)     // 1
/// ```
public enum FewBitCodes {
    /// The number of 32-bit words that hold `count` codes of `bits` bits.
    ///
    /// ```swift
    /// FewBitCodes.packedWordCount(count: 11, bits: 3)   // 2 (33 bits)
    /// ```
    @inlinable
    public static func packedWordCount(count: Int, bits: Int) -> Int {
        precondition(count >= 0 && (1...8).contains(bits), "count >= 0 and bits in 1...8")
        return (count * bits + 31) / 32
    }

    /// The number of bytes the stream of `count` codes of `bits` bits needs: ceil(count*bits/8).
    ///
    /// ```swift
    /// FewBitCodes.packedByteCount(count: 8, bits: 3)   // 3
    /// ```
    @inlinable
    public static func packedByteCount(count: Int, bits: Int) -> Int {
        precondition(count >= 0 && (1...8).contains(bits), "count >= 0 and bits in 1...8")
        return (count * bits + 7) / 8
    }

    /// Packs codes (each < 2^bits) into words, LSB first.
    ///
    /// ```swift
    /// FewBitCodes.pack([1, 0, 1, 1], bits: 1)   // [0b1101] = [13]
    /// ```
    ///
    /// - Precondition: bits in 1...8 and every code < 2^bits.
    public static func pack(_ codes: [UInt8], bits: Int) -> [UInt32] {
        let wordCount = packedWordCount(count: codes.count, bits: bits)
        var words = [UInt32](repeating: 0, count: wordCount)
        let limit = UInt32(1) << UInt32(bits)
        words.withUnsafeMutableBufferPointer { out in
            for (i, code) in codes.enumerated() {
                let value = UInt32(code)
                precondition(value < limit, "code \(code) does not fit in \(bits) bits")
                let position = i * bits
                let word = position >> 5
                let shift = UInt32(position & 31)
                out[word] |= value << shift
                if shift + UInt32(bits) > 32 {
                    out[word + 1] |= value >> (32 - shift)
                }
            }
        }
        return words
    }

    /// Unpacks the first `count` codes of `bits` bits from words packed by ``pack(_:bits:)``.
    ///
    /// ```swift
    /// FewBitCodes.unpack([13], count: 4, bits: 1)   // [1, 0, 1, 1]
    /// ```
    ///
    /// - Precondition: bits in 1...8 and `words` holds at least `packedWordCount(count:bits:)` words.
    public static func unpack(_ words: [UInt32], count: Int, bits: Int) -> [UInt8] {
        precondition(words.count >= packedWordCount(count: count, bits: bits), "too few words for \(count) codes")
        let mask = (UInt32(1) << UInt32(bits)) - 1
        var codes = [UInt8](repeating: 0, count: count)
        words.withUnsafeBufferPointer { input in
            codes.withUnsafeMutableBufferPointer { out in
                for i in 0..<count {
                    let position = i * bits
                    let word = position >> 5
                    let shift = UInt32(position & 31)
                    var value = input[word] >> shift
                    if shift + UInt32(bits) > 32 {
                        value |= input[word + 1] << (32 - shift)
                    }
                    out[i] = UInt8(truncatingIfNeeded: value & mask)
                }
            }
        }
        return codes
    }

    /// The little-endian byte view of packed words, cut to the `packedByteCount` bytes that
    /// `count` codes of `bits` bits occupy.
    ///
    /// ```swift
    /// let words = FewBitCodes.pack([1, 3, 5, 6, 6, 6, 7, 7], bits: 3)
    /// FewBitCodes.bytes(words, count: 8, bits: 3)   // [89, 109, 255]
    /// ```
    public static func bytes(_ words: [UInt32], count: Int, bits: Int) -> [UInt8] {
        let byteCount = packedByteCount(count: count, bits: bits)
        precondition(words.count * 4 >= byteCount, "too few words for \(count) codes")
        return (0..<byteCount).map { UInt8(truncatingIfNeeded: words[$0 >> 2] >> UInt32(($0 & 3) * 8)) }
    }

    /// Words from a little-endian byte stream (the inverse of ``bytes(_:count:bits:)``);
    /// missing high bytes of the last word are 0.
    ///
    /// ```swift
    /// FewBitCodes.words(fromBytes: [89, 109, 255])   // [16_739_673]
    /// ```
    public static func words(fromBytes bytes: [UInt8]) -> [UInt32] {
        var words = [UInt32](repeating: 0, count: (bytes.count + 3) / 4)
        for (i, byte) in bytes.enumerated() { words[i >> 2] |= UInt32(byte) << UInt32((i & 3) * 8) }
        return words
    }
}
