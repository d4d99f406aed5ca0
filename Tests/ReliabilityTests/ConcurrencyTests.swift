import Dispatch
import Foundation
import TensorCore
import TestSupport
import Testing
import TensorEngine

/// One device used from 8 threads at once gives bitwise the results of serial runs,
/// for independent tensors and for one input shared read-only.
@Suite(.vulkanValidation)
struct ConcurrencyTests {
    static let threads = 8

    /// A mix of ops on `x` (and `w`): matmul, fused linear, softmax, reductions, views, elementwise.
    static func work(_ x: Tensor, _ w: Tensor) throws(TensorError) -> [[Float]] {
        let h = try linear(x, weight: w, activation: .gelu)
        let p = try softmax(h)
        let t = try matmul(x.transposed(), h)
        let e = try (x * x + 1).log().sum(axis: 0)
        let s = try silu(t).mean()
        return [try h.toArray(), try p.toArray(), try t.toArray(), try e.toArray(), try s.toArray()]
    }

    static func inputs(seed: UInt64, on device: Device) throws(TensorError) -> (Tensor, Tensor) {
        (try Tensor.randn([24, 16], seed: seed, on: device), try Tensor.randn([16, 12], std: 0.3, seed: seed + 100, on: device))
    }

    static func bitwise(_ a: [[Float]], _ b: [[Float]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }
        }
    }

    @Test(arguments: TestDevices.all)
    func eightThreadsMatchSerial(device: Device) throws {
        let rounds = device.kind == .vulkan ? 3 : 10
        // Serial references.
        var serial: [[[Float]]] = []
        for t in 0..<Self.threads {
            let (x, w) = try Self.inputs(seed: UInt64(t), on: device)
            serial.append(try Self.work(x, w))
        }
        let (sharedX, sharedW) = try Self.inputs(seed: 0, on: device)
        let reference = serial
        let sharedSerial = serial[0]

        let mismatches = LockedValue<[String]>([])
        for round in 0..<rounds {
            DispatchQueue.concurrentPerform(iterations: Self.threads) { t in
                do {
                    // Independent tensors, created on this thread.
                    let (x, w) = try Self.inputs(seed: UInt64(t), on: device)
                    let own = try Self.work(x, w)
                    if !Self.bitwise(own, reference[t]) {
                        mismatches.withLock { $0.append("round \(round) thread \(t): independent tensors differ") }
                    }
                    // The same input tensors, shared read-only by all threads.
                    let shared = try Self.work(sharedX, sharedW)
                    if !Self.bitwise(shared, sharedSerial) {
                        mismatches.withLock { $0.append("round \(round) thread \(t): shared input differs") }
                    }
                } catch {
                    mismatches.withLock { $0.append("round \(round) thread \(t): threw \(error)") }
                }
            }
        }
        let found = mismatches.withLock { $0 }
        #expect(found.isEmpty, "\(device.identifier): \(found.joined(separator: "\n"))")
        // The shared inputs were not modified.
        let (x0, w0) = try Self.inputs(seed: 0, on: device)
        #expect(try sharedX.toArray() == x0.toArray())
        #expect(try sharedW.toArray() == w0.toArray())
    }

    /// Autograd from several tasks at once: each graph is independent.
    @Test(arguments: TestDevices.all)
    func concurrentBackward(device: Device) async throws {
        let results = try await withThrowingTaskGroup(of: [Float].self) { group in
            for _ in 0..<Self.threads {
                group.addTask {
                    let w = try Tensor.randn([8, 4], seed: 5, on: device).requiringGrad()
                    let x = try Tensor.randn([6, 8], seed: 6, on: device)
                    try linear(x, weight: w, activation: .tanh).sum().backward()
                    return try #require(w.grad).toArray()
                }
            }
            var all: [[Float]] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == Self.threads)
        #expect(results.allSatisfy { $0.map(\.bitPattern) == results[0].map(\.bitPattern) })
    }
}
