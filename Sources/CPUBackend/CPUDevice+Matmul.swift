import COpenBLAS
import CPUKernels
import TensorCore

extension CPUDevice {
    /// C = op(A) op(B) per `geometry`, then the epilogue in one fused pass over C.
    ///
    /// Products run on OpenBLAS (`sgemv` when m or n is 1, `sgemm` otherwise; transposed
    /// operands are passed as flags, never copied) or, without OpenBLAS, on the built-in
    /// packed C kernel (``PackedGemm``; the Swift kernel on the portable path). A batch stride of 0 broadcasts that operand over the batch.
    ///
    /// ```swift
    /// let g = MatmulGeometry(m: 64, n: 256, k: 784)
    /// try cpu.matmul(x, w, into: y, geometry: g,
    ///                epilogue: MatmulEpilogue(bias: b, activation: .gelu))
    /// ```
    public func matmul(_ a: any BackendBuffer, _ b: any BackendBuffer, into c: any BackendBuffer,
                       geometry g: MatmulGeometry, epilogue: MatmulEpilogue) throws(TensorError) {
        let op = "matmul"
        let a = try cpuBuffer(a, op: op), b = try cpuBuffer(b, op: op), c = try cpuBuffer(c, op: op)
        guard g.m >= 0, g.n >= 0, g.k >= 0, g.batch >= 0, g.batchStrideA >= 0, g.batchStrideB >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent or stride in \(g)")
        }
        let outputCount = g.batch * g.m * g.n
        try require(c, holds: outputCount, op: op, role: "output")
        if outputCount == 0 { return }
        if g.k > 0 {
            try require(a, holds: (g.batch - 1) * g.batchStrideA + g.m * g.k, op: op, role: "A")
            try require(b, holds: (g.batch - 1) * g.batchStrideB + g.k * g.n, op: op, role: "B")
        }
        let bias = try epilogue.bias.map { (buffer) throws(TensorError) in try cpuBuffer(buffer, op: op) }
        let pre = try epilogue.preActivation.map { (buffer) throws(TensorError) in try cpuBuffer(buffer, op: op) }
        if let bias { try require(bias, holds: g.n, op: op, role: "bias") }
        if let pre { try require(pre, holds: outputCount, op: op, role: "preActivation") }

        if g.k == 0 {
            c.base.update(repeating: 0, count: outputCount)
        } else {
            product(a.base, b.base, c.base, g)
        }
        if let fewBit = epilogue.fewBit {
            let codes = try cpuBuffer(fewBit.codes, op: op)
            try require(codes, holds: FewBitCodes.packedWordCount(count: outputCount, bits: fewBit.table.bits), op: op, role: "codes")
            FewBitEpilogue.apply(epilogue.activation, table: fewBit.table, bias: bias.map { UnsafePointer($0.base) },
                                 preActivation: pre?.base, codes: codes, c: c.base, rows: g.batch * g.m, columns: g.n,
                                 threads: threads)
        } else if !epilogue.isNone {
            Epilogue.apply(epilogue.activation, bias: bias.map { UnsafePointer($0.base) },
                           preActivation: pre?.base, c: c.base, rows: g.batch * g.m, columns: g.n,
                           threads: threads)
        }
    }

    /// The bare product (k > 0), batch by batch.
    private func product(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>,
                         _ c: UnsafeMutablePointer<Float>, _ g: MatmulGeometry) {
        // Broadcast B with row-major A packed back to back: one product of batch * m rows.
        if g.batch > 1, g.batchStrideB == 0, !g.transposeA, g.batchStrideA == g.m * g.k {
            var merged = g
            merged.m = g.batch * g.m
            merged.batch = 1
            merged.batchStrideA = merged.m * g.k
            product(a, b, c, merged)
            return
        }
        for batch in 0..<g.batch {
            let pa = UnsafePointer(a + batch * g.batchStrideA)
            let pb = UnsafePointer(b + batch * g.batchStrideB)
            let pc = c + batch * g.m * g.n
            if let blas, !PackedGemm.preferredOverOpenBLAS(m: g.m, n: g.n, k: g.k) {
                blas.withThreads(threads) { Self.blasProduct(blas, pa, pb, pc, g) }
            } else {
                PackedGemm.multiply(m: g.m, n: g.n, k: g.k, a: pa, transposeA: g.transposeA,
                                    b: pb, transposeB: g.transposeB, c: pc, threads: threads, isa: CPUISA.active)
            }
        }
    }

    /// One product on OpenBLAS: sgemv for a single row or column, sgemm otherwise.
    private static func blasProduct(_ blas: OpenBLASLibrary, _ a: UnsafePointer<Float>,
                                    _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                    _ g: MatmulGeometry) {
        let rowMajor = Int32(TE_CBLAS_ROW_MAJOR)
        let noTrans = Int32(TE_CBLAS_NO_TRANS), trans = Int32(TE_CBLAS_TRANS)
        let m = Int32(g.m), n = Int32(g.n), k = Int32(g.k)
        // OpenBLAS's threads need the cores our pool's workers may be spinning on.
        if g.m * g.n * g.k >= 1 << 18 { te_worker_pool_rest() }
        if g.m == 1 {
            // c[n] = B^T a: B stored [k, n] -> Trans over (k x n); stored [n, k] -> NoTrans.
            if g.transposeB {
                blas.sgemv(rowMajor, noTrans, n, k, 1, b, k, a, 1, 0, c, 1)
            } else {
                blas.sgemv(rowMajor, trans, k, n, 1, b, n, a, 1, 0, c, 1)
            }
        } else if g.n == 1 {
            // c[m] = A b: A stored [m, k] -> NoTrans; stored [k, m] -> Trans over (k x m).
            if g.transposeA {
                blas.sgemv(rowMajor, trans, k, m, 1, a, m, b, 1, 0, c, 1)
            } else {
                blas.sgemv(rowMajor, noTrans, m, k, 1, a, k, b, 1, 0, c, 1)
            }
        } else {
            blas.sgemm(rowMajor, g.transposeA ? trans : noTrans, g.transposeB ? trans : noTrans,
                       m, n, k, 1, a, Int32(g.leadingDimensionA), b, Int32(g.leadingDimensionB),
                       0, c, n)
        }
    }
}
