import CPUKernels
import TensorCore

/// Activation loops: the C kernels (CPUKernels) of the path `isa` (default ``CPUISA/active``:
/// AVX-512 or AVX2 + FMA where the CPU has them), else 16 lanes at a time through a
/// ``VectorActivation``, the tail through a zero-padded vector, so every element sees the
/// same code. Tests pass each path the CPU runs.
enum ActivationKernels {
    static let lanes = V.scalarCount

    /// Nanoseconds per element of one thread on data in cache, (forward, backward), measured on
    /// AVX-512 (Zen 5, 2.6 GHz); AVX2 measured about 3x slower, the portable loops are taken as 6x.
    static func cost(_ activation: Activation, backward: Bool, isa: CPUISA = .active) -> Double {
        let (forward, gradient): (Double, Double)
        switch activation {
        case .identity: (forward, gradient) = (0.04, 0.04)
        case .relu, .leakyReLU: (forward, gradient) = (0.04, 0.07)
        case .gelu: (forward, gradient) = (0.25, 0.45)
        case .geluTanh: (forward, gradient) = (0.25, 0.37)
        case .silu: (forward, gradient) = (0.19, 0.26)
        case .mish: (forward, gradient) = (0.18, 0.31)
        case .tanh: (forward, gradient) = (0.23, 0.18)
        case .sigmoid: (forward, gradient) = (0.17, 0.19)
        case .softplus: (forward, gradient) = (0.37, 0.19)
        case .elu: (forward, gradient) = (0.21, 0.15)
        }
        let scale: Double = switch isa {
        case .avx512: 1
        case .avx2: 3
        case .portable: 6
        }
        return (backward ? gradient : forward) * scale
    }

    /// Elements per thread below which the second thread does not pay: a chunk must carry about
    /// 20 us of work. The pool's workers spin between back-to-back ops, so starting one costs a
    /// few microseconds; a parked one takes 40-55 us to wake (at 50 us, relu at 1024^2 stayed on
    /// one thread at half of PyTorch's rate). Cheap activations split from about a million
    /// elements (two chunks of 500 thousand), GELU from about 175 thousand.
    static func grain(_ activation: Activation, backward: Bool) -> Int {
        max(16384, Int(20_000 / cost(activation, backward: backward)))
    }

    static func forward(_ activation: Activation, _ x: UnsafePointer<Float>,
                        _ y: UnsafeMutablePointer<Float>, range: Range<Int>, isa: CPUISA = .active) {
        let p = activation.parameter
        if isa != .portable, activation != .identity, range.count > 0,
           te_activation_forward(isa.rawValue, activation.kernelCode, p, x + range.lowerBound, y + range.lowerBound,
                                 range.count) != 0 { return }
        switch activation {
        case .identity:
            if UnsafePointer(y) != x { (y + range.lowerBound).update(from: x + range.lowerBound, count: range.count) }
        case .relu: map(ReLUKernel.self, x, y, range, p)
        case .leakyReLU: map(LeakyReLUKernel.self, x, y, range, p)
        case .gelu: map(GELUKernel.self, x, y, range, p)
        case .geluTanh: map(GELUTanhKernel.self, x, y, range, p)
        case .silu: map(SiLUKernel.self, x, y, range, p)
        case .mish: map(MishKernel.self, x, y, range, p)
        case .tanh: map(TanhKernel.self, x, y, range, p)
        case .sigmoid: map(SigmoidKernel.self, x, y, range, p)
        case .softplus: map(SoftplusKernel.self, x, y, range, p)
        case .elu: map(ELUKernel.self, x, y, range, p)
        }
    }

    static func backward(_ activation: Activation, _ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                         _ out: UnsafeMutablePointer<Float>, range: Range<Int>, isa: CPUISA = .active) {
        let p = activation.parameter
        if isa != .portable, activation != .identity, range.count > 0,
           te_activation_backward(isa.rawValue, activation.kernelCode, p, x + range.lowerBound, g + range.lowerBound,
                                  out + range.lowerBound, range.count) != 0 { return }
        switch activation {
        case .identity:
            if UnsafePointer(out) != g { (out + range.lowerBound).update(from: g + range.lowerBound, count: range.count) }
        case .relu: gradient(ReLUKernel.self, x, g, out, range, p)
        case .leakyReLU: gradient(LeakyReLUKernel.self, x, g, out, range, p)
        case .gelu: gradient(GELUKernel.self, x, g, out, range, p)
        case .geluTanh: gradient(GELUTanhKernel.self, x, g, out, range, p)
        case .silu: gradient(SiLUKernel.self, x, g, out, range, p)
        case .mish: gradient(MishKernel.self, x, g, out, range, p)
        case .tanh: gradient(TanhKernel.self, x, g, out, range, p)
        case .sigmoid: gradient(SigmoidKernel.self, x, g, out, range, p)
        case .softplus: gradient(SoftplusKernel.self, x, g, out, range, p)
        case .elu: gradient(ELUKernel.self, x, g, out, range, p)
        }
    }

