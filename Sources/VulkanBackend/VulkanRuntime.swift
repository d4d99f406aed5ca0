import TensorCore
import CVulkan

/// Placeholder replaced by the Vulkan runtime.
public enum VulkanRuntime {
    public static func physicalDevices() throws(TensorError) -> [VulkanDeviceInfo] {
        throw .backendUnavailable(backend: "Vulkan", reason: "not built yet")
    }
    public static func device(index: Int) throws(TensorError) -> any Backend {
        throw .backendUnavailable(backend: "Vulkan", reason: "not built yet")
    }
}
public struct VulkanDeviceInfo: Sendable {
    public enum DeviceType: Sendable { case discrete, integrated, virtual, cpu, other }
    public var index: Int
    public var deviceType: DeviceType
}
