import CPUKernels
import Foundation
import TensorCore

/// Fused scaled dot-product attention on the CPU (the rules of ``BackendOp/attentionForward``
/// and ``BackendOp/attentionBackward``): blocks of 32 queries against blocks of 64 keys, the
/// scores of one query against one key block held in four 16-lane registers (the key block is
/// transposed once per query block), an online softmax with a running maximum and sum, so no
/// Lq x Lk matrix is ever stored. Forward runs in parallel over batch * heads * query blocks,
/// backward over batch * heads (one thread owns a head's gradients: no atomics, deterministic).
extension CPUDevice {
    static let attentionQueryBlock = 32
    static let attentionKeyBlock = 64

    /// Forward attention: `output` and the per-query log-sum-exp (see ``BackendOp/attentionForward``).
    /// `isa` picks the kernels (default ``CPUISA/active``): `.avx512` the 16-lane forward
    /// (AttentionAVX512.c), `.avx2` the 8-lane one (AttentionAVX2.c), `.portable` the Swift
    /// loops; tests pass each to compare them.
    ///
    /// ```swift
    /// try cpu.attentionForward(geometry, query: q, key: k, value: v, mask: nil, output: o, logSumExp: lse)
    /// ```
    public func attentionForward(_ g: AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer,
                                 value: any BackendBuffer, mask: AttentionMask?, output: any BackendBuffer,
                                 logSumExp: any BackendBuffer, isa: CPUISA = .active) throws(TensorError) {
        let op = "attentionForward"
        let operands = try attentionOperands(g, query: query, key: key, value: value, mask: mask, op: op)
        let ob = try cpuBuffer(output, op: op), lb = try cpuBuffer(logSumExp, op: op)
        try require(ob, holds: g.batchHeads * g.queryLength * g.valueDimension, op: op, role: "output")
        try require(lb, holds: g.batchHeads * g.queryLength, op: op, role: "logSumExp")
        let rows = g.batchHeads * g.queryLength
        guard rows > 0 else { return }
        let out = ob.base, lse = lb.base
        let blocks = (g.queryLength + Self.attentionQueryBlock - 1) / Self.attentionQueryBlock
        let work = Self.attentionQueryBlock * max(1, g.keyLength) * (g.headDimension + g.valueDimension + 8)
        parallelFor(count: g.batchHeads * blocks, threads: threads, grain: max(1, 262_144 / work), alignment: 1) { range in
            let kb = Self.attentionKeyBlock
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: g.headDimension * kb + 2 * kb
                                                                   + Self.attentionQueryBlock * (g.valueDimension + 2))
            defer { scratch.deallocate() }
            var problem = Self.attentionProblem(g, operands)
            for task in range {
                if te_attention_forward_block(isa.rawValue, &problem, task / blocks, task % blocks * Self.attentionQueryBlock, out, lse,
                                              scratch) != 0 { continue }
                Self.attentionForwardBlock(g, operands, head: task / blocks,
                                           firstQuery: task % blocks * Self.attentionQueryBlock,
                                           output: out, logSumExp: lse, scratch: scratch)
            }
        }
    }

    /// Backward attention from the forward's output and log-sum-exp (see ``BackendOp/attentionBackward``);
    /// `isa` as in ``attentionForward(_:query:key:value:mask:output:logSumExp:isa:)`` (the backward
    /// has AVX2 kernels only, which `.avx512` runs).
    ///
    /// ```swift
    /// try cpu.attentionBackward(geometry, query: q, key: k, value: v, mask: nil, output: o, logSumExp: lse,
    ///                           gradOutput: dO, gradQuery: dQ, gradKey: dK, gradValue: dV)
    /// ```
    public func attentionBackward(_ g: AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer,
                                  value: any BackendBuffer, mask: AttentionMask?, output: any BackendBuffer,
                                  logSumExp: any BackendBuffer, gradOutput: any BackendBuffer,
                                  gradQuery: any BackendBuffer, gradKey: any BackendBuffer,
                                  gradValue: any BackendBuffer, isa: CPUISA = .active) throws(TensorError) {
        let op = "attentionBackward"
        let operands = try attentionOperands(g, query: query, key: key, value: value, mask: mask, op: op)
        let o = try cpuBuffer(output, op: op), l = try cpuBuffer(logSumExp, op: op), dO = try cpuBuffer(gradOutput, op: op)
        let dQ = try cpuBuffer(gradQuery, op: op), dK = try cpuBuffer(gradKey, op: op), dV = try cpuBuffer(gradValue, op: op)
        let bh = g.batchHeads
        try require(o, holds: bh * g.queryLength * g.valueDimension, op: op, role: "output")
        try require(dO, holds: bh * g.queryLength * g.valueDimension, op: op, role: "gradOutput")
        try require(l, holds: bh * g.queryLength, op: op, role: "logSumExp")
        try require(dQ, holds: bh * g.queryLength * g.headDimension, op: op, role: "gradQuery")
        try require(dK, holds: bh * g.keyLength * g.headDimension, op: op, role: "gradKey")
        try require(dV, holds: bh * g.keyLength * g.valueDimension, op: op, role: "gradValue")
        dQ.base.initialize(repeating: 0, count: bh * g.queryLength * g.headDimension)
        dK.base.initialize(repeating: 0, count: bh * g.keyLength * g.headDimension)
        dV.base.initialize(repeating: 0, count: bh * g.keyLength * g.valueDimension)
        guard bh > 0, g.queryLength > 0, g.keyLength > 0 else { return }
        let grads = AttentionGradients(output: UnsafePointer(o.base), logSumExp: UnsafePointer(l.base),
                                       gradOutput: UnsafePointer(dO.base), gradQuery: dQ.base, gradKey: dK.base,
                                       gradValue: dV.base)
        let work = g.queryLength * g.keyLength * 2 * (g.headDimension + g.valueDimension + 8)
        parallelFor(count: bh, threads: threads, grain: max(1, 262_144 / work), alignment: 1) { range in
            let kb = Self.attentionKeyBlock
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: (g.headDimension + g.valueDimension) * kb
                                                                   + 2 * Self.attentionQueryBlock * kb + 2 * g.queryLength)
            defer { scratch.deallocate() }
            for head in range {
                Self.attentionBackwardHead(g, operands, grads, head: head, scratch: scratch, isa: isa)
            }
        }
    }

    /// Validated pointers to q, k, v and the mask.
    func attentionOperands(_ g: AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer,
                           value: any BackendBuffer, mask: AttentionMask?, op: String) throws(TensorError) -> AttentionOperands {
        guard g.batch >= 0, g.heads >= 0, g.queryLength >= 0, g.keyLength >= 0, g.headDimension >= 0,
              g.valueDimension >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent in \(g)")
        }
        let qb = try cpuBuffer(query, op: op), kb = try cpuBuffer(key, op: op), vb = try cpuBuffer(value, op: op)
        try require(qb, holds: g.batchHeads * g.queryLength * g.headDimension, op: op, role: "query")
        try require(kb, holds: g.batchHeads * g.keyLength * g.headDimension, op: op, role: "key")
        try require(vb, holds: g.batchHeads * g.keyLength * g.valueDimension, op: op, role: "value")
        var maskBase: UnsafePointer<Float>?
        var strides = [0, 0, 0, 0], offset = 0
        if let mask {
            let mb = try cpuBuffer(mask.buffer, op: op)
            let expected = [g.batch, g.heads, g.queryLength, g.keyLength]
            guard mask.layout.shape == expected else {
                throw .shapeMismatch(op: op, lhs: mask.layout.shape, rhs: expected, reason: "mask layout must be [B, H, Lq, Lk]")
            }
            try validate(mask.layout, of: mb, op: op)
            maskBase = UnsafePointer(mb.base)
            strides = mask.layout.strides
            offset = mask.layout.offset
        }
        return AttentionOperands(query: UnsafePointer(qb.base), key: UnsafePointer(kb.base), value: UnsafePointer(vb.base),
                                 mask: maskBase, maskOffset: offset, maskStrides: (strides[0], strides[1], strides[2], strides[3]))
    }

    /// The scores of query row `q` (Dh floats) against the transposed key block `kt`
    /// ([Dh, 64], zero-padded), times `scale`, plus mask and causal masking; lanes at and past
    /// `count` are -inf. Returns the block maximum.
    @inline(__always)
    static func attentionScores(_ g: AttentionGeometry, _ x: AttentionOperands, head: Int, query i: Int,
                                q: UnsafePointer<Float>, kt: UnsafePointer<Float>, firstKey: Int, count: Int,
                                into scores: UnsafeMutablePointer<Float>) -> Float {
        var s0 = V(), s1 = V(), s2 = V(), s3 = V()
        let raw = UnsafeRawPointer(kt)
        for d in 0..<g.headDimension {
            let qv = V(repeating: q[d] * g.scale)
            let row = d * 256
            s0 += qv * raw.loadUnaligned(fromByteOffset: row, as: V.self)
            s1 += qv * raw.loadUnaligned(fromByteOffset: row + 64, as: V.self)
            s2 += qv * raw.loadUnaligned(fromByteOffset: row + 128, as: V.self)
            s3 += qv * raw.loadUnaligned(fromByteOffset: row + 192, as: V.self)
        }
        let out = UnsafeMutableRawPointer(scores)
        out.storeBytes(of: s0, as: V.self)
        out.storeBytes(of: s1, toByteOffset: 64, as: V.self)
        out.storeBytes(of: s2, toByteOffset: 128, as: V.self)
        out.storeBytes(of: s3, toByteOffset: 192, as: V.self)
        if let mask = x.mask {
            let b = head / max(1, g.heads), h = head % max(1, g.heads)
            let row = mask + x.maskOffset + b * x.maskStrides.0 + h * x.maskStrides.1 + i * x.maskStrides.2
            let step = x.maskStrides.3
            for j in 0..<count { scores[j] += row[(firstKey + j) * step] }
        }
        if g.causal, firstKey + count - 1 > i {
            for j in max(0, i - firstKey + 1)..<count { scores[j] = -.infinity }
        }
        for j in count..<attentionKeyBlock { scores[j] = -.infinity }
        var top = -Float.infinity
        for j in 0..<count { top = max(top, scores[j]) }
        return top
    }

    /// `scores[j] = exp(scores[j] - shift)` on the 64 lanes; returns their sum.
    @inline(__always)
    static func attentionExponentiate(_ scores: UnsafeMutablePointer<Float>, minus shift: Float) -> Float {
        let raw = UnsafeMutableRawPointer(scores)
        var total = V()
        for lane in 0..<4 {
            let p = VectorMath.exp(raw.loadUnaligned(fromByteOffset: lane * 64, as: V.self) - V(repeating: shift))
            raw.storeBytes(of: p, toByteOffset: lane * 64, as: V.self)
            total += p
        }
        return total.sum()
    }

    /// Copies rows `first..<first + count` of a [L, width] matrix into `t` as [width, 64], zero-padded.
    @inline(__always)
    static func attentionTranspose(_ source: UnsafePointer<Float>, width: Int, first: Int, count: Int,
                                   into t: UnsafeMutablePointer<Float>) {
        let kb = attentionKeyBlock
        for j in 0..<count {
            let row = source + (first + j) * width
            for d in 0..<width { t[d * kb + j] = row[d] }
        }
        if count < kb { for d in 0..<width { (t + d * kb + count).initialize(repeating: 0, count: kb - count) } }
    }

    static func attentionForwardBlock(_ g: AttentionGeometry, _ x: AttentionOperands, head: Int, firstQuery: Int,
                                      output: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>,
                                      scratch: UnsafeMutablePointer<Float>) {
        let kb = attentionKeyBlock, dh = g.headDimension, dv = g.valueDimension
        let lastQuery = min(g.queryLength, firstQuery + attentionQueryBlock)
        let rows = lastQuery - firstQuery
        let kt = scratch, scores = scratch + dh * kb, acc = scores + kb
        let running = acc + attentionQueryBlock * dv, total = running + attentionQueryBlock
        acc.initialize(repeating: 0, count: rows * dv)
        running.initialize(repeating: -.infinity, count: rows)
        total.initialize(repeating: 0, count: rows)
        let q = x.query + head * g.queryLength * dh, k = x.key + head * g.keyLength * dh
        let v = x.value + head * g.keyLength * dv
        let keyEnd = g.causal ? min(g.keyLength, lastQuery) : g.keyLength
        var firstKey = 0
        while firstKey < keyEnd {
            let count = min(kb, keyEnd - firstKey)
            attentionTranspose(k, width: dh, first: firstKey, count: count, into: kt)
            for r in 0..<rows {
                let i = firstQuery + r
                let top = attentionScores(g, x, head: head, query: i, q: q + i * dh, kt: kt, firstKey: firstKey,
                                          count: count, into: scores)
                let old = running[r], new = max(old, top)
                if new == -.infinity { continue }   // nothing visible yet
                let alpha = Foundation.exp(old - new)
                let sum = attentionExponentiate(scores, minus: new)
                total[r] = total[r] * alpha + sum
                running[r] = new
                let row = acc + r * dv
                if alpha != 1 { for d in 0..<dv { row[d] *= alpha } }
                for j in 0..<count where scores[j] != 0 { axpy(dv, scores[j], v + (firstKey + j) * dv, row) }
            }
            firstKey += count
        }
        for r in 0..<rows {
            let i = head * g.queryLength + firstQuery + r
            let sum = total[r]
            let inverse: Float = sum > 0 ? 1 / sum : 0
            let row = acc + r * dv, out = output + i * dv
            for d in 0..<dv { out[d] = row[d] * inverse }
            logSumExp[i] = sum > 0 ? running[r] + Foundation.log(sum) : -.infinity
        }
    }

    static func attentionBackwardHead(_ g: AttentionGeometry, _ x: AttentionOperands, _ y: AttentionGradients,
                                      head: Int, scratch: UnsafeMutablePointer<Float>, isa: CPUISA) {
        let kb = attentionKeyBlock, dh = g.headDimension, dv = g.valueDimension
        // [Dh, 64] keys, [Dv, 64] values, then two 32 x 64 tiles (C) or p and dP rows (Swift), D, 1 / row sums.
        let kt = scratch, vt = kt + dh * kb, p = vt + dv * kb, dp = p + kb
        let delta = vt + dv * kb + 2 * attentionQueryBlock * kb, inverseNorm = delta + g.queryLength
        let q = x.query + head * g.queryLength * dh, k = x.key + head * g.keyLength * dh
        let v = x.value + head * g.keyLength * dv
        let o = y.output + head * g.queryLength * dv, dO = y.gradOutput + head * g.queryLength * dv
        let lse = y.logSumExp + head * g.queryLength
        let dQ = y.gradQuery + head * g.queryLength * dh, dK = y.gradKey + head * g.keyLength * dh
        let dV = y.gradValue + head * g.keyLength * dv
        for i in 0..<g.queryLength {
            delta[i] = dot(dv, dO + i * dv, o + i * dv)
            inverseNorm[i] = 1
            // A row of huge negative scores (every key masked with -3.4e38): lse = m + log(l)
            // rounds to m, so exp(s - lse) sums to l, not 1; its sum is recomputed here.
            if lse[i] < attentionSaturatedLogSumExp, lse[i] > -.infinity {
                var total: Float = 0
                let keyEnd = g.causal ? min(g.keyLength, i + 1) : g.keyLength
                for j in 0..<keyEnd {
                    var score: Float = 0
                    for d in 0..<dh { score += q[i * dh + d] * g.scale * k[j * dh + d] }
                    total += Foundation.exp(score + attentionMaskValue(g, x, head: head, query: i, key: j) - lse[i])
                }
                if total > 0 { inverseNorm[i] = 1 / total }
            }
        }
        var problem = attentionProblem(g, x)
        if isa != .portable, te_attention_backward_head(&problem, head, y.logSumExp, y.gradOutput, delta, inverseNorm, y.gradQuery,
                                      y.gradKey, y.gradValue, scratch) != 0 { return }
        var firstQuery = 0
        while firstQuery < g.queryLength {
            let lastQuery = min(g.queryLength, firstQuery + attentionQueryBlock)
            let keyEnd = g.causal ? min(g.keyLength, lastQuery) : g.keyLength
            var firstKey = 0
            while firstKey < keyEnd {
                let count = min(kb, keyEnd - firstKey)
                attentionTranspose(k, width: dh, first: firstKey, count: count, into: kt)
                attentionTranspose(v, width: dv, first: firstKey, count: count, into: vt)
                for i in firstQuery..<lastQuery where lse[i] != -.infinity {
                    _ = attentionScores(g, x, head: head, query: i, q: q + i * dh, kt: kt, firstKey: firstKey,
                                        count: count, into: p)
                    _ = attentionExponentiate(p, minus: lse[i])
                    if inverseNorm[i] != 1 { for j in 0..<kb { p[j] *= inverseNorm[i] } }
                    // dP_ij = dO_i . v_j over the block, as four 16-lane rows.
                    let rawV = UnsafeRawPointer(vt), g_i = dO + i * dv
                    var a0 = V(), a1 = V(), a2 = V(), a3 = V()
                    for d in 0..<dv {
                        let w = V(repeating: g_i[d]), row = d * 256
                        a0 += w * rawV.loadUnaligned(fromByteOffset: row, as: V.self)
                        a1 += w * rawV.loadUnaligned(fromByteOffset: row + 64, as: V.self)
                        a2 += w * rawV.loadUnaligned(fromByteOffset: row + 128, as: V.self)
                        a3 += w * rawV.loadUnaligned(fromByteOffset: row + 192, as: V.self)
                    }
                    let out = UnsafeMutableRawPointer(dp)
                    out.storeBytes(of: a0, as: V.self)
                    out.storeBytes(of: a1, toByteOffset: 64, as: V.self)
                    out.storeBytes(of: a2, toByteOffset: 128, as: V.self)
                    out.storeBytes(of: a3, toByteOffset: 192, as: V.self)
                    let d_i = delta[i], q_i = q + i * dh, dq_i = dQ + i * dh
                    for j in 0..<count where p[j] != 0 {
                        let key = firstKey + j
                        let ds = p[j] * (dp[j] - d_i) * g.scale
                        axpy(dv, p[j], g_i, dV + key * dv)
                        axpy(dh, ds, q_i, dK + key * dh)
                        axpy(dh, ds, k + key * dh, dq_i)
                    }
                }
                firstKey += count
            }
            firstQuery = lastQuery
        }
    }

    /// The C kernels' description of the problem (AttentionAVX2.c), the mask offset applied.
    static func attentionProblem(_ g: AttentionGeometry, _ x: AttentionOperands) -> te_attention_problem {
        te_attention_problem(query: x.query, key: x.key, value: x.value, mask: x.mask.map { $0 + x.maskOffset },
                             maskStrides: x.maskStrides, g: g)
    }

    /// Below this log-sum-exp a row's scores are so negative (a -3.4e38 mask on every key) that
    /// `m + log(l)` loses `log(l)` to rounding: backward then recomputes the row's sum (as the
    /// shaders do, Shaders/common/attention.glsl).
    static let attentionSaturatedLogSumExp: Float = -4096

    /// mask[b, h, i, j], or 0 without a mask.
    @inline(__always)
    static func attentionMaskValue(_ g: AttentionGeometry, _ x: AttentionOperands, head: Int, query i: Int,
                                   key j: Int) -> Float {
        guard let mask = x.mask else { return 0 }
        let b = head / max(1, g.heads), h = head % max(1, g.heads)
        return mask[x.maskOffset + b * x.maskStrides.0 + h * x.maskStrides.1 + i * x.maskStrides.2 + j * x.maskStrides.3]
    }

    /// y[0..<n] += a * x[0..<n], eight lanes at a time.
    @inline(__always)
    static func axpy(_ n: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        typealias V8 = SIMD8<Float>
        let av = V8(repeating: a), rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        var d = 0
        while d + 8 <= n {
            let sum = ry.loadUnaligned(fromByteOffset: d * 4, as: V8.self) + av * rx.loadUnaligned(fromByteOffset: d * 4, as: V8.self)
            ry.storeBytes(of: sum, toByteOffset: d * 4, as: V8.self)
            d += 8
        }
        while d < n { y[d] += a * x[d]; d += 1 }
    }

    /// x . y over n floats, eight lanes at a time.
    @inline(__always)
    static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        typealias V8 = SIMD8<Float>
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        var acc = V8(), d = 0
        while d + 8 <= n {
            acc += rx.loadUnaligned(fromByteOffset: d * 4, as: V8.self) * ry.loadUnaligned(fromByteOffset: d * 4, as: V8.self)
            d += 8
        }
        var total = acc.sum()
        while d < n { total += x[d] * y[d]; d += 1 }
        return total
    }
}

/// Read-only pointers of one attention call (valid for its duration).
struct AttentionOperands: @unchecked Sendable {
    let query: UnsafePointer<Float>
    let key: UnsafePointer<Float>
    let value: UnsafePointer<Float>
    let mask: UnsafePointer<Float>?
    let maskOffset: Int
    let maskStrides: (Int, Int, Int, Int)
}

/// The backward's other inputs and its outputs; each head's slices are written by one thread.
struct AttentionGradients: @unchecked Sendable {
    let output: UnsafePointer<Float>
    let logSumExp: UnsafePointer<Float>
    let gradOutput: UnsafePointer<Float>
    let gradQuery: UnsafeMutablePointer<Float>
    let gradKey: UnsafeMutablePointer<Float>
    let gradValue: UnsafeMutablePointer<Float>
}

extension te_attention_problem {
    init(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
         maskStrides: (Int, Int, Int, Int), g: AttentionGeometry) {
        self.init(q: query, k: key, v: value, mask: mask, mask_strides: maskStrides, heads: g.heads,
                  query_length: g.queryLength, key_length: g.keyLength, head_dim: g.headDimension,
                  value_dim: g.valueDimension, scale: g.scale, causal: g.causal ? 1 : 0)
    }
}
