import Foundation
import TestSupport
import Testing
import TensorEngine
#if canImport(Glibc)
import Glibc
#endif

// Property test of the public API: random op sequences over random shapes, dtypes,
// devices and values. Every call either returns what an independent float64 reference
// says (NaN/Inf exactly where it has them) or throws a TensorError where the reference
// says the call is invalid; nothing traps.
//
// TENSOR_FUZZ_SEED (default 9), TENSOR_FUZZ_CASES (default 10000), TENSOR_FUZZ_SECONDS
// (default 30) and TENSOR_FUZZ_CASE (run only that case index, to replay a failure).

/// What a call should do, from the reference: fail, or give these values.
enum Expectation {
    case error
    /// Either an error or success is fine (outcome depends on the machine, e.g. memory).
    case any
    case values(Expected)
}

struct Expected {
    var shape: [Int]
    var values: [Double]
    /// Magnitude of the finite intermediates per element (tolerance scale; > Float.max: unverifiable).
    var magnitudes: [Double]
    var rtol: Double
    var atol: Double
    /// Bitwise equality (views, copies, transfers).
    var exact = false
}

/// One tensor the fuzzer holds, with the host copy of its values.
struct Operand {
    let tensor: Tensor
    let values: [Float]
    var shape: [Int] { tensor.shape }
    var isFloat: Bool { tensor.dtype == .float32 }
    var summary: String { "\(tensor.dtype)\(tensor.shape)@\(tensor.device.identifier)" }
}

/// Crash reproducer: the current case, written to stderr by a SIGILL/SIGTRAP handler.
nonisolated(unsafe) private var crashBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 8192)
nonisolated(unsafe) private var crashLength = 0

nonisolated(unsafe) private let previousActions: UnsafeMutablePointer<sigaction> = {
    let pointer = UnsafeMutablePointer<sigaction>.allocate(capacity: 32)
    pointer.initialize(repeating: sigaction(), count: 32)
    return pointer
}()

/// On a trap (SIGILL/SIGTRAP), writes the current case to stderr, restores the previous
/// handler (Swift's backtracer) and returns: the trapping instruction runs again into it.
private func installCrashReporter() {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { signal in
        _ = write(2, crashBuffer, crashLength)
        sigaction(signal, previousActions + Int(signal), nil)
    }
    for signal in [SIGILL, SIGTRAP] {
        sigaction(signal, &action, previousActions + Int(signal))
    }
}

private func setCrashReport(_ text: String) {
    let bytes = Array(("\nFUZZ CRASH REPRODUCER: " + text + "\n").utf8.prefix(8000))
    bytes.withUnsafeBufferPointer { source in
        UnsafeMutableRawPointer(crashBuffer).copyMemory(from: source.baseAddress!, byteCount: source.count)
    }
    crashLength = bytes.count
}

final class Fuzzer {
    var random: FuzzRandom
    let devices: [Device]
    var device: Device
    var log: [String] = []
    var failures: [String] = []
    var calls = 0

