import CVulkan
import TensorCore

// Function tables in the volk pattern: every entry point is looked up once, then called
// through these structs. C function pointers capture nothing, so the tables are Sendable.

/// Entry points available before an instance exists.
struct GlobalFunctions: Sendable {
    let createInstance: PFN_vkCreateInstance
    let enumerateInstanceLayerProperties: PFN_vkEnumerateInstanceLayerProperties
    let enumerateInstanceExtensionProperties: PFN_vkEnumerateInstanceExtensionProperties

    init(loader: VulkanLoader) throws(TensorError) {
        let get = loader.getInstanceProcAddr
        createInstance = try vulkanFunction(get(nil, "vkCreateInstance"), "vkCreateInstance")
        enumerateInstanceLayerProperties = try vulkanFunction(get(nil, "vkEnumerateInstanceLayerProperties"), "vkEnumerateInstanceLayerProperties")
        enumerateInstanceExtensionProperties = try vulkanFunction(get(nil, "vkEnumerateInstanceExtensionProperties"), "vkEnumerateInstanceExtensionProperties")
    }
}

/// Entry points of one `VkInstance`.
struct InstanceFunctions: Sendable {
    let destroyInstance: PFN_vkDestroyInstance
    let enumeratePhysicalDevices: PFN_vkEnumeratePhysicalDevices
    let getPhysicalDeviceProperties: PFN_vkGetPhysicalDeviceProperties
    let getPhysicalDeviceProperties2: PFN_vkGetPhysicalDeviceProperties2
    let getPhysicalDeviceFeatures2: PFN_vkGetPhysicalDeviceFeatures2
    let getPhysicalDeviceMemoryProperties: PFN_vkGetPhysicalDeviceMemoryProperties
    let getPhysicalDeviceQueueFamilyProperties: PFN_vkGetPhysicalDeviceQueueFamilyProperties
    let enumerateDeviceExtensionProperties: PFN_vkEnumerateDeviceExtensionProperties
    let createDevice: PFN_vkCreateDevice
    let getDeviceProcAddr: PFN_vkGetDeviceProcAddr

    init(loader: VulkanLoader, instance: VkInstance) throws(TensorError) {
        let get = loader.getInstanceProcAddr
        destroyInstance = try vulkanFunction(get(instance, "vkDestroyInstance"), "vkDestroyInstance")
        enumeratePhysicalDevices = try vulkanFunction(get(instance, "vkEnumeratePhysicalDevices"), "vkEnumeratePhysicalDevices")
        getPhysicalDeviceProperties = try vulkanFunction(get(instance, "vkGetPhysicalDeviceProperties"), "vkGetPhysicalDeviceProperties")
        getPhysicalDeviceProperties2 = try vulkanFunction(get(instance, "vkGetPhysicalDeviceProperties2"), "vkGetPhysicalDeviceProperties2")
        getPhysicalDeviceFeatures2 = try vulkanFunction(get(instance, "vkGetPhysicalDeviceFeatures2"), "vkGetPhysicalDeviceFeatures2")
        getPhysicalDeviceMemoryProperties = try vulkanFunction(get(instance, "vkGetPhysicalDeviceMemoryProperties"), "vkGetPhysicalDeviceMemoryProperties")
        getPhysicalDeviceQueueFamilyProperties = try vulkanFunction(get(instance, "vkGetPhysicalDeviceQueueFamilyProperties"), "vkGetPhysicalDeviceQueueFamilyProperties")
        enumerateDeviceExtensionProperties = try vulkanFunction(get(instance, "vkEnumerateDeviceExtensionProperties"), "vkEnumerateDeviceExtensionProperties")
        createDevice = try vulkanFunction(get(instance, "vkCreateDevice"), "vkCreateDevice")
        getDeviceProcAddr = try vulkanFunction(get(instance, "vkGetDeviceProcAddr"), "vkGetDeviceProcAddr")
    }
}

