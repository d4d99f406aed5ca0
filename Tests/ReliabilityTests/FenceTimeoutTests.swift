import Foundation
import TestSupport
import Testing
import TensorCore
import TensorEngine
import VulkanBackend

/// A wait on queued work that does not finish in time becomes a thrown TensorError, after
/// which the device refuses work (saying why) and the CPU keeps computing.
///
/// The "hanging" shader is Shaders/spin.comp, bounded: a shader that never ends cannot be
/// made on lavapipe (llvmpipe ends every loop after 65535 iterations, seen here: 100000 steps
/// give the result of 65535), and an unbounded one on a GPU would leave a queue that cannot be
/// drained or destroyed for the rest of the test process. Instead it is sized by a calibration
/// run (its number of workgroups) to take about 1.5 s, well past a 200 ms timeout; the device
/// is then closed normally once the work has ended, which the validation layer checks.
@Suite(.vulkanValidation)
struct FenceTimeoutTests {
    @Test func slowShaderTimesOutThenDeviceRefusesWorkAndCPUStillComputes() throws {
        guard TestDevices.vulkan != nil else { return }
        let log = VulkanValidationLog()
        weak var releasedDevice: VulkanDevice?
        try {
            let runtime = try VulkanRuntime(options: .init(validation: true, validationLog: log))
            let device = try runtime.openDevice(index: runtime.preferredDeviceIndex(allowCPU: true) ?? 0)
            releasedDevice = device
            #expect(device.fenceTimeout >= .seconds(1), "default timeout \(device.fenceTimeout)")
            // Factor 0.999: x converges to the fixed point 0.5 / (1 - factor) (float64 reference).
            let maxGroups = 1 << 15
            let data = try device.makeBuffer(elementCount: maxGroups + 1)
            let factor: Float = 0.999
            try [factor].withUnsafeBytes { try device.write($0, to: data) }

            // Calibration under the default timeout: seconds per group of `steps` iterations,
            // from a run long enough (>= 50 ms) that the pipeline's creation does not count.
            let steps = 65_535
            try device.spin(data, groups: 1, steps: 1)   // creates the pipeline, outside the calibration
            try device.synchronize()
            var groups = 1
            var perGroup = 0.0
            while true {
                let start = Date()
                try device.spin(data, groups: groups, steps: steps)
                try device.synchronize()
                let seconds = Date().timeIntervalSince(start)
                perGroup = seconds / Double(groups)
                if seconds >= 0.05 || groups >= maxGroups { break }
                groups = min(groups * 4, maxGroups)
            }
            var result = [Float](repeating: 0, count: 2)
            try result.withUnsafeMutableBytes { try device.read(data, into: $0) }
            let fixedPoint = 0.5 / (1 - Double(factor))
            #expect(Swift.abs(Double(result[1]) - fixedPoint) < 1, "spin gave \(result[1]), not \(fixedPoint)")

            // About 1.5 s of work against a 200 ms limit.
            let slowGroups = min(maxGroups, max(groups, Int(1.5 / perGroup)))
            device.fenceTimeout = .milliseconds(200)
            #expect(device.fenceTimeout == .milliseconds(200))
            try device.spin(data, groups: slowGroups, steps: steps)
            let timeout = Self.deviceFailure { try device.synchronize() }
            #expect(timeout?.contains("VK_TIMEOUT") == true, "got \(String(describing: timeout))")
            #expect(timeout?.contains("200 ms") == true, "got \(String(describing: timeout))")

            // Every later use of the device throws, saying why; none traps or hangs.
            let refusals = [
                Self.deviceFailure { try device.fill(data, value: 1, count: 2) },
                Self.deviceFailure { try device.synchronize() },
                Self.deviceFailure {
                    let fresh = try device.makeBuffer(elementCount: 4)
                    try device.fill(fresh, value: 1, count: 4)
                },
                Self.deviceFailure { try result.withUnsafeMutableBytes { try device.read(data, into: $0) } },
            ]
            for reason in refusals {
                #expect(reason?.contains("refuses further work") == true, "got \(String(describing: reason))")
            }

            // The CPU backend is untouched: a 19x23 by 23x17 product against float64.
            try Self.cpuMatmulMatchesFloat64()

            // Closing waits one more timeout for the queue: give the loop time to end so the
            // device is destroyed (not abandoned) and the layer can check the teardown.
            device.fenceTimeout = .seconds(60)
        }()
        #expect(releasedDevice == nil, "the device outlived its last reference")
        let messages = log.drain()
        #expect(messages.isEmpty, "validation:\n\(messages.map(\.description).joined(separator: "\n"))")
    }

    /// TENSOR_VULKAN_FENCE_TIMEOUT_MS sets the default, read in a child process (tests never
    /// set their own environment).
    @Test func environmentSetsTheDefaultTimeout() throws {
        guard TestDevices.vulkan != nil else { return }
        let (status, output) = try runChildProcess(
            environment: ["TENSOR_VULKAN_FENCE_TIMEOUT_MS": "1234", "TENSOR_RELIABILITY_CHILD": "fence-timeout"],
            arguments: ["--testing-library", "swift-testing", "--filter", "FenceTimeoutChild"], timeLimit: 120)
        #expect(status == 0, "child output:\n\(output)")
        #expect(output.contains("fence-timeout child: 1234 ms"), "child output:\n\(output)")
    }

    /// The reason of the `deviceFailure` that `body` throws; nil (and a recorded issue) otherwise.
    static func deviceFailure(_ body: () throws -> Void) -> String? {
        do {
            try body()
            Issue.record("expected a deviceFailure, nothing was thrown")
        } catch let TensorError.deviceFailure(_, reason) {
            return reason
        } catch {
            Issue.record("expected a deviceFailure, got \(error)")
        }
        return nil
    }

    static func cpuMatmulMatchesFloat64() throws {
        let (m, k, n) = (19, 23, 17)
        var random = FuzzRandom(seed: 21)
        let a = (0..<m * k).map { _ in Float(random.unit() * 2 - 1) }
        let b = (0..<k * n).map { _ in Float(random.unit() * 2 - 1) }
        let c = try matmul(Tensor(a, shape: [m, k], on: .cpu), Tensor(b, shape: [k, n], on: .cpu)).toArray()
        for i in 0..<m {
            for j in 0..<n {
                var reference = 0.0
                for p in 0..<k { reference += Double(a[i * k + p]) * Double(b[p * n + j]) }
                #expect(Swift.abs(Double(c[i * n + j]) - reference) <= 1e-5 * Double(k))
            }
        }
    }
}

/// Runs only as the child of ``FenceTimeoutTests/environmentSetsTheDefaultTimeout()``.
@Suite struct FenceTimeoutChild {
    @Test func defaultFromEnvironment() throws {
        guard ProcessInfo.processInfo.environment["TENSOR_RELIABILITY_CHILD"] == "fence-timeout" else { return }
        let runtime = try VulkanRuntime(options: .init())
        let device = try runtime.openDevice(index: runtime.preferredDeviceIndex(allowCPU: true) ?? 0)
        #expect(device.fenceTimeout == .milliseconds(1234))
        print("fence-timeout child: \(device.fenceTimeout.components.seconds * 1000 + device.fenceTimeout.components.attoseconds / 1_000_000_000_000_000) ms")
    }
}
