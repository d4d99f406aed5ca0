import TensorCore

// Elementwise comparisons with NumPy broadcasting. The result is a float32 mask: 1 where the
// relation holds, 0 where not. (PyTorch returns bool; a float32 mask multiplies, sums and
// feeds `where`/`which` directly, and runs in the existing binary kernels, so it was chosen
// over uint8.) NaN compares false, except `notEqual`, where it is true (IEEE 754). Masks
// have no gradient: the result never requires grad. Each relation comes as a free function
// (tensor or Float scalar on either side), a method, and a pointwise operator (`.<` etc.,
// Swift's SIMD spelling; `==` is left alone).

/// `1` where `a == b`, else `0`: a float32 mask of the broadcast shape (false where either side is NaN).
///
/// ```swift
/// let x = try Tensor([1, 2, .nan], shape: [3], on: .cpu)
/// let m = try equal(x, Tensor([2, 2, 2], shape: [3], on: .cpu))   // also x .== y, x.equal(y)
/// ```
public func equal(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.equal, a, b) }

/// ``equal(_:_:)-(Tensor,Tensor)`` with a scalar on the right (broadcast).
///
/// ```swift
/// let m = try equal(x, 0.5)        // also x .== 0.5, x.equal(0.5)
/// ```
public func equal(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.equal, a, b) }

/// ``equal(_:_:)-(Tensor,Tensor)`` with a scalar on the left (broadcast).
///
/// ```swift
/// let m = try equal(0.5, x)        // also 0.5 .== x
/// ```
public func equal(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.equal, a, b) }

/// `1` where `a != b`, else `0`: a float32 mask of the broadcast shape (NaN is unequal to everything).
///
/// ```swift
/// let x = try Tensor([1, 2, .nan], shape: [3], on: .cpu)
/// let m = try notEqual(x, Tensor([2, 2, 2], shape: [3], on: .cpu))   // also x .!= y, x.notEqual(y)
/// ```
public func notEqual(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.notEqual, a, b) }

/// ``notEqual(_:_:)-(Tensor,Tensor)`` with a scalar on the right (broadcast).
///
/// ```swift
/// let m = try notEqual(x, 0.5)        // also x .!= 0.5, x.notEqual(0.5)
/// ```
public func notEqual(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.notEqual, a, b) }

/// ``notEqual(_:_:)-(Tensor,Tensor)`` with a scalar on the left (broadcast).
///
/// ```swift
/// let m = try notEqual(0.5, x)        // also 0.5 .!= x
/// ```
public func notEqual(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.notEqual, a, b) }

/// `1` where `a < b`, else `0`: a float32 mask of the broadcast shape (false where either side is NaN).
///
/// ```swift
/// let x = try Tensor([1, 2, .nan], shape: [3], on: .cpu)
/// let m = try less(x, Tensor([2, 2, 2], shape: [3], on: .cpu))   // also x .< y, x.less(y)
/// ```
public func less(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.less, a, b) }

/// ``less(_:_:)-(Tensor,Tensor)`` with a scalar on the right (broadcast).
///
/// ```swift
/// let m = try less(x, 0.5)        // also x .< 0.5, x.less(0.5)
/// ```
public func less(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.less, a, b) }

/// ``less(_:_:)-(Tensor,Tensor)`` with a scalar on the left (broadcast).
///
/// ```swift
/// let m = try less(0.5, x)        // also 0.5 .< x
/// ```
public func less(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.less, a, b) }

/// `1` where `a <= b`, else `0`: a float32 mask of the broadcast shape (false where either side is NaN).
///
/// ```swift
/// let x = try Tensor([1, 2, .nan], shape: [3], on: .cpu)
/// let m = try lessEqual(x, Tensor([2, 2, 2], shape: [3], on: .cpu))   // also x .<= y, x.lessEqual(y)
/// ```
public func lessEqual(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.lessEqual, a, b) }

/// ``lessEqual(_:_:)-(Tensor,Tensor)`` with a scalar on the right (broadcast).
///
/// ```swift
/// let m = try lessEqual(x, 0.5)        // also x .<= 0.5, x.lessEqual(0.5)
/// ```
public func lessEqual(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.lessEqual, a, b) }

/// ``lessEqual(_:_:)-(Tensor,Tensor)`` with a scalar on the left (broadcast).
///
/// ```swift
/// let m = try lessEqual(0.5, x)        // also 0.5 .<= x
/// ```
public func lessEqual(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.lessEqual, a, b) }

/// `1` where `a > b`, else `0`: a float32 mask of the broadcast shape (false where either side is NaN).
///
/// ```swift
/// let x = try Tensor([1, 2, .nan], shape: [3], on: .cpu)
/// let m = try greater(x, Tensor([2, 2, 2], shape: [3], on: .cpu))   // also x .> y, x.greater(y)
/// ```
public func greater(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.greater, a, b) }

