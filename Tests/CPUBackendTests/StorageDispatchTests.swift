import CPUBackend
import TensorCore
import Testing

/// The CPU backend has no 16-bit storage kernels: `supports` says no for every op on float16 /
/// bfloat16 operands (so `run` takes the casts composite), and `execute` called directly with
/// them throws instead of reading 16-bit memory as float32.
@Suite struct StorageDispatchTests {
    static let half = OperandTypes(a: .float16, c: .float16)

    static func ops(_ x: any BackendBuffer, _ y: any BackendBuffer) -> [BackendOp] {
        let flat = StridedLayout.contiguous([4])
        return [
            .unary(.exp, input: x, layout: flat, output: y, types: half),
            .scaleShift(input: x, layout: flat, scale: 2, offset: 1, output: y, types: half),
            .reduceSum(input: x, layout: .contiguous([1, 4, 1]), scale: 1, output: y, types: half),
            .activationBackward(.gelu, input: x, gradOutput: x, count: 4, gradInput: y,
                                types: OperandTypes(a: .bfloat16, b: .bfloat16, c: .bfloat16)),
            .binary(.add, a: x, aLayout: flat, b: x, bLayout: flat, output: y,
                    types: OperandTypes(a: .float16, b: .float16, c: .float16)),
            .activate(.relu, input: x, layout: flat, output: y, types: half),
        ]
    }

    @Test func sixteenBitOpsRunAsCompositesNotKernels() throws {
        let device = CPUDevice(threads: 1)
        let x = try device.makeBuffer(byteCount: 8), y = try device.makeBuffer(byteCount: 8)
        for op in Self.ops(x, y) {
            #expect(!device.supports(op), "\(op.operation)")
            #expect(throws: TensorError.self, "\(op.operation)") { try device.execute(op) }
            try device.run(op)                       // the composite: casts around the float32 kernel
        }
    }
}
