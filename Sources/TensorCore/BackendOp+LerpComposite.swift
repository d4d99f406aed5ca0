extension BackendOp {
    /// `start + weight * (end - start)` as three broadcast binary ops: the difference and its
    /// product with the weight in contiguous temporaries of the output's shape, then the sum.
    static func lerpComposite(
        start: any BackendBuffer, startLayout: StridedLayout, end: any BackendBuffer, endLayout: StridedLayout,
        weight: any BackendBuffer, weightLayout: StridedLayout, output: any BackendBuffer,
        temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        let flat = StridedLayout.contiguous(startLayout.shape)
        let difference = try temporary(flat.elementCount)
        let step = try temporary(flat.elementCount)
        return [
            .binary(.sub, a: end, aLayout: endLayout, b: start, bLayout: startLayout, output: difference),
            .binary(.mul, a: weight, aLayout: weightLayout, b: difference, bLayout: flat, output: step),
            .binary(.add, a: start, aLayout: startLayout, b: step, bLayout: flat, output: output),
        ]
    }
}