/// ``greater(_:_:)-(Tensor,Tensor)`` with a scalar on the right (broadcast).
///
/// ```swift
/// let m = try greater(x, 0.5)        // also x .> 0.5, x.greater(0.5)
/// ```
public func greater(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.greater, a, b) }

/// ``greater(_:_:)-(Tensor,Tensor)`` with a scalar on the left (broadcast).
///
/// ```swift
/// let m = try greater(0.5, x)        // also 0.5 .> x
/// ```
public func greater(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.greater, a, b) }

/// `1` where `a >= b`, else `0`: a float32 mask of the broadcast shape (false where either side is NaN).
///
/// ```swift
/// let x = try Tensor([1, 2, .nan], shape: [3], on: .cpu)
/// let m = try greaterEqual(x, Tensor([2, 2, 2], shape: [3], on: .cpu))   // also x .>= y, x.greaterEqual(y)
/// ```
public func greaterEqual(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.greaterEqual, a, b) }

/// ``greaterEqual(_:_:)-(Tensor,Tensor)`` with a scalar on the right (broadcast).
///
/// ```swift
/// let m = try greaterEqual(x, 0.5)        // also x .>= 0.5, x.greaterEqual(0.5)
/// ```
public func greaterEqual(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.greaterEqual, a, b) }

/// ``greaterEqual(_:_:)-(Tensor,Tensor)`` with a scalar on the left (broadcast).
///
/// ```swift
/// let m = try greaterEqual(0.5, x)        // also 0.5 .>= x
/// ```
public func greaterEqual(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.greaterEqual, a, b) }

/// A comparison of a tensor with a scalar (a rank-0 tensor on its device, broadcast, in the
/// tensor's type: a float16 tensor is compared with the scalar rounded to float16, as PyTorch
/// converts a Python scalar to the tensor's dtype).
private func compare(_ op: BinaryOp, _ a: Tensor, _ b: Float) throws(TensorError) -> Tensor {
    try elementwise(op, a, Tensor.scalar(b, like: a))
}
private func compare(_ op: BinaryOp, _ a: Float, _ b: Tensor) throws(TensorError) -> Tensor {
    try elementwise(op, Tensor.scalar(a, like: b), b)
}

extension Tensor {
    /// `value` as a rank-0 tensor on `tensor`'s device, of its type when that is float16 or
    /// bfloat16 (rounded to nearest even), float32 otherwise: a scalar operand that does not
    /// change the result's type, as a Python scalar in PyTorch.
    static func scalar(_ value: Float, like tensor: Tensor) throws(TensorError) -> Tensor {
        let scalar = try Tensor(scalar: value, on: tensor.device)
        return tensor.dtype == .float16 || tensor.dtype == .bfloat16 ? try scalar.cast(to: tensor.dtype) : scalar
    }
}

