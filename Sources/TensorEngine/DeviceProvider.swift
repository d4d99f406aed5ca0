import CPUBackend
import TensorCore

/// A source of devices of one kind: how a backend joins ``Device/available``,
/// `TENSOR_DEVICE` and ``Device/default`` through ``Device/register(_:)``, with no edit to
/// TensorCore or TensorEngine. The Vulkan backend is registered this way; the CPU is built in.
///
/// ```swift
/// struct MetalDeviceProvider: DeviceProvider {
///     var kind: DeviceKind { DeviceKind(rawValue: "metal") }
///     func device(index: Int) throws(TensorError) -> Device { ... }
///     func availableDevices() -> [Device] { ... }
///     func unavailableReasons() -> [(backend: String, reason: String)] { [] }
///     func automaticChoice() -> (device: Device, preference: Int)? { nil }
/// }
/// Device.register(MetalDeviceProvider())
/// ```
public protocol DeviceProvider: Sendable {
    /// The kind of every device it provides, and its `TENSOR_DEVICE` prefix (`kind`, `kind:N`).
    var kind: DeviceKind { get }
    /// The device at `index` in the provider's order, identified `kind:index`; throws
    /// `backendUnavailable` (saying why) when it cannot be opened.
    func device(index: Int) throws(TensorError) -> Device
    /// Every device of this kind that opens, in the provider's order.
    func availableDevices() -> [Device]
    /// The backend or devices that could not be used, and why ("Vulkan", "no loader").
    func unavailableReasons() -> [(backend: String, reason: String)]
    /// The device ``Device/default`` may pick, with its preference (higher wins; a discrete
    /// GPU is 20, an integrated one 10; the CPU, the fallback, counts as 0), or nil.
    func automaticChoice() -> (device: Device, preference: Int)?
    /// The sparse dispatcher's cost model for this kind (default: ``SparseCostModel/untunedGPU``).
    var sparseCostModel: SparseCostModel { get }
}

extension DeviceProvider {
    public var sparseCostModel: SparseCostModel { .untunedGPU }
}

/// The registered providers, Vulkan's first.
enum DeviceRegistry {
    private static let registered = LockedValue<[any DeviceProvider]>([VulkanDeviceProvider()])

    static var providers: [any DeviceProvider] { registered.withLock { $0 } }

    /// Adds `provider`, replacing one of the same kind.
    static func register(_ provider: any DeviceProvider) {
        registered.withLock { list in
            list.removeAll { $0.kind == provider.kind }
            list.append(provider)
        }
    }

    static func provider(kind: DeviceKind) -> (any DeviceProvider)? {
        providers.first { $0.kind == kind }
    }

    /// The highest-preference automatic choice over every provider; nil leaves the CPU.
    static func automaticChoice() -> Device? {
        var best: (device: Device, preference: Int)?
        for provider in providers {
            if let choice = provider.automaticChoice(), choice.preference > 0,
               choice.preference > (best?.preference ?? 0) {
                best = choice
            }
        }
        return best?.device
    }
}
