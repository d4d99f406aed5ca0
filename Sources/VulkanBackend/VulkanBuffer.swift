import CVulkan
import TensorCore

/// Storage on a ``VulkanDevice``: a range of one of its memory blocks.
///
/// The range returns to the allocator when the last reference goes. Work recorded but
/// not yet finished keeps a reference (the command stream retains every buffer it
/// binds until its batch completes), so a buffer never disappears under the GPU.
/// A buffer that outlives its device (closed, or released) is inert: its memory went with
/// the device, the device's ops reject it, and dropping it returns nothing.
///
/// `@unchecked Sendable`: the location is immutable; the hazard-tracking fields are only
/// read and written with the owning device's lock held.
public final class VulkanBuffer: BackendBuffer, @unchecked Sendable {
    /// Size in bytes as asked; the reserved range (``size``) covers whole 4-byte words.
    public let byteCount: Int
    let block: MemoryBlock
    let offset: Int
    /// Bytes reserved (a multiple of the offset alignment, never 0).
    let size: Int
    /// Also the buffer's device identity: one allocator per device, kept alive by the buffer,
    /// so (unlike the device's address) it cannot be reused by another device meanwhile.
    let allocator: VulkanAllocator

    // Hazard tracking (device lock held).
    /// Barrier epoch of the last recorded write.
    var writeEpoch: UInt64 = 0
    /// Barrier epoch of the last recorded read.
    var readEpoch: UInt64 = 0
    /// Serial of the last batch that uses this buffer.
    var lastSerial: UInt64 = 0

    init(byteCount: Int, allocator: VulkanAllocator) throws(TensorError) {
        guard byteCount >= 0 else {
            throw .invalidArgument(op: "makeBuffer", reason: "negative byte count \(byteCount)")
        }
        guard byteCount <= Int.max - 3 else {
            throw .outOfMemory(device: allocator.deviceName, bytes: byteCount, reason: "beyond any device's memory")
        }
        // Whole words: the shaders read and write 32-bit words, also of 16- and 8-bit data.
        let (block, offset, size) = try allocator.allocate(bytes: (byteCount + 3) / 4 * 4)
        self.byteCount = byteCount
        self.block = block
        self.offset = offset
        self.size = size
        self.allocator = allocator
    }

    /// A buffer of `elementCount` 4-byte elements.
    convenience init(elementCount: Int, allocator: VulkanAllocator) throws(TensorError) {
        try self.init(byteCount: DType.float32.byteCount(elementCount), allocator: allocator)
    }

    deinit {
        allocator.free(block: block, offset: offset, size: size)
    }

    /// Host address of the first element when the memory is mapped.
    var hostAddress: UnsafeMutableRawPointer? { block.mapped.map { $0 + offset } }
}
