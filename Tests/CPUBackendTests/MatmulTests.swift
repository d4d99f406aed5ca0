@testable import CPUBackend
import TensorCore
import Testing

/// C = op(A) op(B) in Double, straight from the definition.
func referenceProduct(_ a: [Float], _ b: [Float], _ g: MatmulGeometry) -> [Double] {
    var c = [Double](repeating: 0, count: g.batch * g.m * g.n)
    for batch in 0..<g.batch {
        let oa = batch * g.batchStrideA, ob = batch * g.batchStrideB
        for i in 0..<g.m {
            for j in 0..<g.n {
                var sum = 0.0
                for p in 0..<g.k {
                    let av = g.transposeA ? a[oa + p * g.m + i] : a[oa + i * g.k + p]
                    let bv = g.transposeB ? b[ob + j * g.k + p] : b[ob + p * g.n + j]
                    sum += Double(av) * Double(bv)
                }
                c[(batch * g.m + i) * g.n + j] = sum
            }
        }
    }
    return c
}

struct MatmulCase: CustomStringConvertible, Sendable {
    var m, n, k: Int
    var batch = 1
    var ta = false, tb = false
    var broadcastA = false, broadcastB = false

    var geometry: MatmulGeometry {
        MatmulGeometry(m: m, n: n, k: k, batch: batch, transposeA: ta, transposeB: tb,
                       batchStrideA: broadcastA ? 0 : m * k, batchStrideB: broadcastB ? 0 : k * n)
    }
    var description: String {
        "\(batch)x[\(m),\(k)]x[\(k),\(n)] tA=\(ta) tB=\(tb) bcA=\(broadcastA) bcB=\(broadcastB)"
    }
}

let matmulCases: [MatmulCase] = [
    MatmulCase(m: 1, n: 1, k: 1),
    MatmulCase(m: 7, n: 31, k: 257),
    MatmulCase(m: 31, n: 7, k: 1),
    MatmulCase(m: 257, n: 33, k: 65, ta: true),
    MatmulCase(m: 33, n: 257, k: 19, tb: true),
    MatmulCase(m: 17, n: 45, k: 70, ta: true, tb: true),
    MatmulCase(m: 1, n: 257, k: 31),               // sgemv
    MatmulCase(m: 1, n: 129, k: 33, tb: true),     // sgemv, B transposed
    MatmulCase(m: 1, n: 40, k: 29, ta: true),      // sgemv, A transposed (a column)
    MatmulCase(m: 129, n: 1, k: 31),               // sgemv on A
    MatmulCase(m: 65, n: 1, k: 30, ta: true, tb: true),
    MatmulCase(m: 5, n: 9, k: 13, batch: 3),
    MatmulCase(m: 6, n: 11, k: 7, batch: 4, broadcastB: true),           // merged into one product
    MatmulCase(m: 6, n: 11, k: 7, batch: 4, ta: true, broadcastB: true),
    MatmulCase(m: 9, n: 4, k: 8, batch: 3, tb: true, broadcastA: true),
    MatmulCase(m: 1, n: 23, k: 17, batch: 5, broadcastB: true),
    MatmulCase(m: 100, n: 130, k: 300),
]

@Suite("Matrix products")
struct MatmulTests {
    func run(_ c: MatmulCase, on device: CPUDevice, seed: UInt64) throws -> ([Float], [Double], [Float], [Float]) {
        var rng = SplitMix(seed: seed)
        let g = c.geometry
        let a = rng.floats((g.batchStrideA == 0 ? 1 : g.batch) * g.m * g.k)
        let b = rng.floats((g.batchStrideB == 0 ? 1 : g.batch) * g.k * g.n)
        let ba = try upload(a, on: device), bb = try upload(b, on: device)
        let out = try device.makeBuffer(elementCount: g.batch * g.m * g.n)
        try device.matmul(ba, bb, into: out, geometry: g, epilogue: .none)
        return (try download(out, count: g.batch * g.m * g.n, on: device), referenceProduct(a, b, g), a, b)
    }

    @Test("products match the float64 definition", arguments: matmulCases)
    func products(_ c: MatmulCase) throws {
        for device in Devices.all {
            let (actual, reference, _, _) = try run(c, on: device, seed: UInt64(c.m * 1000 + c.n))
            #expect(allFinite(actual, reference))
            #expect(nmse(actual, reference) < 1e-10, "\(c) on \(device.name)")
        }
    }

    @Test("k = 0 gives zeros plus the epilogue; empty outputs do nothing")
    func degenerate() throws {
        for device in Devices.all {
            let g = MatmulGeometry(m: 3, n: 4, k: 0, batch: 2)
            let a = try device.makeBuffer(elementCount: 0), b = try device.makeBuffer(elementCount: 0)
            let c = try upload([Float](repeating: .nan, count: 24), on: device)
            try device.matmul(a, b, into: c, geometry: g, epilogue: .none)
            #expect(try download(c, count: 24, on: device) == [Float](repeating: 0, count: 24))

            let bias = try upload([1, -2, 0.5, 3], on: device)
            try device.matmul(a, b, into: c, geometry: g,
                              epilogue: MatmulEpilogue(bias: bias, activation: .relu))
            let expected: [Float] = (0..<24).map { [1, 0, 0.5, 3][$0 % 4] }
            #expect(try download(c, count: 24, on: device) == expected)

            for empty in [MatmulGeometry(m: 0, n: 5, k: 3), MatmulGeometry(m: 5, n: 0, k: 3),
                          MatmulGeometry(m: 2, n: 2, k: 2, batch: 0)] {
                try device.matmul(a, b, into: c, geometry: empty, epilogue: .none)
            }
        }
    }

    @Test("bias + activation epilogue and the pre-activation output", arguments: Activation.allCases)
    func epilogue(_ activation: Activation) throws {
        for device in Devices.all {
            for c in [MatmulCase(m: 7, n: 33, k: 19), MatmulCase(m: 1, n: 65, k: 9),
                      MatmulCase(m: 4, n: 17, k: 5, batch: 3, tb: true)] {
                var rng = SplitMix(seed: 77)
                let g = c.geometry
                let a = rng.floats(g.batch * g.m * g.k), b = rng.floats(g.batch * g.k * g.n)
                let bias = rng.floats(g.n)
                let count = g.batch * g.m * g.n
                let out = try device.makeBuffer(elementCount: count)
                let pre = try device.makeBuffer(elementCount: count)
                try device.matmul(try upload(a, on: device), try upload(b, on: device), into: out, geometry: g,
                                  epilogue: MatmulEpilogue(bias: try upload(bias, on: device),
                                                           activation: activation, preActivation: pre))
                let acc = referenceProduct(a, b, g)
                let preReference = acc.enumerated().map { $1 + Double(bias[$0 % g.n]) }
                let yReference = preReference.map { ReferenceActivation.forward(activation, $0) }
                #expect(nmse(try download(pre, count: count, on: device), preReference) < 1e-10)
                #expect(nmse(try download(out, count: count, on: device), yReference) < 1e-10,
                        "\(activation) \(c) on \(device.name)")
            }
        }
    }
}
