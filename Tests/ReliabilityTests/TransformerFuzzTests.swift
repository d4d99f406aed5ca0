import Foundation
import TestSupport
import Testing
import TensorEngine

/// Property test of the transformer ops: random calls of concatenate, stack, slice, split,
/// embedding, gather, layerNorm, rmsNorm, where, argmax, topK, dropout and attention with random
/// (often invalid) shapes, axes, indices and arguments on both devices. Every call either gives
/// what a float64 reference computed here says, or throws a TensorError where the reference says
/// the call is invalid; nothing traps or reads out of bounds.
///
/// TENSOR_FUZZ_SEED (default 9), TENSOR_TRANSFORMER_FUZZ_CASES (default 1000).
@Suite(.vulkanValidation, .serialized)
struct TransformerFuzzTests {
    /// A host tensor: shape and row-major values.
    struct Host {
        var shape: [Int]
        var values: [Double]
        var count: Int { shape.reduce(1, *) }
    }

    final class Case {
        var random: FuzzRandom
        let device: Device
        var failures: [String] = []

        init(seed: UInt64, index: Int, devices: [Device]) {
            random = FuzzRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
            device = devices[index % devices.count]
        }

        func shape(rank: ClosedRange<Int> = 1...3, extent: ClosedRange<Int> = 0...4) -> [Int] {
            (0..<random.int(in: rank)).map { _ in random.chance(0.1) ? 0 : random.int(in: Swift.max(1, extent.lowerBound)...extent.upperBound) }
        }

        func host(_ shape: [Int]) -> Host {
            // Float-representable values, so copies compare exactly.
            Host(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Double(Float((random.unit() * 4 - 2).rounded(toPlaces: 3))) })
        }

        func tensor(_ h: Host) throws -> Tensor {
            try Tensor(h.values.map { Float($0) }, shape: h.shape, on: device)
        }

        func ints(_ shape: [Int], in range: ClosedRange<Int>) -> (Tensor?, [Int]) {
            let values = (0..<shape.reduce(1, *)).map { _ in random.int(in: range) }
            return (try? Tensor(int32: values.map { Int32($0) }, shape: shape, on: device), values)
        }