/// Entry points of one `VkDevice`, loaded through `vkGetDeviceProcAddr` (no loader trampoline).
struct DeviceFunctions: Sendable {
    let getDeviceQueue: PFN_vkGetDeviceQueue
    let deviceWaitIdle: PFN_vkDeviceWaitIdle
    let allocateMemory: PFN_vkAllocateMemory
    let freeMemory: PFN_vkFreeMemory
    let mapMemory: PFN_vkMapMemory
    let createBuffer: PFN_vkCreateBuffer
    let destroyBuffer: PFN_vkDestroyBuffer
    let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
    let bindBufferMemory: PFN_vkBindBufferMemory
    let createShaderModule: PFN_vkCreateShaderModule
    let destroyShaderModule: PFN_vkDestroyShaderModule
    let createDescriptorSetLayout: PFN_vkCreateDescriptorSetLayout
    let createPipelineLayout: PFN_vkCreatePipelineLayout
    let createComputePipelines: PFN_vkCreateComputePipelines
    let createDescriptorPool: PFN_vkCreateDescriptorPool
    let resetDescriptorPool: PFN_vkResetDescriptorPool
    let allocateDescriptorSets: PFN_vkAllocateDescriptorSets
    let updateDescriptorSets: PFN_vkUpdateDescriptorSets
    let createCommandPool: PFN_vkCreateCommandPool
    let allocateCommandBuffers: PFN_vkAllocateCommandBuffers
    let resetCommandBuffer: PFN_vkResetCommandBuffer
    let beginCommandBuffer: PFN_vkBeginCommandBuffer
    let endCommandBuffer: PFN_vkEndCommandBuffer
    let cmdBindPipeline: PFN_vkCmdBindPipeline
    let cmdBindDescriptorSets: PFN_vkCmdBindDescriptorSets
    let cmdPushConstants: PFN_vkCmdPushConstants
    let cmdDispatch: PFN_vkCmdDispatch
    let cmdPipelineBarrier: PFN_vkCmdPipelineBarrier
    let cmdCopyBuffer: PFN_vkCmdCopyBuffer
    let queueSubmit: PFN_vkQueueSubmit
    let createFence: PFN_vkCreateFence
    let waitForFences: PFN_vkWaitForFences
    let resetFences: PFN_vkResetFences
    // Teardown (VulkanDevice.close), in the order it calls them.
    let destroyDevice: PFN_vkDestroyDevice
    let destroyPipeline: PFN_vkDestroyPipeline
    let destroyPipelineLayout: PFN_vkDestroyPipelineLayout
    let destroyDescriptorSetLayout: PFN_vkDestroyDescriptorSetLayout
    let destroyDescriptorPool: PFN_vkDestroyDescriptorPool
    let destroyCommandPool: PFN_vkDestroyCommandPool
    let destroyFence: PFN_vkDestroyFence

