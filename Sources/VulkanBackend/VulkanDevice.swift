import CVulkan
import Foundation
import TensorCore

/// One opened Vulkan device: a ``Backend`` that runs every op as GLSL compute shaders.
///
/// Get one from ``VulkanRuntime/device(index:)`` (one instance per physical device).
/// Ops are recorded into command buffers and run asynchronously; ``read(_:into:)`` and
/// ``synchronize()`` wait, and report any failure of the queued work.
///
/// Teardown: when the last reference goes (or its runtime is shut down, see
/// ``VulkanRuntime/shutdownShared()``) the device waits for its work, then destroys its
/// Vulkan objects in the reverse order of their creation: pipelines and their layouts,
/// shader modules, command pool and fences, memory blocks, staging buffer, `VkDevice`.
/// A device keeps its runtime (and so the `VkInstance`) alive. After a shutdown every op
/// throws `deviceFailure`; buffers that outlive the device are inert.
///
/// `@unchecked Sendable`: the Vulkan handles are immutable after `init`; the command
/// stream, pipeline cache, staging buffer, `isClosed` and every buffer's hazard state are
/// touched only with `lock` held; the allocator and the few-bit table cache have their own locks.
public final class VulkanDevice: Backend, @unchecked Sendable {
    /// What the driver reports about the device.
    public let info: VulkanDeviceInfo
    /// Fast paths in use: the supported ones minus the TENSOR_VULKAN_NO_* switches.
    public let enabledFeatures: VulkanFeatures
    let runtime: VulkanRuntime
    let physical: PhysicalDeviceDetails
    let handle: VkDevice
    let functions: DeviceFunctions
    let allocator: VulkanAllocator
    let lock = NSLock()
    let stream: CommandStream
    let pipelines: PipelineCache
    let maxGroupCount: (x: Int, y: Int, z: Int)
    /// Host-visible staging buffer for devices whose storage memory is not mapped.
    let staging: StagingBuffer?
    /// vkCmdPushDescriptorSetKHR when push descriptors are in use; descriptor pools otherwise.
    let pushDescriptorSet: PFN_vkCmdPushDescriptorSetKHR?
    /// A small buffer bound to descriptor slots a dispatch does not use. Only slots the
    /// shader never writes: synchronization validation judges the unspecialised shader, so
    /// a slot written even under a switched-off constant would make it look written (the
    /// matmul epilogue binds its own output there instead; see `matmul`).
    private(set) var placeholder: VulkanBuffer!
    /// Few-bit tables uploaded to this device.
    let fewBitTables = FewBitTableBuffers()
    /// Set once by ``close()`` (lock held).
    private var isClosed = false

    /// The driver's device name.
    public var name: String { info.name }
    /// Always `.vulkan`.
    public var kind: DeviceKind { .vulkan }
    /// One line: device, type, driver, Vulkan version, subgroup size, memory path, enabled fast paths.
    public var details: String {
        "\(info.name) (\(info.type.rawValue), \(info.driverName) \(info.driverVersion), Vulkan \(info.apiVersion), "
            + "subgroup \(info.subgroupSize), \(allocator.hostVisible ? "host-visible memory" : "device-local memory + staging")"
            + (enabledFeatures.isEmpty ? "" : ", \(enabledFeatures)") + ")"
    }

