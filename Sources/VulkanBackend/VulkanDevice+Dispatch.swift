import CVulkan
import TensorCore

extension VulkanDevice {
    /// Records one compute dispatch: barrier if needed, pipeline, descriptors, push constants.
    func dispatch(_ shader: Shader, constants: SpecConstants = SpecConstants(),
                  buffers: [(VulkanBuffer, Access)], push: PushConstants,
                  groups: (x: Int, y: Int, z: Int)) throws(TensorError) {
        precondition(buffers.count == shader.bindingCount, "\(shader): wrong number of bindings")
        guard groups.x > 0, groups.y > 0, groups.z > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        try ensureOpen()
        let pipeline = try pipelines.pipeline(shader, constants)
        try stream.track(buffers)
        let commandBuffer = try stream.begin()
        let pushDescriptors = pushDescriptorSet
        var set: VkDescriptorSet?
        if pushDescriptors == nil { set = try stream.descriptorSet(layout: pipeline.setLayout) }
        withUnsafeTemporaryAllocation(of: VkDescriptorBufferInfo.self, capacity: buffers.count) { infos in
            withUnsafeTemporaryAllocation(of: VkWriteDescriptorSet.self, capacity: buffers.count) { writes in
                for (index, (buffer, _)) in buffers.enumerated() {
                    infos[index] = VkDescriptorBufferInfo(buffer: buffer.block.buffer, offset: VkDeviceSize(buffer.offset),
                                                          range: VkDeviceSize(min(buffer.size, allocator.maxRange)))
                    var write = VkWriteDescriptorSet()
                    write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                    write.dstSet = set
                    write.dstBinding = UInt32(index)
                    write.descriptorCount = 1
                    write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                    write.pBufferInfo = UnsafePointer(infos.baseAddress! + index)
                    writes[index] = write
                }
                if let pushDescriptors {
                    pushDescriptors(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0,
                                    UInt32(buffers.count), writes.baseAddress)
                } else {
                    functions.updateDescriptorSets(handle, UInt32(buffers.count), writes.baseAddress, 0, nil)
                }
            }
        }
        functions.cmdBindPipeline(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline)
        if let set {
            var setOptional: VkDescriptorSet? = set
            functions.cmdBindDescriptorSets(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout,
                                            0, 1, &setOptional, 0, nil)
        }
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
