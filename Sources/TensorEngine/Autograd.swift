import Foundation
import TensorCore

/// Per-tensor autograd state: present exactly when the tensor requires grad.
///
/// `@unchecked Sendable`: `accumulatedGrad` and `quantizedForms` are the only mutable fields
/// and every access holds `lock`; `node` is immutable.
final class GradState: @unchecked Sendable {
    let node: GradNode?
    private let lock = NSLock()
    private var accumulatedGrad: Tensor?
    /// This tensor's 8-bit form by group size, shared by every op that keeps it in 8 bits
    /// (only for tensors produced by an op: their values never change).
    private var quantizedForms: [Int: QuantizedActivation] = [:]

    init(node: GradNode?) { self.node = node }

    /// The 8-bit form in groups of `groupSize`: made by `make` the first time, the same object after.
    func quantized(groupSize: Int,
                   make: () throws(TensorError) -> QuantizedActivation) throws(TensorError) -> QuantizedActivation {
        lock.lock()
        defer { lock.unlock() }
        if let existing = quantizedForms[groupSize] { return existing }
        let made = try make()
        quantizedForms[groupSize] = made
        return made
    }

    /// Records `form` as this tensor's 8-bit form (an op that keeps its own output in 8 bits).
    func storeQuantized(_ form: QuantizedActivation) {
        lock.lock()
        quantizedForms[form.layout.groupSize] = form
        lock.unlock()
    }

    var grad: Tensor? {
        lock.lock()
        defer { lock.unlock() }
        return accumulatedGrad
    }

    func accumulate(_ gradient: Tensor) throws(TensorError) {
        lock.lock()
        defer { lock.unlock() }
        if let existing = accumulatedGrad {
            accumulatedGrad = try withNoGrad { () throws(TensorError) in try existing + gradient }
        } else {
            accumulatedGrad = gradient
        }
    }

    func clear() {
        lock.lock()
        accumulatedGrad = nil
        lock.unlock()
    }
}

/// One input of a recorded operation: its autograd state (nil when it does not require grad)
/// and the identity of the storage it reads.
///
/// The graph holds inputs' states, not the input tensors: a tensor's values are freed once
/// no one uses them, so what the graph keeps alive is exactly what each op's backward
/// captured (its ``RetainedStorage``), which is what the memory modes shrink.
struct GradEdge: Sendable {
    let state: GradState?
    let storage: ObjectIdentifier

    init(_ tensor: Tensor) {
        state = tensor.gradState
        storage = ObjectIdentifier(tensor.storage)
    }
}

/// One recorded operation: its differentiable inputs, what it keeps for backward, and the
/// function from the output's gradient to each input's gradient.
final class GradNode: Sendable {
    let op: String
    let inputs: [GradEdge]
    /// Tensors (or packed codes) kept alive for backward, for memory accounting.
    let retained: [RetainedStorage]
    let backward: @Sendable (Tensor) throws(TensorError) -> [Tensor?]

    init(op: String, inputs: [Tensor], retained: [RetainedStorage],
         backward: @escaping @Sendable (Tensor) throws(TensorError) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs.map(GradEdge.init)
        self.retained = retained
        self.backward = backward
    }
}

/// A buffer an op keeps for backward, identified so shared buffers count once; `label`
/// (default: the op's name) is the line it is reported under.
struct RetainedStorage: Sendable {
    let identity: ObjectIdentifier
    let bytes: Int
    let label: String?

    init(_ tensor: Tensor, label: String? = nil) {
        identity = ObjectIdentifier(tensor.storage)
        bytes = tensor.elementCount * tensor.dtype.byteSize
        self.label = label
    }

    init(buffer: any BackendBuffer, bytes: Int, label: String? = nil) {
        identity = ObjectIdentifier(buffer)
        self.bytes = bytes
        self.label = label
    }
}

/// Whether operations are recorded for backward (task-local, so scopes nest and threads do not interfere).
enum GradMode {
    @TaskLocal static var disabled = false
}

/// Runs `body` without recording operations for backward (like `torch.no_grad()`).
///
/// ```swift
/// let prediction = try withNoGrad { try model(x) }
/// ```
public func withNoGrad<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    let result: Result<T, E> = GradMode.$disabled.withValue(true) { Result { () throws(E) in try body() } }
    return try result.get()
}

enum Autograd {
    /// Attaches a backward node to `output` when recording is on and some input requires grad.
    static func record(_ op: String, _ output: Tensor, inputs: [Tensor], retained: [RetainedStorage] = [],
                       backward: @escaping @Sendable (Tensor) throws(TensorError) -> [Tensor?]) -> Tensor {
        guard !GradMode.disabled, inputs.contains(where: { $0.requiresGrad }) else { return output }
        let node = GradNode(op: op, inputs: inputs, retained: retained, backward: backward)
        return output.withGradState(GradState(node: node))
    }

