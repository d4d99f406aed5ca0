import TensorCore

/// An op's composite as plain values: its primitives with buffers replaced by slots, ready to
/// be replayed as differentiable frontend ops (``CompositeGradient``).
///
/// Slot values are flat (rank-1, contiguous) tensors holding a buffer's elements from 0: a
/// step reads one through its layout (``view(_:_:)``) and writes a new flat value, so a
/// buffer written twice simply takes the later value. Holding no buffers, a program may be
/// captured by a backward closure without keeping device memory alive.
struct CompositeProgram: Sendable {
    /// One primitive, each a differentiable frontend function.
    enum Step: Sendable {
        /// ``Tensor/full(_:value:on:)`` (a constant).
        case fill(slot: Int, value: Float, count: Int)
        /// ``Tensor/cast(to:)`` of the view (a strided copy when `type` is nil).
        case cast(source: Int, layout: StridedLayout, destination: Int, type: DType?)
        /// ``elementwise(_:_:_:)`` of two views.
        case binary(BinaryOp, a: Int, aLayout: StridedLayout, b: Int, bLayout: StridedLayout, output: Int)
        /// ``unary(_:_:)``.
        case unary(UnaryOp, input: Int, layout: StridedLayout, output: Int)
        /// ``scaleShift(_:scale:offset:)``.
        case scaleShift(input: Int, layout: StridedLayout, scale: Float, offset: Float, output: Int)
        /// ``activate(_:_:)``.
        case activate(Activation, input: Int, layout: StridedLayout, output: Int)
        /// ``matmul(_:_:)`` of the (possibly transposed, batched) operands, no epilogue.
        case matmul(a: Int, b: Int, c: Int, geometry: MatmulGeometry)
        /// ``Tensor/sum(axis:keepDims:)`` over the middle axis of a rank-3 view, then the scale.
        case reduceSum(input: Int, layout: StridedLayout, scale: Float, output: Int)
        /// ``softmax(_:logarithm:storage:)`` over the view's last axis.
        case softmax(input: Int, layout: StridedLayout, logarithm: Bool, output: Int)
        /// ``where(_:_:_:)`` of three views.
        case select(condition: Int, conditionLayout: StridedLayout, a: Int, aLayout: StridedLayout, b: Int,
                    bLayout: StridedLayout, output: Int)
    }

    let steps: [Step]
    let inputSlots: [Int]
    let outputSlot: Int
    let slotCount: Int

    /// The output (flat) computed from `inputs` (one contiguous tensor per input slot) by
    /// the program's steps, recorded for backward when the inputs require grad.
    func replay(_ inputs: [Tensor], on device: Device) throws(TensorError) -> Tensor {
        var values = [Tensor?](repeating: nil, count: slotCount)
        for (slot, input) in zip(inputSlots, inputs) { values[slot] = try input.reshaped([input.elementCount]) }
        func value(_ slot: Int) throws(TensorError) -> Tensor {
            guard let value = values[slot] else {
                throw .invalidArgument(op: "composite gradient", reason: "slot \(slot) is read before it is written")
            }
            return value
        }
        func read(_ slot: Int, _ layout: StridedLayout) throws(TensorError) -> Tensor {
            try Self.view(value(slot), layout)
        }
        func flat(_ tensor: Tensor) throws(TensorError) -> Tensor { try tensor.reshaped([tensor.elementCount]) }
        for step in steps {
            switch step {
            case let .fill(slot, value, count):
                values[slot] = try Tensor.full([count], value: value, on: device)
            case let .cast(source, layout, destination, type):
                let stored = try value(source)
                if let type, stored.dtype.isFloatingPoint, type.isFloatingPoint {
                    // Between float types the whole buffer is cast first, then viewed: a broadcast
                    // view's gradient is then summed in float32 (sums take float32 only).
                    values[destination] = try flat(Self.view(stored.cast(to: type), layout).contiguous())
                } else if let type {
                    values[destination] = try flat(Self.view(stored, layout).cast(to: type))
                } else {
                    values[destination] = try flat(Self.view(stored, layout).contiguous())
                }
            case let .binary(op, a, aLayout, b, bLayout, output):
                values[output] = try flat(elementwise(op, read(a, aLayout), read(b, bLayout)))
            case let .unary(op, input, layout, output):
                values[output] = try flat(unary(op, read(input, layout)))
            case let .scaleShift(input, layout, scale, offset, output):
                values[output] = try flat(scaleShift(read(input, layout), scale: scale, offset: offset))
            case let .activate(activation, input, layout, output):
                values[output] = try flat(activate(read(input, layout), activation))
            case let .matmul(a, b, c, g):
                // Stored operands are [batch, rows, columns] with the geometry's batch strides
                // (0: one matrix for every batch); a transposed one is stored [k, m] / [n, k].
                let (aRows, aColumns) = g.transposeA ? (g.k, g.m) : (g.m, g.k)
                let (bRows, bColumns) = g.transposeB ? (g.n, g.k) : (g.k, g.n)
                var left = try read(a, StridedLayout(shape: [g.batch, aRows, aColumns], strides: [g.batchStrideA, aColumns, 1]))
                var right = try read(b, StridedLayout(shape: [g.batch, bRows, bColumns], strides: [g.batchStrideB, bColumns, 1]))
                if g.transposeA { left = try left.transposed() }
                if g.transposeB { right = try right.transposed() }
                values[c] = try flat(matmul(left, right))
            case let .reduceSum(input, layout, scale, output):
                let sum = try read(input, layout).sum(axis: 1)
                values[output] = try flat(scale == 1 ? sum : scaleShift(sum, scale: scale))
            case let .softmax(input, layout, logarithm, output):
                values[output] = try flat(softmax(read(input, layout), logarithm: logarithm))
            case let .select(condition, conditionLayout, a, aLayout, b, bLayout, output):
                values[output] = try flat(`where`(read(condition, conditionLayout), read(a, aLayout), read(b, bLayout)))
            }
        }
        guard let output = values[outputSlot] else {
            throw .invalidArgument(op: "composite gradient", reason: "the output slot is never written")
        }
        return output
    }