    init(seed: UInt64, caseIndex: Int, devices: [Device]) {
        random = FuzzRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(caseIndex) &* 0x9E37_79B9_7F4A_7C15)
        self.devices = devices
        device = devices[0]
        device = random.pick(devices)
    }

    // MARK: Generators

    static let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, Float(bitPattern: 0x0001_16C2), -Float(bitPattern: 0x0000_0859), .leastNonzeroMagnitude,
                                    3e38, -3e38, .greatestFiniteMagnitude, 1e20, -1e30, 88.5, -104, 1e-20]

    func values(_ count: Int) -> [Float] {
        let specialRate = random.pick([0.0, 0.0, 0.05, 0.3])
        return (0..<count).map { _ in
            random.chance(specialRate) ? random.pick(Self.specials) : Float(random.unit() * 6 - 3)
        }
    }

    func shape(maxRank: Int = 4) -> [Int] {
        let rank = random.int(in: 0...maxRank)
        return (0..<rank).map { _ in random.chance(0.08) ? 0 : random.int(in: 1...5) }
    }

    func operand(_ shape: [Int], dtypeChance: Double = 0.05, on device: Device? = nil) -> Operand? {
        let target = device ?? (random.chance(0.03) ? random.pick(devices) : self.device)
        let count = shape.reduce(1, *)
        do {
            if random.chance(dtypeChance) {
                let ints = (0..<count).map { _ in Int32(random.int(in: -2...5)) }
                let t = try Tensor(int32: ints, shape: shape, on: target)
                return Operand(tensor: t, values: ints.map(Float.init))
            }
            let v = values(count)
            var t = try Tensor(v, shape: shape, on: target)
            // Sometimes a non-contiguous view with the same logical values.
            if shape.count >= 2, random.chance(0.2) {
                var axes = Array(0..<shape.count)
                axes.swapAt(shape.count - 1, shape.count - 2)
                var permutedShape = shape
                permutedShape.swapAt(shape.count - 1, shape.count - 2)
                let stored = try Tensor(Self.permute(v, shape: shape, axes: axes), shape: permutedShape, on: target)
                t = try stored.permuted(axes)
            }
            return Operand(tensor: t, values: v)
        } catch {
            fail("creating \(shape) on \(target.identifier) threw \(error)")
            return nil
        }
    }

    /// A shape that broadcasts with `shape`, or (sometimes) one that does not.
    func partner(of shape: [Int]) -> [Int] {
        switch random.int(4) {
        case 0: return shape
        case 1: return Array(shape.dropFirst(random.int(in: 0...shape.count))).map { random.chance(0.4) ? 1 : $0 }
        case 2: return shape.map { random.chance(0.5) ? 1 : $0 }
        default: return self.shape()
        }
    }

    // MARK: Reference helpers

    static func permute(_ v: [Float], shape: [Int], axes: [Int]) -> [Float] {
        let outShape = axes.map { shape[$0] }
        let strides = contiguousStrides(shape)
        let count = outShape.reduce(1, *)
        return (0..<count).map { i in
            var rem = i, src = 0
            for axis in stride(from: outShape.count - 1, through: 0, by: -1) {
                let idx = rem % outShape[axis]
                rem /= outShape[axis]
                src += idx * strides[axes[axis]]
            }
            return v[src]
        }
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            s[axis] = running
            running *= shape[axis]
        }
        return s
    }

    /// NumPy broadcasting, nil when the shapes do not broadcast.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int]()
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if x == y || y == 1 { out.append(x) } else if x == 1 { out.append(y) } else { return nil }
        }
        return out
    }

    /// Element `i` of `out` read from a tensor of `shape` broadcast to `out`.
    static func broadcastIndex(_ i: Int, out: [Int], shape: [Int]) -> Int {
        var rem = i, src = 0, step = 1
        for axis in stride(from: out.count - 1, through: 0, by: -1) {
            let idx = rem % out[axis]
            rem /= out[axis]
            let own = axis - (out.count - shape.count)
            if own >= 0 {
                if shape[own] != 1 { src += idx * step }
                step *= shape[own]
            }
        }
        return src
    }

    static func activation(_ act: Activation, _ x: Double) -> Double {
        if x.isNaN { return .nan }
        if x.isInfinite {
            switch act {
            case .identity: return x
            case .relu, .gelu, .geluTanh, .silu, .mish, .softplus: return x > 0 ? x : 0
            case let .leakyReLU(slope): return x > 0 ? x : Double(slope) * x
            case .tanh: return x > 0 ? 1 : -1
            case .sigmoid: return x > 0 ? 1 : 0
            case let .elu(alpha): return x > 0 ? x : -Double(alpha)
            }
        }
        let sig = x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
        let softplus = x > 30 ? x : Foundation.log1p(Foundation.exp(x))
        switch act {
        case .identity: return x
        case .relu: return max(x, 0)
        case let .leakyReLU(slope): return x >= 0 ? x : Double(slope) * x
        case .gelu: return x * 0.5 * erfc(-x / 2.0.squareRoot())
        case .geluTanh:
            let u = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + (u.isInfinite ? (u > 0 ? 1 : -1) : Foundation.tanh(u)))
        case .silu: return x * sig
        case .mish: return x * Foundation.tanh(softplus)
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return sig
        case .softplus: return softplus
        case let .elu(alpha): return x > 0 ? x : Double(alpha) * Foundation.expm1(x)
        }
    }

    static func derivative(_ act: Activation, _ x: Double) -> Double {
        if x.isNaN { return .nan }
        switch act {
        case .identity: return 1
        case .relu: return x > 0 ? 1 : 0
        case let .leakyReLU(slope): return x > 0 ? 1 : Double(slope)
        case let .elu(alpha): return x > 0 ? 1 : Double(alpha) * Foundation.exp(x)
        default:
            let y = x.isInfinite ? (x > 0 ? 1e6 : -1e6) : x
            if Swift.abs(y) > 1e6 { return derivative(act, y > 0 ? 1e6 : -1e6) }
            let h = 1e-5 * max(1, Swift.abs(y))
            return (activation(act, y + h) - activation(act, y - h)) / (2 * h)
        }
    }

    // MARK: Checking

    func fail(_ message: String) {
        failures.append(message)
    }

    /// Runs `body`, then compares with `expectation`.
    func check(_ description: String, _ expectation: Expectation, inputs: [Operand],
               flushedExpectation: (() -> Expectation)? = nil,
               _ body: () throws(TensorError) -> Tensor) -> Operand? {
        calls += 1
        log.append(description)
        setCrashReport(currentReproducer())
        let result: Tensor
        do {
            result = try body()
        } catch {
            switch expectation {
            case .error, .any: return nil
            case .values:
                fail("\(description): threw \(error) where the reference succeeds")
                return nil
            }
        }
        let actual: [Float]
        do {
            actual = try result.toArray()
        } catch {
            fail("\(description): reading the result threw \(error)")
            return nil
        }
        switch expectation {
        case .error:
            fail("\(description): succeeded with shape \(result.shape) where the reference says it must throw")
            return nil
        case .any:
            return Operand(tensor: result, values: actual)
        case let .values(expected):
            guard result.shape == expected.shape else {
                fail("\(description): shape \(result.shape), reference \(expected.shape)")
                return nil
            }
            // Vulkan may flush denormal inputs to zero: accept the reference of the flushed inputs too.
            let hasDenormal = inputs.contains { $0.values.contains { $0.isSubnormal } }
            var alternative: Expected?
            if result.device.kind == .vulkan, hasDenormal, let flushedExpectation,
               case let .values(f) = flushedExpectation() {
                alternative = f
            }
            for i in actual.indices {
                if Self.matches(actual[i], expected, i) { continue }
                if let alternative, Self.matches(actual[i], alternative, i) { continue }
                fail("\(description): element \(i) is \(actual[i]), reference \(expected.values[i]) "
                     + "(magnitude \(expected.magnitudes[i]))")
                return nil
            }
            return Operand(tensor: result, values: actual)
        }
    }

    static func matches(_ a: Float, _ e: Expected, _ i: Int) -> Bool {
        let r = e.values[i]
        if e.exact { return a.isNaN ? r.isNaN : Double(a) == r }
        let m = e.magnitudes[i]
        let maxFloat = Double(Float.greatestFiniteMagnitude)
        if m > maxFloat * 0.5 { return true }  // finite intermediates may overflow in float: order-dependent
        if r.isNaN { return a.isNaN }
        let rounded = Float(r)
        if rounded.isInfinite { return a == rounded }
        // Near the top of the range a correct float result may round up to infinity.
        if Swift.abs(r) > maxFloat * 0.99, a.isInfinite, (a > 0) == (r > 0) { return true }
        guard a.isFinite else { return false }
        let tolerance = e.atol + e.rtol * max(m, Swift.abs(r))
        return Swift.abs(Double(a) - r) <= tolerance
    }

    func currentReproducer() -> String {
        log.joined(separator: " -> ")
    }

    // MARK: One case

    func runCase() {
        // A chain of 1 to 4 ops, each consuming the previous result when there is one.
        var current: Operand? = operand(shape())
        for _ in 0..<random.int(in: 1...4) {
            guard let input = current ?? operand(shape()) else { return }
            current = step(input)
        }
    }

    // The float64 reference of each op is computed from the float32 values of its inputs.

    func elementwiseExpectation(_ op: BinaryOp, _ a: Operand, _ b: Operand, flush: Bool = false) -> Expectation {
        guard a.tensor.device == b.tensor.device, a.isFloat, b.isFloat,
              let out = Self.broadcast(a.shape, b.shape) else { return .error }
        let count = out.reduce(1, *)
        var values = [Double](), magnitudes = [Double]()
        values.reserveCapacity(count)
        for i in 0..<count {
            var x = Double(a.values[Self.broadcastIndex(i, out: out, shape: a.shape)])
            var y = Double(b.values[Self.broadcastIndex(i, out: out, shape: b.shape)])
            if flush {
                if Float(x).isSubnormal { x = x < 0 ? -0.0 : 0 }
                if Float(y).isSubnormal { y = y < 0 ? -0.0 : 0 }
            }
            let r = op.apply(x, y)
            values.append(r)
            let finite = x.isFinite && y.isFinite
            magnitudes.append(finite && (op == .add || op == .sub) ? Swift.abs(x) + Swift.abs(y) : 0)
        }
        return .values(Expected(shape: out, values: values, magnitudes: magnitudes, rtol: 1e-7, atol: 1e-37))
    }

    func unaryExpectation(_ a: Operand, rtol: Double, atol: Double, flush: Bool = false,
                          _ f: (Double) -> Double) -> Expectation {
        guard a.isFloat else { return .error }
        let values = a.values.map { v -> Double in
            let x = flush && v.isSubnormal ? (v < 0 ? -0.0 : 0) : Double(v)
            return f(x)
        }
        return .values(Expected(shape: a.shape, values: values, magnitudes: values.map { _ in 0 }, rtol: rtol, atol: atol))
    }

    func matmulExpectation(_ a: Operand, _ b: Operand) -> Expectation {
        guard a.tensor.device == b.tensor.device, a.isFloat, b.isFloat, a.shape.count >= 1, b.shape.count >= 1 else {
            return .error
        }
        let la = a.shape.count == 1 ? [1, a.shape[0]] : a.shape
        let lb = b.shape.count == 1 ? [b.shape[0], 1] : b.shape
        let (m, k, k2, n) = (la[la.count - 2], la[la.count - 1], lb[lb.count - 2], lb[lb.count - 1])
        guard k == k2, let batch = Self.broadcast(Array(la.dropLast(2)), Array(lb.dropLast(2))) else { return .error }
        var outShape = batch
        if a.shape.count > 1 { outShape.append(m) }
        if b.shape.count > 1 { outShape.append(n) }
        let batchCount = batch.reduce(1, *)
        let aBatch = Array(la.dropLast(2)), bBatch = Array(lb.dropLast(2))
        var values = [Double](), magnitudes = [Double]()
        for t in 0..<batchCount {
            let ab = Self.broadcastIndex(t, out: batch, shape: aBatch) * m * k
            let bb = Self.broadcastIndex(t, out: batch, shape: bBatch) * k * n
            for i in 0..<m {
                for j in 0..<n {
                    var acc = 0.0, mag = 0.0
                    for p in 0..<k {
                        let product = Double(a.values[ab + i * k + p]) * Double(b.values[bb + p * n + j])
                        acc += product
                        if product.isFinite { mag += Swift.abs(product) }
                    }
                    values.append(acc)
                    magnitudes.append(mag)
                }
            }
        }
        return .values(Expected(shape: outShape, values: values, magnitudes: magnitudes, rtol: 2e-5, atol: 1e-30))
    }

    func reduceExpectation(_ a: Operand, axis: Int, keepDims: Bool, mean: Bool) -> Expectation {
        guard a.isFloat, a.shape.count > 0, axis >= -a.shape.count, axis < a.shape.count else { return .error }
        let r = axis < 0 ? axis + a.shape.count : axis
        let outer = a.shape[..<r].reduce(1, *), length = a.shape[r], inner = a.shape[(r + 1)...].reduce(1, *)
        var outShape = a.shape
        if keepDims { outShape[r] = 1 } else { outShape.remove(at: r) }
        var values = [Double](), magnitudes = [Double]()
        for o in 0..<outer {
            for i in 0..<inner {
                var acc = 0.0, mag = 0.0
                for l in 0..<length {
                    let x = Double(a.values[(o * length + l) * inner + i])
                    acc += x
                    if x.isFinite { mag += Swift.abs(x) }
                }
                values.append(mean ? acc / Double(length) : acc)
                // The mean is the float sum scaled: the sum's magnitude bounds its rounding and overflow.
                magnitudes.append(mag)
            }
        }
        return .values(Expected(shape: outShape, values: values, magnitudes: magnitudes, rtol: 1e-5, atol: 1e-30))
    }

    func softmaxExpectation(_ a: Operand, logarithm: Bool) -> Expectation {
        guard a.isFloat, a.shape.count >= 1 else { return .error }
        let columns = a.shape[a.shape.count - 1]
        let rows = columns == 0 ? 0 : a.values.count / columns
        var values = [Double](), magnitudes = [Double]()
        for row in 0..<rows {
            let x = a.values[row * columns ..< (row + 1) * columns].map(Double.init)
            let top = x.max(by: { $0 < $1 || $0.isNaN }) ?? 0
            let hasNaN = x.contains { $0.isNaN }
            let shifted = x.map { $0 - top }
            let total = shifted.reduce(0) { $0 + Foundation.exp($1) }
            for s in shifted {
                if hasNaN || top.isNaN {
                    values.append(.nan)
                } else {
                    values.append(logarithm ? s - Foundation.log(total) : Foundation.exp(s) / total)
                }
                magnitudes.append(logarithm && top.isFinite ? Swift.abs(top) + Swift.abs(s + top) + Foundation.log(total) : 0)
            }
        }
        return .values(Expected(shape: a.shape, values: values, magnitudes: magnitudes,
                                rtol: 1e-5, atol: logarithm ? 1e-5 : 1e-6))
    }

    // MARK: Ops

    static let activations: [Activation] = [.identity, .relu, .leakyReLU(slope: 0.1), .gelu, .geluTanh, .silu, .mish,
                                            .tanh, .sigmoid, .softplus, .elu(alpha: 1.5)]

    func step(_ a: Operand) -> Operand? {
        let d = "\(a.summary)"
        switch random.int(20) {
        case 0, 1:
            let op = random.pick(BinaryOp.allCases)
            guard let b = operand(partner(of: a.shape)) else { return nil }
            return check("\(op)(\(d), \(b.summary))", elementwiseExpectation(op, a, b), inputs: [a, b],
                         flushedExpectation: { self.elementwiseExpectation(op, a, b, flush: true) }) { () throws(TensorError) in
                try elementwise(op, a.tensor, b.tensor)
            }
        case 2:
            let scale = random.chance(0.2) ? random.pick(Self.specials) : Float(random.unit() * 4 - 2)
            let offset = random.chance(0.2) ? random.pick(Self.specials) : Float(random.unit() * 4 - 2)
            let expectation: Expectation
            if a.isFloat {
                let values = a.values.map { Double($0) * Double(scale) + Double(offset) }
                let mags = a.values.map { v -> Double in
                    let p = Double(v) * Double(scale)
                    // x * scale overflowing in float (finite in float64) makes the sum order-dependent.
                    if p.isFinite, Swift.abs(p) > Double(Float.greatestFiniteMagnitude) { return .greatestFiniteMagnitude }
                    return p.isFinite && offset.isFinite ? Swift.abs(p) + Swift.abs(Double(offset)) : 0
                }
                expectation = .values(Expected(shape: a.shape, values: values, magnitudes: mags, rtol: 2.5e-7, atol: 1e-37))
            } else {
                expectation = .error
            }
            let flushed: () -> Expectation = {
                self.unaryExpectation(a, rtol: 2.5e-7, atol: 1e-37, flush: true) { $0 * Double(scale) + Double(offset) }
            }
            return check("scaleShift(\(d), \(scale), \(offset))", expectation, inputs: [a],
                         flushedExpectation: flushed) { () throws(TensorError) in
                try scaleShift(a.tensor, scale: scale, offset: offset)
            }
        case 3, 4:
            let op = random.pick(UnaryOp.allCases)
            let rtol = op == .exp ? 1e-5 : 2e-6
            // Vulkan's log has an absolute error bound of 2^-21 on [0.5, 2].
            let atol = op == .log ? 5e-7 : 1e-30
            var expectation = unaryExpectation(a, rtol: rtol, atol: atol) { op.apply($0) }
            // lavapipe's log of a denormal is neither exact nor flushed (log(1e-40) gives -88.0,
            // not -92.1 or -inf); Vulkan leaves denormals to the driver, so those elements are not checked.
            if op == .log, a.tensor.device.kind == .vulkan, case var .values(e) = expectation {
                for (i, v) in a.values.enumerated() where v.isSubnormal { e.magnitudes[i] = .greatestFiniteMagnitude }
                expectation = .values(e)
            }
            return check("\(op)(\(d))", expectation, inputs: [a],
                         flushedExpectation: { self.unaryExpectation(a, rtol: rtol, atol: atol, flush: true) { op.apply($0) } }) { () throws(TensorError) in
                try unary(op, a.tensor)
            }
        case 5, 6:
            let act = random.pick(Self.activations)
            let f: (Double) -> Double = { Self.activation(act, $0) }
            var expectation = unaryExpectation(a, rtol: 1e-4, atol: 1e-5, f)
            // x * g(x) forms at -inf: the limit is 0, the formula gives -inf * 0 = NaN (as in PyTorch);
            // either is accepted.
            if [.gelu, .geluTanh, .silu, .mish].contains(act), case var .values(e) = expectation {
                for (i, v) in a.values.enumerated() where v == -.infinity { e.magnitudes[i] = .greatestFiniteMagnitude }
                expectation = .values(e)
            }
            return check("activate(\(d), \(act))", expectation, inputs: [a],
                         flushedExpectation: { self.unaryExpectation(a, rtol: 1e-4, atol: 1e-5, flush: true, f) }) { () throws(TensorError) in
                try activate(a.tensor, act)
            }
        case 7:
            let act = random.pick(Self.activations)
            guard let g = operand(random.chance(0.9) ? a.shape : shape()) else { return nil }
            var expectation: Expectation = .error
            if a.isFloat, g.isFloat, a.shape == g.shape, a.tensor.device == g.tensor.device {
                let values = zip(a.values, g.values).map { Double($1) * Self.derivative(act, Double($0)) }
                expectation = .values(Expected(shape: a.shape, values: values, magnitudes: values.map { _ in 0 },
                                               rtol: 1e-3, atol: 1e-4 * max(1, g.values.map { Double(Swift.abs($0)) }.max() ?? 1)))
                // Backward at infinities, huge or denormal inputs is not pinned down beyond "no trap".
                if a.values.contains(where: { !$0.isFinite || Swift.abs($0) > 1e6 || $0.isSubnormal })
                    || g.values.contains(where: { !$0.isFinite || Swift.abs($0) > 1e30 }) {
                    expectation = .any
                }
            }
            return check("activationBackward(\(act), \(d), \(g.summary))", expectation, inputs: [a, g]) { () throws(TensorError) in
                try activationBackward(act, input: a.tensor, gradOutput: g.tensor)
            }
        case 8, 9:
            // matmul with a compatible (usually) right operand.
            var bShape: [Int]
            let k = a.shape.last ?? 0
            let n = random.int(in: 0...5)
            switch random.int(5) {
            case 0: bShape = [k]
            case 1: bShape = [k, n]
            case 2: bShape = Array(a.shape.dropLast(2)) + [k, n]
            case 3: bShape = [random.int(in: 1...3), k, n]
            default: bShape = shape()
            }
            if a.shape.count > 4 || bShape.count > 4 { return nil }
            guard let b = operand(bShape) else { return nil }
            return check("matmul(\(d), \(b.summary))", matmulExpectation(a, b), inputs: [a, b]) { () throws(TensorError) in
                try matmul(a.tensor, b.tensor)
            }
        case 10:
            let act = random.pick(Self.activations)
            let features = a.shape.last ?? 0
            let outputs = random.int(in: 0...4)
            guard let w = operand(random.chance(0.9) ? [features, outputs] : shape(maxRank: 2)) else { return nil }
            let bias: Operand? = random.chance(0.5) ? operand(random.chance(0.9) ? [w.shape.last ?? 0] : shape(maxRank: 1)) : nil
            var expectation: Expectation = .error
            if w.shape.count == 2, a.shape.count >= 1, a.isFloat, w.isFloat, bias?.isFloat ?? true,
               bias.map({ $0.shape == [w.shape[1]] && $0.tensor.device == a.tensor.device }) ?? true,
               case let .values(product) = matmulExpectation(a, w) {
                var e = product
                for i in e.values.indices {
                    let column = w.shape[1] == 0 ? 0 : i % w.shape[1]
                    var z = e.values[i]
                    if let bias {
                        let bv = Double(bias.values[column])
                        z += bv
                        if bv.isFinite { e.magnitudes[i] += Swift.abs(bv) }
                    }
                    e.values[i] = Self.activation(act, z)
                    // As for activate: x * g(x) at -inf may give 0 or NaN.
                    if z == -.infinity, [.gelu, .geluTanh, .silu, .mish].contains(act) {
                        e.magnitudes[i] = .greatestFiniteMagnitude
                    }
                }
                e.shape = Array(a.shape.dropLast()) + [w.shape[1]]
                e.rtol = 1e-4
                e.atol = 1e-5
                expectation = .values(e)
            }
            return check("linear(\(d), \(w.summary), bias \(bias?.summary ?? "nil"), \(act))", expectation,
                         inputs: [a, w] + (bias.map { [$0] } ?? [])) { () throws(TensorError) in
                try linear(a.tensor, weight: w.tensor, bias: bias?.tensor, activation: act)
            }
        case 11:
            let axis = random.int(in: -5...4), keep = random.chance(0.5), mean = random.chance(0.4)
            return check("\(mean ? "mean" : "sum")(\(d), axis \(axis), keepDims \(keep))",
                         reduceExpectation(a, axis: axis, keepDims: keep, mean: mean), inputs: [a]) { () throws(TensorError) in
                mean ? try a.tensor.mean(axis: axis, keepDims: keep) : try a.tensor.sum(axis: axis, keepDims: keep)
            }
        case 12:
            let mean = random.chance(0.5)
            var e = reduceExpectation(Operand(tensor: a.tensor, values: a.values), axis: 0, keepDims: false, mean: mean)
            if a.isFloat, case let .values(flat) = reduceExpectationFlat(a, mean: mean) { e = .values(flat) }
            return check("\(mean ? "mean" : "sum")(\(d))", a.isFloat ? e : .error, inputs: [a]) { () throws(TensorError) in
                mean ? try a.tensor.mean() : try a.tensor.sum()
            }
        case 13:
            let logarithm = random.chance(0.5)
            return check("softmax(\(d), log \(logarithm))", softmaxExpectation(a, logarithm: logarithm), inputs: [a]) { () throws(TensorError) in
                try softmax(a.tensor, logarithm: logarithm)
            }
        case 14:
            return viewStep(a)
        case 15:
            // Transfer to another device and back.
            let target = random.pick(devices)
            let e = Expected(shape: a.shape, values: a.values.map(Double.init), magnitudes: [], rtol: 0, atol: 0, exact: true)
            return check("to(\(d), \(target.identifier))", .values(e), inputs: [a]) { () throws(TensorError) in
                try a.tensor.to(target)
            }
        case 16:
            // .npy round trip, exact.
            let e = Expected(shape: a.shape, values: a.values.map(Double.init), magnitudes: [], rtol: 0, atol: 0, exact: true)
            let target = device
            return check("npy round trip(\(d))", .values(e), inputs: [a]) { () throws(TensorError) in
                try Tensor(npy: a.tensor.npyData(), on: target)
            }
        case 17:
            guard let b = operand(random.chance(0.8) ? a.shape : shape()) else { return nil }
            var expectation: Expectation = .error
            if a.shape == b.shape, case let .values(diff) = elementwiseExpectation(.sub, a, b) {
                let squares = diff.values.map { $0 * $0 }
                let total = squares.reduce(0, +)
                let mag = zip(diff.values, diff.magnitudes).reduce(0.0) { $0 + ($1.0.isFinite ? max($1.0 * $1.0, $1.1 * $1.1) : 0) }
                let n = Double(squares.count)
                expectation = .values(Expected(shape: [], values: [total / n], magnitudes: [mag / n], rtol: 1e-5, atol: 1e-30))
            }
            return check("mseLoss(\(d), \(b.summary))", expectation, inputs: [a, b]) { () throws(TensorError) in
                try mseLoss(a.tensor, b.tensor)
            }
        case 18:
            let classes = a.shape.last ?? 0
            let batch = a.shape.count == 2 ? a.shape[0] : random.int(in: 0...3)
            let labels = (0..<batch).map { _ in Int32(random.chance(0.9) ? random.int(in: 0...max(classes - 1, 0)) : random.int(in: -2...8)) }
            let labelTensor: Tensor
            do {
                labelTensor = try Tensor(int32: labels, shape: [batch], on: a.tensor.device)
            } catch {
                fail("labels: \(error)")
                return nil
            }
            var expectation: Expectation = .error
            if a.isFloat, a.shape.count == 2, batch > 0,
               labels.allSatisfy({ $0 >= 0 && Int($0) < classes }),
               case let .values(logSoftmax) = softmaxExpectation(a, logarithm: true) {
                var loss = 0.0, mag = 0.0
                for (row, label) in labels.enumerated() {
                    // The engine sums onehot * logSoftmax over every column: 0 * -Inf is NaN there.
                    for c in 0..<classes {
                        let term = (c == Int(label) ? 1.0 : 0.0) * logSoftmax.values[row * classes + c]
                        loss += term
                        mag += logSoftmax.magnitudes[row * classes + c] + Swift.abs(term.isFinite ? term : 0)
                    }
                }
                expectation = .values(Expected(shape: [], values: [-loss / Double(batch)], magnitudes: [mag / Double(batch)],
                                               rtol: 1e-5, atol: 1e-5))
            }
            return check("softmaxCrossEntropy(\(d), labels \(labels))", expectation, inputs: [a]) { () throws(TensorError) in
                try softmaxCrossEntropy(logits: a.tensor, labels: labelTensor)
            }
        default:
            return creationStep()
        }
    }

    func reduceExpectationFlat(_ a: Operand, mean: Bool) -> Expectation {
        let flat = Operand(tensor: a.tensor, values: a.values)
        let count = a.values.count
        let total = flat.values.reduce(0.0) { $0 + Double($1) }
        let mag = flat.values.reduce(0.0) { $0 + ($1.isFinite ? Swift.abs(Double($1)) : 0) }
        return .values(Expected(shape: [], values: [mean ? total / Double(count) : total],
                                magnitudes: [mag], rtol: 1e-5, atol: 1e-30))
    }

    func viewStep(_ a: Operand) -> Operand? {
        let d = a.summary
        let exact: ([Int], [Float]) -> Expectation = { shape, values in
            .values(Expected(shape: shape, values: values.map(Double.init), magnitudes: [], rtol: 0, atol: 0, exact: true))
        }
        switch random.int(5) {
        case 0:
            // Reshape: a valid factorisation, a -1, a mismatch, a negative or an absurd extent.
            let count = a.values.count
            var target: [Int]
            switch random.int(5) {
            case 0: target = [count]
            case 1: target = [-1] + (count % 2 == 0 && count > 0 ? [2] : [1])
            case 2: target = shape()
            case 3: target = [Int.max / 2 + random.int(in: 0...3), random.int(in: 2...4)]
            default: target = [random.int(in: -3...(-1)), random.int(in: 1...3)]
            }
            var expectation: Expectation = .error
            let wild = target.filter { $0 == -1 }.count
            if target.allSatisfy({ $0 >= -1 }) && wild <= 1 {
                var resolved = target
                let known = target.filter { $0 != -1 }
                var knownProduct = 1, overflow = false
                for e in known {
                    let (p, o) = knownProduct.multipliedReportingOverflow(by: e)
                    overflow = overflow || o
                    knownProduct = p
                }
                if !overflow {
                    if wild == 1, knownProduct > 0, count % knownProduct == 0 {
                        resolved[target.firstIndex(of: -1)!] = count / knownProduct
                        expectation = exact(resolved, a.values)
                    } else if wild == 0, knownProduct == count {
                        expectation = exact(resolved, a.values)
                    }
                }
            }
            return check("reshaped(\(d), \(target))", expectation, inputs: [a]) { () throws(TensorError) in
                try a.tensor.reshaped(target)
            }
        case 1:
            var axes = Array(0..<a.shape.count).shuffledDeterministically(&random)
            if random.chance(0.2) { axes = (0..<random.int(in: 0...4)).map { _ in random.int(in: -1...4) } }
            let valid = axes.count == a.shape.count && Set(axes) == Set(0..<a.shape.count)
            return check("permuted(\(d), \(axes))", valid ? exact(axes.map { a.shape[$0] }, Self.permute(a.values, shape: a.shape, axes: axes)) : .error,
                         inputs: [a]) { () throws(TensorError) in
                try a.tensor.permuted(axes).contiguous()
            }
        case 2:
            var expectation: Expectation = .error
            if a.shape.count >= 2 {
                var axes = Array(0..<a.shape.count)
                axes.swapAt(a.shape.count - 1, a.shape.count - 2)
                expectation = exact(axes.map { a.shape[$0] }, Self.permute(a.values, shape: a.shape, axes: axes))
            }
            return check("transposed(\(d))", expectation, inputs: [a]) { () throws(TensorError) in
                try a.tensor.transposed()
            }
        case 3:
            // Expand, sometimes to absurd or negative extents; then materialise.
            var target = a.shape.map { $0 == 1 ? random.pick([1, 3, 0]) : $0 }
            if random.chance(0.5) { target = [random.int(in: 1...3)] + target }
            if random.chance(0.15) { target = [Int.max / 3, 5] + target }
            if random.chance(0.1) { target = [-2] + target }
            if random.chance(0.1) { target = shape() }
            var expectation: Expectation = .error
            if let b = Self.broadcast(a.shape, target), b == target, target.allSatisfy({ $0 >= 0 }) {
                var count = 1, overflow = false
                for e in target {
                    let (p, o) = count.multipliedReportingOverflow(by: e)
                    overflow = overflow || o
                    count = p
                }
                if overflow || count > 1 << 28 {
                    expectation = .error
                } else {
                    expectation = exact(target, (0..<count).map { a.values[Self.broadcastIndex($0, out: target, shape: a.shape)] })
                }
            }
            return check("expanded(\(d), \(target)).contiguous()", expectation, inputs: [a]) { () throws(TensorError) in
                try a.tensor.expanded(to: target).contiguous()
            }
        default:
            let expectation: Expectation = a.values.count == 1 ? exact([], a.values) : .error
            return check("item(\(d))", expectation, inputs: [a]) { () throws(TensorError) in
                try Tensor(scalar: a.tensor.item(), on: a.tensor.device)
            }
        }
    }

    /// Creation with hostile shapes: negative, overflowing, beyond memory, mismatched value counts.
    func creationStep() -> Operand? {
        let memoryElements = physicalMemoryBytes() / 4
        var target: [Int]
        switch random.int(6) {
        case 0: target = [random.int(in: -3...(-1))] + shape(maxRank: 2)
        case 1: target = [Int.max / 2, 3]
        case 2:
            // More than the machine's memory but accepted by shape validation.
            let limit = Int(Int32.max) * 4
            let wanted = memoryElements + memoryElements / 2
            let elements = Swift.min(wanted, limit) / 4
            target = [elements, 4]
        case 3: target = [1 << 20, 1 << 20, 1 << 20]
        default: target = shape()
        }
        var count = 1, overflow = false
        for e in target {
            let (p, o) = count.multipliedReportingOverflow(by: e)
            overflow = overflow || o
            count = p
        }
        let valid = !overflow && target.allSatisfy { $0 >= 0 } && count <= 1 << 20
        let value = random.pick(Self.specials + [1, -2.5])
        let seed = random.next()
        let dev = device
        let d = "\(target)@\(dev.identifier)"
        switch random.int(5) {
        case 0:
            let e = Expected(shape: target, values: Array(repeating: Double(value), count: valid ? count : 0),
                             magnitudes: [], rtol: 0, atol: 0, exact: true)
            return check("full(\(d), \(value))", valid ? .values(e) : .error, inputs: []) { () throws(TensorError) in
                try Tensor.full(target, value: value, on: dev)
            }
        case 1:
            return check("randn(\(d))", valid ? .any : .error, inputs: []) { () throws(TensorError) in
                try Tensor.randn(target, seed: seed, on: dev)
            }
        case 2:
            return check("uniform(\(d))", valid ? .any : .error, inputs: []) { () throws(TensorError) in
                try Tensor.uniform(target, low: -1, high: 1, seed: seed, on: dev)
            }
        case 3:
            let given = random.chance(0.7) && valid ? count : random.int(in: 0...6)
            let vals = values(given)
            let ok = valid && given == count
            let e = Expected(shape: target, values: vals.map(Double.init), magnitudes: [], rtol: 0, atol: 0, exact: true)
            return check("Tensor(\(given) values, \(d))", ok ? .values(e) : .error, inputs: []) { () throws(TensorError) in
                try Tensor(vals, shape: target, on: dev)
            }
        default:
            return check("zeros(\(d))", valid ? .values(Expected(shape: target, values: Array(repeating: 0, count: valid ? count : 0),
                                                                 magnitudes: [], rtol: 0, atol: 0, exact: true)) : .error,
                         inputs: []) { () throws(TensorError) in
                try Tensor.zeros(target, on: dev)
            }
        }
    }
}

