extension BackendOp {
    /// A matmul on float16 / bfloat16 storage as casts to float32 temporaries, the float32
    /// product (with the same epilogue) and a cast of the result to C's type: what a backend
    /// without 16-bit kernels computes (the CPU backend, a Vulkan device without 16-bit
    /// storage). The casts are exact on the way in and round once (to nearest even) on the
    /// way out, as the 16-bit kernels do.
    static func storageComposite(
        a: any BackendBuffer, b: any BackendBuffer, c: any BackendBuffer, geometry: MatmulGeometry,
        epilogue: MatmulEpilogue, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        var ops: [BackendOp] = []
        func widened(_ buffer: any BackendBuffer, _ type: DType, count: Int) throws(TensorError) -> any BackendBuffer {
            guard type != .float32 else { return buffer }
            let wide = try temporary(count)
            ops.append(.cast(source: buffer, sourceType: type, layout: .contiguous([count]),
                             destination: wide, destinationType: .float32))
            return wide
        }
        let types = geometry.types
        let left = try widened(a, types.a, count: geometry.elementCountA)
        let right = try widened(b, types.b, count: geometry.elementCountB)
        var wide = geometry
        wide.types = .float32
        let count = geometry.batch * geometry.m * geometry.n
        let product = types.c == .float32 ? c : try temporary(count)
        ops.append(.matmul(a: left, b: right, c: product, geometry: wide, epilogue: epilogue))
        if types.c != .float32 {
            ops.append(.cast(source: product, sourceType: .float32, layout: .contiguous([count]),
                             destination: c, destinationType: types.c))
        }
        return ops
    }
}
