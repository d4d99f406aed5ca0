import Foundation
import Testing
import TensorCore
@testable import VulkanBackend

/// Every Vulkan test runs inside this serialized suite, so validation messages are
/// attributed to the test that caused them.
@Suite(.serialized) enum VulkanTests {}

/// The device under test: the CPU-type Vulkan device (lavapipe) when present, else the
/// first usable one, opened with the Khronos validation layer on.
enum Fixture {
    static let opened: Result<VulkanDevice, TensorError> = {
        // Validation on unless TENSOR_VULKAN_VALIDATION says otherwise (benchmarks), set
        // through the API: the environment is not mutated while other suites run.
        var options = VulkanRuntime.Options.fromEnvironment()
        if ProcessInfo.processInfo.environment["TENSOR_VULKAN_VALIDATION"] == nil { options.validation = true }
        VulkanRuntime.configureShared(options)
        return Result { () throws(TensorError) in
            let infos = try VulkanRuntime.physicalDevices()
            guard let chosen = infos.first(where: { $0.type == .cpu && $0.isUsable }) ?? infos.first(where: \.isUsable) else {
                throw .backendUnavailable(backend: "Vulkan", reason: "no usable device")
            }
            let device = try VulkanRuntime.device(index: chosen.index)
            let runtime = try VulkanRuntime.sharedRuntime()
            if let reason = runtime.validationUnavailableReason {
                print("note: Vulkan validation is off: \(reason); the ops still run")
            }
            print("Vulkan test device: \(device.details)")
            return device
        }
    }()

    static var device: VulkanDevice {
        get throws {
            try opened.get()
        }
    }

    /// Fails the current test on any validation warning or error recorded so far.
    static func expectNoValidationMessages(sourceLocation: SourceLocation = #_sourceLocation) {
        let messages = VulkanRuntime.drainValidationMessages()
        #expect(messages.isEmpty, "validation: \(messages.map(\.description).joined(separator: "\n"))",
                sourceLocation: sourceLocation)
    }
}

/// A deterministic generator of test data.
struct TestRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Float = -1, _ high: Float = 1) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }

    mutating func floats(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(low, high) }
    }
}

extension VulkanDevice {
    func upload(_ values: [Float]) throws -> any BackendBuffer {
        let buffer = try makeBuffer(elementCount: values.count)
        try values.withUnsafeBytes { raw in try write(raw, to: buffer) }
        return buffer
    }

    func download(_ buffer: any BackendBuffer, count: Int) throws -> [Float] {
        var values = [Float](repeating: .nan, count: count)
        try values.withUnsafeMutableBytes { raw in try read(buffer, into: raw) }
        return values
    }
}

/// sum (a - b)^2 / sum b^2 against a float64 reference (0 when both are all zero).
func normalizedMSE(_ actual: [Float], _ expected: [Double]) -> Double {
    precondition(actual.count == expected.count)
    var error = 0.0
    var norm = 0.0
    for (a, b) in zip(actual, expected) {
        error += (Double(a) - b) * (Double(a) - b)
        norm += b * b
    }
    if norm == 0 { return error }
    return error / norm
}

/// The largest |a - b| / max(1, |b|).
func maxScaledError(_ actual: [Float], _ expected: [Double]) -> Double {
    zip(actual, expected).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
}

func expectClose(_ actual: [Float], _ expected: [Double], nmse bound: Double, maxError: Double,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): count", sourceLocation: sourceLocation)
    #expect(!actual.contains { !$0.isFinite } || expected.contains { !$0.isFinite },
            "\(label): non-finite output", sourceLocation: sourceLocation)
    let nmse = normalizedMSE(actual, expected)
    #expect(nmse < bound, "\(label): NMSE \(nmse) >= \(bound)", sourceLocation: sourceLocation)
    let worst = maxScaledError(actual, expected)
    #expect(worst < maxError, "\(label): max scaled error \(worst) >= \(maxError)", sourceLocation: sourceLocation)
}
