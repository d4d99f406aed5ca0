import CVulkan
import Foundation
import TensorCore

/// One opened Vulkan device: a ``Backend`` that runs every op as GLSL compute shaders.
///
/// Get one from ``VulkanRuntime/device(index:)`` (one instance per physical device).
/// Ops are recorded into command buffers and run asynchronously; ``read(_:into:)`` and
/// ``synchronize()`` wait, and report any failure of the queued work.
///
/// `@unchecked Sendable`: the Vulkan handles are immutable after `init`; the command
/// stream, pipeline cache, staging buffer and every buffer's hazard state are touched
/// only with `lock` held; the allocator has its own lock.
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
    /// A small buffer bound to descriptor slots a kernel variant does not use.
    private(set) var placeholder: VulkanBuffer!

    public var name: String { info.name }
    public var kind: DeviceKind { .vulkan }
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
        let limits = physical.properties.limits
        maxGroupCount = (Int(limits.maxComputeWorkGroupCount.0), Int(limits.maxComputeWorkGroupCount.1),
                         Int(limits.maxComputeWorkGroupCount.2))

        var priority: Float = 1
        var storage16 = VkPhysicalDevice16BitStorageFeatures()
        storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
        storage16.storageBuffer16BitAccess = features.contains(.fp16Storage) ? 1 : 0
        var created: VkDevice?
        let result = withUnsafePointer(to: &priority) { priorityPointer in
            withUnsafeMutablePointer(to: &storage16) { storagePointer in
                var queueInfo = VkDeviceQueueCreateInfo()
                queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                queueInfo.queueFamilyIndex = queueFamily
                queueInfo.queueCount = 1
                queueInfo.pQueuePriorities = priorityPointer
                return withUnsafePointer(to: &queueInfo) { queuePointer in
                    var info = VkDeviceCreateInfo()
                    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                    info.pNext = UnsafeRawPointer(storagePointer)
                    info.queueCreateInfoCount = 1
                    info.pQueueCreateInfos = queuePointer
                    return runtime.functions.createDevice(physical.handle, &info, nil, &created)
                }
            }
        }
        guard result == VK_SUCCESS, let created else {
            throw .backendUnavailable(backend: "Vulkan",
                                      reason: "\(physical.info.name): vkCreateDevice failed: \(resultName(result))")
        }
        handle = created
        functions = try DeviceFunctions(instance: runtime.functions, device: created)
        var queue: VkQueue?
        functions.getDeviceQueue(created, queueFamily, 0, &queue)
        guard let queue else {
            throw .backendUnavailable(backend: "Vulkan", reason: "\(physical.info.name): no queue")
        }

        let memoryChoice = try Self.chooseMemory(physical, functions: functions, device: created)
        if !memoryChoice.hostVisible { features.remove(.hostVisibleDeviceMemory) }
        enabledFeatures = features
        allocator = VulkanAllocator(
            functions: functions, device: created, deviceName: physical.info.name,
            memoryTypeIndex: memoryChoice.storageType, hostVisible: memoryChoice.hostVisible,
            alignment: max(Int(limits.minStorageBufferOffsetAlignment), 16),
            maxAllocation: physical.maxMemoryAllocationSize,
            maxRange: Int(limits.maxStorageBufferRange), heapSize: memoryChoice.heapSize)
        stream = try CommandStream(functions: functions, device: created, queue: queue,
                                   queueFamily: queueFamily, deviceName: physical.info.name)
        pipelines = PipelineCache(functions: functions, device: created, deviceName: physical.info.name)
        if memoryChoice.hostVisible {
            staging = nil
        } else {
            staging = try StagingBuffer(functions: functions, device: created, deviceName: physical.info.name,
                                        memoryTypeIndex: memoryChoice.stagingType)
        }
        placeholder = try VulkanBuffer(elementCount: 4, allocator: allocator, device: ObjectIdentifier(self))
    }

    /// Picks the memory type of storage buffers (and of staging when they are not mappable).
    private static func chooseMemory(_ physical: PhysicalDeviceDetails, functions: DeviceFunctions,
                                     device: VkDevice) throws(TensorError)
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
        if !environmentFlag("TENSOR_VULKAN_FORCE_STAGING"), let type = find(deviceLocal | hostCoherent),
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

    // MARK: - Buffers and transfers

    public func makeBuffer(elementCount: Int) throws(TensorError) -> any BackendBuffer {
        try VulkanBuffer(elementCount: elementCount, allocator: allocator, device: ObjectIdentifier(self))
    }

    /// The concrete buffer behind a protocol value; a buffer of another device is a caller bug.
    func buffer(_ buffer: any BackendBuffer, _ op: String) throws(TensorError) -> VulkanBuffer {
        guard let vulkan = buffer as? VulkanBuffer, vulkan.deviceIdentity == ObjectIdentifier(self) else {
            throw .deviceMismatch(op: op, lhs: name, rhs: "\(type(of: buffer))")
        }
        return vulkan
    }

    public func write(_ source: UnsafeRawBufferPointer, to buffer: any BackendBuffer) throws(TensorError) {
        let target = try self.buffer(buffer, "write")
        guard source.count <= target.size else {
            throw .invalidArgument(op: "write", reason: "\(source.count) bytes into a buffer of \(target.elementCount * 4)")
        }
        guard source.count > 0, let base = source.baseAddress else { return }
        lock.lock()
        defer { lock.unlock() }
        if let address = target.hostAddress {
            try stream.wait(serial: target.lastSerial)
            address.copyMemory(from: base, byteCount: source.count)
        } else if let staging {
            try staging.upload(source, to: target, stream: stream)
        }
    }

    public func read(_ buffer: any BackendBuffer, into destination: UnsafeMutableRawBufferPointer) throws(TensorError) {
        let source = try self.buffer(buffer, "read")
        guard destination.count <= source.size else {
            throw .invalidArgument(op: "read", reason: "\(destination.count) bytes from a buffer of \(source.elementCount * 4)")
        }
        lock.lock()
        defer { lock.unlock() }
        try stream.wait(serial: source.lastSerial)
        guard destination.count > 0, let base = destination.baseAddress else { return }
        if let address = source.hostAddress {
            base.copyMemory(from: address, byteCount: destination.count)
        } else if let staging {
            try staging.download(source, into: destination, stream: stream)
        }
    }

    public func synchronize() throws(TensorError) {
        lock.lock()
        defer { lock.unlock() }
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

    /// The validation messages recorded so far by this device's runtime (then cleared).
    public func drainValidationMessages() -> [VulkanValidationMessage] {
        runtime.drainValidationMessages()
    }

    // MARK: - Dispatch

    /// Records one compute dispatch: barrier if needed, pipeline, descriptors, push constants.
    func dispatch(_ shader: Shader, constants: SpecConstants = SpecConstants(),
                  buffers: [(VulkanBuffer, Access)], push: PushConstants,
                  groups: (x: Int, y: Int, z: Int)) throws(TensorError) {
        precondition(buffers.count == shader.bindingCount, "\(shader): wrong number of bindings")
        guard groups.x > 0, groups.y > 0, groups.z > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        let pipeline = try pipelines.pipeline(shader, constants)
        try stream.track(buffers)
        let commandBuffer = try stream.begin()
        let set = try stream.descriptorSet(layout: pipeline.setLayout)
        withUnsafeTemporaryAllocation(of: VkDescriptorBufferInfo.self, capacity: buffers.count) { infos in
            withUnsafeTemporaryAllocation(of: VkWriteDescriptorSet.self, capacity: buffers.count) { writes in
                for (index, (buffer, _)) in buffers.enumerated() {
                    infos[index] = VkDescriptorBufferInfo(buffer: buffer.block.buffer, offset: VkDeviceSize(buffer.offset),
                                                          range: VkDeviceSize(buffer.size))
                    var write = VkWriteDescriptorSet()
                    write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                    write.dstSet = set
                    write.dstBinding = UInt32(index)
                    write.descriptorCount = 1
                    write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                    write.pBufferInfo = UnsafePointer(infos.baseAddress! + index)
                    writes[index] = write
                }
                functions.updateDescriptorSets(handle, UInt32(buffers.count), writes.baseAddress, 0, nil)
            }
        }
        functions.cmdBindPipeline(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline)
        var setOptional: VkDescriptorSet? = set
        functions.cmdBindDescriptorSets(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout,
                                        0, 1, &setOptional, 0, nil)
        if push.count > 0 {
            var words = push.words
            withUnsafeBytes(of: &words) { raw in
                functions.cmdPushConstants(commandBuffer, pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue,
                                           0, UInt32(push.count * 4), raw.baseAddress)
            }
        }
        functions.cmdDispatch(commandBuffer, UInt32(min(groups.x, maxGroupCount.x)),
                              UInt32(min(groups.y, maxGroupCount.y)), UInt32(min(groups.z, maxGroupCount.z)))
        try stream.didDispatch()
    }

    /// Workgroups for a 1-D elementwise kernel of 256 invocations (the kernels loop past the limit).
    func elementwiseGroups(_ count: Int) -> (x: Int, y: Int, z: Int) {
        (min((count + 255) / 256, maxGroupCount.x), 1, 1)
    }
}
