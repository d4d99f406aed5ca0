import CVulkan
import Foundation
import TensorCore

/// The process's connection to Vulkan: the loader, one `VkInstance` (with the Khronos
/// validation layer when asked), the physical devices, and the opened devices.
///
/// Most code uses the shared runtime through the static members:
///
/// ```swift
/// for info in try VulkanRuntime.physicalDevices() { print(info) }
/// let gpu = try VulkanRuntime.device(index: 0)      // a Backend
/// ```
///
/// Environment: `TENSOR_VULKAN_LOADER` (loader path, default `libvulkan.so.1`),
/// `TENSOR_VULKAN_VALIDATION=1` (enable VK_LAYER_KHRONOS_validation and record every
/// warning and error it reports; see ``drainValidationMessages()``),
/// `TENSOR_VULKAN_NO_FP16`, `TENSOR_VULKAN_NO_SUBGROUP`, `TENSOR_VULKAN_NO_COOPMAT`,
/// `TENSOR_VULKAN_NO_PUSH_DESCRIPTORS` (turn fast paths off), `TENSOR_VULKAN_FORCE_STAGING=1` (never map device memory:
/// exercise the device-local + staging path).
///
/// Teardown: each opened device keeps its runtime alive; when the runtime's last reference
/// goes it destroys its debug messenger and `VkInstance` and closes the loader. The shared
/// runtime lives until ``shutdownShared()``, which runs at process exit at the latest.
///
/// `@unchecked Sendable`: the Vulkan handles are immutable after `init`; the device
/// cache, `messenger` and `isShutDown` are guarded by `lock`; the validation log is itself
/// thread-safe.
public final class VulkanRuntime: @unchecked Sendable {
    /// How to create a runtime.
    public struct Options: Sendable {
        /// Path or soname of the Vulkan loader.
        public var loaderPath: String
        /// Enable VK_LAYER_KHRONOS_validation and a debug messenger.
        public var validation: Bool
        /// Never map storage memory: device-local buffers plus a staging buffer, as on a
        /// discrete GPU without ReBAR (for tests of that path on any device).
        public var forceStaging: Bool
        /// Fast paths not to use even where supported (on top of the TENSOR_VULKAN_NO_* switches).
        public var disabledFeatures: VulkanFeatures
        /// Where validation messages go (a new log when nil). A log of your own outlives the
        /// runtime, so it also shows what the layer reports while the runtime is destroyed.
        public var validationLog: VulkanValidationLog?

        /// Options for a runtime; the defaults load `libvulkan.so.1` without validation.
        public init(loaderPath: String = "libvulkan.so.1", validation: Bool = false, forceStaging: Bool = false,
                    disabledFeatures: VulkanFeatures = [], validationLog: VulkanValidationLog? = nil) {
            self.loaderPath = loaderPath
            self.validation = validation
            self.forceStaging = forceStaging
            self.disabledFeatures = disabledFeatures
            self.validationLog = validationLog
        }

        /// Options from `TENSOR_VULKAN_LOADER`, `TENSOR_VULKAN_VALIDATION` and `TENSOR_VULKAN_FORCE_STAGING`.
        public static func fromEnvironment() -> Options {
            Options(loaderPath: VulkanLoader.defaultPath, validation: environmentFlag("TENSOR_VULKAN_VALIDATION"),
                    forceStaging: environmentFlag("TENSOR_VULKAN_FORCE_STAGING"))
        }
    }

    /// The options the runtime was created with.
    public let options: Options
    let loader: VulkanLoader
    let instance: VkInstance
    let functions: InstanceFunctions
    let details: [PhysicalDeviceDetails]
    let validationLog: VulkanValidationLog
    private var messenger: VkDebugUtilsMessengerEXT?
    private let lock = NSLock()
    /// Opened devices, weakly: a device keeps its runtime alive, not the other way round.
    private var opened: [Int: WeakDevice] = [:]
    /// Opened devices kept open until ``shutdown()`` (the shared runtime's, which callers
    /// open again and again through ``device(index:)``).
    private var pinned: [Int: VulkanDevice] = [:]
    private let pinsDevices: Bool
    private var isShutDown = false

    /// The Vulkan version of the instance.
    public let instanceVersion: String
    /// True when VK_LAYER_KHRONOS_validation and the debug messenger are active.
    public let validationEnabled: Bool
    /// Why validation is off although it was requested (layer or extension missing); nil otherwise.
    public let validationUnavailableReason: String?

