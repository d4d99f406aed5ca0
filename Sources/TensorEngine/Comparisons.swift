import TensorCore

// Elementwise comparisons with NumPy broadcasting. The result is a float32 mask: 1 where the
// relation holds, 0 where not. (PyTorch returns bool; a float32 mask multiplies, sums and
// feeds `where`/`which` directly, and runs in the existing binary kernels, so it was chosen
// over uint8.) NaN compares false, except `notEqual`, where it is true (IEEE 754). Masks
// have no gradient: the result never requires grad.

/// `1` where `a == b`, else `0` (float32, broadcasting; NaN is never equal).
///
/// ```swift
/// let a = try Tensor([1, 2, .nan], shape: [3], on: .cpu)
/// let m = try equal(a, Tensor([1, 0, .nan], shape: [3], on: .cpu))   // [1, 0, 0]
/// let n = try a .== 2                                                // [0, 1, 0]
/// ```
public func equal(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.equal, a, b) }

/// `1` where `a != b`, else `0` (float32, broadcasting; NaN is unequal to everything).
///
/// ```swift
/// let m = try notEqual(a, b)   // also a .!= b, a.notEqual(b)
/// ```
public func notEqual(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.notEqual, a, b) }

/// `1` where `a < b`, else `0` (float32, broadcasting; false for NaN).
///
/// ```swift
/// let m = try less(x, y)       // also x .< y, x.less(y), x.less(0.5)
/// ```
public func less(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.less, a, b) }

/// `1` where `a <= b`, else `0` (float32, broadcasting; false for NaN).
///
/// ```swift
/// let m = try lessEqual(x, y)  // also x .<= y
/// ```
public func lessEqual(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.lessEqual, a, b) }

/// `1` where `a > b`, else `0` (float32, broadcasting; false for NaN).
///
/// ```swift
/// let positive = try greater(x, 0)   // also x .> 0
/// ```
public func greater(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.greater, a, b) }

/// `1` where `a >= b`, else `0` (float32, broadcasting; false for NaN).
///
/// ```swift
/// let m = try greaterEqual(x, y)   // also x .>= y
/// ```
public func greaterEqual(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    try elementwise(.greaterEqual, a, b)
}

/// A comparison of a tensor with a scalar (a rank-0 tensor on its device, broadcast).
private func compare(_ op: BinaryOp, _ a: Tensor, _ b: Float) throws(TensorError) -> Tensor {
    try elementwise(op, a, Tensor(scalar: b, on: a.device))
}
private func compare(_ op: BinaryOp, _ a: Float, _ b: Tensor) throws(TensorError) -> Tensor {
    try elementwise(op, Tensor(scalar: a, on: b.device), b)
}

/// `equal` with a scalar on one side.
///
/// ```swift
/// let zeros = try equal(x, 0)
/// ```
public func equal(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.equal, a, b) }
/// `equal` with a scalar on the left.
public func equal(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.equal, a, b) }
/// `notEqual` with a scalar on the right.
public func notEqual(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.notEqual, a, b) }
/// `notEqual` with a scalar on the left.
public func notEqual(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.notEqual, a, b) }
/// `less` with a scalar on the right.
public func less(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.less, a, b) }
/// `less` with a scalar on the left.
public func less(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.less, a, b) }
/// `lessEqual` with a scalar on the right.
public func lessEqual(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.lessEqual, a, b) }
/// `lessEqual` with a scalar on the left.
public func lessEqual(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.lessEqual, a, b) }
/// `greater` with a scalar on the right.
public func greater(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.greater, a, b) }
/// `greater` with a scalar on the left.
public func greater(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.greater, a, b) }
/// `greaterEqual` with a scalar on the right.
public func greaterEqual(_ a: Tensor, _ b: Float) throws(TensorError) -> Tensor { try compare(.greaterEqual, a, b) }
/// `greaterEqual` with a scalar on the left.
public func greaterEqual(_ a: Float, _ b: Tensor) throws(TensorError) -> Tensor { try compare(.greaterEqual, a, b) }

extension Tensor {
    /// `equal(self, other)`: 1 where equal, else 0.
    public func equal(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.equal, self, other) }
    /// `equal(self, scalar)`.
    public func equal(_ other: Float) throws(TensorError) -> Tensor { try compare(.equal, self, other) }
    /// `notEqual(self, other)`: 1 where unequal (or NaN), else 0.
    public func notEqual(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.notEqual, self, other) }
    /// `notEqual(self, scalar)`.
    public func notEqual(_ other: Float) throws(TensorError) -> Tensor { try compare(.notEqual, self, other) }
    /// `less(self, other)`: 1 where self < other, else 0.
    public func less(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.less, self, other) }
    /// `less(self, scalar)`.
    public func less(_ other: Float) throws(TensorError) -> Tensor { try compare(.less, self, other) }
    /// `lessEqual(self, other)`: 1 where self <= other, else 0.
    public func lessEqual(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.lessEqual, self, other) }
    /// `lessEqual(self, scalar)`.
    public func lessEqual(_ other: Float) throws(TensorError) -> Tensor { try compare(.lessEqual, self, other) }
    /// `greater(self, other)`: 1 where self > other, else 0.
    public func greater(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.greater, self, other) }
    /// `greater(self, scalar)`.
    public func greater(_ other: Float) throws(TensorError) -> Tensor { try compare(.greater, self, other) }
    /// `greaterEqual(self, other)`: 1 where self >= other, else 0.
    public func greaterEqual(_ other: Tensor) throws(TensorError) -> Tensor { try elementwise(.greaterEqual, self, other) }
    /// `greaterEqual(self, scalar)`.
    public func greaterEqual(_ other: Float) throws(TensorError) -> Tensor { try compare(.greaterEqual, self, other) }

    // The pointwise operators (Swift's SIMD spelling; `==` stays Equatable's identity-free
    // question and is not defined): `x .< y`, `x .>= 0`.
    public static func .== (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.equal, lhs, rhs) }
    public static func .!= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.notEqual, lhs, rhs) }
    public static func .< (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.less, lhs, rhs) }
    public static func .<= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.lessEqual, lhs, rhs) }
    public static func .> (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.greater, lhs, rhs) }
    public static func .>= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.greaterEqual, lhs, rhs) }
    public static func .== (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.equal, lhs, rhs) }
    public static func .!= (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.notEqual, lhs, rhs) }
    public static func .< (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.less, lhs, rhs) }
    public static func .<= (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.lessEqual, lhs, rhs) }
    public static func .> (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.greater, lhs, rhs) }
    public static func .>= (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try compare(.greaterEqual, lhs, rhs) }
    public static func .== (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.equal, lhs, rhs) }
    public static func .!= (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.notEqual, lhs, rhs) }
    public static func .< (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.less, lhs, rhs) }
    public static func .<= (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.lessEqual, lhs, rhs) }
    public static func .> (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.greater, lhs, rhs) }
    public static func .>= (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try compare(.greaterEqual, lhs, rhs) }
}
