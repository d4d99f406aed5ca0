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
    /// `cpu`, or `kind:N` for the N-th device of a registered provider: the form `TENSOR_DEVICE` accepts.
    public let identifier: String

    /// A device for `backend`, named `identifier`; a ``DeviceProvider`` makes its devices with this.
    ///
    /// ```swift
    /// let device = Device(backend: myBackend, identifier: "metal:0")
    /// ```
    public init(backend: any Backend, identifier: String) {
        self.backend = backend
        self.identifier = identifier
    }

    /// The device name ("CPU (OpenBLAS)", "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)").
    public var name: String { backend.name }
    /// `.cpu`, `.vulkan`, or a registered backend's kind.
    public var kind: DeviceKind { backend.kind }
    /// One line: library or driver, threads, memory, fast paths.
    public var details: String { backend.details }
    /// N in an identifier `kind:N`; nil for the CPU.
    public var index: Int? { identifier.split(separator: ":").dropFirst().first.flatMap { Int($0) } }

    public var description: String { "\(identifier) \(name): \(details)" }

    public static func == (lhs: Device, rhs: Device) -> Bool { lhs.backend === rhs.backend }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(backend)) }

    /// The CPU backend (OpenBLAS, or a built-in matmul when OpenBLAS cannot be loaded).
    public static let cpu = Device(backend: CPUDevice.shared, identifier: "cpu")

    /// The Vulkan device at `index` in ``available``'s Vulkan order; throws when Vulkan or that device is unavailable.
    public static func vulkan(index: Int = 0) throws(TensorError) -> Device {
        try VulkanDeviceProvider().device(index: index)
    }

    /// Every usable device: the CPU, then each registered provider's (Vulkan's physical devices first).
    public static var available: [Device] {
        [cpu] + DeviceRegistry.providers.flatMap { $0.availableDevices() }
    }

    /// Backends or devices that could not be used on this machine, with the reason.
    public static var unavailable: [(backend: String, reason: String)] {
        DeviceRegistry.providers.flatMap { $0.unavailableReasons() }
    }

    /// The best available device, chosen once per process (see the type's documentation).
    public static var `default`: Device { DefaultDevice.shared }

    /// Adds a backend's devices to ``available``, `TENSOR_DEVICE` and the automatic choice: how
    /// a backend outside this package joins without an edit here (docs/writing-a-backend.md).
    /// Register before the first use of ``default``, which is chosen once.
    ///
    /// ```swift
    /// Device.register(MetalDeviceProvider())
    /// let gpu = try Device.select("metal:0")
    /// ```
    public static func register(_ provider: any DeviceProvider) {
        DeviceRegistry.register(provider)
    }

    /// The device `TENSOR_DEVICE` names, or the automatic choice; throws on a value that cannot be honoured.
    ///
    /// `cpu`; a registered kind (`vulkan`): that provider's automatic choice, else its first
    /// device; `kind:N`: that provider's N-th device.
    public static func select(_ request: String?) throws(TensorError) -> Device {
        guard let request, !request.isEmpty else { return DeviceRegistry.automaticChoice() ?? cpu }
        let lowered = request.lowercased()
        if lowered == "cpu" { return cpu }
        let parts = lowered.split(separator: ":", omittingEmptySubsequences: false)
        if let provider = DeviceRegistry.provider(kind: DeviceKind(rawValue: String(parts[0]))) {
            if parts.count == 1 {
                if let choice = provider.automaticChoice() { return choice.device }
                return try provider.device(index: 0)
            }
            if parts.count == 2, let n = Int(parts[1]) { return try provider.device(index: n) }
        }
        let kinds = (["cpu"] + DeviceRegistry.providers.map { "\($0.kind), \($0.kind):N" }).joined(separator: ", ")
        throw .invalidArgument(op: "TENSOR_DEVICE", reason: "'\(request)' is not one of \(kinds)")
    }

    /// Waits for all work queued on this device.
    public func synchronize() throws(TensorError) { try backend.synchronize() }

    /// Bytes of this device's live buffers, their peak since the last reset, and freed
    /// buffers kept for reuse; nil where the backend does not count.
    ///
    /// ```swift
    /// Device.cpu.resetPeakMemoryStatistics()
    /// let loss = try model.loss(ids, attentionMask: mask, labels: labels)
    /// try loss.backward()
    /// print(Device.cpu.memoryStatistics?.peakLiveBytes ?? 0)   // the step's peak
    /// ```
    public var memoryStatistics: MemoryStatistics? { backend.memoryStatistics() }

    /// Starts a new peak of live bytes (``MemoryStatistics/peakLiveBytes``).
    ///
    /// ```swift
    /// Device.cpu.resetPeakMemoryStatistics()
    /// ```
    public func resetPeakMemoryStatistics() { backend.resetPeakMemoryStatistics() }

    /// Gives freed buffers kept for reuse back to the system (as `torch.cuda.empty_cache()`).
    ///
    /// ```swift
    /// Device.cpu.releaseCachedMemory()
    /// ```
    public func releaseCachedMemory() { backend.releaseCachedMemory() }
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