extension Tensor {    /// `1` where `self == other`, else `0` (float32 mask, broadcasting).
    ///
    /// ```swift
    /// let m = try x.equal(y)
    /// ```
    public func equal(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.equal, self, other) }

    /// `1` where `self == scalar`, else `0`.
    ///
    /// ```swift
    /// let m = try x.equal(0.5)
    /// ```
    public func equal(_ other: Float) throws(TensorError) -> Tensor { try compare(.equal, self, other) }

    /// Pointwise `==` as a float32 0/1 mask (``equal(_:_:)-(Tensor,Tensor)``).
    ///
    /// ```swift
    /// let m = try x .== y
    /// ```
    public static func .== (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.equal, lhs, rhs) }

    /// Pointwise `==` with a scalar on the right.
    ///
    /// ```swift
    /// let m = try x .== 0
    /// ```
    public static func .== (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.equal, lhs, rhs) }

    /// Pointwise `==` with a scalar on the left.
    ///
    /// ```swift
    /// let m = try 0 .== x
    /// ```
    public static func .== (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.equal, lhs, rhs) }
    /// `1` where `self != other`, else `0` (float32 mask, broadcasting).
    ///
    /// ```swift
    /// let m = try x.notEqual(y)
    /// ```
    public func notEqual(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.notEqual, self, other) }

    /// `1` where `self != scalar`, else `0`.
    ///
    /// ```swift
    /// let m = try x.notEqual(0.5)
    /// ```
    public func notEqual(_ other: Float) throws(TensorError) -> Tensor { try compare(.notEqual, self, other) }

    /// Pointwise `!=` as a float32 0/1 mask (``notEqual(_:_:)-(Tensor,Tensor)``).
    ///
    /// ```swift
    /// let m = try x .!= y
    /// ```
    public static func .!= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.notEqual, lhs, rhs) }

    /// Pointwise `!=` with a scalar on the right.
    ///
    /// ```swift
    /// let m = try x .!= 0
    /// ```
    public static func .!= (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.notEqual, lhs, rhs) }

    /// Pointwise `!=` with a scalar on the left.
    ///
    /// ```swift
    /// let m = try 0 .!= x
    /// ```
    public static func .!= (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.notEqual, lhs, rhs) }
    /// `1` where `self < other`, else `0` (float32 mask, broadcasting).
    ///
    /// ```swift
    /// let m = try x.less(y)
    /// ```
    public func less(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.less, self, other) }

    /// `1` where `self < scalar`, else `0`.
    ///
    /// ```swift
    /// let m = try x.less(0.5)
    /// ```
    public func less(_ other: Float) throws(TensorError) -> Tensor { try compare(.less, self, other) }

    /// Pointwise `<` as a float32 0/1 mask (``less(_:_:)-(Tensor,Tensor)``).
    ///
    /// ```swift
    /// let m = try x .< y
    /// ```
    public static func .< (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.less, lhs, rhs) }

    /// Pointwise `<` with a scalar on the right.
    ///
    /// ```swift
    /// let m = try x .< 0
    /// ```
    public static func .< (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.less, lhs, rhs) }

    /// Pointwise `<` with a scalar on the left.
    ///
    /// ```swift
    /// let m = try 0 .< x
    /// ```
    public static func .< (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.less, lhs, rhs) }
    /// `1` where `self <= other`, else `0` (float32 mask, broadcasting).
    ///
    /// ```swift
    /// let m = try x.lessEqual(y)
    /// ```
    public func lessEqual(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.lessEqual, self, other) }

    /// `1` where `self <= scalar`, else `0`.
    ///
    /// ```swift
    /// let m = try x.lessEqual(0.5)
    /// ```
    public func lessEqual(_ other: Float) throws(TensorError) -> Tensor { try compare(.lessEqual, self, other) }

    /// Pointwise `<=` as a float32 0/1 mask (``lessEqual(_:_:)-(Tensor,Tensor)``).
    ///
    /// ```swift
    /// let m = try x .<= y
    /// ```
    public static func .<= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.lessEqual, lhs, rhs) }

    /// Pointwise `<=` with a scalar on the right.
    ///
    /// ```swift
    /// let m = try x .<= 0
    /// ```
    public static func .<= (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.lessEqual, lhs, rhs) }

    /// Pointwise `<=` with a scalar on the left.
    ///
    /// ```swift
    /// let m = try 0 .<= x
    /// ```
    public static func .<= (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.lessEqual, lhs, rhs) }
    /// `1` where `self > other`, else `0` (float32 mask, broadcasting).
    ///
    /// ```swift
    /// let m = try x.greater(y)
    /// ```
    public func greater(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.greater, self, other) }

    /// `1` where `self > scalar`, else `0`.
    ///
    /// ```swift
    /// let m = try x.greater(0.5)
    /// ```
    public func greater(_ other: Float) throws(TensorError) -> Tensor { try compare(.greater, self, other) }

    /// Pointwise `>` as a float32 0/1 mask (``greater(_:_:)-(Tensor,Tensor)``).
    ///
    /// ```swift
    /// let m = try x .> y
    /// ```
    public static func .> (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.greater, lhs, rhs) }

    /// Pointwise `>` with a scalar on the right.
    ///
    /// ```swift
    /// let m = try x .> 0
    /// ```
    public static func .> (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.greater, lhs, rhs) }

    /// Pointwise `>` with a scalar on the left.
    ///
    /// ```swift
    /// let m = try 0 .> x
    /// ```
    public static func .> (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.greater, lhs, rhs) }
    /// `1` where `self >= other`, else `0` (float32 mask, broadcasting).
    ///
    /// ```swift
    /// let m = try x.greaterEqual(y)
    /// ```
    public func greaterEqual(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.greaterEqual, self, other) }

    /// `1` where `self >= scalar`, else `0`.
    ///
    /// ```swift
    /// let m = try x.greaterEqual(0.5)
    /// ```
    public func greaterEqual(_ other: Float) throws(TensorError) -> Tensor { try compare(.greaterEqual, self, other) }

    /// Pointwise `>=` as a float32 0/1 mask (``greaterEqual(_:_:)-(Tensor,Tensor)``).
    ///
    /// ```swift
    /// let m = try x .>= y
    /// ```
    public static func .>= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.greaterEqual, lhs, rhs) }

    /// Pointwise `>=` with a scalar on the right.
    ///
    /// ```swift
    /// let m = try x .>= 0
    /// ```
    public static func .>= (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.greaterEqual, lhs, rhs) }

    /// Pointwise `>=` with a scalar on the left.
    ///
    /// ```swift
    /// let m = try 0 .>= x
    /// ```
    public static func .>= (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.greaterEqual, lhs, rhs) }
}
