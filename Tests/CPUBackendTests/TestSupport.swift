@testable import CPUBackend
import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// A small deterministic generator (SplitMix64) so every run sees the same data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Standard normal (Box-Muller).
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    mutating func floats(_ count: Int, scale: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(normal() * scale) }
    }
}


/// The device under test, with OpenBLAS, and a fallback device without it.
enum Devices {
    static let blas = CPUDevice.shared
    static let swift = CPUDevice(openBLASPath: "/nonexistent/libopenblas-for-tests.so.0")
    static var all: [CPUDevice] { [blas, swift] }
}

func upload(_ values: [Float], on device: CPUDevice, extra: Int = 0) throws -> any BackendBuffer {
    let buffer = try device.makeBuffer(elementCount: values.count + extra)
    try values.withUnsafeBytes { try device.write($0, to: buffer) }
    return buffer
}

func download(_ buffer: any BackendBuffer, count: Int, on device: CPUDevice) throws -> [Float] {
    var values = [Float](repeating: .nan, count: count)
    try values.withUnsafeMutableBytes { try device.read(buffer, into: $0) }
    return values
}

/// Normalised mean squared error sum (a - b)^2 / sum b^2 (0 when both are all zero).
func nmse(_ actual: [Float], _ reference: [Double]) -> Double {
    precondition(actual.count == reference.count)
    var num = 0.0, den = 0.0
    for (a, r) in zip(actual, reference) {
        num += (Double(a) - r) * (Double(a) - r)
        den += r * r
    }
    return den == 0 ? num : num / den
}

/// True when no value is NaN or infinite where the reference is finite.
func allFinite(_ actual: [Float], _ reference: [Double]) -> Bool {
    zip(actual, reference).allSatisfy { !$1.isFinite || $0.isFinite }
}