    /// One row of the matmul epilogue: `v = row + bias`, `pre = v`, `row = f(v)`.
    static func epilogueRow(_ activation: Activation, bias: UnsafePointer<Float>?,
                            pre: UnsafeMutablePointer<Float>?, row: UnsafeMutablePointer<Float>, count: Int,
                            isa: CPUISA = .active) {
        let p = activation.parameter
        if isa != .portable, count > 0,
           te_activation_epilogue(isa.rawValue, activation.kernelCode, p, bias, pre, row, count) != 0 { return }
        switch activation {
        case .identity: epilogue(IdentityKernel.self, bias, pre, row, count, p)
        case .relu: epilogue(ReLUKernel.self, bias, pre, row, count, p)
        case .leakyReLU: epilogue(LeakyReLUKernel.self, bias, pre, row, count, p)
        case .gelu: epilogue(GELUKernel.self, bias, pre, row, count, p)
        case .geluTanh: epilogue(GELUTanhKernel.self, bias, pre, row, count, p)
        case .silu: epilogue(SiLUKernel.self, bias, pre, row, count, p)
        case .mish: epilogue(MishKernel.self, bias, pre, row, count, p)
        case .tanh: epilogue(TanhKernel.self, bias, pre, row, count, p)
        case .sigmoid: epilogue(SigmoidKernel.self, bias, pre, row, count, p)
        case .softplus: epilogue(SoftplusKernel.self, bias, pre, row, count, p)
        case .elu: epilogue(ELUKernel.self, bias, pre, row, count, p)
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// The first `n` (< lanes) elements of `p` in a zero-padded vector (a byte copy, so
    /// the kernel sees an ordinary vector and is not rewritten lane by lane).
    @inline(never) static func loadPartial(_ p: UnsafePointer<Float>, _ n: Int) -> V {
        var v = V()
        withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: p, byteCount: n * 4) }
        return v
    }

    @inline(never) static func storePartial(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        withUnsafeBytes(of: v) { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: n * 4) }
    }

    static func map<K: VectorActivation>(_: K.Type, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                         _ range: Range<Int>, _ p: Float) {
        var i = range.lowerBound
        while i + lanes <= range.upperBound {
            store(K.forward(load(x + i), p), y + i)
            i += lanes
        }
        if i < range.upperBound {
            let n = range.upperBound - i
            storePartial(K.forward(loadPartial(x + i, n), p), y + i, n)
        }
    }

    static func gradient<K: VectorActivation>(_: K.Type, _ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                              _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>, _ p: Float) {
        var i = range.lowerBound
        while i + lanes <= range.upperBound {
            store(K.gradient(load(x + i), load(g + i), p), out + i)
            i += lanes
        }
        if i < range.upperBound {
            let n = range.upperBound - i
            storePartial(K.gradient(loadPartial(x + i, n), loadPartial(g + i, n), p), out + i, n)
        }
    }

    static func epilogue<K: VectorActivation>(_: K.Type, _ bias: UnsafePointer<Float>?,
                                              _ pre: UnsafeMutablePointer<Float>?,
                                              _ row: UnsafeMutablePointer<Float>, _ count: Int, _ p: Float) {
        var j = 0
        while j + lanes <= count {
            var v = load(row + j)
            if let bias { v += load(bias + j) }
            if let pre { store(v, pre + j) }
            store(K.forward(v, p), row + j)
            j += lanes
        }
        if j < count {
            let n = count - j
            var v = loadPartial(row + j, n)
            if let bias { v += loadPartial(bias + j, n) }
            if let pre { storePartial(v, pre + j, n) }
            storePartial(K.forward(v, p), row + j, n)
        }
    }
}