    init(runtime: VulkanRuntime, physical: PhysicalDeviceDetails) throws(TensorError) {
        guard physical.info.isUsable, let queueFamily = physical.computeQueueFamily else {
            throw .backendUnavailable(backend: "Vulkan",
                                      reason: "\(physical.info.name): \(physical.info.unusableReason ?? "unusable")")
        }
        self.runtime = runtime
        self.physical = physical
        self.info = physical.info
        var features = physical.info.supportedFeatures.applyingEnvironmentSwitches()
            .subtracting(runtime.options.disabledFeatures)
        let limits = physical.properties.limits
        maxGroupCount = (Int(limits.maxComputeWorkGroupCount.0), Int(limits.maxComputeWorkGroupCount.1),
                         Int(limits.maxComputeWorkGroupCount.2))

        var priority: Float = 1
        var storage16 = VkPhysicalDevice16BitStorageFeatures()
        storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
        storage16.storageBuffer16BitAccess = features.contains(.fp16Storage) ? 1 : 0
        var created: VkDevice?
        let extensionNames = features.contains(.pushDescriptors) ? ["VK_KHR_push_descriptor"] : []
        let extensionPointers = extensionNames.map { UnsafePointer(strdup($0)) }
        defer { for name in extensionPointers { free(UnsafeMutablePointer(mutating: name)) } }
        let result = withUnsafePointer(to: &priority) { priorityPointer in
            withUnsafeMutablePointer(to: &storage16) { storagePointer in
                var queueInfo = VkDeviceQueueCreateInfo()
                queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                queueInfo.queueFamilyIndex = queueFamily
                queueInfo.queueCount = 1
                queueInfo.pQueuePriorities = priorityPointer
                return withUnsafePointer(to: &queueInfo) { queuePointer in
                    extensionPointers.withUnsafeBufferPointer { extensionList in
                        var info = VkDeviceCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                        info.pNext = UnsafeRawPointer(storagePointer)
                        info.queueCreateInfoCount = 1
                        info.pQueueCreateInfos = queuePointer
                        info.enabledExtensionCount = UInt32(extensionPointers.count)
                        info.ppEnabledExtensionNames = extensionList.baseAddress
                        return runtime.functions.createDevice(physical.handle, &info, nil, &created)
                    }
                }
            }
        }
        guard result == VK_SUCCESS, let created else {
            throw .backendUnavailable(backend: "Vulkan",
                                      reason: "\(physical.info.name): vkCreateDevice failed: \(resultName(result))")
        }
        handle = created
        // Until every stored property is set, a throw skips deinit: undo what exists here.
        var createdStream: CommandStream?
        do throws(TensorError) {
            functions = try DeviceFunctions(instance: runtime.functions, device: created)
            if features.contains(.pushDescriptors), let raw = runtime.functions.getDeviceProcAddr(created, "vkCmdPushDescriptorSetKHR") {
                pushDescriptorSet = unsafeBitCast(raw, to: PFN_vkCmdPushDescriptorSetKHR.self)
            } else {
                pushDescriptorSet = nil
                features.remove(.pushDescriptors)
            }
            var queue: VkQueue?
            functions.getDeviceQueue(created, queueFamily, 0, &queue)
            guard let queue else {
                throw .backendUnavailable(backend: "Vulkan", reason: "\(physical.info.name): no queue")
            }

            let memoryChoice = try Self.chooseMemory(physical, functions: functions, device: created,
                                                      forceStaging: runtime.options.forceStaging)
            if !memoryChoice.hostVisible { features.remove(.hostVisibleDeviceMemory) }
            enabledFeatures = features
            allocator = VulkanAllocator(
                functions: functions, device: created, deviceName: physical.info.name,
                memoryTypeIndex: memoryChoice.storageType, hostVisible: memoryChoice.hostVisible,
                alignment: max(Int(limits.minStorageBufferOffsetAlignment), 16),
                maxAllocation: physical.maxMemoryAllocationSize,
                maxRange: Int(limits.maxStorageBufferRange), heapSize: memoryChoice.heapSize)
            let newStream = try CommandStream(functions: functions, device: created, queue: queue,
                                              queueFamily: queueFamily, deviceName: physical.info.name)
            stream = newStream
            createdStream = newStream
            pipelines = PipelineCache(functions: functions, device: created, deviceName: physical.info.name,
                                      pushDescriptors: pushDescriptorSet != nil)
            if memoryChoice.hostVisible {
                staging = nil
            } else {
                staging = try StagingBuffer(functions: functions, device: created, deviceName: physical.info.name,
                                            memoryTypeIndex: memoryChoice.stagingType)
            }
        } catch {
            createdStream?.close(error)
            Self.destroyUnfinished(created, runtime: runtime)
            throw error
        }
        placeholder = try VulkanBuffer(elementCount: 4, allocator: allocator)
    }

    deinit {
        close()
    }

    /// Destroys a `VkDevice` whose ``init(runtime:physical:)`` failed after creating it
    /// (its own function table may be what failed to load).
    private static func destroyUnfinished(_ device: VkDevice, runtime: VulkanRuntime) {
        guard let raw = runtime.functions.getDeviceProcAddr(device, "vkDestroyDevice") else { return }
        unsafeBitCast(raw, to: PFN_vkDestroyDevice.self)(device, nil)
    }

    /// Waits for the queued work, then destroys every Vulkan object of the device in the
    /// reverse order of creation. With `destroyingObjects` false (the exit hook) it only marks
    /// the device closed: work not yet submitted is abandoned, since nothing can read its
    /// results any more, and nothing is waited for or destroyed (see
    /// ``VulkanRuntime/shutdownShared()``). Idempotent; later ops throw `deviceFailure`.
    func close(destroyingObjects: Bool = true) {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { return }
        isClosed = true
        guard destroyingObjects else { return }
        // Errors are ignored: whatever failed, the device is going away.
        try? stream.finish()
        if stream.timedOut {
            // A batch outlived the fence timeout: give it one more timeout, then abandon the
            // device rather than block on a queue that may never drain (vkDeviceWaitIdle and
            // vkDestroyDevice would). Its objects and the runtime's instance are leaked.
            guard stream.drain(timeout: stream.fenceTimeoutNanoseconds) else {
                _ = Unmanaged.passRetained(runtime)
                return
            }
        }
        _ = functions.deviceWaitIdle(handle)
        pipelines.destroy()
        stream.close(closedError)
        fewBitTables.removeAll()
        allocator.close()
        staging?.destroy()
        functions.destroyDevice(handle, nil)
    }

