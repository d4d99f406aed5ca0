import TensorCore

/// Float64 host references, written from the math.
enum References {
    static func matmul(_ a: [Float], _ b: [Float], _ g: MatmulGeometry) -> [Double] {
        var c = [Double](repeating: 0, count: g.batch * g.m * g.n)
        for batch in 0..<g.batch {
            let aBase = batch * g.batchStrideA, bBase = batch * g.batchStrideB
            for i in 0..<g.m {
                for j in 0..<g.n {
                    var acc = 0.0
                    for p in 0..<g.k {
                        let x = g.transposeA ? a[aBase + p * g.m + i] : a[aBase + i * g.k + p]
                        let y = g.transposeB ? b[bBase + j * g.k + p] : b[bBase + p * g.n + j]
                        acc += Double(x) * Double(y)
                    }
                    c[(batch * g.m + i) * g.n + j] = acc
                }
            }
        }
        return c
    }

    /// `source[layout(i)]` for every index of the layout's shape.
    static func strided(_ source: [Float], _ layout: StridedLayout) -> [Double] {
        let count = layout.elementCount
        var result = [Double](repeating: 0, count: count)
        for index in 0..<count {
            result[index] = Double(source[stridedOffset(index, layout)])
        }
        return result
    }

    /// f' by a float64 central difference of the activation's definition.
    static func finiteDifference(_ activation: Activation, _ x: Double) -> Double {
        let h = 1e-6 * max(1, abs(x))
        return (activation.forward(x + h) - activation.forward(x - h)) / (2 * h)
    }
}
