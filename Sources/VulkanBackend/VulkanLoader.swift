import CVulkan
import TensorCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The Vulkan loader library (`libvulkan.so.1`), opened at run time with `dlopen`.
///
/// Only `vkGetInstanceProcAddr` is looked up with `dlsym`; every other entry point goes
/// through it (global and instance functions) or `vkGetDeviceProcAddr` (device functions),
/// as in volk.
final class VulkanLoader: Sendable {
    /// The path or soname passed to `dlopen`.
    let path: String
    let getInstanceProcAddr: PFN_vkGetInstanceProcAddr
    /// The `dlopen` handle, closed in `deinit`. `nonisolated(unsafe)`: immutable, and only
    /// passed to `dlclose`, once.
    private nonisolated(unsafe) let handle: UnsafeMutableRawPointer

    /// The default soname, overridable with `TENSOR_VULKAN_LOADER` (fault injection, custom installs).
    static var defaultPath: String {
        environment("TENSOR_VULKAN_LOADER") ?? "libvulkan.so.1"
    }

    init(path: String) throws(TensorError) {
        self.path = path
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            throw .backendUnavailable(backend: "Vulkan",
                                      reason: "no Vulkan loader: cannot load \(path) (\(reason))")
        }
        guard let symbol = dlsym(handle, "vkGetInstanceProcAddr") else {
            dlclose(handle)
            throw .backendUnavailable(backend: "Vulkan",
                                      reason: "\(path) has no vkGetInstanceProcAddr; not a Vulkan loader")
        }
        self.handle = handle
        getInstanceProcAddr = unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)
    }

    /// Runs after the runtime that owns the loader has destroyed its instance (and every
    /// device, which keep the runtime alive), so nothing looked up through it is called again.
    /// The shared runtime's loader is never released, so it stays open until exit.
    deinit {
        dlclose(handle)
    }
}

/// Casts a looked-up entry point to its typed function pointer, or throws naming it.
func vulkanFunction<F>(_ raw: PFN_vkVoidFunction?, _ name: String) throws(TensorError) -> F {
    guard let raw else {
        throw .backendUnavailable(backend: "Vulkan", reason: "the driver does not provide \(name)")
    }
    return unsafeBitCast(raw, to: F.self)
}

/// The value of an environment variable, nil when unset or empty.
func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let string = String(cString: value)
    return string.isEmpty ? nil : string
}

/// True when an environment switch is set to something other than 0 / false / no / off.
func environmentFlag(_ name: String) -> Bool {
    guard let value = environment(name)?.lowercased() else { return false }
    return !["0", "false", "no", "off"].contains(value)
}
