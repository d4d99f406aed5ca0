import TensorCore
import VulkanBackend

/// The frontend's view of the Vulkan physical devices: enumeration, opening and the
/// automatic choice. Opening is cached by the runtime, so repeated calls are cheap.
enum VulkanDeviceCatalog {
    static func physicalDevices() -> Result<[VulkanDeviceInfo], TensorError> {
        do {
            return .success(try VulkanRuntime.physicalDevices())
        } catch {
            return .failure(error)
        }
    }

    static func open(index: Int) throws(TensorError) -> Device {
        let devices = try physicalDevices().get()
        guard devices.indices.contains(index) else {
            throw .backendUnavailable(
                backend: "Vulkan",
                reason: "no device at index \(index) (\(devices.count) found)")
        }
        return Device(backend: try VulkanRuntime.device(index: index), index: index)
    }

    /// Every Vulkan device that opens; the ones that fail are listed in ``unavailableReasons``.
    static func openAll() -> [Device] {
        guard case let .success(devices) = physicalDevices() else { return [] }
        return devices.compactMap { try? open(index: $0.index) }
    }

    static var unavailableReasons: [(backend: String, reason: String)] {
        switch physicalDevices() {
        case let .failure(error):
            return [("Vulkan", "\(error)")]
        case let .success(devices):
            return devices.compactMap { info in
                do {
                    _ = try open(index: info.index)
                    return nil
                } catch {
                    return ("vulkan:\(info.index)", "\(error)")
                }
            }
        }
    }

    /// A discrete GPU first, then an integrated one; never a CPU-type device.
    static func preferredGPU() -> Device? {
        guard case let .success(devices) = physicalDevices() else { return nil }
        for wanted in [VulkanDeviceInfo.DeviceType.discrete, .integrated] {
            for info in devices where info.type == wanted {
                if let device = try? open(index: info.index) { return device }
            }
        }
        return nil
    }
}
