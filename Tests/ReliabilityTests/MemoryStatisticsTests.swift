import Foundation
import Testing
import CPUBackend
import TensorCore
import TestSupport
import VulkanBackend

/// `memoryStatistics()` on devices of their own (so other tests' buffers do not move the
/// counts): live bytes follow buffers as they are made and dropped, the peak keeps the most
/// alive at once until reset, and releasing the cache leaves live buffers intact.
@Suite struct MemoryStatisticsTests {
    /// Makes a 1 MiB buffer and a 3 MiB one, drops both, and checks the counts at each step.
    static func check(_ backend: any Backend, name: String) throws {
        let start = try #require(backend.memoryStatistics(), "\(name) keeps no statistics")
        backend.resetPeakMemoryStatistics()
        var small: (any BackendBuffer)? = try backend.makeBuffer(byteCount: 1 << 20)
        let afterSmall = try #require(backend.memoryStatistics())
        #expect(afterSmall.liveBytes - start.liveBytes >= 1 << 20, "\(name): \(afterSmall)")
        #expect(afterSmall.liveBytes - start.liveBytes < (1 << 20) + (1 << 16), "\(name): \(afterSmall)")
        var large: (any BackendBuffer)? = try backend.makeBuffer(byteCount: 3 << 20)
        try backend.run(.fill(try #require(large), value: 2, count: (3 << 20) / 4))
        try backend.synchronize()
        let both = try #require(backend.memoryStatistics())
        #expect(both.liveBytes - start.liveBytes >= 4 << 20, "\(name): \(both)")
        #expect(both.peakLiveBytes == both.liveBytes, "\(name): \(both)")
        small = nil
        large = nil
        #expect(small == nil && large == nil)
        let dropped = try #require(backend.memoryStatistics())
        #expect(dropped.liveBytes == start.liveBytes, "\(name): live \(dropped.liveBytes) after dropping, \(start.liveBytes) before")
        #expect(dropped.peakLiveBytes == both.peakLiveBytes, "\(name): the peak fell without a reset")
        backend.resetPeakMemoryStatistics()
        #expect(backend.memoryStatistics()?.peakLiveBytes == start.liveBytes, "\(name): reset")
        let kept = try backend.makeBuffer(elementCount: 4)
        try backend.run(.fill(kept, value: 7, count: 4))
        backend.releaseCachedMemory()
        var out = [Float](repeating: 0, count: 4)
        try out.withUnsafeMutableBytes { try backend.read(kept, into: $0) }
        #expect(out == [7, 7, 7, 7], "\(name): a live buffer changed when the cache was released")
    }

    @Test func cpuCountsLiveAndPeakBytes() throws {
        try Self.check(CPUDevice(threads: 1), name: "CPU")
    }

    @Test func vulkanCountsLiveAndPeakBytes() throws {
        guard TestDevices.vulkan != nil else {
            print("note: no Vulkan device here; the Vulkan memory statistics are not checked")
            return
        }
        let log = VulkanValidationLog()
        let runtime = try VulkanRuntime(options: .init(validation: true, validationLog: log))
        let device = try runtime.openDevice(index: runtime.preferredDeviceIndex(allowCPU: true) ?? 0)
        try Self.check(device, name: device.name)
        let messages = log.drain()
        #expect(messages.isEmpty, "validation: \(messages.map(\.description).joined(separator: "\n"))")
    }
}
