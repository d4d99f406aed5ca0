import TensorEngine
import Testing

/// Host-side row-major arrays for the shape-op tests: the reference is built element by
/// element from multi-indices, independently of any strides the engine computes.
struct HostArray {
    var shape: [Int]
    var values: [Double]

    /// Element `index` (a multi-index) of the row-major array.
    func at(_ index: [Int]) -> Double {
        var flat = 0
        for (i, extent) in zip(index, shape) { flat = flat * extent + i }
        return values[flat]
    }

    /// An array of `shape` whose element at each multi-index is `f(index)`, in row-major order.
    static func build(_ shape: [Int], _ f: ([Int]) -> Double) -> HostArray {
        let count = shape.reduce(1, *)
        var values: [Double] = []
        values.reserveCapacity(count)
        var index = [Int](repeating: 0, count: shape.count)
        for _ in 0..<count {
            values.append(f(index))
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return HostArray(shape: shape, values: values)
    }

    /// Distinct, exactly representable (in float16 too) values for a `shape`: `seed + 0.5 * i`.
    static func ramp(_ shape: [Int], from seed: Double) -> HostArray {
        var next = seed
        return build(shape) { _ in
            defer { next += 0.5 }
            return next
        }
    }

    var floats: [Float] { values.map(Float.init) }

    /// The arrays joined along `axis` (non-negative), from the definition.
    static func concatenate(_ arrays: [HostArray], axis: Int) -> HostArray {
        var shape = arrays[0].shape
        shape[axis] = arrays.map { $0.shape[axis] }.reduce(0, +)
        return build(shape) { index in
            var i = index
            for array in arrays {
                if i[axis] < array.shape[axis] { return array.at(i) }
                i[axis] -= array.shape[axis]
            }
            fatalError("index past the end")
        }
    }

    /// Elements `start, start + step, ...` below `end` along `axis`.
    func slice(axis: Int, start: Int, end: Int, step: Int = 1) -> HostArray {
        var result = shape
        result[axis] = stride(from: start, to: end, by: step).underestimatedCount
        return HostArray.build(result) { index in
            var i = index
            i[axis] = start + index[axis] * step
            return at(i)
        }
    }

    /// The matrix transpose of a rank-2 array.
    var transposed: HostArray {
        HostArray.build([shape[1], shape[0]]) { at([$0[1], $0[0]]) }
    }
}

/// `sum(y * w)` for fixed, uneven weights `w`: a scalar loss whose gradient tells every
/// element of `y` apart.
func weightedSum(_ y: Tensor) throws -> Tensor {
    let weights = try Tensor((0..<y.elementCount).map { Float($0 % 7) - 2.5 }, shape: y.shape, on: y.device)
    return try (y * weights).sum()
}

/// Expects `body` to throw a TensorError whose description contains every one of `parts`.
func expectTensorError(_ parts: [String], sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () throws(TensorError) -> Any) {
    do {
        _ = try body()
        Issue.record("no error thrown; expected one naming \(parts)", sourceLocation: sourceLocation)
    } catch {
        let text = "\(error)"
        for part in parts {
            #expect(text.contains(part), "\"\(text)\" does not name \(part)", sourceLocation: sourceLocation)
        }
    }
}
