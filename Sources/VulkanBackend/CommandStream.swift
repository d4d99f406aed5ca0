import CVulkan
import Foundation
import TensorCore

/// How a dispatch uses one of its buffers, for hazard tracking.
enum Access {
    case read, write, readWrite
    /// Bound only to fill a descriptor slot the kernel does not touch.
    case unused
}

/// Counters of the command stream, for tests and benchmarks.
public struct VulkanStreamStatistics: Sendable, Equatable {
    /// Dispatches recorded since the device was opened.
    public var dispatches = 0
    /// Pipeline barriers inserted between dispatches because of a hazard.
    public var hazardBarriers = 0
    /// Command buffers submitted.
    public var submissions = 0
}

/// Records dispatches into command buffers, inserts barriers only on real hazards and
/// submits in batches.
///
/// Two frames (command buffer, fence, descriptor pools, retained buffers) alternate: one
/// can execute while the next is recorded. A barrier epoch counts the barriers of the
/// recording command buffer; a buffer remembers the epochs of its last write and read,
/// so a dispatch needs a barrier only when it reads a buffer written in the current
/// epoch (RAW) or writes one read or written in it (WAR, WAW).
///
/// Used only with the device lock held. `@unchecked Sendable`: see that lock.
final class CommandStream: @unchecked Sendable {
    final class Frame {
        let commandBuffer: VkCommandBuffer
        let fence: VkFence
        var pools: [VkDescriptorPool] = []
        var poolIndex = 0
        var setsInPool = 0
        var retained: [VulkanBuffer] = []
        var serial: UInt64 = 0
        var inFlight = false

        init(commandBuffer: VkCommandBuffer, fence: VkFence) {
            self.commandBuffer = commandBuffer
            self.fence = fence
        }
    }

    static let setsPerPool = 256
    /// Dispatches per command buffer before it is submitted without waiting.
    static let submitThreshold = 64

    let functions: DeviceFunctions
    let device: VkDevice
    let queue: VkQueue
    let deviceName: String
    private let pool: VkCommandPool
    private let frames: [Frame]
    private var current = 0
    private var recording = false
    private var nextSerial: UInt64 = 1
    private(set) var completedSerial: UInt64 = 0
    private var epoch: UInt64 = 1
    private var dispatchesInBatch = 0
    /// A failure that leaves the device unusable (a lost device, a fence wait past
    /// ``fenceTimeoutNanoseconds``); every later call rethrows it.
    private(set) var failure: TensorError?
    /// How long one fence wait may take before the stream gives up (see
    /// ``VulkanDevice/fenceTimeout``).
    var fenceTimeoutNanoseconds: UInt64 = CommandStream.defaultFenceTimeoutNanoseconds
    /// True after a fence wait timed out: work may still be running on the queue.
    private(set) var timedOut = false
    private(set) var statistics = VulkanStreamStatistics()

    init(functions: DeviceFunctions, device: VkDevice, queue: VkQueue, queueFamily: UInt32,
         deviceName: String) throws(TensorError) {
        self.functions = functions
        self.device = device
        self.queue = queue
        self.deviceName = deviceName
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = queueFamily
        var pool: VkCommandPool?
        var result = functions.createCommandPool(device, &poolInfo, nil, &pool)
        guard result == VK_SUCCESS, let pool else {
            throw .backendUnavailable(backend: "Vulkan", reason: "vkCreateCommandPool: \(resultName(result))")
        }
        self.pool = pool
        var made: [Frame] = []
        for _ in 0..<2 {
            var allocateInfo = VkCommandBufferAllocateInfo()
            allocateInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
            allocateInfo.commandPool = pool
            allocateInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
            allocateInfo.commandBufferCount = 1
            var commandBuffer: VkCommandBuffer?
            result = functions.allocateCommandBuffers(device, &allocateInfo, &commandBuffer)
            var fenceInfo = VkFenceCreateInfo()
            fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
            var fence: VkFence?
            if result == VK_SUCCESS { result = functions.createFence(device, &fenceInfo, nil, &fence) }
            guard result == VK_SUCCESS, let commandBuffer, let fence else {
                for frame in made { functions.destroyFence(device, frame.fence, nil) }
                functions.destroyCommandPool(device, pool, nil)
                throw .backendUnavailable(backend: "Vulkan", reason: "command buffer setup: \(resultName(result))")
            }
            made.append(Frame(commandBuffer: commandBuffer, fence: fence))
        }
        frames = made
    }

    /// The command buffer being recorded, begun if needed.
    func begin() throws(TensorError) -> VkCommandBuffer {
        if let failure { throw failure }
        let frame = frames[current]
        if recording { return frame.commandBuffer }
        if frame.inFlight { try wait(frame) }
        for pool in frame.pools { _ = functions.resetDescriptorPool(device, pool, 0) }
        frame.poolIndex = 0
        frame.setsInPool = 0
        var result = functions.resetCommandBuffer(frame.commandBuffer, 0)
        var beginInfo = VkCommandBufferBeginInfo()
        beginInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        beginInfo.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        if result == VK_SUCCESS { result = functions.beginCommandBuffer(frame.commandBuffer, &beginInfo) }
        guard result == VK_SUCCESS else { throw fail("vkBeginCommandBuffer", result) }
        frame.serial = nextSerial
        nextSerial += 1
        recording = true
        dispatchesInBatch = 0
        epoch += 1
        if frame.serial > 1 {
            // Queue submissions are not ordered in memory: order this batch after earlier ones.
            barrier(frame.commandBuffer, dstStage: Self.deviceStages, dstAccess: Self.deviceAccess)
        }
        return frame.commandBuffer
    }

