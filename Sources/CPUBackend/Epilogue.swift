import TensorCore

/// The matmul epilogue: `pre = c + bias[column]`, `c = f(pre)`, in one pass over C.
enum Epilogue {
    static func apply(_ activation: Activation, bias: UnsafePointer<Float>?,
                      preActivation: UnsafeMutablePointer<Float>?, c: UnsafeMutablePointer<Float>,
                      rows: Int, columns: Int, threads: Int) {
        let grain = max(1, 65536 / max(columns, 1))
        parallelFor(count: rows, threads: threads, grain: grain, alignment: 1) { range in
            for r in range {
                let row = c + r * columns
                let preRow = preActivation.map { $0 + r * columns }
                ActivationKernels.epilogueRow(activation, bias: bias, pre: preRow, row: row, count: columns)
            }
        }
    }
}