    /// Why ops fail after ``close()``.
    var closedError: TensorError {
        .deviceFailure(device: info.name, reason: "the device has been closed (its Vulkan runtime was shut down)")
    }

    /// Throws ``closedError`` after ``close()``, and the stream's failure after a lost device
    /// or a fence timeout; call with `lock` held.
    func ensureOpen() throws(TensorError) {
        if isClosed { throw closedError }
        if let failure = stream.failure { throw failure }
    }

    /// How long the device may take to finish queued work before a wait for it (``synchronize()``,
    /// a read, a full command buffer) gives up with `TensorError.deviceFailure`.
    ///
    /// A shader that never ends would otherwise hang the caller forever. After a timeout (or a
    /// lost device, `VK_ERROR_DEVICE_LOST`) the device refuses every further op with the same
    /// error, saying why; other devices (the CPU) are unaffected. Open a new
    /// ``VulkanRuntime`` to use the GPU again. Closing such a device waits one more timeout for
    /// the queue, then abandons (leaks) its Vulkan objects rather than block.
    ///
    /// Default: `TENSOR_VULKAN_FENCE_TIMEOUT_MS` milliseconds when set, else 60 seconds.
    ///
    /// ```swift
    /// let gpu = try VulkanRuntime.device(index: 0)
    /// gpu.fenceTimeout = .seconds(5)
    /// do { try gpu.synchronize() } catch { print(error) }   // "... VK_TIMEOUT ... refuses further work"
    /// ```
    public var fenceTimeout: Duration {
        get {
            lock.lock()
            defer { lock.unlock() }
            return .nanoseconds(Int64(clamping: stream.fenceTimeoutNanoseconds))
        }
        set {
            // Whole nanoseconds, at least 1; a negative duration counts as 1 ns, a huge one saturates.
            let (seconds, attoseconds) = newValue.components
            let whole = max(0, seconds).multipliedReportingOverflow(by: 1_000_000_000)
            let sum = whole.partialValue.addingReportingOverflow(max(0, attoseconds) / 1_000_000_000)
            let nanoseconds = whole.overflow || sum.overflow ? Int64.max : max(1, sum.partialValue)
            lock.lock()
            defer { lock.unlock() }
            stream.fenceTimeoutNanoseconds = UInt64(nanoseconds)
        }
    }

    // MARK: - Buffers and transfers

    /// A buffer of `byteCount` bytes (whole 4-byte words reserved) from the block
    /// suballocator (0 allowed); throws `outOfMemory` past maxStorageBufferRange or when the
    /// device is full.
    public func makeBuffer(byteCount: Int) throws(TensorError) -> any BackendBuffer {
        try VulkanBuffer(byteCount: byteCount, allocator: allocator)
    }

    /// The concrete buffer behind a protocol value; a buffer of another device is a caller bug.
    func buffer(_ buffer: any BackendBuffer, _ op: String) throws(TensorError) -> VulkanBuffer {
        guard let vulkan = buffer as? VulkanBuffer, vulkan.allocator === allocator else {
            throw .deviceMismatch(op: op, lhs: name, rhs: "\(type(of: buffer))")
        }
        return vulkan
    }

    /// Submits everything recorded and waits for it; throws any deferred device failure.
    public func synchronize() throws(TensorError) {
        lock.lock()
        defer { lock.unlock() }
        try ensureOpen()
        try stream.finish()
    }

    /// Dispatch, barrier and submission counters since the device was opened.
    public var statistics: VulkanStreamStatistics {
        lock.lock()
        defer { lock.unlock() }
        return stream.statistics
    }

    /// Bytes of device memory the allocator holds (blocks, not live buffers).
    public var reservedMemoryBytes: Int { allocator.reservedBytes }

    /// Bytes of live buffers, their peak since the last reset, and the free parts of the
    /// allocator's blocks.
    ///
    /// ```swift
    /// print(gpu.memoryStatistics()?.peakLiveBytes ?? 0)
    /// ```
    public func memoryStatistics() -> MemoryStatistics? { allocator.statistics }

    /// Starts a new peak of live bytes.
    ///
    /// ```swift
    /// gpu.resetPeakMemoryStatistics()
    /// ```
    public func resetPeakMemoryStatistics() { allocator.resetPeak() }

    /// Frees the empty memory block the allocator keeps for reuse.
    ///
    /// ```swift
    /// gpu.releaseCachedMemory()
    /// ```
    public func releaseCachedMemory() { allocator.releaseEmptyBlocks() }

    /// The validation messages recorded so far by this device's runtime (then cleared).
    public func drainValidationMessages() -> [VulkanValidationMessage] {
        runtime.drainValidationMessages()
    }
}
