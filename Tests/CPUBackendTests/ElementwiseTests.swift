@testable import CPUBackend
import TensorCore
import Testing

/// Row-major multi-index of flat `index` in `shape`.
func multiIndex(_ index: Int, _ shape: [Int]) -> [Int] {
    var rest = index
    var out = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        out[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return out
}

/// NumPy-style broadcast strides of a contiguous `shape` viewed as `target`.
func broadcastLayout(_ shape: [Int], to target: [Int]) -> StridedLayout {
    let strides = ShapeMath.contiguousStrides(shape)
    let pad = target.count - shape.count
    let out = (0..<target.count).map { axis -> Int in
        axis < pad || shape[axis - pad] == 1 ? 0 : strides[axis - pad]
    }
    return StridedLayout(shape: target, strides: out)
}

struct BroadcastCase: CustomStringConvertible, Sendable {
    var a: [Int], b: [Int]
    var description: String { "\(a) op \(b)" }
}

let broadcastCases: [BroadcastCase] = [
    BroadcastCase(a: [257], b: [257]),
    BroadcastCase(a: [31, 7], b: [31, 7]),
    BroadcastCase(a: [31, 7], b: []),                 // scalar
    BroadcastCase(a: [], b: [7, 31]),
    BroadcastCase(a: [31, 257], b: [257]),            // row broadcast
    BroadcastCase(a: [31, 1], b: [31, 257]),          // column broadcast
    BroadcastCase(a: [7, 1, 5], b: [1, 31, 5]),
    BroadcastCase(a: [2, 3, 1, 5, 1, 2, 3, 2], b: [2, 1, 4, 5, 3, 1, 3, 1]),  // rank 8
    BroadcastCase(a: [1], b: [1]),
    BroadcastCase(a: [0, 5], b: [5]),
    BroadcastCase(a: [300, 1000], b: [1000]),         // threaded
]

@Suite("Elementwise operations")
struct ElementwiseTests {
    @Test("binary ops with broadcasting", arguments: broadcastCases)
    func binary(_ c: BroadcastCase) throws {
        let device = Devices.blas
        let shape = try ShapeMath.broadcast(c.a, c.b, op: "test")
        var rng = SplitMix(seed: 11)
        let a = rng.floats(ShapeMath.elementCount(c.a))
        let b = rng.floats(ShapeMath.elementCount(c.b)).map { $0 == 0 ? 1 : $0 }
        let la = broadcastLayout(c.a, to: shape), lb = broadcastLayout(c.b, to: shape)
        let count = ShapeMath.elementCount(shape)
        for op in BinaryOp.allCases {
            let out = try device.makeBuffer(elementCount: count)
            try device.binary(op, try upload(a, on: device), la, try upload(b, on: device), lb, into: out)
            let got = try download(out, count: count, on: device)
            let reference = (0..<count).map { i -> Double in
                let index = multiIndex(i, shape)
                let ia = zip(index, la.strides).reduce(0) { $0 + $1.0 * $1.1 }
                let ib = zip(index, lb.strides).reduce(0) { $0 + $1.0 * $1.1 }
                return op.apply(Double(a[ia]), Double(b[ib]))
            }
            #expect(nmse(got, reference) < 1e-13, "\(op) \(c)")
        }
    }

    @Test("binary ops on strided (transposed, offset) operands")
    func stridedBinary() throws {
        let device = Devices.blas
        var rng = SplitMix(seed: 12)
        let a = rng.floats(7 * 31 + 3), b = rng.floats(31 * 7)
        let la = StridedLayout(shape: [31, 7], strides: [1, 31], offset: 3)   // transposed view
        let lb = StridedLayout(shape: [31, 7], strides: [7, 1])
        let out = try device.makeBuffer(elementCount: 217)
        try device.binary(.sub, try upload(a, on: device), la, try upload(b, on: device), lb, into: out)
        let got = try download(out, count: 217, on: device)
        let reference = (0..<217).map { i in Double(a[3 + (i / 7) + (i % 7) * 31]) - Double(b[i]) }
        #expect(nmse(got, reference) < 1e-13)
    }

    @Test("layouts outside the buffer throw instead of trapping")
    func outOfBounds() throws {
        let device = Devices.blas
        let a = try device.makeBuffer(elementCount: 10), out = try device.makeBuffer(elementCount: 20)
        #expect(throws: TensorError.self) {
            try device.copyStrided(from: a, layout: StridedLayout(shape: [4, 5], strides: [5, 1]), to: out)
        }
        #expect(throws: TensorError.self) {
            try device.binary(.add, a, StridedLayout(shape: [11], strides: [1]),
                              a, StridedLayout(shape: [11], strides: [0]), into: out)
        }
        #expect(throws: TensorError.self) { try device.fill(a, value: 0, count: 11) }
    }

    @Test("scaleShift and fill", arguments: [0, 1, 7, 257, 200_003])
    func scaleShiftAndFill(_ count: Int) throws {
        let device = Devices.blas
        var rng = SplitMix(seed: 13)
        let a = rng.floats(count)
        let out = try device.makeBuffer(elementCount: count)
        try device.scaleShift(try upload(a, on: device), scale: -1.5, offset: 0.25, count: count, into: out)
        #expect(nmse(try download(out, count: count, on: device), a.map { Double($0) * -1.5 + 0.25 }) < 1e-13)
        try device.fill(out, value: 3.5, count: count)
        #expect(try download(out, count: count, on: device) == [Float](repeating: 3.5, count: count))
    }

    @Test("copyStrided: transposes, broadcasts, slices, rank 8",
          arguments: [
            StridedLayout(shape: [257, 31], strides: [1, 257]),            // 2-D transpose
            StridedLayout(shape: [1, 7], strides: [1, 1]),
            StridedLayout(shape: [700, 513], strides: [1, 700]),           // threaded transpose
            StridedLayout(shape: [5, 31], strides: [0, 1]),                // broadcast rows
            StridedLayout(shape: [3, 5, 7], strides: [35, 1, 5], offset: 0),
            StridedLayout(shape: [4, 6], strides: [20, 2], offset: 3),     // strided slice
            StridedLayout(shape: [2, 2, 2, 2, 2, 2, 2, 3], strides: [1, 2, 4, 8, 16, 32, 64, 128]),
            StridedLayout(shape: [0, 4], strides: [4, 1]),
            StridedLayout(shape: [], strides: [], offset: 5),
          ])
    func copyStrided(_ layout: StridedLayout) throws {
        let device = Devices.blas
        let span = StridedCopy.span(shape: layout.shape, strides: layout.strides, offset: layout.offset)
        let sourceCount = max(span.upperBound + 1, 1)
        var rng = SplitMix(seed: 14)
        let source = rng.floats(sourceCount)
        let count = layout.elementCount
        let out = try device.makeBuffer(elementCount: count)
        try device.copyStrided(from: try upload(source, on: device), layout: layout, to: out)
        let expected = (0..<count).map { i -> Float in
            let index = multiIndex(i, layout.shape)
            return source[layout.offset + zip(index, layout.strides).reduce(0) { $0 + $1.0 * $1.1 }]
        }
        #expect(try download(out, count: count, on: device) == expected)
    }

    @Test("reduceSum over [outer, axis, inner]",
          arguments: [[1, 1, 1], [1, 257, 1], [7, 31, 1], [3, 31, 7], [1, 1000, 257], [5, 0, 3],
                      [0, 4, 4], [1, 100_003, 1], [2000, 3, 1], [31, 7, 257]])
    func reduceSum(_ dims: [Int]) throws {
        let device = Devices.blas
        let (outer, axis, inner) = (dims[0], dims[1], dims[2])
        var rng = SplitMix(seed: 15)
        let x = rng.floats(outer * axis * inner)
        let out = try device.makeBuffer(elementCount: outer * inner)
        let scale: Float = axis > 0 ? 1 / Float(axis) : 1
        try device.reduceSum(try upload(x, on: device), outer: outer, axis: axis, inner: inner,
                             scale: scale, into: out)
        var reference = [Double](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for a in 0..<axis {
                for j in 0..<inner { reference[o * inner + j] += Double(x[(o * axis + a) * inner + j]) }
            }
        }
        reference = reference.map { $0 * Double(scale) }
        let got = try download(out, count: outer * inner, on: device)
        #expect(nmse(got, reference) < 1e-13, "\(dims)")
    }
}
