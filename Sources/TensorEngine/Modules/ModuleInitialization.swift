import TensorCore

/// How module initialisers fill their weights: seeded normal values, or zeros while a model
/// is being built only to have its parameters loaded (``SentenceEmbedder``: drawing 22.7M
/// normal values that are overwritten at once costs seconds).
enum ModuleInitialization {
    @TaskLocal static var forLoading = false

    /// `Tensor.randn(shape, std:, seed:)`, or zeros while building for loading.
    static func normal(_ shape: [Int], std: Float, seed: UInt64, on device: Device) throws(TensorError) -> Tensor {
        forLoading ? try Tensor.zeros(shape, on: device) : try Tensor.randn(shape, std: std, seed: seed, on: device)
    }

    /// Runs `body` with weights zero-filled instead of drawn.
    static func forLoading<T>(_ body: () throws(TensorError) -> T) throws(TensorError) -> T {
        let result: Result<T, TensorError> = $forLoading.withValue(true) { Result { () throws(TensorError) in try body() } }
        return try result.get()
    }
}
