/// A small deterministic generator (SplitMix64): the same seed gives the same
/// numbers on every machine and device, so `Tensor.randn(seed:)` data is identical
/// on the CPU and on a GPU.
///
/// ```swift
/// var rng = SeededRandom(seed: 42)
/// let u = rng.nextUniform()        // in [0, 1)
/// let g = rng.nextNormal()         // standard normal
/// ```
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    private var spareNormal: Double?

    public init(seed: UInt64) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal (Box-Muller, both values used).
    public mutating func nextNormal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        var u1 = nextUniform()
        while u1 <= 0 { u1 = nextUniform() }
        let u2 = nextUniform()
        let radius = (-2 * log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareNormal = radius * sin(angle)
        return radius * cos(angle)
    }

    /// `count` normal floats with the given mean and standard deviation.
    public mutating func normalFloats(_ count: Int, mean: Float = 0, std: Float = 1) -> [Float] {
        (0..<count).map { _ in mean + std * Float(nextNormal()) }
    }

    /// `count` uniform floats in [low, high).
    public mutating func uniformFloats(_ count: Int, low: Float = 0, high: Float = 1) -> [Float] {
        (0..<count).map { _ in low + (high - low) * Float(nextUniform()) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
