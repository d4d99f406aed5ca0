import TensorCore

// Placeholder replaced by the OpenBLAS-backed implementation.
public final class CPUDevice: Sendable {
    public static let shared = CPUDevice()
}