    /// Every physical device, usable or not, in driver order.
    public var deviceInfos: [VulkanDeviceInfo] { details.map(\.info) }

    /// Opens the loader, creates an instance and enumerates the physical devices.
    ///
    /// Throws `backendUnavailable` with the reason when there is no loader, no driver,
    /// or no device.
    public convenience init(options: Options) throws(TensorError) {
        try self.init(options: options, pinsDevices: false)
    }

    init(options: Options, pinsDevices: Bool) throws(TensorError) {
        self.options = options
        self.pinsDevices = pinsDevices
        let log = options.validationLog ?? VulkanValidationLog()
        validationLog = log
        loader = try VulkanLoader(path: options.loaderPath)
        let globals = try GlobalFunctions(loader: loader)

        var loaderVersion = makeVersion(1, 0)
        if let raw = loader.getInstanceProcAddr(nil, "vkEnumerateInstanceVersion") {
            let enumerateVersion = unsafeBitCast(raw, to: PFN_vkEnumerateInstanceVersion.self)
            _ = enumerateVersion(&loaderVersion)
        }
        guard loaderVersion >= makeVersion(1, 1) else {
            throw .backendUnavailable(backend: "Vulkan",
                                      reason: "the Vulkan loader is version \(versionString(loaderVersion)); 1.1 is required")
        }
        let apiVersion = min(loaderVersion & ~0xfff, makeVersion(1, 3))
        instanceVersion = versionString(apiVersion)

        var layers: [String] = []
        var extensions: [String] = []
        var validationReason: String?
        if options.validation {
            let available = Self.instanceLayers(globals)
            if available.contains("VK_LAYER_KHRONOS_validation") {
                layers.append("VK_LAYER_KHRONOS_validation")
                let instanceExtensions = Self.instanceExtensions(globals, layer: nil)
                    .union(Self.instanceExtensions(globals, layer: "VK_LAYER_KHRONOS_validation"))
                // Synchronization validation reports a missing barrier between dependent
                // dispatches as a hazard, even on devices (lavapipe) where it happens to work.
                if instanceExtensions.contains("VK_EXT_validation_features") {
                    extensions.append("VK_EXT_validation_features")
                }
                if instanceExtensions.contains("VK_EXT_debug_utils") {
                    extensions.append("VK_EXT_debug_utils")
                } else {
                    validationReason = "VK_EXT_debug_utils is not available, so messages cannot be recorded"
                }
            } else {
                validationReason = "VK_LAYER_KHRONOS_validation is not installed (apt install vulkan-validationlayers)"
            }
        }
        validationUnavailableReason = validationReason

        // The messenger chained to the create info also hears vkCreateInstance and
        // vkDestroyInstance (where the layer reports objects left alive).
        let created = try Self.createInstance(globals, loader: loader, apiVersion: apiVersion, layers: layers,
                                              extensions: extensions, log: log)
        instance = created
        do throws(TensorError) {
            functions = try InstanceFunctions(loader: loader, instance: created)
        } catch {
            // A missing entry point: destroy the instance through the loader directly.
            if let raw = loader.getInstanceProcAddr(created, "vkDestroyInstance") {
                unsafeBitCast(raw, to: PFN_vkDestroyInstance.self)(created, nil)
            }
            throw error
        }

        var count: UInt32 = 0
        var result = functions.enumeratePhysicalDevices(created, &count, nil)
        var handles = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        if result == VK_SUCCESS, count > 0 {
            result = functions.enumeratePhysicalDevices(created, &count, &handles)
        }
        guard result == VK_SUCCESS || result == VK_INCOMPLETE, count > 0 else {
            functions.destroyInstance(created, nil)
            throw .backendUnavailable(backend: "Vulkan",
                                      reason: "no Vulkan device found (\(resultName(result)); is a driver installed?)")
        }
        let fns = functions
        details = handles.prefix(Int(count)).enumerated().compactMap { index, handle in
            handle.map { PhysicalDeviceDetails(index: index, handle: $0, functions: fns) }
        }

        validationEnabled = extensions.contains("VK_EXT_debug_utils")
        if validationEnabled { installMessenger() }
    }

