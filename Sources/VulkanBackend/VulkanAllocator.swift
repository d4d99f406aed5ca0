import CVulkan
import Foundation
import TensorCore

/// One `VkDeviceMemory` allocation with a `VkBuffer` spanning it, carved into ranges.
///
/// `@unchecked Sendable`: the handles are immutable; `freeRanges` is only touched with
/// the owning allocator's lock held.
final class MemoryBlock: @unchecked Sendable {
    let memory: BoundBuffer
    var buffer: VkBuffer { memory.buffer }
    let size: Int
    /// Host address of the block when its memory is host-visible (persistently mapped).
    let mapped: UnsafeMutableRawPointer?
    /// A block made for one large buffer, released when that buffer goes.
    let dedicated: Bool
    /// Free ranges, sorted by offset, never adjacent (coalesced on free).
    var freeRanges: [(offset: Int, size: Int)]

    init(memory: BoundBuffer, size: Int, dedicated: Bool) {
        self.memory = memory
        self.size = size
        self.mapped = memory.mapped
        self.dedicated = dedicated
        self.freeRanges = [(0, size)]
    }

    /// First fit; returns the offset or nil.
    func take(_ bytes: Int) -> Int? {
        guard let index = freeRanges.firstIndex(where: { $0.size >= bytes }) else { return nil }
        let range = freeRanges[index]
        if range.size == bytes {
            freeRanges.remove(at: index)
        } else {
            freeRanges[index] = (range.offset + bytes, range.size - bytes)
        }
        return range.offset
    }

    /// Returns a range, merging it with free neighbours.
    func give(offset: Int, size bytes: Int) {
        let index = freeRanges.firstIndex(where: { $0.offset > offset }) ?? freeRanges.count
        var start = offset
        var length = bytes
        var removeFrom = index
        var removeTo = index
        if index > 0, freeRanges[index - 1].offset + freeRanges[index - 1].size == offset {
            start = freeRanges[index - 1].offset
            length += freeRanges[index - 1].size
            removeFrom = index - 1
        }
        if index < freeRanges.count, offset + bytes == freeRanges[index].offset {
            length += freeRanges[index].size
            removeTo = index + 1
        }
        freeRanges.replaceSubrange(removeFrom..<removeTo, with: [(start, length)])
    }

    var isEmpty: Bool { freeRanges.count == 1 && freeRanges[0].size == size }
}

/// A block suballocator for storage buffers on one device.
///
/// Blocks of `blockSize` bytes (at most maxMemoryAllocationSize) are carved into ranges
/// aligned to minStorageBufferOffsetAlignment; requests over half a block get a block of
/// their own. Requests over maxStorageBufferRange or maxMemoryAllocationSize throw
/// `outOfMemory` without touching the device.
///
/// `@unchecked Sendable`: the block list and `closed` are only touched with `lock` held.
final class VulkanAllocator: @unchecked Sendable {
    let functions: DeviceFunctions
    let device: VkDevice
    let deviceName: String
    let memoryTypeIndex: UInt32
    /// True when allocations are host-visible and mapped (no staging needed).
    let hostVisible: Bool
    let alignment: Int
    let blockSize: Int
    let maxAllocation: Int
    let maxRange: Int
    private let lock = NSLock()
    private var blocks: [MemoryBlock] = []
    private var closed = false
    /// Bytes of live ranges, and their most since the last reset.
    private var liveBytes = 0
    private var peakLiveBytes = 0

    init(functions: DeviceFunctions, device: VkDevice, deviceName: String, memoryTypeIndex: UInt32,
         hostVisible: Bool, alignment: Int, maxAllocation: Int, maxRange: Int, heapSize: Int) {
        self.functions = functions
        self.device = device
        self.deviceName = deviceName
        self.memoryTypeIndex = memoryTypeIndex
        self.hostVisible = hostVisible
        self.alignment = alignment
        self.maxAllocation = maxAllocation
        self.maxRange = maxRange
        var size = 128 << 20
        size = min(size, maxAllocation, max(heapSize / 8, 16 << 20))
        self.blockSize = size / alignment * alignment
    }

