import TensorCore

extension VulkanDevice {
    /// Contiguous `destination[i] = cast(source[layout(i)])` between any two dtypes
    /// (Shaders/cast.comp; the two types are specialisation constants). The shader reads and
    /// writes 32-bit words, so 16- and 8-bit storage needs no device feature; the tail of the
    /// destination's last word is zeroed.
    ///
    /// ```swift
    /// try gpu.cast(x, from: .float32, layout: StridedLayout(shape: [n], strides: [1]), to: y, as: .float16)
    /// ```
    public func cast(_ source: any BackendBuffer, from sourceType: DType, layout: StridedLayout,
                     to destination: any BackendBuffer, as destinationType: DType) throws(TensorError) {
        let input = try buffer(source, "cast")
        let output = try buffer(destination, "cast")
        let count = layout.elementCount
        guard count > 0 else { return }
        let perWord = 4 / destinationType.byteSize
        let words = (count + perWord - 1) / perWord
        guard layout.shape.count == layout.strides.count, words <= output.elementCount,
              layout.reachedOffsets.lowerBound >= 0,
              layout.reachedOffsets.upperBound < input.byteCount / sourceType.byteSize else {
            throw .invalidArgument(op: "cast", reason: "\(count) elements of \(layout) do not fit the buffers "
                                   + "(\(input.byteCount) and \(output.byteCount) bytes)")
        }
        var push = PushConstants()
        push.append(count)
        push.append(words)
        try push.appendInputLayout(layout, op: "cast")
        let constants = SpecConstants([0: UInt32(bitPattern: sourceType.kernelCode),
                                       1: UInt32(bitPattern: destinationType.kernelCode)])
        try dispatch(.cast, constants: constants, buffers: [(input, .read), (output, .write)], push: push,
                     groups: elementwiseGroups(words))
    }
}
