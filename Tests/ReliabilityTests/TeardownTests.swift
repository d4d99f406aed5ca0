import Foundation
import TestSupport
import Testing
import TensorCore
import TensorEngine
import VulkanBackend

/// Vulkan teardown. The validation layer reports every object still alive when its parent is
/// destroyed (children at vkDestroyDevice, devices and messengers at vkDestroyInstance), and
/// a runtime's log hears vkDestroyInstance too, so a silent log after a runtime is released
/// means everything was destroyed, in an order the layer accepts.
@Suite(.vulkanValidation)
struct TeardownTests {
    /// A private runtime with validation runs matmul, fill, few-bit and sparse ops (mapped
    /// memory and the staging path), leaves work queued and a buffer alive, and is dropped.
    @Test(arguments: [false, true])
    func privateRuntimeTearsDownSilently(forceStaging: Bool) throws {
        guard TestDevices.vulkan != nil else { return }
        let log = VulkanValidationLog()
        weak var releasedRuntime: VulkanRuntime?
        weak var releasedDevice: VulkanDevice?
        var survivor: (any BackendBuffer)?
        try {
            let runtime = try VulkanRuntime(options: .init(validation: true, forceStaging: forceStaging,
                                                           validationLog: log))
            #expect(runtime.validationEnabled, "\(runtime.validationUnavailableReason ?? "")")
            let device = try runtime.openDevice(index: runtime.preferredDeviceIndex(allowCPU: true) ?? 0)
            releasedRuntime = runtime
            releasedDevice = device
            try TeardownOps.run(on: device)
            // Queued work that nobody waits for, and a buffer that outlives the device.
            let pending = try device.makeBuffer(elementCount: 1 << 16)
            try device.fill(pending, value: 3, count: 1 << 16)
            survivor = pending
        }()
        #expect(releasedDevice == nil, "the device outlived its last reference")
        #expect(releasedRuntime == nil, "the runtime outlived its last reference")
        let messages = log.drain()
        #expect(messages.isEmpty, "validation during teardown:\n\(messages.map(\.description).joined(separator: "\n"))")

        // The survivor is inert: another device rejects it, and dropping it is safe.
        let other = try VulkanRuntime(options: .init(validation: true, validationLog: log))
        let device = try other.openDevice(index: other.preferredDeviceIndex(allowCPU: true) ?? 0)
        if let survivor {
            #expect(throws: TensorError.self) { try device.fill(survivor, value: 1, count: 4) }
        }
        survivor = nil
        #expect(log.drain().isEmpty)
    }

    /// A process that used the shared runtime with validation, and still holds tensors and
    /// queued work at exit, exits 0; the atexit hook shut the runtime down and the layer
    /// reported nothing.
    @Test func sharedRuntimeTearsDownAtExit() throws {
        guard TestDevices.vulkan != nil else { return }
        let output = try Self.child("teardown-exit")
        #expect(output.contains("teardown child: ops ok"), "child output:\n\(output)")
        #expect(output.contains("teardown child: shut down at exit"), "child output:\n\(output)")
    }

    /// After ``VulkanRuntime/shutdownShared()`` every use of the shared runtime and its
    /// devices throws a TensorError; the CPU keeps working.
    @Test func sharedRuntimeExplicitShutdown() throws {
        guard TestDevices.vulkan != nil else { return }
        let output = try Self.child("teardown-shutdown")
        #expect(output.contains("teardown child: shutdown ok"), "child output:\n\(output)")
    }

    /// Runs ``TeardownChild`` in a child process; checks exit status 0 and no validation output.
    static func child(_ mode: String) throws -> String {
        let (status, output) = try runChildProcess(
            environment: ["TENSOR_RELIABILITY_CHILD": mode],
            arguments: ["--testing-library", "swift-testing", "--filter", "TeardownChild"])
        #expect(status == 0, "child output:\n\(output)")
        for marker in ["validation at shutdown", "VUID", "Validation Error", "Validation Warning", "has not been destroyed"] {
            #expect(!output.contains(marker), "'\(marker)' in child output:\n\(output)")
        }
        return output
    }
}

/// The child processes of ``TeardownTests`` (no-ops unless TENSOR_RELIABILITY_CHILD says so).
@Suite(.serialized)
struct TeardownChild {
    static var mode: String? { ProcessInfo.processInfo.environment["TENSOR_RELIABILITY_CHILD"] }

    /// Configures the shared runtime with validation (it must not exist yet) and opens its device.
    static func sharedDevice() throws -> Device {
        var options = VulkanRuntime.Options.fromEnvironment()
        options.validation = true
        try #require(VulkanRuntime.configureShared(options), "the shared runtime already existed")
        return try Device.vulkan(index: VulkanRuntime.sharedRuntime().preferredDeviceIndex(allowCPU: true) ?? 0)
    }

