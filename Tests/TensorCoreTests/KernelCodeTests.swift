import TensorCore
import Testing

/// The kernel codes of Shaders/common/tensor_codes.h, the one table that Swift, the C kernels
/// and the shaders all compile from, as the Swift enums map them: each enum's codes are
/// distinct and dense from 0 (the C kernels index tables by them and the shaders switch on
/// them), so two cases can never share a kernel and no code is left without a case.
@Suite("Kernel codes")
struct KernelCodeTests {
    static func expectDense(_ codes: [Int32], _ what: String) {
        #expect(codes.sorted() == (0..<Int32(codes.count)).map { $0 }, "\(what) codes \(codes)")
    }

    @Test func activationCodesAreDistinctAndDense() {
        Self.expectDense(Activation.allCases.map(\.kernelCode), "activation")
    }

    @Test func binaryUnaryAndDTypeCodesAreDistinctAndDense() {
        Self.expectDense(BinaryOp.allCases.map(\.kernelCode), "binary op")
        Self.expectDense(UnaryOp.allCases.map(\.kernelCode), "unary op")
        Self.expectDense(DType.allCases.map(\.kernelCode), "dtype")
    }
}
