/// The Philox4x32-10 counter-based generator (Salmon et al., "Parallel random numbers: as
/// easy as 1, 2, 3", SC'11; the Random123 reference): a 128-bit counter and a 64-bit key
/// give four 32-bit words, a pure function of both, so any element's random number is
/// computed where it is needed, in any order, on any device.
///
/// ```swift
/// let words = Philox4x32.block(counter: .zero, key: .zero)   // 6627e8d5 e169c58d bc57ac4c 9b00dbd8
/// let u = Philox4x32.dropoutUniform(seed: 42, index: 7)       // in [0, 1)
/// ```
public enum Philox4x32 {
    static let multiplier0: UInt32 = 0xD251_1F53, multiplier1: UInt32 = 0xCD9E_8D57
    static let weyl0: UInt32 = 0x9E37_79B9, weyl1: UInt32 = 0xBB67_AE85

    /// The ten rounds on `counter` under `key` (the key bumped by the Weyl constants between rounds).
    ///
    /// ```swift
    /// let words = Philox4x32.block(counter: SIMD4(0, 0, 0, 0), key: SIMD2(0, 0))   // [0x6627e8d5, ...]
    /// ```
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter, k = key
        for round in 0..<10 {
            if round > 0 {
                k.x &+= weyl0
                k.y &+= weyl1
            }
            let p0 = UInt64(multiplier0) * UInt64(c.x), p1 = UInt64(multiplier1) * UInt64(c.z)
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c.y ^ k.x, UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c.w ^ k.y, UInt32(truncatingIfNeeded: p0))
        }
        return c
    }

    /// The block holding stream index `n`: counter (n / 4 as two 32-bit halves, 0, 0), key the
    /// seed's halves; `n`'s word is number `n % 4` of it.
    ///
    /// ```swift
    /// let word = Philox4x32.streamBlock(seed: 42, blockIndex: n >> 2)[Int(n & 3)]
    /// ```
    @inline(__always)
    public static func streamBlock(seed: UInt64, blockIndex: UInt64) -> SIMD4<UInt32> {
        block(counter: SIMD4(UInt32(truncatingIfNeeded: blockIndex), UInt32(truncatingIfNeeded: blockIndex >> 32), 0, 0),
              key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// A word's uniform in [0, 1): its top 24 bits times 2^-24 (exact in float32).
    ///
    /// ```swift
    /// let u = Philox4x32.uniform(0xFFFF_FFFF)   // 1 - 2^-24
    /// ```
    @inline(__always)
    public static func uniform(_ word: UInt32) -> Float { Float(word >> 8) * 0x1p-24 }

    /// The uniform dropout compares with its probability for stream index `index` under `seed`
    /// (element i of ``BackendOp/dropout(input:count:probability:seed:offset:output:)`` has index offset + i).
    ///
    /// ```swift
    /// let dropped = Philox4x32.dropoutUniform(seed: 7, index: 12) < 0.1
    /// ```
    public static func dropoutUniform(seed: UInt64, index: UInt64) -> Float {
        uniform(streamBlock(seed: seed, blockIndex: index >> 2)[Int(index & 3)])
    }
}