    /// Work on `device` checked against float64, leaving tensors alive and work queued.
    static func work(on device: Device) throws -> [Tensor] {
        let aValues: [Float] = (0..<12).map { Float($0) / 4 - 1 }
        let bValues: [Float] = (0..<8).map { Float($0) / 3 - 1 }
        let a = try Tensor(aValues, shape: [3, 4], on: device)
        let b = try Tensor(bValues, shape: [4, 2], on: device)
        let c = try matmul(a, b)
        var reference = [Double](repeating: 0, count: 6)
        for i in 0..<3 {
            for j in 0..<2 {
                for p in 0..<4 { reference[i * 2 + j] += Double(aValues[i * 4 + p]) * Double(bValues[p * 2 + j]) }
            }
        }
        let values = try c.toArray()
        #expect(zip(values, reference).allSatisfy { Swift.abs(Double($0) - $1) <= 1e-5 })
        let relu = try activate(a, .relu, memory: .fewBit(bits: 2))
        #expect(try relu.toArray() == aValues.map { Swift.max($0, 0) })
        let queued = try Tensor.full([256, 256], value: 2, on: device) * 3   // never read
        return [a, b, c, relu, queued]
    }

    @Test func exitWithLiveObjects() throws {
        guard Self.mode == "teardown-exit" else { return }
        // Registered before the shared runtime exists, so before its own hook: atexit
        // handlers run last-registered first, so this one runs after the shutdown.
        atexit {
            let result = Result { () throws(TensorError) in try VulkanRuntime.sharedRuntime() }
            if case .failure = result {
                print("teardown child: shut down at exit")
            } else {
                print("teardown child: still running at exit")
            }
        }
        let device = try Self.sharedDevice()
        let tensors = try Self.work(on: device)
        _ = Unmanaged.passRetained(TensorBox(tensors))   // alive at exit
        print("teardown child: ops ok")
    }

    @Test func explicitShutdown() throws {
        guard Self.mode == "teardown-shutdown" else { return }
        let device = try Self.sharedDevice()
        let tensors = try Self.work(on: device)
        VulkanRuntime.shutdownShared()
        #expect(throws: TensorError.self) { try device.synchronize() }
        #expect(throws: TensorError.self) { _ = try tensors[0].toArray() }
        #expect(throws: TensorError.self) { _ = try matmul(tensors[0], tensors[1]) }
        #expect(throws: TensorError.self) { _ = try Tensor.full([4], value: 1, on: device) }
        #expect(throws: TensorError.self) { _ = try VulkanRuntime.device(index: 0) }
        VulkanRuntime.shutdownShared()   // idempotent
        try FaultTests.cpuStillWorks()
        print("teardown child: shutdown ok")
    }
}

/// Keeps tensors alive until exit.
private final class TensorBox {
    let tensors: [Tensor]
    init(_ tensors: [Tensor]) { self.tensors = tensors }
}

/// Backend-level ops for the private-runtime teardown: every kernel family whose objects the
/// teardown must destroy (tiled matmul, fill, few-bit with its table cache, sparse).
enum TeardownOps {
    static func upload(_ values: [Float], _ device: VulkanDevice) throws -> any BackendBuffer {
        let buffer = try device.makeBuffer(elementCount: values.count)
        try values.withUnsafeBytes { try device.write($0, to: buffer) }
        return buffer
    }

    static func download(_ buffer: any BackendBuffer, _ count: Int, _ device: VulkanDevice) throws -> [Float] {
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { try device.read(buffer, into: $0) }
        return values
    }

    static func run(on device: VulkanDevice) throws {
        var random = FuzzRandom(seed: 17)
        let (m, n, k) = (19, 23, 37)
        var a = (0..<m * k).map { _ in Float(random.unit() * 2 - 1) }
        for i in stride(from: 0, to: a.count, by: 3) { a[i] = 0 }   // zeros for the sparse kernel
        let b = (0..<k * n).map { _ in Float(random.unit() * 2 - 1) }
        var reference = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                for p in 0..<k { reference[i * n + j] += Double(a[i * k + p]) * Double(b[p * n + j]) }
            }
        }
        let ab = try upload(a, device), bb = try upload(b, device)
        let c = try device.makeBuffer(elementCount: m * n)
        try device.matmul(ab, bb, into: c, geometry: MatmulGeometry(m: m, n: n, k: k), epilogue: .none)
        let product = try download(c, m * n, device)
        #expect(zip(product, reference).allSatisfy { Swift.abs(Double($0) - $1) <= 1e-5 * Double(k) })

        let sparse = try device.makeBuffer(elementCount: m * n)
        try device.sparseMatmul(ab, bb, into: sparse, rows: m, inner: k, columns: n, threshold: .scalar(0), mode: .perRow)
        let sparseProduct = try download(sparse, m * n, device)
        #expect(zip(sparseProduct, reference).allSatisfy { Swift.abs(Double($0) - $1) <= 1e-5 * Double(k) })

        try device.fill(c, value: 0.5, count: m * n)
        #expect(try download(c, m * n, device).allSatisfy { $0 == 0.5 })

        let table = try FewBitTable.optimal(for: .relu, bits: 1)
        let codes = try device.makeBuffer(elementCount: m * k)   // ample for 1-bit codes
        let relu = try device.makeBuffer(elementCount: m * k)
        try device.activateFewBit(.relu, ab, count: m * k, into: relu, fewBit: FewBitOutput(codes: codes, table: table))
        #expect(try download(relu, m * k, device) == a.map { Swift.max($0, 0) })
        try device.synchronize()
    }
}