    /// The gradients of the inputs (nil where `needs` is false) given the output's: the
    /// program replayed on leaves made from `inputs`, then back-propagated.
    func gradients(inputs: [Tensor], needs: [Bool], outputShape: [Int], gradOutput: Tensor) throws(TensorError) -> [Tensor?] {
        if ShapeMath.elementCount(outputShape) == 0 {
            return try zip(inputs, needs).map { (input, need) throws(TensorError) in
                need ? try Tensor.zeros(input.shape, on: input.device).cast(to: input.dtype) : nil
            }
        }
        return try withGradRecording { () throws(TensorError) -> [Tensor?] in
            let leaves = zip(inputs, needs).map { pair in pair.1 ? pair.0.requiringGrad() : pair.0 }
            let output = try replay(leaves, on: gradOutput.device).reshaped(outputShape)
            if output.requiresGrad { try output.backward(gradOutput) }
            return try zip(leaves, needs).map { (leaf, need) throws(TensorError) in
                guard need else { return nil }
                if let grad = leaf.grad { return grad }
                return try Tensor.zeros(leaf.shape, on: leaf.device).cast(to: leaf.dtype)
            }
        }
    }

    /// The elements of the flat tensor `flat` that `layout` reads, as a tensor of
    /// `layout.shape`, through differentiable views: a contiguous block (from the layout's
    /// offset) in some axis order, broadcast along stride-0 axes. Other layouts (gaps between
    /// elements, overlaps) throw.
    static func view(_ flat: Tensor, _ layout: StridedLayout) throws(TensorError) -> Tensor {
        let shape = layout.shape
        let count = ShapeMath.elementCount(shape)
        if count == 0 { return try flat.slice(axis: 0, range: 0..<0).reshaped(shape) }
        let dense = shape.indices.filter { shape[$0] > 1 && layout.strides[$0] != 0 }
        let byStride = dense.sorted { layout.strides[$0] > layout.strides[$1] }
        var block = 1
        for axis in byStride.reversed() {
            guard layout.strides[axis] == block else {
                throw .invalidArgument(op: "composite gradient",
                                       reason: "layout \(shape) strides \(layout.strides) is not a dense block in some axis order")
            }
            block *= shape[axis]
        }
        guard layout.offset >= 0, layout.offset + block <= flat.elementCount else {
            throw .invalidArgument(op: "composite gradient",
                                   reason: "layout \(shape) at offset \(layout.offset) reads past \(flat.elementCount) elements")
        }
        var result = layout.offset == 0 && block == flat.elementCount
            ? flat : try flat.slice(axis: 0, range: layout.offset..<(layout.offset + block))
        result = try result.reshaped(byStride.map { shape[$0] })
        result = try result.permuted(dense.map { axis in byStride.firstIndex(of: axis) ?? 0 })
        result = try result.reshaped(shape.indices.map { dense.contains($0) ? shape[$0] : 1 })
        return result.shape == shape ? result : try result.expanded(to: shape)
    }
}
