import CPUBackend
import Foundation
import TestSupport
import Testing
import TensorCore
import TensorEngine
import VulkanBackend

/// Injected faults: a missing Vulkan loader, a missing driver, missing OpenBLAS, allocations
/// beyond what a device can give. Each must give a clear reason and leave the rest working.
@Suite(.vulkanValidation)
struct FaultTests {
    static func cpuStillWorks() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], on: .cpu)
        let b = try Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2], on: .cpu)
        #expect(try matmul(a, b).toArray() == [4, 5, 10, 11])
    }

    @Test func noVulkanLoader() throws {
        var options = VulkanRuntime.Options()
        options.loaderPath = "/nonexistent/libvulkan.so.1"
        let result = Result { () throws(TensorError) in try VulkanRuntime(options: options) }
        guard case let .failure(.backendUnavailable(backend, reason)) = result else {
            Issue.record("expected backendUnavailable, got \(result)")
            return
        }
        #expect(backend == "Vulkan")
        #expect(reason.contains("/nonexistent/libvulkan.so.1"), "reason: \(reason)")
        // A library that is not a Vulkan loader.
        options.loaderPath = "libc.so.6"
        #expect(throws: TensorError.self) { _ = try VulkanRuntime(options: options) }
        try Self.cpuStillWorks()
    }

    /// VK_ICD_FILENAMES pointing at nothing, in a child process (the shared runtime is
    /// process-wide and the loader reads the variable once).
    @Test func noVulkanDriver() throws {
        let missing = "/nonexistent/tensorengine_icd.json"
        let (status, output) = try runChildProcess(
            environment: ["VK_ICD_FILENAMES": missing, "VK_DRIVER_FILES": missing, "TENSOR_RELIABILITY_CHILD": "no-driver"],
            arguments: ["--testing-library", "swift-testing", "--filter", "FaultChild"])
        #expect(status == 0, "child output:\n\(output)")
        #expect(output.contains("no-driver child: ok"), "child output:\n\(output)")
    }

    @Test func noOpenBLAS() throws {
        let device = CPUDevice(openBLASPath: "/nonexistent/libopenblas.so.0")
        let reason = try #require(device.openBLASUnavailableReason)
        #expect(reason.contains("/nonexistent/libopenblas.so.0"), "reason: \(reason)")
        #expect(device.details.contains("OpenBLAS unavailable"), "details: \(device.details)")
        // The built-in matmul: a 37x29 by 29x41 product against float64.
        let (m, n, k) = (37, 41, 29)
        var random = FuzzRandom(seed: 3)
        let a = (0..<m * k).map { _ in Float(random.unit() * 2 - 1) }
        let b = (0..<k * n).map { _ in Float(random.unit() * 2 - 1) }
        let ab = try device.makeBuffer(elementCount: a.count), bb = try device.makeBuffer(elementCount: b.count)
        let cb = try device.makeBuffer(elementCount: m * n)
        var failure: (any Error)?
        a.withUnsafeBytes { p in do { try device.write(p, to: ab) } catch { failure = error } }
        b.withUnsafeBytes { p in do { try device.write(p, to: bb) } catch { failure = error } }
        try device.matmul(ab, bb, into: cb, geometry: MatmulGeometry(m: m, n: n, k: k), epilogue: MatmulEpilogue())
        var c = [Float](repeating: 0, count: m * n)
        c.withUnsafeMutableBytes { p in do { try device.read(cb, into: p) } catch { failure = error } }
        if let failure { throw failure }
        for i in 0..<m {
            for j in 0..<n {
                var ref = 0.0
                for p in 0..<k { ref += Double(a[i * k + p]) * Double(b[p * n + j]) }
                #expect(Swift.abs(Double(c[i * n + j]) - ref) <= 1e-5 * Double(k))
            }
        }
        try Self.cpuStillWorks()
    }

    @Test(arguments: TestDevices.all)
    func allocationBeyondMemoryThrows(device: Device) throws {
        let backend = device.backend
        var attempts: [Int] = [Int.max / 4, Int.max / 8 + 1]
        if let vulkan = backend as? VulkanDevice {
            attempts.append(vulkan.info.deviceLocalMemoryBytes / 4 + 1)
            attempts.append(Int(UInt32.max) / 4 + 1)  // beyond maxStorageBufferRange / maxMemoryAllocationSize
        } else {
            attempts.append(physicalMemoryBytes() / 4 + 1)
        }
        for elements in attempts {
            let result = Result { () throws(TensorError) in try backend.makeBuffer(elementCount: elements) }
            if case let .failure(.outOfMemory(name, _, reason)) = result {
                #expect(!name.isEmpty && !reason.isEmpty)
            } else {
                Issue.record("\(device.identifier): makeBuffer(\(elements)) gave \(result), not outOfMemory")
            }
            // Through the frontend: any TensorError, never a trap.
            #expect(throws: TensorError.self) { _ = try Tensor.zeros([elements, 4], on: device) }
            #expect(throws: TensorError.self) { _ = try Tensor.randn([elements / 4 + 1, 4], on: device) }
        }
        // The device is still usable.
        let x = try Tensor([1, -2, 3, -4], shape: [2, 2], on: device)
        #expect(try matmul(x, x).toArray() == [-5, 6, -9, 10])
        #expect(try relu(x).toArray() == [1, 0, 3, 0])
    }
}

/// Runs only inside the child process started by ``FaultTests/noVulkanDriver()``.
@Suite struct FaultChild {
    @Test func noDriverChild() throws {
        guard ProcessInfo.processInfo.environment["TENSOR_RELIABILITY_CHILD"] == "no-driver" else { return }
        let result = Result { () throws(TensorError) in try VulkanRuntime.sharedRuntime() }
        if case let .failure(.backendUnavailable(backend, reason)) = result {
            #expect(backend == "Vulkan")
            #expect(!reason.isEmpty)
            print("no-driver reason: \(reason)")
        } else {
            Issue.record("expected backendUnavailable with no driver, got \(result)")
        }
        #expect(Device.available.allSatisfy { $0.kind == .cpu })
        #expect(!Device.unavailable.isEmpty)
        #expect(throws: TensorError.self) { _ = try Device.vulkan(index: 0) }
        #expect(Device.default.kind == .cpu)
        try FaultTests.cpuStillWorks()
        print("no-driver child: ok")
    }
}
