import Testing
@testable import TensorCore

@Suite struct FewBitCodesTests {
    @Test func designExample() {
        let words = FewBitCodes.pack([1, 3, 5, 6, 6, 6, 7, 7], bits: 3)
        #expect(words == [16_739_673])
        #expect(FewBitCodes.bytes(words, count: 8, bits: 3) == [89, 109, 255])
        #expect(FewBitCodes.unpack(words, count: 8, bits: 3) == [1, 3, 5, 6, 6, 6, 7, 7])
        #expect(FewBitCodes.words(fromBytes: [89, 109, 255]) == words)
    }

    @Test func counts() {
        #expect(FewBitCodes.packedWordCount(count: 0, bits: 3) == 0)
        #expect(FewBitCodes.packedWordCount(count: 10, bits: 3) == 1)
        #expect(FewBitCodes.packedWordCount(count: 11, bits: 3) == 2)
        #expect(FewBitCodes.packedWordCount(count: 4, bits: 8) == 1)
        #expect(FewBitCodes.packedWordCount(count: 5, bits: 8) == 2)
        for bits in 1...8 {
            #expect(FewBitCodes.packedByteCount(count: 8, bits: bits) == bits)
            #expect(FewBitCodes.packedWordCount(count: 32, bits: bits) == bits)
        }
    }

    /// Round trips with random codes and odd counts; the byte view matches a bit-by-bit
    /// reference stream, which covers codes straddling word boundaries (b = 3, 5, 6, 7).
    @Test(arguments: 1...8) func roundTrip(bits: Int) {
        var rng = SeededRandom(seed: UInt64(bits) * 7919)
        for count in [0, 1, 7, 31, 33, 97, 1001] {
            let codes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next() % (1 << UInt64(bits))) }
            let words = FewBitCodes.pack(codes, bits: bits)
            #expect(words.count == FewBitCodes.packedWordCount(count: count, bits: bits))
            #expect(FewBitCodes.unpack(words, count: count, bits: bits) == codes)
            // Reference: an explicit LSB-first bit stream.
            var stream = [UInt8](repeating: 0, count: FewBitCodes.packedByteCount(count: count, bits: bits))
            for (i, code) in codes.enumerated() {
                for bit in 0..<bits where (code >> UInt8(bit)) & 1 == 1 {
                    let p = i * bits + bit
                    stream[p / 8] |= 1 << UInt8(p % 8)
                }
            }
            #expect(FewBitCodes.bytes(words, count: count, bits: bits) == stream)
            // Padding bits of the last word stay zero.
            let used = count * bits
            if used % 32 != 0, let last = words.last {
                #expect(last >> UInt32(used % 32) == 0)
            }
        }
    }

    @Test func straddlingCodes() {
        // 3-bit code 10 occupies stream bits 30, 31, 32: two bits in word 0, one in word 1.
        var codes = [UInt8](repeating: 0, count: 11)
        codes[10] = 0b111
        #expect(FewBitCodes.pack(codes, bits: 3) == [0xC000_0000, 0x1])
        // 7-bit code 4 occupies bits 28...34.
        var seven = [UInt8](repeating: 0, count: 5)
        seven[4] = 0b101_0101
        #expect(FewBitCodes.pack(seven, bits: 7) == [0x5000_0000, 0b101])
        #expect(FewBitCodes.unpack([0x5000_0000, 0b101], count: 5, bits: 7)[4] == 0b101_0101)
    }
}
