import Foundation
import Testing
import TensorCore
@testable import VulkanBackend

extension VulkanTests {
    @Suite struct Execution {
        @Test func barriersOnlyOnHazards() throws {
            // A private device: the shared one also runs other test targets' work in
            // parallel, and its barrier counter is device-wide.
            let primary = try Fixture.device
            let runtime = try VulkanRuntime(options: .init(validation: primary.runtime.validationEnabled))
            let device = try runtime.openDevice(index: primary.info.index)
            let a = try device.makeBuffer(elementCount: 64)
            let b = try device.makeBuffer(elementCount: 64)
            let c = try device.makeBuffer(elementCount: 64)
            try device.synchronize()
            let start = device.statistics
            // Two independent writes: no barrier.
            try device.fill(a, value: 1, count: 64)
            try device.fill(b, value: 2, count: 64)
            #expect(device.statistics.hazardBarriers == start.hazardBarriers)
            // Reads a and b, both written in this epoch: RAW, one barrier.
            try device.binary(.add, a, StridedLayout(shape: [64], strides: [1]), b,
                              StridedLayout(shape: [64], strides: [1]), into: c)
            #expect(device.statistics.hazardBarriers == start.hazardBarriers + 1)
            // Another reader of a: no barrier (read after read).
            try device.scaleShift(a, scale: 1, offset: 0, count: 64, into: b)
            // That wrote b, which the add read in the same epoch: WAR, one barrier.
            #expect(device.statistics.hazardBarriers == start.hazardBarriers + 2)
            // Overwrite c (written by add, two epochs ago, already ordered): no barrier.
            try device.fill(c, value: 5, count: 64)
            #expect(device.statistics.hazardBarriers == start.hazardBarriers + 2)
            // Overwrite c again in the same epoch: WAW, one barrier.
            try device.fill(c, value: 6, count: 64)
            #expect(device.statistics.hazardBarriers == start.hazardBarriers + 3)
            #expect(try device.download(c, count: 64).allSatisfy { $0 == 6 })
            #expect(try device.download(b, count: 64).allSatisfy { $0 == 1 })
            let messages = runtime.drainValidationMessages()
            #expect(messages.isEmpty, "\(messages)")
        }

        @Test func longChainsSubmitInBatches() throws {
            let device = try Fixture.device
            try device.synchronize()
            let start = device.statistics
            let x = try device.upload([Float](repeating: 0, count: 1000))
            for _ in 0..<300 {
                try device.scaleShift(x, scale: 1, offset: 1, count: 1000, into: x)
            }
            #expect(device.statistics.submissions > start.submissions + 2)
            #expect(try device.download(x, count: 1000).allSatisfy { $0 == 300 })
            Fixture.expectNoValidationMessages()
        }

        @Test func temporariesStayAliveUntilTheGPUIsDone() throws {
            let device = try Fixture.device
            let out = try device.makeBuffer(elementCount: 4096)
            for round in 0..<20 {
                // The temporary goes out of scope right after recording; its range must
                // not be reused before the dispatch that reads it has run.
                let temporary = try device.upload([Float](repeating: Float(round), count: 4096))
                try device.scaleShift(temporary, scale: 2, offset: 0, count: 4096, into: out)
            }
            let reused = try device.upload([Float](repeating: -1, count: 4096))
            _ = reused
            #expect(try device.download(out, count: 4096).allSatisfy { $0 == 38 })
            Fixture.expectNoValidationMessages()
        }

        @Test func concurrentUseFromSeveralThreads() async throws {
            let device = try Fixture.device
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for task in 0..<4 {
                    group.addTask {
                        let values = (0..<513).map { Float($0 + task) }
                        let input = try device.upload(values)
                        let output = try device.makeBuffer(elementCount: 513)
                        for _ in 0..<10 {
                            try device.scaleShift(input, scale: 1, offset: 1, count: 513, into: output)
                            try device.scaleShift(output, scale: 1, offset: -1, count: 513, into: input)
                        }
                        return try device.download(input, count: 513) == values
                    }
                }
                for try await ok in group { #expect(ok) }
            }
            Fixture.expectNoValidationMessages()
        }
    }
}
