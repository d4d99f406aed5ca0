import Foundation
import Testing
import TensorCore
@testable import VulkanBackend

extension VulkanTests {
    @Suite struct Runtime {
        @Test func listsDevices() throws {
            let device = try Fixture.device
            let infos = try VulkanRuntime.physicalDevices()
            #expect(!infos.isEmpty)
            for info in infos {
                #expect(!info.name.isEmpty)
                #expect(info.subgroupSize >= 1)
                print("Vulkan device \(info)")
            }
            #expect(device.kind == .vulkan)
            #expect(device.info.isUsable)
            #expect(!device.details.isEmpty)
            let runtime = try VulkanRuntime.sharedRuntime()
            if let preferred = runtime.preferredDeviceIndex() {
                #expect(infos[preferred].type != .cpu)
            }
            #expect(runtime.preferredDeviceIndex(allowCPU: true) != nil)
            // The same index gives the same cached device.
            #expect(try VulkanRuntime.device(index: device.info.index) === device)
            Fixture.expectNoValidationMessages()
        }

        @Test func validationLayerIsOn() throws {
            _ = try Fixture.device
            let runtime = try VulkanRuntime.sharedRuntime()
            if let reason = runtime.validationUnavailableReason {
                print("skip: \(reason)")
                return
            }
            #expect(runtime.validationEnabled)
        }

        @Test func missingLoaderIsUnavailableWithReason() {
            let path = "/nonexistent/libvulkan.so.1"
            do {
                _ = try VulkanRuntime(options: .init(loaderPath: path))
                Issue.record("a missing loader must throw")
            } catch {
                guard case let .backendUnavailable(backend, reason) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(backend == "Vulkan")
                #expect(reason.contains(path))
                #expect(error.description.hasPrefix("Vulkan unavailable: "))
            }
        }

        @Test func notALoaderIsUnavailable() {
            // A real shared library without vkGetInstanceProcAddr.
            do {
                _ = try VulkanRuntime(options: .init(loaderPath: "libm.so.6"))
                Issue.record("a library without Vulkan must throw")
            } catch {
                guard case let .backendUnavailable(_, reason) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(reason.contains("vkGetInstanceProcAddr"))
            }
        }

        /// Run alone with no driver visible, e.g.
        /// `TENSOR_VULKAN_EXPECT_NO_DRIVER=1 VK_ICD_FILENAMES=/nonexistent swift test --filter noDriver`
        /// (the environment is not changed from inside the test process: other suites run
        /// concurrently and setenv races with getenv).
        @Test(.enabled(if: ProcessInfo.processInfo.environment["TENSOR_VULKAN_EXPECT_NO_DRIVER"] == "1"))
        func noDriverIsUnavailableWithReason() {
            do {
                _ = try VulkanRuntime(options: .init())
                Issue.record("no driver must throw")
            } catch {
                guard case let .backendUnavailable(backend, reason) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(backend == "Vulkan")
                #expect(reason.contains("driver") || reason.contains("device"), "\(reason)")
                print("no driver: \(error)")
            }
        }

        @Test func badDeviceIndexThrows() throws {
            _ = try Fixture.device
            #expect(throws: TensorError.self) { try VulkanRuntime.device(index: 1000) }
        }

        @Test func oversizedAllocationThrowsAndDeviceStaysUsable() throws {
            let device = try Fixture.device
            let limit = device.allocator.maxRange
            do {
                _ = try device.makeBuffer(elementCount: limit / 4 + 1)
                Issue.record("an allocation past maxStorageBufferRange must throw")
            } catch {
                guard case .outOfMemory = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
            }
            let buffer = try device.upload([1, 2, 3])
            #expect(try device.download(buffer, count: 3) == [1, 2, 3])
            Fixture.expectNoValidationMessages()
        }

        @Test func emptyBuffersWork() throws {
            let device = try Fixture.device
            let empty = try device.makeBuffer(elementCount: 0)
            #expect(empty.elementCount == 0)
            try device.fill(empty, value: 1, count: 0)
            try device.scaleShift(empty, scale: 2, offset: 1, count: 0, into: empty)
            try device.activate(.gelu, empty, count: 0, into: empty)
            try device.reduceSum(empty, outer: 0, axis: 3, inner: 1, scale: 1, into: empty)
            try device.matmul(empty, empty, into: empty, geometry: MatmulGeometry(m: 0, n: 0, k: 5), epilogue: .none)
            #expect(try device.download(empty, count: 0) == [])
            try device.synchronize()
            Fixture.expectNoValidationMessages()
        }

        @Test func buffersAreRecycled() throws {
            let device = try Fixture.device
            try device.synchronize()
            let before = device.reservedMemoryBytes
            for round in 0..<50 {
                let buffer = try device.makeBuffer(elementCount: 1 << 18)
                try device.fill(buffer, value: Float(round), count: 1 << 18)
            }
            try device.synchronize()
            #expect(device.reservedMemoryBytes <= max(before, device.allocator.blockSize) + device.allocator.blockSize)
            Fixture.expectNoValidationMessages()
        }

        @Test func readWriteRoundTrip() throws {
            let device = try Fixture.device
            var random = TestRandom(seed: 1)
            for count in [1, 7, 31, 257, 4096 + 3] {
                let values = random.floats(count)
                let buffer = try device.upload(values)
                #expect(try device.download(buffer, count: count) == values)
                // Partial read of the start.
                #expect(try device.download(buffer, count: count / 2) == Array(values.prefix(count / 2)))
            }
            Fixture.expectNoValidationMessages()
        }
    }
}
