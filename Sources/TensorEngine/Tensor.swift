import TensorCore

/// An n-dimensional array on a ``Device``: float32 for arithmetic, or stored as float16,
/// bfloat16, int32 or uint8 (``dtype``, ``cast(to:)``).
///
/// Tensors are immutable values with reference semantics: operations return new
/// tensors, and views (``reshaped(_:)``, ``transposed()``, ``permuted(_:)``,
/// ``slice(axis:range:step:)``, ``select(axis:index:)``) share storage with their source. Storage is freed when the last tensor using it goes.
///
/// ```swift
/// let x = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], on: .cpu)
/// let w = try Tensor.randn([3, 4], seed: 1, on: .cpu)
/// let y = try matmul(x, w)            // [2, 4]
/// print(try y.toArray())
/// ```
public final class Tensor: Sendable, CustomStringConvertible {
    /// Extents, outermost first.
    public let shape: [Int]
    public let dtype: DType
    public let device: Device
    let storage: any BackendBuffer
    /// Element strides of this view into ``storage``.
    let strides: [Int]
    /// Element offset of this view into ``storage``.
    let offset: Int
    /// Autograd state; nil unless the tensor requires grad.
    let gradState: GradState?
    init(storage: any BackendBuffer, shape: [Int], strides: [Int]? = nil, offset: Int = 0,
         dtype: DType = .float32, device: Device, gradState: GradState? = nil) {
        self.storage = storage
        self.shape = shape
        self.strides = strides ?? ShapeMath.contiguousStrides(shape)
        self.offset = offset
        self.dtype = dtype
        self.device = device
        self.gradState = gradState
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var elementCount: Int { ShapeMath.elementCount(shape) }

    /// True when the elements are laid out row-major from offset 0 with no gaps.
    public var isContiguous: Bool {
        offset == 0 && Self.isRowMajor(shape: shape, strides: strides)
    }

    static func isRowMajor(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    public var description: String {
        "Tensor(shape: \(shape), dtype: \(dtype), device: \(device.identifier))"
    }

    // MARK: - Creation

    /// A tensor from row-major float values.
    ///
    /// ```swift
    /// let t = try Tensor([1, 2, 3, 4], shape: [2, 2], on: .cpu)
    /// ```
    public convenience init(_ values: [Float], shape: [Int], on device: Device = .default) throws(TensorError) {
        try self.init(uploading: values, shape: shape, dtype: .float32, on: device)
    }

    /// A tensor from row-major int32 values (labels, indices).
    public convenience init(int32 values: [Int32], shape: [Int], on device: Device = .default) throws(TensorError) {
        try self.init(uploading: values, shape: shape, dtype: .int32, on: device)
    }

    /// Validates `shape` against the values, then copies them into a new device buffer.
    private convenience init<T>(uploading values: [T], shape: [Int], dtype: DType, on device: Device) throws(TensorError) {
        try ShapeMath.validate(shape, op: "Tensor")
        guard values.count == ShapeMath.elementCount(shape) else {
            throw .invalidShape(op: "Tensor", shape: shape,
                                reason: "\(values.count) values given for \(ShapeMath.elementCount(shape)) elements")
        }
        let buffer = try device.backend.makeBuffer(elementCount: values.count)
        try OpSupport.upload(values, to: buffer, on: device)
        self.init(storage: buffer, shape: shape, dtype: dtype, device: device)
    }

    /// A rank-0 tensor holding `value`.
    public convenience init(scalar value: Float, on device: Device = .default) throws(TensorError) {
        try self.init([value], shape: [], on: device)
    }

    /// A tensor of `shape` with every element `value`.
    public static func full(_ shape: [Int], value: Float, on device: Device = .default) throws(TensorError) -> Tensor {
        try ShapeMath.validate(shape, op: "full")
        let count = ShapeMath.elementCount(shape)
        let buffer = try device.backend.makeBuffer(elementCount: count)
        try device.backend.run(.fill(buffer, value: value, count: count))
        return Tensor(storage: buffer, shape: shape, device: device)
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], on device: Device = .default) throws(TensorError) -> Tensor {
        try full(shape, value: 0, on: device)
    }

    /// A tensor of ones.
    public static func ones(_ shape: [Int], on device: Device = .default) throws(TensorError) -> Tensor {
        try full(shape, value: 1, on: device)
    }

    /// Normal random values, identical on every device for the same seed.
    ///
    /// ```swift
    /// let w = try Tensor.randn([784, 256], std: 0.05, seed: 1, on: .cpu)
    /// ```
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64 = 0,
                             on device: Device = .default) throws(TensorError) -> Tensor {
        try ShapeMath.validate(shape, op: "randn")
        var rng = SeededRandom(seed: seed)
        // The device buffer first: a size beyond memory throws outOfMemory instead of trapping in the host array.
        let buffer = try device.backend.makeBuffer(elementCount: ShapeMath.elementCount(shape))
        try OpSupport.upload(rng.normalFloats(ShapeMath.elementCount(shape), mean: mean, std: std), to: buffer, on: device)
        return Tensor(storage: buffer, shape: shape, device: device)
    }

