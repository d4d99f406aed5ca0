import TensorEngine
import VulkanBackend

/// The devices the frontend, conformance and reliability tests run on: the CPU, plus every
/// Vulkan device (lavapipe in CI), opened with the Khronos validation layer on.
///
/// Validation is configured on the shared runtime, never set in the environment (which
/// other threads may be reading), before the first Vulkan device is opened.
///
/// ```swift
/// @Test(arguments: TestDevices.all)
/// func addsOn(device: Device) throws { ... }
/// ```
public enum TestDevices {
    public static let all: [Device] = {
        var options = VulkanRuntime.Options.fromEnvironment()
        options.validation = true
        VulkanRuntime.configureShared(options)
        var devices = [Device.cpu]
        for device in Device.available where device.kind == .vulkan { devices.append(device) }
        return devices
    }()

    /// The first Vulkan device, when a driver is installed.
    public static var vulkan: Device? { all.first { $0.kind == .vulkan } }
}
