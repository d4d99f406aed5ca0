import CVulkan
import TensorCore

/// Everything the backend learns about one physical device before opening it.
struct PhysicalDeviceDetails: @unchecked Sendable {
    // @unchecked: `handle` is an opaque Vulkan handle, immutable after the query.
    let handle: VkPhysicalDevice
    let info: VulkanDeviceInfo
    let properties: VkPhysicalDeviceProperties
    let memory: VkPhysicalDeviceMemoryProperties
    let maxMemoryAllocationSize: Int
    /// A queue family with compute support, if any.
    let computeQueueFamily: UInt32?
    let extensions: Set<String>

    /// Queries names, limits, memory, subgroup properties, 16-bit features and extensions.
    init(index: Int, handle: VkPhysicalDevice, functions fns: InstanceFunctions) {
        self.handle = handle
        var properties = VkPhysicalDeviceProperties()
        fns.getPhysicalDeviceProperties(handle, &properties)
        self.properties = properties
        let apiVersion = properties.apiVersion
        let is11 = apiVersion >= makeVersion(1, 1)
        let is12 = apiVersion >= makeVersion(1, 2)

        var extensionCount: UInt32 = 0
        _ = fns.enumerateDeviceExtensionProperties(handle, nil, &extensionCount, nil)
        var extensionList = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(extensionCount))
        _ = fns.enumerateDeviceExtensionProperties(handle, nil, &extensionCount, &extensionList)
        let extensions = Set(extensionList.prefix(Int(extensionCount)).map { stringFromCArray($0.extensionName) })
        self.extensions = extensions

        var memory = VkPhysicalDeviceMemoryProperties()
        fns.getPhysicalDeviceMemoryProperties(handle, &memory)
        self.memory = memory

        var queueCount: UInt32 = 0
        fns.getPhysicalDeviceQueueFamilyProperties(handle, &queueCount, nil)
        var queues = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(queueCount))
        fns.getPhysicalDeviceQueueFamilyProperties(handle, &queueCount, &queues)
        let computeBit = VK_QUEUE_COMPUTE_BIT.rawValue
        computeQueueFamily = queues.prefix(Int(queueCount)).firstIndex { $0.queueFlags & computeBit != 0 }
            .map { UInt32($0) }

        var subgroupSize = 1
        var subgroupArithmetic = false
        var maxAllocation = Int(UInt32.max)
        var driverName = ""
        var driverInfo = ""
        var fp16Storage = false
        var fp16Arithmetic = false
        if is11 {
            var subgroup = VkPhysicalDeviceSubgroupProperties()
            subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
            var maintenance3 = VkPhysicalDeviceMaintenance3Properties()
            maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES
            var driver = VkPhysicalDeviceDriverProperties()
            driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES
            let hasDriver = is12 || extensions.contains("VK_KHR_driver_properties")
            var properties2 = VkPhysicalDeviceProperties2()
            properties2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
            withUnsafeMutablePointer(to: &subgroup) { subgroupPointer in
                withUnsafeMutablePointer(to: &maintenance3) { maintenancePointer in
                    withUnsafeMutablePointer(to: &driver) { driverPointer in
                        subgroupPointer.pointee.pNext = UnsafeMutableRawPointer(maintenancePointer)
                        if hasDriver { maintenancePointer.pointee.pNext = UnsafeMutableRawPointer(driverPointer) }
                        properties2.pNext = UnsafeMutableRawPointer(subgroupPointer)
                        fns.getPhysicalDeviceProperties2(handle, &properties2)
                        subgroupPointer.pointee.pNext = nil
                        maintenancePointer.pointee.pNext = nil
                    }
                }
            }
            subgroupSize = Int(subgroup.subgroupSize)
            subgroupArithmetic = subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT.rawValue != 0
                && subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT.rawValue != 0
            maxAllocation = Int(maintenance3.maxMemoryAllocationSize)
            if hasDriver {
                driverName = stringFromCArray(driver.driverName)
                driverInfo = stringFromCArray(driver.driverInfo)
            }

            var storage16 = VkPhysicalDevice16BitStorageFeatures()
            storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
            var float16 = VkPhysicalDeviceShaderFloat16Int8Features()
            float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
            let hasFloat16 = is12 || extensions.contains("VK_KHR_shader_float16_int8")
            var features2 = VkPhysicalDeviceFeatures2()
            features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
            withUnsafeMutablePointer(to: &storage16) { storagePointer in
                withUnsafeMutablePointer(to: &float16) { floatPointer in
                    if hasFloat16 { storagePointer.pointee.pNext = UnsafeMutableRawPointer(floatPointer) }
                    features2.pNext = UnsafeMutableRawPointer(storagePointer)
                    fns.getPhysicalDeviceFeatures2(handle, &features2)
                    storagePointer.pointee.pNext = nil
                }
            }
            fp16Storage = storage16.storageBuffer16BitAccess != 0
            fp16Arithmetic = hasFloat16 && float16.shaderFloat16 != 0
        }
        maxMemoryAllocationSize = maxAllocation

        var features: VulkanFeatures = []
        if fp16Storage { features.insert(.fp16Storage) }
        if fp16Arithmetic { features.insert(.fp16Arithmetic) }
        if subgroupArithmetic { features.insert(.subgroupArithmetic) }
        if extensions.contains("VK_KHR_cooperative_matrix") { features.insert(.cooperativeMatrix) }
        if extensions.contains("VK_KHR_push_descriptor") { features.insert(.pushDescriptors) }

        var deviceLocal = 0
        let deviceLocalBit = VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue
        withUnsafeBytes(of: memory.memoryHeaps) { raw in
            let heaps = raw.bindMemory(to: VkMemoryHeap.self)
            for heap in heaps.prefix(Int(memory.memoryHeapCount)) where heap.flags & deviceLocalBit != 0 {
                deviceLocal += Int(heap.size)
            }
        }
        let wanted = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue
            | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        withUnsafeBytes(of: memory.memoryTypes) { raw in
            let types = raw.bindMemory(to: VkMemoryType.self)
            if types.prefix(Int(memory.memoryTypeCount)).contains(where: { $0.propertyFlags & wanted == wanted }) {
                features.insert(.hostVisibleDeviceMemory)
            }
        }

        let type: VulkanDeviceInfo.DeviceType
        switch properties.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: type = .discrete
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: type = .integrated
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: type = .virtual
        case VK_PHYSICAL_DEVICE_TYPE_CPU: type = .cpu
        default: type = .other
        }
        var unusable: String?
        if !is11 {
            unusable = "the device supports Vulkan \(versionString(apiVersion)); 1.1 is required"
        } else if computeQueueFamily == nil {
            unusable = "the device has no compute queue"
        }
        info = VulkanDeviceInfo(
            index: index,
            name: stringFromCArray(properties.deviceName),
            type: type,
            vendorID: properties.vendorID,
            deviceID: properties.deviceID,
            apiVersion: versionString(apiVersion),
            driverName: driverName.isEmpty ? "vendor 0x" + String(properties.vendorID, radix: 16) : driverName,
            driverVersion: driverInfo.isEmpty ? versionString(properties.driverVersion) : driverInfo,
            deviceLocalMemoryBytes: deviceLocal,
            subgroupSize: subgroupSize,
            maxComputeSharedMemoryBytes: Int(properties.limits.maxComputeSharedMemorySize),
            maxComputeWorkgroupInvocations: Int(min(properties.limits.maxComputeWorkGroupInvocations,
                                                    properties.limits.maxComputeWorkGroupSize.0)),
            supportedFeatures: features,
            isUsable: unusable == nil,
            unusableReason: unusable
        )
    }
}
