import CVulkan
import TensorCore

/// One reusable host-visible buffer for devices whose storage memory is not mapped:
/// uploads and downloads go through it in chunks, each copied on the device queue.
///
/// Used only with the device lock held. `@unchecked Sendable`: see that lock.
final class StagingBuffer: @unchecked Sendable {
    static let size = 16 << 20
    let functions: DeviceFunctions
    let buffer: VkBuffer
    let memory: VkDeviceMemory
    let mapped: UnsafeMutableRawPointer

    init(functions: DeviceFunctions, device: VkDevice, deviceName: String, memoryTypeIndex: UInt32) throws(TensorError) {
        self.functions = functions
        var bufferInfo = VkBufferCreateInfo()
        bufferInfo.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        bufferInfo.size = VkDeviceSize(Self.size)
        bufferInfo.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
        bufferInfo.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        var result = functions.createBuffer(device, &bufferInfo, nil, &buffer)
        guard result == VK_SUCCESS, let buffer else {
            throw .outOfMemory(device: deviceName, bytes: Self.size, reason: "staging vkCreateBuffer: \(resultName(result))")
        }
        var requirements = VkMemoryRequirements()
        functions.getBufferMemoryRequirements(device, buffer, &requirements)
        var allocateInfo = VkMemoryAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocateInfo.allocationSize = requirements.size
        allocateInfo.memoryTypeIndex = memoryTypeIndex
        var memory: VkDeviceMemory?
        result = functions.allocateMemory(device, &allocateInfo, nil, &memory)
        guard result == VK_SUCCESS, let memory else {
            throw .outOfMemory(device: deviceName, bytes: Self.size, reason: "staging vkAllocateMemory: \(resultName(result))")
        }
        var mapped: UnsafeMutableRawPointer?
        result = functions.bindBufferMemory(device, buffer, memory, 0)
        if result == VK_SUCCESS {
            result = functions.mapMemory(device, memory, 0, VkDeviceSize(VK_WHOLE_SIZE), 0, &mapped)
        }
        guard result == VK_SUCCESS, let mapped else {
            throw .outOfMemory(device: deviceName, bytes: Self.size, reason: "staging map: \(resultName(result))")
        }
        self.buffer = buffer
        self.memory = memory
        self.mapped = mapped
    }

    private func copy(_ commandBuffer: VkCommandBuffer, from source: VkBuffer, _ sourceOffset: Int,
                      to destination: VkBuffer, _ destinationOffset: Int, bytes: Int) {
        var region = VkBufferCopy(srcOffset: VkDeviceSize(sourceOffset), dstOffset: VkDeviceSize(destinationOffset),
                                  size: VkDeviceSize(bytes))
        functions.cmdCopyBuffer(commandBuffer, source, destination, 1, &region)
    }

    func upload(_ source: UnsafeRawBufferPointer, to target: VulkanBuffer, stream: CommandStream) throws(TensorError) {
        var done = 0
        while done < source.count {
            let chunk = min(Self.size, source.count - done)
            mapped.copyMemory(from: source.baseAddress! + done, byteCount: chunk)
            try stream.track([(target, .write)])
            copy(try stream.begin(), from: buffer, 0, to: target.block.buffer, target.offset + done, bytes: chunk)
            try stream.finish()
            done += chunk
        }
    }

    func download(_ source: VulkanBuffer, into destination: UnsafeMutableRawBufferPointer,
                  stream: CommandStream) throws(TensorError) {
        var done = 0
        while done < destination.count {
            let chunk = min(Self.size, destination.count - done)
            try stream.track([(source, .read)])
            copy(try stream.begin(), from: source.block.buffer, source.offset + done, to: buffer, 0, bytes: chunk)
            try stream.finish()
            (destination.baseAddress! + done).copyMemory(from: mapped, byteCount: chunk)
            done += chunk
        }
    }
}
