import CVulkan
import TensorCore

/// Compute pipelines, created once per (shader, specialisation constants) and kept.
///
/// Used only with the device lock held. `@unchecked Sendable`: see that lock.
final class PipelineCache: @unchecked Sendable {
    /// Every specialisation constant is part of the key: the matmul kernels' epilogue outputs
    /// (pre-activation, few-bit codes) are constants of one module, so each combination is a
    /// pipeline of its own, with the unused stores folded away when the driver creates it.
    struct Key: Hashable {
        var shader: Shader
        var constants: SpecConstants
    }

    struct Pipeline {
        let pipeline: VkPipeline
        let layout: VkPipelineLayout
        let setLayout: VkDescriptorSetLayout
    }

    static let pushConstantBytes = 128

    let functions: DeviceFunctions
    let device: VkDevice
    let deviceName: String
    private var modules: [Shader: VkShaderModule] = [:]
    private var layouts: [Int: (set: VkDescriptorSetLayout, pipeline: VkPipelineLayout)] = [:]
    private var pipelines: [Key: Pipeline] = [:]

    /// Descriptor set layouts are made for VK_KHR_push_descriptor.
    let pushDescriptors: Bool

    init(functions: DeviceFunctions, device: VkDevice, deviceName: String, pushDescriptors: Bool) {
        self.functions = functions
        self.device = device
        self.deviceName = deviceName
        self.pushDescriptors = pushDescriptors
    }

    func pipeline(_ shader: Shader, _ constants: SpecConstants) throws(TensorError) -> Pipeline {
        let key = Key(shader: shader, constants: constants)
        if let found = pipelines[key] { return found }
        let module = try self.module(shader)
        let (setLayout, layout) = try self.layout(bindings: shader.bindingCount)

        var entries: [VkSpecializationMapEntry] = []
        var data: [UInt32] = []
        for index in 0..<constants.count {
            entries.append(VkSpecializationMapEntry(constantID: constants.ids[index],
                                                    offset: UInt32(index * 4), size: 4))
            data.append(constants.values[index])
        }
        var created: VkPipeline?
        let result: VkResult = entries.withUnsafeBufferPointer { entryPointer in
            data.withUnsafeBytes { dataPointer in
                var specialization = VkSpecializationInfo(
                    mapEntryCount: UInt32(entries.count), pMapEntries: entryPointer.baseAddress,
                    dataSize: dataPointer.count, pData: dataPointer.baseAddress)
                return "main".withCString { entryName in
                    withUnsafePointer(to: &specialization) { specializationPointer in
                        var stage = VkPipelineShaderStageCreateInfo()
                        stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                        stage.module = module
                        stage.pName = entryName
                        stage.pSpecializationInfo = entries.isEmpty ? nil : specializationPointer
                        var info = VkComputePipelineCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                        info.stage = stage
                        info.layout = layout
                        return functions.createComputePipelines(device, nil, 1, &info, nil, &created)
                    }
                }
            }
        }
        guard result == VK_SUCCESS, let created else {
            throw .deviceFailure(device: deviceName,
                                 reason: "cannot create the \(shader) pipeline: \(resultName(result))")
        }
        let pipeline = Pipeline(pipeline: created, layout: layout, setLayout: setLayout)
        pipelines[key] = pipeline
        return pipeline
    }

    /// Destroys every pipeline, then the pipeline layouts, descriptor set layouts and shader
    /// modules (the reverse of their creation); the device must be idle.
    func destroy() {
        for pipeline in pipelines.values { functions.destroyPipeline(device, pipeline.pipeline, nil) }
        for layout in layouts.values { functions.destroyPipelineLayout(device, layout.pipeline, nil) }
        for layout in layouts.values { functions.destroyDescriptorSetLayout(device, layout.set, nil) }
        for module in modules.values { functions.destroyShaderModule(device, module, nil) }
        pipelines.removeAll()
        layouts.removeAll()
        modules.removeAll()
    }

    private func module(_ shader: Shader) throws(TensorError) -> VkShaderModule {
        if let found = modules[shader] { return found }
        let code = shader.code
        var module: VkShaderModule?
        let result = code.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * 4
            info.pCode = words.baseAddress
            return functions.createShaderModule(device, &info, nil, &module)
        }
        guard result == VK_SUCCESS, let module else {
            throw .deviceFailure(device: deviceName, reason: "cannot load shader \(shader): \(resultName(result))")
        }
        modules[shader] = module
        return module
    }

    private func layout(bindings count: Int) throws(TensorError) -> (VkDescriptorSetLayout, VkPipelineLayout) {
        if let found = layouts[count] { return (found.set, found.pipeline) }
        var bindings: [VkDescriptorSetLayoutBinding] = (0..<count).map { index in
            VkDescriptorSetLayoutBinding(binding: UInt32(index), descriptorType: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                         descriptorCount: 1, stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue,
                                         pImmutableSamplers: nil)
        }
        var setLayout: VkDescriptorSetLayout?
        var result = bindings.withUnsafeMutableBufferPointer { pointer in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            if pushDescriptors { info.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR.rawValue }
            info.bindingCount = UInt32(count)
            info.pBindings = UnsafePointer(pointer.baseAddress)
            return functions.createDescriptorSetLayout(device, &info, nil, &setLayout)
        }
        guard result == VK_SUCCESS, let setLayout else {
            throw .deviceFailure(device: deviceName, reason: "vkCreateDescriptorSetLayout: \(resultName(result))")
        }
        var range = VkPushConstantRange(stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue, offset: 0,
                                        size: UInt32(Self.pushConstantBytes))
        var pipelineLayout: VkPipelineLayout?
        var setLayoutOptional: VkDescriptorSetLayout? = setLayout
        result = withUnsafePointer(to: &range) { rangePointer in
            withUnsafePointer(to: &setLayoutOptional) { setPointer in
                var info = VkPipelineLayoutCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
                info.setLayoutCount = 1
                info.pSetLayouts = setPointer
                info.pushConstantRangeCount = 1
                info.pPushConstantRanges = rangePointer
                return functions.createPipelineLayout(device, &info, nil, &pipelineLayout)
            }
        }
        guard result == VK_SUCCESS, let pipelineLayout else {
            throw .deviceFailure(device: deviceName, reason: "vkCreatePipelineLayout: \(resultName(result))")
        }
        layouts[count] = (setLayout, pipelineLayout)
        return (setLayout, pipelineLayout)
    }
}
