import TensorCore

/// Anything with named trainable parameters: layers, attention, a whole model. Names are
/// dotted paths, as PyTorch's `named_parameters()` and `state_dict()` keys
/// ("encoder.layer.0.attention.query.weight"), so checkpoints map onto modules by name.
///
/// A conforming type implements ``namedParameters`` (a ``Layer`` may implement only
/// `parameters` instead, and is then named by position).
///
/// ```swift
/// let layer = try Linear(4, 3, on: .cpu)
/// print(layer.namedParameters.map(\.name))              // ["weight", "bias"]
/// try layer.loadParameters(["weight": w, "bias": b])      // copies in place, shapes checked
/// ```
public protocol Module: Sendable {
    /// Every trainable tensor with its dotted name, in a fixed order.
    var namedParameters: [(name: String, tensor: Tensor)] { get }

    /// Switches training behaviour (dropout) on or off, in this module and every module it
    /// holds, as PyTorch's `train()` / `eval()`. Modules start in training mode.
    func setTraining(_ training: Bool)
}

extension Module {
    /// Nothing to switch (a module without dropout and without submodules).
    public func setTraining(_ training: Bool) {}

    /// The parameters in ``namedParameters``' order (what an optimizer takes).
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// The parameter called `name`, or nil.
    public func parameter(named name: String) -> Tensor? {
        namedParameters.first { $0.name == name }?.tensor
    }

    /// The parameters as a dictionary by name (for ``saveSafetensors``-style savers).
    public var parameterDictionary: [String: Tensor] {
        Dictionary(namedParameters.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
    }

    /// Copies `values` into the parameters of the same names, in place (every optimizer and
    /// view of a parameter sees the new values), as PyTorch's `load_state_dict`. A value on
    /// another device is moved, one of another float type is cast. With `strict` (the
    /// default) a parameter without a value and a value without a parameter both throw,
    /// naming them; a shape mismatch always throws, naming both shapes.
    ///
    /// ```swift
    /// let weights = try loadSafetensors(path: "model.safetensors", on: .cpu)
    /// try model.loadParameters(weights, strict: false)
    /// ```
    public func loadParameters(_ values: [String: Tensor], strict: Bool = true) throws(TensorError) {
        let named = namedParameters
        if strict {
            let missing = named.map(\.name).filter { values[$0] == nil }
            let known = Set(named.map(\.name))
            let unexpected = values.keys.filter { !known.contains($0) }.sorted()
            guard missing.isEmpty, unexpected.isEmpty else {
                throw .invalidArgument(op: "loadParameters",
                                       reason: "missing \(missing.prefix(8)) (\(missing.count)), unexpected \(unexpected.prefix(8)) (\(unexpected.count))")
            }
        }
        try withNoGrad { () throws(TensorError) in
            for (name, parameter) in named {
                guard let value = values[name] else { continue }
                guard value.shape == parameter.shape else {
                    throw .shapeMismatch(op: "loadParameters \(name)", lhs: parameter.shape, rhs: value.shape,
                                         reason: "the value's shape differs from the parameter's")
                }
                var converted = value.detached()
                if converted.device != parameter.device { converted = try converted.to(parameter.device) }
                if converted.dtype != parameter.dtype { converted = try converted.cast(to: parameter.dtype) }
                try parameter.assign(converted)
            }
        }
    }
}