    /// Serial of the batch being recorded (begun if needed).
    var recordingSerial: UInt64 { frames[current].serial }

    static let deviceStages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
    static let deviceAccess = VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
        | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue

    private func barrier(_ commandBuffer: VkCommandBuffer, dstStage: UInt32, dstAccess: UInt32) {
        var memoryBarrier = VkMemoryBarrier()
        memoryBarrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        memoryBarrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        memoryBarrier.dstAccessMask = dstAccess
        functions.cmdPipelineBarrier(commandBuffer, Self.deviceStages, dstStage, 0, 1, &memoryBarrier, 0, nil, 0, nil)
    }

    /// Records that the next command uses `buffer` as `access`; returns true when that
    /// access conflicts with an earlier one of this epoch.
    private func conflicts(_ buffer: VulkanBuffer, _ access: Access) -> Bool {
        switch access {
        case .read: return buffer.writeEpoch == epoch
        case .write, .readWrite: return buffer.writeEpoch == epoch || buffer.readEpoch == epoch
        case .unused: return false
        }
    }

    private func note(_ buffer: VulkanBuffer, _ access: Access, frame: Frame) {
        if access == .unused { return }
        if buffer.lastSerial != frame.serial {
            buffer.lastSerial = frame.serial
            frame.retained.append(buffer)
        }
        if access != .write { buffer.readEpoch = epoch }
        if access != .read { buffer.writeEpoch = epoch }
    }

    /// Inserts a barrier if any of the accesses is a hazard, then records them.
    func track(_ accesses: [(VulkanBuffer, Access)]) throws(TensorError) {
        let commandBuffer = try begin()
        if accesses.contains(where: { conflicts($0.0, $0.1) }) {
            barrier(commandBuffer, dstStage: Self.deviceStages, dstAccess: Self.deviceAccess)
            epoch += 1
            statistics.hazardBarriers += 1
        }
        let frame = frames[current]
        for (buffer, access) in accesses { note(buffer, access, frame: frame) }
    }

