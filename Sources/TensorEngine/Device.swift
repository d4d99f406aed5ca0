import CPUBackend
import Foundation
import TensorCore

/// A compute device: the CPU backend, or one Vulkan physical device.
///
/// ```swift
/// let device = Device.default              // best available; TENSOR_DEVICE overrides
/// print(device)                           // "vulkan:0 NVIDIA H100 ..." or "cpu ..."
/// for d in Device.available { print(d.name, d.kind) }
/// let gpu = try Device.vulkan(index: 0)   // throws when Vulkan is unavailable
/// ```
///
/// Selection rules of ``default``: `TENSOR_DEVICE=cpu|vulkan|vulkan:N` when set;
/// otherwise the first discrete Vulkan GPU, then the first integrated one, then the
/// CPU. CPU-type Vulkan devices (Mesa lavapipe) are never chosen automatically:
/// OpenBLAS is an order of magnitude faster on the same cores.
public struct Device: Sendable, Hashable, CustomStringConvertible {
    /// The backend that executes this device's work.
    public let backend: any Backend
    /// The Vulkan physical-device index, nil for the CPU.
    public let index: Int?

    init(backend: any Backend, index: Int?) {
        self.backend = backend
        self.index = index
    }

    /// The device name ("CPU (OpenBLAS)", "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)").
    public var name: String { backend.name }
    /// `.cpu` or `.vulkan`.
    public var kind: DeviceKind { backend.kind }
    /// One line: library or driver, threads, memory, fast paths.
    public var details: String { backend.details }
    /// `cpu` or `vulkan:N`, the form `TENSOR_DEVICE` accepts.
    public var identifier: String { index.map { "vulkan:\($0)" } ?? "cpu" }

    public var description: String { "\(identifier) \(name): \(details)" }

    public static func == (lhs: Device, rhs: Device) -> Bool { lhs.backend === rhs.backend }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(backend)) }

    /// The CPU backend (OpenBLAS, or a built-in matmul when OpenBLAS cannot be loaded).
    public static let cpu = Device(backend: CPUDevice.shared, index: nil)

    /// The Vulkan device at `index` in ``vulkanDevices``; throws when Vulkan or that device is unavailable.
    public static func vulkan(index: Int = 0) throws(TensorError) -> Device {
        try VulkanDeviceCatalog.open(index: index)
    }

    /// Every usable device: the CPU, then each Vulkan physical device.
    public static var available: [Device] {
        [cpu] + VulkanDeviceCatalog.openAll()
    }

    /// Backends that could not be used on this machine, with the reason.
    public static var unavailable: [(backend: String, reason: String)] {
        VulkanDeviceCatalog.unavailableReasons
    }

    /// The best available device, chosen once per process (see the type's documentation).
    public static var `default`: Device { DefaultDevice.shared }

    /// The device `TENSOR_DEVICE` names, or the automatic choice; throws on a value that cannot be honoured.
    public static func select(_ request: String?) throws(TensorError) -> Device {
        guard let request, !request.isEmpty else { return VulkanDeviceCatalog.preferredGPU() ?? cpu }
        let lowered = request.lowercased()
        if lowered == "cpu" { return cpu }
        if lowered == "vulkan" {
            if let gpu = VulkanDeviceCatalog.preferredGPU() { return gpu }
            return try vulkan(index: 0)
        }
        if lowered.hasPrefix("vulkan:"), let n = Int(lowered.dropFirst("vulkan:".count)) {
            return try vulkan(index: n)
        }
        throw .invalidArgument(op: "TENSOR_DEVICE",
                               reason: "'\(request)' is not one of cpu, vulkan, vulkan:N")
    }

    /// Waits for all work queued on this device.
    public func synchronize() throws(TensorError) { try backend.synchronize() }
}

/// Resolves ``Device/default`` once. A TENSOR_DEVICE that cannot be honoured is
/// reported on stderr and falls back to the automatic choice rather than trapping.
enum DefaultDevice {
    static let shared: Device = {
        let request = ProcessInfo.processInfo.environment["TENSOR_DEVICE"]
        do {
            return try Device.select(request)
        } catch {
            FileHandle.standardError.write(Data("TensorEngine: TENSOR_DEVICE: \(error); using the automatic choice\n".utf8))
            return (try? Device.select(nil)) ?? .cpu
        }
    }()
}

/// The CPU backend's thread count (default: every core; `TENSOR_CPU_THREADS` at start-up).
///
/// ```swift
/// CPUThreads.set(1)     // single-threaded CPU kernels and OpenBLAS
/// ```
public enum CPUThreads {
    public static var current: Int { CPUDevice.shared.threads }
    public static func set(_ threads: Int) { CPUDevice.shared.threads = threads }
}
