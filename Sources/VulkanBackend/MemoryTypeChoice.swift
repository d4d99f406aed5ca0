import CVulkan
import TensorCore

extension VulkanDevice {
    /// Picks the memory type of storage buffers (and of staging when they are not mappable).
    static func chooseMemory(_ physical: PhysicalDeviceDetails, functions: DeviceFunctions,
                             device: VkDevice, forceStaging: Bool) throws(TensorError)
        -> (storageType: UInt32, hostVisible: Bool, stagingType: UInt32, heapSize: Int) {
        var probeInfo = VkBufferCreateInfo()
        probeInfo.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        probeInfo.size = 4096
        probeInfo.usage = VulkanAllocator.usage
        probeInfo.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var probe: VkBuffer?
        guard functions.createBuffer(device, &probeInfo, nil, &probe) == VK_SUCCESS, let probe else {
            throw .backendUnavailable(backend: "Vulkan", reason: "\(physical.info.name): cannot create a buffer")
        }
        var requirements = VkMemoryRequirements()
        functions.getBufferMemoryRequirements(device, probe, &requirements)
        functions.destroyBuffer(device, probe, nil)

        let memory = physical.memory
        var types: [VkMemoryType] = []
        var heaps: [VkMemoryHeap] = []
        withUnsafeBytes(of: memory.memoryTypes) { types = Array($0.bindMemory(to: VkMemoryType.self).prefix(Int(memory.memoryTypeCount))) }
        withUnsafeBytes(of: memory.memoryHeaps) { heaps = Array($0.bindMemory(to: VkMemoryHeap.self).prefix(Int(memory.memoryHeapCount))) }
        func find(_ flags: UInt32) -> UInt32? {
            types.indices.first { index in
                requirements.memoryTypeBits & (1 << UInt32(index)) != 0 && types[index].propertyFlags & flags == flags
            }.map { UInt32($0) }
        }
        func heapSize(_ type: UInt32) -> Int { Int(heaps[Int(types[Int(type)].heapIndex)].size) }
        let deviceLocal = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
        let hostCoherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        let largestLocal = heaps.filter { $0.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0 }.map { Int($0.size) }.max() ?? 0

        // Mapped device memory when it covers (most of) the device: integrated GPUs, CPU
        // drivers, ReBAR. A 256 MiB BAR window on a discrete GPU does not count.
        if !forceStaging, let type = find(deviceLocal | hostCoherent),
           heapSize(type) >= largestLocal / 2 {
            return (type, true, type, heapSize(type))
        }
        guard let staging = find(hostCoherent) else {
            throw .backendUnavailable(backend: "Vulkan", reason: "\(physical.info.name): no host-visible memory")
        }
        if let type = find(deviceLocal) {
            return (type, false, staging, heapSize(type))
        }
        return (staging, true, staging, heapSize(staging))
    }
}
