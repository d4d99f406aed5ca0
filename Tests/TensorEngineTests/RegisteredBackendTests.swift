import CPUBackend
import Foundation
import Testing
import TensorEngine

/// A third backend, registered from outside the engine's modules: it executes only
/// primitives (no scaleShift kernel, no fused matmul epilogue, no softmax), so the frontend
/// must run the fused ops as their composites, and an op with neither kernel nor composite
/// must throw. Results are checked against float64 references, not against the CPU.
final class PrimitivesOnlyBackend: Backend {
    static let shared = PrimitivesOnlyBackend()
    let inner = CPUDevice(threads: 1)
    let compositeFallbacks = Counter()

    var name: String { "primitives only" }
    var kind: DeviceKind { DeviceKind(rawValue: "primitives") }
    var details: String { "the CPU kernels minus scaleShift, matmul epilogues and softmax" }

    func makeBuffer(byteCount: Int) throws(TensorError) -> any BackendBuffer {
        try inner.makeBuffer(byteCount: byteCount)
    }
    func write(_ source: UnsafeRawBufferPointer, to buffer: any BackendBuffer) throws(TensorError) {
        try inner.write(source, to: buffer)
    }
    func read(_ buffer: any BackendBuffer, into destination: UnsafeMutableRawBufferPointer) throws(TensorError) {
        try inner.read(buffer, into: destination)
    }
    func synchronize() throws(TensorError) { try inner.synchronize() }

    func supports(_ op: BackendOp) -> Bool {
        let supported: Bool
        switch op {
        case .scaleShift, .softmax: supported = false
        case let .matmul(_, _, _, _, epilogue): supported = epilogue.isNone
        default: supported = true
        }
        if !supported { compositeFallbacks.increment() }
        return supported
    }
    func execute(_ op: BackendOp) throws(TensorError) { try inner.execute(op) }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

struct PrimitivesOnlyProvider: DeviceProvider {
    var kind: DeviceKind { DeviceKind(rawValue: "primitives") }
    func device(index: Int) throws(TensorError) -> Device {
        guard index == 0 else { throw .backendUnavailable(backend: "primitives", reason: "only index 0 exists") }
        return Device(backend: PrimitivesOnlyBackend.shared, identifier: "primitives:0")
    }
    func availableDevices() -> [Device] { [try! device(index: 0)] }
    func unavailableReasons() -> [(backend: String, reason: String)] { [] }
    func automaticChoice() -> (device: Device, preference: Int)? { nil }
}

@Suite struct RegisteredBackendTests {
    static let device: Device = {
        Device.register(PrimitivesOnlyProvider())
        return try! Device.select("primitives:0")
    }()

    @Test func registrationReachesSelectionAndTheDeviceList() throws {
        let device = Self.device
        #expect(device.kind.rawValue == "primitives")
        #expect(device.identifier == "primitives:0" && device.index == 0)
        #expect(Device.available.contains(device))
        #expect(try Device.select("primitives") == device)
        #expect(throws: TensorError.self) { try Device.select("primitives:3") }
        do {
            _ = try Device.select("tpu:0")
            Issue.record("an unknown kind was accepted")
        } catch {
            #expect("\(error)".contains("primitives:N"), "the error lists the registered kinds: \(error)")
        }
    }

    /// linear(x, w, b, gelu) with the epilogue unsupported: matmul, broadcast add and
    /// activation run instead, and match the float64 definition.
    @Test func fusedLinearRunsAsItsComposite() throws {
        let (m, k, n) = (7, 5, 3)
        var rng = SeededRandom(seed: 3)
        let xs = rng.normalFloats(m * k), ws = rng.normalFloats(k * n), bs = rng.normalFloats(n)
        let before = PrimitivesOnlyBackend.shared.compositeFallbacks.value
        let y = try linear(Tensor(xs, shape: [m, k], on: Self.device), weight: Tensor(ws, shape: [k, n], on: Self.device),
                           bias: Tensor(bs, shape: [n], on: Self.device), activation: .gelu)
        #expect(PrimitivesOnlyBackend.shared.compositeFallbacks.value > before)
        let got = try y.toArray()
        for r in 0..<m {
            for c in 0..<n {
                var z = Double(bs[c])
                for i in 0..<k { z += Double(xs[r * k + i]) * Double(ws[i * n + c]) }
                let expected = Activation.gelu.forward(z)
                #expect(Swift.abs(Double(got[r * n + c]) - expected) <= 1e-5 * max(1, Swift.abs(expected)))
            }
        }
        let shifted = try (Tensor([1, 2, 3], shape: [3], on: Self.device) * 2 + 0.5).toArray()
        #expect(shifted == [2.5, 4.5, 6.5])
    }

    /// A few-bit training step runs on the backend (the epilogue with codes as its composite)
    /// and its weight gradient matches the float64 few-bit definition: x^T (g * levels[code(z)]).
    @Test func fewBitTrainingStepRunsThroughComposites() throws {
        let (m, k, n) = (4, 3, 5)
        var rng = SeededRandom(seed: 9)
        let xs = rng.normalFloats(m * k), ws = rng.normalFloats(k * n)
        let w = try Tensor(ws, shape: [k, n], on: Self.device).requiringGrad()
        let y = try linear(Tensor(xs, shape: [m, k], on: Self.device), weight: w, bias: nil, activation: .gelu,
                           memory: .fewBit(bits: 2))
        try y.sum().backward()
        let table = try FewBitTable.optimal(for: .gelu, bits: 2)
        var expected = [Double](repeating: 0, count: k * n)
        for r in 0..<m {
            for c in 0..<n {
                var z = 0.0
                for i in 0..<k { z += Double(xs[r * k + i]) * Double(ws[i * n + c]) }
                let code = table.borders.filter { Double($0) < Double(Float(z)) }.count
                for i in 0..<k { expected[i * n + c] += Double(xs[r * k + i]) * Double(table.levels[code]) }
            }
        }
        let got = try w.grad!.toArray()
        for i in expected.indices { #expect(Swift.abs(Double(got[i]) - expected[i]) < 1e-5) }
    }

    @Test func anOpWithoutKernelOrCompositeThrowsNamingIt() throws {
        let x = try Tensor([1, 2, 3], shape: [1, 3], on: Self.device)
        do {
            _ = try softmax(x)
            Issue.record("softmax ran on a backend without a kernel for it")
        } catch let error {
            guard case .unsupportedOperation = error else {
                Issue.record("expected unsupportedOperation, got \(error)")
                return
            }
            #expect("\(error)".contains("softmax") && "\(error)".contains("primitives only"))
        }
    }
}
