import CVulkan
import TensorCore

/// A `VkBuffer` with a `VkDeviceMemory` allocation of its own, bound, and persistently mapped
/// when asked: the allocator's storage blocks and the staging buffer are both made this way.
struct BoundBuffer {
    let buffer: VkBuffer
    let memory: VkDeviceMemory
    /// Host address of the memory when mapped.
    let mapped: UnsafeMutableRawPointer?

    /// Creates the buffer, allocates `memoryTypeIndex` memory for it, binds and (if `map`)
    /// maps it. Throws `outOfMemory` naming the failing call (prefixed with `label`),
    /// leaving nothing behind.
    init(functions: DeviceFunctions, device: VkDevice, deviceName: String, size: Int, usage: UInt32,
         memoryTypeIndex: UInt32, map: Bool, label: String = "") throws(TensorError) {
        var bufferInfo = VkBufferCreateInfo()
        bufferInfo.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        bufferInfo.size = VkDeviceSize(size)
        bufferInfo.usage = usage
        bufferInfo.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var created: VkBuffer?
        var result = functions.createBuffer(device, &bufferInfo, nil, &created)
        guard result == VK_SUCCESS, let buffer = created else {
            throw .outOfMemory(device: deviceName, bytes: size, reason: "\(label)vkCreateBuffer: \(resultName(result))")
        }
        var requirements = VkMemoryRequirements()
        functions.getBufferMemoryRequirements(device, buffer, &requirements)
        var allocateInfo = VkMemoryAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocateInfo.allocationSize = requirements.size
        allocateInfo.memoryTypeIndex = memoryTypeIndex
        var allocated: VkDeviceMemory?
        result = functions.allocateMemory(device, &allocateInfo, nil, &allocated)
        guard result == VK_SUCCESS, let memory = allocated else {
            functions.destroyBuffer(device, buffer, nil)
            throw .outOfMemory(device: deviceName, bytes: size, reason: "\(label)vkAllocateMemory: \(resultName(result))")
        }
        result = functions.bindBufferMemory(device, buffer, memory, 0)
        var mapped: UnsafeMutableRawPointer?
        if result == VK_SUCCESS, map {
            result = functions.mapMemory(device, memory, 0, VkDeviceSize(VK_WHOLE_SIZE), 0, &mapped)
            if result == VK_SUCCESS, mapped == nil { result = VK_ERROR_MEMORY_MAP_FAILED }
        }
        guard result == VK_SUCCESS else {
            functions.destroyBuffer(device, buffer, nil)
            functions.freeMemory(device, memory, nil)
            throw .outOfMemory(device: deviceName, bytes: size,
                               reason: "\(label)binding or mapping memory: \(resultName(result))")
        }
        self.buffer = buffer
        self.memory = memory
        self.mapped = mapped
    }

    /// Destroys the buffer, then frees (and so unmaps) its memory. The device must be done with both.
    func destroy(functions: DeviceFunctions, device: VkDevice) {
        functions.destroyBuffer(device, buffer, nil)
        functions.freeMemory(device, memory, nil)
    }
}