        /// Runs `body`; `expected` nil means the reference says it must throw.
        func check(_ name: String, _ expected: Host?, tolerance: Double = 0, _ body: () throws(TensorError) -> Tensor) {
            do {
                let result = try body()
                guard let expected else {
                    failures.append("\(name): succeeded with \(result.shape) where it must throw")
                    return
                }
                guard result.shape == expected.shape else {
                    failures.append("\(name): shape \(result.shape), reference \(expected.shape)")
                    return
                }
                let got = result.dtype == .int32 ? try result.toInt32Array().map(Double.init) : try result.toArray().map(Double.init)
                for (i, (a, e)) in zip(got, expected.values).enumerated() where !(a == e || (a.isNaN && e.isNaN)) {
                    if Swift.abs(a - e) <= tolerance * Swift.max(1, Swift.abs(e)) { continue }
                    failures.append("\(name): element \(i) is \(a), reference \(e)")
                    return
                }
            } catch {
                if expected != nil { failures.append("\(name): threw \(error) where the reference succeeds") }
            }
        }
    }

    static func strides(_ shape: [Int]) -> [Int] {
        var result = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { result[axis] = result[axis + 1] * shape[axis + 1] }
        return result
    }

    static func index(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        return strides(shape).map { stride in defer { rest %= Swift.max(stride, 1) }; return rest / Swift.max(stride, 1) }
    }

    static func resolve(_ axis: Int, rank: Int) -> Int? {
        let resolved = axis < 0 ? axis + rank : axis
        return (0..<rank).contains(resolved) ? resolved : nil
    }

    static func concatenate(_ parts: [Host], axis: Int) -> Host? {
        guard let first = parts.first, !first.shape.isEmpty, let a = resolve(axis, rank: first.shape.count),
              parts.allSatisfy({ $0.shape.count == first.shape.count
                  && $0.shape.enumerated().allSatisfy { $0.offset == a || $0.element == first.shape[$0.offset] } }) else { return nil }
        var shape = first.shape
        shape[a] = parts.reduce(0) { $0 + $1.shape[a] }
        let outer = shape[..<a].reduce(1, *)
        var values: [Double] = []
        for o in 0..<outer {
            for part in parts {
                let block = part.shape[a...].reduce(1, *)
                values += part.values[(o * block)..<((o + 1) * block)]
            }
        }
        return Host(shape: shape, values: values)
    }

    static func layerNorm(_ x: Host, weight: Host?, bias: Host?, rms: Bool) -> Host {
        let columns = x.shape.last!, rows = columns == 0 ? 0 : x.count / columns
        var out = x.values
        for r in 0..<rows {
            let row = Array(x.values[(r * columns)..<((r + 1) * columns)])
            let mean = rms ? 0 : row.reduce(0, +) / Double(columns)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(columns)
            for c in 0..<columns {
                out[r * columns + c] = (row[c] - mean) / (variance + 1e-5).squareRoot() * (weight?.values[c] ?? 1) + (bias?.values[c] ?? 0)
            }
        }
        return Host(shape: x.shape, values: out)
    }

    // swiftlint:disable:next function_body_length
    static func run(_ c: Case) throws {
        switch c.random.int(12) {
        case 0:
            let base = c.shape()
            let axis = c.random.int(in: -4...3)
            let parts = (0..<c.random.int(in: 0...3)).map { _ -> Host in
                var shape = base
                if let a = resolve(axis, rank: shape.count), c.random.chance(0.7) { shape[a] = c.random.int(in: 0...3) }
                if c.random.chance(0.1) { shape = c.shape() }
                return c.host(shape)
            }
            let tensors = try parts.map { try c.tensor($0) }
            c.check("concatenate(\(parts.map(\.shape)), axis: \(axis))", concatenate(parts, axis: axis)) { () throws(TensorError) in
                try TensorEngine.concatenate(tensors, axis: axis)
            }
        case 1:
            let base = c.shape(rank: 0...3)
            let parts = (0..<c.random.int(in: 1...3)).map { _ in c.host(c.random.chance(0.85) ? base : c.shape()) }
            let axis = c.random.int(in: -5...4)
            var expected: Host?
            if let common = parts.first?.shape, parts.allSatisfy({ $0.shape == common }), let a = resolve(axis, rank: common.count + 1) {
                let unsqueezed = parts.map { p -> Host in var s = p.shape; s.insert(1, at: a); return Host(shape: s, values: p.values) }
                expected = concatenate(unsqueezed, axis: a)
            }
            let tensors = try parts.map { try c.tensor($0) }
            c.check("stack(\(parts.map(\.shape)), axis: \(axis))", expected) { () throws(TensorError) in try stack(tensors, axis: axis) }
        case 2:
            let x = c.host(c.shape())
            let axis = c.random.int(in: -4...3)
            let lower = c.random.int(in: -1...4), upper = c.random.int(in: -1...5), step = c.random.int(in: 0...3)
            var expected: Host?
            if let a = resolve(axis, rank: x.shape.count), lower >= 0, lower <= upper, upper <= x.shape[a], step >= 1 {
                let picked = Array(stride(from: lower, to: upper, by: step))
                var shape = x.shape
                shape[a] = picked.count
                let values = (0..<shape.reduce(1, *)).map { flat -> Double in
                    var i = index(flat, shape)
                    i[a] = picked[i[a]]
                    return x.values[zip(i, strides(x.shape)).reduce(0) { $0 + $1.0 * $1.1 }]
                }
                expected = Host(shape: shape, values: values)
            }
            let t = try c.tensor(x)
            guard lower <= upper else { return }   // Range traps on lower > upper before the engine sees it
            c.check("slice(\(x.shape), axis: \(axis), \(lower)..<\(upper), step: \(step))", expected) { () throws(TensorError) in
                try t.slice(axis: axis, range: lower..<upper, step: step).contiguous()
            }
        case 3:
            let x = c.host(c.shape())
            let axis = c.random.int(in: -4...3)
            var sizes = (0..<c.random.int(in: 1...3)).map { _ in c.random.int(in: -1...3) }
            if let a = resolve(axis, rank: x.shape.count), c.random.chance(0.6), x.shape[a] >= 0 {
                sizes = [x.shape[a]]
                if x.shape[a] >= 2, c.random.chance(0.5) { sizes = [1, x.shape[a] - 1] }
            }
            var expected: Host?
            if let a = resolve(axis, rank: x.shape.count), sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == x.shape[a] {
                expected = x   // the pieces concatenated back are the input
            }
            let t = try c.tensor(x)
            c.check("split(\(x.shape), sizes: \(sizes), axis: \(axis))", expected) { () throws(TensorError) in
                try TensorEngine.concatenate(try split(t, sizes: sizes, axis: axis), axis: axis)
            }
        case 4:
            let vocabulary = c.random.int(in: 1...6), features = c.random.int(in: 1...5)
            let weight = c.host(c.random.chance(0.9) ? [vocabulary, features] : c.shape())
            let indexShape = c.shape(rank: 0...3)
            let (indices, values) = c.ints(indexShape, in: (c.random.chance(0.8) ? 0 : -1)...(vocabulary - (c.random.chance(0.8) ? 1 : 0)))
            guard let indices else { return }
            var expected: Host?
            if weight.shape.count == 2, values.allSatisfy({ (0..<weight.shape[0]).contains($0) }) {
                let width = weight.shape[1]
                expected = Host(shape: indexShape + [width],
                                values: values.flatMap { Array(weight.values[($0 * width)..<(($0 + 1) * width)]) })
            }
            let w = try c.tensor(weight)
            c.check("embedding(\(indexShape) of \(values), weight: \(weight.shape))", expected) { () throws(TensorError) in
                try embedding(indices, weight: w)
            }
        case 5:
            let x = c.host(c.shape())
            let axis = c.random.int(in: -4...3)
            var indexShape = x.shape.map { c.random.chance(0.7) ? $0 : c.random.int(in: 0...$0 + 1) }
            if c.random.chance(0.1) { indexShape = c.shape() }
            let extent = resolve(axis, rank: x.shape.count).map { x.shape[$0] } ?? 1
            let (indices, values) = c.ints(indexShape, in: (c.random.chance(0.9) ? 0 : -1)...Swift.max(0, extent - (c.random.chance(0.9) ? 1 : 0)))
            guard let indices else { return }
            var expected: Host?
            if let a = resolve(axis, rank: x.shape.count), indexShape.count == x.shape.count,
               indexShape.enumerated().allSatisfy({ $0.offset == a || $0.element <= x.shape[$0.offset] }),
               values.allSatisfy({ (0..<extent).contains($0) }) {
                expected = Host(shape: indexShape, values: values.enumerated().map { flat, picked in
                    var i = index(flat, indexShape)
                    i[a] = picked
                    return x.values[zip(i, strides(x.shape)).reduce(0) { $0 + $1.0 * $1.1 }]
                })
            }
            let t = try c.tensor(x)
            c.check("gather(\(x.shape), axis: \(axis), indices: \(indexShape) \(values))", expected) { () throws(TensorError) in
                try gather(t, axis: axis, indices: indices)
            }
        case 6:
            let x = c.host(c.shape(rank: 0...3))
            let last = x.shape.last ?? 1
            let rms = c.random.chance(0.4)
            let weight = c.random.chance(0.7) ? c.host(c.random.chance(0.9) ? [last] : [last + 1]) : nil
            let bias = !rms && c.random.chance(0.7) ? c.host(c.random.chance(0.9) ? [last] : [last + 2]) : nil
            let valid = !x.shape.isEmpty && (weight?.shape ?? [last]) == [last] && (bias?.shape ?? [last]) == [last]
            let expected = valid ? layerNorm(x, weight: weight, bias: bias, rms: rms) : nil
            let t = try c.tensor(x), w = try weight.map { try c.tensor($0) }, b = try bias.map { try c.tensor($0) }
            c.check("\(rms ? "rmsNorm" : "layerNorm")(\(x.shape), weight: \(weight?.shape ?? []), bias: \(bias?.shape ?? []))",
                    expected, tolerance: 1e-4) { () throws(TensorError) in
                rms ? try rmsNorm(t, weight: w, epsilon: 1e-5) : try TensorEngine.layerNorm(t, weight: w, bias: b, epsilon: 1e-5)
            }
        case 7:
            let shape = c.shape()
            let conditionShape = c.random.chance(0.8) ? shape : c.shape()
            let condition = Host(shape: conditionShape,
                                 values: (0..<conditionShape.reduce(1, *)).map { _ in c.random.chance(0.5) ? 1 : 0 })
            let a = c.host(c.random.chance(0.8) ? conditionShape : c.shape()), b = c.host(conditionShape)
            let expected = a.shape == conditionShape
                ? Host(shape: conditionShape, values: (0..<condition.count).map { condition.values[$0] != 0 ? a.values[$0] : b.values[$0] })
                : nil
            let ct = try c.tensor(condition), at = try c.tensor(a), bt = try c.tensor(b)
            // Shapes that broadcast are valid too: only equal shapes are judged by value, others must not trap.
            if a.shape != conditionShape {
                _ = try? `where`(ct, at, bt)
                return
            }
            c.check("where(\(conditionShape), \(a.shape), \(b.shape))", expected) { () throws(TensorError) in try `where`(ct, at, bt) }
        case 8:
            let x = c.host(c.shape())
            let axis = c.random.int(in: -4...3)
            var expected: Host?
            if let a = resolve(axis, rank: x.shape.count), x.shape[a] > 0 {
                var shape = x.shape
                shape.remove(at: a)
                let inner = x.shape[(a + 1)...].reduce(1, *), extent = x.shape[a]
                expected = Host(shape: shape, values: (0..<shape.reduce(1, *)).map { flat in
                    let (o, i) = (flat / Swift.max(inner, 1), flat % Swift.max(inner, 1))
                    let column = (0..<extent).map { x.values[(o * extent + $0) * inner + i] }
                    return Double(column.firstIndex(of: column.max()!)!)
                })
            } else if resolve(axis, rank: x.shape.count) != nil {
                return   // an empty axis: PyTorch throws; either answer is not judged here
            }
            let t = try c.tensor(x)
            c.check("argmax(\(x.shape), axis: \(axis))", expected) { () throws(TensorError) in try t.argmax(axis: axis) }
        case 9:
            let x = c.host(c.shape())
            let axis = c.random.int(in: -4...3), k = c.random.int(in: -1...4)
            var expected: Host?
            if let a = resolve(axis, rank: x.shape.count), k >= 0, k <= x.shape[a] {
                var shape = x.shape
                shape[a] = k
                let inner = x.shape[(a + 1)...].reduce(1, *), extent = x.shape[a]
                expected = Host(shape: shape, values: (0..<shape.reduce(1, *)).map { flat in
                    let i = flat % Swift.max(inner, 1), rank = (flat / Swift.max(inner, 1)) % Swift.max(k, 1)
                    let o = flat / Swift.max(inner, 1) / Swift.max(k, 1)
                    let column = (0..<extent).map { x.values[(o * extent + $0) * inner + i] }
                    return column.sorted(by: >)[rank]
                })
            }
            let t = try c.tensor(x)
            c.check("topK(\(x.shape), k: \(k), axis: \(axis))", expected) { () throws(TensorError) in
                try topK(t, k: k, axis: axis).values
            }
        case 10:
            let x = c.host(c.shape())
            let p = c.random.pick([-0.25, 0, 0.3, 1, 1.5, .nan])
            let t = try c.tensor(x)
            if (0...1).contains(p) {
                do {
                    let got = try dropout(t, probability: Float(p), seed: c.random.next()).toArray()
                    for (a, e) in zip(got, x.values) where !(a == 0 || Swift.abs(Double(a) - e / (1 - p)) <= 1e-6 * Swift.max(1, Swift.abs(e))) {
                        c.failures.append("dropout(\(x.shape), \(p)): \(a) is neither 0 nor \(e / (1 - p))")
                        break
                    }
                } catch {
                    c.failures.append("dropout(\(x.shape), \(p)) threw \(error)")
                }
            } else {
                c.check("dropout(\(x.shape), \(p))", nil) { () throws(TensorError) in
                    try dropout(t, probability: Float(p), seed: 1)
                }
            }
        default:
            let (batch, heads) = (c.random.int(in: 1...2), c.random.int(in: 1...2))
            let (lq, lk, d) = (c.random.int(in: 1...5), c.random.int(in: 1...5), c.random.int(in: 1...4))
            var kShape = [batch, heads, lk, d]
            if c.random.chance(0.15) { kShape[c.random.int(4)] += 1 }
            let q = c.host(c.random.chance(0.9) ? [batch, heads, lq, d] : [heads, lq, d]), k = c.host(kShape), v = c.host([batch, heads, lk, d])
            let causal = c.random.chance(0.4)
            var expected: Host?
            if q.shape == [batch, heads, lq, d], kShape == [batch, heads, lk, d] {
                var out: [Double] = []
                for bh in 0..<(batch * heads) {
                    for i in 0..<lq {
                        let scores = (0..<lk).map { j -> Double in
                            if causal && j > i { return -.infinity }
                            return (0..<d).reduce(0) { $0 + q.values[(bh * lq + i) * d + $1] * k.values[(bh * lk + j) * d + $1] } / Double(d).squareRoot()
                        }
                        let top = scores.max()!
                        let weights = scores.map { top == -.infinity ? 0 : exp($0 - top) }
                        let total = weights.reduce(0, +)
                        out += (0..<d).map { e in
                            total == 0 ? 0 : (0..<lk).reduce(0) { $0 + weights[$1] / total * v.values[(bh * lk + $1) * d + e] }
                        }
                    }
                }
                expected = Host(shape: [batch, heads, lq, d], values: out)
            }
            let (qt, kt, vt) = (try c.tensor(q), try c.tensor(k), try c.tensor(v))
            c.check("attention(q \(q.shape), k \(kShape), causal: \(causal))", expected, tolerance: 1e-4) { () throws(TensorError) in
                try scaledDotProductAttention(query: qt, key: kt, value: vt, causal: causal)
            }
        }
    }

    @Test func randomTransformerOpCalls() throws {
        let seed = TestEnvironment.uint64("TENSOR_FUZZ_SEED") ?? 9
        let count = TestEnvironment.int("TENSOR_TRANSFORMER_FUZZ_CASES") ?? 1000
        var failures = 0
        for index in 0..<count {
            let fuzzCase = Case(seed: seed, index: index, devices: TestDevices.all)
            try Self.run(fuzzCase)
            if !fuzzCase.failures.isEmpty {
                failures += 1
                Issue.record("case \(index) on \(fuzzCase.device.identifier) (TENSOR_FUZZ_SEED=\(seed)): \(fuzzCase.failures.joined(separator: "; "))")
                if failures >= 20 { break }
            }
        }
        print("transformer fuzz: \(count) cases, \(failures) failing, seed \(seed), devices \(TestDevices.all.map(\.identifier))")
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