extension Array {
    func shuffledDeterministically(_ random: inout FuzzRandom) -> [Element] {
        var copy = self
        if copy.count > 1 {
            for i in stride(from: copy.count - 1, to: 0, by: -1) { copy.swapAt(i, random.int(i + 1)) }
        }
        return copy
    }
}

@Suite(.vulkanValidation, .serialized)
struct FuzzTests {
    @Test func randomOpSequences() throws {
        installCrashReporter()
        let seed = TestEnvironment.uint64("TENSOR_FUZZ_SEED") ?? 9
        let maxCases = TestEnvironment.int("TENSOR_FUZZ_CASES") ?? 10000
        let seconds = Double(TestEnvironment.int("TENSOR_FUZZ_SECONDS") ?? 30)
        let only = TestEnvironment.int("TENSOR_FUZZ_CASE")
        let devices = TestDevices.all
        let start = Date()
        var cases = 0, calls = 0, failures = 0
        let indices = only.map { [$0] } ?? Array(0..<maxCases)
        for index in indices {
            if Date().timeIntervalSince(start) > seconds { break }
            let fuzzer = Fuzzer(seed: seed, caseIndex: index, devices: devices)
            fuzzer.log.append("[TENSOR_FUZZ_SEED=\(seed) TENSOR_FUZZ_CASE=\(index) on \(fuzzer.device.identifier)]")
            fuzzer.runCase()
            cases += 1
            calls += fuzzer.calls
            if !fuzzer.failures.isEmpty {
                failures += 1
                Issue.record("""
                    fuzz failure; reproduce with TENSOR_FUZZ_SEED=\(seed) TENSOR_FUZZ_CASE=\(index) \
                    swift test --filter FuzzTests
                    sequence: \(fuzzer.currentReproducer())
                    \(fuzzer.failures.joined(separator: "\n"))
                    """)
                if failures >= 20 { break }
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        print("fuzz: \(cases) cases, \(calls) API calls, \(failures) failing cases, seed \(seed), "
              + "devices \(devices.map(\.identifier)), \(String(format: "%.1f", elapsed)) s")
        #expect(cases > 0)
    }
}