    /// A descriptor set from the recording frame's pools.
    func descriptorSet(layout: VkDescriptorSetLayout) throws(TensorError) -> VkDescriptorSet {
        let frame = frames[current]
        if frame.setsInPool == Self.setsPerPool {
            frame.poolIndex += 1
            frame.setsInPool = 0
        }
        if frame.poolIndex == frame.pools.count {
            var size = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                            descriptorCount: UInt32(Self.setsPerPool * 9))   // up to 9 bindings a set (attention backward)
            var info = VkDescriptorPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
            info.maxSets = UInt32(Self.setsPerPool)
            info.poolSizeCount = 1
            var pool: VkDescriptorPool?
            let result = withUnsafePointer(to: &size) { sizePointer in
                info.pPoolSizes = sizePointer
                return functions.createDescriptorPool(device, &info, nil, &pool)
            }
            guard result == VK_SUCCESS, let pool else {
                throw .outOfMemory(device: deviceName, bytes: 0, reason: "vkCreateDescriptorPool: \(resultName(result))")
            }
            frame.pools.append(pool)
        }
        var layoutOptional: VkDescriptorSetLayout? = layout
        var set: VkDescriptorSet?
        let result = withUnsafePointer(to: &layoutOptional) { layoutPointer in
            var info = VkDescriptorSetAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            info.descriptorPool = frame.pools[frame.poolIndex]
            info.descriptorSetCount = 1
            info.pSetLayouts = layoutPointer
            return functions.allocateDescriptorSets(device, &info, &set)
        }
        guard result == VK_SUCCESS, let set else {
            throw .outOfMemory(device: deviceName, bytes: 0, reason: "vkAllocateDescriptorSets: \(resultName(result))")
        }
        frame.setsInPool += 1
        return set
    }

    /// Counts a recorded dispatch; submits the batch when it is long enough.
    func didDispatch() throws(TensorError) {
        statistics.dispatches += 1
        dispatchesInBatch += 1
        if dispatchesInBatch >= Self.submitThreshold { try submit() }
    }

    /// Ends and submits the recording command buffer, if any; does not wait.
    func submit() throws(TensorError) {
        if let failure { throw failure }
        guard recording else { return }
        let frame = frames[current]
        barrier(frame.commandBuffer, dstStage: VK_PIPELINE_STAGE_HOST_BIT.rawValue,
                dstAccess: VK_ACCESS_HOST_READ_BIT.rawValue)
        recording = false
        current = (current + 1) % frames.count
        var result = functions.endCommandBuffer(frame.commandBuffer)
        var fenceOptional: VkFence? = frame.fence
        if result == VK_SUCCESS { result = functions.resetFences(device, 1, &fenceOptional) }
        if result == VK_SUCCESS {
            var commandBufferOptional: VkCommandBuffer? = frame.commandBuffer
            result = withUnsafePointer(to: &commandBufferOptional) { pointer in
                var info = VkSubmitInfo()
                info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
                info.commandBufferCount = 1
                info.pCommandBuffers = pointer
                return functions.queueSubmit(queue, 1, &info, frame.fence)
            }
        }
        guard result == VK_SUCCESS else {
            frame.retained.removeAll()
            throw fail("vkQueueSubmit", result)
        }
        frame.inFlight = true
        statistics.submissions += 1
    }

    /// The fence timeout when TENSOR_VULKAN_FENCE_TIMEOUT_MS does not set one: 60 s.
    static let defaultFenceTimeoutNanoseconds: UInt64 = {
        let milliseconds = ProcessInfo.processInfo.environment["TENSOR_VULKAN_FENCE_TIMEOUT_MS"].flatMap { UInt64($0) }
        guard let milliseconds, milliseconds > 0 else { return 60_000_000_000 }
        return milliseconds.multipliedReportingOverflow(by: 1_000_000).overflow ? UInt64.max : milliseconds * 1_000_000
    }()

    private func wait(_ frame: Frame) throws(TensorError) {
        var fenceOptional: VkFence? = frame.fence
        let result = functions.waitForFences(device, 1, &fenceOptional, 1, fenceTimeoutNanoseconds)
        if result == VK_TIMEOUT {
            // The queue may still run this batch: keep its buffers and fence until the device
            // is closed (which waits for it, bounded; see `drain(timeout:)`).
            timedOut = true
            let milliseconds = fenceTimeoutNanoseconds / 1_000_000
            let error = TensorError.deviceFailure(
                device: deviceName,
                reason: "vkWaitForFences: VK_TIMEOUT: queued work did not finish within \(milliseconds) ms "
                    + "(a shader that does not end?; the limit is VulkanDevice.fenceTimeout or "
                    + "TENSOR_VULKAN_FENCE_TIMEOUT_MS); the device refuses further work")
            failure = error
            throw error
        }
        frame.inFlight = false
        frame.retained.removeAll()
        guard result == VK_SUCCESS else { throw fail("vkWaitForFences", result) }
        completedSerial = max(completedSerial, frame.serial)
    }

    /// After a failure: waits up to `timeout` nanoseconds for the batches still in flight.
    /// True when none is left running (their buffers are then released), false when the
    /// queue still runs one (its objects must not be destroyed).
    func drain(timeout: UInt64) -> Bool {
        for frame in frames where frame.inFlight {
            var fenceOptional: VkFence? = frame.fence
            let result = functions.waitForFences(device, 1, &fenceOptional, 1, timeout)
            if result == VK_TIMEOUT { return false }
            frame.inFlight = false   // done, or the device is lost: nothing runs any more
            frame.retained.removeAll()
        }
        return true
    }

    /// Waits until the batch `serial` (and every earlier one) has completed, submitting it first if needed.
    func wait(serial: UInt64) throws(TensorError) {
        if let failure { throw failure }
        if serial <= completedSerial { return }
        if recording, serial >= frames[current].serial { try submit() }
        for frame in frames.filter({ $0.inFlight && $0.serial <= serial }).sorted(by: { $0.serial < $1.serial }) {
            try wait(frame)
        }
    }

    /// Submits everything recorded and waits for all of it.
    func finish() throws(TensorError) {
        if let failure { throw failure }
        try submit()
        for frame in frames.filter(\.inFlight).sorted(by: { $0.serial < $1.serial }) { try wait(frame) }
    }

    /// Waits for the work in flight (errors ignored: the device is going away), releases the
    /// retained buffers and destroys the descriptor pools, fences and command pool (which
    /// frees the command buffers). Every later call throws `error`.
    func close(_ error: TensorError) {
        if failure == nil {
            _ = try? submit()
            for frame in frames where frame.inFlight { _ = try? wait(frame) }
        }
        failure = error
        recording = false
        for frame in frames {
            for pool in frame.pools { functions.destroyDescriptorPool(device, pool, nil) }
            frame.pools.removeAll()
            frame.retained.removeAll()
            frame.inFlight = false
            functions.destroyFence(device, frame.fence, nil)
        }
        functions.destroyCommandPool(device, pool, nil)
    }

    private func fail(_ call: String, _ result: VkResult) -> TensorError {
        let error: TensorError
        if result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY {
            error = .outOfMemory(device: deviceName, bytes: 0, reason: "\(call): \(resultName(result))")
        } else {
            error = .deviceFailure(device: deviceName, reason: "\(call): \(resultName(result))")
        }
        if result == VK_ERROR_DEVICE_LOST {
            failure = .deviceFailure(device: deviceName,
                                     reason: "\(call): VK_ERROR_DEVICE_LOST: the device was lost; it refuses further work")
            return failure!
        }
        return error
    }
}