    init(instance: InstanceFunctions, device: VkDevice) throws(TensorError) {
        let get = instance.getDeviceProcAddr
        getDeviceQueue = try vulkanFunction(get(device, "vkGetDeviceQueue"), "vkGetDeviceQueue")
        deviceWaitIdle = try vulkanFunction(get(device, "vkDeviceWaitIdle"), "vkDeviceWaitIdle")
        allocateMemory = try vulkanFunction(get(device, "vkAllocateMemory"), "vkAllocateMemory")
        freeMemory = try vulkanFunction(get(device, "vkFreeMemory"), "vkFreeMemory")
        mapMemory = try vulkanFunction(get(device, "vkMapMemory"), "vkMapMemory")
        createBuffer = try vulkanFunction(get(device, "vkCreateBuffer"), "vkCreateBuffer")
        destroyBuffer = try vulkanFunction(get(device, "vkDestroyBuffer"), "vkDestroyBuffer")
        getBufferMemoryRequirements = try vulkanFunction(get(device, "vkGetBufferMemoryRequirements"), "vkGetBufferMemoryRequirements")
        bindBufferMemory = try vulkanFunction(get(device, "vkBindBufferMemory"), "vkBindBufferMemory")
        createShaderModule = try vulkanFunction(get(device, "vkCreateShaderModule"), "vkCreateShaderModule")
        destroyShaderModule = try vulkanFunction(get(device, "vkDestroyShaderModule"), "vkDestroyShaderModule")
        createDescriptorSetLayout = try vulkanFunction(get(device, "vkCreateDescriptorSetLayout"), "vkCreateDescriptorSetLayout")
        createPipelineLayout = try vulkanFunction(get(device, "vkCreatePipelineLayout"), "vkCreatePipelineLayout")
        createComputePipelines = try vulkanFunction(get(device, "vkCreateComputePipelines"), "vkCreateComputePipelines")
        createDescriptorPool = try vulkanFunction(get(device, "vkCreateDescriptorPool"), "vkCreateDescriptorPool")
        resetDescriptorPool = try vulkanFunction(get(device, "vkResetDescriptorPool"), "vkResetDescriptorPool")
        allocateDescriptorSets = try vulkanFunction(get(device, "vkAllocateDescriptorSets"), "vkAllocateDescriptorSets")
        updateDescriptorSets = try vulkanFunction(get(device, "vkUpdateDescriptorSets"), "vkUpdateDescriptorSets")
        createCommandPool = try vulkanFunction(get(device, "vkCreateCommandPool"), "vkCreateCommandPool")
        allocateCommandBuffers = try vulkanFunction(get(device, "vkAllocateCommandBuffers"), "vkAllocateCommandBuffers")
        resetCommandBuffer = try vulkanFunction(get(device, "vkResetCommandBuffer"), "vkResetCommandBuffer")
        beginCommandBuffer = try vulkanFunction(get(device, "vkBeginCommandBuffer"), "vkBeginCommandBuffer")
        endCommandBuffer = try vulkanFunction(get(device, "vkEndCommandBuffer"), "vkEndCommandBuffer")
        cmdBindPipeline = try vulkanFunction(get(device, "vkCmdBindPipeline"), "vkCmdBindPipeline")
        cmdBindDescriptorSets = try vulkanFunction(get(device, "vkCmdBindDescriptorSets"), "vkCmdBindDescriptorSets")
        cmdPushConstants = try vulkanFunction(get(device, "vkCmdPushConstants"), "vkCmdPushConstants")
        cmdDispatch = try vulkanFunction(get(device, "vkCmdDispatch"), "vkCmdDispatch")
        cmdPipelineBarrier = try vulkanFunction(get(device, "vkCmdPipelineBarrier"), "vkCmdPipelineBarrier")
        cmdCopyBuffer = try vulkanFunction(get(device, "vkCmdCopyBuffer"), "vkCmdCopyBuffer")
        queueSubmit = try vulkanFunction(get(device, "vkQueueSubmit"), "vkQueueSubmit")
        createFence = try vulkanFunction(get(device, "vkCreateFence"), "vkCreateFence")
        waitForFences = try vulkanFunction(get(device, "vkWaitForFences"), "vkWaitForFences")
        resetFences = try vulkanFunction(get(device, "vkResetFences"), "vkResetFences")
        destroyDevice = try vulkanFunction(get(device, "vkDestroyDevice"), "vkDestroyDevice")
        destroyPipeline = try vulkanFunction(get(device, "vkDestroyPipeline"), "vkDestroyPipeline")
        destroyPipelineLayout = try vulkanFunction(get(device, "vkDestroyPipelineLayout"), "vkDestroyPipelineLayout")
        destroyDescriptorSetLayout = try vulkanFunction(get(device, "vkDestroyDescriptorSetLayout"), "vkDestroyDescriptorSetLayout")
        destroyDescriptorPool = try vulkanFunction(get(device, "vkDestroyDescriptorPool"), "vkDestroyDescriptorPool")
        destroyCommandPool = try vulkanFunction(get(device, "vkDestroyCommandPool"), "vkDestroyCommandPool")
        destroyFence = try vulkanFunction(get(device, "vkDestroyFence"), "vkDestroyFence")
    }
}
