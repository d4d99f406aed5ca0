import TensorCore
import VulkanBackend

/// The Vulkan physical devices as a ``DeviceProvider``: enumeration, opening and the
/// automatic choice. Opening is cached by the runtime, so repeated calls are cheap.
/// CPU-type devices (Mesa's lavapipe) are never chosen automatically: OpenBLAS is an order
/// of magnitude faster on the same cores.
struct VulkanDeviceProvider: DeviceProvider {
    var kind: DeviceKind { .vulkan }

    private func physicalDevices() -> Result<[VulkanDeviceInfo], TensorError> {
        do {
            return .success(try VulkanRuntime.physicalDevices())
        } catch {
            return .failure(error)
        }
    }

    func device(index: Int) throws(TensorError) -> Device {
        let devices = try physicalDevices().get()
        guard devices.indices.contains(index) else {
            throw .backendUnavailable(
                backend: "Vulkan",
                reason: "no device at index \(index) (\(devices.count) found)")
        }
        return Device(backend: try VulkanRuntime.device(index: index), identifier: "vulkan:\(index)")
    }

    /// Every Vulkan device that opens; the ones that fail are listed in ``unavailableReasons()``.
    func availableDevices() -> [Device] {
        guard case let .success(devices) = physicalDevices() else { return [] }
        return devices.compactMap { try? device(index: $0.index) }
    }

    func unavailableReasons() -> [(backend: String, reason: String)] {
        switch physicalDevices() {
        case let .failure(error):
            return [("Vulkan", "\(error)")]
        case let .success(devices):
            return devices.compactMap { info in
                do {
                    _ = try device(index: info.index)
                    return nil
                } catch {
                    return ("vulkan:\(info.index)", "\(error)")
                }
            }
        }
    }

    /// A discrete GPU first (preference 20), then an integrated one (10); never a CPU-type device.
    func automaticChoice() -> (device: Device, preference: Int)? {
        guard case let .success(devices) = physicalDevices() else { return nil }
        for (wanted, preference) in [(VulkanDeviceInfo.DeviceType.discrete, 20), (.integrated, 10)] {
            for info in devices where info.type == wanted {
                if let device = try? device(index: info.index) { return (device, preference) }
            }
        }
        return nil
    }

    /// Not yet measured on a GPU (no device in the session that wrote it): a GPU's dense
    /// kernel stays memory-bound to larger batches, and the gather kernel's per-row
    /// overhead (compaction in every workgroup) is assumed higher.
    var sparseCostModel: SparseCostModel { .untunedGPU }
}
