@testable import CPUBackend
import TensorCore
import Testing

/// Inputs over a wide range: a dense grid on [-80, 80], zeros, tiny and denormal values,
/// and the points where branches switch.
func activationInputs() -> [Float] {
    let denormals: [Float] = [.leastNonzeroMagnitude, Float.leastNormalMagnitude / 3]
    var xs: [Float] = denormals + denormals.map { -$0 } + [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-4, -1e-4,
                       80, -80, 88, -88, 100, -100, 0.5, -0.5, 0.625, -0.625, 0.35, -0.35, 9, -9, 20, -20]
    var x: Float = -80
    while x <= 80 {
        xs.append(x)
        x += 0.0390625 + abs(x) * 0.001
    }
    var rng = SplitMix(seed: 5)
    xs += rng.floats(3000, scale: 3)
    return xs
}

/// Largest error in units of the problem's own conditioning:
/// |actual - ref| / (eps * (|ref| + |x ref'(x)|) + tiny), where ref' comes from central differences.
func conditionedError(_ actual: [Float], xs: [Float], scale: [Float]? = nil, _ f: (Double) -> Double) -> (Double, Float) {
    var worst = 0.0
    var worstX: Float = 0
    let eps = Double(Float.ulpOfOne) / 2
    for (i, xf) in xs.enumerated() {
        let x = Double(xf)
        let s = Double(scale?[i] ?? 1)
        let ref = s * f(x)
        let h = max(abs(x) * 1e-6, 1e-300)
        let slope = s * (f(x + h) - f(x - h)) / (2 * h)
        let bound = eps * (abs(ref) + abs(x * slope)) + 1e-44
        let err = abs(Double(actual[i]) - ref) / bound
        if err > worst || err.isNaN {
            worst = err.isNaN ? .infinity : err
            worstX = xf
        }
    }
    return (worst, worstX)
}

@Suite("Activations")
struct ActivationTests {
    @Test("forward matches the float64 definition over a wide range", arguments: Activation.allCases)
    func forward(_ activation: Activation) throws {
        let device = Devices.blas
        let xs = activationInputs()
        let out = try device.makeBuffer(elementCount: xs.count)
        try device.activate(activation, try upload(xs, on: device), count: xs.count, into: out)
        let ys = try download(out, count: xs.count, on: device)
        let (worst, at) = conditionedError(ys, xs: xs) { ReferenceActivation.forward(activation, $0) }
        #expect(worst < 8, "\(activation): error \(worst) roundoffs (conditioned) at x = \(at)")
        let ref = xs.map { ReferenceActivation.forward(activation, Double($0)) }
        #expect(nmse(ys, ref) < 1e-13)
    }

    @Test("exact derivative times the incoming gradient", arguments: Activation.allCases)
    func backward(_ activation: Activation) throws {
        let device = Devices.blas
        let xs = activationInputs()
        var rng = SplitMix(seed: 9)
        let grads = rng.floats(xs.count)
        let out = try device.makeBuffer(elementCount: xs.count)
        try device.activationBackward(activation, input: try upload(xs, on: device),
                                      gradOutput: try upload(grads, on: device), count: xs.count, into: out)
        let ds = try download(out, count: xs.count, on: device)
        let (worst, at) = conditionedError(ds, xs: xs, scale: grads) { ReferenceActivation.derivative(activation, $0) }
        #expect(worst < 8, "\(activation)': error \(worst) roundoffs (conditioned) at x = \(at)")
        let ref = zip(xs, grads).map { Double($1) * ReferenceActivation.derivative(activation, Double($0)) }
        #expect(nmse(ds, ref) < 1e-13)
    }

    @Test("the test references agree with Activation's definitions where those are accurate",
          arguments: Activation.allCases)
    func referencesAgree(_ activation: Activation) {
        for i in -400...400 {
            let x = Double(i) / 50
            let (a, b) = (ReferenceActivation.forward(activation, x), activation.forward(x))
            #expect(abs(a - b) <= 1e-12 * max(1, abs(b)), "\(activation)(\(x))")
            let (da, db) = (ReferenceActivation.derivative(activation, x), activation.derivative(x))
            #expect(abs(da - db) <= 1e-12 * max(1, abs(db)), "\(activation)'(\(x))")
        }
    }

    @Test("large tensors take the threaded path and agree with the small-tensor path")
    func threaded() throws {
        let device = Devices.blas
        var rng = SplitMix(seed: 3)
        let count = 1_000_001
        let xs = rng.floats(count, scale: 4)
        for activation in [Activation.gelu, .silu, .tanh] {
            #expect(count / ActivationKernels.grain(activation, backward: false) >= 2, "\(activation) splits")
            let out = try device.makeBuffer(elementCount: xs.count)
            try device.activate(activation, try upload(xs, on: device), count: xs.count, into: out)
            let ys = try download(out, count: xs.count, on: device)
            let small = try device.makeBuffer(elementCount: 1000)
            try device.activate(activation, try upload(Array(xs[(count - 1000)...]), on: device), count: 1000, into: small)
            #expect(Array(ys[(count - 1000)...]) == (try download(small, count: 1000, on: device)))
        }
    }
}
