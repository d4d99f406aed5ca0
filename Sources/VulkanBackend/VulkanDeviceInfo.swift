import CVulkan
import TensorCore

/// One Vulkan physical device as the driver reports it, for device listing and selection.
///
/// The frontend picks the default device from `type` (discrete, then integrated; never
/// `.cpu` unless asked) and shows the rest in `Device.available`.
public struct VulkanDeviceInfo: Sendable, Equatable, CustomStringConvertible {
    /// The kind of adapter (VkPhysicalDeviceType).
    public enum DeviceType: String, Sendable, Equatable {
        /// A separate GPU with its own memory.
        case discrete
        /// A GPU sharing the host's memory.
        case integrated
        /// A virtualised GPU.
        case virtual
        /// A software implementation on the host CPU (lavapipe / llvmpipe, SwiftShader).
        case cpu
        /// Anything else the driver reports.
        case other
    }

    /// Position in `vkEnumeratePhysicalDevices` order; pass it to ``VulkanRuntime/device(index:)``.
    public var index: Int
    /// The device name the driver reports ("NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)").
    public var name: String
    /// Discrete, integrated, virtual, CPU (lavapipe) or other.
    public var type: DeviceType
    /// PCI vendor ID (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa).
    public var vendorID: UInt32
    /// Vendor-specific device ID.
    public var deviceID: UInt32
    /// The device's Vulkan version, "major.minor.patch".
    public var apiVersion: String
    /// The driver's name ("llvmpipe", "NVIDIA"), from VkPhysicalDeviceDriverProperties when available.
    public var driverName: String
    /// The driver's own version string ("Mesa 22.3.6"), or the raw version number.
    public var driverVersion: String
    /// Total size of the device-local memory heaps.
    public var deviceLocalMemoryBytes: Int
    /// The default subgroup (wave, warp) size; never assume one.
    public var subgroupSize: Int
    /// Shared (workgroup) memory one compute workgroup may declare, in bytes
    /// (maxComputeSharedMemorySize; at least 16 KiB on every Vulkan device).
    public var maxComputeSharedMemoryBytes: Int = 16384
    /// Invocations one one-dimensional compute workgroup may have: the smaller of
    /// maxComputeWorkGroupInvocations and maxComputeWorkGroupSize.x (at least 128).
    public var maxComputeWorkgroupInvocations: Int = 128
    /// Fast paths the device supports (before the TENSOR_VULKAN_NO_* switches).
    public var supportedFeatures: VulkanFeatures
    /// True when the device meets the backend's minimum (Vulkan 1.1, a compute queue).
    public var isUsable: Bool
    /// Why the device cannot be used, when `isUsable` is false.
    public var unusableReason: String?

    /// One line: index, name, type, driver, Vulkan version, memory, subgroup size, features.
    public var description: String {
        let gib = Double(deviceLocalMemoryBytes) / Double(1 << 30)
        let memory = (gib * 10).rounded() / 10
        return "\(index): \(name) (\(type.rawValue), \(driverName) \(driverVersion), Vulkan \(apiVersion), "
            + "\(memory) GiB, subgroup \(subgroupSize), features [\(supportedFeatures)])"
    }
}

/// Optional capabilities the backend queries before it uses them.
public struct VulkanFeatures: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    /// A set from its bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// 16-bit storage buffer access (storageBuffer16BitAccess). Off with TENSOR_VULKAN_NO_FP16.
    public static let fp16Storage = VulkanFeatures(rawValue: 1 << 0)
    /// 16-bit float arithmetic in shaders (shaderFloat16). Off with TENSOR_VULKAN_NO_FP16.
    public static let fp16Arithmetic = VulkanFeatures(rawValue: 1 << 1)
    /// Subgroup arithmetic operations in compute shaders. Off with TENSOR_VULKAN_NO_SUBGROUP.
    public static let subgroupArithmetic = VulkanFeatures(rawValue: 1 << 2)
    /// VK_KHR_cooperative_matrix. Off with TENSOR_VULKAN_NO_COOPMAT.
    public static let cooperativeMatrix = VulkanFeatures(rawValue: 1 << 3)
    /// VK_KHR_push_descriptor: descriptors written into the command buffer, no pools.
    /// Off with TENSOR_VULKAN_NO_PUSH_DESCRIPTORS.
    public static let pushDescriptors = VulkanFeatures(rawValue: 1 << 4)
    /// A memory type that is both device-local and host-visible (integrated, ReBAR, CPU).
    public static let hostVisibleDeviceMemory = VulkanFeatures(rawValue: 1 << 5)

    static let names: [(VulkanFeatures, String)] = [
        (.fp16Storage, "fp16-storage"), (.fp16Arithmetic, "fp16-arithmetic"),
        (.subgroupArithmetic, "subgroup-arithmetic"), (.cooperativeMatrix, "cooperative-matrix"),
        (.pushDescriptors, "push-descriptors"), (.hostVisibleDeviceMemory, "host-visible-device-memory"),
    ]

    /// The features' names, comma-separated ("fp16-storage, subgroup-arithmetic").
    public var description: String {
        Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }

    /// The supported set minus whatever the TENSOR_VULKAN_NO_* environment switches turn off.
    func applyingEnvironmentSwitches() -> VulkanFeatures {
        var result = self
        if environmentFlag("TENSOR_VULKAN_NO_FP16") { result.subtract([.fp16Storage, .fp16Arithmetic]) }
        if environmentFlag("TENSOR_VULKAN_NO_SUBGROUP") { result.remove(.subgroupArithmetic) }
        if environmentFlag("TENSOR_VULKAN_NO_COOPMAT") { result.remove(.cooperativeMatrix) }
        if environmentFlag("TENSOR_VULKAN_NO_PUSH_DESCRIPTORS") { result.remove(.pushDescriptors) }
        return result
    }
}

/// Reads a NUL-terminated C string stored in a fixed-size C array (imported as a tuple).
func stringFromCArray<T>(_ array: T) -> String {
    withUnsafeBytes(of: array) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// "major.minor.patch" of a packed Vulkan version.
func versionString(_ version: UInt32) -> String {
    "\((version >> 22) & 0x7f).\((version >> 12) & 0x3ff).\(version & 0xfff)"
}

/// Packs a Vulkan API version (variant 0).
func makeVersion(_ major: UInt32, _ minor: UInt32, _ patch: UInt32 = 0) -> UInt32 {
    (major << 22) | (minor << 12) | patch
}
