import TensorCore

/// One binary operation as a type, so each loop is specialised for it.
protocol BinaryOperator {
    static func apply(_ a: Float, _ b: Float) -> Float
}

enum AddOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
}
enum SubOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b }
}
enum MulOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
}
enum DivOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b }
}
/// NaN in either operand gives NaN (`a + b`), as PyTorch's maximum; otherwise the larger.
enum MaximumOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float {
        a.isNaN || b.isNaN ? a + b : (a < b ? b : a)
    }
}
/// NaN in either operand gives NaN (`a + b`), as PyTorch's minimum; otherwise the smaller.
enum MinimumOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float {
        a.isNaN || b.isNaN ? a + b : (b < a ? b : a)
    }
}
/// Comparisons: 1 where the relation holds, else 0 (Swift's IEEE comparisons: NaN is
/// unordered, so only `!=` holds for it).
enum EqualOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a == b ? 1 : 0 }
}
enum NotEqualOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a != b ? 1 : 0 }
}
enum LessOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a < b ? 1 : 0 }
}
enum LessEqualOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a <= b ? 1 : 0 }
}
enum GreaterOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a > b ? 1 : 0 }
}
enum GreaterEqualOperator: BinaryOperator {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a >= b ? 1 : 0 }
}

/// Broadcasting binary operations over strided operands into a contiguous output.
enum BinaryKernels {
    /// `out[i] = a[aLayout(i)] op b[bLayout(i)]` for `i` in `range` of the flattened output.
    ///
    /// `shape` and the stride sets are already coalesced; rank 0 means one element.
    static func run(_ op: BinaryOp, a: UnsafePointer<Float>, aStrides: [Int],
                    b: UnsafePointer<Float>, bStrides: [Int], shape: [Int],
                    out: UnsafeMutablePointer<Float>, range: Range<Int>) {
        switch op {
        case .add: run(AddOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .sub: run(SubOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .mul: run(MulOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .div: run(DivOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .maximum: run(MaximumOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .minimum: run(MinimumOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .equal: run(EqualOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .notEqual: run(NotEqualOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .less: run(LessOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .lessEqual: run(LessEqualOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .greater: run(GreaterOperator.self, a, aStrides, b, bStrides, shape, out, range)
        case .greaterEqual: run(GreaterEqualOperator.self, a, aStrides, b, bStrides, shape, out, range)
        }
    }

    @inline(__always)
    static func run<O: BinaryOperator>(_: O.Type, _ a: UnsafePointer<Float>, _ aStrides: [Int],
                                       _ b: UnsafePointer<Float>, _ bStrides: [Int], _ shape: [Int],
                                       _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        guard !shape.isEmpty else {
            if !range.isEmpty { out[0] = O.apply(a[0], b[0]) }
            return
        }
        let rank = shape.count
        let n = shape[rank - 1]
        let sa = aStrides[rank - 1], sb = bStrides[rank - 1]
        var index = range.lowerBound
        while index < range.upperBound {
            let row = index / n
            let column = index % n
            let length = min(n - column, range.upperBound - index)
            // Offsets of this row in a and b from its multi-index over the outer axes.
            var rest = row, offA = 0, offB = 0
            var axis = rank - 2
            while axis >= 0 {
                let i = rest % shape[axis]
                rest /= shape[axis]
                offA += i * aStrides[axis]
                offB += i * bStrides[axis]
                axis -= 1
            }
            Self.row(O.self, a + offA + column * sa, sa, b + offB + column * sb, sb, out + index, length)
            index += length
        }
    }

    /// One row: specialised loops for contiguous, scalar and strided operands.
    @inline(__always)
    static func row<O: BinaryOperator>(_: O.Type, _ a: UnsafePointer<Float>, _ sa: Int,
                                       _ b: UnsafePointer<Float>, _ sb: Int,
                                       _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        if sa == 1 && sb == 1 {
            for i in 0..<n { out[i] = O.apply(a[i], b[i]) }
        } else if sa == 1 && sb == 0 {
            let y = b[0]
            for i in 0..<n { out[i] = O.apply(a[i], y) }
        } else if sa == 0 && sb == 1 {
            let x = a[0]
            for i in 0..<n { out[i] = O.apply(x, b[i]) }
        } else {
            for i in 0..<n { out[i] = O.apply(a[i * sa], b[i * sb]) }
        }
    }
}
