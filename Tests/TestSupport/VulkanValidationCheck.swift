import Testing
import VulkanBackend

/// Fails a test when the Khronos validation layer reported anything while it ran; applied
/// to every suite that touches Vulkan devices.
///
/// ```swift
/// @Suite(.vulkanValidation) struct MatmulTests { ... }
/// ```
public struct VulkanValidationCheck: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        try await function()
        guard testCase != nil || !test.isSuite else { return }
        let messages = VulkanRuntime.drainValidationMessages()
        #expect(messages.isEmpty, "Vulkan validation: \(messages.map(\.description).joined(separator: "\n"))")
    }
}

extension Trait where Self == VulkanValidationCheck {
    /// See ``VulkanValidationCheck``.
    public static var vulkanValidation: VulkanValidationCheck { VulkanValidationCheck() }
}
