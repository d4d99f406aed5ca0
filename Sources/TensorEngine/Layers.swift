import Dispatch
import TensorCore

/// A differentiable building block with one input and trainable parameters.
///
/// A layer lists its ``parameters``; ``Module/namedParameters`` names them by position
/// ("0", "1", ...) unless the layer names them itself (``Linear``: "weight", "bias").
public protocol Layer: Module {
    func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor
    /// The tensors an optimiser updates (leaves that require grad).
    var parameters: [Tensor] { get }
}

extension Layer {
    /// The parameters named by position, "0", "1", ...
    public var namedParameters: [(name: String, tensor: Tensor)] {
        parameters.enumerated().map { ("\($0.offset)", $0.element) }
    }
}

/// A fully connected layer `activation(x * weight + bias)`, one fused kernel per call.
///
/// Weights start He/Glorot-style scaled normal (std = sqrt(2 / (in + out))), biases at zero.
/// For backward the layer keeps its input as ``inputStorage`` says (float32, or Mesa's
/// 8-bit codes) and its activation's state as ``memory`` says.
///
/// ```swift
/// let layer = try Linear(784, 256, activation: .gelu, seed: 1, on: .cpu)
/// let h = try layer(x)          // [batch, 256]
/// let small = try Linear(784, 256, activation: .gelu, memory: .fewBit(bits: 3), inputStorage: .mesa, on: .cpu)
/// ```
public struct Linear: Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let activation: Activation
    /// What the activation keeps for backward (``ActivationMemory``).
    public let memory: ActivationMemory
    /// How the input is kept for the weight's gradient (``ActivationStorage``).
    public let inputStorage: ActivationStorage
    /// TEAL-style input sparsity at inference (off until a threshold is set).
    public let inputSparsity = InputSparsity()

    public init(_ inputs: Int, _ outputs: Int, activation: Activation = .identity, bias: Bool = true,
                memory: ActivationMemory = .exact, inputStorage: ActivationStorage = .float32, seed: UInt64 = 0,
                on device: Device = .default) throws(TensorError) {
        guard inputs > 0, outputs > 0 else {
            throw .invalidArgument(op: "Linear", reason: "features must be positive, got \(inputs) -> \(outputs)")
        }
        let std = (2 / Float(inputs + outputs)).squareRoot()
        weight = try ModuleInitialization.normal([inputs, outputs], std: std, seed: seed, on: device).requiringGrad()
        self.bias = bias ? try Tensor.zeros([outputs], on: device).requiringGrad() : nil
        self.activation = activation
        self.memory = memory
        self.inputStorage = inputStorage
        _ = try memory.table(for: activation, op: "Linear")
        try inputStorage.validate(op: "Linear")
    }

    /// A layer around existing tensors (weight [in, out], bias [out]); a bad `inputStorage`
    /// (an int8 group size below 1) throws at the first call.
    public init(weight: Tensor, bias: Tensor?, activation: Activation = .identity, memory: ActivationMemory = .exact,
                inputStorage: ActivationStorage = .float32) {
        self.weight = weight
        self.bias = bias
        self.activation = activation
        self.memory = memory
        self.inputStorage = inputStorage
    }

    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor {
        let settings = inputSparsity.settings   // one lock per call
        guard settings.timing else { return try product(input, threshold: settings.threshold, calibrating: settings.calibrating) }
        try input.device.synchronize()
        let start = DispatchTime.now().uptimeNanoseconds
        let output = try product(input, threshold: settings.threshold, calibrating: settings.calibrating)
        try output.device.synchronize()
        inputSparsity.addTime(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        return output
    }

    /// The layer's output: dense, or through the sparse dispatcher at inference with a threshold.
    private func product(_ input: Tensor, threshold: Float?, calibrating: Bool) throws(TensorError) -> Tensor {
        let recording = !GradMode.disabled && (input.requiresGrad || weight.requiresGrad)
        if !recording, calibrating { inputSparsity.record(try input.toArray()) }
        if !recording, let threshold, input.rank >= 1, input.shape.last == weight.shape[0] {
            return try sparseProduct(input, threshold: threshold)
        }
        return try linear(input, weight: weight, bias: bias, activation: activation, memory: memory,
                          inputStorage: inputStorage)
    }

    /// Inference with input sparsity (TEAL): inputs of magnitude at most `threshold` are
    /// skipped. Where the dispatcher finds the dense product faster (many rows at once: a whole
    /// sequence, a batch), the small inputs are zeroed in place of skipping and the fused dense
    /// product runs, bias and activation in its epilogue, so a threshold costs one masking pass
    /// where skipping cannot pay; otherwise `sparseMatmul` skips them in the mode it chose.
    private func sparseProduct(_ input: Tensor, threshold: Float) throws(TensorError) -> Tensor {
        let features = weight.shape[0]
        let rows = input.elementCount / Swift.max(features, 1)
        let flat = try input.reshaped([rows, features])
        let mode = try sparseDecision(flat, weight, threshold: threshold).mode
        var output: Tensor
        if mode == .dense {
            let kept = try flat * greater(flat.abs(), threshold)
            output = try linear(kept, weight: weight, bias: bias, activation: activation)
        } else {
            output = try sparseMatmul(flat, weight, threshold: threshold, mode: mode)
            if let bias { output = try output + bias }
            if activation != .identity { output = try activate(output, activation) }
        }
        return try output.reshaped(Array(input.shape.dropLast()) + [weight.shape[1]])
    }

    public var parameters: [Tensor] { [weight] + (bias.map { [$0] } ?? []) }

    /// "weight" and, with a bias, "bias".
    public var namedParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }
}

/// Layers applied in order.
///
/// ```swift
/// let mlp = try Sequential([
///     Linear(64, 512, activation: .gelu, seed: 1, on: .cpu),
///     Linear(512, 10, seed: 2, on: .cpu),
/// ])
/// let logits = try mlp(x)
/// ```
public struct Sequential: Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }

    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor {
        var value = input
        for layer in layers { value = try layer(value) }
        return value
    }

    public var parameters: [Tensor] { layers.flatMap(\.parameters) }

    /// Switches every layer.
    public func setTraining(_ training: Bool) {
        for layer in layers { layer.setTraining(training) }
    }

    /// Each layer's names prefixed by its position: "0.weight", "0.bias", "1.weight", ...
    public var namedParameters: [(name: String, tensor: Tensor)] {
        layers.enumerated().flatMap { index, layer in
            layer.namedParameters.map { ("\(index).\($0.name)", $0.tensor) }
        }
    }
}