    private static func instanceLayers(_ globals: GlobalFunctions) -> Set<String> {
        var count: UInt32 = 0
        guard globals.enumerateInstanceLayerProperties(&count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var layers = [VkLayerProperties](repeating: VkLayerProperties(), count: Int(count))
        guard globals.enumerateInstanceLayerProperties(&count, &layers) == VK_SUCCESS else { return [] }
        return Set(layers.prefix(Int(count)).map { stringFromCArray($0.layerName) })
    }

    private static func instanceExtensions(_ globals: GlobalFunctions, layer: String?) -> Set<String> {
        var count: UInt32 = 0
        guard globals.enumerateInstanceExtensionProperties(layer, &count, nil) == VK_SUCCESS, count > 0 else {
            return []
        }
        var list = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        guard globals.enumerateInstanceExtensionProperties(layer, &count, &list) == VK_SUCCESS else { return [] }
        return Set(list.prefix(Int(count)).map { stringFromCArray($0.extensionName) })
    }

    private static func createInstance(_ globals: GlobalFunctions, loader: VulkanLoader, apiVersion: UInt32,
                                       layers: [String], extensions: [String],
                                       log: VulkanValidationLog) throws(TensorError) -> VkInstance {
        let layerNames = layers.map { UnsafePointer(strdup($0)) }
        let extensionNames = extensions.map { UnsafePointer(strdup($0)) }
        defer {
            for name in layerNames { free(UnsafeMutablePointer(mutating: name)) }
            for name in extensionNames { free(UnsafeMutablePointer(mutating: name)) }
        }
        var instance: VkInstance?
        let result: VkResult = "TensorEngine".withCString { appName in
            var app = VkApplicationInfo()
            app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
            app.pApplicationName = appName
            app.pEngineName = appName
            app.apiVersion = apiVersion
            return withUnsafePointer(to: &app) { appPointer in
                layerNames.withUnsafeBufferPointer { layerPointer in
                    extensionNames.withUnsafeBufferPointer { extensionPointer in
                        var info = VkInstanceCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                        info.pApplicationInfo = appPointer
                        info.enabledLayerCount = UInt32(layerNames.count)
                        info.ppEnabledLayerNames = layerPointer.baseAddress
                        info.enabledExtensionCount = UInt32(extensionNames.count)
                        info.ppEnabledExtensionNames = extensionPointer.baseAddress
                        var messengerInfo = messengerCreateInfo(log)
                        return withUnsafePointer(to: &messengerInfo) { messengerPointer in
                            if extensions.contains("VK_EXT_debug_utils") { info.pNext = UnsafeRawPointer(messengerPointer) }
                            guard extensions.contains("VK_EXT_validation_features") else {
                                return globals.createInstance(&info, nil, &instance)
                            }
                            var enabled = [VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT]
                            return enabled.withUnsafeMutableBufferPointer { features in
                                var validationFeatures = VkValidationFeaturesEXT()
                                validationFeatures.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT
                                validationFeatures.pNext = info.pNext
                                validationFeatures.enabledValidationFeatureCount = UInt32(features.count)
                                validationFeatures.pEnabledValidationFeatures = UnsafePointer(features.baseAddress)
                                return withUnsafePointer(to: &validationFeatures) { chained in
                                    info.pNext = UnsafeRawPointer(chained)
                                    return globals.createInstance(&info, nil, &instance)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard result == VK_SUCCESS, let instance else {
            let reason = result == VK_ERROR_INCOMPATIBLE_DRIVER
                ? "no Vulkan driver (ICD) found by \(loader.path)"
                : "vkCreateInstance failed: \(resultName(result))"
            throw .backendUnavailable(backend: "Vulkan", reason: reason)
        }
        return instance
    }

    /// Warnings and errors of every type, into `log`. The runtime holds the log as long as
    /// the instance lives (its `deinit` destroys the instance), so no retain is needed.
    private static func messengerCreateInfo(_ log: VulkanValidationLog) -> VkDebugUtilsMessengerCreateInfoEXT {
        var info = VkDebugUtilsMessengerCreateInfoEXT()
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT
        info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue
        info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT.rawValue
        info.pfnUserCallback = VulkanValidationLog.callback
        info.pUserData = Unmanaged.passUnretained(log).toOpaque()
        return info
    }

    private func installMessenger() {
        guard let raw = loader.getInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT") else { return }
        let create = unsafeBitCast(raw, to: PFN_vkCreateDebugUtilsMessengerEXT.self)
        var info = Self.messengerCreateInfo(validationLog)
        var created: VkDebugUtilsMessengerEXT?
        if create(instance, &info, nil, &created) == VK_SUCCESS { messenger = created }
    }

    deinit {
        shutdown()
    }

    /// Closes every device still open (waiting for its work), then destroys the debug
    /// messenger and the instance. Idempotent; afterwards ``openDevice(index:)`` throws.
    /// With `destroyingObjects` false (the exit hook), the devices only
    /// refuse further ops, and nothing is waited for or destroyed: see ``SharedRuntime/exitHook()``.
    func shutdown(destroyingObjects: Bool = true) {
        lock.lock()
        defer { lock.unlock() }
        guard !isShutDown else { return }
        isShutDown = true
        let devices = Array(pinned.values) + opened.values.compactMap(\.device)
        pinned.removeAll()
        opened.removeAll()
        // A device closed twice (pinned and opened) does nothing the second time.
        for device in devices { device.close(destroyingObjects: destroyingObjects) }
        guard destroyingObjects else { return }
        if let messenger, let raw = loader.getInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT") {
            let destroy = unsafeBitCast(raw, to: PFN_vkDestroyDebugUtilsMessengerEXT.self)
            destroy(instance, messenger, nil)
        }
        messenger = nil
        functions.destroyInstance(instance, nil)
    }

    /// The device a default choice should take: a usable discrete GPU, then integrated,
    /// virtual, other; a CPU-type device (lavapipe) only when `allowCPU`. Nil when none.
    public func preferredDeviceIndex(allowCPU: Bool = false) -> Int? {
        var order: [VulkanDeviceInfo.DeviceType] = [.discrete, .integrated, .virtual, .other]
        if allowCPU { order.append(.cpu) }
        for type in order {
            if let info = deviceInfos.first(where: { $0.type == type && $0.isUsable }) { return info.index }
        }
        return nil
    }

    /// The validation warnings and errors recorded since the last call, oldest first.
    public func drainValidationMessages() -> [VulkanValidationMessage] {
        validationLog.drain()
    }

    /// Opens (once) and returns the device at `index` of ``deviceInfos``.
    public func openDevice(index: Int) throws(TensorError) -> VulkanDevice {
        guard details.indices.contains(index) else {
            throw .backendUnavailable(backend: "Vulkan",
                                      reason: "no Vulkan device \(index); \(details.count) found")
        }
        lock.lock()
        defer { lock.unlock() }
        guard !isShutDown else {
            throw .backendUnavailable(backend: "Vulkan", reason: "the Vulkan runtime has been shut down")
        }
        if let device = opened[index]?.device { return device }
        let device = try VulkanDevice(runtime: self, physical: details[index])
        opened[index] = WeakDevice(device: device)
        if pinsDevices { pinned[index] = device }
        return device
    }

    // MARK: - The shared runtime

    fileprivate static let shared = SharedRuntime()

    /// Sets the options of the shared runtime before its first use (instead of the
    /// environment); returns false, changing nothing, when it already exists.
    ///
    /// Tests use it to turn validation on without mutating the process environment.
    @discardableResult
    public static func configureShared(_ options: Options) -> Bool {
        shared.configure(options)
    }

    /// The process-wide runtime, created on first use (from ``configureShared(_:)`` or the
    /// environment); throws why Vulkan is unavailable (the failure is remembered).
    public static func sharedRuntime() throws(TensorError) -> VulkanRuntime {
        try shared.runtime()
    }

    /// Every physical device of the shared runtime.
    public static func physicalDevices() throws(TensorError) -> [VulkanDeviceInfo] {
        try sharedRuntime().deviceInfos
    }

    /// The device at `index` of ``physicalDevices()``, opened once and cached.
    public static func device(index: Int) throws(TensorError) -> VulkanDevice {
        try sharedRuntime().openDevice(index: index)
    }

    /// The shared runtime's recorded validation messages (empty when Vulkan is unavailable).
    public static func drainValidationMessages() -> [VulkanValidationMessage] {
        (try? sharedRuntime().drainValidationMessages()) ?? []
    }

    /// Tears the shared runtime down: waits for each of its devices, destroys their Vulkan
    /// objects and then the instance, in order. Afterwards every use of the shared runtime,
    /// and every op on its devices, throws a `TensorError` instead of touching Vulkan.
    ///
    /// At process exit an `atexit` hook (registered when the shared runtime is created) closes
    /// the devices but abandons unsubmitted work and leaves their Vulkan objects to the process
    /// teardown (see ``SharedRuntime/exitHook()``); call this earlier for a full teardown that
    /// finishes the queued work and releases the device sooner. Validation messages nobody drained,
    /// including what the layer reports during the teardown (objects left alive), are
    /// written to standard error, since nothing can drain them afterwards.
    ///
    /// ```swift
    /// let gpu = try VulkanRuntime.device(index: 0)
    /// // ... work ...
    /// VulkanRuntime.shutdownShared()
    /// // try gpu.synchronize() now throws deviceFailure
    /// ```
    public static func shutdownShared() {
        shared.shutdown()
    }
}

/// A device the runtime has opened, not retained (see ``VulkanRuntime``'s teardown).
private struct WeakDevice {
    weak var device: VulkanDevice?
}

/// The shared runtime, created once under a lock.
///
/// `@unchecked Sendable`: every field is only touched with `lock` held.
private final class SharedRuntime: @unchecked Sendable {
    private let lock = NSLock()
    private var options: VulkanRuntime.Options?
    private var result: Result<VulkanRuntime, TensorError>?
    /// The runtime after ``shutdown()``, kept so that its loader is not unloaded while the
    /// process exits (other threads may still be running).
    private var retired: VulkanRuntime?

    func configure(_ options: VulkanRuntime.Options) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard result == nil else { return false }
        self.options = options
        return true
    }

    func runtime() throws(TensorError) -> VulkanRuntime {
        lock.lock()
        defer { lock.unlock() }
        if let result { return try result.get() }
        let options = self.options ?? .fromEnvironment()
        let created = Result { () throws(TensorError) in try VulkanRuntime(options: options, pinsDevices: true) }
        result = created
        // After the instance exists, so this handler runs before the exit handlers of the
        // libraries vkCreateInstance loaded (the validation layer, the driver).
        if case .success = created { atexit { SharedRuntime.exitHook() } }
        return try created.get()
    }

    /// At exit: every device refuses new ops and the shared runtime reads as shut down; work
    /// not yet submitted is abandoned (nothing can read its results), and no Vulkan object is
    /// destroyed or waited for. Inside `exit()` the driver is no longer safe to drive:
    /// destroying a lavapipe device joins the driver's queue thread, whose exit then aborts in
    /// glibc's tcache teardown ("free(): invalid pointer"), and submitting the queued work
    /// made lavapipe JIT-compile a shader with LLVM, which spun forever (Mesa 22.3, LLVM 15,
    /// glibc 2.36 on an Intel Xeon host; TeardownTests.sharedRuntimeTearsDownAtExit, every
    /// run; the full teardown outside `exit()`, ``VulkanRuntime/shutdownShared()``, is clean).
    /// The process's memory and the driver's state go with the process.
    static func exitHook() {
        VulkanRuntime.shared.shutdown(destroyingObjects: false)
    }

    func shutdown(destroyingObjects: Bool = true) {
        lock.lock()
        defer { lock.unlock() }
        if case let .success(runtime) = result {
            runtime.shutdown(destroyingObjects: destroyingObjects)
            retired = runtime
            for message in runtime.drainValidationMessages() {
                FileHandle.standardError.write(Data("TensorEngine: Vulkan validation at shutdown: \(message)\n".utf8))
            }
        }
        result = .failure(.backendUnavailable(backend: "Vulkan", reason: "the shared Vulkan runtime has been shut down"))
    }
}

/// The enumerant name of a VkResult, for error messages.
func resultName(_ result: VkResult) -> String {
    switch result {
    case VK_SUCCESS: return "VK_SUCCESS"
    case VK_NOT_READY: return "VK_NOT_READY"
    case VK_TIMEOUT: return "VK_TIMEOUT"
    case VK_INCOMPLETE: return "VK_INCOMPLETE"
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY"
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED"
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST"
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED"
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT"
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT"
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT"
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER"
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS"
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY"
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL"
    default: return "VkResult(\(result.rawValue))"
    }
}