    static let usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
        | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue

    /// Reserves `bytes` (0 allowed: the range is then one alignment unit).
    func allocate(bytes: Int) throws(TensorError) -> (block: MemoryBlock, offset: Int, size: Int) {
        guard bytes <= maxRange else {
            throw .outOfMemory(device: deviceName, bytes: bytes,
                               reason: "larger than the device's maxStorageBufferRange (\(maxRange) bytes)")
        }
        // Rounded only after the range check: near Int.max the rounding itself overflowed (a trap).
        let rounded = (max(bytes, 4) + alignment - 1) / alignment * alignment
        guard rounded <= maxAllocation else {
            throw .outOfMemory(device: deviceName, bytes: bytes,
                               reason: "larger than the device's maxMemoryAllocationSize (\(maxAllocation) bytes)")
        }
        lock.lock()
        defer { lock.unlock() }
        guard !closed else {
            throw .deviceFailure(device: deviceName, reason: "the device has been closed")
        }
        if rounded > blockSize / 2 {
            let block = try makeBlock(size: rounded, dedicated: true)
            blocks.append(block)
            _ = block.take(rounded)
            countLive(rounded)
            return (block, 0, rounded)
        }
        for block in blocks where !block.dedicated {
            if let offset = block.take(rounded) {
                countLive(rounded)
                return (block, offset, rounded)
            }
        }
        let block = try makeBlock(size: blockSize, dedicated: false)
        blocks.append(block)
        guard let offset = block.take(rounded) else {
            throw .outOfMemory(device: deviceName, bytes: bytes, reason: "block too small")
        }
        countLive(rounded)
        return (block, offset, rounded)
    }

    /// Returns a range. Dedicated blocks, and all but one empty shared block, are released.
    func free(block: MemoryBlock, offset: Int, size: Int) {
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        liveBytes -= size
        block.give(offset: offset, size: size)
        guard block.isEmpty else { return }
        let emptyShared = blocks.filter { !$0.dedicated && $0.isEmpty }.count
        if block.dedicated || emptyShared > 1 {
            blocks.removeAll { $0 === block }
            block.memory.destroy(functions: functions, device: device)
        }
    }

    /// Destroys every block, live ranges included, for ``VulkanDevice``'s teardown (the device
    /// must be idle). Afterwards `allocate` throws and `free` does nothing, so buffers that
    /// outlive their device are inert and safe to drop.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        closed = true
        for block in blocks { block.memory.destroy(functions: functions, device: device) }
        blocks.removeAll()
    }

    /// Live, peak live, and reserved-but-free bytes (the empty parts of blocks).
    var statistics: MemoryStatistics {
        lock.lock()
        defer { lock.unlock() }
        let reserved = blocks.reduce(0) { $0 + $1.size }
        return MemoryStatistics(liveBytes: liveBytes, peakLiveBytes: peakLiveBytes, cachedBytes: reserved - liveBytes)
    }

    /// Makes the peak the live bytes now.
    func resetPeak() {
        lock.lock()
        defer { lock.unlock() }
        peakLiveBytes = liveBytes
    }

    /// Destroys the empty shared block that ``free(block:offset:size:)`` keeps for reuse.
    func releaseEmptyBlocks() {
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        for block in blocks where block.isEmpty { block.memory.destroy(functions: functions, device: device) }
        blocks.removeAll { $0.isEmpty }
    }

    private func countLive(_ bytes: Int) {
        liveBytes += bytes
        peakLiveBytes = max(peakLiveBytes, liveBytes)
    }

    /// Bytes currently reserved from the device, for diagnostics.
    var reservedBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return blocks.reduce(0) { $0 + $1.size }
    }

    private func makeBlock(size: Int, dedicated: Bool) throws(TensorError) -> MemoryBlock {
        let bound = try BoundBuffer(functions: functions, device: device, deviceName: deviceName, size: size,
                                    usage: Self.usage, memoryTypeIndex: memoryTypeIndex, map: hostVisible)
        return MemoryBlock(memory: bound, size: size, dedicated: dedicated)
    }
}
