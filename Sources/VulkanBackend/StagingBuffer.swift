import CVulkan
import TensorCore

/// One reusable host-visible buffer for devices whose storage memory is not mapped:
/// uploads and downloads go through it in chunks, each copied on the device queue.
///
/// Used only with the device lock held. `@unchecked Sendable`: see that lock.
final class StagingBuffer: @unchecked Sendable {
    static let size = 16 << 20
    let functions: DeviceFunctions
    let device: VkDevice
    let buffer: VkBuffer
    let memory: BoundBuffer
    let mapped: UnsafeMutableRawPointer

    init(functions: DeviceFunctions, device: VkDevice, deviceName: String, memoryTypeIndex: UInt32) throws(TensorError) {
        self.functions = functions
        self.device = device
        memory = try BoundBuffer(
            functions: functions, device: device, deviceName: deviceName, size: Self.size,
            usage: VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue,
            memoryTypeIndex: memoryTypeIndex, map: true, label: "staging ")
        buffer = memory.buffer
        // BoundBuffer maps (or throws) when asked to.
        mapped = memory.mapped!
    }

    /// Destroys the buffer and frees its memory; the device must be idle.
    func destroy() {
        memory.destroy(functions: functions, device: device)
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
