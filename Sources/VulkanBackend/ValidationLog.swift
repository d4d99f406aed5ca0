import CVulkan
import Foundation

/// One message from the validation layer (or the loader) through VK_EXT_debug_utils.
public struct VulkanValidationMessage: Sendable, Equatable, CustomStringConvertible {
    /// How bad the report is; both fail the backend's tests.
    public enum Severity: String, Sendable { case warning, error }
    /// Warning or error.
    public var severity: Severity
    /// The message ID name ("VUID-vkCmdDispatch-None-02697", ...).
    public var id: String
    /// The full message text.
    public var text: String

    /// "[severity] id: text".
    public var description: String { "[\(severity.rawValue)] \(id): \(text)" }
}

/// A thread-safe list of the warnings and errors a runtime's debug messenger received.
///
/// Every runtime records into one; pass your own in ``VulkanRuntime/Options/validationLog``
/// to read what the layer reports while the runtime itself is destroyed (objects left
/// alive at `vkDestroyInstance`, for instance):
///
/// ```swift
/// let log = VulkanValidationLog()
/// do {
///     let runtime = try VulkanRuntime(options: .init(validation: true, validationLog: log))
///     _ = try runtime.openDevice(index: 0)
/// }   // runtime and device destroyed here
/// assert(log.drain().isEmpty)
/// ```
///
/// `@unchecked Sendable`: `messages` is only touched with `lock` held.
public final class VulkanValidationLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [VulkanValidationMessage] = []

    /// An empty log.
    public init() {}

    func append(_ message: VulkanValidationMessage) {
        lock.lock()
        messages.append(message)
        lock.unlock()
    }

    /// Every message so far, oldest first, then clears the list.
    public func drain() -> [VulkanValidationMessage] {
        lock.lock()
        defer { lock.unlock() }
        let drained = messages
        messages.removeAll()
        return drained
    }

    /// The messenger callback; `userData` is an unretained `VulkanValidationLog`.
    static let callback: PFN_vkDebugUtilsMessengerCallbackEXT = { severity, _, data, userData in
        guard let userData, let data else { return 0 }
        let log = Unmanaged<VulkanValidationLog>.fromOpaque(userData).takeUnretainedValue()
        let isError = severity.rawValue & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue != 0
        let id = data.pointee.pMessageIdName.map { String(cString: $0) } ?? "\(data.pointee.messageIdNumber)"
        let text = data.pointee.pMessage.map { String(cString: $0) } ?? ""
        log.append(VulkanValidationMessage(severity: isError ? .error : .warning, id: id, text: text))
        return 0
    }
}
