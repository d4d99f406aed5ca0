import CVulkan
import Testing
import TensorCore
@testable import VulkanBackend

extension VulkanTests {
    @Suite struct StagingAndValidation {
        /// The messenger really reports: a deliberately invalid call must produce a message.
        @Test func messengerReportsInvalidUsage() throws {
            let device = try Fixture.device
            guard device.runtime.validationEnabled else {
                print("skip: validation is off: \(device.runtime.validationUnavailableReason ?? "not requested")")
                return
            }
            _ = VulkanRuntime.drainValidationMessages()
            var info = VkFenceCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO   // wrong on purpose
            var fence: VkFence?
            _ = device.functions.createFence(device.handle, &info, nil, &fence)
            let messages = VulkanRuntime.drainValidationMessages()
            // Left alive, the fence would be reported when the device is destroyed at exit.
            if let fence { device.functions.destroyFence(device.handle, fence, nil) }
            #expect(messages.contains { $0.severity == .error && $0.id.contains("sType") }, "\(messages)")
        }

        /// Device-local memory with a staging buffer (the discrete-GPU path), forced on lavapipe.
        @Test func stagingPath() throws {
            let primary = try Fixture.device
            let runtime = try VulkanRuntime(options: .init(validation: primary.runtime.validationEnabled,
                                                           forceStaging: true))
            let device = try runtime.openDevice(index: primary.info.index)
            #expect(!device.allocator.hostVisible)
            #expect(device.staging != nil)
            // Two staging chunks and a bit.
            let count = (StagingBuffer.size / 4) * 2 + 1000
            var random = TestRandom(seed: 21)
            let values = random.floats(count)
            let buffer = try device.upload(values)
            #expect(try device.download(buffer, count: count) == values)
            let doubled = try device.makeBuffer(elementCount: count)
            try device.scaleShift(buffer, scale: 2, offset: 0, count: count, into: doubled)
            // Overwrite the source while the scale is queued: the upload must wait for it.
            let zeros = [Float](repeating: 0, count: 4)
            try zeros.withUnsafeBytes { try device.write($0, to: buffer) }
            let result = try device.download(doubled, count: count)
            #expect(result == values.map { $0 * 2 })
            let g = MatmulGeometry(m: 9, n: 7, k: 5)
            let a = try device.upload(random.floats(45))
            let b = try device.upload(random.floats(35))
            let c = try device.makeBuffer(elementCount: 63)
            try device.matmul(a, b, into: c, geometry: g, epilogue: .none)
            #expect(try device.download(c, count: 63).allSatisfy(\.isFinite))
            let messages = runtime.drainValidationMessages()
            #expect(messages.isEmpty, "\(messages)")
        }

        /// The descriptor-pool path (devices without VK_KHR_push_descriptor) and the plain
        /// reductions, forced off on a device that has both fast paths.
        @Test func withoutFastPaths() throws {
            let primary = try Fixture.device
            let runtime = try VulkanRuntime(options: .init(validation: primary.runtime.validationEnabled,
                                                           disabledFeatures: [.pushDescriptors, .subgroupArithmetic]))
            let device = try runtime.openDevice(index: primary.info.index)
            #expect(device.pushDescriptorSet == nil)
            #expect(!device.enabledFeatures.contains(.pushDescriptors))
            #expect(!device.enabledFeatures.contains(.subgroupArithmetic))
            var random = TestRandom(seed: 41)
            let values = random.floats(600)
            let x = try device.upload(values)
            let y = try device.makeBuffer(elementCount: 600)
            // More dispatches than one descriptor pool holds, across several batches.
            for _ in 0..<300 { try device.scaleShift(x, scale: 1, offset: 0.5, count: 600, into: y) }
            let sums = try device.makeBuffer(elementCount: 2)
            try device.reduceSum(y, outer: 2, axis: 300, inner: 1, scale: 1, into: sums)
            let result = try device.download(sums, count: 2)
            let expected = [0, 1].map { row in values[(row * 300)..<((row + 1) * 300)].reduce(0.0) { $0 + Double($1) + 0.5 } }
            expectClose(result, expected, nmse: 1e-11, maxError: 1e-4, "reduce without subgroups")
            let messages = runtime.drainValidationMessages()
            #expect(messages.isEmpty, "\(messages)")
        }
    }
}
