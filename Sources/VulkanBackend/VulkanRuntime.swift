import TensorCore
import CVulkan

/// Placeholder replaced by the Vulkan runtime.
public enum VulkanRuntime {
    public static func physicalDevices() throws(TensorError) -> [Int] {
        throw .backendUnavailable(backend: "Vulkan", reason: "not built yet")
    }
}