    /// Uniform random values in [low, high), identical on every device for the same seed.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64 = 0,
                               on device: Device = .default) throws(TensorError) -> Tensor {
        try ShapeMath.validate(shape, op: "uniform")
        var rng = SeededRandom(seed: seed)
        // The device buffer first, as in randn.
        let buffer = try device.backend.makeBuffer(elementCount: ShapeMath.elementCount(shape))
        try OpSupport.upload(rng.uniformFloats(ShapeMath.elementCount(shape), low: low, high: high), to: buffer, on: device)
        return Tensor(storage: buffer, shape: shape, device: device)
    }

    // MARK: - Reading back

    /// The elements in row-major order as floats (other dtypes are converted: exactly, but
    /// for int32 beyond 2^24); waits for the device.
    public func toArray() throws(TensorError) -> [Float] {
        switch dtype {
        case .float32: return try readContiguous(as: Float.self)
        case .int32: return try toInt32Array().map(Float.init)
        case .float16, .bfloat16, .uint8: return try cast(to: .float32).readContiguous(as: Float.self)
        }
    }

    /// The elements of an int32 (or uint8) tensor in row-major order.
    public func toInt32Array() throws(TensorError) -> [Int32] {
        switch dtype {
        case .int32: return try readContiguous(as: Int32.self)
        case .uint8: return try cast(to: .int32).readContiguous(as: Int32.self)
        case .float32, .float16, .bfloat16: throw .unsupportedDType(op: "toInt32Array", dtype: dtype)
        }
    }

    /// The single element of a one-element tensor.
    public func item() throws(TensorError) -> Float {
        guard elementCount == 1 else {
            throw .invalidShape(op: "item", shape: shape, reason: "item() needs exactly one element")
        }
        return try toArray()[0]
    }

    /// The elements' bytes in row-major order (``dtype``'s encoding, little-endian).
    ///
    /// ```swift
    /// let bytes = try x.cast(to: .float16).rawBytes()   // 2 bytes per element
    /// ```
    public func rawBytes() throws(TensorError) -> [UInt8] {
        let source = try contiguous()
        let count = try dtype.byteCount(elementCount)
        var failure: TensorError?
        let result = [UInt8](unsafeUninitializedCapacity: count) { pointer, initialized in
            initialized = 0
            guard count > 0 else { return }
            do throws(TensorError) {
                try device.backend.read(source.storage, into: UnsafeMutableRawBufferPointer(pointer))
                initialized = count
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return result
    }

    func readContiguous<T>(as type: T.Type) throws(TensorError) -> [T] {
        let source = try contiguous()
        let count = source.elementCount
        var result = [T]()
        result.reserveCapacity(count)
        if count == 0 { return result }
        var failure: TensorError?
        result = [T](unsafeUninitializedCapacity: count) { pointer, initialized in
            do throws(TensorError) {
                try device.backend.read(source.storage, into: UnsafeMutableRawBufferPointer(pointer))
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return result
    }

    /// A copy of this tensor on `device` (self when it is already there), of the same dtype.
    public func to(_ device: Device) throws(TensorError) -> Tensor {
        if device == self.device { return self }
        return try Tensor(rawBytes: rawBytes(), shape: shape, dtype: dtype, on: device)
    }

    // MARK: - Views and layout

    /// This tensor's data row-major and gap-free: self when it already is, else a copy.
    public func contiguous() throws(TensorError) -> Tensor {
        if isContiguous { return self }
        let buffer = try device.backend.makeBuffer(count: elementCount, dtype: dtype)
        if elementCount > 0 {
            if dtype.byteSize == 4 {
                try device.backend.run(.copyStrided(source: storage, layout: layout, destination: buffer))
            } else {
                try device.backend.run(.cast(source: storage, sourceType: dtype, layout: layout,
                                             destination: buffer, destinationType: dtype))
            }
        }
        let copy = Tensor(storage: buffer, shape: shape, dtype: dtype, device: device)
        return Autograd.record("contiguous", copy, inputs: [self]) { gradient in [gradient] }
    }

    /// The backend buffer behind this tensor, for benchmarks that call a backend directly
    /// (it may be a view: check ``isContiguous``).
    public var storageForBenchmarks: any BackendBuffer { storage }

    /// The strided layout of this view.
    var layout: StridedLayout { StridedLayout(shape: shape, strides: strides, offset: offset) }

    /// The same elements in a new shape (one extent may be -1). A view when possible.
    ///
    /// ```swift
    /// let flat = try t.reshaped([-1])
    /// ```
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        let resolved = try resolveReshape(newShape)
        let source = try contiguous()
        let view = Tensor(storage: source.storage, shape: resolved, dtype: dtype, device: device)
        let originalShape = shape
        return Autograd.record("reshape", view, inputs: [source]) { (gradient) throws(TensorError) in
            [try gradient.reshaped(originalShape)]
        }
    }

    private func resolveReshape(_ newShape: [Int]) throws(TensorError) -> [Int] {
        let wildcards = newShape.filter { $0 == -1 }.count
        guard wildcards <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw .shapeMismatch(op: "reshape", lhs: shape, rhs: newShape,
                                 reason: "at most one -1 and no other negative extent")
        }
        // Extents whose product overflows throw here rather than trap in the products below.
        try ShapeMath.validate(newShape.map { $0 == -1 ? 1 : $0 }, op: "reshape")
        var resolved = newShape
        if wildcards == 1 {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, elementCount % known == 0 else {
                throw .shapeMismatch(op: "reshape", lhs: shape, rhs: newShape, reason: "cannot infer -1")
            }
            resolved[newShape.firstIndex(of: -1)!] = elementCount / known
        }
        guard ShapeMath.elementCount(resolved) == elementCount else {
            throw .shapeMismatch(op: "reshape", lhs: shape, rhs: newShape, reason: "element counts differ")
        }
        return resolved
    }

    /// A view with the axes reordered: result axis i is this tensor's axis `axes[i]`.
    public func permuted(_ axes: [Int]) throws(TensorError) -> Tensor {
        guard axes.count == rank, Set(axes) == Set(0..<rank) else {
            throw .invalidArgument(op: "permute", reason: "\(axes) is not a permutation of the axes of \(shape)")
        }
        let view = Tensor(storage: storage, shape: axes.map { shape[$0] }, strides: axes.map { strides[$0] },
                          offset: offset, dtype: dtype, device: device)
        var inverse = axes
        for (position, axis) in axes.enumerated() { inverse[axis] = position }
        let undo = inverse
        return Autograd.record("permute", view, inputs: [self]) { (gradient) throws(TensorError) in
            [try gradient.permuted(undo)]
        }
    }

    /// A view with the last two axes swapped (a matrix transpose; batched for rank 3+).
    public func transposed() throws(TensorError) -> Tensor {
        guard rank >= 2 else {
            throw .invalidShape(op: "transposed", shape: shape, reason: "needs at least 2 axes")
        }
        var axes = Array(0..<rank)
        axes.swapAt(rank - 1, rank - 2)
        return try permuted(axes)
    }

    /// The matrix transpose of a rank-2 tensor (a view).
    public var T: Tensor {
        get throws(TensorError) { try transposed() }
    }

    func requireFloat(_ op: String) throws(TensorError) {
        guard dtype == .float32 else { throw .unsupportedDType(op: op, dtype: dtype) }
    }
}