    /// Sums `gradient` over the axes that broadcasting expanded, giving a tensor of `shape`.
    static func reduce(_ gradient: Tensor, to shape: [Int]) throws(TensorError) -> Tensor {
        if gradient.shape == shape { return gradient }
        var result = gradient
        while result.rank > shape.count { result = try result.sum(axis: 0) }
        for axis in 0..<shape.count where shape[axis] == 1 && result.shape[axis] != 1 {
            result = try result.sum(axis: axis, keepDims: true)
        }
        return try result.reshaped(shape)
    }
}

extension Tensor {
    /// True when operations on this tensor are recorded for ``backward(_:)``.
    public var requiresGrad: Bool { gradState != nil }

    /// The same values as a leaf that requires grad (shares storage; like `requires_grad_()`).
    ///
    /// ```swift
    /// let w = try Tensor.randn([3, 2], seed: 1, on: .cpu).requiringGrad()
    /// let loss = try matmul(x, w).sum()
    /// try loss.backward()
    /// print(try w.grad!.toArray())
    /// ```
    public func requiringGrad() -> Tensor {
        withGradState(GradState(node: nil))
    }

    /// The same values, cut off from the graph.
    public func detached() -> Tensor {
        withGradState(nil)
    }

    /// The gradient accumulated by ``backward(_:)`` (leaves only), or nil.
    public var grad: Tensor? { gradState?.grad }

    /// Forgets the accumulated gradient (``Optimizer/zeroGrad()`` does this for every parameter).
    public func clearGrad() { gradState?.clear() }

    /// True for a tensor that requires grad and was not produced by a recorded operation.
    public var isLeaf: Bool { gradState?.node == nil }

    func withGradState(_ state: GradState?) -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset, dtype: dtype, device: device,
               gradState: state)
    }

    /// Back-propagates from this tensor, accumulating `.grad` on every leaf that requires grad.
    ///
    /// A scalar (one-element) tensor needs no `gradient`; otherwise pass one of the same shape.
    public func backward(_ gradient: Tensor? = nil) throws(TensorError) {
        guard gradState != nil else {
            throw .invalidArgument(op: "backward", reason: "the tensor does not require grad (no recorded operations lead to it)")
        }
        let seed: Tensor
        if let gradient {
            guard gradient.shape == shape else {
                throw .shapeMismatch(op: "backward", lhs: shape, rhs: gradient.shape, reason: "gradient shape differs from the tensor's")
            }
            seed = gradient.detached()
        } else {
            guard elementCount == 1 else {
                throw .invalidShape(op: "backward", shape: shape, reason: "a non-scalar tensor needs an explicit gradient")
            }
            seed = try Tensor.ones(shape, on: device)
        }
        let order = topologicalOrder()
        try withNoGrad { () throws(TensorError) in
            var gradients: [ObjectIdentifier: Tensor] = [:]
            if let root = gradState { gradients[ObjectIdentifier(root)] = seed }
            for state in order.reversed() {
                guard let gradient = gradients.removeValue(forKey: ObjectIdentifier(state)) else { continue }
                guard let node = state.node else {
                    try state.accumulate(gradient)
                    continue
                }
                let inputGradients = try node.backward(gradient)
                for (input, inputGradient) in zip(node.inputs, inputGradients) {
                    guard let inputState = input.state, let inputGradient else { continue }
                    let key = ObjectIdentifier(inputState)
                    gradients[key] = try gradients[key].map { (existing) throws(TensorError) in try existing + inputGradient } ?? inputGradient
                }
            }
        }
    }

    /// The autograd states reachable from self through recorded operations, inputs before outputs.
    func topologicalOrder() -> [GradState] {
        guard let root = gradState else { return [] }
        var order: [GradState] = []
        var visited: Set<ObjectIdentifier> = []
        var stack: [(GradState, Bool)] = [(root, false)]
        while let (state, expanded) = stack.popLast() {
            if expanded {
                order.append(state)
                continue
            }
            guard visited.insert(ObjectIdentifier(state)).inserted else { continue }
            stack.append((state, true))
            for input in state.node?.inputs ?? [] {
                if let inputState = input.state { stack.append((inputState, false)) }
            }
        }
        return order
    }

    /// Bytes the recorded graph behind this tensor keeps alive for backward, by op (each
    /// buffer counted once, under the first op that keeps it). A linear layer reports its
    /// input and weight apart from its activation's state ("gelu activation (exact)" holds
    /// the float32 pre-activation; "gelu activation (3-bit)" the packed codes).
    ///
    /// ```swift
    /// let bytes = loss.retainedBytesByOp()   // ["gelu activation (3-bit)": 12_288, "linear input": ...]
    /// ```
    public func retainedBytesByOp() -> [String: Int] {
        var seen: Set<ObjectIdentifier> = []
        var result: [String: Int] = [:]
        for state in topologicalOrder() {
            guard let node = state.node else { continue }
            for item in node.retained where seen.insert(item.identity).inserted {
                result[item.label ?? node.op, default: 0] += item.bytes
            }
        }
        return result
    }
}
